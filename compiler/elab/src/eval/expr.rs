//! Expressions: names, literals, strings, indexing, in-place appends.

use super::diag::suggest;
use super::env::Env;
use super::Elab;
use crate::builtins;
use crate::codes;
use crate::value::{IntProv, Seq, Value, MAX_NESTING};
use nnc_diag::{Diagnostic, Span};
use nnc_syntax::ast::{BinOp, Expr, ExprKind, Ident, StrPart};
use std::fmt::Write;
use std::rc::Rc;
use std::sync::Arc;

impl<'a> Elab<'a> {
    /// Evaluates an expression whose value is used (a block without
    /// `return` is an error here).
    pub(crate) fn eval(&mut self, env: &mut Env, e: &'a Expr) -> Value {
        match self.eval_any(env, e) {
            Value::Unit { block, def } => {
                self.report(
                    Diagnostic::error(
                        codes::NO_RETURN_VALUE,
                        format!("block `{block}` returns no value"),
                    )
                    .with_primary(e.span, "the value of this call is used")
                    .with_secondary(def, "this block has no `return`")
                    .with_help("add `return ...;` to the block, or call it as a statement"),
                );
                Value::Error
            }
            v => v,
        }
    }

    pub(super) fn eval_any(&mut self, env: &mut Env, e: &'a Expr) -> Value {
        if !self.enter(e.span) {
            return Value::Error;
        }
        let v = self.eval_inner(env, e);
        self.leave();
        v
    }

    pub(super) fn eval_inner(&mut self, env: &mut Env, e: &'a Expr) -> Value {
        match &e.kind {
            ExprKind::Int { value: Some(v) } => Value::Int(
                *v,
                Arc::new(IntProv::Lit {
                    span: e.span,
                    value: *v,
                }),
                1,
            ),
            ExprKind::Int { value: None } => self.err(
                codes::INT_OVERFLOW,
                e.span,
                "integer literal out of range",
                "does not fit in a 64-bit int",
            ),
            ExprKind::Float(f) => Value::Float(*f),
            ExprKind::Bool(b) => Value::Bool(*b),
            ExprKind::Str(parts) => self.eval_string(env, parts, e.span),
            ExprKind::Name(id) => self.lookup_name(env, id),
            ExprKind::List(items) | ExprKind::Tuple(items) => {
                if items.len() > self.limits.list_len {
                    self.limit(
                        codes::LIMIT_LIST,
                        e.span,
                        format!("a list longer than {} elements", self.limits.list_len),
                        "too long",
                    );
                    return Value::Error;
                }
                let mut vs = Vec::with_capacity(items.len());
                for x in items {
                    vs.push(self.eval(env, x));
                }
                let seq = Seq::new(vs);
                if seq.depth > MAX_NESTING {
                    self.limit(
                        codes::LIMIT_LIST,
                        e.span,
                        format!("lists or tuples nested more than {MAX_NESTING} levels deep"),
                        "nested too deeply",
                    );
                    return Value::Error;
                }
                if matches!(e.kind, ExprKind::List(_)) {
                    Value::List(seq)
                } else {
                    Value::Tuple(seq)
                }
            }
            ExprKind::Index { base, index } => self.eval_index(env, base, index),
            ExprKind::Call { callee, args, .. } => self.eval_call(env, e, callee, args),
            ExprKind::Unary { op, operand } => {
                let v = self.eval(env, operand);
                self.unary(*op, e.span, operand.span, v)
            }
            ExprKind::Binary {
                op,
                op_span,
                lhs,
                rhs,
            } => {
                if matches!(op, BinOp::And | BinOp::Or) {
                    let l = self.eval(env, lhs);
                    let what = format!("the left operand of `{}`", op.as_str());
                    let Some(lb) = self.expect_bool(&l, lhs.span, &what) else {
                        return Value::Error;
                    };
                    if (*op == BinOp::And && !lb) || (*op == BinOp::Or && lb) {
                        return Value::Bool(lb);
                    }
                    let r = self.eval(env, rhs);
                    let what = format!("the right operand of `{}`", op.as_str());
                    return match self.expect_bool(&r, rhs.span, &what) {
                        Some(rb) => Value::Bool(rb),
                        None => Value::Error,
                    };
                }
                let l = self.eval(env, lhs);
                let r = self.eval(env, rhs);
                self.binary(*op, *op_span, e.span, lhs.span, rhs.span, l, r)
            }
            ExprKind::If { cond, then, else_ } => {
                let c = self.eval(env, cond);
                match self.expect_bool(&c, cond.span, "an `if` condition") {
                    Some(true) => self.eval_any(env, then),
                    Some(false) => self.eval_any(env, else_),
                    None => Value::Error,
                }
            }
            ExprKind::Paren(x) => self.eval_any(env, x),
            ExprKind::Error => Value::Error,
        }
    }

    pub(super) fn lookup_name(&mut self, env: &Env, id: &Ident) -> Value {
        if let Some(v) = env.lookup(&id.name) {
            return v.clone();
        }
        if self.blocks.contains_key(id.name.as_str()) || builtins::lookup(&id.name).is_some() {
            let what = if self.blocks.contains_key(id.name.as_str()) {
                "a block"
            } else {
                "a built-in op"
            };
            self.report(
                Diagnostic::error(
                    codes::NOT_A_VALUE,
                    format!("`{}` is {what}, not a value", id.name),
                )
                .with_primary(id.span, "used as a value here")
                .with_help(format!("call it: `{}(...)`", id.name)),
            );
            return Value::Error;
        }
        let mut d = Diagnostic::error(codes::UNKNOWN_NAME, format!("unknown name `{}`", id.name))
            .with_primary(id.span, "not found in this scope");
        if let Some(s) = suggest(&id.name, &env.names()) {
            d = d.with_help(format!("did you mean `{s}`?"));
        }
        if self.in_block() {
            d = d.with_note(
                "a block sees only its parameters and its own bindings, not the caller's",
            );
        }
        self.report(d);
        Value::Error
    }

    pub(super) fn eval_string(&mut self, env: &mut Env, parts: &'a [StrPart], span: Span) -> Value {
        let mut s = String::new();
        for p in parts {
            match p {
                StrPart::Text(t) => s.push_str(t),
                StrPart::Interp(x) => {
                    let v = self.eval(env, x);
                    match v {
                        Value::Int(n, ..) => {
                            let _ = write!(s, "{n}");
                        }
                        Value::Float(f) => {
                            let _ = write!(s, "{f}");
                        }
                        Value::Bool(b) => {
                            let _ = write!(s, "{b}");
                        }
                        Value::Str(t) => s.push_str(&t),
                        Value::Error => return Value::Error,
                        other => {
                            return self.err(
                                codes::BAD_INTERPOLATION,
                                x.span,
                                format!("cannot interpolate {} into a string", other.describe()),
                                "only ints, floats, bools and strings can be interpolated",
                            )
                        }
                    }
                }
            }
            if s.len() > self.limits.string_len {
                self.limit(
                    codes::LIMIT_STRING,
                    span,
                    format!("a string longer than {} bytes", self.limits.string_len),
                    "too long",
                );
                return Value::Error;
            }
        }
        Value::Str(Rc::new(s))
    }

    pub(super) fn eval_index(&mut self, env: &mut Env, base: &'a Expr, index: &'a Expr) -> Value {
        let b = self.eval(env, base);
        let i = self.eval(env, index);
        let items = match &b {
            Value::List(xs) | Value::Tuple(xs) => xs.clone(),
            Value::Error => return Value::Error,
            Value::Tensor(_) => {
                self.report(
                    Diagnostic::error(codes::EXPECTED_VALUE, "cannot index a tensor")
                        .with_primary(base.span, "this is a tensor")
                        .with_help("to read its sizes, index its shape: `shape(x)[1]`"),
                );
                return Value::Error;
            }
            other => {
                return self.err(
                    codes::TYPE_MISMATCH,
                    base.span,
                    format!("cannot index {}", other.describe()),
                    "only lists and tuples can be indexed",
                )
            }
        };
        let Some((n, _)) = self.expect_int(&i, index.span, "an index") else {
            return Value::Error;
        };
        match usize::try_from(n).ok().and_then(|k| items.get(k)) {
            Some(v) => v.clone(),
            None => self.err(
                codes::INDEX_OUT_OF_RANGE,
                index.span,
                format!(
                    "index {n} is out of range for {} of length {}",
                    if matches!(b, Value::List(_)) {
                        "a list"
                    } else {
                        "a tuple"
                    },
                    items.len()
                ),
                if n < 0 {
                    "negative indices are not allowed".to_string()
                } else {
                    format!("valid indices are 0..{}", items.len())
                },
            ),
        }
    }

    /// `x = x + e` where `x` is a list or a string: `e` is evaluated first
    /// (reading `x` has no effect, so the order is not observable), then `x`
    /// is taken out of its binding so that, unless it is shared, the append
    /// happens in place: a loop of N appends is O(N), not O(N^2).
    pub(super) fn append_in_place(
        &mut self,
        env: &mut Env,
        name: &Ident,
        value: &'a Expr,
    ) -> Option<Value> {
        let ExprKind::Binary {
            op: BinOp::Add,
            op_span,
            lhs,
            rhs,
        } = &value.kind
        else {
            return None;
        };
        let ExprKind::Name(id) = &lhs.kind else {
            return None;
        };
        if id.name != name.name
            || !matches!(env.lookup(&name.name), Some(Value::List(_) | Value::Str(_)))
        {
            return None;
        }
        if !self.enter(value.span) {
            return Some(Value::Error);
        }
        let r = self.eval(env, rhs);
        let l = env.take(&name.name).unwrap_or(Value::Error);
        let v = self.binary(BinOp::Add, *op_span, value.span, lhs.span, rhs.span, l, r);
        self.leave();
        Some(v)
    }
}
