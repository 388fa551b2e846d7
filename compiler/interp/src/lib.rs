//! nnc-interp: the reference interpreter of the graph IR and the weight and
//! tensor file formats around it.
//!
//! - [`tensor`]: a dense f32 tensor with checked construction;
//! - [`weights`]: the [`WeightStore`], safetensors loading with diagnostics,
//!   saving, and the deterministic initialization;
//! - [`npy`]: `.npy` reading and writing (`<f4`, C order only);
//! - [`eval`]: the interpreter itself ([`run`], [`run_all`]);
//! - [`build`]: a graph builder for tests (shapes by evaluation);
//! - [`fixture`]: reading the numeric fixtures of `tests/fixtures/`.

pub mod build;
pub mod eval;
pub mod fixture;
pub mod npy;
pub mod ops;
mod st_header;
pub mod tensor;
pub mod weights;

pub use eval::{run, run_all};
pub use tensor::Tensor;
pub use weights::{init_deterministic, load_safetensors, save_safetensors, WeightStore};
