//! Batched matrix multiplication `C[b] = act(alpha · A[b] · B[b])` on the
//! register-tile micro-kernel of [`super::gemm`] (`emit_tile`), with
//! broadcasting and arbitrary strides.
//!
//! Every operand is addressed through strides, so that transposes and head
//! splits are *layout*, not copies: `A[b][m][k]` at `a_off(b) + m·a_rs +
//! k·a_cs` (any strides: the micro-kernel broadcasts single elements of A),
//! `B[b][k][n]` at `b_off(b) + k·b_rs + n·b_cs`, `C[b][m][n]` at `c_off(b) +
//! m·c_rs + n` (columns contiguous). A batch axis of stride 0 broadcasts.
//!
//! * `b_cs == 1` (B's columns contiguous, `A·B`, attention's `P·V`): the
//!   micro-kernel loads B's rows in place.
//! * otherwise (`A·Bᵀ`, attention's `Q·Kᵀ`, where `b_rs == 1`): each work item
//!   first packs its panel of B into a `K × PANEL` stack buffer (a small
//!   transpose that stays in L1), then runs the micro-kernel on it.
//!
//! Work items are `batch × ⌈n / PANEL⌉` column panels (all rows of a panel in
//! one item). The register tile is chosen from the ISA at emission:
//! `6 × 16` on AVX2 (12 ymm accumulators), `12 × 32` on AVX-512 (24 zmm).
//! `alpha` (attention's `1/√d`) and the activation are applied in registers
//! before the store.

use super::gemm::{
    emit_tile, i64_of, set_target_attrs, unroll_for, Em, KernelError, KernelResult, TileShape,
};
use super::{CgError, Kcx, R};
use crate::PlanError;
use inkwell::module::Linkage;
use inkwell::values::{IntValue, PointerValue};
use inkwell::IntPredicate;
use nnc_ir::Activation;

/// Columns of C per work item (a multiple of every ISA's sub-panel width).
pub const PANEL: u64 = 32;

/// Largest `K × PANEL` packing buffer (f32) for a strided B (256 KiB of stack).
pub const MAX_PACK: u64 = 65536;

/// A matmul operand: its logical shape and the element strides its values
/// are read with (C order for a materialized tensor, permuted for a
/// permute planned as a view).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operand {
    pub shape: Vec<usize>,
    pub strides: Vec<i64>,
}

/// A batched, strided matrix multiplication (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct MatMulPlan {
    /// Batch axes (C order) and the strides of A, B and C along them.
    pub batch: Vec<u64>,
    pub a_batch: Vec<i64>,
    pub b_batch: Vec<i64>,
    pub c_batch: Vec<i64>,
    pub m: u64,
    pub k: u64,
    pub n: u64,
    pub a_rs: i64,
    pub a_cs: i64,
    pub b_rs: i64,
    pub b_cs: i64,
    pub c_rs: i64,
    /// Scale applied to the product (1 = none).
    pub alpha: f32,
    pub act: Option<Activation>,
}

impl MatMulPlan {
    /// `C[batch, m, n] = A[batch, m, k] · B[batch, k, n]` for C-order
    /// operands whose batch shapes broadcast to `batch` (each of `a_batch` /
    /// `b_batch` is the operand's batch shape, right-aligned; a 1 broadcasts);
    /// `trans_b`: B is stored `[.., n, k]`.
    pub fn contiguous(
        batch: &[usize],
        a_batch: &[usize],
        b_batch: &[usize],
        m: usize,
        k: usize,
        n: usize,
        trans_b: bool,
    ) -> Result<MatMulPlan, PlanError> {
        let strides = |shape: &[usize], mat: usize| -> Result<Vec<i64>, PlanError> {
            if shape.len() > batch.len() {
                return Err(PlanError::unsupported(
                    "matmul: operand has more batch axes than the result",
                ));
            }
            let lead = batch.len() - shape.len();
            let mut st = vec![0i64; batch.len()];
            let mut acc = mat as i64;
            for a in (0..shape.len()).rev() {
                let d = shape[a];
                if d != 1 && d != batch[lead + a] {
                    return Err(PlanError::unsupported(
                        "matmul: batch shapes do not broadcast",
                    ));
                }
                st[lead + a] = if d == 1 { 0 } else { acc };
                acc *= d as i64;
            }
            Ok(st)
        };
        let (b_rs, b_cs) = if trans_b {
            (1, k as i64)
        } else {
            (n as i64, 1)
        };
        MatMulPlan {
            batch: batch.iter().map(|&d| d as u64).collect(),
            a_batch: strides(a_batch, m * k)?,
            b_batch: strides(b_batch, k * n)?,
            c_batch: strides(batch, m * n)?,
            m: m as u64,
            k: k as u64,
            n: n as u64,
            a_rs: k as i64,
            a_cs: 1,
            b_rs,
            b_cs,
            c_rs: n as i64,
            alpha: 1.0,
            act: None,
        }
        .checked()
    }

    /// `C[batch, m, n] = A · B` for operands read through any strides (each
    /// operand's batch shape right-aligned to `batch`; a 1 broadcasts): a
    /// permuted operand needs no copy ([`crate::layout`]). C is C order.
    pub fn strided(batch: &[usize], a: &Operand, b: &Operand) -> Result<MatMulPlan, PlanError> {
        let m = a
            .shape
            .get(a.shape.len().wrapping_sub(2))
            .copied()
            .unwrap_or(0);
        let n = b.shape.last().copied().unwrap_or(0);
        let c_shape: Vec<usize> = batch.iter().copied().chain([m, n]).collect();
        Self::strided_into(batch, a, b, &super::strided::c_strides(&c_shape))
    }

    /// [`MatMulPlan::strided`] writing `C[batch.., m, n]` at the element
    /// strides `c` (one per axis of C; its columns must be contiguous): a
    /// permute of the product that keeps the last axis is written in place.
    pub fn strided_into(
        batch: &[usize],
        a: &Operand,
        b: &Operand,
        c: &[i64],
    ) -> Result<MatMulPlan, PlanError> {
        let (ra, rb) = (a.shape.len(), b.shape.len());
        if ra < 2 || rb < 2 || a.strides.len() != ra || b.strides.len() != rb {
            return Err(PlanError::unsupported("matmul: operands need rank >= 2"));
        }
        let (m, k, n) = (a.shape[ra - 2], a.shape[ra - 1], b.shape[rb - 1]);
        if b.shape[rb - 2] != k {
            return Err(PlanError::unsupported("matmul: inner sizes differ"));
        }
        let batch_strides = |o: &Operand| -> Result<Vec<i64>, PlanError> {
            let r = o.shape.len() - 2;
            if r > batch.len() {
                return Err(PlanError::unsupported(
                    "matmul: operand has more batch axes than the result",
                ));
            }
            let lead = batch.len() - r;
            let mut st = vec![0i64; batch.len()];
            for a in 0..r {
                let d = o.shape[a];
                if d != 1 && d != batch[lead + a] {
                    return Err(PlanError::unsupported(
                        "matmul: batch shapes do not broadcast",
                    ));
                }
                st[lead + a] = if d == 1 { 0 } else { o.strides[a] };
            }
            Ok(st)
        };
        if c.len() != batch.len() + 2 || (n > 1 && c[batch.len() + 1] != 1) {
            return Err(PlanError::unsupported(
                "matmul: the result's columns must be contiguous",
            ));
        }
        MatMulPlan {
            batch: batch.iter().map(|&d| d as u64).collect(),
            a_batch: batch_strides(a)?,
            b_batch: batch_strides(b)?,
            c_batch: c[..batch.len()].to_vec(),
            m: m as u64,
            k: k as u64,
            n: n as u64,
            a_rs: a.strides[ra - 2],
            a_cs: a.strides[ra - 1],
            b_rs: b.strides[rb - 2],
            // a single column is contiguous whatever its stride
            b_cs: if n == 1 { 1 } else { b.strides[rb - 1] },
            c_rs: c[batch.len()],
            alpha: 1.0,
            act: None,
        }
        .checked()
    }

    /// Validates the plan (sizes, batch axes, packing buffer).
    pub fn checked(self) -> Result<MatMulPlan, PlanError> {
        let nb = self.batch.len();
        if self.a_batch.len() != nb || self.b_batch.len() != nb || self.c_batch.len() != nb {
            return Err(PlanError::unsupported("matmul: one stride per batch axis"));
        }
        if self.m == 0 || self.n == 0 || self.k == 0 || self.batch.contains(&0) {
            return Err(PlanError::unsupported("matmul: empty operand"));
        }
        if self.b_cs != 1 && self.k * PANEL > MAX_PACK {
            return Err(PlanError::Unsupported(format!(
                "matmul: K = {} too large for a transposed B (at most {})",
                self.k,
                MAX_PACK / PANEL
            )));
        }
        Ok(self)
    }

    fn panels(&self) -> u64 {
        self.n.div_ceil(PANEL)
    }

    /// Number of work items.
    pub fn items(&self) -> u64 {
        self.batch.iter().product::<u64>() * self.panels()
    }

    /// Multiply-accumulates.
    pub fn macs(&self) -> u64 {
        self.batch.iter().product::<u64>() * self.m * self.k * self.n
    }

    /// Emits the kernel function and a call of it for items `lo..hi`: `a`
    /// and `b` are the operands' buffers, `out` is C.
    #[allow(clippy::too_many_arguments)]
    pub fn emit<'ctx>(
        &self,
        k: &Kcx<'ctx, '_>,
        name: &str,
        out: PointerValue<'ctx>,
        a: PointerValue<'ctx>,
        b: PointerValue<'ctx>,
        lo: IntValue<'ctx>,
        hi: IntValue<'ctx>,
    ) -> R<()> {
        let isa = k.isa();
        let f = self
            .emit_fn(k.module, name, isa.lanes)
            .map_err(|e| CgError(format!("{name}: {}", e.message)))?;
        f.set_linkage(Linkage::Internal);
        set_target_attrs(f, k.cpu, k.features);
        let null = k.ptrt.const_null();
        k.b.build_call(
            f,
            &[
                a.into(),
                b.into(),
                null.into(),
                null.into(),
                out.into(),
                lo.into(),
                hi.into(),
            ],
            "",
        )?;
        Ok(())
    }

    /// The kernel function `(A, B, -, -, C, begin, end)` for `lanes`-wide vectors.
    pub fn emit_fn<'ctx>(
        &self,
        module: &inkwell::module::Module<'ctx>,
        name: &str,
        lanes: u32,
    ) -> KernelResult<inkwell::values::FunctionValue<'ctx>> {
        let em = Em::with_lanes(module, name, lanes)?;
        let l = lanes as u64;
        // sub-panel: NV vectors; rows per tile from the register budget
        const NV: usize = 2;
        let mr: usize = if lanes >= 16 { 12 } else { 6 };
        let sw = NV as u64 * l;
        let pa = em.param_ptr(0)?;
        let pb = em.param_ptr(1)?;
        let pc = em.param_ptr(4)?;
        let panels = self.panels();
        let items =
            usize::try_from(self.items()).map_err(|_| KernelError::new("too many items"))?;
        let (begin, end) = em.task_range(items)?;
        let packed = self.b_cs != 1;
        let scratch = if packed {
            Some(em.scratch((self.k * PANEL) as usize)?)
        } else {
            None
        };
        let kk = self.k as usize;
        let u = unroll_for(kk, 4);
        let cols_last = self.n - (panels - 1) * PANEL;
        em.for_loop(begin, end, |it| {
            let bi = em.udivc(it, panels as i64)?;
            let panel = em.uremc(it, panels as i64)?;
            // batch offsets
            let (mut ao, mut bo, mut co) = (em.c64(0), em.c64(0), em.c64(0));
            let mut div = 1i64;
            for ax in (0..self.batch.len()).rev() {
                let d = self.batch[ax] as i64;
                let i = em.uremc(em.udivc(bi, div)?, d)?;
                ao = em.add(ao, em.mulc(i, self.a_batch[ax])?)?;
                bo = em.add(bo, em.mulc(i, self.b_batch[ax])?)?;
                co = em.add(co, em.mulc(i, self.c_batch[ax])?)?;
                div *= d;
            }
            let n0 = em.mulc(panel, PANEL as i64)?;
            let a_base = em.gep(pa, ao)?;
            let c_base = em.gep(pc, em.add(co, n0)?)?;
            let b_panel = em.gep(pb, em.add(bo, em.mulc(n0, self.b_cs)?)?)?;
            let body = |cols: u64| -> KernelResult<()> {
                // B source of this panel: packed scratch or in place
                let (bsrc, b_k) = match scratch {
                    Some(s) => {
                        // pack B[k][n0 + c] → s[k·PANEL + c]
                        em.for_loop(em.c64(0), em.c64(i64_of(cols as usize)?), |c| {
                            let src = em.gep(b_panel, em.mulc(c, self.b_cs)?)?;
                            let dst = em.gep(s, c)?;
                            em.for_loop(em.c64(0), em.c64(self.k as i64), |q| {
                                let v = em.load_f32(em.gep(src, em.mulc(q, self.b_rs)?)?)?;
                                em.store_f32(em.gep(dst, em.mulc(q, PANEL as i64)?)?, v)
                            })
                        })?;
                        (s, PANEL as i64)
                    }
                    None => (b_panel, self.b_rs),
                };
                let mut c0 = 0u64;
                while c0 < cols {
                    let scols = (cols - c0).min(sw);
                    let nv = scols.div_ceil(l) as usize;
                    let tail = (scols % l) as usize;
                    let masks: Vec<_> = (0..nv)
                        .map(|j| (tail != 0 && j == nv - 1).then(|| em.const_mask(tail)))
                        .collect();
                    let b_bases: Vec<PointerValue<'ctx>> = (0..nv)
                        .map(|j| em.gepc(bsrc, (c0 + j as u64 * l) as i64))
                        .collect::<KernelResult<_>>()?;
                    let mut rows_done = 0u64;
                    while rows_done < self.m {
                        let mr = (mr as u64).min(self.m - rows_done) as usize;
                        let full = (self.m - rows_done) / mr as u64;
                        let start = rows_done as i64;
                        em.for_loop(em.c64(0), em.c64(full as i64), |t| {
                            let m0 = em.addc(em.mulc(t, mr as i64)?, start)?;
                            let shape = TileShape {
                                mr,
                                nv,
                                a_row_stride: self.a_rs,
                                a_k_stride: u as i64 * self.a_cs,
                                b_k_stride: u as i64 * b_k,
                                taps: (0..u as i64).map(|t| (t * self.a_cs, t * b_k)).collect(),
                                iters: (kk / u) as u64,
                                b_masks: masks.clone(),
                            };
                            let ab = em.gep(a_base, em.mulc(m0, self.a_rs)?)?;
                            let acc = emit_tile(&em, &shape, ab, &b_bases)?;
                            for (i, row) in acc.iter().enumerate() {
                                let m = em.addc(m0, i as i64)?;
                                let crow = em.gep(c_base, em.mulc(m, self.c_rs)?)?;
                                for (j, &v) in row.iter().enumerate() {
                                    let mut v = v;
                                    if self.alpha != 1.0 {
                                        let s = em.splat(em.f32t.const_float(self.alpha as f64))?;
                                        v = em.b.build_float_mul(v, s, "")?;
                                    }
                                    v = em.act(v, self.act)?;
                                    let p = em.gepc(crow, (c0 + j as u64 * l) as i64)?;
                                    em.store_v(p, v, masks[j])?;
                                }
                            }
                            Ok(())
                        })?;
                        rows_done += full * mr as u64;
                    }
                    c0 += scols;
                }
                Ok(())
            };
            if panels == 1 {
                body(cols_last)
            } else if cols_last == PANEL {
                body(PANEL)
            } else {
                let last = em.icmp(IntPredicate::EQ, panel, em.c64(panels as i64 - 1))?;
                let t = em.ctx.append_basic_block(em.func, "panel.last");
                let f = em.ctx.append_basic_block(em.func, "panel.full");
                let j = em.ctx.append_basic_block(em.func, "panel.join");
                em.b.build_conditional_branch(last, t, f)?;
                em.b.position_at_end(t);
                body(cols_last)?;
                em.b.build_unconditional_branch(j)?;
                em.b.position_at_end(f);
                body(PANEL)?;
                em.b.build_unconditional_branch(j)?;
                em.b.position_at_end(j);
                Ok(())
            }
        })?;
        em.ret()?;
        Ok(em.func)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_strides_and_checks() {
        let p = MatMulPlan::contiguous(&[2, 3], &[3], &[2, 1], 4, 5, 6, false).unwrap();
        assert_eq!(p.a_batch, vec![0, 20]);
        assert_eq!(p.b_batch, vec![30, 0]);
        assert_eq!(p.c_batch, vec![72, 24]);
        assert_eq!(p.items(), 6);
        let t = MatMulPlan::contiguous(&[1], &[1], &[1], 4, 5, 6, true).unwrap();
        assert_eq!((t.b_rs, t.b_cs), (1, 5));
        assert!(MatMulPlan::contiguous(&[2], &[3], &[2], 4, 5, 6, false).is_err());
        assert!(MatMulPlan::contiguous(&[1], &[1], &[1], 4, 5000, 6, true).is_err());
        assert!(MatMulPlan::contiguous(&[1], &[1], &[1], 0, 5, 6, false).is_err());
    }
}
