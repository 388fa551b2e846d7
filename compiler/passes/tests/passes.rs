//! Every pass checked against the reference interpreter: outputs before and
//! after must agree (1e-5 relative), on hand-made graphs and on random small
//! graphs (proptest: chains and diamonds of conv/bn/act/add).

use nnc_interp::eval::run;
use nnc_interp::weights::{check_store, init_random, random_tensor};
use nnc_interp::{Tensor, WeightStore};
use nnc_ir::GraphBuilder;
use nnc_ir::{Activation, BinaryKind, Conv2d, Graph, NodeId, Op};
use nnc_passes::memory_plan::{self, PlanOptions};
use nnc_passes::{dead_code, fold_batchnorm, fuse, pipeline};
use proptest::prelude::*;
use std::collections::HashMap;

fn conv(out: usize, k: usize, stride: usize, groups: usize, bias: bool) -> Op {
    Op::Conv2d(Conv2d {
        out_channels: out,
        kernel: [k, k],
        stride: [stride, stride],
        pad: [k / 2, k / 2],
        dilation: [1, 1],
        groups,
        bias,
    })
}

fn bn() -> Op {
    Op::BatchNorm { eps: 1e-5 }
}

fn relu() -> Op {
    Op::Act(Activation::Relu)
}

fn inputs_for(g: &Graph, seed: u64) -> HashMap<String, Tensor> {
    g.inputs
        .iter()
        .map(|&i| {
            let n = g.node(i);
            (
                n.name.clone(),
                random_tensor(n.shape.clone(), seed ^ i.0 as u64).unwrap(),
            )
        })
        .collect()
}

fn assert_close(a: &HashMap<String, Tensor>, b: &HashMap<String, Tensor>, tol: f64) {
    assert_eq!(a.len(), b.len());
    for (k, t) in a {
        let d = t.rel_max_diff(&b[k]).unwrap();
        assert!(d <= tol, "output {k}: relative difference {d} > {tol}");
    }
}

/// Runs `pass` on a copy and checks the outputs against the original's.
fn check_pass(
    g: &Graph,
    w: &WeightStore,
    pass: fn(&mut Graph, &mut WeightStore) -> Result<nnc_passes::PassStats, nnc_passes::PassError>,
) -> (Graph, WeightStore, nnc_passes::PassStats) {
    let ins = inputs_for(g, 5);
    let before = run(g, w, &ins).unwrap();
    let (mut g2, mut w2) = (g.clone(), w.clone());
    let stats = pass(&mut g2, &mut w2).unwrap();
    assert!(
        check_store(&g2, &w2).is_empty(),
        "{:?}",
        check_store(&g2, &w2)
    );
    nnc_ir::verify::verify(&g2).unwrap();
    let after = run(&g2, &w2, &ins).unwrap();
    assert_close(&after, &before, 1e-5);
    (g2, w2, stats)
}

fn count(g: &Graph, f: impl Fn(&Op) -> bool) -> usize {
    g.node_ids().filter(|&n| f(&g.node(n).op)).count()
}

/// A ResNet basic block with a downsample branch, then a head.
fn resnet_block() -> Graph {
    let mut b = GraphBuilder::new("block");
    let x = b.input("x", &[2, 4, 6, 6]);
    let c1 = b.named(conv(6, 3, 2, 1, false), &[x], "conv1").unwrap();
    let n1 = b.named(bn(), &[c1], "bn1").unwrap();
    let r1 = b.op(relu(), &[n1]).unwrap();
    let c2 = b.named(conv(6, 3, 1, 1, false), &[r1], "conv2").unwrap();
    let n2 = b.named(bn(), &[c2], "bn2").unwrap();
    let d0 = b
        .named(conv(6, 1, 2, 1, false), &[x], "downsample.0")
        .unwrap();
    let d1 = b.named(bn(), &[d0], "downsample.1").unwrap();
    let a = b.op(Op::Binary(BinaryKind::Add), &[n2, d1]).unwrap();
    let r = b.op(relu(), &[a]).unwrap();
    let p = b.op(Op::GlobalAvgPool, &[r]).unwrap();
    let f = b.op(Op::Flatten, &[p]).unwrap();
    let l = b
        .named(
            Op::Linear {
                out_features: 3,
                bias: true,
            },
            &[f],
            "fc",
        )
        .unwrap();
    let s = b.op(Op::Softmax { axis: 1 }, &[l]).unwrap();
    b.output("probs", s);
    b.finish()
}

#[test]
fn fold_batchnorm_folds_convs_and_keeps_names() {
    let g = resnet_block();
    let w = init_random(&g, 1);
    let (g2, w2, stats) = check_pass(&g, &w, fold_batchnorm::run);
    assert_eq!(stats.rewrites, 3);
    assert_eq!(count(&g2, |o| matches!(o, Op::BatchNorm { .. })), 0);
    assert!(w2.contains("conv1.bias") && w2.contains("downsample.0.bias"));
    assert!(!w2.contains("bn1.weight") && !w2.contains("bn1.running_var"));
    let merged: Vec<String> = stats
        .merged
        .values()
        .flatten()
        .map(|(_, n)| n.clone())
        .collect();
    assert!(merged.contains(&"downsample.1".to_string()));
}

#[test]
fn fold_batchnorm_with_existing_bias_grouped_and_linear() {
    let mut b = GraphBuilder::new("t");
    let x = b.input("x", &[1, 6, 5, 5]);
    let c = b.named(conv(6, 3, 1, 6, true), &[x], "dw").unwrap();
    let n = b.named(bn(), &[c], "dwbn").unwrap();
    let c2 = b.named(conv(4, 3, 1, 2, true), &[n], "gc").unwrap();
    let n2 = b.named(bn(), &[c2], "gcbn").unwrap();
    let f = b.op(Op::Flatten, &[n2]).unwrap();
    let l = b
        .named(
            Op::Linear {
                out_features: 5,
                bias: false,
            },
            &[f],
            "fc",
        )
        .unwrap();
    let n3 = b.named(bn(), &[l], "fcbn").unwrap();
    b.output("y", n3);
    let g = b.finish();
    let w = init_random(&g, 2);
    let (g2, _, stats) = check_pass(&g, &w, fold_batchnorm::run);
    assert_eq!(stats.rewrites, 3);
    assert_eq!(g2.len(), 5);
}

#[test]
fn fold_batchnorm_skips_shared_or_output_convs() {
    let mut b = GraphBuilder::new("t");
    let x = b.input("x", &[1, 2, 4, 4]);
    let c = b.named(conv(2, 3, 1, 1, false), &[x], "c").unwrap();
    let n = b.named(bn(), &[c], "n").unwrap();
    let r = b.op(relu(), &[c]).unwrap(); // second user of c
    let a = b.op(Op::Binary(BinaryKind::Add), &[n, r]).unwrap();
    let c2 = b.named(conv(2, 1, 1, 1, false), &[a], "c2").unwrap();
    let n2 = b.named(bn(), &[c2], "n2").unwrap();
    b.output("y", n2);
    b.output("mid", c2); // c2 is an output: its value must stay
    let g = b.finish();
    let w = init_random(&g, 3);
    let (_, _, stats) = check_pass(&g, &w, fold_batchnorm::run);
    assert_eq!(stats.rewrites, 0);
}

#[test]
fn fuse_conv_residual_act() {
    let g = resnet_block();
    let w = init_random(&g, 4);
    let (g1, w1, _) = check_pass(&g, &w, fold_batchnorm::run);
    let (g2, _, stats) = check_pass(&g1, &w1, fuse::run);
    // conv1+relu, conv2+add(downsample)+relu
    assert_eq!(stats.rewrites, 2, "{stats:?}");
    let fused: Vec<&Op> = g2
        .node_ids()
        .map(|n| &g2.node(n).op)
        .filter(|o| matches!(o, Op::Fused { .. }))
        .collect();
    assert_eq!(fused.len(), 2);
    assert!(fused.iter().any(|o| matches!(
        o,
        Op::Fused {
            residual: true,
            act: Some(Activation::Relu),
            ..
        }
    )));
    assert_eq!(count(&g2, |o| matches!(o, Op::Binary(_))), 0);
    assert_eq!(count(&g2, |o| matches!(o, Op::Act(_))), 0);
}

#[test]
fn fuse_respects_outputs_and_broadcasts() {
    let mut b = GraphBuilder::new("t");
    let x = b.input("x", &[1, 3, 4, 4]);
    let s = b.input("s", &[1, 3, 1, 1]);
    let c = b.named(conv(3, 3, 1, 1, true), &[x], "c").unwrap();
    let a = b.op(Op::Binary(BinaryKind::Add), &[c, s]).unwrap(); // broadcast: not fused
    let c2 = b.named(conv(3, 1, 1, 1, true), &[a], "c2").unwrap();
    let r = b.op(Op::Act(Activation::Hardswish), &[c2]).unwrap();
    b.output("pre", c2); // c2 is an output: relu must not be fused into it
    b.output("y", r);
    let c3 = b.named(conv(3, 1, 1, 1, false), &[r], "c3").unwrap();
    let a3 = b.op(Op::Binary(BinaryKind::Add), &[x, c3]).unwrap(); // residual on the left
    let s3 = b.op(Op::Act(Activation::Relu6), &[a3]).unwrap();
    b.output("z", s3);
    let g = b.finish();
    let w = init_random(&g, 5);
    let (g2, _, stats) = check_pass(&g, &w, fuse::run);
    assert_eq!(stats.rewrites, 1, "{stats:?}");
    assert_eq!(
        count(&g2, |o| matches!(
            o,
            Op::Fused {
                residual: true,
                act: Some(Activation::Relu6),
                ..
            }
        )),
        1
    );
}

#[test]
fn dead_code_removes_unused_branches_and_weights() {
    let mut b = GraphBuilder::new("t");
    let x = b.input("x", &[1, 2, 4, 4]);
    let _unused_input = b.input("u", &[1]);
    let c = b.named(conv(2, 3, 1, 1, true), &[x], "used").unwrap();
    let d = b.named(conv(2, 3, 1, 1, true), &[x], "dead").unwrap();
    let _d2 = b.op(relu(), &[d]).unwrap();
    b.output("y", c);
    let g = b.finish();
    let w = init_random(&g, 6);
    // the store of the full graph has `dead.*`; after the pass it must not
    let (g2, w2, stats) = check_pass(&g, &w, dead_code::run);
    assert_eq!(stats.rewrites, 2);
    assert_eq!(g2.len(), 3); // x, u (inputs stay), used
    assert!(!w2.contains("dead.weight"));
}

#[test]
fn pipeline_composes_provenance() {
    let mut g = resnet_block();
    let mut w = init_random(&g, 7);
    let ins = inputs_for(&g, 1);
    let before = run(&g, &w, &ins).unwrap();
    let rep = pipeline::run_default(&mut g, &mut w).unwrap();
    assert_close(&run(&g, &w, &ins).unwrap(), &before, 1e-5);
    let conv2 = g.node_ids().find(|&n| g.node(n).name == "conv2").unwrap();
    let o = &rep.origins[&conv2];
    assert_eq!(o[0], "conv2");
    for name in ["bn2", "add_0", "relu_1"] {
        assert!(o.contains(&name.to_string()), "{o:?}");
    }
    // every original node is accounted for exactly once
    let mut all: Vec<&String> = rep.origins.values().flatten().collect();
    all.sort();
    let n = all.len();
    all.dedup();
    assert_eq!(all.len(), n);
    assert_eq!(n, 14);
    assert_eq!(rep.origins.len(), g.len());
}

fn check_plan(g: &Graph, w: &WeightStore, opts: PlanOptions) -> memory_plan::MemoryPlan {
    let plan = memory_plan::plan(g, opts).unwrap();
    memory_plan::check(g, &plan).unwrap();
    let ins = inputs_for(g, 9);
    let want = run(g, w, &ins).unwrap();
    let got = memory_plan::simulate(g, &plan, &ins, |n, a| {
        nnc_interp::eval::eval_node(g, n, w, a)
    })
    .unwrap();
    assert_close(&got, &want, 0.0);
    plan
}

#[test]
fn memory_plan_reuses_and_is_checked() {
    let mut g = resnet_block();
    let mut w = init_random(&g, 8);
    for opts in [
        PlanOptions { in_place: false },
        PlanOptions { in_place: true },
    ] {
        let p = check_plan(&g, &w, opts);
        assert!(
            p.arena_bytes < p.naive_bytes,
            "{} vs {}",
            p.arena_bytes,
            p.naive_bytes
        );
        assert!(p.offsets.values().all(|o| o % 64 == 0));
    }
    let p = memory_plan::plan(&g, PlanOptions { in_place: true }).unwrap();
    assert!(!p.in_place.is_empty());
    pipeline::run_default(&mut g, &mut w).unwrap();
    check_plan(&g, &w, PlanOptions { in_place: true });
}

#[test]
fn memory_checker_catches_overlaps() {
    let g = resnet_block();
    let mut p = memory_plan::plan(&g, PlanOptions::default()).unwrap();
    // force two simultaneously live tensors onto the same bytes
    let conv1 = g.node_ids().find(|&n| g.node(n).name == "conv1").unwrap();
    let ds = g
        .node_ids()
        .find(|&n| g.node(n).name == "downsample.0")
        .unwrap();
    let o = p.offsets[&conv1];
    p.offsets.insert(ds, o);
    let errs = memory_plan::check(&g, &p).unwrap_err();
    assert!(errs.iter().any(|e| e.contains("overlap")), "{errs:?}");
    let mut p2 = memory_plan::plan(&g, PlanOptions::default()).unwrap();
    p2.offsets.insert(conv1, 4);
    assert!(memory_plan::check(&g, &p2).is_err());
    let mut p3 = memory_plan::plan(&g, PlanOptions::default()).unwrap();
    p3.order.reverse();
    assert!(memory_plan::check(&g, &p3).is_err());
}

#[test]
fn chain_arena_is_two_buffers() {
    // x -> c1 -> c2 -> c3 -> c4 -> y: at most two live arena tensors
    let mut b = GraphBuilder::new("chain");
    let x = b.input("x", &[1, 4, 8, 8]);
    let mut cur = x;
    for i in 0..4 {
        cur = b
            .named(conv(4, 3, 1, 1, true), &[cur], &format!("c{i}"))
            .unwrap();
    }
    let y = b.op(relu(), &[cur]).unwrap();
    b.output("y", y);
    let g = b.finish();
    let w = init_random(&g, 1);
    let p = check_plan(&g, &w, PlanOptions::default());
    assert_eq!(p.arena_bytes, 2 * 4 * 64 * 4);
}

/// One step of a random graph.
#[derive(Clone, Debug)]
enum Step {
    Conv {
        out: usize,
        k: usize,
        dw: bool,
        bias: bool,
    },
    Bn,
    Act(u8),
    /// add the current value to an earlier value (index mod count) of the same shape
    Add(usize),
    /// continue from an earlier value (branching: diamonds)
    Branch(usize),
    /// make the current value an extra output
    Output,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (1usize..6, prop_oneof![Just(1usize), Just(3)], any::<bool>(), any::<bool>())
            .prop_map(|(out, k, dw, bias)| Step::Conv { out, k, dw, bias }),
        2 => Just(Step::Bn),
        2 => (0u8..9).prop_map(Step::Act),
        2 => (0usize..16).prop_map(Step::Add),
        1 => (0usize..16).prop_map(Step::Branch),
        1 => Just(Step::Output),
    ]
}

fn activation(i: u8) -> Activation {
    [
        Activation::Relu,
        Activation::Relu6,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Hardswish,
        Activation::Hardsigmoid,
        Activation::Silu,
        Activation::Gelu,
        Activation::LeakyRelu { slope: 0.1 },
    ][i as usize % 9]
}

fn random_graph(c0: usize, steps: &[Step]) -> Graph {
    let mut b = GraphBuilder::new("random");
    let x = b.input("x", &[2, c0, 5, 4]);
    let mut vals = vec![x];
    let mut cur = x;
    let mut outs = 0;
    for s in steps {
        let ch = b.g.node(cur).shape[1];
        cur = match *s {
            Step::Conv { out, k, dw, bias } => {
                if dw {
                    b.op(conv(ch, k, 1, ch, bias), &[cur]).unwrap()
                } else {
                    b.op(conv(out, k, 1, 1, bias), &[cur]).unwrap()
                }
            }
            Step::Bn => b.op(bn(), &[cur]).unwrap(),
            Step::Act(a) => b.op(Op::Act(activation(a)), &[cur]).unwrap(),
            Step::Add(i) => {
                let same: Vec<NodeId> = vals
                    .iter()
                    .copied()
                    .filter(|&v| b.g.node(v).shape == b.g.node(cur).shape)
                    .collect();
                let other = same[i % same.len()];
                if i % 2 == 0 {
                    b.op(Op::Binary(BinaryKind::Add), &[cur, other]).unwrap()
                } else {
                    b.op(Op::Binary(BinaryKind::Add), &[other, cur]).unwrap()
                }
            }
            Step::Branch(i) => vals[i % vals.len()],
            Step::Output => {
                b.output(&format!("extra{outs}"), cur);
                outs += 1;
                cur
            }
        };
        if !vals.contains(&cur) {
            vals.push(cur);
        }
    }
    b.output("y", cur);
    b.finish()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn passes_preserve_outputs_on_random_graphs(
        c0 in 1usize..5,
        steps in proptest::collection::vec(step(), 1..14),
        seed in any::<u64>(),
    ) {
        let g = random_graph(c0, &steps);
        let w = init_random(&g, seed);
        let ins = inputs_for(&g, seed);
        let want = run(&g, &w, &ins).unwrap();
        for pass in [dead_code::run, fold_batchnorm::run, fuse::run] {
            check_pass(&g, &w, pass);
        }
        let (mut g2, mut w2) = (g.clone(), w.clone());
        pipeline::run_default(&mut g2, &mut w2).unwrap();
        let got = run(&g2, &w2, &ins).unwrap();
        assert_close(&got, &want, 1e-5);
        for in_place in [false, true] {
            check_plan(&g2, &w2, PlanOptions { in_place });
            check_plan(&g, &w, PlanOptions { in_place });
        }
    }
}

/// With `in_place`, every reshape is a view and so is each extra view the
/// caller names (a permute codegen reads through strides): they share their
/// input's bytes, which stay alive until the view's last reader; a node
/// whose input is a network input cannot be one.
#[test]
fn memory_plan_views_always_and_extra_views() {
    let mut b = GraphBuilder::new("views");
    let x = b.input("x", &[2, 6, 4]);
    let a = b.op(Op::Act(Activation::Relu), &[x]).unwrap();
    let r = b.op(Op::Reshape { shape: vec![12, 4] }, &[a]).unwrap();
    let p = b
        .op(
            Op::Permute {
                perm: vec![0, 2, 1],
            },
            &[a],
        )
        .unwrap();
    let p_in = b
        .op(
            Op::Permute {
                perm: vec![0, 2, 1],
            },
            &[x],
        )
        .unwrap();
    // something placed while the views are alive
    let c = b.op(Op::Act(Activation::Sigmoid), &[x]).unwrap();
    let m = b.op(Op::MatMul, &[p, c]).unwrap();
    let m2 = b.op(Op::MatMul, &[p_in, c]).unwrap();
    let s = b.op(Op::Act(Activation::Relu), &[r]).unwrap();
    b.output("m", m);
    b.output("m2", m2);
    b.output("s", s);
    let g = b.finish();
    let extra: std::collections::HashSet<NodeId> = [p, p_in].into_iter().collect();
    let plan = memory_plan::plan_with_views(&g, PlanOptions { in_place: true }, &extra).unwrap();
    memory_plan::check(&g, &plan).unwrap();
    assert!(plan.views.contains(&r) && plan.views.contains(&p));
    assert!(!plan.views.contains(&p_in), "its input is a network input");
    assert_eq!(plan.offsets[&p], plan.offsets[&a]);
    assert_eq!(plan.offsets[&r], plan.offsets[&a]);
    // the shared bytes outlive the view's reader: c does not overlap them
    let (oa, oc) = (plan.offsets[&a], plan.offsets[&c]);
    assert!(oa + 192 <= oc || oc + 192 <= oa, "{oa} {oc}");
    // without in_place: no views at all
    let plain = memory_plan::plan_with_views(&g, PlanOptions::default(), &extra).unwrap();
    assert!(plain.views.is_empty());
}
