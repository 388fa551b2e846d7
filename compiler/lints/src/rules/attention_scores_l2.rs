//! Attention scores that do not fit in the L2 cache.

use crate::rules::thousands;
use crate::{Finding, Lint, LintContext, LintLevel, LintMeta};
use nnc_diag::Diagnostic;
use nnc_ir::Op;

pub struct AttentionScoresL2;

/// The L2 size assumed, bytes (1 MiB per core: most x86 server and desktop
/// cores of the last years have 1–2 MiB).
pub const L2_BYTES: u64 = 1 << 20;

static META: LintMeta = LintMeta {
    name: "attention_scores_l2",
    code: "L0010",
    groups: &["perf"],
    default: LintLevel::Warn,
    summary: "an attention whose L×L score matrix of one head is larger than the L2 cache",
    docs: "\
Self-attention over `L` tokens builds, for every head, an `L×L` matrix of
scores: written by `q kᵀ`, read and written by the softmax, read by `· v`.
Its size grows with the square of the token count; once one head's matrix
(`4·L²` bytes) exceeds the L2 cache (1 MiB assumed) these passes run from
L3 or DRAM and attention becomes memory bound (`nnc analyze` shows the
`qk^T`, `softmax` and `av` parts with their memory access). The lint fires
when `4·L² > 1 MiB`, i.e. `L > 512`.

Fix: fewer tokens (larger patches, downsampling before attention), or
windowed attention (Swin: attention inside 7×7 windows, `L = 49`).",
};

impl Lint for AttentionScoresL2 {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, cx: &LintContext, out: &mut Vec<Finding>) {
        let g = cx.graph;
        for id in g.node_ids() {
            let n = g.node(id);
            let Op::Attention { heads, .. } = n.op else {
                continue;
            };
            let &[batch, l, _] = n.shape.as_slice() else {
                continue;
            };
            let one = (l as u64).saturating_mul(l as u64).saturating_mul(4);
            if one <= L2_BYTES {
                continue;
            }
            let all = one
                .saturating_mul(heads as u64)
                .saturating_mul(batch as u64);
            let diag = Diagnostic::warning(
                META.code,
                format!(
                    "the {l}×{l} attention scores of one head take {} bytes, more than the L2 cache ({} bytes)",
                    thousands(one),
                    thousands(L2_BYTES)
                ),
            )
            .with_primary(
                g.span(id),
                format!("{} bytes of scores for all {heads} heads", thousands(all)),
            )
            .with_help("use fewer tokens (larger patches, downsampling) or windowed attention");
            out.push(Finding::at_node(diag, id));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::lint_codes;

    #[test]
    fn fires_above_512_tokens() {
        let src =
            "network n {\n  input x: [1, 600, 64];\n  output y = attention(x, heads = 2);\n}\n";
        assert_eq!(lint_codes(src, "attention_scores_l2"), 1);
    }

    #[test]
    fn quiet_for_vit_b_16_tokens() {
        let src =
            "network n {\n  input x: [1, 197, 64];\n  output y = attention(x, heads = 2);\n}\n";
        assert_eq!(lint_codes(src, "attention_scores_l2"), 0);
    }
}
