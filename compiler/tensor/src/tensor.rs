//! A dense float32 tensor in C (row-major) order.

use std::fmt;

/// A dense `f32` tensor: `data.len()` always equals the product of `shape`
/// (the empty product is 1, a scalar). Construct it with [`Tensor::new`] or
/// [`Tensor::zeros`], which check that invariant.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    shape: Vec<usize>,
    data: Vec<f32>,
}

/// The element count (None on overflow) and the `[a, b, c]` formatting of
/// a shape: the IR's, so that every stage counts and prints shapes alike.
pub use nnc_ir::shape::{fmt_shape, numel};

/// The most f32 elements one tensor may have in the interpreter (2^31,
/// 8 GiB; the elaborator's tensor limit). Checked before allocating.
pub const MAX_ELEMENTS: usize = 1 << 31;

/// The start of every allocation error's message (E0414).
pub const ALLOC_FAILED: &str = "cannot allocate";

/// Why a tensor could not be made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TensorError {
    /// More elements than [`MAX_ELEMENTS`].
    OverLimit { elements: usize },
    /// The system could not provide the memory.
    OutOfMemory { elements: usize },
    /// The product of the shape overflows.
    Overflow { shape: Vec<usize> },
    /// The data does not have the shape's element count.
    Length { shape: Vec<usize>, got: usize },
    /// Two tensors compared elementwise have different shapes.
    ShapeMismatch {
        shape: Vec<usize>,
        reference: Vec<usize>,
    },
}

impl TensorError {
    /// An allocation over the limit or beyond the available memory: the
    /// drivers report it as E0414.
    pub fn is_alloc(&self) -> bool {
        matches!(
            self,
            TensorError::OverLimit { .. } | TensorError::OutOfMemory { .. }
        )
    }
}

impl fmt::Display for TensorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TensorError::OverLimit { elements } => write!(
                f,
                "{ALLOC_FAILED} a tensor of {elements} elements: over the limit of {MAX_ELEMENTS}"
            ),
            TensorError::OutOfMemory { elements } => write!(
                f,
                "{ALLOC_FAILED} {} MB for a tensor of {elements} elements: out of memory",
                elements.saturating_mul(4).div_ceil(1_000_000)
            ),
            TensorError::Overflow { shape } => {
                write!(f, "shape {} has too many elements", fmt_shape(shape))
            }
            TensorError::Length { shape, got } => write!(
                f,
                "shape {} needs {} elements, got {got}",
                fmt_shape(shape),
                numel(shape).unwrap_or(usize::MAX)
            ),
            TensorError::ShapeMismatch { shape, reference } => write!(
                f,
                "shape {} differs from the reference's {}",
                fmt_shape(shape),
                fmt_shape(reference)
            ),
        }
    }
}

impl std::error::Error for TensorError {}

/// For callers that still report errors as text.
impl From<TensorError> for String {
    fn from(e: TensorError) -> String {
        e.to_string()
    }
}

/// An empty vector with room for `n` elements, or an error (never an abort)
/// when `n` exceeds [`MAX_ELEMENTS`] or the memory is not available.
pub fn try_vec(n: usize) -> Result<Vec<f32>, TensorError> {
    if n > MAX_ELEMENTS {
        return Err(TensorError::OverLimit { elements: n });
    }
    let mut v = Vec::new();
    v.try_reserve_exact(n)
        .map_err(|_| TensorError::OutOfMemory { elements: n })?;
    Ok(v)
}

impl Tensor {
    /// A copy, or an allocation error instead of an abort.
    pub fn try_clone(&self) -> Result<Tensor, TensorError> {
        let mut data = try_vec(self.data.len())?;
        data.extend_from_slice(&self.data);
        Ok(Tensor {
            shape: self.shape.clone(),
            data,
        })
    }

    /// A tensor of this shape holding `data` (C order). Errors when the
    /// element count overflows or does not equal `data.len()`.
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Result<Tensor, TensorError> {
        let Some(n) = numel(&shape) else {
            return Err(TensorError::Overflow { shape });
        };
        if n != data.len() {
            return Err(TensorError::Length {
                shape,
                got: data.len(),
            });
        }
        Ok(Tensor { shape, data })
    }

    /// A tensor of zeros. Errors when the element count overflows.
    pub fn zeros(shape: Vec<usize>) -> Result<Tensor, TensorError> {
        Tensor::filled(shape, 0.0)
    }

    /// A tensor with every element equal to `v`.
    pub fn filled(shape: Vec<usize>, v: f32) -> Result<Tensor, TensorError> {
        let Some(n) = numel(&shape) else {
            return Err(TensorError::Overflow { shape });
        };
        let mut data = try_vec(n)?;
        data.resize(n, v);
        Ok(Tensor { shape, data })
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The elements in C order.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// The elements in C order, mutable (the shape cannot change).
    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// Splits the tensor into its shape and data.
    pub fn into_parts(self) -> (Vec<usize>, Vec<f32>) {
        (self.shape, self.data)
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when the tensor has no element (some dimension is 0).
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The same data under another shape with the same element count.
    pub fn reshape(self, shape: Vec<usize>) -> Result<Tensor, TensorError> {
        Tensor::new(shape, self.data)
    }

    /// C-order strides (in elements) of the shape.
    pub fn strides(&self) -> Vec<usize> {
        strides_of(&self.shape)
    }

    /// The largest absolute value (0 for an empty tensor; NaN propagates).
    pub fn max_abs(&self) -> f32 {
        let mut m = 0.0f32;
        for &v in &self.data {
            if v.is_nan() {
                return f32::NAN;
            }
            m = m.max(v.abs());
        }
        m
    }

    /// max |a - b| / max(max |b|, tiny): the relative error measure of the
    /// fixture and pass tests. Errors when the shapes differ. NaN in either
    /// makes the result NaN unless both are NaN at the same place.
    pub fn rel_max_diff(&self, reference: &Tensor) -> Result<f64, TensorError> {
        if self.shape != reference.shape {
            return Err(TensorError::ShapeMismatch {
                shape: self.shape.clone(),
                reference: reference.shape.clone(),
            });
        }
        let mut d = 0.0f64;
        let mut r = 0.0f64;
        for (&a, &b) in self.data.iter().zip(&reference.data) {
            if a.is_nan() && b.is_nan() {
                continue;
            }
            if a.is_nan() || b.is_nan() {
                return Ok(f64::NAN);
            }
            if a == b {
                r = r.max((b as f64).abs());
                continue;
            }
            d = d.max((a as f64 - b as f64).abs());
            r = r.max((b as f64).abs());
        }
        Ok(d / r.max(1e-30))
    }
}

/// C-order strides (in elements) of a shape.
pub fn strides_of(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1].saturating_mul(shape[i + 1]);
    }
    s
}

impl fmt::Display for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tensor{} ", fmt_shape(&self.shape))?;
        let n = self.data.len().min(8);
        write!(f, "{:?}", &self.data[..n])?;
        if self.data.len() > n {
            write!(f, " ...")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_construction() {
        assert!(Tensor::new(vec![2, 3], vec![0.0; 6]).is_ok());
        let e = Tensor::new(vec![2, 3], vec![0.0; 5])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("[2, 3]") && e.contains('6') && e.contains('5'),
            "{e}"
        );
        let e = Tensor::zeros(vec![usize::MAX, 3]).unwrap_err();
        assert!(matches!(e, TensorError::Overflow { .. }) && !e.is_alloc());
        let e = Tensor::zeros(vec![MAX_ELEMENTS + 1]).unwrap_err();
        assert!(
            e.is_alloc() && e.to_string().starts_with(ALLOC_FAILED),
            "{e}"
        );
        let s = Tensor::new(vec![], vec![1.0]).unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(strides_of(&[2, 3, 4]), vec![12, 4, 1]);
    }

    #[test]
    fn rel_diff() {
        let a = Tensor::new(vec![2], vec![1.0, 2.0]).unwrap();
        let b = Tensor::new(vec![2], vec![1.0, 2.5]).unwrap();
        assert!((a.rel_max_diff(&b).unwrap() - 0.2).abs() < 1e-9);
        let c = Tensor::new(vec![1, 2], vec![1.0, 2.0]).unwrap();
        assert!(a.rel_max_diff(&c).is_err());
    }
}
