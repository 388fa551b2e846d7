//! The error type of the transformer ops ([`super::eval`] and the op
//! functions of each family).

use crate::tensor::{fmt_shape, TensorError};
use std::fmt;

/// Why a transformer op cannot be evaluated on its operands.
#[derive(Clone, Debug, PartialEq)]
pub enum OpError {
    /// A tensor could not be made (allocation over the limit, ...).
    Tensor(TensorError),
    /// A buffer could not be reserved.
    OutOfMemory,
    /// The op got `got` inputs instead of `expected`.
    Arity { expected: usize, got: usize },
    /// `what` needs an operand of rank at least `min`.
    Rank {
        what: &'static str,
        min: usize,
        shape: Vec<usize>,
    },
    /// An axis attribute beyond the operand's rank.
    AxisOutOfRange { axis: usize, rank: usize },
    /// The weights given do not fit the op (count or shape), with the
    /// message saying which.
    Weights(String),
    /// The operands' or attributes' shapes do not fit the op, with the
    /// message saying how.
    Shape(String),
    /// An index attribute outside its axis.
    Index {
        index: usize,
        axis: usize,
        len: usize,
    },
    /// A size computation overflowed (`what` names the op).
    SizeOverflow { what: &'static str },
    /// The op is not one of the transformer ops.
    NotTransformerOp(&'static str),
}

impl OpError {
    /// An allocation over the limit or beyond the available memory.
    pub fn is_alloc(&self) -> bool {
        matches!(self, OpError::Tensor(e) if e.is_alloc())
    }

    /// A shape error with its message.
    pub(crate) fn shape(m: impl Into<String>) -> OpError {
        OpError::Shape(m.into())
    }
}

impl fmt::Display for OpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpError::Tensor(e) => e.fmt(f),
            OpError::OutOfMemory => f.write_str("out of memory"),
            OpError::Arity { expected, got } => {
                write!(f, "expected {expected} input(s), got {got}")
            }
            OpError::Rank { what, min, shape } => write!(
                f,
                "{what} needs a tensor of rank >= {min}, got {}",
                fmt_shape(shape)
            ),
            OpError::AxisOutOfRange { axis, rank } => {
                write!(f, "axis {axis} out of range for rank {rank}")
            }
            OpError::Weights(m) | OpError::Shape(m) => f.write_str(m),
            OpError::Index { index, axis, len } => {
                write!(f, "take: index {index} outside axis {axis} of size {len}")
            }
            OpError::SizeOverflow { what } => write!(f, "{what}: size overflows"),
            OpError::NotTransformerOp(name) => write!(f, "`{name}` is not a transformer op"),
        }
    }
}

impl std::error::Error for OpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OpError::Tensor(e) => Some(e),
            _ => None,
        }
    }
}

impl From<TensorError> for OpError {
    fn from(e: TensorError) -> OpError {
        OpError::Tensor(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::Tensor;

    #[test]
    fn messages_are_the_former_texts() {
        let x = Tensor::zeros(vec![2, 3]).unwrap();
        let e = super::super::layout::select(&x, 2, 0).unwrap_err();
        assert_eq!(e, OpError::AxisOutOfRange { axis: 2, rank: 2 });
        assert_eq!(e.to_string(), "axis 2 out of range for rank 2");
        let e = super::super::matmul::matmul(&x, &x).unwrap_err();
        assert_eq!(
            e.to_string(),
            "matmul of [2, 3] and [2, 3]: inner sizes differ"
        );
        let e = super::super::layout::take(&x, 1, &[3], &[1]).unwrap_err();
        assert_eq!(e.to_string(), "take: index 3 outside axis 1 of size 3");
        let v = Tensor::zeros(vec![3]).unwrap();
        let e = super::super::matmul::matmul(&v, &x).unwrap_err();
        assert_eq!(e.to_string(), "matmul needs a tensor of rank >= 2, got [3]");
        assert!(!e.is_alloc());
    }
}
