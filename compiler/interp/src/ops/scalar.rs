//! Scalar arithmetic `x * mul + add` in f32 (as PyTorch computes
//! `x * 0.125` or `x + 1.0` on a float32 tensor).

use super::OpError;
use crate::tensor::Tensor;

pub fn affine(x: &Tensor, mul: f32, add: f32) -> Result<Tensor, OpError> {
    let mut y = x.try_clone()?;
    for v in y.data_mut() {
        // one rounding per operation written, like PyTorch's separate ops
        let p = if mul == 1.0 { *v } else { *v * mul };
        *v = if add == 0.0 { p } else { p + add };
    }
    Ok(y)
}
