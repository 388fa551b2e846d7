//! Tensors known at compile time: `constant(values)` (a nested list of
//! numbers becomes a tensor of that shape) and `take(x, indices, axis)`
//! (`numpy.take` with compile-time indices, e.g. Swin's relative position
//! bias gathered from its table). Both read a rectangular nested list.

use super::args::ArgV;
use super::builtin::{opt, Slots};
use super::Elab;
use crate::builtins::Builtin;
use crate::codes;
use crate::value::Value;
use nnc_diag::Span;
use nnc_ir::{ConstData, Op};

/// A rectangular nested list flattened: its shape and its leaves in
/// row-major order.
struct Flat<T> {
    shape: Vec<usize>,
    leaves: Vec<T>,
}

/// Why a nested list is not rectangular, for the message.
enum FlatError {
    Empty,
    Ragged {
        depth: usize,
        want: usize,
        got: usize,
    },
    Leaf(&'static str),
    Failed,
}

/// Flattens `v` (a list of lists ... of leaves); `leaf` converts one leaf.
fn flatten<T>(
    v: &Value,
    leaf: &dyn Fn(&Value) -> Result<T, &'static str>,
) -> Result<Flat<T>, FlatError> {
    let mut shape = Vec::new();
    // the shape from the first element at each depth
    let mut cur = v;
    while let Value::List(items) | Value::Tuple(items) = cur {
        if items.is_empty() {
            return Err(FlatError::Empty);
        }
        shape.push(items.len());
        cur = &items[0];
    }
    if shape.is_empty() {
        return Err(match v {
            Value::Error => FlatError::Failed,
            other => FlatError::Leaf(other.kind()),
        });
    }
    let mut leaves = Vec::new();
    walk(v, 0, &shape, leaf, &mut leaves)?;
    Ok(Flat { shape, leaves })
}

fn walk<T>(
    v: &Value,
    depth: usize,
    shape: &[usize],
    leaf: &dyn Fn(&Value) -> Result<T, &'static str>,
    out: &mut Vec<T>,
) -> Result<(), FlatError> {
    match v {
        Value::Error => Err(FlatError::Failed),
        Value::List(items) | Value::Tuple(items) => {
            let want = *shape.get(depth).ok_or(FlatError::Ragged {
                depth,
                want: 0,
                got: items.len(),
            })?;
            if items.len() != want {
                return Err(FlatError::Ragged {
                    depth,
                    want,
                    got: items.len(),
                });
            }
            items
                .iter()
                .try_for_each(|x| walk(x, depth + 1, shape, leaf, out))
        }
        other if depth == shape.len() => {
            out.push(leaf(other).map_err(FlatError::Leaf)?);
            Ok(())
        }
        _ => Err(FlatError::Ragged {
            depth,
            want: shape[depth],
            got: 0,
        }),
    }
}

impl<'a> Elab<'a> {
    /// `take` and `constant` (`None`: an error was reported).
    pub(super) fn const_builtin(
        &mut self,
        b: Builtin,
        span: Span,
        a: &Slots<'a>,
        name: Option<&ArgV<'a>>,
    ) -> Option<Value> {
        let first = opt(a, 0)?;
        match b {
            Builtin::Constant => {
                let flat = self.flat(first, "`constant`", "numbers", &|v| match v {
                    Value::Int(i, ..) => Ok(*i as f64),
                    Value::Float(f) => Ok(*f),
                    other => Err(other.kind()),
                })?;
                let mut values = Vec::with_capacity(flat.leaves.len());
                for v in flat.leaves {
                    let f = v as f32;
                    if !f.is_finite() {
                        self.err(
                            codes::BAD_CONSTANT,
                            first.span,
                            format!("the value {v:e} is not finite in float32"),
                            "not a finite float32",
                        );
                        return None;
                    }
                    values.push(f);
                }
                let op = Op::Constant {
                    shape: flat.shape,
                    values: ConstData::new(values),
                };
                self.make_op(op, &[], span, name).map(Value::Tensor)
            }
            Builtin::Take => {
                let x = self.expect_tensor(&first.value, first.span, "the input of `take`")?;
                let xs = self.graph.node(x).shape.clone();
                let axis = self.axis_or(opt(a, 2), xs.len(), 0, span)?;
                let ia = opt(a, 1)?;
                let flat = self.flat(ia, "`indices`", "ints", &|v| match v {
                    Value::Int(i, ..) => Ok(*i),
                    other => Err(other.kind()),
                })?;
                let size = xs[axis];
                let mut indices = Vec::with_capacity(flat.leaves.len());
                for v in flat.leaves {
                    let i = if v < 0 {
                        v.checked_add(size as i64)
                    } else {
                        Some(v)
                    };
                    match i.filter(|&i| (0..size as i64).contains(&i)) {
                        Some(i) => indices.push(i as usize),
                        None => {
                            self.err(
                                codes::BAD_SLICE,
                                ia.span,
                                format!("index {v} is out of range for axis {axis} of size {size}"),
                                format!("valid indices are {}..{size}", -(size as i64)),
                            );
                            return None;
                        }
                    }
                }
                let op = Op::Take {
                    axis,
                    indices,
                    index_shape: flat.shape,
                };
                self.make_op(op, &[x], span, name).map(Value::Tensor)
            }
            _ => None,
        }
    }

    /// A rectangular nested list of `what_leaf` (`E0190` otherwise).
    fn flat<T>(
        &mut self,
        a: &ArgV<'a>,
        what: &str,
        what_leaf: &str,
        leaf: &dyn Fn(&Value) -> Result<T, &'static str>,
    ) -> Option<Flat<T>> {
        let msg = match flatten(&a.value, leaf) {
            Ok(f) => return Some(f),
            Err(FlatError::Failed) => return None,
            Err(FlatError::Empty) => format!("{what} contains an empty list"),
            Err(FlatError::Leaf(l)) => {
                format!("{what} must be a (nested) list of {what_leaf}: found {l}")
            }
            Err(FlatError::Ragged { depth, want, got }) => format!(
                "{what} is not rectangular: a list at depth {depth} has {got} elements where the first has {want}"
            ),
        };
        self.err(
            codes::BAD_CONSTANT,
            a.span,
            msg,
            format!("expected a rectangular list of {what_leaf}"),
        );
        None
    }
}
