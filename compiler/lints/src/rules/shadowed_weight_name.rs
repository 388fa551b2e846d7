//! Explicit names that look like generated ones.

use crate::{Finding, Lint, LintContext, LintLevel, LintMeta};
use nnc_diag::Diagnostic;

pub struct ShadowedWeightName;

/// Op and block-instance names the compiler generates: `<op>_<k>`.
const GENERATED_PREFIXES: &[&str] = &[
    "conv2d",
    "batchnorm",
    "linear",
    "relu",
    "relu6",
    "sigmoid",
    "tanh",
    "hardswish",
    "hardsigmoid",
    "silu",
    "gelu",
    "leaky_relu",
    "maxpool",
    "avgpool",
    "global_avgpool",
    "flatten",
    "concat",
    "split",
    "channel_shuffle",
    "softmax",
    "add",
    "mul",
    "upsample",
];

static META: LintMeta = LintMeta {
    name: "shadowed_weight_name",
    code: "L0008",
    groups: &["correctness"],
    default: LintLevel::Warn,
    summary: "an explicit weight name of the form the compiler generates (`conv2d_3`), which can collide with a generated name",
    docs: "\
Ops without `name = ...` get generated names `<op>_<k>` (k counting that op
kind in program order within the scope). An explicit name of the same form,
say `name = \"conv2d_1\"`, takes a name the compiler would give to another op:
adding or removing an unnamed conv elsewhere in the scope then silently moves
which op owns which weights in a checkpoint, or makes the names collide.

Fix: choose a descriptive name (`\"stem\"`, `\"proj\"`), or omit `name`.",
};

fn looks_generated(leaf: &str) -> bool {
    let Some((prefix, k)) = leaf.rsplit_once('_') else {
        return false;
    };
    !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()) && GENERATED_PREFIXES.contains(&prefix)
}

impl Lint for ShadowedWeightName {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, cx: &LintContext, out: &mut Vec<Finding>) {
        let g = cx.graph;
        for id in g.node_ids() {
            let n = g.node(id);
            if !n.op.has_weights() {
                continue;
            }
            let leaf = n.name.rsplit('.').next().unwrap_or(&n.name);
            if !looks_generated(leaf) {
                continue;
            }
            // Only explicit names: the literal text must appear at the op's call.
            let span = g.span(id);
            let text = cx.source.get(span.range()).unwrap_or("");
            if !text.contains(&format!("\"{leaf}\"")) {
                continue;
            }
            let d = Diagnostic::warning(
                META.code,
                format!("explicit weight name `{leaf}` has the form of a generated name"),
            )
            .with_primary(span, "named here")
            .with_help("use a descriptive name, or omit `name` to let the compiler number it");
            out.push(Finding::at_node(d, id));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::looks_generated;
    use crate::testing::lint_codes;

    #[test]
    fn pattern() {
        assert!(looks_generated("conv2d_0"));
        assert!(looks_generated("batchnorm_12"));
        assert!(!looks_generated("conv1"));
        assert!(!looks_generated("layer_1"));
    }

    #[test]
    fn fires_on_explicit_generated_name() {
        let src = "network n {\n  input x: [1, 8, 4, 4];\n  output o = conv2d(x, out = 8, kernel = 1, name = \"conv2d_1\");\n}\n";
        assert_eq!(lint_codes(src, "shadowed_weight_name"), 1);
    }

    #[test]
    fn quiet_on_generated_names() {
        let src = "network n {\n  input x: [1, 8, 4, 4];\n  output o = conv2d(x, out = 8, kernel = 1);\n}\n";
        assert_eq!(lint_codes(src, "shadowed_weight_name"), 0);
    }
}
