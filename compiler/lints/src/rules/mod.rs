//! One file per lint. Each holds its logic, its documentation (shown by
//! `nnc explain NAME`) and tests of cases where it fires and where it does not.

mod attention_head_dim;
mod attention_scores_l2;
mod elementwise_heavy;
mod fragmentation;
mod grouped_conv_cost;
mod shadowed_weight_name;
mod simd_width;
mod transformer_elementwise;
mod unbalanced_channels;
mod unused_block;
mod unused_value;

use crate::Lint;
use nnc_analysis::cost::numel;
use nnc_ir::{Graph, NodeId, Op};

/// The registry: every lint, in code order.
pub static ALL: &[&dyn Lint] = &[
    &unbalanced_channels::UnbalancedChannels,
    &grouped_conv_cost::GroupedConvCost,
    &fragmentation::Fragmentation,
    &elementwise_heavy::ElementwiseHeavy,
    &simd_width::SimdWidth,
    &unused_value::UnusedValue,
    &unused_block::UnusedBlock,
    &shadowed_weight_name::ShadowedWeightName,
    &attention_head_dim::AttentionHeadDim,
    &attention_scores_l2::AttentionScoresL2,
    &transformer_elementwise::TransformerElementwise,
];

/// Formats a count with thousands separators (`1,157,728`).
pub(crate) fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Rounds `x` to the nearest positive multiple of `m`.
pub(crate) fn round_to_multiple(x: f64, m: usize) -> usize {
    let m = m.max(1) as f64;
    ((x / m).round().max(1.0) * m) as usize
}

/// MAC that fusing this element-wise node into its producer would save
/// (batchnorm folding, activations and residual adds in a conv's or
/// linear's epilogue, as `nnc build` does), given its own MAC `cx_cost`.
pub(crate) fn fusion_saving(g: &Graph, cx_cost: u64, id: NodeId) -> u64 {
    let n = g.node(id);
    let ins = g.inputs(id);
    let producer_fusable = |p: NodeId| {
        matches!(
            g.node(p).op,
            Op::Conv2d(_) | Op::Linear { .. } | Op::BatchNorm { .. } | Op::Act(_) | Op::Binary(_)
        ) && g.users(p).len() == 1
    };
    match &n.op {
        Op::BatchNorm { .. } | Op::Act(_) if ins.first().is_some_and(|&p| producer_fusable(p)) => {
            cx_cost
        }
        Op::Binary(_) => {
            // the other operand must still be read
            match ins.iter().position(|&p| producer_fusable(p)) {
                Some(i) => {
                    let other = ins
                        .get(1 - i.min(1))
                        .map(|&o| numel(&g.node(o).shape))
                        .unwrap_or(0);
                    cx_cost.saturating_sub(other)
                }
                None => 0,
            }
        }
        _ => 0,
    }
}
