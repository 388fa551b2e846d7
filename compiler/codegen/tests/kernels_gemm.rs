//! Property tests of the linear-layer (SGEMM) kernel against a naive reference.

mod kernels_util;

use kernels_util::kernels::gemm::{emit_linear, pack_linear_weights, Activation, LinearSpec};
use kernels_util::{linear_ref, random_act, rel_err, with_kernel, Rng};

fn check(s: &LinearSpec, seed: u64) {
    let mut r = Rng::new(seed);
    let x = r.vec(s.m * s.k);
    let w = r.vec(s.n * s.k);
    let bias = r.vec(s.n);
    let res = r.vec(s.m * s.n);
    let want = linear_ref(s, &x, &w, &bias, &res);
    let packed = pack_linear_weights(&w, s).expect("pack");
    let plan = s.plan().expect("plan");
    let nt = plan.num_tasks as i64;
    let split = r.range(0, plan.num_tasks) as i64;
    let mut y = vec![f32::NAN; s.m * s.n];
    with_kernel(
        |m| emit_linear(m, s, "linear"),
        |f| unsafe {
            f(
                x.as_ptr(),
                packed.as_ptr(),
                bias.as_ptr(),
                res.as_ptr(),
                y.as_mut_ptr(),
                0,
                split,
            );
            f(
                x.as_ptr(),
                packed.as_ptr(),
                bias.as_ptr(),
                res.as_ptr(),
                y.as_mut_ptr(),
                split,
                nt,
            );
        },
    );
    let e = rel_err(&y, &want);
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
            act: Activation::None,
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
            act: Activation::Relu,
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
        act: Activation::None,
    };
    assert!(s.plan().is_err());
    s.m = usize::MAX;
    assert!(s.plan().is_err());
    s.m = 2;
    assert!(pack_linear_weights(&[1.0; 5], &s).is_err());
}
