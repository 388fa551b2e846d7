//! Element-wise kernels: activations, standalone batchnorm, broadcasting
//! add/mul. All vectorized with `<8 x float>` and a `<1 x float>` tail.

use super::vmath::VMath;
use super::{Kcx, R, VW};
use inkwell::values::{IntValue, PointerValue, VectorValue};
use nnc_ir::{Activation, BinaryKind};

/// Elements per work item of element-wise kernels (a multiple of 8).
pub const CHUNK: u64 = 8192;

/// Applies `act` to a vector with the semantics of [`Activation::apply`]
/// (NaN kept by the clamps; sigmoid/tanh/SiLU/GELU as vectorized approximations
/// accurate to a few ulp, see [`super::vmath`]).
pub fn apply_act<'ctx>(
    k: &Kcx<'ctx, '_>,
    act: Activation,
    v: VectorValue<'ctx>,
) -> R<VectorValue<'ctx>> {
    Ok(VMath::new(k.b, k.module).act(Some(act), v)?)
}

/// Runs `f(i, w)` over `lo..hi`: 8-wide steps, then a 1-wide tail.
pub fn vec_range<'ctx>(
    k: &Kcx<'ctx, '_>,
    lo: IntValue<'ctx>,
    hi: IntValue<'ctx>,
    f: impl FnMut(IntValue<'ctx>, u32) -> R<()>,
) -> R<()> {
    vec_range_w(k, lo, hi, VW, f)
}

/// Runs `f(i, w)` over `lo..hi`: `width`-wide steps, then a 1-wide tail.
pub fn vec_range_w<'ctx>(
    k: &Kcx<'ctx, '_>,
    lo: IntValue<'ctx>,
    hi: IntValue<'ctx>,
    width: u32,
    mut f: impl FnMut(IntValue<'ctx>, u32) -> R<()>,
) -> R<()> {
    let n = k.sub(hi, lo)?;
    let nv = k.mulc(k.divc(n, width as i64)?, width as i64)?;
    let vend = k.add(lo, nv)?;
    k.for_range(lo, vend, width as i64, |i| f(i, width))?;
    k.for_range(vend, hi, 1, |i| f(i, 1))
}

/// Splits an iteration space of `outer × inner` elements into work items of
/// at most [`CHUNK`] inner elements.
#[derive(Clone, Copy, Debug)]
pub struct Chunked {
    pub outer: u64,
    pub inner: u64,
    pub chunks: u64,
}

impl Chunked {
    /// The chunking of `outer × inner`.
    pub fn new(outer: u64, inner: u64) -> Chunked {
        let chunks = inner.div_ceil(CHUNK).max(1);
        Chunked {
            outer,
            inner,
            chunks,
        }
    }

    /// Number of work items.
    pub fn items(&self) -> u64 {
        self.outer * self.chunks
    }

    /// For each item in `lo..hi`: `f(outer_index, inner_lo, inner_hi)`.
    pub fn emit<'ctx>(
        &self,
        k: &Kcx<'ctx, '_>,
        lo: IntValue<'ctx>,
        hi: IntValue<'ctx>,
        mut f: impl FnMut(IntValue<'ctx>, IntValue<'ctx>, IntValue<'ctx>) -> R<()>,
    ) -> R<()> {
        let s = *self;
        k.for_range(lo, hi, 1, |it| {
            if s.chunks == 1 {
                return f(it, k.i64c(0), k.i64c(s.inner as i64));
            }
            let o = k.divc(it, s.chunks as i64)?;
            let ch = k.remc(it, s.chunks as i64)?;
            let a = k.mulc(ch, CHUNK as i64)?;
            let b = k.smin(k.addc(a, CHUNK as i64)?, k.i64c(s.inner as i64))?;
            f(o, a, b)
        })
    }
}

/// Loads `w` elements at `base[i]`.
fn ld<'ctx>(
    k: &Kcx<'ctx, '_>,
    base: PointerValue<'ctx>,
    i: IntValue<'ctx>,
    w: u32,
) -> R<VectorValue<'ctx>> {
    k.load_vec(k.gep(base, i)?, w)
}

/// An activation over `n` contiguous elements.
#[derive(Clone, Debug)]
pub struct UnaryPlan {
    pub act: Activation,
    pub sp: Chunked,
}

impl UnaryPlan {
    /// Emits items `lo..hi`.
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
            // the transcendentals are compute-bound: full target width
            vec_range_w(k, a, b, k.isa().lanes, |i, w| {
                let v = ld(k, xo, i, w)?;
                let r = apply_act(k, self.act, v)?;
                k.store_vec(k.gep(oo, i)?, r)
            })
        })
    }
}

/// Standalone batchnorm on `[N, C, spatial]`: `x * scale[c] + shift[c]`
/// (scale and shift precomputed at build time, at `w_off` and `w_off + C`).
#[derive(Clone, Debug)]
pub struct BatchNormPlan {
    pub c: u64,
    pub sp: Chunked,
    pub w_off: u64,
}

impl BatchNormPlan {
    /// Emits items `lo..hi`.
    pub fn emit<'ctx>(
        &self,
        k: &Kcx<'ctx, '_>,
        out: PointerValue<'ctx>,
        x: PointerValue<'ctx>,
        lo: IntValue<'ctx>,
        hi: IntValue<'ctx>,
    ) -> R<()> {
        let inner = self.sp.inner as i64;
        let c = self.c as i64;
        let sc = k.wptr(self.w_off)?;
        let sh = k.wptr(self.w_off + self.c)?;
        self.sp.emit(k, lo, hi, |o, a, b| {
            let ch = k.remc(o, c)?;
            let s = k.load_f(k.gep(sc, ch)?)?;
            let t = k.load_f(k.gep(sh, ch)?)?;
            let base = k.mulc(o, inner)?;
            let xo = k.gep(x, base)?;
            let oo = k.gep(out, base)?;
            vec_range(k, a, b, |i, w| {
                let v = ld(k, xo, i, w)?;
                let r = k.fma(v, k.splat(s, w)?, k.splat(t, w)?)?;
                k.store_vec(k.gep(oo, i)?, r)
            })
        })
    }
}

/// `a op b` with NumPy broadcasting, collapsed to an outer multi-index
/// (`dims`, with strides for a and b) and a contiguous-or-broadcast inner
/// dimension.
#[derive(Clone, Debug)]
pub struct BinaryPlan {
    pub kind: BinaryKind,
    /// Outer dims: (size, stride in a, stride in b), outermost first.
    pub dims: Vec<(u64, u64, u64)>,
    /// Inner stride of a and b (0 = broadcast, 1 = contiguous).
    pub inner_a: u64,
    pub inner_b: u64,
    pub sp: Chunked,
}

impl BinaryPlan {
    /// Plans `out = a op b`; `None` if the shapes do not broadcast.
    pub fn new(kind: BinaryKind, out: &[usize], a: &[usize], b: &[usize]) -> Option<BinaryPlan> {
        let r = out.len();
        if a.len() > r || b.len() > r {
            return None;
        }
        let pad = |s: &[usize]| {
            let mut v = vec![1usize; r - s.len()];
            v.extend_from_slice(s);
            v
        };
        let (pa, pb) = (pad(a), pad(b));
        let strides = |s: &[usize]| {
            let mut st = vec![0u64; r];
            let mut acc = 1u64;
            for d in (0..r).rev() {
                st[d] = if s[d] == 1 { 0 } else { acc };
                acc = acc.checked_mul(s[d] as u64)?;
            }
            Some(st)
        };
        let (sa, sb) = (strides(&pa)?, strides(&pb)?);
        let mut dims: Vec<(u64, u64, u64)> = Vec::new();
        for d in 0..r {
            if (pa[d] != out[d] && pa[d] != 1) || (pb[d] != out[d] && pb[d] != 1) {
                return None;
            }
            if out[d] == 1 {
                continue;
            }
            let cur = (out[d] as u64, sa[d], sb[d]);
            if let Some(last) = dims.last_mut() {
                if last.1 == cur.1 * cur.0 && last.2 == cur.2 * cur.0 {
                    *last = (last.0 * cur.0, cur.1, cur.2);
                    continue;
                }
            }
            dims.push(cur);
        }
        let (n, ia, ib) = dims.pop().unwrap_or((1, 1, 1));
        let outer: u64 = dims.iter().map(|d| d.0).product();
        Some(BinaryPlan {
            kind,
            dims,
            inner_a: ia.min(1),
            inner_b: ib.min(1),
            sp: Chunked::new(outer, n),
        })
    }

    /// Emits items `lo..hi`.
    pub fn emit<'ctx>(
        &self,
        k: &Kcx<'ctx, '_>,
        out: PointerValue<'ctx>,
        a: PointerValue<'ctx>,
        bp: PointerValue<'ctx>,
        lo: IntValue<'ctx>,
        hi: IntValue<'ctx>,
    ) -> R<()> {
        let inner = self.sp.inner as i64;
        self.sp.emit(k, lo, hi, |o, ilo, ihi| {
            // decode o into the outer multi-index
            let mut offa = k.i64c(0);
            let mut offb = k.i64c(0);
            let mut rest = o;
            for &(n, sa, sb) in self.dims.iter().rev() {
                let idx = k.remc(rest, n as i64)?;
                rest = k.divc(rest, n as i64)?;
                offa = k.add(offa, k.mulc(idx, sa as i64)?)?;
                offb = k.add(offb, k.mulc(idx, sb as i64)?)?;
            }
            let ao = k.gep(a, offa)?;
            let bo = k.gep(bp, offb)?;
            let oo = k.gep(out, k.mulc(o, inner)?)?;
            // broadcast operands are loaded once per item
            let sa = if self.inner_a == 0 {
                Some(k.load_f(ao)?)
            } else {
                None
            };
            let sb = if self.inner_b == 0 {
                Some(k.load_f(bo)?)
            } else {
                None
            };
            vec_range(k, ilo, ihi, |i, w| {
                let va = match sa {
                    Some(s) => k.splat(s, w)?,
                    None => ld(k, ao, i, w)?,
                };
                let vb = match sb {
                    Some(s) => k.splat(s, w)?,
                    None => ld(k, bo, i, w)?,
                };
                let r = match self.kind {
                    BinaryKind::Add => k.b.build_float_add(va, vb, "")?,
                    BinaryKind::Mul => k.b.build_float_mul(va, vb, "")?,
                };
                k.store_vec(k.gep(oo, i)?, r)
            })
        })
    }
}
