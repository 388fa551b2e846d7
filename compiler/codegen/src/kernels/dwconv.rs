//! Depthwise convolution (groups = Cin = Cout), any kernel size, stride, dilation and
//! padding, with bias, residual and activation fused; plain NCHW activations.
//!
//! Reached through [`super::conv_fast::emit_conv`] / [`super::conv_fast::plan_conv`] /
//! [`super::conv_fast::pack_conv_weights`], which dispatch here when
//! `ConvSpec::is_depthwise()`; the functions below are the same entry points for
//! callers that only deal with depthwise layers.
//!
//! Per task (image, channel, band of output rows) the input rows of the band are
//! copied into a zero-padded, phase-split stack buffer (the same layout as the direct
//! convolution, see [`super::conv_fast`]), so each output vector of `L` pixels (the
//! target's lanes: 8 on AVX2, 16 on AVX-512) is `Σ_taps w[tap] · (L contiguous
//! floats)`: the `kh·kw` weights are splat into
//! registers once per task, each output vector is one dependency chain of `kh·kw`
//! FMAs, and 4 output vectors are interleaved per loop iteration to cover the FMA
//! latency. The last vector of a row is stored with a lane mask. The plan (8-pixel
//! slots, buffer layout, task split) does not depend on `L`: a 16-lane vector covers
//! two slots, and the last one may read up to 8 floats past the row's slots (the
//! buffer has 16 floats of slack; those lanes are never stored).
//!
//! Weight layout: PyTorch's `[C][1][kh][kw]` unchanged (packing is a validated copy).

use inkwell::module::Module;
use inkwell::values::{FunctionValue, IntValue, VectorValue};

use super::conv_fast::{emit_pack_rows, rows_in, ConvAlgo, ConvPlan, ConvSpec, PackGeom};
use super::gemm::{err, i64_of, mul, Em, KernelResult};
use super::isa::Isa;

/// Floats of slack after the stack buffer (reads of the last 16-lane vector).
const DW_SLACK: usize = 16;
/// Budget for the per-task stack buffer (bytes): one channel's band of rows.
const DW_SCRATCH_BUDGET: usize = 48 * 1024;
/// Output vectors interleaved per loop iteration.
const DW_UNROLL: usize = 4;

/// Plans a depthwise convolution (`spec.is_depthwise()` must hold).
pub fn plan_dw(spec: &ConvSpec) -> KernelResult<ConvPlan> {
    spec.validate()?;
    if !spec.is_depthwise() {
        return err("depthwise: groups must equal cin and cout");
    }
    let (oh, ow) = spec.out_hw()?;
    let [sh, sw] = spec.stride;
    let [dh, dw] = spec.dilation;
    let spr = ow.div_ceil(8);
    let pw = 8 * spr + ((spec.kw - 1) * dw) / sw;
    let rs = sw * pw;
    let bytes_for = |rows: usize| mul(&[rows_in(rows, sh, spec.kh, dh), rs, 4]);
    if bytes_for(1)? > 1024 * 1024 {
        return err("depthwise: one output row needs too much scratch");
    }
    let mut band = 1;
    while band < oh && bytes_for(band + 1)? <= DW_SCRATCH_BUDGET {
        band += 1;
    }
    let nbands = oh.div_ceil(band);
    let cs = rows_in(band, sh, spec.kh, dh) * rs;
    Ok(ConvPlan {
        algo: ConvAlgo::Depthwise,
        num_tasks: mul(&[spec.n, spec.cin, nbands])?,
        packed_len: mul(&[spec.cin, spec.kh, spec.kw])?,
        stack_bytes: (cs + DW_SLACK) * 4,
        oh,
        ow,
        cin_g: 1,
        cout_g: 1,
        cchunks: 1,
        ppc: 1,
        spr,
        band,
        nbands,
        pw,
        rs,
        cs,
    })
}

/// Depthwise weights: PyTorch `[C][1][kh][kw]`, returned unchanged after checking the
/// length.
pub fn pack_dw_weights(w: &[f32], spec: &ConvSpec) -> KernelResult<Vec<f32>> {
    let plan = plan_dw(spec)?;
    if w.len() != plan.packed_len {
        return err("depthwise: weight length mismatch");
    }
    Ok(w.to_vec())
}

/// Emits the depthwise kernel `name` with the signature of
/// [`super::conv_fast::emit_conv`] (`plan` from [`plan_dw`]) with vectors of
/// `isa.lanes` pixels.
pub fn emit_dw<'ctx>(
    module: &Module<'ctx>,
    spec: &ConvSpec,
    plan: &ConvPlan,
    name: &str,
    isa: Isa,
) -> KernelResult<FunctionValue<'ctx>> {
    if plan.algo != ConvAlgo::Depthwise {
        return err("depthwise: wrong plan");
    }
    let lanes = isa.lanes as usize;
    if lanes != 8 && lanes != 16 {
        return err(format!("depthwise: unsupported vector width {lanes}"));
    }
    let em = Em::with_lanes(module, name, isa.lanes)?;
    let input = em.param_ptr(0)?;
    let wts = em.param_ptr(1)?;
    let bias = em.param_ptr(2)?;
    let res = em.param_ptr(3)?;
    let out = em.param_ptr(4)?;
    let (begin, end) = em.task_range(plan.num_tasks)?;
    let [sh, sw] = spec.stride;
    let [dh, dw] = spec.dilation;
    let (kh, kw) = (spec.kh, spec.kw);
    let taps = kh * kw;
    let c = spec.cin;
    let scratch_len = plan.cs + DW_SLACK;
    let scratch = em.scratch(scratch_len)?;
    let geom = PackGeom {
        h: spec.h,
        w: spec.w,
        pl: spec.pad[1],
        sw,
        pw: plan.pw,
        rs: plan.rs,
        phase_stride: plan.pw,
        row_step: 1,
    };
    let ow = plan.ow;
    let nvec = ow.div_ceil(lanes);
    let last_cnt = ow - lanes * (nvec - 1);
    let tap_offs: Vec<i64> = (0..kh)
        .flat_map(|y| (0..kw).map(move |x| (y, x)))
        .map(|(y, x)| {
            let col = x * dw;
            i64_of(y * dh * plan.rs + (col % sw) * plan.pw + col / sw)
        })
        .collect::<KernelResult<_>>()?;
    em.for_loop(begin, end, |t| {
        let nb = i64_of(plan.nbands)?;
        let band = em.uremc(t, nb)?;
        let nc = em.udivc(t, nb)?; // n * C + c
        let ch = em.uremc(nc, i64_of(c)?)?;
        let oh0 = em.mulc(band, i64_of(plan.band)?)?;
        let rows = em.min(
            em.c64(i64_of(plan.band)?),
            em.b.build_int_nsw_sub(em.c64(i64_of(plan.oh)?), oh0, "")?,
        )?;
        let ih_base =
            em.b.build_int_nsw_sub(em.mulc(oh0, i64_of(sh)?)?, em.c64(i64_of(spec.pad[0])?), "")?;
        let nrows = em.addc(
            em.mulc(em.addc(rows, -1)?, i64_of(sh)?)?,
            i64_of((kh - 1) * dh + 1)?,
        )?;
        let src = em.gep(input, em.mulc(nc, i64_of(spec.h * spec.w)?)?)?;
        emit_pack_rows(&em, &geom, src, scratch, ih_base, nrows)?;
        // Zero the rest of the buffer (the band's unused rows and the slack): the
        // masked lanes of a row's last vector read it, and garbage there (subnormals,
        // NaNs) makes their FMAs slow (measured 4× on a 960-channel 7×7 layer).
        let filled = em.mulc(nrows, i64_of(plan.rs)?)?;
        let rest =
            em.b.build_int_nsw_sub(em.c64(i64_of(scratch_len)?), filled, "")?;
        em.b.build_memset(
            em.gep(scratch, filled)?,
            4,
            em.ctx.i8_type().const_zero(),
            em.mulc(rest, 4)?,
        )?;
        // Weights and bias of this channel, splat once.
        let wbase = em.gep(wts, em.mulc(ch, i64_of(taps)?)?)?;
        let wv: Vec<VectorValue<'ctx>> = (0..taps)
            .map(|q| em.bcast(em.gepc(wbase, q as i64)?))
            .collect::<KernelResult<_>>()?;
        let init = if spec.bias {
            em.bcast(em.gep(bias, ch)?)?
        } else {
            em.vt.const_zero()
        };
        let plane_off = em.mulc(nc, i64_of(plan.oh * ow)?)?;
        let out_plane = em.gep(out, plane_off)?;
        let res_plane = em.gep(res, plane_off)?;
        em.for_loop(em.c64(0), rows, |r| {
            let b_row = em.gep(scratch, em.mulc(r, i64_of(sh * plan.rs)?)?)?;
            let o_off = em.mulc(em.add(oh0, r)?, i64_of(ow)?)?;
            // `cols[k]` = output column of vector k; `mask` for a partial vector.
            let vecs = |cols: &[IntValue<'ctx>],
                        masks: &[Option<VectorValue<'ctx>>]|
             -> KernelResult<()> {
                let mut acc = vec![init; cols.len()];
                for (q, &off) in tap_offs.iter().enumerate() {
                    for (k, a) in acc.iter_mut().enumerate() {
                        let pb = em.gepc(em.gep(b_row, cols[k])?, off)?;
                        let x = em.load_v(pb, None)?;
                        *a = em.fma(x, wv[q], *a)?;
                    }
                }
                for (k, a) in acc.iter().enumerate() {
                    let o = em.add(o_off, cols[k])?;
                    let mut v = *a;
                    if spec.residual {
                        let rv = em.load_v(em.gep(res_plane, o)?, masks[k])?;
                        v = em.fadd(v, rv)?;
                    }
                    v = em.act(v, spec.act)?;
                    em.store_v(em.gep(out_plane, o)?, v, masks[k])?;
                }
                Ok(())
            };
            let full = if last_cnt == lanes { nvec } else { nvec - 1 };
            let groups = full / DW_UNROLL;
            if groups > 0 {
                em.for_loop(em.c64(0), em.c64(i64_of(groups)?), |gq| {
                    let base = em.mulc(gq, (lanes * DW_UNROLL) as i64)?;
                    let cols: Vec<IntValue<'ctx>> = (0..DW_UNROLL)
                        .map(|k| em.addc(base, (lanes * k) as i64))
                        .collect::<KernelResult<_>>()?;
                    vecs(&cols, &[None; DW_UNROLL])
                })?;
            }
            let mut cols = Vec::new();
            let mut masks = Vec::new();
            for k in groups * DW_UNROLL..nvec {
                cols.push(em.c64(i64_of(lanes * k)?));
                masks.push(if k >= full {
                    Some(em.const_mask(last_cnt))
                } else {
                    None
                });
            }
            if !cols.is_empty() {
                vecs(&cols, &masks)?;
            }
            Ok(())
        })
    })?;
    em.ret()?;
    Ok(em.func)
}
