//! The kernels' error type, apart from the emitters so that every kernel
//! module (the shared `gemm` base and `vmath` alike) can use it without
//! depending on the other.

use inkwell::builder::BuilderError;

/// Error raised while planning or emitting a kernel (bad shape, overflow, LLVM builder
/// failure). Never a panic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelError {
    /// Human-readable description.
    pub message: String,
}

impl KernelError {
    /// Creates an error from a message.
    pub fn new(message: impl Into<String>) -> Self {
        KernelError {
            message: message.into(),
        }
    }
}

impl std::fmt::Display for KernelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "kernel emission: {}", self.message)
    }
}

impl std::error::Error for KernelError {}

impl From<BuilderError> for KernelError {
    fn from(e: BuilderError) -> Self {
        KernelError::new(format!("LLVM builder error: {e:?}"))
    }
}

/// Result type of the kernel emitters.
pub type KernelResult<T> = Result<T, KernelError>;
