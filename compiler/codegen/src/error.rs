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
    Plan(String),
    /// A tensor (zero weights) could not be made.
    Tensor(TensorError),
    /// LLVM failed: target machine, module building, optimization, emission.
    Llvm(String),
}

impl fmt::Display for CodegenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodegenError::UnknownCpu(m) | CodegenError::Plan(m) | CodegenError::Llvm(m) => {
                f.write_str(m)
            }
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
            _ => None,
        }
    }
}

impl From<PassError> for CodegenError {
    fn from(e: PassError) -> CodegenError {
        CodegenError::Passes(e)
    }
}

impl From<TensorError> for CodegenError {
    fn from(e: TensorError) -> CodegenError {
        CodegenError::Tensor(e)
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
