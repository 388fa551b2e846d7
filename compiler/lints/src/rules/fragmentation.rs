//! G3: network fragmentation reduces the degree of parallelism.

use crate::{Finding, Lint, LintContext, LintLevel, LintMeta};
use nnc_diag::Diagnostic;
use std::collections::BTreeMap;

pub struct Fragmentation;

/// Parallel branches in one block instance from which the lint fires.
pub const BRANCH_THRESHOLD: u32 = 4;

static META: LintMeta = LintMeta {
    name: "fragmentation",
    code: "L0003",
    groups: &["guidelines", "perf"],
    default: LintLevel::Warn,
    summary:
        "a block whose instances split into many parallel branches of small ops (ShuffleNet V2, G3)",
    docs: "\
Multi-path blocks (Inception-style cells, many small parallel branches) are
friendly to FLOPs but not to hardware: each branch is a separate small kernel
with its own launch and synchronization cost, and small kernels cannot use
wide vector units and many cores well (ShuffleNet V2, guideline G3).

The lint uses the analysis' fragment counts: for every block instance, the
number of ops it contributes and its parallel branches (the largest number of
its ops at one level of its own dependency graph). A block whose instances
have 4 or more parallel branches is reported once, at its first call, with
the ops, the branches and the share of the network's predicted time spent in
its instances.

Fix: merge branches (e.g. one wider convolution instead of several narrow
ones), or reduce the branch count.",
};

impl Lint for Fragmentation {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, cx: &LintContext, out: &mut Vec<Finding>) {
        let a = cx.analysis;
        // group instances by block definition, keep the first one's call site
        let mut by_block: BTreeMap<&str, Vec<&nnc_analysis::BlockAnalysis>> = BTreeMap::new();
        for b in &a.blocks {
            if b.branches >= BRANCH_THRESHOLD {
                by_block.entry(b.block.as_str()).or_default().push(b);
            }
        }
        let total_ms = a.totals.predicted_ms.max(f64::MIN_POSITIVE);
        for (block, insts) in by_block {
            let first = insts[0];
            let max_br = insts.iter().map(|b| b.branches).max().unwrap_or(0);
            let ops: u32 = insts.iter().map(|b| b.ops).sum();
            let ms: f64 = insts.iter().map(|b| b.predicted_ms).sum();
            let call = cx.graph.block(first.id).call_span;
            let d = Diagnostic::warning(
                META.code,
                format!(
                    "block `{block}` is fragmented: up to {max_br} parallel branches in {} instance{}",
                    insts.len(),
                    if insts.len() == 1 { "" } else { "s" }
                ),
            )
            .with_primary(call, format!("`{}`: {} ops, {} parallel branches", first.name, first.ops, first.branches))
            .with_note(format!(
                "its instances hold {ops} ops and {:.1}% of the predicted time; each branch is a separate small kernel",
                ms / total_ms * 100.0
            ))
            .with_help("merge parallel branches into fewer, wider ops (G3: fragmentation reduces parallelism)");
            out.push(Finding::new(d));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::lint_codes;

    #[test]
    fn fires_on_inception_like_block() {
        let src = "block cell(x) {\n  let a = conv2d(x, out = 8, kernel = 1);\n  let b = conv2d(x, out = 8, kernel = 3, pad = 1);\n  let c = conv2d(x, out = 8, kernel = 5, pad = 2);\n  let d = maxpool(x, kernel = 3, stride = 1, pad = 1);\n  return concat([a, b, c, d]);\n}\nnetwork n {\n  input x: [1, 8, 16, 16];\n  output o = cell(x);\n}\n";
        assert_eq!(lint_codes(src, "fragmentation"), 1);
    }

    #[test]
    fn quiet_on_chain() {
        let src = "block cell(x) {\n  let a = conv2d(x, out = 8, kernel = 1);\n  return relu(a);\n}\nnetwork n {\n  input x: [1, 8, 16, 16];\n  output o = cell(x);\n}\n";
        assert_eq!(lint_codes(src, "fragmentation"), 0);
    }
}
