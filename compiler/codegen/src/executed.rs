//! The executed plan as the cost model sees it: one
//! [`nnc_analysis::model::KernelDesc`] per kernel of the plan that `nnc
//! build` would emit (after constant and batchnorm folding and fusion), with the class of
//! the code that runs it, its FLOPs, the bytes it touches and its task split.
//! The plan is built by the same code as for a build ([`crate::prepare`],
//! [`crate::plan_graph`]) on zero weights, so the description follows the
//! code generator's own choices.

use crate::kernels::conv_fast::{plan_conv, ConvAlgo};
use crate::kernels::fast::FastKind;
use crate::plan::{KernelPlan, Plan};
use crate::Prepared;
use nnc_analysis::model::KernelDesc;
use nnc_ir::{Activation, Graph};
use nnc_tensor::weights::expected_weights;
use nnc_tensor::{Tensor, WeightStore};

/// Zero-valued weights of the right shapes for `g`.
pub fn zero_weights(g: &Graph) -> Result<WeightStore, crate::CodegenError> {
    let mut w = WeightStore::new();
    for e in expected_weights(g) {
        w.insert(e.key, Tensor::zeros(e.shape)?);
    }
    Ok(w)
}

/// The executed kernels of `g` (weights do not change the plan).
pub fn describe_graph(g: &Graph) -> Result<Vec<KernelDesc>, crate::CodegenError> {
    let w = zero_weights(g)?;
    let prep = crate::prepare(g, &w)?;
    let plan = crate::plan_graph(&prep, crate::fast_kernels_enabled())?;
    Ok(describe(&prep, &plan))
}

/// The kernel class of one step (see `nnc_analysis::model`).
pub fn class_of(k: &KernelPlan) -> String {
    match k {
        KernelPlan::Fast(f) => match &f.kind {
            FastKind::Linear(_) => "linear".into(),
            FastKind::Winograd(..) => "conv_winograd".into(),
            FastKind::Conv(spec) => match plan_conv(spec).map(|p| p.algo) {
                Ok(ConvAlgo::Gemm1x1) => "conv1x1".into(),
                Ok(ConvAlgo::Direct) => "conv_direct".into(),
                Ok(ConvAlgo::Depthwise) => "depthwise".into(),
                #[allow(unreachable_patterns)]
                Ok(other) => format!("conv_{other:?}").to_lowercase(),
                Err(_) => "conv_generic".into(),
            },
        },
        KernelPlan::Conv(_) => "conv_generic".into(),
        KernelPlan::Pool(_) => "pool".into(),
        KernelPlan::GlobalAvg(_) => "global_avgpool".into(),
        KernelPlan::Unary(u) => match u.act {
            Activation::Relu | Activation::Relu6 | Activation::LeakyRelu { .. } => "eltwise".into(),
            _ => "eltwise_math".into(),
        },
        KernelPlan::BatchNorm(_) | KernelPlan::Binary(_) => "eltwise".into(),
        KernelPlan::Softmax(_) => "softmax".into(),
        KernelPlan::Copy(_)
        | KernelPlan::Shuffle(_)
        | KernelPlan::Upsample(_)
        | KernelPlan::Strided(_)
        | KernelPlan::Const(_) => "copy".into(),
        KernelPlan::Affine(_) => "eltwise".into(),
        KernelPlan::LayerNorm(_) => "layernorm".into(),
        KernelPlan::MatMul(_) => "matmul".into(),
        #[allow(unreachable_patterns)]
        _ => "other".into(),
    }
}

/// Flops of a transcendental activation (sigmoid, tanh, SiLU, GELU) in a
/// conv or linear kernel's epilogue over `out_elems` outputs, counted as a
/// stand-alone activation kernel counts them ([`KernelPlan::cost`],
/// [`KernelPlan::MATH_OPS_PER_ELEMENT`] per element); 0 for the
/// piecewise-linear ones and for other kernels.
pub fn epilogue_flops(k: &KernelPlan, out_elems: u64) -> u64 {
    let act = match k {
        KernelPlan::Fast(f) => match &f.kind {
            FastKind::Conv(spec) | FastKind::Winograd(spec, _) => spec.act,
            FastKind::Linear(l) => l.act,
        },
        KernelPlan::Conv(c) => c.act,
        KernelPlan::MatMul(m) => m.act,
        _ => None,
    };
    match act {
        Some(Activation::Sigmoid | Activation::Tanh | Activation::Silu | Activation::Gelu) => {
            out_elems * KernelPlan::MATH_OPS_PER_ELEMENT
        }
        _ => 0,
    }
}

/// The work of a Winograd F(m×m, 3×3) convolution in direct-convolution
/// FLOPs: its `2 · mult_adds` scaled by the code generator's own cycle
/// estimates, Winograd's (the α² GEMMs, the transforms, the scatters) over
/// the direct conv's. The cost model's compute feature then follows what
/// runs — F(4×4) does about a quarter of the direct multiplications, F(2×2)
/// about half, plus transforms that grow with the channel chunks — instead
/// of pricing every Winograd layer as the direct conv it replaces.
pub fn winograd_flops(spec: &crate::kernels::conv_fast::ConvSpec, m: usize, mult_adds: u64) -> u64 {
    use crate::kernels::winograd::{direct_cycles, winograd_cycles};
    match (winograd_cycles(spec, m), direct_cycles(spec)) {
        (Some(w), Some(d)) if w > 0.0 && d > 0.0 => {
            (2.0 * mult_adds as f64 * (w / d)).round() as u64
        }
        _ => 2 * mult_adds,
    }
}

/// Describes the steps of a plan of `prep`.
pub fn describe(prep: &Prepared, plan: &Plan) -> Vec<KernelDesc> {
    let g = &prep.graph;
    let numel = |s: &[usize]| s.iter().map(|&d| d as u64).product::<u64>();
    // one inference touches every weight and the arena (and the network's
    // inputs and outputs, which live outside it)
    let io: u64 = g
        .inputs
        .iter()
        .map(|&i| numel(&g.node(i).shape) * 4)
        .chain(g.outputs.iter().map(|o| numel(&g.node(o.node).shape) * 4))
        .sum();
    let reuse_bytes = plan.blob.len() as u64 * 4 + plan.arena_bytes + io;
    plan.steps
        .iter()
        .map(|s| {
            let out_elems = s.out_bytes / 4;
            let in_bytes: u64 = g
                .inputs(s.node)
                .iter()
                .map(|&i| numel(&g.node(i).shape) * 4)
                .sum();
            let node = g.node(s.node);
            let w_bytes: u64 = ["weight", "bias"]
                .iter()
                .filter_map(|suf| prep.weights.get(&format!("{}.{suf}", node.name)))
                .map(|t| t.data().len() as u64 * 4)
                .sum();
            let mult_adds = match &s.kernel {
                KernelPlan::Fast(f) => f.macs,
                KernelPlan::Conv(c) => c.macs(),
                KernelPlan::MatMul(m) => m.macs(),
                _ => 0,
            };
            let flops = match &s.kernel {
                KernelPlan::Fast(f) => match &f.kind {
                    FastKind::Winograd(spec, p) => winograd_flops(spec, p.m, mult_adds),
                    _ => 2 * mult_adds,
                },
                _ if mult_adds > 0 => 2 * mult_adds,
                _ => s.kernel.cost(out_elems),
            };
            KernelDesc {
                name: s.name.clone(),
                op: s.op.clone(),
                class: class_of(&s.kernel),
                flops,
                mult_adds,
                bytes: in_bytes + w_bytes + s.out_bytes,
                weight_bytes: w_bytes,
                reuse_bytes,
                tasks: s.ntasks,
                epilogue_flops: epilogue_flops(&s.kernel, out_elems),
                origins: prep
                    .origins
                    .get(&s.node)
                    .cloned()
                    .unwrap_or_else(|| vec![s.name.clone()]),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use nnc_analysis::model::{BandwidthPoint, HostModel};

    fn graph(src: &str) -> Graph {
        let (file, d) = nnc_syntax::parse(src);
        assert!(d.is_empty(), "{d:?}");
        let el = nnc_elab::elaborate(&file, None);
        assert!(!el.has_errors(), "{:?}", el.diagnostics);
        el.graph.expect("graph")
    }

    const NET: &str = "network t {
    input x: [1, 16, 28, 28];
    let y = relu(batchnorm(conv2d(x, out = 32, kernel = 3, pad = 1, bias = false, name = \"c1\"), name = \"bn\"));
    y = relu(conv2d(y, out = 16, kernel = 1, name = \"c2\") + x);
    y = conv2d(y, out = 16, kernel = 3, pad = 1, groups = 16, name = \"dw\");
    y = maxpool(y, kernel = 2);
    output out = sigmoid(y);
}";

    /// The executed plan: batchnorm and activations folded and fused into
    /// the convolutions, each kernel with its class, origins, MACs and bytes.
    #[test]
    fn describes_the_fused_plan() {
        let g = graph(NET);
        let ks = describe_graph(&g).expect("plan");
        let by: std::collections::HashMap<&str, &KernelDesc> =
            ks.iter().map(|k| (k.name.as_str(), k)).collect();
        assert_eq!(ks.len(), 5, "{ks:#?}");
        let c1 = by["c1"];
        // a 3×3 stride-1 conv: Winograd when the estimate (or NNC_WINOGRAD) says so
        let spec = crate::kernels::conv_fast::ConvSpec::simple(1, 16, 28, 28, 32, 3, 1, 1);
        let want = match crate::kernels::winograd::choose(&spec) {
            Some(_) => "conv_winograd",
            None => "conv_direct",
        };
        assert_eq!(c1.class, want);
        assert!(c1.origins.contains(&"bn".to_string()), "{:?}", c1.origins);
        assert_eq!(c1.mult_adds, 32 * 28 * 28 * 16 * 9);
        match crate::kernels::winograd::choose(&spec) {
            // Winograd's work in direct-conv FLOPs: less than the direct conv's
            Some(m) => {
                assert_eq!(c1.flops, winograd_flops(&spec, m, c1.mult_adds));
                assert!(c1.flops < 2 * c1.mult_adds, "{}", c1.flops);
            }
            None => assert_eq!(c1.flops, 2 * c1.mult_adds),
        }
        // input + folded weights and bias + output, f32
        assert_eq!(
            c1.bytes,
            4 * (16 * 28 * 28 + 32 * 16 * 9 + 32 + 32 * 28 * 28)
        );
        assert_eq!(by["c2"].class, "conv1x1");
        assert_eq!(by["c2"].origins.len(), 3, "conv, add and relu fused");
        assert_eq!(by["dw"].class, "depthwise");
        assert!(ks.iter().any(|k| k.class == "pool"));
        assert!(ks.iter().any(|k| k.class == "eltwise_math"));
        assert!(ks.iter().all(|k| k.tasks >= 1));
    }

    /// Attaching the priced plan to the source-graph analysis: node times
    /// are the kernels' shares, and the total is the plan's.
    #[test]
    fn attach_makes_the_plan_the_prediction() {
        let g = graph(NET);
        let p = nnc_analysis::platform::builtin("zen3-2c").expect("builtin");
        let mut a = nnc_analysis::analyze(&g, &p).expect("analysis");
        let m = HostModel {
            cores: 2,
            peak_gflops_1t: 50.0,
            bandwidth: vec![BandwidthPoint {
                bytes: 1 << 20,
                gbs_1t: 20.0,
                gbs_all: 30.0,
            }],
            classes: Default::default(),
            ..Default::default()
        };
        let ex = nnc_analysis::executed::Executed::price(
            &a,
            &g,
            describe_graph(&g).expect("plan"),
            &m,
            2,
        );
        let total = ex.total_ms();
        assert!(total > 0.0);
        assert!(ex.kernels.iter().all(|k| k.graph_mac > 0));
        nnc_analysis::executed::attach(&mut a, &g, &ex);
        assert!((a.totals.predicted_ms - total).abs() < 1e-9 * total);
        let sum: f64 = a.nodes.iter().map(|n| n.predicted_ms).sum();
        assert!((sum - total).abs() < 1e-9 * total);
        // one thread is slower than two for a split kernel
        let one = nnc_analysis::model::predict_plan(&m, &describe_graph(&g).expect("plan"), 1);
        assert!(one.iter().sum::<f64>() > total);
        let j = a.executed.as_ref().expect("attached").to_json();
        assert_eq!(j["threads"], 2);
        assert_eq!(j["kernel_count"], 5);
    }
}
