//! G2: excessive group convolution increases memory access cost.

use super::thousands;
use crate::{Finding, Lint, LintContext, LintLevel, LintMeta};
use nnc_diag::Diagnostic;
use nnc_ir::Op;

pub struct GroupedConvCost;

/// The share of a grouped conv's MAC that is due to grouping above which the lint fires.
pub const SHARE_THRESHOLD: f64 = 0.10;

static META: LintMeta = LintMeta {
    name: "grouped_conv_cost",
    code: "L0002",
    groups: &["guidelines", "perf"],
    default: LintLevel::Warn,
    summary: "a group convolution (not depthwise) whose memory access cost grows with its group count (ShuffleNet V2, G2)",
    docs: "\
A group convolution with g groups on an h×w map, c1 input and c2 output
channels and a k×k kernel does B = h·w·c1·c2·k²/g mult-adds. At a fixed B and
input width c1 its memory access cost is

    MAC = h·w·c1 + B·g/c1 + B/(h·w)          (k = 1, same input and output map)

which grows linearly with g: groups buy FLOPs, not memory traffic
(ShuffleNet V2, guideline G2). The lint fires for group convolutions that are
not depthwise (1 < g < c1) when the part of their MAC due to grouping —
the difference to the same layer at g = 1 with the same mult-adds — is more
than 10% of the MAC. The message gives both figures.

Fix: use fewer groups (and narrower channels to keep the FLOPs), or a
depthwise + pointwise pair.",
};

impl Lint for GroupedConvCost {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, cx: &LintContext, out: &mut Vec<Finding>) {
        let g = cx.graph;
        for id in g.node_ids() {
            let n = g.node(id);
            let Op::Conv2d(c) = &n.op else { continue };
            let ins = g.inputs(id);
            let Some(&x) = ins.first() else { continue };
            let xs = &g.node(x).shape;
            if xs.len() != 4 || n.shape.len() != 4 {
                continue;
            }
            let groups = c.groups as u64;
            let (c1, c2) = (xs[1] as u64, n.shape[1] as u64);
            if groups <= 1 || groups >= c1 {
                continue; // dense or depthwise
            }
            let k = (c.kernel[0] * c.kernel[1]) as u64;
            let hw_out = (n.shape[0] * n.shape[2] * n.shape[3]) as u64;
            let hw_in = (xs[0] * xs[2] * xs[3]) as u64;
            // actual: input + output + weights
            let weights = c2 * (c1 / groups) * k;
            let mac = hw_in * c1 + hw_out * c2 + weights;
            // the same mult-adds at g = 1 with the same input width: c2' = c2 / g
            let weights_dense = (c2 / groups).max(1) * c1 * k;
            let mac_dense = hw_in * c1 + hw_out * (c2 / groups).max(1) + weights_dense;
            let due = mac.saturating_sub(mac_dense);
            let share = due as f64 / mac as f64;
            if share <= SHARE_THRESHOLD {
                continue;
            }
            let d = Diagnostic::warning(
                META.code,
                format!(
                    "group convolution with {groups} groups: MAC {} is {:.0}% higher than a dense conv with the same mult-adds",
                    thousands(mac),
                    due as f64 / mac_dense as f64 * 100.0
                ),
            )
            .with_primary(g.span(id), format!("groups = {groups}, {c1} → {c2} channels"))
            .with_note(format!(
                "same mult-adds at groups = 1 (output width {}): MAC {}; the grouping adds {} elements of memory traffic",
                (c2 / groups).max(1),
                thousands(mac_dense),
                thousands(due)
            ))
            .with_help("MAC grows linearly with the group count at fixed FLOPs (G2): use fewer groups, or depthwise + 1×1");
            out.push(Finding::at_node(d, id));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::lint_codes;

    #[test]
    fn fires_on_grouped() {
        let src = "network n {\n  input x: [1, 128, 28, 28];\n  output o = conv2d(x, out = 128, kernel = 1, groups = 8, bias = false);\n}\n";
        assert_eq!(lint_codes(src, "grouped_conv_cost"), 1);
    }

    #[test]
    fn quiet_on_depthwise_and_dense() {
        let src = "network n {\n  input x: [1, 128, 28, 28];\n  let y = conv2d(x, out = 128, kernel = 3, pad = 1, groups = 128, bias = false);\n  output o = conv2d(y, out = 128, kernel = 1, bias = false);\n}\n";
        assert_eq!(lint_codes(src, "grouped_conv_cost"), 0);
    }
}
