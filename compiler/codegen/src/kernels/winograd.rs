//! Winograd convolution F(m×m, 3×3) for 3×3, stride-1, undilated, ungrouped
//! convolutions (any padding), `m` = 2 or 4 ([`super::winograd_xform`]).
//!
//! The output is cut into `m×m` tiles, numbered row-major over the image
//! (`tiles_h × tiles_w`); vectors run along this tile index, so a 16-lane vector
//! holds 16 tiles whatever the map's width. A task is (image, block of `tb`
//! tiles, chunk of output-channel panels); per chunk of `kc` input channels it
//!
//! 1. **input transform**: gathers each tile's α×α input patch (α = m + 2; masked
//!    gathers, so padding and the map's edges cost nothing) and stores
//!    `V[ξ][c][t] = (Bᵀ·d·B)[ξ]` into a stack scratch;
//! 2. **batched GEMM**: for each of the α² points ξ, `M[co][ξ][t] +=
//!    Σ_c U[ξ][co][c]·V[ξ][c][t]` on the register-tile micro-kernel of
//!    [`super::gemm`] (6 output channels × `nv` vectors of tiles; `nv` = 4 on
//!    32 registers, 2 on 16), with the weights `U = G·g·Gᵀ` transformed at build
//!    time ([`pack_winograd_weights`]);
//!
//! and at the end the **output transform** `Y = Aᵀ·M·A`, the epilogue (bias,
//! residual, activation; [`super::vmath`]) in registers and a masked scatter
//! into the NCHW output.
//!
//! The plan (tasks, blocks, chunks, packed weights) does not depend on the ISA;
//! only the vector width and register tile do.

use inkwell::intrinsics::Intrinsic;
use inkwell::module::Module;
use inkwell::types::VectorType;
use inkwell::values::{AsValueRef, FunctionValue, IntValue, PointerValue, VectorValue};
use inkwell::{AddressSpace, IntPredicate};

use super::conv_fast::{ConvSpec, MR};
use super::gemm::{
    emit_tile, err, i64_of, mul, unroll_for, Em, KernelError, KernelResult, TileShape,
};
use super::isa::Isa;
use super::winograd_xform::{emit_sandwich, Xform};

/// Tiles per block at most (4 vectors of 16 lanes, 8 of 8).
const MAX_TB: usize = 64;
/// Stack budget of the transformed input chunk `V` (bytes).
const V_BUDGET: usize = 384 * 1024;
/// Stack budget of the accumulated products `M` (bytes); with `V` within the
/// 1 MiB of kernel scratch of the runtime's stack contract (`runtime/ABI.md`).
const M_BUDGET: usize = 640 * 1024;

/// The work decomposition of a Winograd convolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WinoPlan {
    /// Output tile side (2 or 4).
    pub m: usize,
    /// Input tile side `m + 2`.
    pub alpha: usize,
    pub oh: usize,
    pub ow: usize,
    pub tiles_h: usize,
    pub tiles_w: usize,
    /// Tiles per image.
    pub tiles: usize,
    /// Tiles per block (a multiple of 16).
    pub tb: usize,
    /// Blocks per image.
    pub nblocks: usize,
    /// Input channels per chunk.
    pub kc: usize,
    /// Output-channel chunks and panels (of [`MR`] channels) per chunk.
    pub cchunks: usize,
    pub ppc: usize,
    /// Tasks: any split of `0..num_tasks` may run concurrently.
    pub num_tasks: usize,
    /// Length (f32) of the packed weights `α²·cout·cin`.
    pub packed_len: usize,
}

/// Whether `spec` is a convolution Winograd F(m×m, 3×3) computes.
pub fn applies(spec: &ConvSpec) -> bool {
    spec.kh == 3
        && spec.kw == 3
        && spec.stride == [1, 1]
        && spec.dilation == [1, 1]
        && spec.groups == 1
        && spec.validate().is_ok()
        // gather/scatter indices are i32 offsets inside a channel plane
        && spec.h.saturating_add(2 * spec.pad[0].max(spec.pad[2]))
            .saturating_mul(spec.w.saturating_add(2 * spec.pad[1].max(spec.pad[3])))
            < (1 << 30)
}

impl WinoPlan {
    /// Plans F(m×m, 3×3) for `spec`.
    pub fn new(spec: &ConvSpec, m: usize) -> KernelResult<WinoPlan> {
        let x = Xform::new(m).ok_or_else(|| KernelError::new("winograd: m must be 2 or 4"))?;
        if !applies(spec) {
            return err("winograd: needs a 3×3, stride-1, undilated, ungrouped conv");
        }
        let (oh, ow) = spec.out_hw()?;
        let alpha = x.alpha;
        let (tiles_h, tiles_w) = (oh.div_ceil(m), ow.div_ceil(m));
        let tiles = mul(&[tiles_h, tiles_w])?;
        let tb = tiles.div_ceil(16).min(MAX_TB / 16) * 16;
        let nblocks = tiles.div_ceil(tb);
        let per_c = alpha * alpha * tb * 4;
        let kc_max = (V_BUDGET / per_c).max(1);
        let kc = spec.cin.div_ceil(spec.cin.div_ceil(kc_max));
        let ppc_max = (M_BUDGET / (per_c * MR)).max(1);
        let npanels = spec.cout.div_ceil(MR);
        // enough tasks for two threads; at ≥ 4 spatial tasks no duplicated input
        // transforms
        let spatial = mul(&[spec.n, nblocks])?;
        let want = 4usize.div_ceil(spatial).min(npanels);
        let cchunks = npanels.div_ceil(ppc_max).max(want).max(1);
        let ppc = npanels.div_ceil(cchunks);
        let cchunks = npanels.div_ceil(ppc);
        let plan = WinoPlan {
            m,
            alpha,
            oh,
            ow,
            tiles_h,
            tiles_w,
            tiles,
            tb,
            nblocks,
            kc,
            cchunks,
            ppc,
            num_tasks: mul(&[spatial, cchunks])?,
            packed_len: mul(&[alpha * alpha, spec.cout, spec.cin])?,
        };
        if plan.stack_bytes() > V_BUDGET + M_BUDGET {
            return err("winograd: scratch over the stack budget");
        }
        Ok(plan)
    }

    /// Stack bytes of one task (`V` and `M`).
    pub fn stack_bytes(&self) -> usize {
        let a2 = self.alpha * self.alpha;
        4 * a2 * self.tb * (self.kc + self.ppc * MR)
    }
}

/// Packs PyTorch weights `[cout][cin][3][3]` as `U[ξ][panel][c][i]`: for each of
/// the α² points, panels of [`MR`] output channels (the last one narrower), each
/// `[cin][mr]`; panel `co0` of point ξ starts at `(ξ·cout + co0)·cin`.
pub fn pack_winograd_weights(w: &[f32], spec: &ConvSpec, m: usize) -> KernelResult<Vec<f32>> {
    let plan = WinoPlan::new(spec, m)?;
    if w.len() != spec.cout * spec.cin * 9 {
        return err("winograd: weight length mismatch");
    }
    let x = Xform::new(m).ok_or_else(|| KernelError::new("winograd: bad m"))?;
    let a2 = plan.alpha * plan.alpha;
    let (cin, cout) = (spec.cin, spec.cout);
    let mut out = vec![0.0f32; plan.packed_len];
    for co in 0..cout {
        let (co0, i) = (co / MR * MR, co % MR);
        let mr = MR.min(cout - co0);
        for c in 0..cin {
            let k = &w[(co * cin + c) * 9..][..9];
            let u = x.weight(k);
            for (xi, &v) in u.iter().enumerate().take(a2) {
                out[(xi * cout + co0) * cin + c * mr + i] = v as f32;
            }
        }
    }
    Ok(out)
}

/// Vector-of-i32 helpers of one kernel.
struct Ivec<'a, 'e, 'ctx> {
    em: &'a Em<'e, 'ctx>,
    ty: VectorType<'ctx>,
}

impl<'ctx> Ivec<'_, '_, 'ctx> {
    fn splat(&self, x: IntValue<'ctx>) -> KernelResult<VectorValue<'ctx>> {
        let em = self.em;
        let x = em.b.build_int_truncate_or_bit_cast(x, em.i32t, "")?;
        let v =
            em.b.build_insert_element(self.ty.get_poison(), x, em.i32t.const_zero(), "")?;
        Ok(em
            .b
            .build_shuffle_vector(v, self.ty.get_poison(), self.ty.const_zero(), "")?)
    }
    fn c(&self, x: i64) -> VectorValue<'ctx> {
        let k = self.em.i32t.const_int(x as u64, true);
        VectorType::const_vector(&vec![k; self.em.lanes as usize])
    }
    fn iota(&self) -> VectorValue<'ctx> {
        let ks: Vec<IntValue<'ctx>> = (0..self.em.lanes as u64)
            .map(|l| self.em.i32t.const_int(l, false))
            .collect();
        VectorType::const_vector(&ks)
    }
    fn add(&self, a: VectorValue<'ctx>, b: VectorValue<'ctx>) -> KernelResult<VectorValue<'ctx>> {
        Ok(self.em.b.build_int_add(a, b, "")?)
    }
    fn mulc(&self, a: VectorValue<'ctx>, c: i64) -> KernelResult<VectorValue<'ctx>> {
        Ok(self.em.b.build_int_mul(a, self.c(c), "")?)
    }
    /// `a <u bound` (negative values are out of range).
    fn below(&self, a: VectorValue<'ctx>, bound: i64) -> KernelResult<VectorValue<'ctx>> {
        Ok(self
            .em
            .b
            .build_int_compare(IntPredicate::ULT, a, self.c(bound), "")?)
    }
    fn and(&self, a: VectorValue<'ctx>, b: VectorValue<'ctx>) -> KernelResult<VectorValue<'ctx>> {
        Ok(self.em.b.build_and(a, b, "")?)
    }
}

/// `&base[idx]` per lane, without the in-bounds promise (masked-off lanes may
/// point anywhere).
fn gep_v<'ctx>(
    em: &Em<'_, 'ctx>,
    base: PointerValue<'ctx>,
    idx: VectorValue<'ctx>,
) -> KernelResult<VectorValue<'ctx>> {
    // SAFETY: f32 indexing; only unmasked lanes are dereferenced, and those are
    // inside the tensor.
    let p = unsafe {
        em.b.build_gep(em.f32t, base, &[idx.into_int_vector()], "")?
    };
    // SAFETY: a GEP with a vector index is a vector of pointers.
    Ok(unsafe { VectorValue::new(p.as_value_ref()) })
}

trait IntoIntVector<'ctx> {
    fn into_int_vector(self) -> IntValue<'ctx>;
}

impl<'ctx> IntoIntVector<'ctx> for VectorValue<'ctx> {
    /// inkwell's GEP takes `IntValue` indices; a vector of i32 is passed through
    /// as such (LLVM accepts vector indices).
    fn into_int_vector(self) -> IntValue<'ctx> {
        // SAFETY: the value is only handed to LLVM's GEP builder.
        unsafe { IntValue::new(self.as_value_ref()) }
    }
}

/// Emits the Winograd convolution `name` (the common kernel signature, see
/// [`super::gemm`]; weights from [`pack_winograd_weights`]).
pub fn emit_winograd<'ctx>(
    module: &Module<'ctx>,
    spec: &ConvSpec,
    plan: &WinoPlan,
    name: &str,
    isa: Isa,
) -> KernelResult<FunctionValue<'ctx>> {
    let x = Xform::new(plan.m).ok_or_else(|| KernelError::new("winograd: bad m"))?;
    let lanes = isa.lanes.clamp(8, 16) as usize;
    let em = Em::with_lanes(module, name, lanes as u32)?;
    let iv = Ivec {
        em: &em,
        ty: em.i32t.vec_type(lanes as u32),
    };
    let ptr = em.ctx.ptr_type(AddressSpace::default());
    let pv = ptr.vec_type(lanes as u32);
    let gather = Intrinsic::find("llvm.masked.gather")
        .and_then(|i| i.get_declaration(module, &[em.vt.into(), pv.into()]))
        .ok_or_else(|| KernelError::new("llvm.masked.gather not found"))?;
    let scatter = Intrinsic::find("llvm.masked.scatter")
        .and_then(|i| i.get_declaration(module, &[em.vt.into(), pv.into()]))
        .ok_or_else(|| KernelError::new("llvm.masked.scatter not found"))?;
    let align4 = em.i32t.const_int(4, false);
    let do_gather = |base: PointerValue<'ctx>,
                     idx: VectorValue<'ctx>,
                     mask: VectorValue<'ctx>|
     -> KernelResult<VectorValue<'ctx>> {
        let p = gep_v(&em, base, idx)?;
        let call = em.b.build_call(
            gather,
            &[
                p.into(),
                align4.into(),
                mask.into(),
                em.vt.const_zero().into(),
            ],
            "",
        )?;
        match call.try_as_basic_value() {
            inkwell::values::ValueKind::Basic(v) => Ok(v.into_vector_value()),
            _ => err("gather returned void"),
        }
    };
    let do_scatter = |base: PointerValue<'ctx>,
                      idx: VectorValue<'ctx>,
                      mask: VectorValue<'ctx>,
                      v: VectorValue<'ctx>|
     -> KernelResult<()> {
        let p = gep_v(&em, base, idx)?;
        em.b.build_call(
            scatter,
            &[v.into(), p.into(), align4.into(), mask.into()],
            "",
        )?;
        Ok(())
    };

    let input = em.param_ptr(0)?;
    let wts = em.param_ptr(1)?;
    let bias = em.param_ptr(2)?;
    let res = em.param_ptr(3)?;
    let out = em.param_ptr(4)?;
    let (begin, end) = em.task_range(plan.num_tasks)?;

    let (m, a) = (plan.m, plan.alpha);
    let a2 = a * a;
    let (tb, kc) = (plan.tb, plan.kc);
    let (cin, cout) = (spec.cin, spec.cout);
    let (h, w) = (spec.h, spec.w);
    let (oh, ow) = (plan.oh, plan.ow);
    let cc_ch = plan.ppc * MR;
    let v_buf = em.scratch(a2 * kc * tb)?;
    let m_len = a2 * cc_ch * tb;
    let m_buf = em.scratch(m_len)?;
    let nv_isa = ((isa.vregs as usize).saturating_sub(1) / (MR + 1)).clamp(1, 4);
    let nvec_max = tb / lanes;
    let nv = nv_isa.min(nvec_max);
    let zero8 = em.ctx.i8_type().const_zero();
    let plane_in = i64_of(h * w)?;
    let plane_out = i64_of(oh * ow)?;
    let npanels = cout.div_ceil(MR);
    let full_panels = cout / MR;
    let rem_mr = cout % MR;

    em.for_loop(begin, end, |t| {
        let cc = em.uremc(t, i64_of(plan.cchunks)?)?;
        let t = em.udivc(t, i64_of(plan.cchunks)?)?;
        let blk = em.uremc(t, i64_of(plan.nblocks)?)?;
        let n = em.udivc(t, i64_of(plan.nblocks)?)?;
        let t0 = em.mulc(blk, i64_of(tb)?)?;
        let left =
            em.b.build_int_nsw_sub(em.c64(i64_of(plan.tiles)?), t0, "")?;
        let ntl = em.min(left, em.c64(i64_of(tb)?))?;
        let nvec = em.udivc(em.addc(ntl, i64_of(lanes - 1)?)?, i64_of(lanes)?)?;
        // panels p_lo .. p_hi of this chunk
        let p_lo = em.mulc(cc, i64_of(plan.ppc)?)?;
        let p_hi = em.min(em.addc(p_lo, i64_of(plan.ppc)?)?, em.c64(i64_of(npanels)?))?;
        let co_lo = em.mulc(p_lo, MR as i64)?;
        let co_hi = em.min(em.mulc(p_hi, MR as i64)?, em.c64(i64_of(cout)?))?;
        em.b.build_memset(m_buf, 32, zero8, em.c64(i64_of(m_len * 4)?))?;
        // the tile vectors of this block: index `t`, row, column, validity
        let tiles_of = |v: IntValue<'ctx>| -> KernelResult<(
            VectorValue<'ctx>,
            VectorValue<'ctx>,
            VectorValue<'ctx>,
        )> {
            let base = iv.splat(em.add(t0, em.mulc(v, lanes as i64)?)?)?;
            let tv = iv.add(base, iv.iota())?;
            let th =
                em.b.build_int_unsigned_div(tv, iv.c(i64_of(plan.tiles_w)?), "")?;
            let tw =
                em.b.build_int_sub(tv, iv.mulc(th, i64_of(plan.tiles_w)?)?, "")?;
            let ok = iv.below(tv, i64_of(plan.tiles)?)?;
            Ok((th, tw, ok))
        };
        let chunk = |kc0: IntValue<'ctx>, len: usize| -> KernelResult<()> {
            // 1. input transform of channels kc0 .. kc0 + len
            em.for_loop(em.c64(0), nvec, |v| {
                let (th, tw, ok) = tiles_of(v)?;
                let r0 = iv.add(iv.mulc(th, m as i64)?, iv.c(-i64_of(spec.pad[0])?))?;
                let c0 = iv.add(iv.mulc(tw, m as i64)?, iv.c(-i64_of(spec.pad[1])?))?;
                let idx0 = iv.add(iv.mulc(r0, i64_of(w)?)?, c0)?;
                let mut rows = Vec::with_capacity(a);
                let mut cols = Vec::with_capacity(a);
                for i in 0..a {
                    rows.push(iv.and(iv.below(iv.add(r0, iv.c(i as i64))?, i64_of(h)?)?, ok)?);
                    cols.push(iv.below(iv.add(c0, iv.c(i as i64))?, i64_of(w)?)?);
                }
                let v_off = em.mulc(v, lanes as i64)?;
                em.for_loop(em.c64(0), em.c64(i64_of(len)?), |c| {
                    let ch = em.add(em.mulc(n, i64_of(cin)?)?, em.add(kc0, c)?)?;
                    let src = em.gep(input, em.mulc(ch, plane_in)?)?;
                    let mut d = Vec::with_capacity(a2);
                    for (i, &row_ok) in rows.iter().enumerate() {
                        for (j, &col_ok) in cols.iter().enumerate() {
                            let idx = iv.add(idx0, iv.c(i64_of(i * w + j)?))?;
                            d.push(do_gather(src, idx, iv.and(row_ok, col_ok)?)?);
                        }
                    }
                    let vv = emit_sandwich(&em, x.bt, a, a, &d)?;
                    let dst = em.gep(v_buf, em.add(em.mulc(c, i64_of(tb)?)?, v_off)?)?;
                    for (xi, &val) in vv.iter().enumerate() {
                        em.store_v(em.gepc(dst, i64_of(xi * kc * tb)?)?, val, None)?;
                    }
                    Ok(())
                })
            })?;
            // 2. α² GEMMs into M
            let u = unroll_for(len, 4);
            em.for_loop(em.c64(0), em.c64(i64_of(a2)?), |xi| {
                let b0 = em.gep(v_buf, em.mulc(xi, i64_of(kc * tb)?)?)?;
                let panel = |co0: IntValue<'ctx>, mr: usize| -> KernelResult<()> {
                    let a_base = em.gep(
                        wts,
                        em.add(
                            em.mulc(em.add(em.mulc(xi, i64_of(cout)?)?, co0)?, i64_of(cin)?)?,
                            em.mulc(kc0, mr as i64)?,
                        )?,
                    )?;
                    let m_co = em.b.build_int_nsw_sub(co0, co_lo, "")?;
                    let run = |s0: IntValue<'ctx>, nvt: usize| -> KernelResult<()> {
                        let bases: Vec<PointerValue<'ctx>> = (0..nvt)
                            .map(|j| em.gep(b0, em.mulc(em.addc(s0, j as i64)?, lanes as i64)?))
                            .collect::<KernelResult<_>>()?;
                        let shape = TileShape {
                            mr,
                            nv: nvt,
                            a_row_stride: 1,
                            a_k_stride: i64_of(u * mr)?,
                            b_k_stride: i64_of(u * tb)?,
                            taps: (0..u)
                                .map(|q| Ok((i64_of(q * mr)?, i64_of(q * tb)?)))
                                .collect::<KernelResult<_>>()?,
                            iters: (len / u) as u64,
                            b_masks: vec![None; nvt],
                        };
                        let acc = emit_tile(&em, &shape, a_base, &bases)?;
                        for (i, row) in acc.iter().enumerate() {
                            let mrow = em.add(
                                em.mulc(em.addc(m_co, i as i64)?, i64_of(a2 * tb)?)?,
                                em.mulc(xi, i64_of(tb)?)?,
                            )?;
                            for (j, &val) in row.iter().enumerate() {
                                let off =
                                    em.add(mrow, em.mulc(em.addc(s0, j as i64)?, lanes as i64)?)?;
                                let p = em.gep(m_buf, off)?;
                                let old = em.load_v(p, None)?;
                                em.store_v(p, em.fadd(old, val)?, None)?;
                            }
                        }
                        Ok(())
                    };
                    let ntile = em.udivc(nvec, nv as i64)?;
                    em.for_loop(em.c64(0), ntile, |q| run(em.mulc(q, nv as i64)?, nv))?;
                    em.for_loop(em.mulc(ntile, nv as i64)?, nvec, |s| run(s, 1))
                };
                if full_panels > 0 {
                    let hi = em.min(p_hi, em.c64(i64_of(full_panels)?))?;
                    em.for_loop(p_lo, hi, |p| panel(em.mulc(p, MR as i64)?, MR))?;
                }
                if rem_mr > 0 {
                    let has = em.icmp(IntPredicate::EQ, p_hi, em.c64(i64_of(npanels)?))?;
                    em.if_then(has, || panel(em.c64(i64_of(full_panels * MR)?), rem_mr))?;
                }
                Ok(())
            })
        };
        let nfull = cin / kc;
        em.for_loop(em.c64(0), em.c64(i64_of(nfull)?), |k| {
            chunk(em.mulc(k, i64_of(kc)?)?, kc)
        })?;
        if cin % kc != 0 {
            chunk(em.c64(i64_of(nfull * kc)?), cin % kc)?;
        }
        // 3. output transform, epilogue, scatter
        em.for_loop(em.c64(0), nvec, |v| {
            let (th, tw, ok) = tiles_of(v)?;
            let r0 = iv.mulc(th, m as i64)?;
            let c0 = iv.mulc(tw, m as i64)?;
            let idx0 = iv.add(iv.mulc(r0, i64_of(ow)?)?, c0)?;
            let mut rows = Vec::with_capacity(m);
            let mut cols = Vec::with_capacity(m);
            for i in 0..m {
                rows.push(iv.and(iv.below(iv.add(r0, iv.c(i as i64))?, i64_of(oh)?)?, ok)?);
                cols.push(iv.below(iv.add(c0, iv.c(i as i64))?, i64_of(ow)?)?);
            }
            let v_off = em.mulc(v, lanes as i64)?;
            em.for_loop(co_lo, co_hi, |co| {
                let src = em.gep(
                    m_buf,
                    em.add(
                        em.mulc(em.b.build_int_nsw_sub(co, co_lo, "")?, i64_of(a2 * tb)?)?,
                        v_off,
                    )?,
                )?;
                let mv: Vec<VectorValue<'ctx>> = (0..a2)
                    .map(|xi| em.load_v(em.gepc(src, i64_of(xi * tb)?)?, None))
                    .collect::<KernelResult<_>>()?;
                let y = emit_sandwich(&em, x.at, m, a, &mv)?;
                let bv = if spec.bias {
                    Some(em.bcast(em.gep(bias, co)?)?)
                } else {
                    None
                };
                let ch = em.mul(em.add(em.mulc(n, i64_of(cout)?)?, co)?, em.c64(plane_out))?;
                let dst = em.gep(out, ch)?;
                let rsrc = em.gep(res, ch)?;
                for yy in 0..m {
                    for xx in 0..m {
                        let mask = iv.and(rows[yy], cols[xx])?;
                        let idx = iv.add(idx0, iv.c(i64_of(yy * ow + xx)?))?;
                        let mut val = y[yy * m + xx];
                        if let Some(b) = bv {
                            val = em.fadd(val, b)?;
                        }
                        if spec.residual {
                            val = em.fadd(val, do_gather(rsrc, idx, mask)?)?;
                        }
                        val = em.act(val, spec.act)?;
                        do_scatter(dst, idx, mask, val)?;
                    }
                }
                Ok(())
            })
        })
    })?;
    em.ret()?;
    Ok(em.func)
}

/// Estimated cycles of one image on 16-lane FMA vectors (two FMAs a cycle),
/// direct conv on the padded output grid ([`super::conv_wide`]), or the time to
/// stream its weights when they do not stay in L2 and that is longer.
pub fn direct_cycles(spec: &ConvSpec) -> Option<f64> {
    let (oh, ow) = spec.out_hw().ok()?;
    let grid = (oh * (ow + spec.kw - 1)).div_ceil(16) as f64;
    let k = (spec.cin * spec.cout * spec.kh * spec.kw) as f64;
    Some((grid * k * cost::DIRECT_FMA).max(stream(4.0 * k)))
}

/// Estimated cycles of one image on Winograd F(m×m, 3×3): the α² GEMMs (or the
/// time to stream the transformed weights once per block, when they do not stay
/// in L2 and that is longer), the gathers and transforms of the input (once per
/// output-channel chunk), and the output transform and scatters.
pub fn winograd_cycles(spec: &ConvSpec, m: usize) -> Option<f64> {
    let p = WinoPlan::new(spec, m).ok()?;
    let a2 = (p.alpha * p.alpha) as f64;
    let vecs = p.tiles.div_ceil(16) as f64;
    let (cin, cout) = (spec.cin as f64, spec.cout as f64);
    let gemm = a2 * cin * cout * vecs * cost::GEMM_FMA;
    let input = p.cchunks as f64 * cin * vecs * a2 * cost::IN_PER_POINT;
    let output = cout * vecs * (a2 * cost::OUT_PER_POINT + (m * m) as f64 * cost::SCATTER);
    let weights = stream(4.0 * a2 * cin * cout) * p.nblocks as f64;
    Some(gemm.max(weights) + input + output)
}

/// Cycles to stream `bytes` of weights from L3/memory (0 when they fit in L2).
fn stream(bytes: f64) -> f64 {
    if bytes > cost::L2_BYTES {
        bytes / cost::BYTES_PER_CYCLE
    } else {
        0.0
    }
}

/// Cost constants of the estimate (cycles), checked against the per-layer times
/// of `kernels_bench bench_winograd_isa` (see docs/kernels.md, "Winograd").
mod cost {
    /// One 16-lane FMA of the direct conv (two a cycle at ~80 % use).
    pub const DIRECT_FMA: f64 = 0.5 / 0.8;
    /// One 16-lane FMA of the batched GEMM (plus its share of the `M` updates).
    pub const GEMM_FMA: f64 = 0.5 / 0.7;
    /// Input transform per transformed point and 16 tiles (a masked gather and
    /// the transform's adds).
    pub const IN_PER_POINT: f64 = 6.0;
    /// Output transform per transformed point and 16 tiles (a load and adds).
    pub const OUT_PER_POINT: f64 = 2.0;
    /// One 16-lane scatter of the output.
    pub const SCATTER: f64 = 12.0;
    /// Weights larger than this are streamed from L3 (per block for Winograd).
    pub const L2_BYTES: f64 = 1.5 * 1024.0 * 1024.0;
    /// Weight streaming rate (bytes a cycle; ~7.5 GB/s at 3 GHz, what the
    /// 7×7×512 layers reach on one core).
    pub const BYTES_PER_CYCLE: f64 = 2.5;
}

/// The Winograd variant (`m` = 2 or 4) for `spec`, or `None` for direct conv.
///
/// `NNC_WINOGRAD=0` turns Winograd off, `NNC_WINOGRAD=2` or `4` forces that
/// variant on every convolution it applies to (for A/B runs and tests); otherwise
/// the variant with the smallest estimate wins if it beats the direct estimate.
pub fn choose(spec: &ConvSpec) -> Option<usize> {
    if !applies(spec) {
        return None;
    }
    match std::env::var("NNC_WINOGRAD").ok().as_deref() {
        Some("0") => return None,
        Some("2") => return Some(2),
        Some("4") => return Some(4),
        _ => {}
    }
    choose_by_estimate(spec)
}

/// [`choose`] without the environment: the estimate alone.
pub fn choose_by_estimate(spec: &ConvSpec) -> Option<usize> {
    let direct = direct_cycles(spec)?;
    [4usize, 2]
        .into_iter()
        .filter_map(|m| winograd_cycles(spec, m).map(|c| (m, c)))
        .filter(|&(_, c)| c < direct)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(m, _)| m)
}
