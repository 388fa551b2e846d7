//! Accuracy of the vectorized transcendentals (`kernels/vmath.rs`) and of every
//! epilogue activation, for each ISA of the kernel matrix (AVX2 = 8 lanes,
//! AVX-512 = 16 lanes): a sweep over the whole f32 range (every 16411th bit
//! pattern), a dense sweep of [-20, 20], random bit patterns, and the special
//! values (NaN, ±inf, ±0, subnormals, ±max), against f64 references (errors in
//! ulp of the correctly rounded result) and against the interpreter.
//!
//! `cargo test -p nnc-codegen --test kernels_vmath -- --nocapture` prints the
//! measured maxima (the figures of docs/kernels.md).

mod kernels_util;

use kernels_util::kernels::gemm::{apply_act, Activation};
use kernels_util::{emit_unary, matrix_cpus, with_kernel_on, Fun, Rng, ALL_ACTS};

fn lanes(cpu: &str) -> u32 {
    if cpu.contains("avx512") {
        16
    } else {
        8
    }
}

/// Runs `fun` compiled for `cpu` over `xs` (padded to the vector width).
fn run(cpu: &str, fun: Option<Fun>, xs: &[f32]) -> Vec<f32> {
    let w = lanes(cpu) as usize;
    let n = xs.len().div_ceil(w) * w;
    let mut inp = xs.to_vec();
    inp.resize(n, 0.0);
    let mut out = vec![0.0f32; n];
    let null = std::ptr::null();
    with_kernel_on(
        cpu,
        |m| emit_unary(m, fun, w as u32),
        // SAFETY: both buffers hold `n` floats.
        |f| unsafe {
            f(
                inp.as_ptr(),
                null,
                null,
                null,
                out.as_mut_ptr(),
                0,
                n as i64,
            )
        },
    );
    out.truncate(xs.len());
    out
}

/// The test inputs.
fn inputs() -> Vec<f32> {
    let mut v = vec![
        f32::NAN,
        -f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        0.0,
        -0.0,
        f32::MAX,
        f32::MIN,
        f32::MIN_POSITIVE,
        -f32::MIN_POSITIVE,
        f32::from_bits(1),
        f32::from_bits(0x8000_0001),
        f32::from_bits(0x007f_ffff),
        88.72283,
        88.72284,
        89.0,
        -87.33654,
        -103.0,
        -104.0,
        -105.0,
        0.625,
        -0.625,
        0.624_999_94,
    ];
    let mut bits: u64 = 0;
    while bits < 1 << 32 {
        v.push(f32::from_bits(bits as u32));
        bits += 16411;
    }
    for i in 0..=200_000 {
        v.push(-20.0 + 40.0 * i as f32 / 200_000.0);
    }
    let mut r = Rng::new(99);
    for _ in 0..50_000 {
        v.push(f32::from_bits(r.next_u64() as u32));
    }
    v
}

/// `erfc(z)` in f64 for `z ≥ 0` (series for small z, continued fraction above).
fn erfc64(z: f64) -> f64 {
    if z < 2.0 {
        return 1.0 - nnc_ir::op::erf(z);
    }
    if z > 27.0 {
        return 0.0;
    }
    // erfc(z) = exp(−z²)/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + ...))))
    let mut t = z;
    for k in (1..200).rev() {
        t = z + (k as f64 / 2.0) / t;
    }
    (-z * z).exp() / std::f64::consts::PI.sqrt() / t
}

/// The exact value (f64) of `fun` at `x`.
fn reference(fun: Option<Fun>, x: f32) -> f64 {
    let x = x as f64;
    let sig = |x: f64| {
        if x >= 0.0 {
            1.0 / (1.0 + (-x).exp())
        } else {
            let e = x.exp();
            e / (1.0 + e)
        }
    };
    match fun {
        None => x,
        Some(Fun::Exp) => x.exp(),
        Some(Fun::LibmSilu) => reference(Some(Fun::Act(Activation::Silu)), x as f32),
        Some(Fun::Act(a)) => match a {
            Activation::Sigmoid => sig(x),
            Activation::Silu => {
                if x == f64::NEG_INFINITY {
                    0.0
                } else {
                    x * sig(x)
                }
            }
            Activation::Tanh => x.tanh(),
            Activation::Gelu => {
                if x == f64::NEG_INFINITY {
                    return 0.0;
                }
                let z = x.abs() / std::f64::consts::SQRT_2;
                let phi = if x < 0.0 {
                    0.5 * erfc64(z)
                } else {
                    1.0 - 0.5 * erfc64(z)
                };
                x * phi
            }
            // piecewise ones: the interpreter's f32 semantics exactly
            other => other.apply(x as f32) as f64,
        },
    }
}

/// Error of `got` in units in the last place of the correctly rounded `want`
/// (subnormal ulp below the normal range); `None` when NaN/inf do not match.
fn ulp_err(got: f32, want: f64) -> Option<f64> {
    if want.is_nan() {
        return got.is_nan().then_some(0.0);
    }
    let wf = want as f32;
    if wf.is_infinite() {
        return (got == wf).then_some(0.0);
    }
    if got.is_nan() || got.is_infinite() {
        return None;
    }
    let e = if want == 0.0 {
        -126
    } else {
        (want.abs().log2().floor() as i32).max(-126)
    };
    let ulp = (2.0f64).powi(e - 23);
    Some((got as f64 - want).abs() / ulp)
}

struct Stats {
    max_ulp: f64,
    at: f32,
    max_rel: f64,
}

fn measure(cpu: &str, fun: Option<Fun>, xs: &[f32]) -> Stats {
    let ys = run(cpu, fun, xs);
    let mut s = Stats {
        max_ulp: 0.0,
        at: 0.0,
        max_rel: 0.0,
    };
    for (&x, &y) in xs.iter().zip(&ys) {
        let want = reference(fun, x);
        let e = ulp_err(y, want).unwrap_or_else(|| {
            panic!(
                "{cpu} {fun:?}({x:e} = {:#x}) = {y:e}, want {want:e}",
                x.to_bits()
            )
        });
        if e > s.max_ulp {
            s.max_ulp = e;
            s.at = x;
        }
        if want.abs() <= f32::MAX as f64 && want.abs() >= f32::MIN_POSITIVE as f64 {
            s.max_rel = s.max_rel.max((y as f64 - want).abs() / want.abs());
        }
    }
    s
}

/// Max ulp error allowed per function (measured maxima in docs/kernels.md).
fn bound(fun: Option<Fun>) -> f64 {
    match fun {
        Some(Fun::Exp) => 2.0,
        Some(Fun::Act(Activation::Sigmoid)) => 3.0,
        Some(Fun::Act(Activation::Silu)) => 4.0,
        Some(Fun::Act(Activation::Tanh)) => 3.0,
        Some(Fun::Act(Activation::Gelu)) => 8.0,
        // hardswish, hardsigmoid, relu, ...: bit-exact with the interpreter
        _ => 0.0,
    }
}

#[test]
fn transcendentals_whole_range_every_isa() {
    let xs = inputs();
    let mut funs = vec![Some(Fun::Exp)];
    funs.extend(ALL_ACTS.iter().map(|a| a.map(Fun::Act)));
    for cpu in matrix_cpus() {
        for &fun in &funs {
            let s = measure(cpu, fun, &xs);
            println!(
                "{cpu:>15} {:<28} max {:.2} ulp (at {:e}), max rel {:.2e}",
                format!("{fun:?}"),
                s.max_ulp,
                s.at,
                s.max_rel
            );
            assert!(
                s.max_ulp <= bound(fun),
                "{cpu} {fun:?}: {} ulp at {:e}",
                s.max_ulp,
                s.at
            );
        }
    }
}

/// Against the interpreter's scalar functions (f32 libm / f64 erf): within a
/// 4 ulp, or 1e-7 absolute for tiny values (the interpreter's own
/// `x/(1+exp(−x))` forms lose accuracy in the tails, which is why the
/// accuracy test above uses exact references).
#[test]
fn activations_match_the_interpreter() {
    let mut xs: Vec<f32> = (0..=40_000).map(|i| -30.0 + i as f32 * 0.0015).collect();
    xs.extend([f32::NAN, f32::INFINITY, 0.0, -0.0, 1e-30, -1e-30, 1e30]);
    for cpu in matrix_cpus() {
        for act in ALL_ACTS {
            let ys = run(cpu, act.map(Fun::Act), &xs);
            for (&x, &y) in xs.iter().zip(&ys) {
                let want = apply_act(act, x);
                if want.is_nan() {
                    assert!(y.is_nan(), "{cpu} {act:?}({x}) = {y}, want NaN");
                    continue;
                }
                let tol = (4.0 * f32::EPSILON * want.abs()).max(1e-7);
                assert!(
                    (y - want).abs() <= tol || y == want,
                    "{cpu} {act:?}({x:e}) = {y:e}, interpreter {want:e}"
                );
            }
        }
    }
}
