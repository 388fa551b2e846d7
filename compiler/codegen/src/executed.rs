//! The executed plan as the cost model sees it: one
//! [`nnc_analysis::model::KernelDesc`] per kernel of the plan that `nnc
//! build` would emit (after batchnorm folding and fusion), with the class of
//! the code that runs it, its FLOPs, the bytes it touches and its task split.
//! The plan is built by the same code as for a build ([`crate::prepare`],
//! [`crate::plan_graph`]) on zero weights, so the description follows the
//! code generator's own choices.

use crate::kernels::conv_fast::{plan_conv, ConvAlgo};
use crate::kernels::fast::FastKind;
use crate::plan::{KernelPlan, Plan};
use crate::Prepared;
use nnc_analysis::model::KernelDesc;
use nnc_interp::weights::expected_weights;
use nnc_interp::{Tensor, WeightStore};
use nnc_ir::{Activation, Graph};

/// Zero-valued weights of the right shapes for `g`.
pub fn zero_weights(g: &Graph) -> Result<WeightStore, String> {
    let mut w = WeightStore::new();
    for e in expected_weights(g) {
        w.insert(e.key, Tensor::zeros(e.shape)?);
    }
    Ok(w)
}

/// The executed kernels of `g` (weights do not change the plan).
pub fn describe_graph(g: &Graph) -> Result<Vec<KernelDesc>, String> {
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
        KernelPlan::Copy(_) | KernelPlan::Shuffle(_) | KernelPlan::Upsample(_) => "copy".into(),
        #[allow(unreachable_patterns)]
        _ => "other".into(),
    }
}

/// Describes the steps of a plan of `prep`.
pub fn describe(prep: &Prepared, plan: &Plan) -> Vec<KernelDesc> {
    let g = &prep.graph;
    let numel = |s: &[usize]| s.iter().map(|&d| d as u64).product::<u64>();
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
                _ => 0,
            };
            let flops = if mult_adds > 0 {
                2 * mult_adds
            } else {
                s.kernel.cost(out_elems)
            };
            KernelDesc {
                name: s.name.clone(),
                op: s.op.clone(),
                class: class_of(&s.kernel),
                flops,
                mult_adds,
                bytes: in_bytes + w_bytes + s.out_bytes,
                tasks: s.ntasks,
                origins: prep
                    .origins
                    .get(&s.node)
                    .cloned()
                    .unwrap_or_else(|| vec![s.name.clone()]),
            }
        })
        .collect()
}
