//! Channel counts that waste vector lanes.

use crate::{Finding, Lint, LintContext, LintLevel, LintMeta};
use nnc_diag::Diagnostic;
use nnc_ir::Op;

pub struct SimdWidth;

/// Waste (in percent of the vector lanes computed) above which the lint fires.
pub const WASTE_THRESHOLD_PERCENT: f64 = 1.0;

static META: LintMeta = LintMeta {
    name: "simd_width",
    code: "L0005",
    groups: &["perf"],
    default: LintLevel::Warn,
    summary:
        "a conv or linear layer whose output width is not a multiple of the target's vector width",
    docs: "\
Fast kernels compute 8 output channels at once on AVX2 (16 on AVX-512, 4 on
NEON): a layer with 116 output channels computes 120 and throws 4 away. The
lint fires for conv2d and linear layers whose output width wastes more than 1%
of the lanes computed, and says how much (`--simd avx512` on `nnc check`
changes the width assumed). The network's final layer (its output width is
fixed by the task) is exempt.

Fix: round the width to a multiple of the lane count; `nnc fix --rebalance`
rounds the widths it rewrites.",
};

impl Lint for SimdWidth {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, cx: &LintContext, out: &mut Vec<Finding>) {
        let g = cx.graph;
        let lanes = cx.simd_lanes.max(1);
        for id in g.node_ids() {
            let n = g.node(id);
            let width = match &n.op {
                Op::Conv2d(_) => n.shape.get(1).copied().unwrap_or(0),
                // over the last axis, whatever the rank
                Op::Linear { .. } => n.shape.last().copied().unwrap_or(0),
                _ => continue,
            };
            if width == 0 || width % lanes == 0 || g.is_output(id) {
                continue;
            }
            let computed = width.div_ceil(lanes) * lanes;
            let waste = (computed - width) as f64 / computed as f64 * 100.0;
            if waste <= WASTE_THRESHOLD_PERCENT {
                continue;
            }
            let lo = (width / lanes) * lanes;
            let suggestion = if lo > 0 {
                format!("{lo} or {computed}")
            } else {
                computed.to_string()
            };
            let d = Diagnostic::warning(
                META.code,
                format!(
                    "{} output channels waste {waste:.1}% of the {lanes}-lane vectors",
                    width
                ),
            )
            .with_primary(
                g.span(id),
                format!("{width} channels are computed as {computed}"),
            )
            .with_help(format!("use a multiple of {lanes}: {suggestion}"));
            out.push(Finding::at_node(d, id));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::lint_codes;

    #[test]
    fn fires_on_116() {
        let src = "network n {\n  input x: [1, 24, 28, 28];\n  let y = conv2d(x, out = 116, kernel = 1);\n  output o = relu(y);\n}\n";
        assert_eq!(lint_codes(src, "simd_width"), 1);
    }

    #[test]
    fn quiet_on_multiples_and_outputs() {
        let src = "network n {\n  input x: [1, 24, 28, 28];\n  let y = conv2d(x, out = 128, kernel = 1);\n  output o = conv2d(y, out = 10, kernel = 1);\n}\n";
        assert_eq!(lint_codes(src, "simd_width"), 0);
    }
}
