//! Data movement as strided copies: permute/transpose, strided slices,
//! `roll` and `expand`, all one kernel.
//!
//! A [`StridedPart`] copies a box of `dims` elements from `input[src_off +
//! Σ i_a·src[a]]` to `out[dst_off + Σ i_a·dst[a]]`. A permute is one part (the
//! source strides are the input's strides in the output's axis order), a slice
//! is one part (start folded into `src_off`, step into the strides), and a roll
//! is up to `2^axes` parts (each rolled axis splits into the two segments that
//! wrap around), and an expand is one part whose source stride is 0 along the
//! repeated axes.
//!
//! Parts are normalized at plan time (axes of size 1 dropped, axes that are
//! contiguous in both source and destination merged), and each is emitted by
//! the cheapest of three shapes:
//!
//! * **rows**: the innermost axis is contiguous on both sides — vector copies
//!   of whole rows, several rows per work item;
//! * **transpose**: the innermost destination axis is strided in the source
//!   while another axis is contiguous there — a cache-tiled 2-D transpose in
//!   `TILE × TILE` blocks (reads and writes both stay inside a few cache lines
//!   per block), one work item per block column;
//! * **gather**: anything else (a step-2 slice of the innermost axis) — scalar
//!   strided loads, contiguous stores, rows per work item.

use super::{CgError, Kcx, R};
use crate::PlanError;
use inkwell::values::{IntValue, PointerValue};

/// Side of a transpose tile (elements).
pub const TILE: u64 = 16;

/// Elements per work item of the row and gather shapes (at least one row).
const ITEM_ELEMS: u64 = 4096;

/// One strided box copy (see the module docs). Strides are in elements.
#[derive(Clone, Debug, PartialEq)]
pub struct StridedPart {
    pub input: usize,
    pub dims: Vec<u64>,
    pub src_off: i64,
    pub src: Vec<i64>,
    pub dst_off: i64,
    pub dst: Vec<i64>,
}

/// How a normalized part is emitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Contiguous rows of the innermost axis; `rows` rows per item.
    Rows { rows: u64 },
    /// 2-D tiled transpose: axis `p` is contiguous in the source.
    Transpose { p: usize },
    /// Strided innermost source axis; `rows` rows per item.
    Gather { rows: u64 },
}

/// Strides of a C-order tensor of `shape`.
pub fn c_strides(shape: &[usize]) -> Vec<i64> {
    let mut s = vec![1i64; shape.len()];
    for a in (0..shape.len().saturating_sub(1)).rev() {
        s[a] = s[a + 1] * shape[a + 1] as i64;
    }
    s
}

impl StridedPart {
    /// Drops size-1 axes and merges axes that are contiguous on both sides.
    /// An empty box stays empty (a zero in `dims`); a scalar becomes `[1]`.
    pub fn normalized(&self) -> StridedPart {
        let mut dims = Vec::new();
        let mut src = Vec::new();
        let mut dst = Vec::new();
        for a in 0..self.dims.len() {
            if self.dims[a] == 1 {
                continue;
            }
            if let (Some(&d), Some(&s), Some(&t)) = (dims.last(), src.last(), dst.last()) {
                let _: u64 = d;
                let n = self.dims[a] as i64;
                if s == self.src[a] * n && t == self.dst[a] * n {
                    let l = dims.len() - 1;
                    dims[l] = d * self.dims[a];
                    src[l] = self.src[a];
                    dst[l] = self.dst[a];
                    continue;
                }
            }
            dims.push(self.dims[a]);
            src.push(self.src[a]);
            dst.push(self.dst[a]);
        }
        if dims.is_empty() {
            dims.push(1);
            src.push(1);
            dst.push(1);
        }
        StridedPart {
            input: self.input,
            dims,
            src_off: self.src_off,
            src,
            dst_off: self.dst_off,
            dst,
        }
    }

    fn elems(&self) -> u64 {
        self.dims.iter().product()
    }

    /// The emission shape of a normalized part.
    fn shape(&self) -> Shape {
        let r = self.dims.len();
        let inner = self.dims[r - 1];
        let rows = (ITEM_ELEMS / inner.max(1)).max(1);
        if self.src[r - 1] == 1 && self.dst[r - 1] == 1 {
            return Shape::Rows { rows };
        }
        if self.dst[r - 1] == 1 {
            if let Some(p) = (0..r - 1).find(|&a| self.src[a] == 1) {
                return Shape::Transpose { p };
            }
        }
        Shape::Gather { rows }
    }

    /// Outer axes of the shape (those enumerated by work items).
    fn outer_axes(&self, sh: Shape) -> Vec<usize> {
        let r = self.dims.len();
        match sh {
            Shape::Transpose { p } => (0..r - 1).filter(|&a| a != p).collect(),
            _ => (0..r - 1).collect(),
        }
    }

    fn outer_count(&self, sh: Shape) -> u64 {
        self.outer_axes(sh).iter().map(|&a| self.dims[a]).product()
    }

    /// Work items of a normalized part.
    fn items(&self) -> u64 {
        if self.elems() == 0 {
            return 0;
        }
        let sh = self.shape();
        let outer = self.outer_count(sh);
        match sh {
            Shape::Rows { rows } | Shape::Gather { rows } => outer.div_ceil(rows),
            Shape::Transpose { p } => outer * self.dims[p].div_ceil(TILE),
        }
    }
}

/// A strided copy of one or more parts into one output.
#[derive(Clone, Debug, PartialEq)]
pub struct StridedPlan {
    /// Normalized parts.
    pub parts: Vec<StridedPart>,
}

impl StridedPlan {
    /// A plan of `parts` (normalized here).
    pub fn new(parts: Vec<StridedPart>) -> StridedPlan {
        StridedPlan {
            parts: parts.iter().map(StridedPart::normalized).collect(),
        }
    }

    /// `out = input.permute(perm)` (`out` axis `a` is input axis `perm[a]`).
    pub fn permute(in_shape: &[usize], perm: &[usize]) -> Result<StridedPlan, PlanError> {
        let r = in_shape.len();
        let mut seen = vec![false; r];
        if perm.len() != r
            || perm
                .iter()
                .any(|&p| p >= r || std::mem::replace(&mut seen[p], true))
        {
            return Err(PlanError::Unsupported(format!(
                "permute: {perm:?} is not a permutation of {r} axes"
            )));
        }
        let is = c_strides(in_shape);
        let out_shape: Vec<usize> = perm.iter().map(|&p| in_shape[p]).collect();
        Ok(StridedPlan::new(vec![StridedPart {
            input: 0,
            dims: out_shape.iter().map(|&d| d as u64).collect(),
            src_off: 0,
            src: perm.iter().map(|&p| is[p]).collect(),
            dst_off: 0,
            dst: c_strides(&out_shape),
        }]))
    }

    /// `out = input[start_a :: step_a]` with `len_a` elements along each axis
    /// `a` (`axes`: `(start, step, len)` per input axis; steps ≥ 1).
    pub fn slice(
        in_shape: &[usize],
        axes: &[(usize, usize, usize)],
    ) -> Result<StridedPlan, PlanError> {
        if axes.len() != in_shape.len() {
            return Err(PlanError::unsupported(
                "slice: one (start, step, len) per axis expected",
            ));
        }
        let is = c_strides(in_shape);
        let mut src_off = 0i64;
        let mut src = Vec::new();
        for (a, &(start, step, len)) in axes.iter().enumerate() {
            if step == 0 || (len > 0 && start + (len - 1) * step >= in_shape[a]) {
                return Err(PlanError::Unsupported(format!(
                    "slice: axis {a} out of range"
                )));
            }
            src_off += start as i64 * is[a];
            src.push(step as i64 * is[a]);
        }
        let out_shape: Vec<usize> = axes.iter().map(|t| t.2).collect();
        Ok(StridedPlan::new(vec![StridedPart {
            input: 0,
            dims: out_shape.iter().map(|&d| d as u64).collect(),
            src_off,
            src,
            dst_off: 0,
            dst: c_strides(&out_shape),
        }]))
    }

    /// `out = roll(input, shifts, axes)` (PyTorch's `torch.roll`: element `i`
    /// moves to `(i + shift) mod n`; negative shifts allowed).
    pub fn roll(shape: &[usize], shifts: &[i64], axes: &[usize]) -> Result<StridedPlan, PlanError> {
        if shifts.len() != axes.len() || axes.iter().any(|&a| a >= shape.len()) {
            return Err(PlanError::unsupported(
                "roll: one shift per axis, axes in range",
            ));
        }
        let st = c_strides(shape);
        // per axis: the segments (dst_start, src_start, len)
        let mut segs: Vec<Vec<(u64, u64, u64)>> = shape
            .iter()
            .map(|&n| vec![(0u64, 0u64, n as u64)])
            .collect();
        let mut total = vec![0i64; shape.len()];
        for (&s, &a) in shifts.iter().zip(axes) {
            total[a] += s;
        }
        for (a, &n) in shape.iter().enumerate() {
            let n = n as i64;
            if n == 0 {
                continue;
            }
            let s = total[a].rem_euclid(n) as u64;
            if s != 0 {
                let n = n as u64;
                segs[a] = vec![(s, 0, n - s), (0, n - s, s)];
            }
        }
        let mut parts = Vec::new();
        let mut idx = vec![0usize; shape.len()];
        loop {
            let mut dims = Vec::new();
            let (mut so, mut dof) = (0i64, 0i64);
            for a in 0..shape.len() {
                let (d0, s0, len) = segs[a][idx[a]];
                dims.push(len);
                so += s0 as i64 * st[a];
                dof += d0 as i64 * st[a];
            }
            parts.push(StridedPart {
                input: 0,
                dims,
                src_off: so,
                src: st.clone(),
                dst_off: dof,
                dst: st.clone(),
            });
            // next combination
            let mut a = shape.len();
            loop {
                if a == 0 {
                    return Ok(StridedPlan::new(parts));
                }
                a -= 1;
                idx[a] += 1;
                if idx[a] < segs[a].len() {
                    break;
                }
                idx[a] = 0;
            }
        }
    }

    /// `out = input.expand(out_shape)` (NumPy broadcasting, axes aligned
    /// from the end): one part reading with stride 0 along every axis the
    /// input repeats (size 1 in the input, or a new leading axis).
    pub fn expand(in_shape: &[usize], out_shape: &[usize]) -> Result<StridedPlan, PlanError> {
        let r = out_shape.len();
        let fits = r >= in_shape.len()
            && in_shape
                .iter()
                .zip(&out_shape[r - in_shape.len()..])
                .all(|(&a, &b)| a == b || a == 1);
        if !fits {
            return Err(PlanError::Unsupported(format!(
                "expand: {in_shape:?} does not broadcast to {out_shape:?}"
            )));
        }
        let is = c_strides(in_shape);
        let lead = r - in_shape.len();
        let src = (0..r)
            .map(|a| match a.checked_sub(lead) {
                Some(j) if in_shape[j] == out_shape[a] => is[j],
                _ => 0,
            })
            .collect();
        Ok(StridedPlan::new(vec![StridedPart {
            input: 0,
            dims: out_shape.iter().map(|&d| d as u64).collect(),
            src_off: 0,
            src,
            dst_off: 0,
            dst: c_strides(out_shape),
        }]))
    }

    /// Number of work items.
    pub fn items(&self) -> u64 {
        self.parts.iter().map(StridedPart::items).sum()
    }

    /// Emits items `lo..hi`.
    pub fn emit<'ctx>(
        &self,
        k: &Kcx<'ctx, '_>,
        out: PointerValue<'ctx>,
        ins: &[PointerValue<'ctx>],
        lo: IntValue<'ctx>,
        hi: IntValue<'ctx>,
    ) -> R<()> {
        let mut start = 0u64;
        for p in &self.parts {
            let n = p.items();
            if n == 0 {
                continue;
            }
            let src = *ins
                .get(p.input)
                .ok_or_else(|| CgError("strided copy: missing input".into()))?;
            // this part's items within lo..hi
            let s = k.i64c(start as i64);
            let l = k.smax(k.sub(lo, s)?, k.i64c(0))?;
            let h = k.smin(k.sub(hi, s)?, k.i64c(n as i64))?;
            emit_part(k, p, out, src, l, h)?;
            start += n;
        }
        Ok(())
    }
}

/// `Σ_a ((ix / div_a) % dims_a) · strides_a` over `axes` (C order).
fn offsets<'ctx>(
    k: &Kcx<'ctx, '_>,
    p: &StridedPart,
    axes: &[usize],
    ix: IntValue<'ctx>,
) -> R<(IntValue<'ctx>, IntValue<'ctx>)> {
    let mut so = k.i64c(p.src_off);
    let mut dof = k.i64c(p.dst_off);
    let mut div = 1i64;
    for &a in axes.iter().rev() {
        let d = p.dims[a] as i64;
        let mut i = k.divc(ix, div)?;
        if a != axes[0] {
            i = k.remc(i, d)?;
        }
        so = k.add(so, k.mulc(i, p.src[a])?)?;
        dof = k.add(dof, k.mulc(i, p.dst[a])?)?;
        div *= d;
    }
    Ok((so, dof))
}

fn emit_part<'ctx>(
    k: &Kcx<'ctx, '_>,
    p: &StridedPart,
    out: PointerValue<'ctx>,
    src: PointerValue<'ctx>,
    lo: IntValue<'ctx>,
    hi: IntValue<'ctx>,
) -> R<()> {
    let r = p.dims.len();
    let inner = p.dims[r - 1] as i64;
    let lanes = k.isa().lanes;
    let sh = p.shape();
    let axes = p.outer_axes(sh);
    let outer = p.outer_count(sh) as i64;
    match sh {
        Shape::Rows { rows } | Shape::Gather { rows } => k.for_range(lo, hi, 1, |it| {
            let r0 = k.mulc(it, rows as i64)?;
            let r1 = k.smin(k.addc(r0, rows as i64)?, k.i64c(outer))?;
            k.for_range(r0, r1, 1, |row| {
                let (so, dof) = if axes.is_empty() {
                    (k.i64c(p.src_off), k.i64c(p.dst_off))
                } else {
                    offsets(k, p, &axes, row)?
                };
                let s = k.gep(src, so)?;
                let d = k.gep(out, dof)?;
                if let Shape::Rows { .. } = sh {
                    super::elementwise::vec_range_w(k, k.i64c(0), k.i64c(inner), lanes, |j, w| {
                        let v = k.load_vec(k.gep(s, j)?, w)?;
                        k.store_vec(k.gep(d, j)?, v)
                    })
                } else {
                    let ss = p.src[r - 1];
                    let ds = p.dst[r - 1];
                    k.for_const(0, inner, 1, |j| {
                        let v = k.load_f(k.gep(s, k.mulc(j, ss)?)?)?;
                        k.store_f(k.gep(d, k.mulc(j, ds)?)?, v)
                    })
                }
            })
        }),
        Shape::Transpose { p: pa } => {
            let np = p.dims[pa] as i64;
            let tiles = (np + TILE as i64 - 1) / TILE as i64;
            let (sj, dp) = (p.src[r - 1], p.dst[pa]);
            k.for_range(lo, hi, 1, |it| {
                let o = k.divc(it, tiles)?;
                let t = k.remc(it, tiles)?;
                let (so, dof) = if axes.is_empty() {
                    (k.i64c(p.src_off), k.i64c(p.dst_off))
                } else {
                    offsets(k, p, &axes, o)?
                };
                let p0 = k.mulc(t, TILE as i64)?;
                let p1 = k.smin(k.addc(p0, TILE as i64)?, k.i64c(np))?;
                // Scalar: blocks of TILE along j; within a block, rows of the
                // destination (fixed i_p) are written contiguously while the
                // source lines (fixed j) stay in cache.
                let scalar = |j_lo: i64| -> R<()> {
                    k.for_const(j_lo, inner, TILE as i64, |j0| {
                        let j1 = k.smin(k.addc(j0, TILE as i64)?, k.i64c(inner))?;
                        k.for_range(p0, p1, 1, |ip| {
                            let s = k.gep(src, k.add(so, ip)?)?;
                            let d = k.gep(out, k.add(dof, k.mulc(ip, dp)?)?)?;
                            k.for_range(j0, j1, 1, |j| {
                                let v = k.load_f(k.gep(s, k.mulc(j, sj)?)?)?;
                                k.store_f(k.gep(d, j)?, v)
                            })
                        })
                    })
                };
                // Vector: a full tile of TILE along p, 8 along j at a time, as
                // 8 × 8 register transposes (one cache line read per source
                // row); the j tail scalar.
                let jv = inner / 8 * 8;
                if jv == 0 {
                    return scalar(0);
                }
                let full = k.icmp(
                    inkwell::IntPredicate::EQ,
                    k.sub(p1, p0)?,
                    k.i64c(TILE as i64),
                )?;
                k.if_else(
                    full,
                    || {
                        k.for_const(0, jv, 8, |j0| {
                            for half in 0..TILE as i64 / 8 {
                                let pb = k.addc(p0, half * 8)?;
                                let mut rows = Vec::with_capacity(8);
                                for r in 0..8 {
                                    let j = k.addc(j0, r)?;
                                    let off = k.add(k.add(so, pb)?, k.mulc(j, sj)?)?;
                                    rows.push(k.load_vec(k.gep(src, off)?, 8)?);
                                }
                                let cols = transpose8(k, &rows)?;
                                for (c, v) in cols.into_iter().enumerate() {
                                    let ip = k.addc(pb, c as i64)?;
                                    let off = k.add(k.add(dof, k.mulc(ip, dp)?)?, j0)?;
                                    k.store_vec(k.gep(out, off)?, v)?;
                                }
                            }
                            Ok(())
                        })?;
                        scalar(jv)
                    },
                    || scalar(0),
                )
            })
        }
    }
}

/// Transposes 8 vectors of 8 lanes (`rows[r][c]` → `out[c][r]`) with three
/// rounds of two-input shuffles (unpack, 64-bit pairs, 128-bit halves).
fn transpose8<'ctx>(
    k: &Kcx<'ctx, '_>,
    rows: &[inkwell::values::VectorValue<'ctx>],
) -> R<Vec<inkwell::values::VectorValue<'ctx>>> {
    let shuf = |a: inkwell::values::VectorValue<'ctx>,
                b: inkwell::values::VectorValue<'ctx>,
                m: [u64; 8]|
     -> R<inkwell::values::VectorValue<'ctx>> {
        let mask: Vec<IntValue<'ctx>> = m.iter().map(|&i| k.i32t.const_int(i, false)).collect();
        let mask = inkwell::types::VectorType::const_vector(&mask);
        Ok(k.b.build_shuffle_vector(a, b, mask, "")?)
    };
    const LO: [u64; 8] = [0, 8, 1, 9, 4, 12, 5, 13];
    const HI: [u64; 8] = [2, 10, 3, 11, 6, 14, 7, 15];
    const PLO: [u64; 8] = [0, 1, 8, 9, 4, 5, 12, 13];
    const PHI: [u64; 8] = [2, 3, 10, 11, 6, 7, 14, 15];
    const QLO: [u64; 8] = [0, 1, 2, 3, 8, 9, 10, 11];
    const QHI: [u64; 8] = [4, 5, 6, 7, 12, 13, 14, 15];
    let mut t = Vec::with_capacity(8);
    for i in 0..4 {
        t.push(shuf(rows[2 * i], rows[2 * i + 1], LO)?);
        t.push(shuf(rows[2 * i], rows[2 * i + 1], HI)?);
    }
    // t[2i] = (r2i0 r2i+1,0 r2i1 r2i+1,1 | r2i4 ...), t[2i+1] the lanes 2,3 / 6,7
    let mut s = Vec::with_capacity(8);
    for base in [0usize, 4] {
        s.push(shuf(t[base], t[base + 2], PLO)?);
        s.push(shuf(t[base], t[base + 2], PHI)?);
        s.push(shuf(t[base + 1], t[base + 3], PLO)?);
        s.push(shuf(t[base + 1], t[base + 3], PHI)?);
    }
    // s[0..4]: columns 0,1,2,3 of rows 0..4 (with columns 4..7 in the high
    // half); s[4..8]: the same for rows 4..8
    let mut out = vec![s[0]; 8];
    for c in 0..4 {
        out[c] = shuf(s[c], s[c + 4], QLO)?;
        out[c + 4] = shuf(s[c], s[c + 4], QHI)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference: the element map of the plan, by brute force.
    fn apply(plan: &StridedPlan, x: &[f32], out_len: usize) -> Vec<f32> {
        let mut y = vec![f32::NAN; out_len];
        for p in &plan.parts {
            let n = p.elems() as usize;
            for flat in 0..n {
                let (mut s, mut d, mut rem) = (p.src_off, p.dst_off, flat as u64);
                for a in (0..p.dims.len()).rev() {
                    let i = (rem % p.dims[a]) as i64;
                    rem /= p.dims[a];
                    s += i * p.src[a];
                    d += i * p.dst[a];
                }
                y[d as usize] = x[s as usize];
            }
        }
        y
    }

    #[test]
    fn normalization_merges_and_keeps_the_map() {
        let p = StridedPlan::permute(&[2, 3, 4, 5], &[0, 1, 3, 2]).unwrap();
        assert_eq!(p.parts[0].dims, vec![6, 5, 4]);
        let id = StridedPlan::permute(&[2, 3, 4], &[0, 1, 2]).unwrap();
        assert_eq!(id.parts[0].dims, vec![24]);
        assert_eq!(id.parts[0].shape(), Shape::Rows { rows: 170 });
        let t = StridedPlan::permute(&[7, 9], &[1, 0]).unwrap();
        assert_eq!(t.parts[0].shape(), Shape::Transpose { p: 0 });
    }

    #[test]
    fn expand_repeats_with_stride_zero() {
        let x: Vec<f32> = (0..6).map(|v| v as f32).collect();
        // [1, 1, 3] -> [2, 2, 3]: rows repeated, one merged repeat axis
        let p = StridedPlan::expand(&[1, 1, 3], &[2, 2, 3]).unwrap();
        assert_eq!(p.parts[0].dims, vec![4, 3]);
        assert_eq!(apply(&p, &x, 12), [0., 1., 2.].repeat(4));
        // [2, 1] -> [3, 2, 4]: a new leading axis and a repeated innermost axis
        let p = StridedPlan::expand(&[2, 1], &[3, 2, 4]).unwrap();
        let want: Vec<f32> = (0..24).map(|i| ((i / 4) % 2) as f32).collect();
        assert_eq!(apply(&p, &x, 24), want);
        assert!(StridedPlan::expand(&[2, 3], &[2, 4]).is_err());
        assert!(StridedPlan::expand(&[2, 3], &[3]).is_err());
    }

    #[test]
    fn roll_matches_torch_semantics() {
        let x: Vec<f32> = (0..10).map(|v| v as f32).collect();
        let p = StridedPlan::roll(&[10], &[3], &[0]).unwrap();
        let y = apply(&p, &x, 10);
        assert_eq!(y, vec![7., 8., 9., 0., 1., 2., 3., 4., 5., 6.]);
        let p = StridedPlan::roll(&[10], &[-3], &[0]).unwrap();
        assert_eq!(apply(&p, &x, 10)[0], 3.0);
        let p = StridedPlan::roll(&[2, 5], &[1, 2], &[0, 1]).unwrap();
        assert_eq!(p.parts.len(), 4);
        assert_eq!(
            apply(&p, &x, 10),
            vec![8., 9., 5., 6., 7., 3., 4., 0., 1., 2.]
        );
    }

    #[test]
    fn slice_and_bad_arguments() {
        let x: Vec<f32> = (0..24).map(|v| v as f32).collect();
        let p = StridedPlan::slice(&[4, 6], &[(1, 2, 2), (0, 2, 3)]).unwrap();
        assert_eq!(apply(&p, &x, 6), vec![6., 8., 10., 18., 20., 22.]);
        assert!(StridedPlan::slice(&[4, 6], &[(1, 2, 3), (0, 1, 6)]).is_err());
        assert!(StridedPlan::permute(&[4, 6], &[0, 0]).is_err());
        assert!(StridedPlan::roll(&[4], &[1], &[1]).is_err());
    }
}
