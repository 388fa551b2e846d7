//! ONNX `Reshape` target-shape resolution (`0` copies a dimension unless
//! `allowzero`, `-1` is inferred).

use std::fmt;

/// Why a `Reshape` target cannot be resolved against its input's shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReshapeError {
    /// The element count of the input or the target overflows.
    TooManyElements { target: Vec<i64> },
    /// A `0` at `dim` copies a dimension the input does not have.
    MissingDim {
        target: Vec<i64>,
        dim: usize,
        input: Vec<usize>,
    },
    /// A negative entry other than one `-1`.
    Invalid { target: Vec<i64> },
    /// `-1` cannot be inferred: the known dimensions do not divide the input.
    Indivisible { input: Vec<usize>, target: Vec<i64> },
    /// The target's element count differs from the input's (`total`).
    Count {
        input: Vec<usize>,
        total: usize,
        target: Vec<i64>,
    },
}

impl fmt::Display for ReshapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReshapeError::TooManyElements { target } => {
                write!(f, "reshape target {target:?} has too many elements")
            }
            ReshapeError::MissingDim { target, dim, input } => write!(
                f,
                "reshape target {target:?}: dimension {dim} copies a dimension the input {input:?} does not have"
            ),
            ReshapeError::Invalid { target } => write!(f, "reshape target {target:?} is invalid"),
            ReshapeError::Indivisible { input, target } => {
                write!(f, "cannot reshape {input:?} to {target:?}")
            }
            ReshapeError::Count {
                input,
                total,
                target,
            } => write!(
                f,
                "cannot reshape {input:?} ({total} elements) to {target:?}"
            ),
        }
    }
}

impl std::error::Error for ReshapeError {}

pub fn resolve(
    input: &[usize],
    target: &[i64],
    allowzero: bool,
) -> Result<Vec<usize>, ReshapeError> {
    let product = |v: &[usize]| {
        v.iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or_else(|| ReshapeError::TooManyElements {
                target: target.to_vec(),
            })
    };
    let invalid = || ReshapeError::Invalid {
        target: target.to_vec(),
    };
    let total = product(input)?;
    let mut out = Vec::with_capacity(target.len());
    let mut infer = None;
    for (i, &t) in target.iter().enumerate() {
        match t {
            -1 if infer.is_none() => {
                infer = Some(i);
                out.push(1);
            }
            0 if !allowzero => out.push(*input.get(i).ok_or_else(|| ReshapeError::MissingDim {
                target: target.to_vec(),
                dim: i,
                input: input.to_vec(),
            })?),
            t if t >= 0 => out.push(usize::try_from(t).map_err(|_| invalid())?),
            _ => return Err(invalid()),
        }
    }
    let known = product(&out)?;
    if let Some(i) = infer {
        if known == 0 || !total.is_multiple_of(known) {
            return Err(ReshapeError::Indivisible {
                input: input.to_vec(),
                target: target.to_vec(),
            });
        }
        out[i] = total / known;
    } else if known != total {
        return Err(ReshapeError::Count {
            input: input.to_vec(),
            total,
            target: target.to_vec(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::resolve;

    #[test]
    fn zero_copies_and_minus_one_infers() {
        assert_eq!(resolve(&[1, 8, 4, 4], &[0, -1], false), Ok(vec![1, 128]));
        assert_eq!(
            resolve(&[1, 8, 4, 4], &[1, 2, 4, 4, 4], false),
            Ok(vec![1, 2, 4, 4, 4])
        );
        assert!(resolve(&[1, 8, 4, 4], &[3, -1], false).is_err());
        assert!(resolve(&[1, 8], &[-1, -1], false).is_err());
        assert!(resolve(&[2, 3], &[0, 0, 0], false).is_err());
        // fuzz: a target whose product overflows is an error, not a panic
        assert!(resolve(&[1, 8], &[1 << 40, 1 << 40, -1], false).is_err());
    }
}
