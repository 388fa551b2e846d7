//! Unary and binary operators on compile-time values and tensors.

use super::args::ArgV;
use super::Elab;
use crate::codes;
use crate::value::{IntProv, Seq, Value};
use nnc_diag::{Diagnostic, Span};
use nnc_ir::shape::{self, fmt_shape};
use nnc_ir::{BinaryKind, NodeId, Op};
use nnc_syntax::ast::{BinOp, UnaryOp};
use std::rc::Rc;

impl<'a> Elab<'a> {
    pub(super) fn unary(&mut self, op: UnaryOp, span: Span, operand: Span, v: Value) -> Value {
        match (op, v) {
            (_, Value::Error) => Value::Error,
            (UnaryOp::Neg, Value::Int(n, p, d)) => match n.checked_neg() {
                Some(m) => Value::derived_int(m, IntProv::Neg(p), &[d]),
                None => self.err(
                    codes::INT_OVERFLOW,
                    span,
                    format!("`-{n}` overflows a 64-bit int"),
                    "overflows",
                ),
            },
            (UnaryOp::Neg, Value::Float(f)) => Value::Float(-f),
            (UnaryOp::Neg, Value::Tensor(t)) => {
                self.tensor_scalar(BinOp::Mul, span, span, t, -1.0, true, operand)
            }
            (UnaryOp::Not, Value::Bool(b)) => Value::Bool(!b),
            (UnaryOp::Not, Value::Tensor(_)) => self.err(
                codes::EXPECTED_VALUE,
                operand,
                "`!` needs a bool, found a tensor",
                "this is a tensor",
            ),
            (op, other) => self.err(
                codes::BAD_OPERANDS,
                span,
                format!(
                    "cannot apply `{}` to {}",
                    if op == UnaryOp::Neg { "-" } else { "!" },
                    other.describe()
                ),
                "invalid operand",
            ),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn binary(
        &mut self,
        op: BinOp,
        op_span: Span,
        span: Span,
        ls: Span,
        rs: Span,
        l: Value,
        r: Value,
    ) -> Value {
        use Value::*;
        let sym = op.as_str();
        match (l, r) {
            (Error, _) | (_, Error) => Error,
            (Tensor(a), Tensor(b)) => match op {
                BinOp::Add => self.tensor_binary(BinaryKind::Add, a, b, span, ls, rs, None),
                BinOp::Mul => self.tensor_binary(BinaryKind::Mul, a, b, span, ls, rs, None),
                BinOp::Sub | BinOp::Div | BinOp::Rem => {
                    self.report(
                        Diagnostic::error(
                            codes::TENSOR_SUB_DIV,
                            format!("`{sym}` is not defined on tensors"),
                        )
                        .with_primary(op_span, format!("`{sym}` between two tensors"))
                        .with_help("between two tensors only element-wise `+` (add) and `*` (mul) exist; `-` and `/` work with a number (`x - 1.0`, `x / 8.0`)"),
                    );
                    Error
                }
                _ => self.err(
                    codes::BAD_OPERANDS,
                    op_span,
                    format!("tensors cannot be compared with `{sym}`"),
                    "comparison of tensors",
                ),
            },
            (Tensor(t), Int(n, ..)) => self.tensor_scalar(op, op_span, span, t, n as f64, true, rs),
            (Tensor(t), Float(f)) => self.tensor_scalar(op, op_span, span, t, f, true, rs),
            (Int(n, ..), Tensor(t)) => {
                self.tensor_scalar(op, op_span, span, t, n as f64, false, ls)
            }
            (Float(f), Tensor(t)) => self.tensor_scalar(op, op_span, span, t, f, false, ls),
            (Tensor(_), other) | (other, Tensor(_)) => {
                self.report(
                    Diagnostic::error(
                        codes::BAD_OPERANDS,
                        format!("`{sym}` between a tensor and {}", other.describe()),
                    )
                    .with_primary(op_span, "invalid operands")
                    .with_help("tensors combine with tensors, or with a number (`x * 0.125`)"),
                );
                Error
            }
            (Int(a, pa, da), Int(b, pb, db)) => {
                let res = match op {
                    BinOp::Add => a.checked_add(b),
                    BinOp::Sub => a.checked_sub(b),
                    BinOp::Mul => a.checked_mul(b),
                    BinOp::Div | BinOp::Rem => {
                        if b == 0 {
                            return self.err(
                                codes::DIV_BY_ZERO,
                                rs,
                                format!(
                                    "{} by zero",
                                    if op == BinOp::Div {
                                        "division"
                                    } else {
                                        "remainder"
                                    }
                                ),
                                "this is zero",
                            );
                        }
                        if op == BinOp::Div {
                            a.checked_div(b)
                        } else {
                            a.checked_rem(b)
                        }
                    }
                    BinOp::Eq => return Bool(a == b),
                    BinOp::Ne => return Bool(a != b),
                    BinOp::Lt => return Bool(a < b),
                    BinOp::Le => return Bool(a <= b),
                    BinOp::Gt => return Bool(a > b),
                    BinOp::Ge => return Bool(a >= b),
                    BinOp::And | BinOp::Or => None,
                };
                let prov = match op {
                    BinOp::Add => IntProv::Add(pa, pb),
                    BinOp::Sub => IntProv::Sub(pa, pb),
                    BinOp::Mul => IntProv::Mul(pa, pb),
                    BinOp::Div => IntProv::Div(pa, pb),
                    _ => IntProv::Rem(pa, pb),
                };
                match res {
                    Some(v) => Value::derived_int(v, prov, &[da, db]),
                    None => self.err(
                        codes::INT_OVERFLOW,
                        span,
                        format!("`{a} {sym} {b}` overflows a 64-bit int"),
                        "overflows",
                    ),
                }
            }
            (l @ (Int(..) | Float(_)), r @ (Int(..) | Float(_))) => {
                let f = |v: &Value| match v {
                    Int(n, ..) => *n as f64,
                    Float(x) => *x,
                    _ => 0.0,
                };
                let (a, b) = (f(&l), f(&r));
                match op {
                    BinOp::Add => Float(a + b),
                    BinOp::Sub => Float(a - b),
                    BinOp::Mul => Float(a * b),
                    BinOp::Div | BinOp::Rem => {
                        if b == 0.0 {
                            return self.err(
                                codes::DIV_BY_ZERO,
                                rs,
                                "division by zero",
                                "this is zero",
                            );
                        }
                        Float(if op == BinOp::Div { a / b } else { a % b })
                    }
                    BinOp::Eq => Bool(a == b),
                    BinOp::Ne => Bool(a != b),
                    BinOp::Lt => Bool(a < b),
                    BinOp::Le => Bool(a <= b),
                    BinOp::Gt => Bool(a > b),
                    BinOp::Ge => Bool(a >= b),
                    BinOp::And | BinOp::Or => Error,
                }
            }
            (Bool(a), Bool(b)) if matches!(op, BinOp::Eq | BinOp::Ne) => {
                Bool((a == b) == (op == BinOp::Eq))
            }
            (Str(a), Str(b)) if matches!(op, BinOp::Eq | BinOp::Ne) => {
                Bool((a == b) == (op == BinOp::Eq))
            }
            (Str(mut a), Str(b)) if op == BinOp::Add => {
                if a.len().saturating_add(b.len()) > self.limits.string_len {
                    self.limit(
                        codes::LIMIT_STRING,
                        span,
                        format!("a string longer than {} bytes", self.limits.string_len),
                        "too long",
                    );
                    return Error;
                }
                Rc::make_mut(&mut a).push_str(&b);
                Str(a)
            }
            (List(mut a), List(b)) if op == BinOp::Add => {
                if a.len().saturating_add(b.len()) > self.limits.list_len {
                    self.limit(
                        codes::LIMIT_LIST,
                        span,
                        format!("a list longer than {} elements", self.limits.list_len),
                        "too long",
                    );
                    return Error;
                }
                Seq::append(&mut a, &b);
                List(a)
            }
            (l, r) => {
                self.report(
                    Diagnostic::error(
                        codes::BAD_OPERANDS,
                        format!("cannot apply `{sym}` to {} and {}", l.kind(), r.kind()),
                    )
                    .with_primary(op_span, "invalid operands")
                    .with_secondary(ls, format!("this is {}", l.describe()))
                    .with_secondary(rs, format!("this is {}", r.describe())),
                );
                Error
            }
        }
    }

    /// `a + b` / `a * b` on tensors (also the ops `add` and `mul`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn tensor_binary(
        &mut self,
        kind: BinaryKind,
        a: NodeId,
        b: NodeId,
        span: Span,
        ls: Span,
        rs: Span,
        name: Option<&ArgV<'a>>,
    ) -> Value {
        let sa = self.graph.node(a).shape.clone();
        let sb = self.graph.node(b).shape.clone();
        if shape::broadcast(&sa, &sb).is_none() {
            let verb = if kind == BinaryKind::Add {
                "add"
            } else {
                "multiply"
            };
            self.report(
                Diagnostic::error(
                    codes::BROADCAST,
                    format!("cannot {verb} tensors of shapes {} and {}", fmt_shape(&sa), fmt_shape(&sb)),
                )
                .with_primary(span, "shapes do not broadcast")
                .with_secondary(ls, format!("shape {}", fmt_shape(&sa)))
                .with_secondary(rs, format!("shape {}", fmt_shape(&sb)))
                .with_help("the shapes must be equal, or broadcastable (each dimension equal or 1, aligned from the right)"),
            );
            return Value::Error;
        }
        match self.make_op(Op::Binary(kind), &[a, b], span, name) {
            Some(id) => Value::Tensor(id),
            None => Value::Error,
        }
    }
}
