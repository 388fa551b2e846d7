//! Pooling and data-movement kernels (softmax is in [`super::softmax`]).

use super::elementwise::vec_range;
use super::{Kcx, R, VW};
use inkwell::values::{FloatValue, IntValue, PointerValue};
use inkwell::FloatPredicate;

/// Max or average pooling over `[N, C, H, W]` (PyTorch semantics, dilation 1).
/// One work item is one output row of one channel.
#[derive(Clone, Debug)]
pub struct PoolPlan {
    /// `None` for max pooling, `Some(count_pad)` for average pooling.
    pub avg: Option<bool>,
    /// N*C.
    pub nc: u64,
    pub h: u64,
    pub w: u64,
    pub oh: u64,
    pub ow: u64,
    pub kernel: [u64; 2],
    pub stride: [u64; 2],
    pub pad: [u64; 2],
}

impl PoolPlan {
    /// Number of work items.
    pub fn items(&self) -> u64 {
        self.nc * self.oh
    }

    /// Emits items `lo..hi`.
    pub fn emit<'ctx>(
        &self,
        k: &Kcx<'ctx, '_>,
        out: PointerValue<'ctx>,
        x: PointerValue<'ctx>,
        lo: IntValue<'ctx>,
        hi: IntValue<'ctx>,
    ) -> R<()> {
        let p = self.clone();
        let acc = k.entry_alloca(k.f32t.into())?;
        let vacc = k.entry_alloca(k.vty(VW).into())?;
        k.for_range(lo, hi, 1, |it| {
            let nc = k.divc(it, p.oh as i64)?;
            let oh = k.remc(it, p.oh as i64)?;
            let hstart = k.sub(k.mulc(oh, p.stride[0] as i64)?, k.i64c(p.pad[0] as i64))?;
            let hend_pad = k.smin(
                k.addc(hstart, p.kernel[0] as i64)?,
                k.i64c((p.h + p.pad[0]) as i64),
            )?;
            let hs = k.smax(hstart, k.i64c(0))?;
            let he = k.smin(hend_pad, k.i64c(p.h as i64))?;
            let xin = k.gep(x, k.mulc(nc, (p.h * p.w) as i64)?)?;
            let orow = k.gep(out, k.mulc(it, p.ow as i64)?)?;
            let (v_lo, v_hi) = p.vector_cols();
            let scalar_col = |ow: IntValue<'ctx>| -> R<()> {
                let wstart = k.sub(k.mulc(ow, p.stride[1] as i64)?, k.i64c(p.pad[1] as i64))?;
                let wend_pad = k.smin(
                    k.addc(wstart, p.kernel[1] as i64)?,
                    k.i64c((p.w + p.pad[1]) as i64),
                )?;
                let ws = k.smax(wstart, k.i64c(0))?;
                let we = k.smin(wend_pad, k.i64c(p.w as i64))?;
                let init = if p.avg.is_some() {
                    0.0
                } else {
                    f32::NEG_INFINITY
                };
                k.b.build_store(acc, k.f32c(init))?;
                k.for_range(hs, he, 1, |ih| {
                    let row = k.gep(xin, k.mulc(ih, p.w as i64)?)?;
                    k.for_range(ws, we, 1, |iw| {
                        let v = k.load_f(k.gep(row, iw)?)?;
                        let a = k.b.build_load(k.f32t, acc, "")?.into_float_value();
                        let r = match p.avg {
                            Some(_) => k.b.build_float_add(a, v, "")?,
                            None => max_nan(k, a, v)?,
                        };
                        k.b.build_store(acc, r)?;
                        Ok(())
                    })
                })?;
                let a = k.b.build_load(k.f32t, acc, "")?.into_float_value();
                let r = match p.avg {
                    None => a,
                    Some(count_pad) => {
                        let (dh, dw) = if count_pad {
                            (k.sub(hend_pad, hstart)?, k.sub(wend_pad, wstart)?)
                        } else {
                            (k.sub(he, hs)?, k.sub(we, ws)?)
                        };
                        let cnt = k.mul(dh, dw)?;
                        let cf = k.b.build_signed_int_to_float(cnt, k.f32t, "")?;
                        k.b.build_float_div(a, cf, "")?
                    }
                };
                k.store_f(k.gep(orow, ow)?, r)
            };
            k.for_const(0, v_lo as i64, 1, scalar_col)?;
            // Interior columns, 8 outputs at a time: every tap of every lane
            // is inside the row, so the column count is `kernel[1]` and each
            // tap is one (strided) vector load.
            let (s, kw) = (p.stride[1] as i64, p.kernel[1] as i64);
            k.for_const(v_lo as i64, v_hi as i64, VW as i64, |ow0| {
                let init = if p.avg.is_some() {
                    0.0
                } else {
                    f32::NEG_INFINITY
                };
                k.b.build_store(vacc, k.vconst(init, VW))?;
                let c0 = k.sub(k.mulc(ow0, s)?, k.i64c(p.pad[1] as i64))?;
                k.for_range(hs, he, 1, |ih| {
                    let row = k.gep(xin, k.add(k.mulc(ih, p.w as i64)?, c0)?)?;
                    let mut a = k.b.build_load(k.vty(VW), vacc, "")?.into_vector_value();
                    for j in 0..kw {
                        let v = strided_load(k, k.gepc(row, j)?, s as u32)?;
                        a = match p.avg {
                            Some(_) => k.b.build_float_add(a, v, "")?,
                            None => max_nan_vec(k, a, v)?,
                        };
                    }
                    k.b.build_store(vacc, a)?;
                    Ok(())
                })?;
                let a = k.b.build_load(k.vty(VW), vacc, "")?.into_vector_value();
                let r = match p.avg {
                    None => a,
                    Some(count_pad) => {
                        let dh = if count_pad {
                            k.sub(hend_pad, hstart)?
                        } else {
                            k.sub(he, hs)?
                        };
                        let cnt = k.mulc(dh, kw)?;
                        let cf = k.b.build_signed_int_to_float(cnt, k.f32t, "")?;
                        k.b.build_float_div(a, k.splat(cf, VW)?, "")?
                    }
                };
                k.store_vec(k.gep(orow, ow0)?, r)
            })?;
            k.for_const(v_hi as i64, p.ow as i64, 1, scalar_col)
        })
    }

    /// The output columns `v_lo..v_hi` (a multiple of 8 wide) whose pooling
    /// windows lie inside the row and whose strided vector loads
    /// (`8 * stride` floats per tap) stay inside the row; `(ow, ow)` when
    /// there are none or the window is too wide to unroll.
    fn vector_cols(&self) -> (u64, u64) {
        let (s, k, p, w) = (self.stride[1], self.kernel[1], self.pad[1], self.w);
        if s == 0 || s > 4 || k == 0 || k > 16 {
            return (self.ow, self.ow);
        }
        let v_lo = p.div_ceil(s);
        let mut nv = 0u64;
        loop {
            let ow0 = v_lo + VW as u64 * nv;
            let fits_out = ow0 + VW as u64 <= self.ow;
            let fits_row = ow0 * s + k - 1 + VW as u64 * s <= w + p;
            if !(fits_out && fits_row) {
                break;
            }
            nv += 1;
        }
        if nv == 0 {
            return (self.ow, self.ow);
        }
        (v_lo, v_lo + VW as u64 * nv)
    }
}

/// Loads 8 floats `p[0], p[s], ..., p[7s]` (one `8·s`-wide load + shuffle).
fn strided_load<'ctx>(
    k: &Kcx<'ctx, '_>,
    p: PointerValue<'ctx>,
    s: u32,
) -> R<inkwell::values::VectorValue<'ctx>> {
    if s == 1 {
        return k.load_vec(p, VW);
    }
    let wide = k.load_vec(p, VW * s)?;
    let idx: Vec<IntValue> = (0..VW)
        .map(|l| k.i32t.const_int((l * s) as u64, false))
        .collect();
    let mask = inkwell::types::VectorType::const_vector(&idx);
    Ok(k.b.build_shuffle_vector(wide, wide.get_type().get_undef(), mask, "")?)
}

/// [`max_nan`] lane by lane.
pub(super) fn max_nan_vec<'ctx>(
    k: &Kcx<'ctx, '_>,
    m: inkwell::values::VectorValue<'ctx>,
    v: inkwell::values::VectorValue<'ctx>,
) -> R<inkwell::values::VectorValue<'ctx>> {
    let gt = k.fcmp(FloatPredicate::OGT, v, m)?;
    let nan = k.fcmp(FloatPredicate::UNO, v, v)?;
    let c = k.b.build_or(gt, nan, "")?;
    k.select(c, v, m)
}

/// PyTorch's max: a NaN candidate wins, a NaN maximum stays.
pub(super) fn max_nan<'ctx>(
    k: &Kcx<'ctx, '_>,
    m: FloatValue<'ctx>,
    v: FloatValue<'ctx>,
) -> R<FloatValue<'ctx>> {
    let gt = k.b.build_float_compare(FloatPredicate::OGT, v, m, "")?;
    let nan = k.b.build_float_compare(FloatPredicate::UNO, v, v, "")?;
    let c = k.b.build_or(gt, nan, "")?;
    Ok(k.b.build_select(c, v, m, "")?.into_float_value())
}

/// Global average pooling: one item per (n, c).
#[derive(Clone, Debug)]
pub struct GlobalAvgPlan {
    pub nc: u64,
    pub hw: u64,
}

impl GlobalAvgPlan {
    /// Emits items `lo..hi`.
    pub fn emit<'ctx>(
        &self,
        k: &Kcx<'ctx, '_>,
        out: PointerValue<'ctx>,
        x: PointerValue<'ctx>,
        lo: IntValue<'ctx>,
        hi: IntValue<'ctx>,
    ) -> R<()> {
        let hw = self.hw as i64;
        let vacc = k.entry_alloca(k.vty(VW).into())?;
        let sacc = k.entry_alloca(k.vty(1).into())?;
        k.for_range(lo, hi, 1, |it| {
            let xo = k.gep(x, k.mulc(it, hw)?)?;
            k.b.build_store(vacc, k.vconst(0.0, VW))?;
            k.b.build_store(sacc, k.vconst(0.0, 1))?;
            vec_range(k, k.i64c(0), k.i64c(hw), |i, w| {
                let v = k.load_vec(k.gep(xo, i)?, w)?;
                let ptr = if w == VW { vacc } else { sacc };
                let a = k.b.build_load(k.vty(w), ptr, "")?.into_vector_value();
                let s = k.b.build_float_add(a, v, "")?;
                k.b.build_store(ptr, s)?;
                Ok(())
            })?;
            let a = k.b.build_load(k.vty(VW), vacc, "")?.into_vector_value();
            let s = k.b.build_load(k.vty(1), sacc, "")?.into_vector_value();
            let t = k.b.build_float_add(k.hsum(a)?, k.lane(s, 0)?, "")?;
            let r = k.b.build_float_div(t, k.f32c(self.hw as f32), "")?;
            k.store_f(k.gep(out, it)?, r)
        })
    }
}

/// One strided block copy: for each outer index `o`, `len` floats from
/// `input[src_off + o * src_stride]` to `out[dst_off + o * dst_stride]`.
#[derive(Clone, Debug)]
pub struct CopyPart {
    pub input: usize,
    pub len: u64,
    pub src_off: u64,
    pub src_stride: u64,
    pub dst_off: u64,
    pub dst_stride: u64,
}

/// Data movement as block copies: flatten, concat, split, channel shuffle.
/// One work item per outer index; each item copies every part.
#[derive(Clone, Debug)]
pub struct CopyPlan {
    pub outer: u64,
    pub parts: Vec<CopyPart>,
}

impl CopyPlan {
    /// Emits items `lo..hi`.
    pub fn emit<'ctx>(
        &self,
        k: &Kcx<'ctx, '_>,
        out: PointerValue<'ctx>,
        ins: &[PointerValue<'ctx>],
        lo: IntValue<'ctx>,
        hi: IntValue<'ctx>,
    ) -> R<()> {
        k.for_range(lo, hi, 1, |o| {
            for p in &self.parts {
                let src = ins
                    .get(p.input)
                    .copied()
                    .ok_or_else(|| super::CgError("copy: missing input".into()))?;
                let s = k.gep(
                    src,
                    k.addc(k.mulc(o, p.src_stride as i64)?, p.src_off as i64)?,
                )?;
                let d = k.gep(
                    out,
                    k.addc(k.mulc(o, p.dst_stride as i64)?, p.dst_off as i64)?,
                )?;
                let bytes = k.i64c((p.len * 4) as i64);
                k.b.build_memcpy(d, 4, s, 4, bytes)
                    .map_err(|e| super::CgError(e.to_string()))?;
            }
            Ok(())
        })
    }
}

/// Channel shuffle `[N, C, HW]` with `g` groups: output channel `i * g + j`
/// is input channel `j * (C / g) + i`. One item per output (n, c).
#[derive(Clone, Debug)]
pub struct ShufflePlan {
    pub n: u64,
    pub c: u64,
    pub g: u64,
    pub hw: u64,
}

impl ShufflePlan {
    /// Emits items `lo..hi`.
    pub fn emit<'ctx>(
        &self,
        k: &Kcx<'ctx, '_>,
        out: PointerValue<'ctx>,
        x: PointerValue<'ctx>,
        lo: IntValue<'ctx>,
        hi: IntValue<'ctx>,
    ) -> R<()> {
        let (c, g, hw) = (self.c as i64, self.g as i64, self.hw as i64);
        let cpg = c / g;
        k.for_range(lo, hi, 1, |it| {
            let n = k.divc(it, c)?;
            let co = k.remc(it, c)?;
            let i = k.divc(co, g)?;
            let j = k.remc(co, g)?;
            let ci = k.add(k.mulc(j, cpg)?, i)?;
            let src = k.add(k.mulc(n, c)?, ci)?;
            let s = k.gep(x, k.mulc(src, hw)?)?;
            let d = k.gep(out, k.mulc(it, hw)?)?;
            k.b.build_memcpy(d, 4, s, 4, k.i64c(hw * 4))
                .map_err(|e| super::CgError(e.to_string()))?;
            Ok(())
        })
    }
}

/// Nearest-neighbour upsampling by an integer factor: one item per output row.
#[derive(Clone, Debug)]
pub struct UpsamplePlan {
    pub nc: u64,
    pub h: u64,
    pub w: u64,
    pub s: u64,
}

impl UpsamplePlan {
    /// Number of work items.
    pub fn items(&self) -> u64 {
        self.nc * self.h * self.s
    }

    /// Emits items `lo..hi`.
    pub fn emit<'ctx>(
        &self,
        k: &Kcx<'ctx, '_>,
        out: PointerValue<'ctx>,
        x: PointerValue<'ctx>,
        lo: IntValue<'ctx>,
        hi: IntValue<'ctx>,
    ) -> R<()> {
        let (h, w, s) = (self.h as i64, self.w as i64, self.s as i64);
        let oh = h * s;
        let ow = w * s;
        k.for_range(lo, hi, 1, |it| {
            let nc = k.divc(it, oh)?;
            let r = k.remc(it, oh)?;
            let ih = k.divc(r, s)?;
            let row = k.gep(x, k.mulc(k.add(k.mulc(nc, h)?, ih)?, w)?)?;
            let orow = k.gep(out, k.mulc(it, ow)?)?;
            k.for_const(0, w, 1, |iw| {
                let v = k.load_f(k.gep(row, iw)?)?;
                let base = k.mulc(iw, s)?;
                for d in 0..s {
                    k.store_f(k.gep(orow, k.addc(base, d)?)?, v)?;
                }
                Ok(())
            })
        })
    }
}
