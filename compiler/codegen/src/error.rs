//! The error type of codegen's public API: [`CodegenError`].

use nnc_passes::PassError;
use nnc_tensor::TensorError;
use std::fmt;
use std::path::PathBuf;

/// Why compiling a graph failed. `UnknownCpu` and `Io` are the user's to
/// fix; the others are internal errors (the graph was verified).
#[derive(Debug, PartialEq)]
pub enum CodegenError {
    /// `--target-cpu` names no CPU LLVM knows (the message suggests one).
    UnknownCpu(String),
    /// A file or directory could not be created, written or resolved.
    Io { path: PathBuf, message: String },
    /// The graph passes or the memory planner failed.
    Passes(PassError),
    /// The memory plan checker found problems.
    MemoryPlan(Vec<String>),
    /// Planning the kernels (graph → steps) failed.
    Plan(PlanError),
    /// A tensor (zero weights) could not be made.
    Tensor(TensorError),
    /// LLVM failed: target machine, module building, optimization, emission.
    Llvm(String),
}

impl fmt::Display for CodegenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodegenError::UnknownCpu(m) | CodegenError::Llvm(m) => f.write_str(m),
            CodegenError::Plan(e) => e.fmt(f),
            CodegenError::Io { path, message } => write!(f, "{}: {message}", path.display()),
            CodegenError::Passes(e) => e.fmt(f),
            CodegenError::MemoryPlan(p) => f.write_str(&p.join("; ")),
            CodegenError::Tensor(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for CodegenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CodegenError::Passes(e) => Some(e),
            CodegenError::Tensor(e) => Some(e),
            CodegenError::Plan(e) => Some(e),
            _ => None,
        }
    }
}

impl From<PassError> for CodegenError {
    fn from(e: PassError) -> CodegenError {
        CodegenError::Passes(e)
    }
}

impl From<PlanError> for CodegenError {
    fn from(e: PlanError) -> CodegenError {
        CodegenError::Plan(e)
    }
}

impl From<TensorError> for CodegenError {
    fn from(e: TensorError) -> CodegenError {
        CodegenError::Tensor(e)
    }
}

/// Why the graph could not be planned into kernel steps ([`crate::plan`],
/// [`crate::lower`] and the kernels' planners). The graph was verified, so
/// every one of these is an internal error or a case the kernels do not
/// support.
#[derive(Clone, Debug, PartialEq)]
pub enum PlanError {
    /// A tensor's element count overflows `u64`.
    SizeOverflow,
    /// A tensor's byte size does not fit the arena.
    TooLarge,
    /// The weight store has no tensor `key`.
    MissingWeight { key: String },
    /// The weight `key` has `found` elements instead of `expected`.
    WeightSize {
        key: String,
        found: usize,
        expected: u64,
    },
    /// The graph is not as the planner expects (an input not declared, a
    /// value used before it is defined, no arena offset, ...).
    Graph(String),
    /// A shape, axis or op the kernels do not support.
    Unsupported(String),
    /// A kernel planner or weight packer failed.
    Kernel(crate::kernels::gemm::KernelError),
    /// The error of one node, with the node's name.
    Node { name: String, error: Box<PlanError> },
}

/// The element count of a tensor of shape `s`, or
/// [`PlanError::SizeOverflow`] (for the planners of `plan` and `lower`).
pub(crate) fn numel(s: &[usize]) -> Result<u64, PlanError> {
    s.iter()
        .try_fold(1u64, |a, &d| a.checked_mul(d as u64))
        .ok_or(PlanError::SizeOverflow)
}

impl PlanError {
    /// An [`PlanError::Unsupported`] case with its message.
    pub fn unsupported(m: impl Into<String>) -> PlanError {
        PlanError::Unsupported(m.into())
    }

    /// A graph error with its message.
    pub fn graph(m: impl Into<String>) -> PlanError {
        PlanError::Graph(m.into())
    }

    /// `error` at the node `name` (`name: error`).
    pub fn at(name: &str, error: impl Into<PlanError>) -> PlanError {
        PlanError::Node {
            name: name.to_string(),
            error: Box::new(error.into()),
        }
    }
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanError::SizeOverflow => f.write_str("tensor size overflows"),
            PlanError::TooLarge => f.write_str("tensor too large"),
            PlanError::MissingWeight { key } => write!(f, "missing weight `{key}`"),
            PlanError::WeightSize {
                key,
                found,
                expected,
            } => write!(
                f,
                "weight `{key}` has {found} elements, expected {expected}"
            ),
            PlanError::Graph(m) | PlanError::Unsupported(m) => f.write_str(m),
            // the packers' messages, without `kernel emission: `
            PlanError::Kernel(e) => f.write_str(&e.message),
            PlanError::Node { name, error } => write!(f, "{name}: {error}"),
        }
    }
}

impl std::error::Error for PlanError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PlanError::Kernel(e) => Some(e),
            PlanError::Node { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// The message of an unsupported case (so that `PlanError::at(name, "...")`
/// reads as the former `format!("{name}: ...")`).
impl From<String> for PlanError {
    fn from(m: String) -> PlanError {
        PlanError::Unsupported(m)
    }
}

impl From<&str> for PlanError {
    fn from(m: &str) -> PlanError {
        PlanError::Unsupported(m.to_string())
    }
}

impl From<crate::kernels::gemm::KernelError> for PlanError {
    fn from(e: crate::kernels::gemm::KernelError) -> PlanError {
        PlanError::Kernel(e)
    }
}

/// For callers that report errors as text.
impl From<CodegenError> for String {
    fn from(e: CodegenError) -> String {
        e.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_an_error_with_sources() {
        let e: CodegenError = PassError::Cycle.into();
        assert_eq!(e.to_string(), "the graph has a cycle");
        let dyn_e: &dyn std::error::Error = &e;
        assert!(dyn_e.source().is_some());
        let io = CodegenError::Io {
            path: PathBuf::from("out/model.o"),
            message: "cannot write: denied".into(),
        };
        assert_eq!(String::from(io), "out/model.o: cannot write: denied");
        assert!(crate::cpu::validate_cpu("zzz")
            .is_err_and(|e| matches!(e, CodegenError::UnknownCpu(_))));
    }
}

#[cfg(test)]
mod plan_error_tests {
    use super::*;

    #[test]
    fn messages_are_the_former_texts() {
        let e = PlanError::at("fc", PlanError::graph("missing input 1"));
        assert_eq!(e.to_string(), "fc: missing input 1");
        let e = PlanError::WeightSize {
            key: "fc.weight".into(),
            found: 3,
            expected: 4,
        };
        assert_eq!(
            e.to_string(),
            "weight `fc.weight` has 3 elements, expected 4"
        );
        let e: CodegenError = PlanError::MissingWeight { key: "w".into() }.into();
        assert_eq!(e.to_string(), "missing weight `w`");
        assert!(std::error::Error::source(&e).is_some());
        let e = crate::kernels::matmul::MatMulPlan::contiguous(&[2], &[3], &[2], 1, 1, 1, false)
            .unwrap_err();
        assert_eq!(e.to_string(), "matmul: batch shapes do not broadcast");
    }
}
