//! Shape inference for every op, with PyTorch's output-size rules.
//! Checked arithmetic throughout: an absurd size is an error, never a panic.

use crate::op::Op;

/// Why an op cannot take the given input shapes. The elaborator turns this
/// into a coded diagnostic at the call site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShapeError {
    pub message: String,
    pub help: Option<String>,
}

/// The output shape of `op` applied to inputs of these shapes.
pub fn infer(op: &Op, inputs: &[&[usize]]) -> Result<Vec<usize>, ShapeError> {
    let _ = (op, inputs);
    Err(ShapeError {
        message: "shape inference not implemented yet".into(),
        help: None,
    })
}
