//! The error type of the passes and the memory planner.

use nnc_tensor::TensorError;
use std::fmt;

/// Why a pass, the pipeline or the memory planner failed. Every variant is an
/// internal error (the elaborator's graphs are verified): the driver reports
/// it as such.
#[derive(Clone, Debug, PartialEq)]
pub enum PassError {
    /// The graph has a cycle.
    Cycle,
    /// A weight a pass needs is missing or does not fit its op.
    Weight(String),
    /// A tensor or the arena is too large to address.
    TooLarge(String),
    /// A pass failed (its name and its error).
    InPass {
        pass: &'static str,
        error: Box<PassError>,
    },
    /// The IR verifier failed after a pass.
    Verify {
        pass: &'static str,
        problems: Vec<String>,
    },
    /// The weight store does not match the graph after a pass.
    Store {
        pass: &'static str,
        problems: Vec<String>,
    },
    /// Simulating a memory plan: the plan does not hold the values.
    Plan(String),
    /// Simulating a memory plan: evaluating a node failed (the node and the
    /// evaluator's message).
    Eval(String),
    /// A tensor could not be made.
    Tensor(TensorError),
}

impl fmt::Display for PassError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PassError::Cycle => f.write_str("the graph has a cycle"),
            PassError::Weight(m)
            | PassError::TooLarge(m)
            | PassError::Plan(m)
            | PassError::Eval(m) => f.write_str(m),
            PassError::InPass { pass, error } => write!(f, "pass {pass}: {error}"),
            PassError::Verify { pass, problems } => write!(
                f,
                "the IR verifier failed after pass {pass}:\n  {}",
                problems.join("\n  ")
            ),
            PassError::Store { pass, problems } => write!(
                f,
                "the weights do not match the graph after pass {pass}:\n  {}",
                problems.join("\n  ")
            ),
            PassError::Tensor(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for PassError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PassError::InPass { error, .. } => Some(error),
            PassError::Tensor(e) => Some(e),
            _ => None,
        }
    }
}

impl From<TensorError> for PassError {
    fn from(e: TensorError) -> PassError {
        PassError::Tensor(e)
    }
}

/// For callers that still report errors as text.
impl From<PassError> for String {
    fn from(e: PassError) -> String {
        e.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_pass() {
        let e = PassError::InPass {
            pass: "fold_batchnorm",
            error: Box::new(PassError::Weight("missing weight `bn.weight`".into())),
        };
        assert_eq!(
            e.to_string(),
            "pass fold_batchnorm: missing weight `bn.weight`"
        );
        assert!(std::error::Error::source(&e).is_some());
        let v = PassError::Verify {
            pass: "fuse",
            problems: vec!["a".into(), "b".into()],
        };
        assert_eq!(
            v.to_string(),
            "the IR verifier failed after pass fuse:\n  a\n  b"
        );
    }
}
