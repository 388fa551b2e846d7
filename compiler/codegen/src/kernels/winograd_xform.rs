//! The Winograd transform matrices F(m×m, 3×3) (the minimal filtering algorithms
//! of Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016) for
//! `m = 2` (4×4 input tiles, points {0, 1, −1, ∞}) and `m = 4` (6×6 input tiles,
//! points {0, ½, −½, 2, −2, ∞}, chosen for accuracy), the build-time weight transform `U = G·g·Gᵀ`, and
//! the emission of a constant-coefficient linear combination of vectors (the
//! input and output transforms run as such sums, zero coefficients skipped and
//! ±1 as plain adds).

use inkwell::values::VectorValue;

use super::gemm::{Em, KernelResult};

/// The matrices of one F(m×m, 3×3): `bt` (α×α), `g` (α×3), `at` (m×α), with
/// `α = m + 2`, row-major.
#[derive(Debug, Clone, Copy)]
pub struct Xform {
    /// Output tile side.
    pub m: usize,
    /// Input tile side (`m + 2`).
    pub alpha: usize,
    pub bt: &'static [f64],
    pub g: &'static [f64],
    pub at: &'static [f64],
}

const BT2: [f64; 16] = [
    1.0, 0.0, -1.0, 0.0, //
    0.0, 1.0, 1.0, 0.0, //
    0.0, -1.0, 1.0, 0.0, //
    0.0, 1.0, 0.0, -1.0,
];
const G2: [f64; 12] = [
    1.0, 0.0, 0.0, //
    0.5, 0.5, 0.5, //
    0.5, -0.5, 0.5, //
    0.0, 0.0, 1.0,
];
const AT2: [f64; 8] = [
    1.0, 1.0, 1.0, 0.0, //
    0.0, 1.0, -1.0, -1.0,
];

// F(4×4, 3×3) on the interpolation points {0, ½, −½, 2, −2, ∞} rather than
// Lavin & Gray's {0, 1, −1, 2, −2, ∞}: the same sparsity (22 non-zeros in Bᵀ,
// 18 in Aᵀ), so the same transform cost, and better conditioned — simulated
// on random data in f32 against f64, the largest error of a layer is 2.3–2.6×
// smaller and the RMS error 1.6× (32 to 512 input channels; docs/kernels.md).
const BT4: [f64; 36] = [
    1.0, 0.0, -4.25, 0.0, 1.0, 0.0, //
    0.0, -2.0, -4.0, 0.5, 1.0, 0.0, //
    0.0, 2.0, -4.0, -0.5, 1.0, 0.0, //
    0.0, -0.5, -0.25, 2.0, 1.0, 0.0, //
    0.0, 0.5, -0.25, -2.0, 1.0, 0.0, //
    0.0, 1.0, 0.0, -4.25, 0.0, 1.0,
];
const G4: [f64; 18] = [
    1.0,
    0.0,
    0.0,
    -8.0 / 15.0,
    -4.0 / 15.0,
    -2.0 / 15.0,
    -8.0 / 15.0,
    4.0 / 15.0,
    -2.0 / 15.0,
    1.0 / 30.0,
    1.0 / 15.0,
    2.0 / 15.0,
    1.0 / 30.0,
    -1.0 / 15.0,
    2.0 / 15.0,
    0.0,
    0.0,
    1.0,
];
const AT4: [f64; 24] = [
    1.0, 1.0, 1.0, 1.0, 1.0, 0.0, //
    0.0, 0.5, -0.5, 2.0, -2.0, 0.0, //
    0.0, 0.25, 0.25, 4.0, 4.0, 0.0, //
    0.0, 0.125, -0.125, 8.0, -8.0, 1.0,
];

impl Xform {
    /// F(m×m, 3×3) for `m` ∈ {2, 4}.
    pub fn new(m: usize) -> Option<Xform> {
        match m {
            2 => Some(Xform {
                m: 2,
                alpha: 4,
                bt: &BT2,
                g: &G2,
                at: &AT2,
            }),
            4 => Some(Xform {
                m: 4,
                alpha: 6,
                bt: &BT4,
                g: &G4,
                at: &AT4,
            }),
            _ => None,
        }
    }

    /// `U = G·g·Gᵀ` of one 3×3 kernel `g` (row-major), α×α row-major, in f64.
    pub fn weight(&self, k: &[f32]) -> Vec<f64> {
        let a = self.alpha;
        // t = G·g (α×3)
        let mut t = vec![0.0f64; a * 3];
        for i in 0..a {
            for j in 0..3 {
                t[i * 3 + j] = (0..3)
                    .map(|q| self.g[i * 3 + q] * k[q * 3 + j] as f64)
                    .sum();
            }
        }
        let mut u = vec![0.0f64; a * a];
        for i in 0..a {
            for j in 0..a {
                u[i * a + j] = (0..3).map(|q| t[i * 3 + q] * self.g[j * 3 + q]).sum();
            }
        }
        u
    }

    /// `Bᵀ·d·B` of one α×α tile, f64 (the reference of the emitted transform).
    pub fn input(&self, d: &[f64]) -> Vec<f64> {
        let a = self.alpha;
        sandwich(self.bt, a, a, d)
    }

    /// `Aᵀ·M·A` of one α×α tile: m×m, f64.
    pub fn output(&self, mm: &[f64]) -> Vec<f64> {
        sandwich(self.at, self.m, self.alpha, mm)
    }
}

/// `L·X·Lᵀ` for `L` r×c, `X` c×c.
fn sandwich(l: &[f64], r: usize, c: usize, x: &[f64]) -> Vec<f64> {
    let mut t = vec![0.0; r * c];
    for i in 0..r {
        for j in 0..c {
            t[i * c + j] = (0..c).map(|q| l[i * c + q] * x[q * c + j]).sum();
        }
    }
    let mut y = vec![0.0; r * r];
    for i in 0..r {
        for j in 0..r {
            y[i * r + j] = (0..c).map(|q| t[i * c + q] * l[j * c + q]).sum();
        }
    }
    y
}

/// Emits `Σ coef[i]·xs[i]` (zero coefficients skipped, ±1 as add/sub, others as
/// FMAs with a splat constant).
pub(crate) fn emit_comb<'ctx>(
    em: &Em<'_, 'ctx>,
    coef: &[f64],
    xs: &[VectorValue<'ctx>],
) -> KernelResult<VectorValue<'ctx>> {
    let mut acc: Option<VectorValue<'ctx>> = None;
    for (&c, &x) in coef.iter().zip(xs) {
        if c == 0.0 {
            continue;
        }
        let k = || em.splat(em.f32t.const_float(c));
        acc = Some(match acc {
            None if c == 1.0 => x,
            None if c == -1.0 => em.b.build_float_neg(x, "")?,
            None => em.b.build_float_mul(k()?, x, "")?,
            Some(a) if c == 1.0 => em.b.build_float_add(a, x, "")?,
            Some(a) if c == -1.0 => em.b.build_float_sub(a, x, "")?,
            Some(a) => em.fma(k()?, x, a)?,
        });
    }
    Ok(acc.unwrap_or_else(|| em.vt.const_zero()))
}

/// Emits `L·X·Lᵀ` for the constant `L` (r×c) and a c×c tile of vectors `x`
/// (row-major): first `T = X·Lᵀ` by rows, then `L·T` by columns.
pub(crate) fn emit_sandwich<'ctx>(
    em: &Em<'_, 'ctx>,
    l: &[f64],
    r: usize,
    c: usize,
    x: &[VectorValue<'ctx>],
) -> KernelResult<Vec<VectorValue<'ctx>>> {
    // t[i][k] = Σ_j x[i][j]·L[k][j]   (c × r)
    let mut t = Vec::with_capacity(c * r);
    for i in 0..c {
        let row = &x[i * c..(i + 1) * c];
        for k in 0..r {
            t.push(emit_comb(em, &l[k * c..(k + 1) * c], row)?);
        }
    }
    // y[k1][k2] = Σ_i L[k1][i]·t[i][k2]   (r × r)
    let mut y = Vec::with_capacity(r * r);
    for k1 in 0..r {
        for k2 in 0..r {
            let col: Vec<VectorValue<'ctx>> = (0..c).map(|i| t[i * r + k2]).collect();
            y.push(emit_comb(em, &l[k1 * c..(k1 + 1) * c], &col)?);
        }
    }
    Ok(y)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Winograd of one tile equals the direct 3×3 correlation (f64).
    #[test]
    fn transforms_compute_a_3x3_correlation() {
        for m in [2, 4] {
            let x = Xform::new(m).unwrap();
            let a = x.alpha;
            let d: Vec<f64> = (0..a * a)
                .map(|i| ((i * 7 + 3) % 11) as f64 - 5.0)
                .collect();
            let k: Vec<f32> = (0..9).map(|i| ((i * 5 + 1) % 7) as f32 - 3.0).collect();
            let v = x.input(&d);
            let u = x.weight(&k);
            let prod: Vec<f64> = v.iter().zip(&u).map(|(p, q)| p * q).collect();
            let y = x.output(&prod);
            for oy in 0..m {
                for ox in 0..m {
                    let want: f64 = (0..3)
                        .flat_map(|i| (0..3).map(move |j| (i, j)))
                        .map(|(i, j)| d[(oy + i) * a + ox + j] * k[i * 3 + j] as f64)
                        .sum();
                    let got = y[oy * m + ox];
                    assert!(
                        (got - want).abs() < 1e-9,
                        "m={m} ({oy},{ox}): {got} vs {want}"
                    );
                }
            }
        }
        assert!(Xform::new(3).is_none());
    }
}
