//! 1×1 convolutions (stride 1, no padding) as a cache-blocked GEMM
//! `[Cout×Cin]·[Cin×H·W]` per image and group — the `Gemm1x1` algorithm of
//! [`super::conv_fast`].
//!
//! * **Operands.** The packed weights are the broadcast operand (panels of
//!   `MR = 6` output channels, each `[ci][mr]`, see
//!   [`super::conv_fast::pack_conv_weights`]); the activations are the vector operand,
//!   read in place (row `ci` of B is the input plane of channel `ci`). The pixel axis
//!   `H·W` is the vector axis; a *slot* is 8 consecutive pixels of the plane.
//! * **Register tile** from the register budget of the target ([`gemm1x1_shape`]):
//!   6 channels × 4 vectors of 16 pixels (24 zmm accumulators) on AVX-512, 6 × 2
//!   vectors of 8 (12 ymm) on AVX2; remainders as 2- and 1-vector tiles, the plane's
//!   last partial vector masked.
//! * **Blocking.** A task owns a chunk of `band` slots (≥ one AVX-512 tile, 8 slots,
//!   whatever `Cin`) and a chunk of output-channel panels. The K axis is cut into
//!   blocks of [`k_block`] input channels: for each K block, every panel runs over
//!   every tile of the chunk, so the chunk's B block (`kc × band` floats) stays in
//!   L1/L2 while all panels reuse it, and one tile's slice of it (`kc × 64` floats on
//!   AVX-512) stays in L1. Partial sums go through the output: the first block adds
//!   bias and residual, the later ones reload the output, the last one applies the
//!   activation. (The residual is read in the first block, before the output is
//!   first written, so an in-place residual — `output == residual` — stays correct.)
//! * **Threads.** Tasks are (image, group, pixel chunk, output-channel chunk); when
//!   the map is small (7×7, 14×14) the panels are split over tasks so that both
//!   cores stay busy.

use inkwell::module::Module;
use inkwell::values::{FunctionValue, IntValue, PointerValue, VectorValue};
use inkwell::IntPredicate;

use super::conv_common::{
    channel_chunks, decode_task, for_panels, params, ConvAlgo, ConvPlan, ConvSpec, Ptrs, MR, NV,
};
use super::gemm::{emit_tile, i64_of, mul, unroll_for, Em, KernelResult, TileShape};
use super::isa::Isa;

/// Budget (bytes) of one task's B block (`kc × band` floats), an L2-resident share.
const B_BLOCK_BUDGET: usize = 80 * 1024;
/// Slots (of 8 pixels) of one AVX-512 register tile: the least chunk a task gets.
const MIN_BAND: usize = 8;
/// Largest K block (input channels).
const KC_MAX: usize = 256;

/// Input channels per K block for `cin_g` input channels: all of them up to
/// [`KC_MAX`], else equal blocks of at most `KC_MAX` (multiples of 8 when possible,
/// so the K loop unrolls).
pub fn k_block(cin_g: usize) -> usize {
    if cin_g <= KC_MAX {
        return cin_g;
    }
    let nb = cin_g.div_ceil(KC_MAX);
    let kc = cin_g.div_ceil(nb);
    kc.div_ceil(8) * 8
}

/// Whether the 1×1 convolution subsamples its input (stride > 1): its B block is
/// then gathered into a stack buffer instead of read in place.
fn is_strided(spec: &ConvSpec) -> bool {
    spec.stride != [1, 1]
}

/// Plans an unpadded 1×1 convolution (`spec` already validated).
pub(crate) fn plan_gemm1x1(spec: &ConvSpec) -> KernelResult<ConvPlan> {
    let cin_g = spec.cin / spec.groups;
    let cout_g = spec.cout / spec.groups;
    let outer = mul(&[spec.n, spec.groups])?;
    let (oh, ow) = spec.out_hw()?;
    let spr = mul(&[oh, ow])?.div_ceil(8);
    let kc = k_block(cin_g);
    // Chunk of slots per task: B block within budget, ≥ 8 tasks when the map allows,
    // but never below one AVX-512 tile (or the whole plane).
    let by_budget = (B_BLOCK_BUDGET / (kc * 32)).max(1);
    let want_chunks = 8usize.div_ceil(outer);
    let by_par = spr.div_ceil(want_chunks);
    let mut band = by_budget.min(by_par.max(2 * NV)).max(MIN_BAND).min(spr);
    if band >= NV && band < spr {
        band -= band % NV;
    }
    let nbands = spr.div_ceil(band);
    let (cchunks, ppc) = channel_chunks(cout_g, mul(&[outer, nbands])?);
    // Strided: the K block of the chunk's pixels is gathered into a stack buffer.
    let stack_bytes = if is_strided(spec) {
        mul(&[kc, band, 8, 4])? + 64
    } else {
        0
    };
    Ok(ConvPlan {
        algo: ConvAlgo::Gemm1x1,
        num_tasks: mul(&[outer, nbands, cchunks])?,
        cchunks,
        ppc,
        packed_len: mul(&[spec.cout, cin_g])?,
        stack_bytes,
        oh,
        ow,
        cin_g,
        cout_g,
        spr,
        band,
        nbands,
        pw: 0,
        rs: 0,
        cs: 0,
    })
}

/// Vector width and tile width (vectors per tile) of the `Gemm1x1` kernel for
/// `isa`: 16 lanes on AVX-512 when the plan's chunks are whole 16-pixel slots
/// (an even number of 8-pixel slots, or a single chunk), else 8; `nv` from the
/// register budget, `mr·nv` accumulators + `nv` B vectors + 1 broadcast ≤ registers
/// (2 for 16 registers, 4 for 32).
pub(crate) fn gemm1x1_shape(plan: &ConvPlan, isa: Isa) -> (u32, usize) {
    let lanes = if isa.lanes >= 16 && (plan.band.is_multiple_of(2) || plan.nbands == 1) {
        16
    } else {
        8
    };
    let nv = ((isa.vregs as usize - 1) / (MR + 1)).clamp(1, 4);
    (lanes, nv)
}

/// Which K block a tile computes: decides its epilogue.
#[derive(Clone, Copy)]
struct Block {
    /// First block: add bias and residual (else: add the partial sums in `output`).
    first: bool,
    /// Last block: apply the activation.
    last: bool,
    /// Input channels of the block (compile-time).
    len: usize,
}

/// One vector slot of a tile: B pointer, offset in the output plane, store mask.
struct Slot<'ctx> {
    b: PointerValue<'ctx>,
    out_off: IntValue<'ctx>,
    mask: Option<VectorValue<'ctx>>,
}

/// The epilogue of one tile for K block `blk`: accumulators of output channel
/// `i` go to the plane at `out_ch0 + i·plane`.
#[allow(clippy::too_many_arguments)]
fn store<'ctx>(
    em: &Em<'_, 'ctx>,
    spec: &ConvSpec,
    blk: Block,
    acc: &[Vec<VectorValue<'ctx>>],
    slots: &[Slot<'ctx>],
    bias_ptr: PointerValue<'ctx>,
    out_ch0: PointerValue<'ctx>,
    res_ch0: PointerValue<'ctx>,
    plane: i64,
) -> KernelResult<()> {
    for (i, row) in acc.iter().enumerate() {
        let bv = if spec.bias && blk.first {
            Some(em.bcast(em.gepc(bias_ptr, i as i64)?)?)
        } else {
            None
        };
        let out_c = em.gepc(out_ch0, i as i64 * plane)?;
        let res_c = em.gepc(res_ch0, i as i64 * plane)?;
        for (j, &v) in row.iter().enumerate() {
            let s = &slots[j];
            let out_p = em.gep(out_c, s.out_off)?;
            let mut v = v;
            if blk.first {
                if let Some(b) = bv {
                    v = em.fadd(v, b)?;
                }
                if spec.residual {
                    let r = em.load_v(em.gep(res_c, s.out_off)?, s.mask)?;
                    v = em.fadd(v, r)?;
                }
            } else {
                let partial = em.load_v(out_p, s.mask)?;
                v = em.fadd(partial, v)?;
            }
            if blk.last {
                v = em.act(v, spec.act)?;
            }
            em.store_v(out_p, v, s.mask)?;
        }
    }
    Ok(())
}

/// Emits the `Gemm1x1` kernel (see the module docs) for `isa`.
pub(crate) fn emit_gemm1x1<'ctx>(
    module: &Module<'ctx>,
    spec: &ConvSpec,
    plan: &ConvPlan,
    name: &str,
    isa: Isa,
) -> KernelResult<FunctionValue<'ctx>> {
    let (lanes, nvt) = gemm1x1_shape(plan, isa);
    let em = Em::with_lanes(module, name, lanes)?;
    let p: Ptrs<'ctx> = params(&em)?;
    let (begin, end) = em.task_range(plan.num_tasks)?;
    let plane_in = i64_of(spec.h * spec.w)?;
    let plane = i64_of(plan.oh * plan.ow)?;
    let npix = plan.oh * plan.ow;
    let strided = is_strided(spec);
    let cin_g = plan.cin_g;
    let kc = k_block(cin_g);
    let nkb = cin_g.div_ceil(kc);
    let k_last = cin_g - (nkb - 1) * kc;
    let w = lanes as usize;
    // The plan counts 8-pixel slots; this kernel works on `w`-pixel slots (`r` of
    // them per slot of the plan, chunks are whole slots, see `gemm1x1_shape`).
    let r = w / 8;
    let spr = npix.div_ceil(w);
    let band = plan.band.div_ceil(r);
    let tail = npix % w;
    // Strided: gathered B block `[kc][bp]` on the stack (bp = pixels of a chunk).
    let bp = band * w;
    let scratch = if strided {
        Some(em.scratch(kc * bp + 16)?)
    } else {
        None
    };
    let b_row = if strided { i64_of(bp)? } else { plane_in };
    let k_total = i64_of(cin_g)?;
    em.for_loop(begin, end, |t| {
        let tc = decode_task(&em, t, spec.groups, plan)?;
        let s_begin = em.mulc(tc.band, i64_of(band)?)?;
        let s_end = em.min(em.addc(s_begin, i64_of(band)?)?, em.c64(i64_of(spr)?))?;
        let in_c0 = em.add(
            em.mulc(tc.n, i64_of(spec.cin)?)?,
            em.mulc(tc.g, i64_of(cin_g)?)?,
        )?;
        let in_base = em.gep(p.input, em.mulc(in_c0, plane_in)?)?;
        let out_c0 = em.add(
            em.mulc(tc.n, i64_of(spec.cout)?)?,
            em.mulc(tc.g, i64_of(plan.cout_g)?)?,
        )?;
        let g_co0 = em.mulc(tc.g, i64_of(plan.cout_g)?)?;
        // All panels × all tiles of the chunk for the K block starting at `k0`.
        let block = |k0: IntValue<'ctx>, blk: Block| -> KernelResult<()> {
            let u = unroll_for(blk.len, 8 / nvt);
            let b_in = em.gep(in_base, em.mul(k0, em.c64(plane_in))?)?;
            // Slot `s` of B starts at `b_blk + (s − b_s0)·w`.
            let (b_blk, b_s0) = match scratch {
                None => (b_in, em.c64(0)),
                Some(buf) => {
                    let p0 = em.mulc(s_begin, w as i64)?;
                    let p1 = em.min(em.mulc(s_end, w as i64)?, em.c64(i64_of(npix)?))?;
                    emit_gather(&em, spec, plan, b_in, buf, bp, p0, p1, blk.len)?;
                    (buf, s_begin)
                }
            };
            for_panels(&em, plan, tc.cc, |co0, mr| {
                let gco = em.add(g_co0, co0)?;
                let a_off = em.add(em.mulc(gco, k_total)?, em.mulc(k0, mr as i64)?)?;
                let a_base = em.gep(p.w, a_off)?;
                let bias_ptr = em.gep(p.bias, gco)?;
                let ch = em.mul(em.add(out_c0, co0)?, em.c64(plane))?;
                let out_ch0 = em.gep(p.out, ch)?;
                let res_ch0 = em.gep(p.res, ch)?;
                // One tile of `nv` vectors from slot `s0`; the last one holds
                // `last_mask` pixels when given (the plane's partial end).
                let run =
                    |s0: IntValue<'ctx>, nv: usize, last_mask: Option<usize>| -> KernelResult<()> {
                        let mut slots = Vec::with_capacity(nv);
                        for j in 0..nv {
                            let s = em.addc(s0, j as i64)?;
                            let off = em.mulc(s, w as i64)?;
                            let b_s = em.b.build_int_nsw_sub(s, b_s0, "")?;
                            slots.push(Slot {
                                b: em.gep(b_blk, em.mulc(b_s, w as i64)?)?,
                                out_off: off,
                                mask: if j + 1 == nv {
                                    last_mask.map(|c| em.const_mask(c))
                                } else {
                                    None
                                },
                            });
                        }
                        let shape = TileShape {
                            mr,
                            nv,
                            a_row_stride: 1,
                            a_k_stride: i64_of(u * mr)?,
                            b_k_stride: u as i64 * b_row,
                            taps: (0..u)
                                .map(|q| ((q * mr) as i64, q as i64 * b_row))
                                .collect(),
                            iters: (blk.len / u) as u64,
                            b_masks: slots.iter().map(|s| s.mask).collect(),
                        };
                        let bases: Vec<PointerValue<'ctx>> = slots.iter().map(|s| s.b).collect();
                        let acc = emit_tile(&em, &shape, a_base, &bases)?;
                        store(
                            &em, spec, blk, &acc, &slots, bias_ptr, out_ch0, res_ch0, plane,
                        )
                    };
                // `count` slots (compile-time) from `s_begin`: full tiles, then one
                // narrower tile for the rest; the very last slot is masked when
                // `partial`.
                let slots = |count: usize, partial: bool| -> KernelResult<()> {
                    let (mut full, mut rem) = (count / nvt, count % nvt);
                    if partial && rem == 0 {
                        full -= 1;
                        rem = nvt;
                    }
                    em.for_loop(em.c64(0), em.c64(i64_of(full)?), |tile| {
                        run(em.add(s_begin, em.mulc(tile, nvt as i64)?)?, nvt, None)
                    })?;
                    if rem > 0 {
                        let s0 = em.addc(s_begin, i64_of(full * nvt)?)?;
                        run(s0, rem, if partial { Some(tail) } else { None })?;
                    }
                    Ok(())
                };
                let last_count = spr - (plan.nbands - 1) * band;
                if plan.nbands == 1 {
                    return slots(last_count, tail != 0);
                }
                let is_last = em.icmp(IntPredicate::EQ, s_end, em.c64(i64_of(spr)?))?;
                let (tb, fb, jb) = (
                    em.ctx.append_basic_block(em.func, "band.last"),
                    em.ctx.append_basic_block(em.func, "band.full"),
                    em.ctx.append_basic_block(em.func, "band.done"),
                );
                em.b.build_conditional_branch(is_last, tb, fb)?;
                em.b.position_at_end(tb);
                slots(last_count, tail != 0)?;
                em.b.build_unconditional_branch(jb)?;
                em.b.position_at_end(fb);
                slots(band, false)?;
                em.b.build_unconditional_branch(jb)?;
                em.b.position_at_end(jb);
                Ok(())
            })
        };
        if nkb == 1 {
            return block(
                em.c64(0),
                Block {
                    first: true,
                    last: true,
                    len: cin_g,
                },
            );
        }
        let mid = Block {
            first: false,
            last: false,
            len: kc,
        };
        block(em.c64(0), Block { first: true, ..mid })?;
        if nkb > 2 {
            em.for_loop(em.c64(1), em.c64(i64_of(nkb - 1)?), |kb| {
                block(em.mulc(kb, i64_of(kc)?)?, mid)
            })?;
        }
        block(
            em.c64(i64_of((nkb - 1) * kc)?),
            Block {
                first: false,
                last: true,
                len: k_last,
            },
        )
    })?;
    em.ret()?;
    Ok(em.func)
}

/// Gathers the strided B block: for the `len` input channels at `src` (planes of
/// `h×w`), the output pixels `p0..p1` (output pixel `p` reads input pixel
/// `(p / ow)·sh, (p % ow)·sw`) into rows of `bp` floats at `dst`.
#[allow(clippy::too_many_arguments)]
fn emit_gather<'ctx>(
    em: &Em<'_, 'ctx>,
    spec: &ConvSpec,
    plan: &ConvPlan,
    src: PointerValue<'ctx>,
    dst: PointerValue<'ctx>,
    bp: usize,
    p0: IntValue<'ctx>,
    p1: IntValue<'ctx>,
    len: usize,
) -> KernelResult<()> {
    let [sh, sw] = spec.stride;
    let plane_in = i64_of(spec.h * spec.w)?;
    let ow = i64_of(plan.ow)?;
    // Output rows oy0..=oy1 meet the chunk; row `oy` contributes columns
    // max(p0 − oy·ow, 0) .. min(p1 − oy·ow, ow): a strided copy per row (no
    // division per element; LLVM vectorizes the stride as interleaved loads).
    let oy0 = em.udivc(p0, ow)?;
    let oy_end = em.addc(em.udivc(em.addc(p1, -1)?, ow)?, 1)?;
    em.for_loop(em.c64(0), em.c64(i64_of(len)?), |ci| {
        let s = em.gep(src, em.mul(ci, em.c64(plane_in))?)?;
        let d = em.gep(dst, em.mulc(ci, i64_of(bp)?)?)?;
        em.for_loop(oy0, oy_end, |oy| {
            let row0 = em.mulc(oy, ow)?;
            let lo = em.b.build_int_nsw_sub(p0, row0, "")?;
            let neg = em.icmp(IntPredicate::SLT, lo, em.c64(0))?;
            let lo = em.b.build_select(neg, em.c64(0), lo, "")?.into_int_value();
            let hi = em.min(em.b.build_int_nsw_sub(p1, row0, "")?, em.c64(ow))?;
            let s_row = em.gep(s, em.mulc(oy, i64_of(sh * spec.w)?)?)?;
            // buffer index of column ox: row0 − p0 + ox (≥ 0 for ox ≥ lo)
            let d_off = em.b.build_int_nsw_sub(row0, p0, "")?;
            em.for_loop(lo, hi, |ox| {
                let x = em.load_f32(em.gep(s_row, em.mulc(ox, i64_of(sw)?)?)?)?;
                em.store_f32(em.gep(d, em.add(d_off, ox)?)?, x)
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(cin: usize, hw: usize, cout: usize, stride: usize) -> ConvSpec {
        ConvSpec::simple(1, cin, hw, hw, cout, 1, stride, 0)
    }

    #[test]
    fn k_blocks_cover_k_in_equal_parts() {
        for cin in [1, 7, 64, 255, 256, 257, 300, 512, 1000, 1024, 1291, 2048] {
            let kc = k_block(cin);
            let nkb = cin.div_ceil(kc);
            assert!(kc <= KC_MAX, "{cin}: {kc}");
            if cin <= KC_MAX {
                assert_eq!(kc, cin);
            } else {
                assert!(kc.is_multiple_of(8), "{cin}: {kc}");
                // the last block is non-empty and no longer than the others
                let last = cin - (nkb - 1) * kc;
                assert!(last >= 1 && last <= kc, "{cin}: {kc} {last}");
            }
        }
    }

    /// Wide layers (1024–2048 input channels) get chunks of at least one AVX-512
    /// tile (8 slots) or the whole map — before the K blocks, they got 1–2 slots.
    #[test]
    fn chunks_hold_a_whole_tile_whatever_k() {
        for &(cin, hw, cout, stride) in &[
            (64, 56, 256, 1),
            (256, 56, 128, 1),
            (512, 28, 256, 1),
            (1024, 14, 256, 1),
            (1024, 14, 512, 1),
            (2048, 7, 512, 1),
            (512, 7, 2048, 1),
            (1024, 14, 2048, 2),
            (1291, 5, 7, 1),
        ] {
            let s = spec(cin, hw, cout, stride);
            let plan = plan_gemm1x1(&s).unwrap();
            assert!(
                plan.band >= MIN_BAND.min(plan.spr),
                "{cin}->{cout}@{hw}: {plan:?}"
            );
            assert!(plan.nbands == 1 || plan.band.is_multiple_of(2), "{plan:?}");
            // the B block stays within the budget whenever the chunk is not forced up
            let kc = k_block(cin);
            assert!(
                kc * plan.band * 32 <= B_BLOCK_BUDGET || plan.band == MIN_BAND.min(plan.spr),
                "{plan:?}"
            );
            // stack buffer only for the strided (gathered) case, within 80 KiB + slack
            assert_eq!(plan.stack_bytes > 0, stride > 1);
            assert!(plan.stack_bytes <= B_BLOCK_BUDGET + 64);
        }
    }

    /// Small maps are split over output channels so that two threads have work.
    #[test]
    fn small_maps_split_over_channels() {
        for &(cin, hw, cout, stride) in &[
            (2048, 7, 512, 1),
            (512, 7, 2048, 1),
            (960, 7, 160, 1),
            (1024, 14, 2048, 2),
        ] {
            let plan = plan_gemm1x1(&spec(cin, hw, cout, stride)).unwrap();
            // ≥ 6 tasks: two threads within 1/6 of an even split
            assert!(plan.num_tasks >= 6, "{cin}->{cout}@{hw}: {plan:?}");
            assert!(plan.cchunks > 1, "{plan:?}");
        }
    }
}
