//! Attention heads whose width wastes vector lanes.

use crate::{Finding, Lint, LintContext, LintLevel, LintMeta};
use nnc_diag::Diagnostic;
use nnc_ir::Op;

pub struct AttentionHeadDim;

static META: LintMeta = LintMeta {
    name: "attention_head_dim",
    code: "L0009",
    groups: &["perf"],
    default: LintLevel::Warn,
    summary: "an attention whose head dimension is not a multiple of the target's vector width",
    docs: "\
Each head of an `attention` computes `q kᵀ` and `softmax · v` with the head
dimension `d = E / heads` as the inner (`q kᵀ`) or output (`· v`) axis of
its matrix products: with `d` not a multiple of the vector lanes (8 f32 on
AVX2, 16 on AVX-512, 4 on NEON), every row of these products ends in a
partly filled vector. The lint fires when `d % lanes != 0`.

Fix: choose `heads` so that `E / heads` is a multiple of the lanes (ViT-B:
768 / 12 = 64), or change `E`.",
};

impl Lint for AttentionHeadDim {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, cx: &LintContext, out: &mut Vec<Finding>) {
        let g = cx.graph;
        let lanes = cx.simd_lanes.max(1);
        for id in g.node_ids() {
            let n = g.node(id);
            let Op::Attention { heads, .. } = n.op else {
                continue;
            };
            let e = n.shape.last().copied().unwrap_or(0);
            if heads == 0 || e % heads != 0 {
                continue;
            }
            let d = e / heads;
            if d % lanes == 0 {
                continue;
            }
            let diag = Diagnostic::warning(
                META.code,
                format!("head dimension {d} ({e} / {heads} heads) is not a multiple of the {lanes}-lane vectors"),
            )
            .with_primary(g.span(id), format!("{heads} heads of width {d}"))
            .with_help(format!(
                "pick `heads` so that {e} / heads is a multiple of {lanes}"
            ));
            out.push(Finding::at_node(diag, id));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::lint_codes;

    #[test]
    fn fires_on_head_dim_12() {
        let src =
            "network n {\n  input x: [1, 10, 48];\n  output y = attention(x, heads = 4);\n}\n";
        assert_eq!(lint_codes(src, "attention_head_dim"), 1);
    }

    #[test]
    fn quiet_on_head_dim_64() {
        let src =
            "network n {\n  input x: [1, 10, 768];\n  output y = attention(x, heads = 12);\n}\n";
        assert_eq!(lint_codes(src, "attention_head_dim"), 0);
    }
}
