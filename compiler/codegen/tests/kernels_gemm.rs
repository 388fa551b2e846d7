//! Property tests of the linear-layer (SGEMM) kernel against a naive reference.

mod kernels_util;

use kernels_util::kernels::gemm::{pack_linear_weights, Activation, LinearSpec};
use kernels_util::{check_linear_on, random_act, Rng};

fn check(s: &LinearSpec, seed: u64) {
    let e = check_linear_on("", s, seed);
    assert!(e <= 1e-4, "rel err {e:e} for {s:?}");
}

#[test]
fn classifier_head() {
    check(
        &LinearSpec {
            m: 1,
            k: 512,
            n: 1000,
            bias: true,
            residual: false,
            act: None,
        },
        1,
    );
}

#[test]
fn batched_with_tails() {
    check(
        &LinearSpec {
            m: 7,
            k: 33,
            n: 21,
            bias: true,
            residual: true,
            act: Some(Activation::Relu),
        },
        2,
    );
}

#[test]
fn randomized_shapes() {
    let mut r = Rng::new(7);
    for case in 0..30 {
        let s = LinearSpec {
            m: r.range(1, 14),
            k: r.range(1, 70),
            n: r.range(1, 90),
            bias: r.range(0, 1) == 1,
            residual: r.range(0, 1) == 1,
            act: random_act(&mut r),
        };
        check(&s, 100 + case);
    }
}

#[test]
fn bad_specs_are_errors() {
    let mut s = LinearSpec {
        m: 0,
        k: 3,
        n: 3,
        bias: false,
        residual: false,
        act: None,
    };
    assert!(s.plan().is_err());
    s.m = usize::MAX;
    assert!(s.plan().is_err());
    s.m = 2;
    assert!(pack_linear_weights(&[1.0; 5], &s).is_err());
}
