//! Blocks that are never called.

use crate::{Finding, Lint, LintContext, LintLevel, LintMeta};
use nnc_diag::Diagnostic;
use nnc_syntax::ast::{self, Expr, ExprKind, StmtKind, StrPart};
use std::collections::HashSet;

pub struct UnusedBlock;

static META: LintMeta = LintMeta {
    name: "unused_block",
    code: "L0007",
    groups: &["correctness"],
    default: LintLevel::Warn,
    summary: "a block that no network or block calls",
    docs: "\
A `block` definition that is never called contributes nothing to any network.
It is usually left over from an edit, or its call has a typo that another
diagnostic already reports.

Fix: call it, or delete it; `#[allow(unused_block)]` on the block keeps it
quietly (e.g. in a library of blocks).",
};

impl Lint for UnusedBlock {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, cx: &LintContext, out: &mut Vec<Finding>) {
        let mut called = HashSet::new();
        for item in &cx.ast.items {
            let body = match item {
                ast::Item::Network(n) => &n.body,
                ast::Item::Block(b) => &b.body,
            };
            visit_body(body, &mut |name| {
                called.insert(name.to_string());
            });
        }
        for item in &cx.ast.items {
            if let ast::Item::Block(b) = item {
                if !called.contains(&b.name.name) {
                    let d = Diagnostic::warning(
                        META.code,
                        format!("block `{}` is never called", b.name.name),
                    )
                    .with_primary(b.name.span, "defined here")
                    .with_help("call it from a network, or remove it");
                    out.push(Finding::new(d));
                }
            }
        }
    }
}

fn visit_body(body: &ast::Body, f: &mut dyn FnMut(&str)) {
    for s in &body.stmts {
        match &s.kind {
            StmtKind::Input { shape, .. } => shape.iter().for_each(|e| visit_expr(e, f)),
            StmtKind::Let { value, .. }
            | StmtKind::LetTuple { value, .. }
            | StmtKind::Assign { value, .. }
            | StmtKind::Return { value }
            | StmtKind::Expr(value) => visit_expr(value, f),
            StmtKind::Output { value, .. } => {
                if let Some(v) = value {
                    visit_expr(v, f)
                }
            }
            StmtKind::For {
                start, end, body, ..
            } => {
                visit_expr(start, f);
                visit_expr(end, f);
                visit_body(body, f);
            }
            StmtKind::If {
                cond,
                then_body,
                else_body,
            } => {
                visit_expr(cond, f);
                visit_body(then_body, f);
                if let Some(e) = else_body {
                    visit_body(e, f);
                }
            }
            StmtKind::Error => {}
        }
    }
}

/// Visits every call's callee name. Iterative over binary chains would be
/// nicer; the parser bounds nesting depth, so recursion is safe here.
fn visit_expr(e: &Expr, f: &mut dyn FnMut(&str)) {
    match &e.kind {
        ExprKind::Call { callee, args, .. } => {
            f(&callee.name);
            for a in args {
                visit_expr(&a.value, f);
            }
        }
        ExprKind::List(xs) | ExprKind::Tuple(xs) => xs.iter().for_each(|x| visit_expr(x, f)),
        ExprKind::Index { base, index } => {
            visit_expr(base, f);
            visit_expr(index, f);
        }
        ExprKind::Unary { operand, .. } => visit_expr(operand, f),
        ExprKind::Binary { lhs, rhs, .. } => {
            visit_expr(lhs, f);
            visit_expr(rhs, f);
        }
        ExprKind::If { cond, then, else_ } => {
            visit_expr(cond, f);
            visit_expr(then, f);
            visit_expr(else_, f);
        }
        ExprKind::Paren(x) => visit_expr(x, f),
        ExprKind::Str(parts) => {
            for p in parts {
                if let StrPart::Interp(x) = p {
                    visit_expr(x, f);
                }
            }
        }
        ExprKind::Int { .. }
        | ExprKind::Float(_)
        | ExprKind::Bool(_)
        | ExprKind::Name(_)
        | ExprKind::Error => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::lint_codes;

    #[test]
    fn fires_on_uncalled_block() {
        let src = "block unused(x) { return relu(x); }\nnetwork n {\n  input x: [1, 8];\n  output o = relu(x);\n}\n";
        assert_eq!(lint_codes(src, "unused_block"), 1);
    }

    #[test]
    fn quiet_when_called() {
        let src = "block act(x) { return relu(x); }\nnetwork n {\n  input x: [1, 8];\n  output o = act(x);\n}\n";
        assert_eq!(lint_codes(src, "unused_block"), 0);
    }
}
