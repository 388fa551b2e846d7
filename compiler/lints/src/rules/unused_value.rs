//! Ops whose result never reaches an output.

use crate::{Finding, Lint, LintContext, LintLevel, LintMeta};
use nnc_diag::Diagnostic;
use nnc_ir::{NodeId, Op};

pub struct UnusedValue;

static META: LintMeta = LintMeta {
    name: "unused_value",
    code: "L0006",
    groups: &["correctness"],
    default: LintLevel::Warn,
    summary: "an op whose result never reaches a network output",
    docs: "\
Every op should contribute to an output. An op whose result is never used
(directly or through other ops) is dead: it costs nothing at run time (the
backend removes it) but usually means a mistake — a forgotten `x = ...`
rebinding, or a branch that was meant to be added back. The lint points at
the last op of each dead chain.

Example:

    let y = conv2d(x, out = 64, kernel = 3, pad = 1);
    output o = relu(x);   // y is never used

Fix: use the value, or delete it.",
};

impl Lint for UnusedValue {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, cx: &LintContext, out: &mut Vec<Finding>) {
        let g = cx.graph;
        // live = reaches an output (reverse reachability from the outputs)
        let bound = g.node_ids().map(|i| i.index() + 1).max().unwrap_or(0);
        let mut live = vec![false; bound];
        let mut stack: Vec<NodeId> = g.outputs.iter().map(|o| o.node).collect();
        while let Some(n) = stack.pop() {
            if n.index() >= bound || live[n.index()] {
                continue;
            }
            live[n.index()] = true;
            stack.extend(g.inputs(n));
        }
        for id in g.node_ids() {
            if live[id.index()] {
                continue;
            }
            // report only the ends of dead chains (no dead users)
            if !g.users(id).is_empty() {
                continue;
            }
            let n = g.node(id);
            let what = match &n.op {
                Op::Input { name } => format!("input `{name}` is never used"),
                op => format!("the result of this `{}` never reaches an output", op.name()),
            };
            let d = Diagnostic::warning(META.code, what)
                .with_primary(g.span(id), "unused")
                .with_help("use the value (e.g. rebind `x = ...`) or remove it");
            out.push(Finding::at_node(d, id));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::lint_codes;

    #[test]
    fn fires_on_dead_op() {
        let src = "network n {\n  input x: [1, 8, 4, 4];\n  let y = conv2d(x, out = 8, kernel = 1);\n  output o = relu(x);\n}\n";
        assert_eq!(lint_codes(src, "unused_value"), 1);
    }

    #[test]
    fn quiet_when_used() {
        let src = "network n {\n  input x: [1, 8, 4, 4];\n  let y = conv2d(x, out = 8, kernel = 1);\n  output o = relu(y);\n}\n";
        assert_eq!(lint_codes(src, "unused_value"), 0);
    }
}
