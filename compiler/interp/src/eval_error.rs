//! The interpreter's error type.

use crate::ops::OpError;
use crate::tensor::TensorError;
use std::fmt;

/// Why the interpreter could not evaluate a graph or an op.
#[derive(Clone, Debug, PartialEq)]
pub enum EvalError {
    /// A tensor could not be made (an allocation failure is E0414, see
    /// [`EvalError::is_alloc`]).
    Tensor(TensorError),
    /// The input values given do not match the network's inputs.
    Input(String),
    /// The graph is malformed: a cycle, a value missing, or a recorded shape
    /// the op does not compute.
    Graph(String),
    /// A weight is missing from the store or has the wrong shape.
    Weight(String),
    /// An op cannot take these operands or attributes.
    Op(String),
    /// A transformer op ([`crate::ops`]) cannot take these operands,
    /// attributes or weights.
    Transformer(OpError),
    /// The error of one node, with the node's op and name.
    Node {
        op: &'static str,
        name: String,
        error: Box<EvalError>,
    },
}

impl EvalError {
    /// An allocation over the limit or beyond the available memory.
    pub fn is_alloc(&self) -> bool {
        match self {
            EvalError::Tensor(e) => e.is_alloc(),
            EvalError::Transformer(e) => e.is_alloc(),
            EvalError::Node { error, .. } => error.is_alloc(),
            _ => false,
        }
    }
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvalError::Tensor(e) => e.fmt(f),
            EvalError::Transformer(e) => e.fmt(f),
            EvalError::Input(m) | EvalError::Graph(m) | EvalError::Weight(m) | EvalError::Op(m) => {
                f.write_str(m)
            }
            EvalError::Node { op, name, error } => write!(f, "{op} `{name}`: {error}"),
        }
    }
}

impl std::error::Error for EvalError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EvalError::Tensor(e) => Some(e),
            EvalError::Transformer(e) => Some(e),
            EvalError::Node { error, .. } => Some(error),
            _ => None,
        }
    }
}

impl From<TensorError> for EvalError {
    fn from(e: TensorError) -> EvalError {
        EvalError::Tensor(e)
    }
}

impl From<OpError> for EvalError {
    fn from(e: OpError) -> EvalError {
        match e {
            OpError::Tensor(e) => EvalError::Tensor(e),
            e => EvalError::Transformer(e),
        }
    }
}

/// An op's error message (the interpreter's own ops build their messages
/// with `op_err!` or from text).
impl From<String> for EvalError {
    fn from(m: String) -> EvalError {
        EvalError::Op(m)
    }
}

impl From<&str> for EvalError {
    fn from(m: &str) -> EvalError {
        EvalError::Op(m.to_string())
    }
}

/// For callers that still report errors as text.
impl From<EvalError> for String {
    fn from(e: EvalError) -> String {
        e.to_string()
    }
}

/// `op_err!("...", args)`: an [`EvalError::Op`] with a formatted message.
macro_rules! op_err {
    ($($t:tt)*) => {
        $crate::eval_error::EvalError::Op(format!($($t)*))
    };
}
pub(crate) use op_err;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alloc_failures_are_told_by_type_not_text() {
        let alloc = EvalError::Node {
            op: "conv2d",
            name: "c".into(),
            error: Box::new(EvalError::Tensor(TensorError::OverLimit {
                elements: 1 << 40,
            })),
        };
        assert!(alloc.is_alloc());
        assert!(
            alloc.to_string().starts_with("conv2d `c`: cannot allocate"),
            "{alloc}"
        );
        // a message that merely contains the words is not an allocation failure
        let named = EvalError::Node {
            op: "conv2d",
            name: "cannot allocate".into(),
            error: Box::new(EvalError::Op("axis 4 out of range for rank 4".into())),
        };
        assert!(!named.is_alloc());
    }
}
