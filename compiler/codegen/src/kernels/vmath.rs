//! Vectorized transcendental functions and the activations of the language,
//! emitted as straight-line LLVM IR on `<w x float>` of any width (8 lanes for
//! AVX2, 16 for AVX-512): no library calls, no branches.
//!
//! * `exp`: `n = rint(x·log2 e)`, `r = x − n·ln 2` (two-constant Cody–Waite split
//!   with FMA), `e^r` by a degree-7 Taylor polynomial on `|r| ≤ ln2/2`, `2^n` as
//!   two exponent-field scalings (so that results in the subnormal range are
//!   rounded once and `n = 128` overflows to `+inf`).
//! * `sigmoid(x) = (x ≥ 0 ? 1 : e) / (1 + e)` with `e = exp(−|x|)`: one exp, no
//!   cancellation, correct in the subnormal range, exact limits at ±inf.
//! * `silu(x) = x · sigmoid(x)`, the negative side with `e^x` scaled by `2^64`
//!   so that subnormal results are rounded once (`silu(−inf) = −0`).
//! * `tanh`: `x + x³·P(x²)` (degree-5 fit) for `|x| < 0.625`, else
//!   `±(1 − e)/(1 + e)` with `e = exp(−2|x|)`.
//! * `gelu(x) = x · Φ(x)`, `Φ(x) = ½·erfc(−x/√2)`; `erfc(z) = t·exp(−z² + P(t))`,
//!   `t = 2/(2 + z)`, `P` a degree-11 fit on `z ∈ [0, 10]`; `z²` is formed exactly
//!   (`x·x` plus its FMA rounding error, halved) and folded into the exp's range
//!   reduction, so the exponent's rounding does not grow with `z²`.
//!
//! The coefficients were fitted for nnc (Chebyshev-node interpolation in 40-digit
//! arithmetic, rounded to f32). NaN inputs give NaN; accuracy figures are in
//! `docs/kernels.md` and checked by `tests/kernels_vmath.rs`.

use inkwell::builder::{Builder, BuilderError};
use inkwell::intrinsics::Intrinsic;
use inkwell::module::Module;
use inkwell::types::{BasicTypeEnum, VectorType};
use inkwell::values::{BasicMetadataValueEnum, IntValue, VectorValue};
use inkwell::FloatPredicate;
use nnc_ir::Activation;

use super::error::KernelError;

/// Errors of this module are kernel errors (a missing intrinsic, a builder
/// failure).
pub type VResult<T> = Result<T, KernelError>;

fn be(e: BuilderError) -> KernelError {
    KernelError::from(e)
}

const LOG2E: f32 = std::f32::consts::LOG2_E;
/// `ln 2` split so that `n·LN2_HI` is exact for `|n| < 2^9`.
const LN2_HI: f32 = f32::from_bits(0x3f31_7200); // 0.693145751953125
const LN2_LO: f32 = 1.428_606_8e-6;
/// Below this `exp` is 0 (e^−104 < 2^−150); above `EXP_HI` it is `+inf`.
const EXP_LO: f32 = -104.0;
const EXP_HI: f32 = 89.0;

/// `tanh(x) = x + x³·P(x²)` on `|x| < TANH_SMALL`.
const TANH_SMALL: f32 = 0.625;
const TANH_P: [f32; 6] = [
    -0.333_333_34,
    0.133_333_04,
    -0.053_959_258,
    0.021_768_918,
    -0.008_343_945,
    0.002_292_744_8,
];

/// `erfc(z) = t·exp(−z² + P(t))`, `t = 1/(1 + z/2)`, fitted on `z ∈ [0, 10]`.
const ERFC_P: [f32; 12] = [
    -1.265_546_4,
    1.000_968_1,
    0.363_157_57,
    0.165_916_98,
    -0.447_733_67,
    0.885_377_17,
    -1.965_875,
    2.027_298_7,
    -0.706_148_86,
    -0.293_556_36,
    0.306_431_03,
    -0.070_289_17,
];

/// The emitter: a builder positioned where the code goes and the module (for
/// intrinsic declarations).
pub struct VMath<'a, 'ctx> {
    pub b: &'a Builder<'ctx>,
    pub module: &'a Module<'ctx>,
}

impl<'a, 'ctx> VMath<'a, 'ctx> {
    /// A new emitter.
    pub fn new(b: &'a Builder<'ctx>, module: &'a Module<'ctx>) -> Self {
        VMath { b, module }
    }

    fn c(&self, v: f32, like: VectorValue<'ctx>) -> VectorValue<'ctx> {
        let w = like.get_type().get_size();
        let ft = self.module.get_context().f32_type();
        VectorType::const_vector(&vec![ft.const_float(v as f64); w as usize])
    }

    fn ci(&self, v: i32, w: u32) -> VectorValue<'ctx> {
        let it = self.module.get_context().i32_type();
        let c: Vec<IntValue> = (0..w).map(|_| it.const_int(v as u64, true)).collect();
        VectorType::const_vector(&c)
    }

    fn intr(
        &self,
        name: &str,
        t: VectorType<'ctx>,
        args: &[BasicMetadataValueEnum<'ctx>],
    ) -> VResult<VectorValue<'ctx>> {
        let i = Intrinsic::find(name)
            .ok_or_else(|| KernelError::new(format!("no intrinsic {name}")))?;
        let tys: [BasicTypeEnum; 1] = [t.into()];
        let f = i
            .get_declaration(self.module, &tys)
            .ok_or_else(|| KernelError::new(format!("no declaration for {name}")))?;
        let call = self.b.build_call(f, args, "").map_err(be)?;
        call.try_as_basic_value()
            .basic()
            .map(|v| v.into_vector_value())
            .ok_or_else(|| KernelError::new(format!("{name} returned void")))
    }

    fn fma(
        &self,
        a: VectorValue<'ctx>,
        b: VectorValue<'ctx>,
        c: VectorValue<'ctx>,
    ) -> VResult<VectorValue<'ctx>> {
        self.intr("llvm.fma", a.get_type(), &[a.into(), b.into(), c.into()])
    }

    fn un(&self, name: &str, a: VectorValue<'ctx>) -> VResult<VectorValue<'ctx>> {
        self.intr(name, a.get_type(), &[a.into()])
    }

    fn bin(
        &self,
        name: &str,
        a: VectorValue<'ctx>,
        b: VectorValue<'ctx>,
    ) -> VResult<VectorValue<'ctx>> {
        self.intr(name, a.get_type(), &[a.into(), b.into()])
    }

    fn add(&self, a: VectorValue<'ctx>, b: VectorValue<'ctx>) -> VResult<VectorValue<'ctx>> {
        self.b.build_float_add(a, b, "").map_err(be)
    }
    fn sub(&self, a: VectorValue<'ctx>, b: VectorValue<'ctx>) -> VResult<VectorValue<'ctx>> {
        self.b.build_float_sub(a, b, "").map_err(be)
    }
    fn mul(&self, a: VectorValue<'ctx>, b: VectorValue<'ctx>) -> VResult<VectorValue<'ctx>> {
        self.b.build_float_mul(a, b, "").map_err(be)
    }
    fn div(&self, a: VectorValue<'ctx>, b: VectorValue<'ctx>) -> VResult<VectorValue<'ctx>> {
        self.b.build_float_div(a, b, "").map_err(be)
    }
    fn cmp(
        &self,
        p: FloatPredicate,
        a: VectorValue<'ctx>,
        b: VectorValue<'ctx>,
    ) -> VResult<VectorValue<'ctx>> {
        self.b.build_float_compare(p, a, b, "").map_err(be)
    }
    fn sel(
        &self,
        c: VectorValue<'ctx>,
        a: VectorValue<'ctx>,
        b: VectorValue<'ctx>,
    ) -> VResult<VectorValue<'ctx>> {
        Ok(self
            .b
            .build_select(c, a, b, "")
            .map_err(be)?
            .into_vector_value())
    }

    /// Horner evaluation of `Σ c[i]·x^i` with FMAs.
    fn poly(&self, x: VectorValue<'ctx>, c: &[f32]) -> VResult<VectorValue<'ctx>> {
        let mut acc = self.c(c[c.len() - 1], x);
        for &k in c[..c.len() - 1].iter().rev() {
            acc = self.fma(acc, x, self.c(k, x))?;
        }
        Ok(acc)
    }

    /// `x < lo ? lo : x > hi ? hi : x`, NaN kept (the interpreter's `clamp`).
    fn clamp_keep_nan(&self, v: VectorValue<'ctx>, lo: f32, hi: f32) -> VResult<VectorValue<'ctx>> {
        let lt = self.cmp(FloatPredicate::OLT, v, self.c(lo, v))?;
        let t = self.sel(lt, self.c(lo, v), v)?;
        let gt = self.cmp(FloatPredicate::OGT, t, self.c(hi, v))?;
        self.sel(gt, self.c(hi, v), t)
    }

    /// `exp(a + b)` where `a` is exact and `b` a small correction (|b| ≲ 2);
    /// the reduction `a − n·ln2` is done before `b` is added so the rounding of
    /// `a + b` does not enter the result. NaN in `a` or `b` gives NaN.
    ///
    /// The result is scaled by `2^k` (`0 ≤ k ≤ 64`) before its one rounding, so
    /// that a caller can keep `e^x` normal where it would be subnormal.
    fn exp2parts(
        &self,
        a: VectorValue<'ctx>,
        b: Option<VectorValue<'ctx>>,
        k: i32,
    ) -> VResult<VectorValue<'ctx>> {
        let lo = EXP_LO - k as f32 * std::f32::consts::LN_2;
        let w = a.get_type().get_size();
        let s = match b {
            Some(b) => self.add(a, b)?,
            None => a,
        };
        // maxnum/minnum turn NaN into a bound: NaN is restored at the end.
        let sc = self.bin("llvm.maxnum", s, self.c(lo, s))?;
        let sc = self.bin("llvm.minnum", sc, self.c(EXP_HI, s))?;
        let n = self.un("llvm.rint", self.mul(sc, self.c(LOG2E, s))?)?;
        // with a correction term the reduction starts from the exact `a`; the
        // cases where the clamp changed the sum are overridden below
        let ac = if b.is_some() { a } else { sc };
        let mut r = self.fma(n, self.c(-LN2_HI, s), ac)?;
        r = self.fma(n, self.c(-LN2_LO, s), r)?;
        if let Some(b) = b {
            r = self.add(r, b)?;
        }
        let p = self.poly(
            r,
            &[
                1.0,
                1.0,
                0.5,
                1.0 / 6.0,
                1.0 / 24.0,
                1.0 / 120.0,
                1.0 / 720.0,
                1.0 / 5040.0,
            ],
        )?;
        let it = self.module.get_context().i32_type().vec_type(w);
        let ni = self.b.build_float_to_signed_int(n, it, "").map_err(be)?;
        let ni = self.b.build_int_add(ni, self.ci(k, w), "").map_err(be)?;
        let n1 = self
            .b
            .build_right_shift(ni, self.ci(1, w), true, "")
            .map_err(be)?;
        let n2 = self.b.build_int_sub(ni, n1, "").map_err(be)?;
        let ft = s.get_type();
        let pow2 = |k: VectorValue<'ctx>| -> VResult<VectorValue<'ctx>> {
            let e = self.b.build_int_add(k, self.ci(127, w), "").map_err(be)?;
            let e = self.b.build_left_shift(e, self.ci(23, w), "").map_err(be)?;
            Ok(self
                .b
                .build_bit_cast(e, ft, "")
                .map_err(be)?
                .into_vector_value())
        };
        let res = self.mul(self.mul(p, pow2(n1)?)?, pow2(n2)?)?;
        // below the clamp the polynomial was evaluated off its range: exact 0
        let under = self.cmp(FloatPredicate::OLT, s, self.c(lo, s))?;
        let res = self.sel(under, self.c(0.0, s), res)?;
        let over = self.cmp(FloatPredicate::OGT, s, self.c(EXP_HI, s))?;
        let res = self.sel(over, self.c(f32::INFINITY, s), res)?;
        let nan = self.cmp(FloatPredicate::UNO, s, s)?;
        self.sel(nan, s, res)
    }

    /// `e^x`.
    pub fn exp(&self, x: VectorValue<'ctx>) -> VResult<VectorValue<'ctx>> {
        self.exp2parts(x, None, 0)
    }

    /// `1 / (1 + e^−x)`.
    pub fn sigmoid(&self, x: VectorValue<'ctx>) -> VResult<VectorValue<'ctx>> {
        let ax = self.un("llvm.fabs", x)?;
        let e = self.exp(self.b.build_float_neg(ax, "").map_err(be)?)?;
        let pos = self.cmp(FloatPredicate::OGE, x, self.c(0.0, x))?;
        let num = self.sel(pos, self.c(1.0, x), e)?;
        self.div(num, self.add(self.c(1.0, x), e)?)
    }

    /// `x · sigmoid(x)`; for `x < 0` computed as `(x·e·2^64)/(1 + e)·2^−64` so that
    /// tails in the subnormal range are rounded once.
    pub fn silu(&self, x: VectorValue<'ctx>) -> VResult<VectorValue<'ctx>> {
        let ax = self.un("llvm.fabs", x)?;
        let nax = self.b.build_float_neg(ax, "").map_err(be)?;
        let es = self.exp2parts(nax, None, 64)?; // e^−|x| · 2^64
        let e = self.mul(es, self.c(f32::from_bits((127 - 64) << 23), x))?;
        let den = self.add(self.c(1.0, x), e)?;
        // one division: x/(1+e) for x ≥ 0, (x·e·2^64)/(1+e)·2^−64 below
        let is_pos = self.cmp(FloatPredicate::OGE, x, self.c(0.0, x))?;
        let num = self.sel(is_pos, x, self.mul(x, es)?)?;
        let scale = self.sel(
            is_pos,
            self.c(1.0, x),
            self.c(f32::from_bits((127 - 64) << 23), x),
        )?;
        let r = self.mul(self.div(num, den)?, scale)?;
        // −inf · 0: the limit is −0
        let minf = self.cmp(FloatPredicate::OEQ, x, self.c(f32::NEG_INFINITY, x))?;
        self.sel(minf, self.c(-0.0, x), r)
    }

    /// `tanh(x)`.
    pub fn tanh(&self, x: VectorValue<'ctx>) -> VResult<VectorValue<'ctx>> {
        let ax = self.un("llvm.fabs", x)?;
        // small |x|: odd polynomial
        let x2 = self.mul(x, x)?;
        let p = self.poly(x2, &TANH_P)?;
        let x3 = self.mul(x2, x)?;
        let small = self.fma(x3, p, x)?;
        // large |x|: (1 − e)/(1 + e), e = exp(−2|x|)
        let e = self.exp(self.mul(ax, self.c(-2.0, x))?)?;
        let one = self.c(1.0, x);
        let t = self.div(self.sub(one, e)?, self.add(one, e)?)?;
        let big = self.bin("llvm.copysign", t, x)?;
        let is_small = self.cmp(FloatPredicate::OLT, ax, self.c(TANH_SMALL, x))?;
        self.sel(is_small, small, big)
    }

    /// Exact (erf) GELU: `x · Φ(x)`.
    pub fn gelu(&self, x: VectorValue<'ctx>) -> VResult<VectorValue<'ctx>> {
        // |x| ≥ 20: Φ is 0 or 1 in f32; clamping keeps x·x finite
        let ax = self.un("llvm.fabs", x)?;
        let ax = self.bin("llvm.minnum", ax, self.c(20.0, x))?;
        let z = self.mul(ax, self.c(std::f32::consts::FRAC_1_SQRT_2, x))?;
        let two = self.c(2.0, x);
        let t = self.div(two, self.add(two, z)?)?;
        let p = self.poly(t, &ERFC_P)?;
        // z² = ax²/2 = hi + lo exactly
        let xx = self.mul(ax, ax)?;
        let err = self.fma(ax, ax, self.b.build_float_neg(xx, "").map_err(be)?)?;
        let a = self.mul(xx, self.c(-0.5, x))?;
        let corr = self.fma(err, self.c(-0.5, x), p)?;
        // erfc(z)·2^64 (kept normal until the last rounding of the negative side)
        let es = self.mul(t, self.exp2parts(a, Some(corr), 64)?)?;
        let two_m64 = self.c(f32::from_bits((127 - 64) << 23), x);
        let half_e = self.mul(self.mul(es, two_m64)?, self.c(0.5, x))?;
        let pos = self.mul(x, self.sub(self.c(1.0, x), half_e)?)?;
        let neg = self.mul(self.mul(x, self.mul(es, self.c(0.5, x))?)?, two_m64)?;
        let is_neg = self.cmp(FloatPredicate::OLT, x, self.c(0.0, x))?;
        let r = self.sel(is_neg, neg, pos)?;
        let minf = self.cmp(FloatPredicate::OEQ, x, self.c(f32::NEG_INFINITY, x))?;
        self.sel(minf, self.c(-0.0, x), r)
    }

    /// Applies an activation with the interpreter's semantics (NaN kept by the
    /// clamps; the smooth functions to a few ulp, see the module docs).
    pub fn act(&self, act: Option<Activation>, v: VectorValue<'ctx>) -> VResult<VectorValue<'ctx>> {
        let c = |x: f32| self.c(x, v);
        Ok(match act {
            None => v,
            Some(Activation::Relu) => {
                let lt = self.cmp(FloatPredicate::OLT, v, c(0.0))?;
                self.sel(lt, c(0.0), v)?
            }
            Some(Activation::Relu6) => self.clamp_keep_nan(v, 0.0, 6.0)?,
            Some(Activation::Sigmoid) => self.sigmoid(v)?,
            Some(Activation::Tanh) => self.tanh(v)?,
            Some(Activation::Silu) => self.silu(v)?,
            Some(Activation::Gelu) => self.gelu(v)?,
            Some(Activation::Hardswish) => {
                let t = self.clamp_keep_nan(self.add(v, c(3.0))?, 0.0, 6.0)?;
                self.div(self.mul(v, t)?, c(6.0))?
            }
            Some(Activation::Hardsigmoid) => {
                let t = self.div(self.add(v, c(3.0))?, c(6.0))?;
                self.clamp_keep_nan(t, 0.0, 1.0)?
            }
            Some(Activation::LeakyRelu { slope }) => {
                let ge = self.cmp(FloatPredicate::OGE, v, c(0.0))?;
                let m = self.mul(v, c(slope))?;
                self.sel(ge, v, m)?
            }
        })
    }
}
