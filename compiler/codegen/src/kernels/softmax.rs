//! Softmax along one axis of a tensor viewed as `outer × n × inner`, vectorized
//! with the target's lanes and [`super::vmath`]'s `exp` (no library calls):
//! max (NaN-propagating), `e = exp(x − max)` stored to the output while summing,
//! then a scale by `1 / Σe`.
//!
//! * `inner == 1` (softmax over the last axis, the usual case): one work item is
//!   one row; the passes run over the contiguous row in full vectors plus a
//!   one-lane tail, the vector accumulators reduced horizontally at the end.
//! * `inner > 1`: one work item is a block of up to [`INNER_BLOCK`] consecutive
//!   inner positions of one outer index; the lanes run along `inner` (contiguous
//!   loads), the passes along the axis with stride `inner`.
//!
//! Special values follow the reference: a NaN in a row makes the row NaN (the
//! max is NaN); a `+inf` gives `inf − inf = NaN`, hence a NaN row; an all-`−inf`
//! row is NaN too; `−inf` among finite values gives 0.

use super::elementwise::vec_range_w;
use super::misc::{max_nan, max_nan_vec};
use super::vmath::VMath;
use super::{Kcx, R};
use inkwell::values::{IntValue, PointerValue, VectorValue};

/// Inner positions per work item when `inner > 1` (a multiple of the lanes).
pub const INNER_BLOCK: u64 = 64;

/// Softmax along an axis of `outer × n × inner`.
#[derive(Clone, Debug)]
pub struct SoftmaxPlan {
    pub outer: u64,
    pub n: u64,
    pub inner: u64,
}

impl SoftmaxPlan {
    /// Inner blocks per outer index.
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
        if self.inner == 1 {
            return k.for_range(lo, hi, 1, |row| {
                let base = k.mulc(row, self.n as i64)?;
                self.row(k, lanes, k.gep(out, base)?, k.gep(x, base)?)
            });
        }
        let (n, inner, nb) = (self.n as i64, self.inner as i64, self.blocks() as i64);
        k.for_range(lo, hi, 1, |it| {
            let o = k.divc(it, nb)?;
            let i0 = k.mulc(k.remc(it, nb)?, INNER_BLOCK as i64)?;
            let i1 = k.smin(k.add(i0, k.i64c(INNER_BLOCK as i64))?, k.i64c(inner))?;
            let ob = k.mulc(o, n * inner)?;
            vec_range_w(k, i0, i1, lanes, |i, w| {
                let base = k.add(ob, i)?;
                self.columns(k, w, k.gep(out, base)?, k.gep(x, base)?)
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
    ) -> R<()> {
        let vm = VMath::new(k.b, k.module);
        let n = k.i64c(self.n as i64);
        let zero = k.i64c(0);
        let vacc = k.entry_alloca(k.vty(lanes).into())?;
        let sacc = k.entry_alloca(k.vty(1).into())?;
        let acc_of = |w: u32| if w == lanes { vacc } else { sacc };
        let load = |p: PointerValue<'ctx>, w: u32| -> R<VectorValue<'ctx>> {
            Ok(k.b.build_load(k.vty(w), p, "")?.into_vector_value())
        };
        // max
        k.b.build_store(vacc, k.vconst(f32::NEG_INFINITY, lanes))?;
        k.b.build_store(sacc, k.vconst(f32::NEG_INFINITY, 1))?;
        vec_range_w(k, zero, n, lanes, |i, w| {
            let v = k.load_vec(k.gep(x, i)?, w)?;
            let a = acc_of(w);
            k.b.build_store(a, max_nan_vec(k, load(a, w)?, v)?)?;
            Ok(())
        })?;
        let mut m = k.lane(load(sacc, 1)?, 0)?;
        let mv = load(vacc, lanes)?;
        for l in 0..lanes {
            m = max_nan(k, m, k.lane(mv, l)?)?;
        }
        // e = exp(x − m), stored, summed
        k.b.build_store(vacc, k.vconst(0.0, lanes))?;
        k.b.build_store(sacc, k.vconst(0.0, 1))?;
        vec_range_w(k, zero, n, lanes, |i, w| {
            let v = k.load_vec(k.gep(x, i)?, w)?;
            let d = k.b.build_float_sub(v, k.splat(m, w)?, "")?;
            let e = vm.exp(d)?;
            k.store_vec(k.gep(out, i)?, e)?;
            let a = acc_of(w);
            k.b.build_store(a, k.b.build_float_add(load(a, w)?, e, "")?)?;
            Ok(())
        })?;
        let s =
            k.b.build_float_add(k.hsum(load(vacc, lanes)?)?, k.lane(load(sacc, 1)?, 0)?, "")?;
        let r = k.b.build_float_div(k.f32c(1.0), s, "")?;
        // scale
        vec_range_w(k, zero, n, lanes, |i, w| {
            let p = k.gep(out, i)?;
            let e = k.load_vec(p, w)?;
            k.store_vec(p, k.b.build_float_mul(e, k.splat(r, w)?, "")?)
        })
    }

    /// `w` adjacent inner positions (lanes), the axis strided by `inner`.
    fn columns<'ctx>(
        &self,
        k: &Kcx<'ctx, '_>,
        w: u32,
        out: PointerValue<'ctx>,
        x: PointerValue<'ctx>,
    ) -> R<()> {
        let vm = VMath::new(k.b, k.module);
        let (n, inner) = (self.n as i64, self.inner as i64);
        let acc = k.entry_alloca(k.vty(w).into())?;
        let load_acc = || -> R<VectorValue<'ctx>> {
            Ok(k.b.build_load(k.vty(w), acc, "")?.into_vector_value())
        };
        k.b.build_store(acc, k.vconst(f32::NEG_INFINITY, w))?;
        k.for_const(0, n, 1, |j| {
            let v = k.load_vec(k.gep(x, k.mulc(j, inner)?)?, w)?;
            k.b.build_store(acc, max_nan_vec(k, load_acc()?, v)?)?;
            Ok(())
        })?;
        let m = load_acc()?;
        k.b.build_store(acc, k.vconst(0.0, w))?;
        k.for_const(0, n, 1, |j| {
            let off = k.mulc(j, inner)?;
            let v = k.load_vec(k.gep(x, off)?, w)?;
            let e = vm.exp(k.b.build_float_sub(v, m, "")?)?;
            k.store_vec(k.gep(out, off)?, e)?;
            k.b.build_store(acc, k.b.build_float_add(load_acc()?, e, "")?)?;
            Ok(())
        })?;
        let r = k.b.build_float_div(k.vconst(1.0, w), load_acc()?, "")?;
        k.for_const(0, n, 1, |j| {
            let p = k.gep(out, k.mulc(j, inner)?)?;
            let e = k.load_vec(p, w)?;
            k.store_vec(p, k.b.build_float_mul(e, r, "")?)
        })
    }
}
