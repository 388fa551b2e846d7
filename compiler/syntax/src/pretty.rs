//! A compact S-expression dump of the AST, for tests and debugging
//! (`nnc` may expose it as a debug output). Spans are not printed.
//!
//! ```text
//! (network n
//!   (input x [1 3])
//!   (let y (call relu x))
//!   (output y))
//! ```

use crate::ast::*;
use std::fmt::Write;

/// Dumps a whole file, one item after the other.
pub fn dump(file: &File) -> String {
    let mut out = String::new();
    for item in &file.items {
        match item {
            Item::Network(n) => {
                attrs(&mut out, &n.attrs, 0);
                let _ = write!(out, "(network {}", n.name.name);
                body(&mut out, &n.body, 1);
                out.push_str(")\n");
            }
            Item::Block(b) => {
                attrs(&mut out, &b.attrs, 0);
                let _ = write!(out, "(block {} (", b.name.name);
                for (i, p) in b.params.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    match &p.default {
                        Some(d) => {
                            let _ = write!(out, "({} {})", p.name.name, dump_expr(d));
                        }
                        None => out.push_str(&p.name.name),
                    }
                }
                out.push(')');
                body(&mut out, &b.body, 1);
                out.push_str(")\n");
            }
        }
    }
    out
}

fn attrs(out: &mut String, attrs: &[Attr], indent: usize) {
    for a in attrs {
        let names: Vec<&str> = a.args.iter().map(|i| i.name.as_str()).collect();
        let _ = writeln!(
            out,
            "{}#[{}({})]",
            "  ".repeat(indent),
            a.name.name,
            names.join(", ")
        );
    }
}

fn body(out: &mut String, b: &Body, indent: usize) {
    for s in &b.stmts {
        out.push('\n');
        if !s.attrs.is_empty() {
            attrs(out, &s.attrs, indent);
            // attrs() ends with a newline; the statement follows on its line
            out.pop();
            out.push('\n');
        }
        out.push_str(&"  ".repeat(indent));
        stmt(out, s, indent);
    }
}

fn stmt(out: &mut String, s: &Stmt, indent: usize) {
    match &s.kind {
        StmtKind::Input { name, shape } => {
            let dims: Vec<String> = shape.iter().map(dump_expr).collect();
            let _ = write!(out, "(input {} [{}])", name.name, dims.join(" "));
        }
        StmtKind::Let { name, value } => {
            let _ = write!(out, "(let {} {})", name.name, dump_expr(value));
        }
        StmtKind::LetTuple { names, value } => {
            let n: Vec<&str> = names.iter().map(|i| i.name.as_str()).collect();
            let _ = write!(out, "(let ({}) {})", n.join(" "), dump_expr(value));
        }
        StmtKind::Assign { name, value } => {
            let _ = write!(out, "(assign {} {})", name.name, dump_expr(value));
        }
        StmtKind::Output { name, value } => match value {
            Some(v) => {
                let _ = write!(out, "(output {} {})", name.name, dump_expr(v));
            }
            None => {
                let _ = write!(out, "(output {})", name.name);
            }
        },
        StmtKind::Return { value } => {
            let _ = write!(out, "(return {})", dump_expr(value));
        }
        StmtKind::For {
            var,
            start,
            end,
            body: b,
        } => {
            let _ = write!(
                out,
                "(for {} {} {}",
                var.name,
                dump_expr(start),
                dump_expr(end)
            );
            body(out, b, indent + 1);
            out.push(')');
        }
        StmtKind::If {
            cond,
            then_body,
            else_body,
        } => {
            let _ = write!(out, "(if {}", dump_expr(cond));
            let _ = write!(out, "\n{}(then", "  ".repeat(indent + 1));
            body(out, then_body, indent + 2);
            out.push(')');
            if let Some(e) = else_body {
                let _ = write!(out, "\n{}(else", "  ".repeat(indent + 1));
                body(out, e, indent + 2);
                out.push(')');
            }
            out.push(')');
        }
        StmtKind::Expr(e) => {
            let _ = write!(out, "(expr {})", dump_expr(e));
        }
        StmtKind::Error => out.push_str("<error>"),
    }
}

/// Dumps one expression on one line.
pub fn dump_expr(e: &Expr) -> String {
    let mut s = String::new();
    expr(&mut s, e);
    s
}

fn list(out: &mut String, open: &str, items: &[Expr], close: &str) {
    out.push_str(open);
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        expr(out, x);
    }
    out.push_str(close);
}

fn expr(out: &mut String, e: &Expr) {
    match &e.kind {
        ExprKind::Int { value } => match value {
            Some(v) => {
                let _ = write!(out, "{v}");
            }
            None => out.push_str("<int-overflow>"),
        },
        ExprKind::Float(f) => {
            let _ = write!(out, "{f:?}");
        }
        ExprKind::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        ExprKind::Str(parts) => {
            out.push_str("(str");
            for p in parts {
                out.push(' ');
                match p {
                    StrPart::Text(t) => {
                        let _ = write!(out, "{t:?}");
                    }
                    StrPart::Interp(x) => {
                        out.push('{');
                        expr(out, x);
                        out.push('}');
                    }
                }
            }
            out.push(')');
        }
        ExprKind::Name(id) => out.push_str(&id.name),
        ExprKind::List(items) => list(out, "[", items, "]"),
        ExprKind::Tuple(items) if items.is_empty() => out.push_str("(tuple)"),
        ExprKind::Tuple(items) => list(out, "(tuple ", items, ")"),
        ExprKind::Index { base, index } => {
            out.push_str("(index ");
            expr(out, base);
            out.push(' ');
            expr(out, index);
            out.push(')');
        }
        ExprKind::Call { callee, args, pipe } => {
            let _ = write!(
                out,
                "({} {}",
                if *pipe { "pipe" } else { "call" },
                callee.name
            );
            for a in args {
                out.push(' ');
                match &a.name {
                    Some(n) => {
                        let _ = write!(out, "({}= ", n.name);
                        expr(out, &a.value);
                        out.push(')');
                    }
                    None => expr(out, &a.value),
                }
            }
            out.push(')');
        }
        ExprKind::Unary { op, operand } => {
            out.push_str(match op {
                UnaryOp::Neg => "(neg ",
                UnaryOp::Not => "(not ",
            });
            expr(out, operand);
            out.push(')');
        }
        ExprKind::Binary { op, lhs, rhs, .. } => {
            let _ = write!(out, "({} ", op.as_str());
            expr(out, lhs);
            out.push(' ');
            expr(out, rhs);
            out.push(')');
        }
        ExprKind::If { cond, then, else_ } => {
            out.push_str("(if ");
            expr(out, cond);
            out.push(' ');
            expr(out, then);
            out.push(' ');
            expr(out, else_);
            out.push(')');
        }
        ExprKind::Paren(x) => {
            out.push_str("(paren ");
            expr(out, x);
            out.push(')');
        }
        ExprKind::Error => out.push_str("<error>"),
    }
}
