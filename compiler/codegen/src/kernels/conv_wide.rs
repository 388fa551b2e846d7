//! Direct k×k convolution on wide vectors (AVX-512): the `Direct` algorithm of
//! [`super::conv_fast`] with 16-lane vectors that run along the *padded output
//! grid* instead of along one output row.
//!
//! The input rows of a band are copied, as in the 8-lane kernel, into a
//! zero-padded scratch, but split by phase in both dimensions: per input channel,
//! one plane per (row phase `py`, column phase `px`) of the strides, each plane
//! `rph` rows of `pw = ow + (kw−1)·dw / sw` floats, where row `i`, column `j` of
//! plane `(py, px)` holds padded input row `(oh0 + i)·sh + py` … (that is, input row
//! `oh0·sh − pad_top + py + i·sh`), padded column `j·sw + px`. Output pixel
//! `(r, c)` of the band, tap `(y, x)`, reads plane `((y·dh) % sh, (x·dw) % sw)` at
//! `(r + y·dh / sh)·pw + c + x·dw / sw`: with `P = r·pw + c` (the padded grid,
//! `pw` columns per row, the last `pw − ow` of them garbage), every tap reads
//! `P + constant`, so 16 consecutive grid points are one unaligned vector load
//! whatever the stride and dilation, and a vector may span row ends. Narrow maps
//! keep their lanes busy: a 7×7 output (3×3, pad 1) uses 49 of every 63 lanes,
//! where 16-pixel row vectors would use 7 of 16.
//!
//! Register tile: `MR = 6` output channels × `nv` vectors of 16 grid points, `nv`
//! from the register budget (4 for 32 registers: 24 accumulators, 4 loads, 1
//! broadcast). The epilogue (bias, residual, activation) runs in registers and
//! stores each vector with one masked store per output row it touches (the grid
//! lanes that are real pixels of that row), so the garbage columns are never
//! written. Weights are packed as for the 8-lane kernel.

use inkwell::module::Module;
use inkwell::types::VectorType;
use inkwell::values::{FunctionValue, IntValue, PointerValue, VectorValue};
use inkwell::IntPredicate;

use super::conv_common::{
    decode_task, emit_pack_rows, for_panels, ConvAlgo, ConvPlan, ConvSpec, PackGeom, MR,
    SCRATCH_LIMIT,
};
use super::gemm::{emit_tile, err, i64_of, unroll_for, Em, KernelResult, TileShape};
use super::isa::Isa;

/// Scratch geometry of the wide kernel for one plan (all in f32 elements).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WideGeom {
    /// Vector lanes.
    pub lanes: usize,
    /// Vectors per register tile.
    pub nv: usize,
    /// Grid row length (`ow` plus the columns the taps reach past it).
    pub pw: usize,
    /// Rows per phase plane.
    pub rph: usize,
    /// Row phases that some tap reads (`(y·dh) % sh`), in order; plane `k` of a
    /// channel holds row phase `row_phases[k]`.
    pub row_phases: Vec<usize>,
    /// Distance between the column-phase planes of a row phase.
    pub px_stride: usize,
    /// Distance between row-phase planes.
    pub py_stride: usize,
    /// Distance between input channels.
    pub cs: usize,
    /// Zeroed floats after the last channel (what the last grid vectors read past).
    pub slack: usize,
}

impl WideGeom {
    /// The geometry for `spec` on `isa`, or `None` when the wide kernel does not
    /// apply (fewer than 16 lanes, not a `Direct` plan, or a scratch over the limit).
    pub fn new(spec: &ConvSpec, plan: &ConvPlan, isa: Isa) -> Option<WideGeom> {
        if isa.lanes < 16 || plan.algo != ConvAlgo::Direct {
            return None;
        }
        let lanes = 16usize;
        let nv = ((isa.vregs as usize).saturating_sub(1) / (MR + 1)).clamp(1, 4);
        let [sh, sw] = spec.stride;
        let [dh, dw] = spec.dilation;
        let pw = plan.ow + (spec.kw - 1) * dw / sw;
        let rph = plan.band + (spec.kh - 1) * dh / sh;
        let mut row_phases: Vec<usize> = (0..spec.kh).map(|y| y * dh % sh).collect();
        row_phases.sort_unstable();
        row_phases.dedup();
        let px_stride = rph.checked_mul(pw)?;
        let py_stride = px_stride.checked_mul(sw)?;
        let cs = py_stride.checked_mul(row_phases.len())?;
        let slack = pw + lanes;
        let bytes = plan
            .cin_g
            .checked_mul(cs)?
            .checked_add(slack)?
            .checked_mul(4)?;
        if bytes > SCRATCH_LIMIT {
            return None;
        }
        Some(WideGeom {
            lanes,
            nv,
            pw,
            rph,
            row_phases,
            px_stride,
            py_stride,
            cs,
            slack,
        })
    }

    /// Offset of tap `(y, x)` inside a channel's planes.
    fn tap_offset(&self, spec: &ConvSpec, y: usize, x: usize) -> KernelResult<usize> {
        let [sh, sw] = spec.stride;
        let [dh, dw] = spec.dilation;
        let (ry, cx) = (y * dh, x * dw);
        let plane = self
            .row_phases
            .iter()
            .position(|&p| p == ry % sh)
            .ok_or_else(|| super::gemm::KernelError::new("conv: row phase not packed"))?;
        Ok(plane * self.py_stride + (cx % sw) * self.px_stride + (ry / sh) * self.pw + cx / sw)
    }
}

/// Emits the wide direct convolution (same contract as
/// [`super::conv_fast::emit_conv`]).
pub fn emit_wide<'ctx>(
    module: &Module<'ctx>,
    spec: &ConvSpec,
    plan: &ConvPlan,
    geo: &WideGeom,
    name: &str,
    isa: Isa,
) -> KernelResult<FunctionValue<'ctx>> {
    if isa.lanes < 16 || plan.algo != ConvAlgo::Direct {
        return err("conv: the wide kernel needs 16 lanes and a direct plan");
    }
    let lanes = geo.lanes;
    let em = Em::with_lanes(module, name, lanes as u32)?;
    let input = em.param_ptr(0)?;
    let wts = em.param_ptr(1)?;
    let bias = em.param_ptr(2)?;
    let res = em.param_ptr(3)?;
    let out = em.param_ptr(4)?;
    let (begin, end) = em.task_range(plan.num_tasks)?;
    let [sh, sw] = spec.stride;
    let (kh, kw) = (spec.kh, spec.kw);
    let taps = kh * kw;
    let cin_g = plan.cin_g;
    let scratch_len = cin_g * geo.cs + geo.slack;
    let scratch = em.scratch(scratch_len)?;
    let zero8 = em.ctx.i8_type().const_zero();
    // The slack is read only by garbage lanes; zero it once (no NaNs/subnormals).
    em.b.build_memset(
        em.gepc(scratch, i64_of(cin_g * geo.cs)?)?,
        4,
        zero8,
        em.c64(i64_of(geo.slack * 4)?),
    )?;
    let plane_in = i64_of(spec.h * spec.w)?;
    let (oh, ow) = (plan.oh, plan.ow);
    let plane_out = i64_of(oh * ow)?;
    let pw = geo.pw;
    let pack = PackGeom {
        h: spec.h,
        w: spec.w,
        pl: spec.pad[1],
        sw,
        pw,
        rs: pw,
        phase_stride: geo.px_stride,
        row_step: sh,
    };
    let u = unroll_for(cin_g, (8 / taps).max(1));
    let k_total = i64_of(cin_g * taps)?;
    let mut tap_offs = Vec::with_capacity(u * taps);
    for q in 0..u {
        for y in 0..kh {
            for x in 0..kw {
                let a_off = (q * taps + y * kw + x) as i64;
                let b_off = q * geo.cs + geo.tap_offset(spec, y, x)?;
                tap_offs.push((a_off, i64_of(b_off)?));
            }
        }
    }
    // Rows of the output a vector of `lanes` grid points can touch.
    let rows_touched = (lanes - 1) / pw + 2;
    let i32v = em.i32t.vec_type(lanes as u32);
    let iota = VectorType::const_vector(
        &(0..lanes as u64)
            .map(|l| em.i32t.const_int(l, false))
            .collect::<Vec<_>>(),
    );
    let splat_i32 = |x: IntValue<'ctx>| -> KernelResult<VectorValue<'ctx>> {
        let x = em.b.build_int_truncate(x, em.i32t, "")?;
        let v =
            em.b.build_insert_element(i32v.get_poison(), x, em.i32t.const_zero(), "")?;
        Ok(em
            .b
            .build_shuffle_vector(v, i32v.get_poison(), i32v.const_zero(), "")?)
    };
    em.for_loop(begin, end, |t| {
        let tc = decode_task(&em, t, spec.groups, plan)?;
        let oh0 = em.mulc(tc.band, i64_of(plan.band)?)?;
        let rows = em.min(
            em.c64(i64_of(plan.band)?),
            em.b.build_int_nsw_sub(em.c64(i64_of(oh)?), oh0, "")?,
        )?;
        // Pack the band's input rows, one plane per (row phase, column phase).
        let in_c0 = em.add(
            em.mulc(tc.n, i64_of(spec.cin)?)?,
            em.mulc(tc.g, i64_of(cin_g)?)?,
        )?;
        let ih0 =
            em.b.build_int_nsw_sub(em.mulc(oh0, i64_of(sh)?)?, em.c64(i64_of(spec.pad[0])?), "")?;
        let nrows = em.c64(i64_of(geo.rph)?);
        em.for_loop(em.c64(0), em.c64(i64_of(cin_g)?), |ci| {
            let src = em.gep(input, em.mulc(em.add(in_c0, ci)?, plane_in)?)?;
            let dst_c = em.gep(scratch, em.mulc(ci, i64_of(geo.cs)?)?)?;
            for (k, &py) in geo.row_phases.iter().enumerate() {
                let dst = em.gepc(dst_c, i64_of(k * geo.py_stride)?)?;
                let ih_base = em.addc(ih0, i64_of(py)?)?;
                emit_pack_rows(&em, &pack, src, dst, ih_base, nrows)?;
            }
            Ok(())
        })?;
        // Compute: grid vectors `s·lanes ..` of `rows·pw` points.
        let out_c0 = em.add(
            em.mulc(tc.n, i64_of(spec.cout)?)?,
            em.mulc(tc.g, i64_of(plan.cout_g)?)?,
        )?;
        let g_co0 = em.mulc(tc.g, i64_of(plan.cout_g)?)?;
        let npts = em.mulc(rows, i64_of(pw)?)?;
        let nslots = em.udivc(em.addc(npts, i64_of(lanes - 1)?)?, i64_of(lanes)?)?;
        let rows_v = splat_i32(rows)?;
        let band_out = em.mulc(oh0, i64_of(ow)?)?;
        for_panels(&em, plan, tc.cc, |co0, mr| {
            let gco = em.add(g_co0, co0)?;
            let a_base = em.gep(wts, em.mulc(gco, k_total)?)?;
            let bias_ptr = em.gep(bias, gco)?;
            let ch = em.add(em.mul(em.add(out_c0, co0)?, em.c64(plane_out))?, band_out)?;
            let out_ch0 = em.gep(out, ch)?;
            let res_ch0 = em.gep(res, ch)?;
            let run = |s0: IntValue<'ctx>, nv: usize| -> KernelResult<()> {
                let bases: Vec<PointerValue<'ctx>> = (0..nv)
                    .map(|j| em.gep(scratch, em.mulc(em.addc(s0, j as i64)?, lanes as i64)?))
                    .collect::<KernelResult<_>>()?;
                let shape = TileShape {
                    mr,
                    nv,
                    a_row_stride: 1,
                    a_k_stride: i64_of(u * taps * mr)?,
                    b_k_stride: i64_of(u * geo.cs)?,
                    taps: tap_offs.iter().map(|&(a, b)| (a * mr as i64, b)).collect(),
                    iters: (cin_g / u) as u64,
                    b_masks: vec![None; nv],
                };
                let acc = emit_tile(&em, &shape, a_base, &bases)?;
                // Per vector: the output rows it touches, their lane masks and the
                // (band-relative) offset its lane 0 would have in each row.
                let mut stores: Vec<Vec<(IntValue<'ctx>, VectorValue<'ctx>)>> = Vec::new();
                for j in 0..nv {
                    let p0 = em.mulc(em.addc(s0, j as i64)?, lanes as i64)?;
                    let r0 = em.udivc(p0, i64_of(pw)?)?;
                    let mut v = Vec::with_capacity(rows_touched);
                    for k in 0..rows_touched {
                        let r = em.addc(r0, k as i64)?;
                        // lanes lo .. lo + ow of the vector are row r's pixels
                        let lo = em.b.build_int_nsw_sub(em.mulc(r, i64_of(pw)?)?, p0, "")?;
                        let lo_v = splat_i32(lo)?;
                        let hi_v = splat_i32(em.addc(lo, i64_of(ow)?)?)?;
                        let r_v = splat_i32(r)?;
                        let ge = em.b.build_int_compare(IntPredicate::SGE, iota, lo_v, "")?;
                        let lt = em.b.build_int_compare(IntPredicate::SLT, iota, hi_v, "")?;
                        let in_band = em.b.build_int_compare(IntPredicate::SLT, r_v, rows_v, "")?;
                        let m = em.b.build_and(em.b.build_and(ge, lt, "")?, in_band, "")?;
                        // pixel (r, l − lo) is at r·ow + l − lo
                        let off = em.b.build_int_nsw_sub(em.mulc(r, i64_of(ow)?)?, lo, "")?;
                        v.push((off, m));
                    }
                    stores.push(v);
                }
                for (i, row) in acc.iter().enumerate() {
                    let bv = if spec.bias {
                        Some(em.bcast(em.gepc(bias_ptr, i as i64)?)?)
                    } else {
                        None
                    };
                    let ch_off = i as i64 * plane_out;
                    for (j, &a) in row.iter().enumerate() {
                        let mut v = a;
                        if let Some(b) = bv {
                            v = em.fadd(v, b)?;
                        }
                        if spec.residual {
                            let mut r = em.vt.const_zero();
                            for &(off, m) in &stores[j] {
                                let p = raw_gep(&em, res_ch0, em.addc(off, ch_off)?)?;
                                let x = em.load_v(p, Some(m))?;
                                r = em.b.build_select(m, x, r, "")?.into_vector_value();
                            }
                            v = em.fadd(v, r)?;
                        }
                        v = em.act(v, spec.act)?;
                        for &(off, m) in &stores[j] {
                            let p = raw_gep(&em, out_ch0, em.addc(off, ch_off)?)?;
                            em.store_v(p, v, Some(m))?;
                        }
                    }
                }
                Ok(())
            };
            let nvt = geo.nv;
            let ntiles = em.udivc(nslots, nvt as i64)?;
            em.for_loop(em.c64(0), ntiles, |tile| {
                run(em.mulc(tile, nvt as i64)?, nvt)
            })?;
            let mut rem = em.mulc(ntiles, nvt as i64)?;
            if nvt > 2 {
                let left = em.b.build_int_nsw_sub(nslots, rem, "")?;
                let npairs = em.udivc(left, 2)?;
                em.for_loop(em.c64(0), npairs, |q| run(em.add(rem, em.mulc(q, 2)?)?, 2))?;
                rem = em.add(rem, em.mulc(npairs, 2)?)?;
            }
            em.for_loop(rem, nslots, |s| run(s, 1))
        })
    })?;
    em.ret()?;
    Ok(em.func)
}

/// `&base[idx]` without the in-bounds promise: the base of a masked store may lie
/// before the buffer (its masked-off lanes are never accessed).
fn raw_gep<'ctx>(
    em: &Em<'_, 'ctx>,
    base: PointerValue<'ctx>,
    idx: IntValue<'ctx>,
) -> KernelResult<PointerValue<'ctx>> {
    // SAFETY: f32 indexing; only the masked lanes in range are accessed.
    Ok(unsafe { em.b.build_gep(em.f32t, base, &[idx], "")? })
}
