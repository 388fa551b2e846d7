//! Differential tests of the transformer ops (layernorm, reshape, permute,
//! slice, select, matmul, param, affine, roll, expand, attention, linear over the
//! last axis of any rank): JIT-compiled code against the reference
//! interpreter on both ISA builds (AVX2 `x86-64-v3`, and `skylake-avx512` when
//! the host has AVX-512F), max|d| / max|ref| <= 1e-4, on small random
//! networks of the new ops.

mod common;

use common::{random_inputs, rel_err, TOL};
use nnc_codegen::testing::run_jit;
use nnc_interp::weights::init_random;
use nnc_ir::GraphBuilder;
use nnc_ir::{Activation, BinaryKind, Graph, NodeId, NormAxes, Op};

fn cpus() -> Vec<&'static str> {
    let mut v = vec!["x86-64-v3"];
    if std::arch::is_x86_feature_detected!("avx512f") {
        v.push("skylake-avx512");
    }
    v
}

fn check(g: &Graph, seed: u64) {
    let w = init_random(g, seed);
    let (bufs, map) = random_inputs(g, seed);
    let want = nnc_interp::run(g, &w, &map).unwrap();
    for cpu in cpus() {
        let got = run_jit(g, &w, &bufs, cpu, 3).unwrap_or_else(|e| panic!("{cpu}: {e}"));
        for (o, buf) in g.outputs.iter().zip(&got) {
            let e = rel_err(buf, want[&o.name].data());
            assert!(
                e <= TOL,
                "{} {cpu}: output {} rel err {e:e}",
                g.name,
                o.name
            );
        }
    }
}

fn op(b: &mut GraphBuilder, op: Op, ins: &[NodeId]) -> NodeId {
    b.op(op, ins).unwrap()
}

fn named(b: &mut GraphBuilder, op: Op, ins: &[NodeId], name: &str) -> NodeId {
    b.named(op, ins, name).unwrap()
}

#[test]
fn layernorm_both_forms_and_linear_on_rank_3_and_4() {
    let mut b = GraphBuilder::new("ln");
    let x = b.input("x", &[2, 5, 7, 12]);
    let y = named(
        &mut b,
        Op::LayerNorm {
            axes: NormAxes::Channels,
            eps: 1e-6,
        },
        &[x],
        "ln2d",
    );
    let y = op(
        &mut b,
        Op::Permute {
            perm: vec![0, 2, 3, 1],
        },
        &[y],
    );
    let y = named(
        &mut b,
        Op::LayerNorm {
            axes: NormAxes::Last(1),
            eps: 1e-6,
        },
        &[y],
        "ln",
    );
    let y = named(
        &mut b,
        Op::Linear {
            out_features: 20,
            bias: true,
        },
        &[y],
        "fc1",
    );
    let y = op(&mut b, Op::Act(Activation::Gelu), &[y]);
    let y = named(
        &mut b,
        Op::Linear {
            out_features: 5,
            bias: true,
        },
        &[y],
        "fc2",
    );
    let y = op(
        &mut b,
        Op::Permute {
            perm: vec![0, 3, 1, 2],
        },
        &[y],
    );
    let y = op(&mut b, Op::Binary(BinaryKind::Add), &[y, x]);
    b.output("y", y);
    let z = named(
        &mut b,
        Op::LayerNorm {
            axes: NormAxes::Last(2),
            eps: 1e-5,
        },
        &[x],
        "ln_2axes",
    );
    b.output("z", z);
    check(&b.finish(), 1);
}

#[test]
fn reshape_permute_slice_select_roll() {
    let mut b = GraphBuilder::new("layout");
    let x = b.input("x", &[1, 8, 6, 6]);
    // Swin-like: NHWC, shift, window partition, patch merging
    let y = op(
        &mut b,
        Op::Permute {
            perm: vec![0, 2, 3, 1],
        },
        &[x],
    );
    let y = op(&mut b, Op::Roll { axis: 1, shift: 4 }, &[y]);
    let y = op(&mut b, Op::Roll { axis: 2, shift: 1 }, &[y]);
    let w = op(
        &mut b,
        Op::Reshape {
            shape: vec![1, 2, 3, 2, 3, 8],
        },
        &[y],
    );
    let w = op(
        &mut b,
        Op::Permute {
            perm: vec![0, 1, 3, 2, 4, 5],
        },
        &[w],
    );
    let w = op(
        &mut b,
        Op::Reshape {
            shape: vec![4, 9, 8],
        },
        &[w],
    );
    b.output("windows", w);
    let s = op(
        &mut b,
        Op::Slice {
            axis: 1,
            start: 0,
            stop: 6,
            step: 2,
        },
        &[y],
    );
    let s = op(
        &mut b,
        Op::Slice {
            axis: 2,
            start: 1,
            stop: 6,
            step: 2,
        },
        &[s],
    );
    b.output("merged", s);
    let t = op(&mut b, Op::Select { axis: 1, index: 2 }, &[y]);
    b.output("row", t);
    let u = op(
        &mut b,
        Op::Affine {
            mul: -0.5,
            add: 1.0,
        },
        &[t],
    );
    b.output("affine", u);
    check(&b.finish(), 2);
}

#[test]
fn expanded_class_token_concat_and_position_embedding() {
    // ViT's front at batch 3: a [1, 1, E] class token expanded to the batch,
    // concatenated in front of the tokens, plus a [1, L + 1, E] embedding
    let mut b = GraphBuilder::new("cls");
    let x = b.input("x", &[3, 7, 20]);
    let t = named(
        &mut b,
        Op::Param {
            shape: vec![1, 1, 20],
        },
        &[],
        "class_token",
    );
    let t = op(
        &mut b,
        Op::Expand {
            shape: vec![3, 1, 20],
        },
        &[t],
    );
    let y = op(&mut b, Op::Concat { axis: 1 }, &[t, x]);
    let pos = named(
        &mut b,
        Op::Param {
            shape: vec![1, 8, 20],
        },
        &[],
        "pos",
    );
    let y = op(&mut b, Op::Binary(BinaryKind::Add), &[y, pos]);
    b.output("y", y);
    // an input column repeated over the last axis and a new leading axis
    let c = op(&mut b, Op::Select { axis: 2, index: 0 }, &[x]);
    let c = op(
        &mut b,
        Op::Reshape {
            shape: vec![3, 7, 1],
        },
        &[c],
    );
    let c = op(
        &mut b,
        Op::Expand {
            shape: vec![2, 3, 7, 9],
        },
        &[c],
    );
    b.output("c", c);
    check(&b.finish(), 5);
}

#[test]
fn matmul_batched_broadcast() {
    let mut b = GraphBuilder::new("mm");
    let a = b.input("a", &[2, 3, 9, 17]);
    let c = b.input("c", &[3, 17, 33]);
    let y = op(&mut b, Op::MatMul, &[a, c]);
    b.output("y", y);
    // Q Kᵀ with an explicit transpose, then scale, softmax and P V
    let q = b.input("q", &[4, 13, 16]);
    let kt = op(
        &mut b,
        Op::Permute {
            perm: vec![0, 2, 1],
        },
        &[q],
    );
    let s = op(&mut b, Op::MatMul, &[q, kt]);
    let s = op(
        &mut b,
        Op::Affine {
            mul: 0.25,
            add: 0.0,
        },
        &[s],
    );
    let p = op(&mut b, Op::Softmax { axis: 2 }, &[s]);
    let o = op(&mut b, Op::MatMul, &[p, q]);
    b.output("o", o);
    check(&b.finish(), 3);
}

#[test]
fn vit_like_encoder_block_with_params_and_attention() {
    let (l, e, heads) = (10usize, 32usize, 4usize);
    let mut b = GraphBuilder::new("vit");
    let x = b.input("x", &[1, 8, 3, 3]);
    // patch tokens [1, 9, 8] → embed 32, class token, position embedding
    let t = op(
        &mut b,
        Op::Reshape {
            shape: vec![1, 8, 9],
        },
        &[x],
    );
    let t = op(
        &mut b,
        Op::Permute {
            perm: vec![0, 2, 1],
        },
        &[t],
    );
    let t = named(
        &mut b,
        Op::Linear {
            out_features: e,
            bias: true,
        },
        &[t],
        "embed",
    );
    let cls = named(
        &mut b,
        Op::Param {
            shape: vec![1, 1, e],
        },
        &[],
        "class_token",
    );
    let t = op(&mut b, Op::Concat { axis: 1 }, &[cls, t]);
    let pos = named(
        &mut b,
        Op::Param {
            shape: vec![1, l, e],
        },
        &[],
        "pos_embedding",
    );
    let mut t = op(&mut b, Op::Binary(BinaryKind::Add), &[t, pos]);
    for i in 0..2 {
        let h = named(
            &mut b,
            Op::LayerNorm {
                axes: NormAxes::Last(1),
                eps: 1e-6,
            },
            &[t],
            &format!("l{i}.ln_1"),
        );
        let h = named(
            &mut b,
            Op::Attention { heads, bias: true },
            &[h],
            &format!("l{i}.self_attention"),
        );
        let t1 = op(&mut b, Op::Binary(BinaryKind::Add), &[h, t]);
        let h = named(
            &mut b,
            Op::LayerNorm {
                axes: NormAxes::Last(1),
                eps: 1e-6,
            },
            &[t1],
            &format!("l{i}.ln_2"),
        );
        let h = named(
            &mut b,
            Op::Linear {
                out_features: 4 * e,
                bias: true,
            },
            &[h],
            &format!("l{i}.mlp.0"),
        );
        let h = op(&mut b, Op::Act(Activation::Gelu), &[h]);
        let h = named(
            &mut b,
            Op::Linear {
                out_features: e,
                bias: true,
            },
            &[h],
            &format!("l{i}.mlp.3"),
        );
        t = op(&mut b, Op::Binary(BinaryKind::Add), &[h, t1]);
    }
    let c = op(&mut b, Op::Select { axis: 1, index: 0 }, &[t]);
    let c = named(
        &mut b,
        Op::Linear {
            out_features: 7,
            bias: true,
        },
        &[c],
        "head",
    );
    b.output("logits", c);
    check(&b.finish(), 4);
}

#[test]
fn attention_without_bias_and_odd_sizes() {
    for (n, l, e, heads) in [
        (2usize, 7usize, 12usize, 3usize),
        (1, 33, 16, 1),
        (1, 5, 40, 5),
    ] {
        let mut b = GraphBuilder::new("attn");
        let x = b.input("x", &[n, l, e]);
        let y = named(&mut b, Op::Attention { heads, bias: false }, &[x], "attn");
        b.output("y", y);
        check(&b.finish(), 5 + l as u64);
    }
}

#[test]
fn take_and_constant() {
    let mut b = GraphBuilder::new("take");
    let x = b.input("x", &[2, 5, 3]);
    // runs of consecutive indices (one copy each), repeats and reversals,
    // on the middle axis, on the first axis, and on the last axis
    let t1 = op(
        &mut b,
        Op::Take {
            axis: 1,
            indices: vec![0, 1, 2, 4, 4, 3, 1],
            index_shape: vec![7],
        },
        &[x],
    );
    b.output("t1", t1);
    let t2 = op(
        &mut b,
        Op::Take {
            axis: 0,
            indices: vec![1, 0, 1, 1],
            index_shape: vec![2, 2],
        },
        &[x],
    );
    b.output("t2", t2);
    let t3 = op(
        &mut b,
        Op::Take {
            axis: 2,
            indices: vec![2, 0],
            index_shape: vec![2],
        },
        &[x],
    );
    // a constant broadcast into the result
    let c = op(
        &mut b,
        Op::Constant {
            shape: vec![1, 5, 2],
            values: nnc_ir::ConstData::new((0..10).map(|v| v as f32 * 0.5 - 2.0).collect()),
        },
        &[],
    );
    let t3 = op(&mut b, Op::Binary(BinaryKind::Add), &[t3, c]);
    b.output("t3", t3);
    check(&b.finish(), 6);
}

/// Permutes that only matmuls read are views read through strides (no
/// step): transposed A, a permuted batch axis, one permute read by two
/// matmuls, a matmul's product written permuted (then reshaped). A
/// transposed B (see `nnc_codegen::layout`) and a permute also read by an
/// activation stay copies. Against the interpreter.
#[test]
fn permutes_folded_into_matmul_operands() {
    let mut b = GraphBuilder::new("fold");
    let x = b.input("x", &[2, 3, 7, 9]);
    let y = b.input("y", &[3, 2, 9, 13]);
    let relu = |b: &mut GraphBuilder, t| op(b, Op::Act(Activation::Relu), &[t]);
    let perm = |b: &mut GraphBuilder, t, p: &[usize]| op(b, Op::Permute { perm: p.to_vec() }, &[t]);
    let ya_t = |b: &mut GraphBuilder, t| {
        op(
            b,
            Op::Permute {
                perm: vec![1, 0, 2, 3],
            },
            &[t],
        )
    };
    // arena tensors (a network input cannot be shared)
    let xa = relu(&mut b, x);
    let ya = relu(&mut b, y);
    // transposed B: xa · xaᵀ ([2, 3, 7, 9] · [2, 3, 9, 7]) stays a copy
    let xt = perm(&mut b, xa, &[0, 1, 3, 2]);
    let s = op(&mut b, Op::MatMul, &[xa, xt]);
    b.output("s", s);
    // transposed A, the permute read by two matmuls: xaᵀ [2, 3, 9, 7] · xa
    let xt2 = perm(&mut b, xa, &[0, 1, 3, 2]);
    let g1 = op(&mut b, Op::MatMul, &[xt2, xa]);
    let g2 = op(&mut b, Op::MatMul, &[xt2, xa]);
    let g = op(&mut b, Op::Binary(BinaryKind::Add), &[g1, g2]);
    b.output("g", g);
    // batch axes permuted: ya [3, 2, 9, 13] → [2, 3, 9, 13]; xa · that
    let yp = perm(&mut b, ya, &[1, 0, 2, 3]);
    let z = op(&mut b, Op::MatMul, &[xa, yp]);
    b.output("z", z);
    // written permuted: (xa · yp) [2, 3, 7, 13] → [2, 7, 3, 13] → [2, 7, 39],
    // the head merge of windowed attention
    let yt = ya_t(&mut b, ya);
    let h = op(&mut b, Op::MatMul, &[xa, yt]);
    let hp = perm(&mut b, h, &[0, 2, 1, 3]);
    let hr = op(
        &mut b,
        Op::Reshape {
            shape: vec![2, 7, 39],
        },
        &[hp],
    );
    let hr = relu(&mut b, hr);
    b.output("h", hr);
    // read by a matmul and an activation: stays a copy
    let xt3 = perm(&mut b, xa, &[0, 1, 3, 2]);
    let w = op(&mut b, Op::MatMul, &[xa, xt3]);
    b.output("w", w);
    let r = relu(&mut b, xt3);
    b.output("r", r);
    let g = b.finish();
    let wts = init_random(&g, 1);
    let prep = nnc_codegen::prepare(&g, &wts).unwrap();
    let plan = nnc_codegen::plan_graph(&prep, true).unwrap();
    let copies = plan.steps.iter().filter(|s| s.op == "permute").count();
    assert_eq!(
        copies, 2,
        "only the transposed B and the permute an activation reads are copied"
    );
    check(&g, 5);
}
