//! Kind checks: a value expected to be a tensor, int, bool or float.

use super::Elab;
use crate::codes;
use crate::value::{IntProv, Value};
use nnc_diag::{Diagnostic, Span};
use nnc_ir::NodeId;
use std::sync::Arc;

impl<'a> Elab<'a> {
    /// The tensor in `v`, or a diagnostic (E0130) at `span`.
    pub(crate) fn expect_tensor(&mut self, v: &Value, span: Span, what: &str) -> Option<NodeId> {
        match v {
            Value::Tensor(id) => Some(*id),
            Value::Error | Value::Unit { .. } => None,
            other => {
                self.report(
                    Diagnostic::error(
                        codes::EXPECTED_TENSOR,
                        format!("expected a tensor for {what}, found {}", other.describe()),
                    )
                    .with_primary(span, format!("this is {}", other.describe())),
                );
                None
            }
        }
    }

    pub(super) fn value_is_tensor(&mut self, span: Span, what: &str, expected: &str) {
        self.report(
            Diagnostic::error(
                codes::EXPECTED_VALUE,
                format!("expected {expected} for {what}, found a tensor"),
            )
            .with_primary(span, "this is a tensor")
            .with_help("tensors are run-time data; to use a size, query it: `channels(x)`, `height(x)`, `shape(x)`"),
        );
    }

    pub(super) fn wrong_type(&mut self, span: Span, what: &str, expected: &str, v: &Value) {
        self.report(
            Diagnostic::error(
                codes::TYPE_MISMATCH,
                format!("expected {expected} for {what}, found {}", v.describe()),
            )
            .with_primary(span, format!("expected {expected}")),
        );
    }

    /// An int (with provenance), or a diagnostic at `span`.
    pub(crate) fn expect_int(
        &mut self,
        v: &Value,
        span: Span,
        what: &str,
    ) -> Option<(i64, Arc<IntProv>)> {
        match v {
            Value::Int(n, p, _) => Some((*n, p.clone())),
            Value::Error | Value::Unit { .. } => None,
            Value::Tensor(_) => {
                self.value_is_tensor(span, what, "an int");
                None
            }
            other => {
                self.wrong_type(span, what, "an int", other);
                None
            }
        }
    }

    /// A bool, or a diagnostic at `span`.
    pub(crate) fn expect_bool(&mut self, v: &Value, span: Span, what: &str) -> Option<bool> {
        match v {
            Value::Bool(b) => Some(*b),
            Value::Error | Value::Unit { .. } => None,
            Value::Tensor(_) => {
                self.value_is_tensor(span, what, "a bool");
                None
            }
            other => {
                self.wrong_type(span, what, "a bool", other);
                None
            }
        }
    }

    /// A float (ints convert), or a diagnostic at `span`.
    pub(crate) fn expect_float(&mut self, v: &Value, span: Span, what: &str) -> Option<f64> {
        match v {
            Value::Float(f) => Some(*f),
            Value::Int(n, ..) => Some(*n as f64),
            Value::Error | Value::Unit { .. } => None,
            Value::Tensor(_) => {
                self.value_is_tensor(span, what, "a number");
                None
            }
            other => {
                self.wrong_type(span, what, "a number", other);
                None
            }
        }
    }
}
