//! Scalar arithmetic on a tensor, `y = x · mul + add` (the language's
//! `x * 0.125`, `x + 1.0`, `1.0 - x`, `-x`), vectorized with the target's
//! lanes; safe in place. And [`ConstPlan`]: a standalone parameter's values
//! copied from the weights into its buffer.

use super::elementwise::{vec_range_w, Chunked};
use super::{CgError, Kcx, R};
use inkwell::values::{IntValue, PointerValue};

/// `y = x · mul + add` element-wise.
#[derive(Clone, Debug)]
pub struct AffinePlan {
    pub mul: f32,
    pub add: f32,
    pub sp: Chunked,
}

impl AffinePlan {
    /// Emits items `lo..hi`. The product and the sum are rounded separately
    /// (as PyTorch's `x * a + b` is), not fused.
    pub fn emit<'ctx>(
        &self,
        k: &Kcx<'ctx, '_>,
        out: PointerValue<'ctx>,
        x: PointerValue<'ctx>,
        lo: IntValue<'ctx>,
        hi: IntValue<'ctx>,
    ) -> R<()> {
        let inner = self.sp.inner as i64;
        self.sp.emit(k, lo, hi, |o, a, b| {
            let base = k.mulc(o, inner)?;
            let xo = k.gep(x, base)?;
            let oo = k.gep(out, base)?;
            vec_range_w(k, a, b, k.isa().lanes, |i, w| {
                let mut v = k.load_vec(k.gep(xo, i)?, w)?;
                if self.mul != 1.0 {
                    v = k.b.build_float_mul(v, k.vconst(self.mul, w), "")?;
                }
                if self.add != 0.0 {
                    v = k.b.build_float_add(v, k.vconst(self.add, w), "")?;
                }
                k.store_vec(k.gep(oo, i)?, v)
            })
        })
    }
}

/// A parameter's `len` values copied from the weights at `w_off` (one item).
#[derive(Clone, Debug)]
pub struct ConstPlan {
    pub len: u64,
    pub w_off: u64,
}

impl ConstPlan {
    /// Emits the copy (items `lo..hi` ⊆ `0..1`).
    pub fn emit<'ctx>(
        &self,
        k: &Kcx<'ctx, '_>,
        out: PointerValue<'ctx>,
        lo: IntValue<'ctx>,
        hi: IntValue<'ctx>,
    ) -> R<()> {
        k.for_range(lo, hi, 1, |_| {
            let src = k.wptr(self.w_off)?;
            k.b.build_memcpy(out, 4, src, 4, k.i64c((self.len * 4) as i64))
                .map_err(|e| CgError(e.to_string()))?;
            Ok(())
        })
    }
}
