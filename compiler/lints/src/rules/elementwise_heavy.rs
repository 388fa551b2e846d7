//! G4: element-wise operations are non-negligible.

use crate::rules::fusion_saving;
use crate::{Finding, Lint, LintContext, LintLevel, LintMeta};
use nnc_diag::{Diagnostic, Span};
use nnc_syntax::ast;

pub struct ElementwiseHeavy;

/// Share of the network's MAC in element-wise ops above which the lint fires.
pub const SHARE_THRESHOLD: f64 = 0.30;

/// Networks with fewer element-wise ops than this are not reported (a toy
/// network with one ReLU says nothing about its design).
pub const MIN_OPS: usize = 4;

static META: LintMeta = LintMeta {
    name: "elementwise_heavy",
    code: "L0004",
    groups: &["guidelines", "perf"],
    default: LintLevel::Warn,
    summary: "element-wise ops (add, mul, activations, batchnorm) hold a large share of the memory traffic (ShuffleNet V2, G4)",
    docs: "\
Element-wise ops — ReLU, additions, multiplications, batchnorm — do almost no
arithmetic but read and write whole tensors: their memory access cost is
comparable to a convolution's while their FLOPs are negligible, so FLOP
counts hide them (ShuffleNet V2, guideline G4).

The lint fires when element-wise ops hold more than 30% of the network's MAC,
and says how much of it fusion would save: batchnorm folded into the
preceding convolution, and activations and residual additions applied in the
convolution's epilogue (as `nnc build` does) no longer read and write their
tensors separately.

Fix: fewer element-wise ops (e.g. ShuffleNet V2 keeps the identity branch
free of them), or make sure they can be fused (a conv followed directly by
batchnorm, then an activation or a residual add).",
};

fn network_span(file: &ast::File, name: &str) -> Option<Span> {
    file.items.iter().find_map(|i| match i {
        ast::Item::Network(n) if n.name.name == name => Some(n.name.span),
        _ => None,
    })
}

impl Lint for ElementwiseHeavy {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, cx: &LintContext, out: &mut Vec<Finding>) {
        let a = cx.analysis;
        let share = a.totals.elementwise_share;
        if share <= SHARE_THRESHOLD {
            return;
        }
        let g = cx.graph;
        let mut ew_mac = 0u64;
        let mut saving = 0u64;
        let mut count = 0usize;
        for na in &a.nodes {
            if g.node(na.id).op.is_elementwise() {
                ew_mac += na.cost.mac;
                saving += fusion_saving(g, na.cost.mac, na.id);
                count += 1;
            }
        }
        if count < MIN_OPS {
            return;
        }
        let total = a.totals.cost.mac.max(1);
        let span = network_span(cx.ast, &g.name).unwrap_or(Span::DUMMY);
        let mb = |elems: u64| nnc_analysis::report::human_bytes(elems.saturating_mul(4));
        let d = Diagnostic::warning(
            META.code,
            format!(
                "element-wise ops hold {:.1}% of the memory access cost ({count} ops, {} of {})",
                share * 100.0,
                mb(ew_mac),
                mb(total)
            ),
        )
        .with_primary(span, "in this network")
        .with_note(format!(
            "fusing batchnorm into convolutions and activations/residual adds into their epilogues saves {} ({:.1}% of all MAC); `nnc build` does this",
            mb(saving),
            saving as f64 / total as f64 * 100.0
        ))
        .with_help("keep element-wise ops fusable (conv → batchnorm → activation/add), or drop some (G4)");
        out.push(Finding::new(d));
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::lint_codes;

    #[test]
    fn fires_on_elementwise_chain() {
        let src = "network n {\n  input x: [1, 8, 32, 32];\n  let y = conv2d(x, out = 8, kernel = 1);\n  y = relu(batchnorm(y));\n  y = sigmoid(y) * y;\n  output o = y + x;\n}\n";
        assert_eq!(lint_codes(src, "elementwise_heavy"), 1);
    }

    #[test]
    fn quiet_on_conv_only() {
        let src = "network n {\n  input x: [1, 64, 32, 32];\n  let y = conv2d(x, out = 64, kernel = 3, pad = 1);\n  output o = conv2d(y, out = 64, kernel = 3, pad = 1);\n}\n";
        assert_eq!(lint_codes(src, "elementwise_heavy"), 0);
    }
}
