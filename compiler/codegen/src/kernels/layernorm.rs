//! Layer normalization over one axis of a tensor viewed as `outer × n ×
//! inner`, vectorized with the target's lanes:
//! `y = (x − mean) / sqrt(var + eps) · gamma + beta`, the biased variance
//! computed in a second pass over `x − mean` (no cancellation).
//!
//! * `inner == 1` (over the last axis, the transformer form): one work item is
//!   one row; each pass runs over the contiguous row in full vectors plus a
//!   one-lane tail, vector accumulators reduced at the end.
//! * `inner > 1` (channels-first, `LayerNorm2d` on NCHW: over C per pixel):
//!   one work item is a block of up to [`INNER_BLOCK`] pixels of one image;
//!   the lanes run along the pixels (contiguous), the passes along the
//!   channels with stride `inner`, so no transpose is needed.
//!
//! `gamma` and `beta` (`n` each, in that order) are the step's weights, at
//! `w_off`.

use super::elementwise::vec_range_w;
use super::{Kcx, R};
use inkwell::values::{FloatValue, IntValue, PointerValue, VectorValue};

/// Inner positions per work item when `inner > 1` (a multiple of the lanes).
pub const INNER_BLOCK: u64 = 64;

/// Layer normalization along an axis of `outer × n × inner`.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerNormPlan {
    pub outer: u64,
    pub n: u64,
    pub inner: u64,
    pub eps: f32,
    /// Offset of `gamma[n]` then `beta[n]` in the weights.
    pub w_off: u64,
}

impl LayerNormPlan {
    fn blocks(&self) -> u64 {
        self.inner.div_ceil(INNER_BLOCK).max(1)
    }

    /// Number of work items.
    pub fn items(&self) -> u64 {
        self.outer * self.blocks()
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
        let lanes = k.isa().lanes;
        let gamma = k.wptr(self.w_off)?;
        let beta = k.wptr(self.w_off + self.n)?;
        if self.inner == 1 {
            return k.for_range(lo, hi, 1, |row| {
                let base = k.mulc(row, self.n as i64)?;
                self.row(k, lanes, k.gep(out, base)?, k.gep(x, base)?, gamma, beta)
            });
        }
        let (n, inner, nb) = (self.n as i64, self.inner as i64, self.blocks() as i64);
        k.for_range(lo, hi, 1, |it| {
            let o = k.divc(it, nb)?;
            let i0 = k.mulc(k.remc(it, nb)?, INNER_BLOCK as i64)?;
            let i1 = k.smin(k.addc(i0, INNER_BLOCK as i64)?, k.i64c(inner))?;
            let ob = k.mulc(o, n * inner)?;
            vec_range_w(k, i0, i1, lanes, |i, w| {
                let base = k.add(ob, i)?;
                self.columns(k, w, k.gep(out, base)?, k.gep(x, base)?, gamma, beta)
            })
        })
    }

    /// One contiguous row of `n` values.
    fn row<'ctx>(
        &self,
        k: &Kcx<'ctx, '_>,
        lanes: u32,
        out: PointerValue<'ctx>,
        x: PointerValue<'ctx>,
        gamma: PointerValue<'ctx>,
        beta: PointerValue<'ctx>,
    ) -> R<()> {
        let n = k.i64c(self.n as i64);
        let zero = k.i64c(0);
        let vacc = k.entry_alloca(k.vty(lanes).into())?;
        let sacc = k.entry_alloca(k.vty(1).into())?;
        let acc_of = |w: u32| if w == lanes { vacc } else { sacc };
        let load = |p: PointerValue<'ctx>, w: u32| -> R<VectorValue<'ctx>> {
            Ok(k.b.build_load(k.vty(w), p, "")?.into_vector_value())
        };
        let total = || -> R<FloatValue<'ctx>> {
            Ok(k.b.build_float_add(k.hsum(load(vacc, lanes)?)?, k.lane(load(sacc, 1)?, 0)?, "")?)
        };
        let inv_n = k.f32c(1.0 / self.n as f32);
        // mean
        k.b.build_store(vacc, k.vconst(0.0, lanes))?;
        k.b.build_store(sacc, k.vconst(0.0, 1))?;
        vec_range_w(k, zero, n, lanes, |i, w| {
            let v = k.load_vec(k.gep(x, i)?, w)?;
            let a = acc_of(w);
            k.b.build_store(a, k.b.build_float_add(load(a, w)?, v, "")?)?;
            Ok(())
        })?;
        let mean = k.b.build_float_mul(total()?, inv_n, "")?;
        // variance of x − mean
        k.b.build_store(vacc, k.vconst(0.0, lanes))?;
        k.b.build_store(sacc, k.vconst(0.0, 1))?;
        vec_range_w(k, zero, n, lanes, |i, w| {
            let v = k.load_vec(k.gep(x, i)?, w)?;
            let d = k.b.build_float_sub(v, k.splat(mean, w)?, "")?;
            let a = acc_of(w);
            k.b.build_store(a, k.fma(d, d, load(a, w)?)?)?;
            Ok(())
        })?;
        let var = k.b.build_float_mul(total()?, inv_n, "")?;
        let rstd = self.rstd(k, var)?;
        // y = (x − mean)·rstd·gamma + beta
        vec_range_w(k, zero, n, lanes, |i, w| {
            let v = k.load_vec(k.gep(x, i)?, w)?;
            let d = k.b.build_float_sub(v, k.splat(mean, w)?, "")?;
            let t = k.b.build_float_mul(d, k.splat(rstd, w)?, "")?;
            let g = k.load_vec(k.gep(gamma, i)?, w)?;
            let bt = k.load_vec(k.gep(beta, i)?, w)?;
            k.store_vec(k.gep(out, i)?, k.fma(t, g, bt)?)
        })
    }

    /// `1 / sqrt(var + eps)` (scalar).
    fn rstd<'ctx>(&self, k: &Kcx<'ctx, '_>, var: FloatValue<'ctx>) -> R<FloatValue<'ctx>> {
        let ve = k.b.build_float_add(var, k.f32c(self.eps), "")?;
        let s = k
            .intrinsic("llvm.sqrt", &[k.f32t.into()], &[ve.into()])?
            .into_float_value();
        Ok(k.b.build_float_div(k.f32c(1.0), s, "")?)
    }

    /// `w` adjacent inner positions (lanes), the axis strided by `inner`.
    fn columns<'ctx>(
        &self,
        k: &Kcx<'ctx, '_>,
        w: u32,
        out: PointerValue<'ctx>,
        x: PointerValue<'ctx>,
        gamma: PointerValue<'ctx>,
        beta: PointerValue<'ctx>,
    ) -> R<()> {
        let (n, inner) = (self.n as i64, self.inner as i64);
        let acc = k.entry_alloca(k.vty(w).into())?;
        let load_acc = || -> R<VectorValue<'ctx>> {
            Ok(k.b.build_load(k.vty(w), acc, "")?.into_vector_value())
        };
        let inv_n = k.vconst(1.0 / self.n as f32, w);
        k.b.build_store(acc, k.vconst(0.0, w))?;
        k.for_const(0, n, 1, |j| {
            let v = k.load_vec(k.gep(x, k.mulc(j, inner)?)?, w)?;
            k.b.build_store(acc, k.b.build_float_add(load_acc()?, v, "")?)?;
            Ok(())
        })?;
        let mean = k.b.build_float_mul(load_acc()?, inv_n, "")?;
        k.b.build_store(acc, k.vconst(0.0, w))?;
        k.for_const(0, n, 1, |j| {
            let v = k.load_vec(k.gep(x, k.mulc(j, inner)?)?, w)?;
            let d = k.b.build_float_sub(v, mean, "")?;
            k.b.build_store(acc, k.fma(d, d, load_acc()?)?)?;
            Ok(())
        })?;
        let var = k.b.build_float_mul(load_acc()?, inv_n, "")?;
        let ve = k.b.build_float_add(var, k.vconst(self.eps, w), "")?;
        let s = k
            .intrinsic("llvm.sqrt", &[k.vty(w).into()], &[ve.into()])?
            .into_vector_value();
        let rstd = k.b.build_float_div(k.vconst(1.0, w), s, "")?;
        k.for_const(0, n, 1, |j| {
            let off = k.mulc(j, inner)?;
            let v = k.load_vec(k.gep(x, off)?, w)?;
            let d = k.b.build_float_sub(v, mean, "")?;
            let t = k.b.build_float_mul(d, rstd, "")?;
            let g = k.splat(k.load_f(k.gep(gamma, j)?)?, w)?;
            let bt = k.splat(k.load_f(k.gep(beta, j)?)?, w)?;
            k.store_vec(k.gep(out, off)?, k.fma(t, g, bt)?)
        })
    }
}
