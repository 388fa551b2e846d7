//! nnc-interp: the reference interpreter of the graph IR.
//!
//! The tensor type, the weights and `.npy` files are `nnc-tensor`'s,
//! re-exported here ([`tensor`], [`weights`], [`npy`]) for the interpreter's
//! users.
//!
//! - [`eval`]: the interpreter itself ([`run`], [`run_all`]), with its
//!   error type [`EvalError`] ([`eval_error`]) (graphs for tests are built
//!   with [`nnc_ir::GraphBuilder`]);
//! - [`fixture`]: reading the numeric fixtures of `tests/fixtures/`.

pub mod eval;
pub mod eval_error;
pub mod fixture;
pub mod ops;
pub use nnc_tensor::{npy, tensor, weights};

pub use eval::{run, run_all};
pub use eval_error::EvalError;
pub use tensor::Tensor;
pub use weights::{init_deterministic, load_safetensors, save_safetensors, WeightStore};
