//! nnc-tensor: the tensor type and the weight and tensor file formats,
//! shared by the interpreter, the passes, codegen and the ONNX interop.
//!
//! - [`tensor`]: a dense f32 tensor with checked construction ([`TensorError`]);
//! - [`weights`]: the [`WeightStore`], safetensors loading with diagnostics,
//!   saving, and the deterministic initialization;
//! - [`npy`]: `.npy` files as tensors, on top of `nnc-npy` (the one `.npy`
//!   reader, also built into the executables' runtime).

pub mod npy;
mod st_header;
pub mod tensor;
pub mod weights;

pub use tensor::{Tensor, TensorError};
pub use weights::{init_deterministic, load_safetensors, save_safetensors, WeightStore};
