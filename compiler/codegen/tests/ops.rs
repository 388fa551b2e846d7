//! Differential tests of every op: JIT-compiled code against the reference
//! interpreter, on fixed and randomized shapes and attributes.

mod common;

use common::check;
use nnc_ir::GraphBuilder;
use nnc_ir::{Activation, BinaryKind, Conv2d, Op, Pool};
use proptest::prelude::*;

fn conv(
    out: usize,
    k: [usize; 2],
    s: [usize; 2],
    p: [usize; 2],
    d: [usize; 2],
    g: usize,
    bias: bool,
) -> Op {
    Op::Conv2d(Conv2d {
        out_channels: out,
        kernel: k,
        stride: s,
        pad: p,
        dilation: d,
        groups: g,
        bias,
    })
}

fn single(shape: &[usize], op: Op) -> nnc_ir::Graph {
    let mut b = GraphBuilder::new("t");
    let x = b.input("x", shape);
    let y = b.op(op, &[x]).unwrap();
    b.output("y", y);
    b.finish()
}

#[test]
fn activations() {
    let acts = [
        Activation::Relu,
        Activation::Relu6,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Hardswish,
        Activation::Hardsigmoid,
        Activation::Silu,
        Activation::Gelu,
        Activation::LeakyRelu { slope: 0.1 },
    ];
    for a in acts {
        for shape in [vec![1, 3, 5, 7], vec![2, 17], vec![1, 8, 4, 4], vec![1]] {
            let mut b = GraphBuilder::new("t");
            let x = b.input("x", &shape);
            // scale inputs up so the nonlinear ranges are exercised
            let y = b.op(Op::Binary(BinaryKind::Add), &[x, x]).unwrap();
            let y = b.op(Op::Binary(BinaryKind::Add), &[y, y]).unwrap();
            let z = b.op(Op::Act(a), &[y]).unwrap();
            b.output("y", z);
            let g = b.finish();
            check(&g, 1).unwrap_or_else(|e| panic!("{a:?} {shape:?}: {e}"));
        }
    }
}

#[test]
fn relu_keeps_nan() {
    let g = single(&[1, 9], Op::Act(Activation::Relu));
    let mut x = vec![1.0f32; 9];
    x[3] = f32::NAN;
    x[8] = -2.0;
    let w = nnc_interp::WeightStore::new();
    let out = nnc_codegen::testing::run_jit(&g, &w, &[x], "host", 3).unwrap();
    assert!(out[0][3].is_nan());
    assert_eq!(out[0][8], 0.0);
    assert_eq!(out[0][0], 1.0);
}

#[test]
fn batchnorm_standalone() {
    // batchnorm after an add cannot be folded
    for shape in [vec![2, 5, 3, 3], vec![1, 16, 1, 1], vec![1, 3, 9, 11]] {
        let mut b = GraphBuilder::new("t");
        let x = b.input("x", &shape);
        let y = b.op(Op::Binary(BinaryKind::Add), &[x, x]).unwrap();
        let z = b.op(Op::BatchNorm { eps: 1e-5 }, &[y]).unwrap();
        b.output("y", z);
        check(&b.finish(), 2).unwrap();
    }
}

#[test]
fn binary_broadcasting() {
    let cases: &[(&[usize], &[usize])] = &[
        (&[1, 3, 4, 5], &[1, 3, 4, 5]),
        (&[1, 3, 4, 5], &[1, 3, 1, 1]),
        (&[2, 3, 4, 5], &[1, 1, 1, 5]),
        (&[2, 3, 4, 5], &[5]),
        (&[2, 1, 4, 1], &[1, 3, 1, 5]),
        (&[7], &[1]),
        (&[1, 1], &[3, 9]),
        (&[2, 3, 1, 17], &[2, 3, 4, 1]),
    ];
    for kind in [BinaryKind::Add, BinaryKind::Mul] {
        for (a, bs) in cases {
            let mut b = GraphBuilder::new("t");
            let x = b.input("a", a);
            let y = b.input("b", bs);
            let z = b.op(Op::Binary(kind), &[x, y]).unwrap();
            b.output("y", z);
            check(&b.finish(), 3).unwrap_or_else(|e| panic!("{kind:?} {a:?} {bs:?}: {e}"));
        }
    }
}

#[test]
fn convs_fixed() {
    let cases = [
        (
            vec![1, 3, 8, 8],
            conv(8, [3, 3], [1, 1], [1, 1], [1, 1], 1, true),
        ),
        (
            vec![1, 3, 16, 16],
            conv(16, [7, 7], [2, 2], [3, 3], [1, 1], 1, false),
        ),
        (
            vec![2, 5, 9, 7],
            conv(13, [3, 2], [2, 1], [1, 0], [1, 2], 1, true),
        ),
        (
            vec![1, 8, 7, 7],
            conv(8, [3, 3], [1, 1], [1, 1], [1, 1], 8, true),
        ),
        (
            vec![1, 32, 14, 14],
            conv(64, [1, 1], [1, 1], [0, 0], [1, 1], 1, false),
        ),
        (
            vec![1, 12, 5, 5],
            conv(6, [3, 3], [1, 1], [2, 2], [2, 2], 3, true),
        ),
        (
            vec![1, 4, 1, 1],
            conv(10, [1, 1], [1, 1], [0, 0], [1, 1], 1, true),
        ),
        (
            vec![1, 16, 3, 3],
            conv(40, [5, 5], [1, 1], [2, 2], [1, 1], 1, true),
        ),
        (
            vec![1, 24, 10, 10],
            conv(24, [3, 3], [2, 2], [1, 1], [1, 1], 24, false),
        ),
    ];
    for (shape, op) in cases {
        let g = single(&shape, op.clone());
        check(&g, 4).unwrap_or_else(|e| panic!("{shape:?} {op:?}: {e}"));
    }
}

#[test]
fn conv_bn_relu_residual_fused() {
    let mut b = GraphBuilder::new("t");
    let x = b.input("x", &[1, 16, 9, 9]);
    let c = b
        .op(conv(16, [3, 3], [1, 1], [1, 1], [1, 1], 1, false), &[x])
        .unwrap();
    let n = b.op(Op::BatchNorm { eps: 1e-5 }, &[c]).unwrap();
    let a = b.op(Op::Binary(BinaryKind::Add), &[n, x]).unwrap();
    let r = b.op(Op::Act(Activation::Relu), &[a]).unwrap();
    let c2 = b
        .op(conv(20, [1, 1], [1, 1], [0, 0], [1, 1], 1, true), &[r])
        .unwrap();
    let r2 = b.op(Op::Act(Activation::Relu6), &[c2]).unwrap();
    b.output("y", r2);
    check(&b.finish(), 5).unwrap();
}

#[test]
fn linear_and_softmax() {
    for (n, f, o) in [(1, 64, 10), (3, 17, 33), (2, 8, 1), (5, 100, 24)] {
        let mut b = GraphBuilder::new("t");
        let x = b.input("x", &[n, f]);
        let y = b
            .op(
                Op::Linear {
                    out_features: o,
                    bias: true,
                },
                &[x],
            )
            .unwrap();
        let z = b.op(Op::Softmax { axis: 1 }, &[y]).unwrap();
        b.output("y", z);
        b.output("logits", y);
        check(&b.finish(), 6).unwrap_or_else(|e| panic!("{n} {f} {o}: {e}"));
    }
    for (shape, axis) in [(vec![2, 3, 4], 0), (vec![2, 3, 4], 1), (vec![2, 3, 4], 2)] {
        let g = single(&shape, Op::Softmax { axis });
        check(&g, 7).unwrap();
    }
}

#[test]
fn pools() {
    let p = |k: usize, s: usize, pad: usize, ceil: bool| Pool {
        kernel: [k, k],
        stride: [s, s],
        pad: [pad, pad],
        ceil,
    };
    for shape in [vec![1, 3, 8, 8], vec![2, 2, 7, 9], vec![1, 1, 5, 5]] {
        for (k, s, pad, ceil) in [
            (2, 2, 0, false),
            (3, 2, 1, false),
            (3, 2, 1, true),
            (2, 2, 1, true),
            (3, 3, 0, true),
        ] {
            let g = single(&shape, Op::MaxPool(p(k, s, pad, ceil)));
            check(&g, 8).unwrap_or_else(|e| panic!("max {shape:?} {k} {s} {pad} {ceil}: {e}"));
            for count_pad in [true, false] {
                let g = single(
                    &shape,
                    Op::AvgPool {
                        pool: p(k, s, pad, ceil),
                        count_pad,
                    },
                );
                check(&g, 8).unwrap_or_else(|e| {
                    panic!("avg {shape:?} {k} {s} {pad} {ceil} {count_pad}: {e}")
                });
            }
        }
    }
}

#[test]
fn data_movement() {
    let mut b = GraphBuilder::new("t");
    let x = b.input("x", &[2, 6, 3, 5]);
    let y = b.input("y", &[2, 4, 3, 5]);
    let c = b.op(Op::Concat { axis: 1 }, &[x, y]).unwrap();
    let s0 = b
        .op(
            Op::Split {
                axis: 1,
                start: 0,
                len: 5,
                part: 0,
                parts: 2,
            },
            &[c],
        )
        .unwrap();
    let s1 = b
        .op(
            Op::Split {
                axis: 1,
                start: 5,
                len: 5,
                part: 1,
                parts: 2,
            },
            &[c],
        )
        .unwrap();
    let sh = b.op(Op::ChannelShuffle { groups: 5 }, &[s1]).unwrap();
    let u = b.op(Op::Upsample { scale: 2 }, &[s0]).unwrap();
    let gp = b.op(Op::GlobalAvgPool, &[sh]).unwrap();
    let f = b.op(Op::Flatten, &[gp]).unwrap();
    let c3 = b.op(Op::Concat { axis: 3 }, &[x, x]).unwrap();
    b.output("u", u);
    b.output("f", f);
    b.output("c3", c3);
    b.output("x_again", x);
    check(&b.finish(), 9).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, .. ProptestConfig::default() })]

    #[test]
    fn conv_random(
        n in 1usize..3, cg in 1usize..5, og in 1usize..12, groups in 1usize..4,
        h in 1usize..12, w in 1usize..12, kh in 1usize..4, kw in 1usize..4,
        sh in 1usize..3, sw in 1usize..3, ph in 0usize..3, pw in 0usize..3,
        dh in 1usize..3, dw in 1usize..3, bias: bool, act in 0usize..3, seed in 0u64..1000,
    ) {
        let ph = ph.min(kh);
        let pw = pw.min(kw);
        prop_assume!(h + 2 * ph > dh * (kh - 1) && w + 2 * pw > dw * (kw - 1));
        let mut b = GraphBuilder::new("t");
        let x = b.input("x", &[n, cg * groups, h, w]);
        let c = b.op(conv(og * groups, [kh, kw], [sh, sw], [ph, pw], [dh, dw], groups, bias), &[x]).unwrap();
        let y = match act {
            0 => c,
            1 => b.op(Op::Act(Activation::Relu), &[c]).unwrap(),
            _ => {
                let bn = b.op(Op::BatchNorm { eps: 1e-5 }, &[c]).unwrap();
                b.op(Op::Act(Activation::Hardswish), &[bn]).unwrap()
            }
        };
        b.output("y", y);
        let g = b.finish();
        if let Err(e) = check(&g, seed) {
            prop_assert!(false, "{e}");
        }
    }

    #[test]
    fn pool_random(
        c in 1usize..4, h in 1usize..10, w in 1usize..40, k in 1usize..4, s in 1usize..4,
        pad in 0usize..2, ceil: bool, count_pad: bool, max: bool, seed in 0u64..1000,
    ) {
        prop_assume!(pad * 2 <= k && h + 2 * pad >= k && w + 2 * pad >= k);
        let pool = Pool { kernel: [k, k], stride: [s, s], pad: [pad, pad], ceil };
        let op = if max { Op::MaxPool(pool) } else { Op::AvgPool { pool, count_pad } };
        let g = single(&[1, c, h, w], op);
        if let Err(e) = check(&g, seed) {
            prop_assert!(false, "{e}");
        }
    }
}

/// Every activation of the language fuses into the fast conv/linear kernels
/// (before, anything but relu/relu6 fell back to the general direct conv):
/// the plan has no general `Conv` step, and the results match the interpreter.
#[test]
fn every_activation_fuses_into_fast_kernels() {
    use nnc_codegen::plan::KernelPlan;
    let acts = [
        Activation::Relu,
        Activation::Relu6,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Hardswish,
        Activation::Hardsigmoid,
        Activation::Silu,
        Activation::Gelu,
        Activation::LeakyRelu { slope: 0.1 },
    ];
    for (i, a) in acts.into_iter().enumerate() {
        // a 3×3 conv, a depthwise conv and a 1×1 conv, each followed by `a`
        let mut b = GraphBuilder::new("t");
        let x = b.input("x", &[1, 6, 9, 7]);
        let c = b
            .op(conv(8, [3, 3], [1, 1], [1, 1], [1, 1], 1, true), &[x])
            .unwrap();
        let c = b.op(Op::Act(a), &[c]).unwrap();
        let c = b
            .op(conv(8, [3, 3], [2, 2], [1, 1], [1, 1], 8, true), &[c])
            .unwrap();
        let c = b.op(Op::Act(a), &[c]).unwrap();
        let c = b
            .op(conv(5, [1, 1], [1, 1], [0, 0], [1, 1], 1, true), &[c])
            .unwrap();
        let c = b.op(Op::Act(a), &[c]).unwrap();
        b.output("y", c);
        let g = b.finish();
        let w = nnc_interp::weights::init_random(&g, 11 + i as u64);
        let prep = nnc_codegen::prepare(&g, &w).unwrap();
        let plan = nnc_codegen::plan_graph(&prep, true).unwrap();
        let fast = plan
            .steps
            .iter()
            .filter(|s| matches!(s.kernel, KernelPlan::Fast(_)))
            .count();
        let general: Vec<&str> = plan
            .steps
            .iter()
            .filter(|s| matches!(s.kernel, KernelPlan::Conv(_) | KernelPlan::Unary(_)))
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(fast, 3, "{a:?}: {} fast steps", fast);
        assert!(
            general.is_empty(),
            "{a:?}: unfused/general steps {general:?}"
        );
        common::check_with(&g, &w, 5).unwrap_or_else(|e| panic!("{a:?}: {e}"));
    }
}

/// Standalone activations (16 lanes on AVX-512 targets, 8 on AVX2) and
/// activations fused into convs, on the AVX2 build (`x86-64-v3`) and, when the
/// machine has AVX-512F, the AVX-512 build, against the interpreter.
#[test]
fn activations_on_every_isa() {
    let mut cpus = vec!["x86-64-v3"];
    if std::arch::is_x86_feature_detected!("avx512f") {
        cpus.push("skylake-avx512");
    }
    for a in [
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Silu,
        Activation::Gelu,
        Activation::Hardswish,
    ] {
        let mut b = GraphBuilder::new("t");
        // 3·37·5 elements: full vectors and a scalar tail at both widths
        let x = b.input("x", &[1, 3, 37, 5]);
        let y = b.op(Op::Binary(BinaryKind::Add), &[x, x]).unwrap();
        let y = b.op(Op::Binary(BinaryKind::Add), &[y, y]).unwrap();
        let y = b.op(Op::Act(a), &[y]).unwrap();
        let c = b
            .op(conv(7, [3, 3], [1, 1], [1, 1], [1, 1], 1, true), &[y])
            .unwrap();
        let c = b.op(Op::Act(a), &[c]).unwrap();
        b.output("y", c);
        let g = b.finish();
        let w = nnc_interp::weights::init_random(&g, 3);
        let (bufs, map) = common::random_inputs(&g, 4);
        let want = nnc_interp::run(&g, &w, &map).unwrap();
        for cpu in &cpus {
            let got = nnc_codegen::testing::run_jit_with(&g, &w, &bufs, cpu, 3, true).unwrap();
            let e = common::rel_err(&got[0], want["y"].data());
            assert!(e <= common::TOL, "{cpu} {a:?}: rel err {e:e}");
        }
    }
}
