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
//! Direct layout ([`DwLayout::Direct`], chosen by [`dw_layout`]: column stride 2 on
//! every ISA, stride 1 on AVX-512): no band copy. Each output row gets one pointer
//! per kernel row into the input plane (a zeroed stack row for rows above or below
//! the input); a tap of output vector `k` loads columns `sw·(L·k) + x·dw − pl ..`
//! directly, and at stride 2 takes the even or odd lanes of two consecutive loads
//! (one two-source shuffle). Vectors whose loads stay inside the row run in the
//! unrolled loop with plain loads; the few at the row's ends are emitted one by one
//! with constant lane masks (masked-off lanes read nothing and are zero, which is
//! the padding).
//!
//! Weight layout: PyTorch's `[C][1][kh][kw]` unchanged (packing is a validated copy).

use inkwell::module::Module;
use inkwell::types::VectorType;
use inkwell::values::{FunctionValue, IntValue, PointerValue, VectorValue};
use inkwell::IntPredicate;
use nnc_ir::Activation;

use super::conv_common::{emit_pack_rows, rows_in, ConvAlgo, ConvPlan, ConvSpec, PackGeom};
use super::gemm::{err, i64_of, mul, Em, KernelResult};
use super::isa::Isa;

/// Floats of slack after the stack buffer (reads of the last 16-lane vector).
const DW_SLACK: usize = 16;
/// Budget for the per-task stack buffer (bytes): one channel's band of rows.
const DW_SCRATCH_BUDGET: usize = 48 * 1024;
/// Output vectors interleaved per loop iteration.
const DW_UNROLL: usize = 4;
/// Dependency chains wanted in flight on narrow rows (two FMA units × latency 4).
const DW_CHAINS: usize = 8;

/// Whether the activation runs as a second pass over the band's contiguous output
/// instead of on each row's vectors: when rows leave lanes unused (`ow` not a
/// multiple of the lanes) and the activation costs more than a compare or two.
fn act_after_rows(act: Option<Activation>, ow: usize, lanes: usize) -> bool {
    let costly = matches!(
        act,
        Some(
            Activation::Sigmoid
                | Activation::Tanh
                | Activation::Silu
                | Activation::Gelu
                | Activation::Hardswish
                | Activation::Hardsigmoid
        )
    );
    costly && !ow.is_multiple_of(lanes)
}

/// Output rows computed together: 1 when a row has at least [`DW_UNROLL`] vectors
/// (or with a residual), else enough rows for up to [`DW_CHAINS`] chains, at most a
/// band, balanced so that a band splits into equal groups. When the `taps` splat
/// weights fit in the `vregs` vector registers, the chains are capped so that they
/// still fit beside them: a spilled weight costs a second load per FMA (measured on
/// AVX2, 3×3 on 14×14: 8 chains were 13 % slower than 2).
fn rows_per_group(nvec: usize, band: usize, residual: bool, taps: usize, vregs: usize) -> usize {
    if residual || nvec >= DW_UNROLL || nvec == 0 {
        return 1;
    }
    let chains = if taps + 2 <= vregs {
        DW_CHAINS.min(vregs - taps - 2)
    } else {
        DW_CHAINS
    };
    let max_rows = (chains / nvec).clamp(1, band.max(1));
    let groups = band.max(1).div_ceil(max_rows);
    band.max(1).div_ceil(groups)
}

/// Where a depthwise kernel reads its input from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DwLayout {
    /// A band's input rows copied into a zero-padded stack buffer, phase-split by
    /// the column stride (`padded col c → phase c % sw, index c / sw`): every tap
    /// reads `L` contiguous floats. At stride 2 the copy de-interleaves the input.
    PhaseSplit,
    /// Column stride 1 or 2: no copy, the taps read the input rows in place. Rows
    /// above or below the input read a zeroed stack row; the vectors at the row's
    /// ends use masked loads (masks known when the kernel is emitted), the others
    /// plain loads. At stride 2 each tap's `L` columns `2c + off` are the even or
    /// odd lanes of two consecutive vector loads (one two-source shuffle,
    /// `vpermt2ps` on AVX-512, two shuffles on AVX2).
    Direct,
}

/// The layout [`emit_dw`] uses for `spec` on `isa`, measured (see "Depthwise
/// without the copy" in docs/kernels.md): direct reads at column stride 2 (1.2–2.3×
/// faster), except on 8-lane targets when the splat weights cannot stay in
/// registers and a row has more than one vector (5×5 on 28- and 14-wide outputs:
/// 0.76–0.93×); at stride 1 on 16-lane targets (1.1–1.8×); at stride 1 on 8-lane
/// targets the phase-split copy (direct was 0.7–0.85×).
pub fn dw_layout(spec: &ConvSpec, isa: Isa) -> DwLayout {
    let lanes = isa.lanes as usize;
    let spills = spec.kh * spec.kw + 2 > isa.vregs as usize;
    let (_, ow) = spec.out_hw().unwrap_or((0, 0));
    match spec.stride[1] {
        2 if lanes == 8 && spills && ow > lanes => DwLayout::PhaseSplit,
        2 => DwLayout::Direct,
        1 if isa.lanes == 16 => DwLayout::Direct,
        _ => DwLayout::PhaseSplit,
    }
}

/// Plans a depthwise convolution (`spec.is_depthwise()` must hold). The plan does
/// not depend on the ISA: its stack covers both layouts.
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
    // Phase-split: the band buffer; direct: one zero row of `w` floats.
    let stack = cs.max(spec.w) + DW_SLACK;
    Ok(ConvPlan {
        algo: ConvAlgo::Depthwise,
        num_tasks: mul(&[spec.n, spec.cin, nbands])?,
        packed_len: mul(&[spec.cin, spec.kh, spec.kw])?,
        stack_bytes: stack * 4,
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
    emit_dw_with(module, spec, plan, name, isa, dw_layout(spec, isa))
}

/// [`emit_dw`] with the layout chosen by the caller (benchmarks and tests compare
/// them; `Direct` needs column stride 1 or 2).
pub fn emit_dw_with<'ctx>(
    module: &Module<'ctx>,
    spec: &ConvSpec,
    plan: &ConvPlan,
    name: &str,
    isa: Isa,
    layout: DwLayout,
) -> KernelResult<FunctionValue<'ctx>> {
    if plan.algo != ConvAlgo::Depthwise {
        return err("depthwise: wrong plan");
    }
    let direct = layout == DwLayout::Direct;
    if direct && spec.stride[1] > 2 {
        return err("depthwise: direct reads need column stride 1 or 2");
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
    let (h, w, pt, pl) = (spec.h, spec.w, spec.pad[0], spec.pad[1]);
    let scratch_len = if direct {
        w + DW_SLACK
    } else {
        plan.cs + DW_SLACK
    };
    let scratch = em.scratch(scratch_len)?;
    if direct {
        // The zero row that taps above or below the input read.
        em.b.build_memset(
            scratch,
            4,
            em.ctx.i8_type().const_zero(),
            em.c64(i64_of(scratch_len * 4)?),
        )?;
    }
    let geom = PackGeom {
        h,
        w,
        pl,
        sw,
        pw: plan.pw,
        rs: plan.rs,
        phase_stride: plan.pw,
        row_step: 1,
    };
    let ow = plan.ow;
    let nvec = ow.div_ceil(lanes);
    let last_cnt = ow - lanes * (nvec - 1);
    // Phase-split: the scratch offset of each tap from its row's base.
    let tap_offs: Vec<i64> = (0..kh)
        .flat_map(|y| (0..kw).map(move |x| (y, x)))
        .map(|(y, x)| {
            let col = x * dw;
            if direct {
                Ok(0)
            } else {
                i64_of(y * dh * plan.rs + (col % sw) * plan.pw + col / sw)
            }
        })
        .collect::<KernelResult<_>>()?;
    // Direct: per tap column `x`, the input column offset of its (first) load from
    // `sw·c − pl` and, at stride 2, the parity of the lanes it takes.
    let col_load: Vec<(usize, usize)> = (0..kw)
        .map(|x| {
            let col = x * dw;
            if sw == 2 {
                (col & !1, col & 1)
            } else {
                (col, 0)
            }
        })
        .collect();
    let halves = if sw == 2 { 2 } else { 1 };
    // Direct: lanes `[lo, hi)` of the load at input column `start` (relative to
    // `sw·c − pl`) of output vector `k` that lie inside the row.
    let valid_lanes = |k: usize, start: usize| -> (usize, usize) {
        let s0 = (sw * lanes * k + start) as i64 - pl as i64;
        let lo = (-s0).clamp(0, lanes as i64) as usize;
        let hi = (w as i64 - s0).clamp(0, lanes as i64) as usize;
        (lo, hi.max(lo))
    };
    // Vectors whose loads all lie inside the row (no masks): a contiguous range.
    let clean = |k: usize| {
        col_load
            .iter()
            .all(|&(off, _)| (0..halves).all(|hf| valid_lanes(k, off + hf * lanes) == (0, lanes)))
    };
    // Even / odd lanes of the concatenation of two vectors.
    let parity_sel: Vec<VectorValue<'ctx>> = (0..2u64)
        .map(|odd| {
            let idx: Vec<IntValue<'ctx>> = (0..lanes as u64)
                .map(|l| em.i32t.const_int(2 * l + odd, false))
                .collect();
            VectorType::const_vector(&idx)
        })
        .collect();
    let lane_range_mask = |lo: usize, hi: usize| {
        let i1 = em.ctx.bool_type();
        let v: Vec<IntValue<'ctx>> = (0..lanes)
            .map(|l| i1.const_int(u64::from(l >= lo && l < hi), false))
            .collect();
        VectorType::const_vector(&v)
    };
    // Pointer arithmetic that may leave the buffer (masked-off lanes, rows outside
    // the input that a select then replaces): not `inbounds`.
    let gep_any = |p: PointerValue<'ctx>, i: IntValue<'ctx>| -> KernelResult<PointerValue<'ctx>> {
        // SAFETY: f32 indexing; only the valid lanes are ever dereferenced.
        Ok(unsafe { em.b.build_gep(em.f32t, p, &[i], "")? })
    };
    let packed_act = act_after_rows(spec.act, ow, lanes);
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
            em.b.build_int_nsw_sub(em.mulc(oh0, i64_of(sh)?)?, em.c64(i64_of(pt)?), "")?;
        let src = em.gep(input, em.mulc(nc, i64_of(h * w)?)?)?;
        if !direct {
            let nrows = em.addc(
                em.mulc(em.addc(rows, -1)?, i64_of(sh)?)?,
                i64_of((kh - 1) * dh + 1)?,
            )?;
            emit_pack_rows(&em, &geom, src, scratch, ih_base, nrows)?;
            // Zero the rest of the buffer (the band's unused rows and the slack): the
            // masked lanes of a row's last vector read it, and garbage there
            // (subnormals, NaNs) makes their FMAs slow (measured 4× on a 960-channel
            // 7×7 layer).
            let filled = em.mulc(nrows, i64_of(plan.rs)?)?;
            let rest =
                em.b.build_int_nsw_sub(em.c64(i64_of(scratch_len)?), filled, "")?;
            em.b.build_memset(
                em.gep(scratch, filled)?,
                4,
                em.ctx.i8_type().const_zero(),
                em.mulc(rest, 4)?,
            )?;
        }
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
        // One slot = one output vector: (row bases — the scratch row, or (direct)
        // one input row per kernel row, already offset by `−pl` —, the row's output
        // offset, column, vector index when known at emission (direct: masked loads
        // at the row's ends), lane mask of a partial vector). Each slot is one
        // dependency chain of `kh·kw` FMAs; the slots of one call are interleaved
        // tap by tap.
        type Slot<'c> = (
            Vec<PointerValue<'c>>,
            IntValue<'c>,
            IntValue<'c>,
            Option<usize>,
            Option<VectorValue<'c>>,
        );
        let load_direct = |row: PointerValue<'ctx>,
                           col: IntValue<'ctx>,
                           k: Option<usize>,
                           x: usize|
         -> KernelResult<VectorValue<'ctx>> {
            let (off, parity) = col_load[x];
            let base = gep_any(row, em.addc(em.mulc(col, i64_of(sw)?)?, i64_of(off)?)?)?;
            let half = |hf: usize| -> KernelResult<VectorValue<'ctx>> {
                let p = gep_any(base, em.c64(i64_of(hf * lanes)?))?;
                match k.map(|k| valid_lanes(k, off + hf * lanes)) {
                    None => em.load_v(p, None),
                    Some((0, hi)) if hi == lanes => em.load_v(p, None),
                    Some((lo, hi)) if lo >= hi => Ok(em.vt.const_zero()),
                    Some((lo, hi)) => em.load_v(p, Some(lane_range_mask(lo, hi))),
                }
            };
            if sw == 2 {
                let (a, b) = (half(0)?, half(1)?);
                Ok(em.b.build_shuffle_vector(a, b, parity_sel[parity], "")?)
            } else {
                half(0)
            }
        };
        let vecs = |slots: &[Slot<'ctx>]| -> KernelResult<()> {
            let mut acc = vec![init; slots.len()];
            for (q, &off) in tap_offs.iter().enumerate() {
                let (y, x) = (q / kw, q % kw);
                for (a, (rb, _, col, k, _)) in acc.iter_mut().zip(slots) {
                    let xv = if direct {
                        load_direct(rb[y], *col, *k, x)?
                    } else {
                        em.load_v(em.gepc(em.gep(rb[0], *col)?, off)?, None)?
                    };
                    *a = em.fma(xv, wv[q], *a)?;
                }
            }
            for (a, &(_, o_off, col, _, mask)) in acc.iter().zip(slots) {
                let o = em.add(o_off, col)?;
                let mut v = *a;
                if spec.residual {
                    let rv = em.load_v(em.gep(res_plane, o)?, mask)?;
                    v = em.fadd(v, rv)?;
                }
                if !packed_act {
                    v = em.act(v, spec.act)?;
                }
                em.store_v(em.gep(out_plane, o)?, v, mask)?;
            }
            Ok(())
        };
        let row_at =
            |r: IntValue<'ctx>| -> KernelResult<(Vec<PointerValue<'ctx>>, IntValue<'ctx>)> {
                let o_off = em.mulc(em.add(oh0, r)?, i64_of(ow)?)?;
                if !direct {
                    let b_row = em.gep(scratch, em.mulc(r, i64_of(sh * plan.rs)?)?)?;
                    return Ok((vec![b_row], o_off));
                }
                let ih0 = em.add(ih_base, em.mulc(r, i64_of(sh)?)?)?;
                let rb = (0..kh)
                    .map(|y| {
                        let ih = em.addc(ih0, i64_of(y * dh)?)?;
                        // 0 ≤ ih < h as one unsigned compare
                        let inside = em.icmp(IntPredicate::ULT, ih, em.c64(i64_of(h)?))?;
                        let p_in = gep_any(src, em.mulc(ih, i64_of(w)?)?)?;
                        let p =
                            em.b.build_select(inside, p_in, scratch, "")?
                                .into_pointer_value();
                        gep_any(p, em.c64(-i64_of(pl)?))
                    })
                    .collect::<KernelResult<_>>()?;
                Ok((rb, o_off))
            };
        let full = if last_cnt == lanes { nvec } else { nvec - 1 };
        let mask_of = |k: usize| {
            if k >= full {
                Some(em.const_mask(last_cnt))
            } else {
                None
            }
        };
        // Vectors `k_lo .. k_lo + groups·DW_UNROLL` run in a loop (no load or store
        // masks), the others are emitted one by one.
        let (k_lo, groups) = if direct {
            let k_lo = (0..full).find(|&k| clean(k)).unwrap_or(full);
            let k_hi = (k_lo..full).find(|&k| !clean(k)).unwrap_or(full);
            (k_lo, (k_hi - k_lo) / DW_UNROLL)
        } else {
            (0, full / DW_UNROLL)
        };
        let known = |k: usize| if direct { Some(k) } else { None };
        // One output row.
        let one_row = |r: IntValue<'ctx>| -> KernelResult<()> {
            let (rb, o_off) = row_at(r)?;
            if groups > 0 {
                em.for_loop(em.c64(0), em.c64(i64_of(groups)?), |gq| {
                    let base = em.addc(
                        em.mulc(gq, (lanes * DW_UNROLL) as i64)?,
                        i64_of(lanes * k_lo)?,
                    )?;
                    let slots: Vec<Slot<'ctx>> = (0..DW_UNROLL)
                        .map(|j| {
                            Ok((
                                rb.clone(),
                                o_off,
                                em.addc(base, (lanes * j) as i64)?,
                                None,
                                None,
                            ))
                        })
                        .collect::<KernelResult<_>>()?;
                    vecs(&slots)
                })?;
            }
            let slots: Vec<Slot<'ctx>> = (0..k_lo)
                .chain(k_lo + groups * DW_UNROLL..nvec)
                .map(|k| {
                    Ok((
                        rb.clone(),
                        o_off,
                        em.c64(i64_of(lanes * k)?),
                        known(k),
                        mask_of(k),
                    ))
                })
                .collect::<KernelResult<_>>()?;
            // at most 2·DW_UNROLL chains per call
            for chunk in slots.chunks(2 * DW_UNROLL) {
                vecs(chunk)?;
            }
            Ok(())
        };
        let rg = rows_per_group(nvec, plan.band, spec.residual, taps, isa.vregs as usize);
        let rows_done = if rg > 1 {
            // Narrow rows (fewer than DW_UNROLL vectors): `rg` rows at a time so that
            // enough chains are in flight. Groups start at min(g·rg, rows − rg): the
            // last one may overlap the previous, which recomputes (and stores again)
            // the same values; never with a residual (the output may alias it).
            let rgi = i64_of(rg)?;
            let enough = em.icmp(IntPredicate::SGE, rows, em.c64(rgi))?;
            em.if_then(enough, || {
                let ngroups = em.udivc(em.addc(rows, rgi - 1)?, rgi)?;
                let last0 = em.b.build_int_nsw_sub(rows, em.c64(rgi), "")?;
                em.for_loop(em.c64(0), ngroups, |g| {
                    let r0 = em.min(em.mulc(g, rgi)?, last0)?;
                    let mut slots: Vec<Slot<'ctx>> = Vec::with_capacity(rg * nvec);
                    for dr in 0..rg {
                        let (rb, o_off) = row_at(em.addc(r0, dr as i64)?)?;
                        for k in 0..nvec {
                            slots.push((
                                rb.clone(),
                                o_off,
                                em.c64(i64_of(lanes * k)?),
                                known(k),
                                mask_of(k),
                            ));
                        }
                    }
                    vecs(&slots)
                })
            })?;
            let few = em.icmp(IntPredicate::SLT, rows, em.c64(rgi))?;
            em.if_then(few, || em.for_loop(em.c64(0), rows, one_row))
        } else {
            em.for_loop(em.c64(0), rows, one_row)
        };
        rows_done?;
        if packed_act {
            // The band's output rows are one contiguous range of the plane: apply the
            // activation there in full vectors (L1-hot), not on partial row vectors.
            let base = em.gep(out_plane, em.mulc(oh0, i64_of(ow)?)?)?;
            let n = em.mulc(rows, i64_of(ow)?)?;
            let lanes_i = i64_of(lanes)?;
            let nfull = em.udivc(n, lanes_i)?;
            em.for_loop(em.c64(0), nfull, |i| {
                let p = em.gep(base, em.mulc(i, lanes_i)?)?;
                let v = em.act(em.load_v(p, None)?, spec.act)?;
                em.store_v(p, v, None)
            })?;
            let rest = em.uremc(n, lanes_i)?;
            let some = em.icmp(IntPredicate::SGT, rest, em.c64(0))?;
            em.if_then(some, || {
                let m = em.runtime_mask(rest)?;
                let p = em.gep(base, em.mulc(nfull, lanes_i)?)?;
                let v = em.act(em.load_v(p, Some(m))?, spec.act)?;
                em.store_v(p, v, Some(m))
            })?;
        }
        Ok(())
    })?;
    em.ret()?;
    Ok(em.func)
}
