//! ONNX interoperability for nnc.
//!
//! - [`import`]: an ONNX model → readable `.nn` source plus its weights
//!   (`nnc import`, and `.onnx` files given to `check`/`analyze`/`graph`/`build`);
//! - [`export_onnx`]: an elaborated graph → an ONNX model (opset 17);
//! - [`export_torch`]: an elaborated graph → a self-contained PyTorch module.
//!
//! Protobuf messages are prost code generated from the official schema
//! ([`proto`]); no hand-written decoding.

mod attrs;
mod blocks;
mod ctx;
pub mod error;
pub mod export_onnx;
pub mod export_torch;
mod fold;
pub mod import;
mod naming;
mod nested;
mod ops;
pub mod proto;
mod reshape;
pub mod tensor;

pub use error::Error;
pub use import::{
    import_bytes, import_bytes_with, import_file, import_file_with, Imported, InputShape,
    InputShapeError, Options,
};
