//! Fast fp32 2-D convolution (AVX2 + FMA) on plain NCHW activations.
//!
//! One entry point covers every convolution: [`emit_conv`] (+ [`pack_conv_weights`],
//! [`plan_conv`]). It picks one of three algorithms ([`ConvAlgo`]):
//!
//! * **`Gemm1x1`** — 1×1, stride 1, no padding: a GEMM `[Cout×Cin]·[Cin×H·W]` per image
//!   and group, reading the activations in place (no packing). The pixel axis `H·W` is
//!   the vector axis.
//! * **`Direct`** — everything else (k×k, strides, dilation, padding, groups): per task
//!   a band of output rows; the input rows it needs are copied once into a zero-padded,
//!   *phase-split* stack buffer (`[ci][row][phase][col]`, column `c` of the padded row
//!   stored at `phase = c % stride_w`, `index = c / stride_w`), so that for every kernel
//!   tap the 8 output pixels of a vector read 8 *contiguous* floats — strides and
//!   dilations become plain unaligned vector loads, and padding costs nothing in the
//!   hot loop. The micro-kernel then runs as an implicit GEMM whose K loop is rolled
//!   over input channels with the `kh×kw` taps unrolled (constant offsets).
//! * **`Depthwise`** — groups = Cin = Cout: [`super::dwconv`].
//!
//! Register tile (`Gemm1x1`/`Direct`): `MR = 6` output channels × `NV = 2` vectors of 8
//! output pixels = 12 ymm accumulators; per K step 2 vector loads, 6 broadcasts (from
//! the packed weights), 12 FMAs. A vector "slot" is 8 consecutive output pixels of one
//! output row (`Direct`) or of the flattened `H·W` plane (`Gemm1x1`); the 2 slots of a
//! tile may lie in different rows, so narrow outputs (7×7, 14×14) waste at most the
//! tail lanes of each row. The last slot of a row is stored with a lane mask.
//! Output-channel remainders (`Cout/groups` not a multiple of 6) get their own
//! narrower tile (no wasted FMAs); pixel remainders get a 1-slot tile.
//!
//! Bias, residual add and the activation are fused in the epilogue (one pass over the
//! accumulators before the store).
//!
//! Weight packing ([`pack_conv_weights`]), PyTorch `[Cout][Cin/groups][KH][KW]` in:
//! per group, panels of `MR` output channels (the last panel of a group may be
//! narrower, `mr' = (Cout/groups) % MR`), each stored `[ci][kh][kw][0..mr]`; the
//! panel of output channels `co0..co0+mr` of group `g` starts at
//! `(g·Cout/groups + co0)·(Cin/groups)·KH·KW`.

use inkwell::module::Module;
use inkwell::values::{FunctionValue, IntValue, PointerValue, VectorValue};
use inkwell::IntPredicate;

pub(crate) use super::conv_common::{
    channel_chunks, decode_task, emit_pack_rows, for_panels, params, rows_in, PackGeom,
    SCRATCH_LIMIT,
};
pub use super::conv_common::{ConvAlgo, ConvPlan, ConvSpec, MR, NV};
use super::dwconv;
use super::gemm::{
    emit_tile, err, i64_of, mul, unroll_for, Activation, Em, KernelResult, TileShape,
};
use super::isa::{self, Isa};
use super::pointwise;

/// Budget for the `Direct` band buffer (bytes): a 7×7 map of 512 channels is one
/// band (its 16-lane grid vectors and 8-lane row tiles stay full, see
/// [`super::conv_wide`]).
const DIRECT_SCRATCH_BUDGET: usize = 192 * 1024;
/// Plans a convolution (validates the spec).
pub fn plan_conv(spec: &ConvSpec) -> KernelResult<ConvPlan> {
    spec.validate()?;
    if spec.is_depthwise() {
        return dwconv::plan_dw(spec);
    }
    let (oh, ow) = spec.out_hw()?;
    let cin_g = spec.cin / spec.groups;
    let cout_g = spec.cout / spec.groups;
    let packed_len = mul(&[spec.cout, cin_g, spec.kh, spec.kw])?;
    let outer = mul(&[spec.n, spec.groups])?;
    let flat = spec.kh == 1 && spec.kw == 1 && spec.pad == [0, 0, 0, 0];
    if flat {
        return pointwise::plan_gemm1x1(spec);
    }
    let [sh, sw] = spec.stride;
    let [dh, dw] = spec.dilation;
    let spr = ow.div_ceil(8);
    let pw = 8 * spr + ((spec.kw - 1) * dw) / sw;
    let rs = sw * pw;
    let bytes_for = |rows: usize| -> KernelResult<usize> {
        mul(&[cin_g, rows_in(rows, sh, spec.kh, dh), rs, 4])
    };
    if bytes_for(1)? > SCRATCH_LIMIT {
        return err("conv: input rows of one output row exceed the scratch limit");
    }
    let mut by_budget = 1;
    while by_budget < oh && bytes_for(by_budget + 1)? <= DIRECT_SCRATCH_BUDGET {
        by_budget += 1;
    }
    let want_bands = 8usize.div_ceil(outer);
    let by_par = oh.div_ceil(want_bands);
    // At least two full register tiles per band when the output allows it: two
    // 6×2 tiles of 8-pixel row slots (this kernel), and two 6×4 tiles of 16 pixels
    // of the padded output grid ([`super::conv_wide`], rows of `ow + (kw−1)·dw/sw`).
    let wide_pw = ow + (spec.kw - 1) * dw / sw;
    let min_rows = (2 * NV).div_ceil(spr).max(128usize.div_ceil(wide_pw));
    let band = by_budget.min(by_par.max(min_rows)).min(oh).max(1);
    let nbands = oh.div_ceil(band);
    let (cchunks, ppc) = channel_chunks(cout_g, mul(&[outer, nbands])?);
    let cs = rows_in(band, sh, spec.kh, dh) * rs;
    let scratch = mul(&[cin_g, cs])? + 8;
    Ok(ConvPlan {
        algo: ConvAlgo::Direct,
        num_tasks: mul(&[outer, nbands, cchunks])?,
        cchunks,
        ppc,
        packed_len,
        stack_bytes: scratch * 4,
        oh,
        ow,
        cin_g,
        cout_g,
        spr,
        band,
        nbands,
        pw,
        rs,
        cs,
    })
}

/// Packs PyTorch conv weights `[cout][cin/groups][kh][kw]` into the layout the kernel
/// of [`emit_conv`] reads (see the module docs; depthwise: [`super::dwconv`]).
pub fn pack_conv_weights(w: &[f32], spec: &ConvSpec) -> KernelResult<Vec<f32>> {
    let plan = plan_conv(spec)?;
    if plan.algo == ConvAlgo::Depthwise {
        return dwconv::pack_dw_weights(w, spec);
    }
    let k = plan.cin_g * spec.kh * spec.kw;
    if w.len() != plan.packed_len {
        return err("conv: weight length mismatch");
    }
    let taps = spec.kh * spec.kw;
    let mut out = vec![0.0f32; plan.packed_len];
    for g in 0..spec.groups {
        let mut co0 = 0;
        while co0 < plan.cout_g {
            let mr = MR.min(plan.cout_g - co0);
            let base = (g * plan.cout_g + co0) * k;
            for ci in 0..plan.cin_g {
                for t in 0..taps {
                    for i in 0..mr {
                        let co = g * plan.cout_g + co0 + i;
                        out[base + (ci * taps + t) * mr + i] = w[(co * plan.cin_g + ci) * taps + t];
                    }
                }
            }
            co0 += mr;
        }
    }
    Ok(out)
}

/// Emits the convolution kernel `name` into `module`:
///
/// ```c
/// void name(const float *input,     // [n][cin][h][w]
///           const float *weights,   // pack_conv_weights(..)
///           const float *bias,      // [cout] (if spec.bias, else may be null)
///           const float *residual,  // [n][cout][oh][ow] (if spec.residual)
///           float *output,          // [n][cout][oh][ow]
///           int64_t task_begin, int64_t task_end); // ⊆ 0..plan_conv(spec).num_tasks
/// ```
///
/// Tasks are (image, group, band of output rows / chunk of pixels); each writes a
/// disjoint set of output elements, so task ranges may run concurrently. The
/// function uses `plan.stack_bytes` of stack.
pub fn emit_conv<'ctx>(
    module: &Module<'ctx>,
    spec: &ConvSpec,
    name: &str,
) -> KernelResult<FunctionValue<'ctx>> {
    emit_conv_for(module, spec, name, isa::AVX2)
}

/// [`emit_conv`] for a target ISA: the `Gemm1x1` kernel takes its vector width
/// and register tile from `isa`, and `Direct` runs on 16-lane vectors of the padded
/// output grid on AVX-512 ([`super::conv_wide`]); the plan, the packed weights and
/// the task split are the same for every ISA.
pub fn emit_conv_for<'ctx>(
    module: &Module<'ctx>,
    spec: &ConvSpec,
    name: &str,
    isa: Isa,
) -> KernelResult<FunctionValue<'ctx>> {
    let plan = plan_conv(spec)?;
    match plan.algo {
        ConvAlgo::Depthwise => dwconv::emit_dw(module, spec, &plan, name, isa),
        ConvAlgo::Gemm1x1 => pointwise::emit_gemm1x1(module, spec, &plan, name, isa),
        ConvAlgo::Direct => match super::conv_wide::WideGeom::new(spec, &plan, isa) {
            Some(g) => super::conv_wide::emit_wide(module, spec, &plan, &g, name, isa),
            None => emit_direct(module, spec, &plan, name),
        },
    }
}

/// Where one vector slot of a tile reads B and writes its output.
struct Slot<'ctx> {
    b: PointerValue<'ctx>,
    /// Offset (f32) of the slot's first pixel inside an output channel plane.
    out_off: IntValue<'ctx>,
    /// Store mask (`None`: all 8 lanes).
    mask: Option<VectorValue<'ctx>>,
}

/// Epilogue: bias, residual, activation, masked store of `acc[i][j]` to output channel
/// `co_plane + i` (plane pointers are `out_n`/`res_n` + channel · plane).
#[allow(clippy::too_many_arguments)]
fn store_tile<'ctx>(
    em: &Em<'_, 'ctx>,
    spec_bias: bool,
    spec_res: bool,
    act: Option<Activation>,
    acc: &[Vec<VectorValue<'ctx>>],
    slots: &[Slot<'ctx>],
    bias_ptr: PointerValue<'ctx>,
    out_ch0: PointerValue<'ctx>,
    res_ch0: PointerValue<'ctx>,
    plane: i64,
) -> KernelResult<()> {
    for (i, row) in acc.iter().enumerate() {
        let bv = if spec_bias {
            Some(em.bcast(em.gepc(bias_ptr, i as i64)?)?)
        } else {
            None
        };
        let out_c = em.gepc(out_ch0, i as i64 * plane)?;
        let res_c = em.gepc(res_ch0, i as i64 * plane)?;
        for (j, &v) in row.iter().enumerate() {
            let s = &slots[j];
            let mut v = v;
            if let Some(b) = bv {
                v = em.fadd(v, b)?;
            }
            if spec_res {
                let r = em.load_v(em.gep(res_c, s.out_off)?, s.mask)?;
                v = em.fadd(v, r)?;
            }
            v = em.act(v, act)?;
            em.store_v(em.gep(out_c, s.out_off)?, v, s.mask)?;
        }
    }
    Ok(())
}

fn emit_direct<'ctx>(
    module: &Module<'ctx>,
    spec: &ConvSpec,
    plan: &ConvPlan,
    name: &str,
) -> KernelResult<FunctionValue<'ctx>> {
    let em = Em::new(module, name)?;
    let p = params(&em)?;
    let (begin, end) = em.task_range(plan.num_tasks)?;
    let [sh, sw] = spec.stride;
    let [dh, dw] = spec.dilation;
    let (kh, kw) = (spec.kh, spec.kw);
    let cin_g = plan.cin_g;
    let scratch_len = cin_g * plan.cs + 8;
    let scratch = em.scratch(scratch_len)?;
    let plane_in = i64_of(spec.h * spec.w)?;
    let plane_out = i64_of(plan.oh * plan.ow)?;
    let ow = plan.ow;
    let spr = i64_of(plan.spr)?;
    let taps = kh * kw;
    let u = unroll_for(cin_g, (8 / taps).max(1));
    let k_total = i64_of(cin_g * taps)?;
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
    let last_cnt = ow - 8 * (plan.spr - 1);
    em.for_loop(begin, end, |t| {
        let tc = decode_task(&em, t, spec.groups, plan)?;
        let oh0 = em.mulc(tc.band, i64_of(plan.band)?)?;
        let rows = em.min(
            em.c64(i64_of(plan.band)?),
            em.b.build_int_nsw_sub(em.c64(i64_of(plan.oh)?), oh0, "")?,
        )?;
        // Pack the input rows of this band.
        let ih_base =
            em.b.build_int_nsw_sub(em.mulc(oh0, i64_of(sh)?)?, em.c64(i64_of(spec.pad[0])?), "")?;
        let nrows = em.addc(
            em.mulc(em.addc(rows, -1)?, i64_of(sh)?)?,
            i64_of((kh - 1) * dh + 1)?,
        )?;
        let in_c0 = em.add(
            em.mulc(tc.n, i64_of(spec.cin)?)?,
            em.mulc(tc.g, i64_of(cin_g)?)?,
        )?;
        em.for_loop(em.c64(0), em.c64(i64_of(cin_g)?), |ci| {
            let src = em.gep(p.input, em.mulc(em.add(in_c0, ci)?, plane_in)?)?;
            let dst = em.gep(scratch, em.mulc(ci, i64_of(plan.cs)?)?)?;
            emit_pack_rows(&em, &geom, src, dst, ih_base, nrows)
        })?;
        // Compute.
        let out_c0 = em.add(
            em.mulc(tc.n, i64_of(spec.cout)?)?,
            em.mulc(tc.g, i64_of(plan.cout_g)?)?,
        )?;
        let g_co0 = em.mulc(tc.g, i64_of(plan.cout_g)?)?;
        let nslots = em.mulc(rows, spr)?;
        let ntiles = em.udivc(nslots, NV as i64)?;
        let oh0_off = em.mulc(oh0, i64_of(ow)?)?;
        for_panels(&em, plan, tc.cc, |co0, mr| {
            let gco = em.add(g_co0, co0)?;
            let a_base = em.gep(p.w, em.mulc(gco, k_total)?)?;
            let bias_ptr = em.gep(p.bias, gco)?;
            let ch = em.mul(em.add(out_c0, co0)?, em.c64(plane_out))?;
            let out_ch0 = em.gep(p.out, ch)?;
            let res_ch0 = em.gep(p.res, ch)?;
            let run = |s0: IntValue<'ctx>, nv: usize| -> KernelResult<()> {
                let mut slots = Vec::with_capacity(nv);
                // True when some slot of the tile ends its row with a partial vector.
                let mut partial = em.ctx.bool_type().const_zero();
                for j in 0..nv {
                    let s = em.addc(s0, j as i64)?;
                    let r = em.udivc(s, spr)?;
                    let jj = em.uremc(s, spr)?;
                    let b_off = em.add(em.mulc(r, i64_of(sh * plan.rs)?)?, em.mulc(jj, 8)?)?;
                    let out_off =
                        em.add(em.add(oh0_off, em.mulc(r, i64_of(ow)?)?)?, em.mulc(jj, 8)?)?;
                    let mask = if last_cnt != 8 {
                        let is_last = em.icmp(IntPredicate::EQ, jj, em.c64(spr - 1))?;
                        partial = em.b.build_or(partial, is_last, "")?;
                        let cnt =
                            em.b.build_select(is_last, em.c64(i64_of(last_cnt)?), em.c64(8), "")?
                                .into_int_value();
                        Some(em.runtime_mask(cnt)?)
                    } else {
                        None
                    };
                    slots.push(Slot {
                        b: em.gep(scratch, b_off)?,
                        out_off,
                        mask,
                    });
                }
                let mut tap_offs = Vec::with_capacity(u * taps);
                for q in 0..u {
                    for y in 0..kh {
                        for x in 0..kw {
                            let a_off = ((q * taps + y * kw + x) * mr) as i64;
                            let col = x * dw;
                            let b_off =
                                q * plan.cs + y * dh * plan.rs + (col % sw) * plan.pw + col / sw;
                            tap_offs.push((a_off, i64_of(b_off)?));
                        }
                    }
                }
                let shape = TileShape {
                    mr,
                    nv,
                    a_row_stride: 1,
                    a_k_stride: i64_of(u * taps * mr)?,
                    b_k_stride: i64_of(u * plan.cs)?,
                    taps: tap_offs,
                    iters: (cin_g / u) as u64,
                    b_masks: vec![None; nv],
                };
                let bases: Vec<PointerValue<'ctx>> = slots.iter().map(|s| s.b).collect();
                let acc = emit_tile(&em, &shape, a_base, &bases)?;
                let store = |slots: &[Slot<'ctx>]| {
                    store_tile(
                        &em,
                        spec.bias,
                        spec.residual,
                        spec.act,
                        &acc,
                        slots,
                        bias_ptr,
                        out_ch0,
                        res_ch0,
                        plane_out,
                    )
                };
                if last_cnt == 8 {
                    return store(&slots);
                }
                // Masked stores (slow on AMD) only for tiles that end a row.
                let full: Vec<Slot<'ctx>> = slots
                    .iter()
                    .map(|s| Slot {
                        b: s.b,
                        out_off: s.out_off,
                        mask: None,
                    })
                    .collect();
                let (tb, fb, jb) = (
                    em.ctx.append_basic_block(em.func, "store.masked"),
                    em.ctx.append_basic_block(em.func, "store.full"),
                    em.ctx.append_basic_block(em.func, "store.done"),
                );
                em.b.build_conditional_branch(partial, tb, fb)?;
                em.b.position_at_end(tb);
                store(&slots)?;
                em.b.build_unconditional_branch(jb)?;
                em.b.position_at_end(fb);
                store(&full)?;
                em.b.build_unconditional_branch(jb)?;
                em.b.position_at_end(jb);
                Ok(())
            };
            em.for_loop(em.c64(0), ntiles, |tile| run(em.mulc(tile, NV as i64)?, NV))?;
            em.for_loop(em.mulc(ntiles, NV as i64)?, nslots, |s| run(s, 1))
        })
    })?;
    em.ret()?;
    Ok(em.func)
}
