//! The interpreter's transformer ops (issue #10): plain loops with
//! PyTorch's semantics, sums accumulated in f64 like the rest of the
//! interpreter. One file per family:
//!
//! - [`layout`]: reshape, permute, slice, select, roll, expand, take (data
//!   movement);
//! - [`matmul`]: batched matmul with broadcasting;
//! - [`norm`]: layernorm over the last axes or channels-first;
//! - [`attention`]: multi-head self-attention;
//! - [`scalar`]: `x * mul + add`.

pub mod attention;
pub mod error;
pub mod layout;
pub mod matmul;
pub mod norm;
pub mod scalar;

pub use error::OpError;

use crate::tensor::{fmt_shape, Tensor};

/// The tensor's shape and data after checking `rank >= min`.
pub(crate) fn at_least(x: &Tensor, min: usize, what: &'static str) -> Result<(), OpError> {
    if x.shape().len() < min {
        return Err(OpError::Rank {
            what,
            min,
            shape: x.shape().to_vec(),
        });
    }
    Ok(())
}

fn arity(args: &[&Tensor], n: usize) -> Result<(), OpError> {
    if args.len() != n {
        return Err(OpError::Arity {
            expected: n,
            got: args.len(),
        });
    }
    Ok(())
}

/// Evaluates a transformer op on its arguments and weights (in
/// `weight_specs` order).
pub fn eval(op: &nnc_ir::Op, args: &[&Tensor], ws: &[&Tensor]) -> Result<Tensor, OpError> {
    use nnc_ir::Op;
    match op {
        Op::LayerNorm { axes, eps } => {
            arity(args, 1)?;
            match ws {
                [w, b] => norm::layernorm(args[0], *axes, *eps, w, b),
                _ => Err(OpError::Weights(
                    "layernorm needs a weight and a bias".into(),
                )),
            }
        }
        Op::Reshape { shape } => {
            arity(args, 1)?;
            layout::reshape(args[0], shape)
        }
        Op::Permute { perm } => {
            arity(args, 1)?;
            layout::permute(args[0], perm)
        }
        Op::Slice {
            axis,
            start,
            stop,
            step,
        } => {
            arity(args, 1)?;
            layout::slice(args[0], *axis, *start, *stop, *step)
        }
        Op::Select { axis, index } => {
            arity(args, 1)?;
            layout::select(args[0], *axis, *index)
        }
        Op::Roll { axis, shift } => {
            arity(args, 1)?;
            layout::roll(args[0], *axis, *shift)
        }
        Op::Expand { shape } => {
            arity(args, 1)?;
            layout::expand(args[0], shape)
        }
        Op::Take {
            axis,
            indices,
            index_shape,
        } => {
            arity(args, 1)?;
            layout::take(args[0], *axis, indices, index_shape)
        }
        Op::Constant { shape, values } => {
            arity(args, 0)?;
            Ok(Tensor::new(shape.clone(), values.to_vec())?)
        }
        Op::MatMul => {
            arity(args, 2)?;
            matmul::matmul(args[0], args[1])
        }
        Op::Param { shape } => {
            arity(args, 0)?;
            match ws {
                [w] if w.shape() == shape.as_slice() => Ok(w.try_clone()?),
                _ => Err(OpError::Weights(format!(
                    "param needs one weight of shape {}",
                    fmt_shape(shape)
                ))),
            }
        }
        Op::Affine { mul, add } => {
            arity(args, 1)?;
            scalar::affine(args[0], *mul, *add)
        }
        Op::Attention { heads, bias } => {
            arity(args, 1)?;
            attention::attention(args[0], *heads, ws, *bias)
        }
        other => Err(OpError::NotTransformerOp(other.name())),
    }
}

/// Applies a 2-D `[rows, F]` linear to an input of any rank >= 2 by
/// folding the leading axes into rows.
pub fn linear_nd<E: From<OpError>>(
    x: &Tensor,
    f2d: impl FnOnce(&Tensor) -> Result<Tensor, E>,
) -> Result<Tensor, E> {
    at_least(x, 2, "linear")?;
    let s = x.shape();
    if s.len() == 2 {
        return f2d(x);
    }
    let f = s[s.len() - 1];
    let rows = s[..s.len() - 1].iter().product();
    let folded = x
        .try_clone()
        .and_then(|x| x.reshape(vec![rows, f]))
        .map_err(OpError::from)?;
    let y = f2d(&folded)?;
    let out = y.shape()[1];
    let mut shape = s.to_vec();
    *shape.last_mut().unwrap_or(&mut 0) = out;
    Ok(y.reshape(shape).map_err(OpError::from)?)
}
