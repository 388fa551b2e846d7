//! Direct convolution (and linear layers) vectorized over output channels.
//!
//! The weights are packed per group and output-channel tile as
//! `[ICg][KH][KW][tb * 8]` (tb = 8-channel blocks of the tile, zero padded),
//! the biases after all weight tiles. A register tile is `pw` output pixels
//! × `tb` blocks (≤ 12 accumulators): per reduction step, `tb` aligned
//! vector loads of weights, `pw` broadcasts of input values and `pw * tb`
//! FMAs. Output rows are split at build time into border tiles (with bounds
//! checks, constant-folded when the tile position is constant) and an
//! interior loop without checks; kernel rows outside the input are skipped
//! by computing the valid `kh` range per output row.
//!
//! Tensors are addressed through explicit strides, so that a linear layer is
//! the same kernel on a `[1, F, 1, N]` view with channel stride 1.

use super::elementwise::apply_act;
use super::{CgError, Kcx, R, VW};
use crate::PlanError;
use inkwell::values::{IntValue, PointerValue, VectorValue};
use inkwell::IntPredicate;
use nnc_ir::Activation;

/// Strides (in elements) of a 4-D view `[N, C, H, W]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Strides {
    pub n: u64,
    pub c: u64,
    pub h: u64,
    pub w: u64,
}

impl Strides {
    /// Contiguous NCHW strides.
    pub fn nchw(c: u64, h: u64, w: u64) -> Strides {
        Strides {
            n: c * h * w,
            c: h * w,
            h: w,
            w: 1,
        }
    }
}

/// Shape and attributes of one convolution (or linear layer).
#[derive(Clone, Debug)]
pub struct ConvShape {
    pub n: u64,
    pub groups: u64,
    /// Input channels per group.
    pub icg: u64,
    /// Output channels per group.
    pub ocg: u64,
    pub h: u64,
    pub w: u64,
    pub oh: u64,
    pub ow: u64,
    pub kernel: [u64; 2],
    pub stride: [u64; 2],
    pub pad: [u64; 2],
    pub dilation: [u64; 2],
    pub in_s: Strides,
    pub out_s: Strides,
}

/// The direct-convolution kernel of one node.
#[derive(Clone, Debug)]
pub struct ConvPlan {
    pub s: ConvShape,
    pub bias: bool,
    pub residual: bool,
    pub act: Option<Activation>,
    /// 8-channel blocks per full tile.
    pub tb: u64,
    /// Output pixels per register tile.
    pub pw: u64,
    /// Tiles per group and blocks in the last tile.
    pub ntiles: u64,
    pub last_tb: u64,
    /// Offset of the packed weights in the blob (f32 elements, 16-aligned).
    pub w_off: u64,
}

impl ConvPlan {
    /// Chooses the register tile for a shape.
    pub fn new(s: ConvShape, bias: bool, residual: bool, act: Option<Activation>) -> ConvPlan {
        let nb = s.ocg.div_ceil(VW as u64).max(1);
        // ≤ 12 accumulators + tb weight vectors + 1 broadcast ≤ 16 ymm
        let (mut tb, mut pw) = match nb {
            1 => (1, 8),
            3 => (3, 4),
            _ => (2, 6),
        };
        if s.ow < pw {
            pw = s.ow.max(1);
            tb = (12 / pw).clamp(1, nb);
        }
        let ntiles = nb.div_ceil(tb);
        let last_tb = nb - (ntiles - 1) * tb;
        ConvPlan {
            s,
            bias,
            residual,
            act,
            tb,
            pw,
            ntiles,
            last_tb,
            w_off: 0,
        }
    }

    fn ksize(&self) -> u64 {
        self.s.icg * self.s.kernel[0] * self.s.kernel[1]
    }

    /// Floats per packed tile slot.
    fn tile_stride(&self) -> u64 {
        self.ksize() * self.tb * VW as u64
    }

    /// Offset of the biases relative to `w_off`.
    fn bias_rel(&self) -> u64 {
        self.s.groups * self.ntiles * self.tile_stride()
    }

    /// Work items: (group, tile, image, output row).
    pub fn items(&self) -> u64 {
        self.s.groups * self.ntiles * self.s.n * self.s.oh
    }

    /// Multiply-adds (for task sizing).
    pub fn macs(&self) -> u64 {
        self.s.n * self.s.groups * self.s.ocg * self.s.oh * self.s.ow * self.ksize()
    }

    /// Packs PyTorch weights `[OC, ICg, KH, KW]` and bias `[OC]`.
    pub fn pack(&self, w: &[f32], bias: Option<&[f32]>) -> Result<Vec<f32>, PlanError> {
        let s = &self.s;
        let (kh, kw) = (s.kernel[0], s.kernel[1]);
        let oc = s.groups * s.ocg;
        if w.len() as u64 != oc * self.ksize() {
            return Err(PlanError::Unsupported(format!(
                "conv weight has {} elements, expected {}",
                w.len(),
                oc * self.ksize()
            )));
        }
        let v = VW as u64;
        let mut out = vec![0f32; (self.bias_rel() + s.groups * self.ntiles * self.tb * v) as usize];
        for g in 0..s.groups {
            for t in 0..self.ntiles {
                let tbw = if t + 1 == self.ntiles {
                    self.last_tb
                } else {
                    self.tb
                };
                let base = (g * self.ntiles + t) * self.tile_stride();
                for ic in 0..s.icg {
                    for y in 0..kh {
                        for x in 0..kw {
                            let kidx = (ic * kh + y) * kw + x;
                            for j in 0..tbw * v {
                                let o = t * self.tb * v + j;
                                if o >= s.ocg {
                                    continue;
                                }
                                let src = ((g * s.ocg + o) * s.icg + ic) * kh * kw + y * kw + x;
                                out[(base + kidx * tbw * v + j) as usize] = w[src as usize];
                            }
                        }
                    }
                }
                if let Some(b) = bias {
                    let bb = self.bias_rel() + (g * self.ntiles + t) * self.tb * v;
                    for j in 0..tbw * v {
                        let o = t * self.tb * v + j;
                        if o < s.ocg {
                            out[(bb + j) as usize] = *b
                                .get((g * s.ocg + o) as usize)
                                .ok_or_else(|| PlanError::unsupported("conv bias too short"))?;
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// Emits items `lo..hi`. `res` is the residual input (output layout).
    pub fn emit<'ctx>(
        &self,
        k: &Kcx<'ctx, '_>,
        out: PointerValue<'ctx>,
        x: PointerValue<'ctx>,
        res: Option<PointerValue<'ctx>>,
        lo: IntValue<'ctx>,
        hi: IntValue<'ctx>,
    ) -> R<()> {
        if self.residual && res.is_none() {
            return Err(CgError("conv: residual input missing".into()));
        }
        let s = &self.s;
        let rows = (s.n * s.oh) as i64;
        let v = VW as u64;
        // accumulators, shared by all tile variants
        let nacc = (self.tb.max(self.last_tb) * self.pw) as usize;
        let mut accs = Vec::with_capacity(nacc);
        for _ in 0..nacc {
            accs.push(k.entry_alloca(k.vty(VW).into())?);
        }
        let partial_last = self.last_tb != self.tb || !s.ocg.is_multiple_of(v);
        k.for_range(lo, hi, 1, |it| {
            let row = k.remc(it, rows)?;
            let gt = k.divc(it, rows)?;
            let t = k.remc(gt, self.ntiles as i64)?;
            let g = k.divc(gt, self.ntiles as i64)?;
            let n = k.divc(row, s.oh as i64)?;
            let oh = k.remc(row, s.oh as i64)?;
            let ctx = RowCtx {
                out,
                x,
                res,
                g,
                t,
                n,
                oh,
                accs: &accs,
            };
            if self.ntiles == 1 {
                self.emit_row(k, &ctx, self.last_tb, s.ocg)
            } else if partial_last {
                let is_last = k.icmp(IntPredicate::EQ, t, k.i64c(self.ntiles as i64 - 1))?;
                let last_valid = s.ocg - (self.ntiles - 1) * self.tb * v;
                k.if_else(
                    is_last,
                    || self.emit_row(k, &ctx, self.last_tb, last_valid),
                    || self.emit_row(k, &ctx, self.tb, self.tb * v),
                )
            } else {
                self.emit_row(k, &ctx, self.tb, self.tb * v)
            }
        })
    }

    /// True if every output row sees all kernel rows (no vertical padding
    /// reached).
    fn rows_full(&self) -> bool {
        let s = &self.s;
        (0..s.oh).all(|oh| {
            let ih0 = (oh * s.stride[0]) as i64 - s.pad[0] as i64;
            let last = ih0 + ((s.kernel[0] - 1) * s.dilation[0]) as i64;
            ih0 >= 0 && last < s.h as i64
        })
    }

    /// Interior output columns `[a, b)`: every kernel column in bounds.
    fn interior_cols(&self) -> (u64, u64) {
        let s = &self.s;
        let ok = |ow: u64| {
            let iw0 = (ow * s.stride[1]) as i64 - s.pad[1] as i64;
            let last = iw0 + ((s.kernel[1] - 1) * s.dilation[1]) as i64;
            iw0 >= 0 && last < s.w as i64
        };
        let a = (0..s.ow).find(|&o| ok(o));
        match a {
            None => (0, 0),
            Some(a) => {
                let mut b = a;
                while b < s.ow && ok(b) {
                    b += 1;
                }
                (a, b)
            }
        }
    }

    fn emit_row<'ctx>(
        &self,
        k: &Kcx<'ctx, '_>,
        c: &RowCtx<'ctx, '_>,
        tb: u64,
        valid: u64,
    ) -> R<()> {
        let s = &self.s;
        let v = VW as i64;
        let gt = k.add(k.mulc(c.g, self.ntiles as i64)?, c.t)?;
        let wt = k.gep(k.wptr(self.w_off)?, k.mulc(gt, self.tile_stride() as i64)?)?;
        let bias = k.gep(
            k.wptr(self.w_off + self.bias_rel())?,
            k.mulc(gt, self.tb as i64 * v)?,
        )?;
        let xin = k.gep(
            c.x,
            k.add(
                k.mulc(c.n, s.in_s.n as i64)?,
                k.mulc(c.g, (s.icg * s.in_s.c) as i64)?,
            )?,
        )?;
        let och = k.add(k.mulc(c.g, s.ocg as i64)?, k.mulc(c.t, self.tb as i64 * v)?)?;
        let ooff = k.add(
            k.add(
                k.mulc(c.n, s.out_s.n as i64)?,
                k.mulc(och, s.out_s.c as i64)?,
            )?,
            k.mulc(c.oh, s.out_s.h as i64)?,
        )?;
        let obase = k.gep(c.out, ooff)?;
        let rbase = match c.res {
            Some(r) => Some(k.gep(r, ooff)?),
            None => None,
        };
        let ih0 = k.sub(k.mulc(c.oh, s.stride[0] as i64)?, k.i64c(s.pad[0] as i64))?;
        let (kh_lo, kh_hi) = if self.rows_full() {
            (k.i64c(0), k.i64c(s.kernel[0] as i64))
        } else {
            let d = s.dilation[0] as i64;
            let neg = k.sub(k.i64c(0), ih0)?;
            let lo_raw = k.divc(k.addc(neg, d - 1)?, d)?;
            let pos = k.icmp(IntPredicate::SGT, neg, k.i64c(0))?;
            let kh_lo =
                k.b.build_select(pos, lo_raw, k.i64c(0), "")?
                    .into_int_value();
            let r = k.sub(k.i64c(s.h as i64 - 1), ih0)?;
            let hi_raw = k.smin(k.addc(k.divc(r, d)?, 1)?, k.i64c(s.kernel[0] as i64))?;
            let rneg = k.icmp(IntPredicate::SLT, r, k.i64c(0))?;
            let kh_hi =
                k.b.build_select(rneg, k.i64c(0), hi_raw, "")?
                    .into_int_value();
            (kh_lo, kh_hi)
        };
        let tc = TileCtx {
            wt,
            bias,
            xin,
            obase,
            rbase,
            ih0,
            kh_lo,
            kh_hi,
            tb,
            valid,
            accs: c.accs,
        };
        // segments along the row
        let pw = self.pw;
        let (a, b) = self.interior_cols();
        let mut segs: Vec<(u64, u64, bool)> = Vec::new(); // (start, end, checked)
        if a < b {
            if a > 0 {
                segs.push((0, a, true));
            }
            segs.push((a, b, false));
            if b < s.ow {
                segs.push((b, s.ow, true));
            }
        } else {
            segs.push((0, s.ow, true));
        }
        for (st, en, checked) in segs {
            let len = en - st;
            let full = len / pw;
            let rem = len % pw;
            if full <= 2 {
                for i in 0..full {
                    self.emit_tile(k, &tc, k.i64c((st + i * pw) as i64), pw, checked)?;
                }
            } else {
                k.for_range(
                    k.i64c(st as i64),
                    k.i64c((st + full * pw) as i64),
                    pw as i64,
                    |ow0| self.emit_tile(k, &tc, ow0, pw, checked),
                )?;
            }
            if rem > 0 {
                self.emit_tile(k, &tc, k.i64c((st + full * pw) as i64), rem, checked)?;
            }
        }
        Ok(())
    }

    fn emit_tile<'ctx>(
        &self,
        k: &Kcx<'ctx, '_>,
        c: &TileCtx<'ctx, '_>,
        ow0: IntValue<'ctx>,
        np: u64,
        checked: bool,
    ) -> R<()> {
        let s = &self.s;
        let tb = c.tb;
        let v = VW as i64;
        let (kh, kw) = (s.kernel[0] as i64, s.kernel[1] as i64);
        let zero = k.vconst(0.0, VW);
        let acc = |p: u64, j: u64| c.accs[(p * tb + j) as usize];
        for p in 0..np {
            for j in 0..tb {
                k.b.build_store(acc(p, j), zero)?;
            }
        }
        // input column of pixel p, tap 0
        let iw0 = k.sub(k.mulc(ow0, s.stride[1] as i64)?, k.i64c(s.pad[1] as i64))?;
        k.for_const(0, s.icg as i64, 1, |ic| {
            let xc = k.gep(c.xin, k.mulc(ic, s.in_s.c as i64)?)?;
            let wc = k.gep(c.wt, k.mulc(ic, kh * kw * tb as i64 * v)?)?;
            k.for_range(c.kh_lo, c.kh_hi, 1, |y| {
                let ih = k.add(c.ih0, k.mulc(y, s.dilation[0] as i64)?)?;
                let xr = k.gep(xc, k.mulc(ih, s.in_s.h as i64)?)?;
                let wr = k.gep(wc, k.mulc(y, kw * tb as i64 * v)?)?;
                // a rolled loop over kernel columns: unrolling it lets LLVM
                // share broadcasts between taps, which costs registers
                k.for_const(0, kw, 1, |x| {
                    let mut av: Vec<VectorValue> = Vec::with_capacity((np * tb) as usize);
                    for p in 0..np {
                        for j in 0..tb {
                            av.push(
                                k.b.build_load(k.vty(VW), acc(p, j), "")?
                                    .into_vector_value(),
                            );
                        }
                    }
                    let wx = k.gep(wr, k.mulc(x, tb as i64 * v)?)?;
                    let mut wv = Vec::with_capacity(tb as usize);
                    for j in 0..tb as i64 {
                        wv.push(k.load_vec_aligned(k.gepc(wx, j * v)?, VW, 32)?);
                    }
                    let xoff = k.add(iw0, k.mulc(x, s.dilation[1] as i64)?)?;
                    for p in 0..np as i64 {
                        let iw = k.addc(xoff, p * s.stride[1] as i64)?;
                        let xv = if checked {
                            let ge = k.icmp(IntPredicate::SGE, iw, k.i64c(0))?;
                            let lt = k.icmp(IntPredicate::SLT, iw, k.i64c(s.w as i64))?;
                            let ok = k.b.build_and(ge, lt, "")?;
                            let iwc = k.b.build_select(ok, iw, k.i64c(0), "")?.into_int_value();
                            let val = k.load_f(k.gep(xr, k.mulc(iwc, s.in_s.w as i64)?)?)?;
                            k.b.build_select(ok, val, k.f32c(0.0), "")?
                                .into_float_value()
                        } else {
                            k.load_f(k.gep(xr, k.mulc(iw, s.in_s.w as i64)?)?)?
                        };
                        let xs = k.splat(xv, VW)?;
                        for (j, w) in wv.iter().enumerate() {
                            let i = p as usize * tb as usize + j;
                            av[i] = k.fma(xs, *w, av[i])?;
                        }
                    }
                    for p in 0..np {
                        for j in 0..tb {
                            k.b.build_store(acc(p, j), av[(p * tb + j) as usize])?;
                        }
                    }
                    Ok(())
                })
            })
        })?;
        // epilogue
        for j in 0..tb {
            let bv = if self.bias {
                Some(k.load_vec_aligned(k.gepc(c.bias, j as i64 * v)?, VW, 32)?)
            } else {
                None
            };
            for p in 0..np {
                let mut r =
                    k.b.build_load(k.vty(VW), acc(p, j), "")?
                        .into_vector_value();
                if let Some(bv) = bv {
                    r = k.b.build_float_add(r, bv, "")?;
                }
                let pix = k.mulc(k.addc(ow0, p as i64)?, s.out_s.w as i64)?;
                let lanes = (c.valid.saturating_sub(j * VW as u64)).min(VW as u64);
                if lanes == 0 {
                    continue;
                }
                if let Some(rb) = c.rbase {
                    let rp = k.gep(rb, pix)?;
                    let mut rv = k.vty(VW).const_zero();
                    for l in 0..lanes {
                        let e = k.load_f(k.gepc(rp, ((j * VW as u64 + l) * s.out_s.c) as i64)?)?;
                        rv =
                            k.b.build_insert_element(rv, e, k.i32t.const_int(l, false), "")?;
                    }
                    r = k.b.build_float_add(r, rv, "")?;
                }
                if let Some(a) = self.act {
                    r = apply_act(k, a, r)?;
                }
                let op = k.gep(c.obase, pix)?;
                if s.out_s.c == 1 && lanes == VW as u64 {
                    k.store_vec(k.gepc(op, (j * VW as u64) as i64)?, r)?;
                } else {
                    for l in 0..lanes {
                        let e = k.lane(r, l as u32)?;
                        k.store_f(k.gepc(op, ((j * VW as u64 + l) * s.out_s.c) as i64)?, e)?;
                    }
                }
            }
        }
        Ok(())
    }
}

struct RowCtx<'ctx, 'a> {
    out: PointerValue<'ctx>,
    x: PointerValue<'ctx>,
    res: Option<PointerValue<'ctx>>,
    g: IntValue<'ctx>,
    t: IntValue<'ctx>,
    n: IntValue<'ctx>,
    oh: IntValue<'ctx>,
    accs: &'a [PointerValue<'ctx>],
}

struct TileCtx<'ctx, 'a> {
    wt: PointerValue<'ctx>,
    bias: PointerValue<'ctx>,
    xin: PointerValue<'ctx>,
    obase: PointerValue<'ctx>,
    rbase: Option<PointerValue<'ctx>>,
    ih0: IntValue<'ctx>,
    kh_lo: IntValue<'ctx>,
    kh_hi: IntValue<'ctx>,
    tb: u64,
    valid: u64,
    accs: &'a [PointerValue<'ctx>],
}
