//! What the convolution kernels share: the conv description ([`ConvSpec`]),
//! the chosen algorithm and task split ([`ConvPlan`]), the register-tile
//! sizes, and the emission helpers for kernel parameters, task decoding and
//! row packing. [`super::conv_fast`] plans and dispatches to the algorithms
//! (`conv_fast`'s direct kernel, [`super::dwconv`], [`super::pointwise`],
//! [`super::conv_wide`]), which all build on this module, not on each other.

use inkwell::types::VectorType;
use inkwell::values::{IntValue, PointerValue, VectorValue};
use inkwell::IntPredicate;

use super::gemm::{err, i64_of, mul, Activation, Em, KernelError, KernelResult, MAX_ELEMS};

/// Output channels per register tile.
pub const MR: usize = 6;
/// Vectors (of 8 output pixels) per register tile.
pub const NV: usize = 2;
/// Hard limit on the per-task stack buffer (bytes).
pub(crate) const SCRATCH_LIMIT: usize = 1024 * 1024;

/// A 2-D convolution with its fused epilogue, all sizes compile-time constants.
///
/// Input `[n][cin][h][w]`, output `[n][cout][oh][ow]` (NCHW, C order, f32), with
/// `oh = (h + pad_top + pad_bottom − dil_h·(kh−1) − 1) / stride_h + 1` (same for w).
/// `output = act(conv(input) + bias[co] + residual)`, `residual` shaped like `output`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvSpec {
    /// Batch.
    pub n: usize,
    /// Input channels.
    pub cin: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Output channels.
    pub cout: usize,
    /// Kernel height.
    pub kh: usize,
    /// Kernel width.
    pub kw: usize,
    /// Strides `[h, w]`.
    pub stride: [usize; 2],
    /// Zero padding `[top, left, bottom, right]`.
    pub pad: [usize; 4],
    /// Dilations `[h, w]`.
    pub dilation: [usize; 2],
    /// Groups (divides `cin` and `cout`).
    pub groups: usize,
    /// Whether `bias[cout]` is added.
    pub bias: bool,
    /// Whether a residual tensor (output-shaped) is added before the activation.
    pub residual: bool,
    /// Activation applied last (`None` = identity).
    pub act: Option<Activation>,
}

impl ConvSpec {
    /// A convolution with symmetric padding, no bias/residual/activation.
    #[allow(clippy::too_many_arguments)]
    pub fn simple(
        n: usize,
        cin: usize,
        h: usize,
        w: usize,
        cout: usize,
        k: usize,
        stride: usize,
        pad: usize,
    ) -> Self {
        ConvSpec {
            n,
            cin,
            h,
            w,
            cout,
            kh: k,
            kw: k,
            stride: [stride, stride],
            pad: [pad; 4],
            dilation: [1, 1],
            groups: 1,
            bias: false,
            residual: false,
            act: None,
        }
    }

    /// Output `(oh, ow)`; errors if the window does not fit or a size is zero.
    pub fn out_hw(&self) -> KernelResult<(usize, usize)> {
        let dim = |i: usize, k: usize, s: usize, d: usize, p0: usize, p1: usize| {
            if s == 0 || d == 0 || k == 0 {
                return err("conv: zero kernel/stride/dilation");
            }
            let padded = i
                .checked_add(p0)
                .and_then(|x| x.checked_add(p1))
                .ok_or_else(|| KernelError::new("conv: size overflow"))?;
            let span = (k - 1)
                .checked_mul(d)
                .and_then(|x| x.checked_add(1))
                .ok_or_else(|| KernelError::new("conv: size overflow"))?;
            if padded < span {
                return err("conv: kernel larger than padded input");
            }
            Ok((padded - span) / s + 1)
        };
        let oh = dim(
            self.h,
            self.kh,
            self.stride[0],
            self.dilation[0],
            self.pad[0],
            self.pad[2],
        )?;
        let ow = dim(
            self.w,
            self.kw,
            self.stride[1],
            self.dilation[1],
            self.pad[1],
            self.pad[3],
        )?;
        Ok((oh, ow))
    }

    /// Depthwise: `groups == cin == cout` (handled by [`super::dwconv`]).
    pub fn is_depthwise(&self) -> bool {
        self.groups == self.cin && self.cin == self.cout
    }

    /// Floating-point operations (2 per multiply-add) of the convolution proper.
    pub fn flops(&self) -> KernelResult<u64> {
        let (oh, ow) = self.out_hw()?;
        let v = mul(&[
            2,
            self.n,
            self.cout,
            oh,
            ow,
            self.cin / self.groups.max(1),
            self.kh,
            self.kw,
        ])?;
        u64::try_from(v).map_err(|_| KernelError::new("flops overflow"))
    }

    /// Validates sizes (non-zero, divisible groups, bounded tensor sizes).
    pub fn validate(&self) -> KernelResult<()> {
        if self.n == 0 || self.cin == 0 || self.cout == 0 || self.h == 0 || self.w == 0 {
            return err("conv: zero-sized dimension");
        }
        if self.groups == 0
            || !self.cin.is_multiple_of(self.groups)
            || !self.cout.is_multiple_of(self.groups)
        {
            return err("conv: groups must divide cin and cout");
        }
        let (oh, ow) = self.out_hw()?;
        if mul(&[self.n, self.cin, self.h, self.w])? > MAX_ELEMS
            || mul(&[self.n, self.cout, oh, ow])? > MAX_ELEMS
            || mul(&[self.cout, self.cin / self.groups, self.kh, self.kw])? > MAX_ELEMS
            || self.pad.iter().any(|&p| p > (1 << 20))
        {
            return err("conv: tensor too large");
        }
        Ok(())
    }
}

/// Which algorithm a convolution uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvAlgo {
    /// 1×1, stride 1, no padding: GEMM on the activations in place.
    Gemm1x1,
    /// Direct convolution on a padded, phase-split copy of a band of input rows.
    Direct,
    /// Depthwise ([`super::dwconv`]).
    Depthwise,
}

/// The work decomposition of a convolution (derived from the spec, deterministic).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvPlan {
    /// Algorithm.
    pub algo: ConvAlgo,
    /// Number of tasks: call the kernel with any split of `0..num_tasks`.
    pub num_tasks: usize,
    /// Length (f32 elements) of the packed weights.
    pub packed_len: usize,
    /// Stack bytes the kernel's frame needs (the scratch buffer).
    pub stack_bytes: usize,
    /// Output height.
    pub oh: usize,
    /// Output width.
    pub ow: usize,
    pub(crate) cin_g: usize,
    pub(crate) cout_g: usize,
    /// Vector slots per output row (`Direct`) or per plane (`Gemm1x1`).
    pub(crate) spr: usize,
    /// Output rows per band (`Direct`) / slots per chunk (`Gemm1x1`).
    pub(crate) band: usize,
    /// Bands (`Direct`) / chunks (`Gemm1x1`) per image and group.
    pub(crate) nbands: usize,
    /// Output-channel chunks per (image, group, band) and panels per chunk.
    pub(crate) cchunks: usize,
    pub(crate) ppc: usize,
    /// Phase width, row stride and channel stride of the scratch (`Direct`).
    pub(crate) pw: usize,
    pub(crate) rs: usize,
    pub(crate) cs: usize,
}

/// Splits the output-channel panels of a group into chunks when there are fewer than
/// 8 spatial tasks (small outputs, many channels), so that threads stay busy.
pub(crate) fn channel_chunks(cout_g: usize, spatial_tasks: usize) -> (usize, usize) {
    let npanels = cout_g.div_ceil(MR);
    let want = 8usize.div_ceil(spatial_tasks.max(1)).min(npanels).max(1);
    let ppc = npanels.div_ceil(want);
    (npanels.div_ceil(ppc), ppc)
}

/// Input rows a band of `rows` output rows reads.
pub(crate) fn rows_in(rows: usize, sh: usize, kh: usize, dh: usize) -> usize {
    (rows - 1) * sh + (kh - 1) * dh + 1
}

/// Common parameters of both GEMM-style algorithms.
pub(crate) struct Ptrs<'ctx> {
    pub(crate) input: PointerValue<'ctx>,
    pub(crate) w: PointerValue<'ctx>,
    pub(crate) bias: PointerValue<'ctx>,
    pub(crate) res: PointerValue<'ctx>,
    pub(crate) out: PointerValue<'ctx>,
}

pub(crate) fn params<'ctx>(em: &Em<'_, 'ctx>) -> KernelResult<Ptrs<'ctx>> {
    Ok(Ptrs {
        input: em.param_ptr(0)?,
        w: em.param_ptr(1)?,
        bias: em.param_ptr(2)?,
        res: em.param_ptr(3)?,
        out: em.param_ptr(4)?,
    })
}

/// Runs `body(co0, mr)` for every output-channel panel of a group: a runtime loop over
/// the full panels, then the narrower remainder panel.
pub(crate) fn for_panels<'ctx>(
    em: &Em<'_, 'ctx>,
    plan: &ConvPlan,
    cc: IntValue<'ctx>,
    mut body: impl FnMut(IntValue<'ctx>, usize) -> KernelResult<()>,
) -> KernelResult<()> {
    let full = plan.cout_g / MR;
    let rem = plan.cout_g % MR;
    let npanels = i64_of(plan.cout_g.div_ceil(MR))?;
    let p_lo = em.mulc(cc, i64_of(plan.ppc)?)?;
    let p_hi = em.min(em.addc(p_lo, i64_of(plan.ppc)?)?, em.c64(npanels))?;
    if full > 0 {
        let full_hi = em.min(p_hi, em.c64(i64_of(full)?))?;
        em.for_loop(p_lo, full_hi, |p| body(em.mulc(p, MR as i64)?, MR))?;
    }
    if rem > 0 {
        let has = em.icmp(IntPredicate::EQ, p_hi, em.c64(npanels))?;
        em.if_then(has, || body(em.c64(i64_of(full * MR)?), rem))?;
    }
    Ok(())
}

/// Decodes task `t` into `(image, group, band)` and returns the base pointers.
pub(crate) struct TaskCtx<'ctx> {
    pub(crate) cc: IntValue<'ctx>,
    pub(crate) n: IntValue<'ctx>,
    pub(crate) g: IntValue<'ctx>,
    pub(crate) band: IntValue<'ctx>,
}

pub(crate) fn decode_task<'ctx>(
    em: &Em<'_, 'ctx>,
    t: IntValue<'ctx>,
    groups: usize,
    plan: &ConvPlan,
) -> KernelResult<TaskCtx<'ctx>> {
    let ncc = i64_of(plan.cchunks)?;
    let cc = em.uremc(t, ncc)?;
    let t = em.udivc(t, ncc)?;
    let nb = i64_of(plan.nbands)?;
    let band = em.uremc(t, nb)?;
    let ng = em.udivc(t, nb)?;
    let g = em.uremc(ng, i64_of(groups)?)?;
    let n = em.udivc(ng, i64_of(groups)?)?;
    Ok(TaskCtx { cc, n, g, band })
}

/// Geometry of the padded, phase-split copy of input rows (shared with depthwise).
pub(crate) struct PackGeom {
    /// Input height/width.
    pub h: usize,
    pub w: usize,
    /// Left padding and column stride.
    pub pl: usize,
    pub sw: usize,
    /// Phase width and row stride (f32) in the scratch.
    pub pw: usize,
    pub rs: usize,
    /// Distance (f32) between the column phases of a row: `pw` when a row's
    /// phases lie side by side (`rs = sw·pw`), or a whole phase plane when the
    /// phases are planes of rows (`[phase][row][col]`, `rs = pw`, see
    /// [`super::conv_wide`]).
    pub phase_stride: usize,
    /// Input rows between consecutive scratch rows (1, or the row stride of a
    /// row-phase plane).
    pub row_step: usize,
}

impl PackGeom {
    /// Whether the column phases are separate planes (`[phase][row][col]`).
    fn phase_planes(&self) -> bool {
        self.sw > 1 && self.rs < self.sw * self.pw
    }
}

/// Scratch columns of a row (start, len) that no input column is copied to.
fn pad_ranges(g: &PackGeom) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut push = |a: usize, b: usize| {
        if b > a {
            out.push((a, b - a));
        }
    };
    if g.sw == 1 {
        let lo = g.pl.min(g.rs);
        let n = g.w.min(g.rs - lo);
        push(0, lo);
        push(lo + n, g.rs);
    } else {
        for phase in 0..g.sw {
            let iw0 = (phase + g.sw - g.pl % g.sw) % g.sw;
            let idx0 = ((iw0 + g.pl) / g.sw).min(g.pw);
            let cnt = if iw0 >= g.w {
                0
            } else {
                (g.w - iw0).div_ceil(g.sw).min(g.pw - idx0)
            };
            let base = phase * g.phase_stride;
            push(base, base + idx0);
            push(base + idx0 + cnt, base + g.pw);
        }
    }
    out
}

/// Fills rows `0 .. nrows` of the scratch `dst` (row `r` at `dst + r·rs`) with input
/// rows `ih_base + r·row_step` of one channel plane (`src`, `h×w`) in the padded,
/// phase-split layout; rows and columns outside the input are written as zeros.
pub(crate) fn emit_pack_rows<'ctx>(
    em: &Em<'_, 'ctx>,
    g: &PackGeom,
    src: PointerValue<'ctx>,
    dst: PointerValue<'ctx>,
    ih_base: IntValue<'ctx>,
    nrows: IntValue<'ctx>,
) -> KernelResult<()> {
    // r in ceil(max(0, -ih_base) / step) .. min(nrows, ceil((h - ih_base) / step))
    let step = i64_of(g.row_step.max(1))?;
    let zero = em.c64(0);
    let clamp0 = |v: IntValue<'ctx>| -> KernelResult<IntValue<'ctx>> {
        let lt = em.icmp(IntPredicate::SLT, v, zero)?;
        Ok(em.b.build_select(lt, zero, v, "")?.into_int_value())
    };
    let ceil_div = |v: IntValue<'ctx>| -> KernelResult<IntValue<'ctx>> {
        if step == 1 {
            Ok(v)
        } else {
            em.udivc(em.addc(v, step - 1)?, step)
        }
    };
    let neg = clamp0(em.b.build_int_nsw_sub(zero, ih_base, "")?)?;
    let r_lo = em.min(ceil_div(neg)?, nrows)?;
    let hmax = clamp0(em.b.build_int_nsw_sub(em.c64(i64_of(g.h)?), ih_base, "")?)?;
    let r_hi = em.min(nrows, ceil_div(hmax)?)?;
    let lt = em.icmp(IntPredicate::SLT, r_hi, r_lo)?;
    let r_hi = em.b.build_select(lt, r_lo, r_hi, "")?.into_int_value();
    let w = g.w;
    let row_bytes = em.c64(i64_of(g.rs * 4)?);
    let zero8 = em.ctx.i8_type().const_zero();
    // Rows outside the input: all zero (in every phase plane).
    let (nplanes, plane_stride) = if g.phase_planes() {
        (g.sw, g.phase_stride)
    } else {
        (1, 0)
    };
    let tail_rows = em.b.build_int_nsw_sub(nrows, r_hi, "")?;
    for pl in 0..nplanes {
        let d0 = em.gepc(dst, i64_of(pl * plane_stride)?)?;
        em.b.build_memset(d0, 4, zero8, em.mul(r_lo, row_bytes)?)?;
        let tail = em.gep(d0, em.mulc(r_hi, i64_of(g.rs)?)?)?;
        em.b.build_memset(tail, 4, zero8, em.mul(tail_rows, row_bytes)?)?;
    }
    let pads = pad_ranges(g);
    em.for_loop(r_lo, r_hi, |r| {
        let ih = em.add(ih_base, em.mulc(r, step)?)?;
        let src_row = em.gep(src, em.mulc(ih, i64_of(w)?)?)?;
        let dst_row = em.gep(dst, em.mulc(r, i64_of(g.rs)?)?)?;
        // Padding columns of an input row: zero.
        for &(start, len) in &pads {
            let d = em.gepc(dst_row, i64_of(start)?)?;
            em.b.build_memset(d, 4, zero8, em.c64(i64_of(len * 4)?))?;
        }
        if g.sw == 1 {
            let n = w.min(g.rs.saturating_sub(g.pl));
            if n > 0 {
                let d = em.gepc(dst_row, i64_of(g.pl)?)?;
                let bytes = em.c64(i64_of(n * 4)?);
                em.b.build_memcpy(d, 4, src_row, 4, bytes)?;
            }
        } else {
            // Stride 2: de-interleave 16 input columns per step with two shuffles.
            let mut j_start = 0usize;
            if g.sw == 2 {
                let (pe, ie) = (g.pl % 2, g.pl / 2);
                let (po, io) = ((g.pl + 1) % 2, g.pl.div_ceil(2));
                let q_max = (w / 16)
                    .min(g.pw.saturating_sub(ie) / 8)
                    .min(g.pw.saturating_sub(io) / 8);
                if q_max > 0 {
                    let de = em.gepc(dst_row, i64_of(pe * g.phase_stride + ie)?)?;
                    let dodd = em.gepc(dst_row, i64_of(po * g.phase_stride + io)?)?;
                    let i32t = em.i32t;
                    let sel = |odd: u64| {
                        let lanes: Vec<IntValue<'ctx>> =
                            (0..8).map(|l| i32t.const_int(2 * l + odd, false)).collect();
                        VectorType::const_vector(&lanes)
                    };
                    // 8-lane vectors whatever the kernel's width (`em.lanes`)
                    use inkwell::values::BasicValue as _;
                    let v8 = em.f32t.vec_type(8);
                    let load8 = |p: PointerValue<'ctx>| -> KernelResult<VectorValue<'ctx>> {
                        let v = em.b.build_load(v8, p, "")?;
                        if let Some(i) = v.as_instruction_value() {
                            i.set_alignment(4)
                                .map_err(|e| KernelError::new(format!("{e:?}")))?;
                        }
                        Ok(v.into_vector_value())
                    };
                    let store8 = |p: PointerValue<'ctx>, v: VectorValue<'ctx>| {
                        em.b.build_store(p, v)?
                            .set_alignment(4)
                            .map_err(|e| KernelError::new(format!("{e:?}")))
                    };
                    em.for_loop(em.c64(0), em.c64(i64_of(q_max)?), |q| {
                        let s0 = em.gep(src_row, em.mulc(q, 16)?)?;
                        let v0 = load8(s0)?;
                        let v1 = load8(em.gepc(s0, 8)?)?;
                        let ev = em.b.build_shuffle_vector(v0, v1, sel(0), "")?;
                        let od = em.b.build_shuffle_vector(v0, v1, sel(1), "")?;
                        let o = em.mulc(q, 8)?;
                        store8(em.gep(de, o)?, ev)?;
                        store8(em.gep(dodd, o)?, od)
                    })?;
                    j_start = 8 * q_max;
                }
            }
            for phase in 0..g.sw {
                let iw0 = (phase + g.sw - g.pl % g.sw) % g.sw;
                if iw0 >= w {
                    continue;
                }
                let idx0 = (iw0 + g.pl) / g.sw;
                if idx0 >= g.pw {
                    continue;
                }
                let cnt = (w - iw0).div_ceil(g.sw).min(g.pw - idx0);
                if cnt <= j_start {
                    continue;
                }
                let d = em.gepc(dst_row, i64_of(phase * g.phase_stride + idx0)?)?;
                let s = em.gepc(src_row, i64_of(iw0)?)?;
                let (j0, j1) = (em.c64(i64_of(j_start)?), em.c64(i64_of(cnt)?));
                em.for_loop(j0, j1, |j| {
                    let x = em.load_f32(em.gep(s, em.mulc(j, i64_of(g.sw)?)?)?)?;
                    em.store_f32(em.gep(d, j)?, x)
                })?;
            }
        }
        Ok(())
    })
}
