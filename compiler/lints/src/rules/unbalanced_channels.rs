//! G1: equal channel width minimizes memory access cost.

use super::{round_to_multiple, thousands};
use crate::{Finding, Lint, LintContext, LintLevel, LintMeta};
use nnc_diag::Diagnostic;
use nnc_ir::Op;

pub struct UnbalancedChannels;

/// How far above the G1 lower bound a 1×1 conv's MAC may be before the lint fires.
pub const EXCESS_THRESHOLD: f64 = 0.20;

static META: LintMeta = LintMeta {
    name: "unbalanced_channels",
    code: "L0001",
    groups: &["guidelines", "perf"],
    default: LintLevel::Warn,
    summary: "a 1×1 convolution whose input and output widths differ enough to waste memory traffic (ShuffleNet V2, G1)",
    docs: "\
For a 1×1 convolution on an h×w map with c1 input and c2 output channels, the
mult-adds are B = h·w·c1·c2 and the memory access cost (elements read and
written) is MAC = h·w·(c1 + c2) + c1·c2. By the AM-GM inequality,

    MAC ≥ 2·sqrt(h·w·B) + B/(h·w),   with equality iff c1 = c2.

So at a fixed compute budget B, the layer moves the least data when its input
and output widths are equal (ShuffleNet V2, guideline G1). This lint fires
when a 1×1 conv's MAC exceeds that bound by more than 20%, and prints the MAC,
the bound and the excess. The help suggests the balanced width sqrt(c1·c2)
(rounded to the SIMD width), which keeps B when applied to both sides of a
c1 → c2 → c1 pair; `nnc fix --rebalance` does this across the whole network.
Convolutions that produce a network output are exempt: their width is set by
the task (classes, mask channels), not by the design.

Example (fires: 52 → 312 at 56×56 moves 42% more data than needed):

    x = conv2d(x, out = 312, kernel = 1, bias = false);   // x has 52 channels

Fix: use widths closer to each other (here 128 → 128 has the same B), or
allow it: `#[allow(unbalanced_channels)]`.",
};

impl Lint for UnbalancedChannels {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, cx: &LintContext, out: &mut Vec<Finding>) {
        let g = cx.graph;
        for id in g.node_ids() {
            let n = g.node(id);
            let Op::Conv2d(c) = &n.op else { continue };
            if c.kernel != [1, 1] || c.groups != 1 || c.stride != [1, 1] {
                continue;
            }
            // a network output's width is set by the task (classes, a mask), not by design
            if g.is_output(id) {
                continue;
            }
            let ins = g.inputs(id);
            let Some(&x) = ins.first() else { continue };
            let xs = &g.node(x).shape;
            if xs.len() != 4 || n.shape.len() != 4 {
                continue;
            }
            let (nb, c1, c2) = (xs[0] as u64, xs[1] as u64, n.shape[1] as u64);
            let hw = nb
                .saturating_mul(n.shape[2] as u64)
                .saturating_mul(n.shape[3] as u64);
            if hw == 0 || c1 == 0 || c2 == 0 {
                continue;
            }
            let b = hw.saturating_mul(c1).saturating_mul(c2);
            // the seed formula (bias-free); a bias adds c2 weight elements
            let mac = hw * (c1 + c2) + c1 * c2 + if c.bias { c2 } else { 0 };
            let bound = nnc_analysis::cost::g1_bound(hw, 1, b);
            if bound <= 0.0 {
                continue;
            }
            let excess = mac as f64 / bound - 1.0;
            if excess <= EXCESS_THRESHOLD {
                continue;
            }
            let balanced = round_to_multiple(((c1 * c2) as f64).sqrt(), cx.simd_lanes);
            let ratio = if c2 >= c1 {
                format!("1:{:.1}", c2 as f64 / c1 as f64)
            } else {
                format!("{:.1}:1", c1 as f64 / c2 as f64)
            };
            let d = Diagnostic::warning(META.code, format!(
                "unbalanced 1×1 convolution {c1} → {c2} channels ({ratio}): MAC {} is {:.0}% above the G1 bound {}",
                thousands(mac),
                excess * 100.0,
                thousands(bound.round() as u64)
            ))
            .with_primary(g.span(id), format!("{c1} → {c2} channels at {}×{}", n.shape[2], n.shape[3]))
            .with_note(format!(
                "mult-adds B = {}; MAC = h·w·(c1+c2) + c1·c2 = {}; bound 2·sqrt(h·w·B) + B/(h·w) = {} (reached when c1 = c2)",
                thousands(b),
                thousands(mac),
                thousands(bound.round() as u64)
            ))
            .with_help(format!(
                "balanced widths at the same mult-adds: {balanced} → {balanced} (sqrt({c1}·{c2}) rounded to {} lanes); `nnc fix --rebalance` rewrites the widths",
                cx.simd_lanes
            ));
            out.push(Finding::at_node(d, id));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::lint_codes;

    fn stack(c1: usize, c2: usize) -> String {
        format!(
            "network g1 {{\n  input x: [1, {c1}, 56, 56];\n  let y = conv2d(x, out = {c2}, kernel = 1, bias = false);\n  output o = conv2d(y, out = {c1}, kernel = 1, bias = false);\n}}\n"
        )
    }

    #[test]
    fn fires_on_1_6_and_1_12() {
        // the second conv is the network output: exempt
        assert_eq!(lint_codes(&stack(52, 312), "unbalanced_channels"), 1);
        assert_eq!(lint_codes(&stack(36, 432), "unbalanced_channels"), 1);
    }

    #[test]
    fn quiet_on_1_1_and_1_2() {
        assert_eq!(lint_codes(&stack(128, 128), "unbalanced_channels"), 0);
        assert_eq!(lint_codes(&stack(90, 180), "unbalanced_channels"), 0);
    }

    #[test]
    fn allowed_in_source() {
        let src = "network g1 {\n  input x: [1, 52, 56, 56];\n  #[allow(unbalanced_channels)]\n  let y = conv2d(x, out = 312, kernel = 1, bias = false);\n  output o = conv2d(y, out = 52, kernel = 1, bias = false);\n}\n";
        assert_eq!(lint_codes(src, "unbalanced_channels"), 0);
    }

    #[test]
    fn output_heads_are_exempt() {
        let src = "network n {\n  input x: [1, 16, 64, 64];\n  output mask = conv2d(x, out = 1, kernel = 1);\n}\n";
        assert_eq!(lint_codes(src, "unbalanced_channels"), 0);
    }
}
