//! Constant folding of the shape-computation subgraphs exporters emit
//! (`Shape → Gather → Unsqueeze → Concat → Reshape` and friends): a node all
//! of whose inputs are constants (or, for `Shape`, a tensor of known static
//! shape) is evaluated here and becomes a constant itself.

use crate::attrs::NodeRef;
use crate::error::Error;
use crate::tensor::{Const, Data};

/// An input of a node as the folder sees it.
pub enum In<'a> {
    Const(&'a Const),
    /// A runtime tensor of this static shape.
    Tensor(&'a [usize]),
    Missing,
}

const MAX_FOLD_ELEMENTS: usize = 1 << 24;

/// Evaluates the node if it is a foldable op whose inputs are constant.
/// `Ok(None)`: not foldable (the node is translated to an nnc op instead).
pub fn fold(n: &NodeRef, inputs: &[In]) -> Result<Option<Vec<Const>>, Error> {
    let c = |i: usize| match inputs.get(i) {
        Some(In::Const(c)) => Some(*c),
        _ => None,
    };
    let all_const = inputs
        .iter()
        .all(|i| matches!(i, In::Const(_) | In::Missing));
    let one = |x: Const| Ok(Some(vec![x]));
    match n.op() {
        "Constant" => {
            if let Some(a) = n.attr("value") {
                if let Some(t) = &a.t {
                    return one(crate::tensor::decode(t, None)?);
                }
            }
            if let Some(a) = n.attr("value_ints") {
                return one(Const::i64s(vec![a.ints.len()], a.ints.clone()));
            }
            if let Some(a) = n.attr("value_int") {
                return one(Const::i64s(vec![], vec![a.i.unwrap_or(0)]));
            }
            if let Some(a) = n.attr("value_float") {
                return one(Const {
                    dims: vec![],
                    data: Data::F32(vec![a.f.unwrap_or(0.0)]),
                });
            }
            if let Some(a) = n.attr("value_floats") {
                return one(Const {
                    dims: vec![a.floats.len()],
                    data: Data::F32(a.floats.clone()),
                });
            }
            Err(n.unsupported("a Constant without a tensor, int or float value"))
        }
        "Shape" => {
            let dims: Vec<i64> = match inputs.first() {
                Some(In::Tensor(s)) => s.iter().map(|&d| d as i64).collect(),
                Some(In::Const(c)) => c.dims.iter().map(|&d| d as i64).collect(),
                _ => return Ok(None),
            };
            let r = dims.len() as i64;
            let norm = |v: i64| if v < 0 { (v + r).max(0) } else { v.min(r) } as usize;
            let s = norm(n.int("start", 0));
            let e = norm(n.int("end", r));
            let v = if s < e { dims[s..e].to_vec() } else { vec![] };
            one(Const::i64s(vec![v.len()], v))
        }
        "Size" => match inputs.first() {
            Some(In::Tensor(s)) => one(Const::i64s(
                vec![],
                vec![s.iter().product::<usize>() as i64],
            )),
            _ => Ok(None),
        },
        _ if !all_const || inputs.is_empty() => Ok(None),
        "Identity" | "Cast" => {
            let x = c(0).unwrap().clone();
            if n.op() == "Cast" {
                let to = n.int("to", 1) as i32;
                return one(match to {
                    crate::tensor::dtype::FLOAT | crate::tensor::dtype::DOUBLE => Const {
                        data: Data::F32(x.as_f32()),
                        dims: x.dims,
                    },
                    _ => Const {
                        data: Data::I64(x.as_i64()),
                        dims: x.dims,
                    },
                });
            }
            one(x)
        }
        "Unsqueeze" | "Squeeze" => {
            let x = c(0).unwrap();
            let axes = match c(1) {
                Some(a) => Some(a.as_i64()),
                None => n.ints("axes"),
            };
            let mut dims = x.dims.clone();
            if n.op() == "Unsqueeze" {
                let axes = axes.ok_or_else(|| n.unsupported("Unsqueeze without axes"))?;
                let out_rank = (dims.len() + axes.len()) as i64;
                let mut ax: Vec<usize> = axes
                    .iter()
                    .map(|&a| if a < 0 { a + out_rank } else { a })
                    .filter(|&a| a >= 0 && a < out_rank)
                    .map(|a| a as usize)
                    .collect();
                ax.sort_unstable();
                for a in ax {
                    dims.insert(a.min(dims.len()), 1);
                }
            } else {
                let r = dims.len() as i64;
                match axes {
                    None => dims.retain(|&d| d != 1),
                    Some(axes) => {
                        let ax: Vec<usize> = axes
                            .iter()
                            .map(|&a| (if a < 0 { a + r } else { a }) as usize)
                            .collect();
                        dims = dims
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| !ax.contains(i))
                            .map(|(_, &d)| d)
                            .collect();
                    }
                }
            }
            one(Const {
                dims,
                data: x.data.clone(),
            })
        }
        "Concat" => {
            // only rank-1 (and scalars) — the shape vectors
            let parts: Vec<&Const> = (0..inputs.len()).filter_map(c).collect();
            if parts.iter().any(|p| p.dims.len() > 1) {
                return Ok(None);
            }
            if parts.iter().all(|p| p.is_float()) {
                let v: Vec<f32> = parts.iter().flat_map(|p| p.as_f32()).collect();
                return one(Const {
                    dims: vec![v.len()],
                    data: Data::F32(v),
                });
            }
            let v: Vec<i64> = parts.iter().flat_map(|p| p.as_i64()).collect();
            one(Const::i64s(vec![v.len()], v))
        }
        "Gather" => {
            let x = c(0).unwrap();
            let idx = c(1).ok_or_else(|| n.unsupported("Gather without indices"))?;
            if x.dims.len() != 1 || n.int("axis", 0) != 0 {
                return Ok(None);
            }
            let xv = x.as_i64();
            let len = xv.len() as i64;
            let mut out = Vec::new();
            for &i in &idx.as_i64() {
                let j = if i < 0 { i + len } else { i };
                if j < 0 || j >= len {
                    return Err(
                        n.unsupported(format!("Gather index {i} out of range for {len} elements"))
                    );
                }
                out.push(xv[j as usize]);
            }
            let out = if x.is_float() {
                Const {
                    dims: idx.dims.clone(),
                    data: Data::F32(out.iter().map(|&v| v as f32).collect()),
                }
            } else {
                Const::i64s(idx.dims.clone(), out)
            };
            one(out)
        }
        "Slice" => {
            let x = c(0).unwrap();
            if x.dims.len() != 1 {
                return Ok(None);
            }
            let starts = c(1).map(|s| s.as_i64()).unwrap_or_default();
            let ends = c(2).map(|s| s.as_i64()).unwrap_or_default();
            let steps = c(4).map(|s| s.as_i64()).unwrap_or_else(|| vec![1]);
            if starts.len() != 1 || ends.len() != 1 || steps != [1] {
                return Ok(None);
            }
            let len = x.len() as i64;
            let cl = |v: i64| (if v < 0 { v + len } else { v }).clamp(0, len) as usize;
            let (s, e) = (cl(starts[0]), cl(ends[0]));
            let v: Vec<i64> = if s < e {
                x.as_i64()[s..e].to_vec()
            } else {
                vec![]
            };
            one(Const::i64s(vec![v.len()], v))
        }
        "Add" | "Sub" | "Mul" | "Div" => {
            let (a, b) = (
                c(0).unwrap(),
                c(1).ok_or_else(|| n.unsupported("missing operand"))?,
            );
            if a.len() > MAX_FOLD_ELEMENTS || b.len() > MAX_FOLD_ELEMENTS {
                return Ok(None);
            }
            let (dims, la, lb) = if a.len() == b.len() {
                (a.dims.clone(), a.len(), b.len())
            } else if b.len() == 1 {
                (a.dims.clone(), a.len(), 1)
            } else if a.len() == 1 {
                (b.dims.clone(), 1, b.len())
            } else {
                return Ok(None);
            };
            if la == 0 || lb == 0 {
                // an empty operand (broadcast against a scalar): not a shape
                // computation nnc folds
                return Ok(None);
            }
            let n_out = la.max(lb);
            if a.is_float() || b.is_float() {
                let (av, bv) = (a.as_f32(), b.as_f32());
                let v = (0..n_out)
                    .map(|i| {
                        let (x, y) = (av[i % la], bv[i % lb]);
                        match n.op() {
                            "Add" => x + y,
                            "Sub" => x - y,
                            "Mul" => x * y,
                            _ => x / y,
                        }
                    })
                    .collect();
                return one(Const {
                    dims,
                    data: Data::F32(v),
                });
            }
            let (av, bv) = (a.as_i64(), b.as_i64());
            let mut v = Vec::with_capacity(n_out);
            for i in 0..n_out {
                let (x, y) = (av[i % la], bv[i % lb]);
                let r = match n.op() {
                    "Add" => x.checked_add(y),
                    "Sub" => x.checked_sub(y),
                    "Mul" => x.checked_mul(y),
                    _ => x.checked_div(y).map(|q| {
                        if (x % y != 0) && ((x < 0) != (y < 0)) {
                            q - 1
                        } else {
                            q
                        }
                    }),
                };
                v.push(r.ok_or_else(|| {
                    n.unsupported("integer overflow or division by zero in a shape computation")
                })?);
            }
            one(Const::i64s(dims, v))
        }
        "Reshape" => {
            let x = c(0).unwrap();
            let shape = c(1).ok_or_else(|| n.unsupported("Reshape without a shape"))?;
            let dims =
                crate::reshape::resolve(&x.dims, &shape.as_i64(), n.int("allowzero", 0) != 0)
                    .map_err(|e| n.unsupported(e))?;
            one(Const {
                dims,
                data: x.data.clone(),
            })
        }
        "Transpose" => {
            let x = c(0).unwrap();
            let r = x.dims.len();
            let perm: Vec<usize> = match n.ints("perm") {
                Some(p) => p.iter().map(|&a| a.max(0) as usize).collect(),
                None => (0..r).rev().collect(),
            };
            let mut seen = vec![false; r];
            if perm.len() != r
                || perm
                    .iter()
                    .any(|&a| a >= r || std::mem::replace(&mut seen[a], true))
            {
                return Err(n.unsupported(format!("perm {perm:?} of a rank-{r} tensor")));
            }
            if x.len() > MAX_FOLD_ELEMENTS {
                return Ok(None);
            }
            let dims: Vec<usize> = perm.iter().map(|&a| x.dims[a]).collect();
            let mut strides = vec![1usize; r];
            for a in (0..r.saturating_sub(1)).rev() {
                strides[a] = strides[a + 1] * x.dims[a + 1];
            }
            // the source offset of each output element, in output order
            let mut src = Vec::with_capacity(x.len());
            let mut idx = vec![0usize; r];
            for _ in 0..x.len() {
                src.push(
                    idx.iter()
                        .zip(&perm)
                        .map(|(&i, &a)| i * strides[a])
                        .sum::<usize>(),
                );
                for a in (0..r).rev() {
                    idx[a] += 1;
                    if idx[a] < dims[a] {
                        break;
                    }
                    idx[a] = 0;
                }
            }
            let data = match &x.data {
                Data::F32(v) => Data::F32(src.iter().map(|&i| v[i]).collect()),
                Data::I64(v) => Data::I64(src.iter().map(|&i| v[i]).collect()),
            };
            one(Const { dims, data })
        }
        // `Equal` and `Where` of integer constants: torch's export of
        // `t.expand(n, -1, -1)` computes the shape as
        // `Where(Equal(shape, -1), 1, shape)`. Booleans are ints 0 and 1;
        // operands of equal length or of one element.
        "Equal" => {
            let (a, b) = (
                c(0).unwrap(),
                c(1).ok_or_else(|| n.unsupported("missing operand"))?,
            );
            if a.is_float() || b.is_float() {
                return Ok(None);
            }
            let Some((dims, len)) = broadcast_flat(&[a, b]) else {
                return Ok(None);
            };
            let (av, bv) = (a.as_i64(), b.as_i64());
            let v = (0..len)
                .map(|i| i64::from(av[i % av.len()] == bv[i % bv.len()]))
                .collect();
            one(Const::i64s(dims, v))
        }
        "Where" => {
            let (cond, x, y) = match (c(0), c(1), c(2)) {
                (Some(a), Some(b), Some(d)) => (a, b, d),
                _ => return Err(n.unsupported("Where needs three operands")),
            };
            if cond.is_float() || x.is_float() != y.is_float() {
                return Ok(None);
            }
            let Some((dims, len)) = broadcast_flat(&[cond, x, y]) else {
                return Ok(None);
            };
            let cv = cond.as_i64();
            let pick = |i: usize| cv[i % cv.len()] != 0;
            if x.is_float() {
                let (xv, yv) = (x.as_f32(), y.as_f32());
                let v = (0..len)
                    .map(|i| {
                        if pick(i) {
                            xv[i % xv.len()]
                        } else {
                            yv[i % yv.len()]
                        }
                    })
                    .collect();
                return one(Const {
                    dims,
                    data: Data::F32(v),
                });
            }
            let (xv, yv) = (x.as_i64(), y.as_i64());
            let v = (0..len)
                .map(|i| {
                    if pick(i) {
                        xv[i % xv.len()]
                    } else {
                        yv[i % yv.len()]
                    }
                })
                .collect();
            one(Const::i64s(dims, v))
        }
        "ConstantOfShape" => {
            let shape = c(0).unwrap().as_i64();
            let dims: Vec<usize> = shape.iter().map(|&d| d.max(0) as usize).collect();
            let count: usize = dims.iter().product();
            if count > MAX_FOLD_ELEMENTS {
                return Ok(None);
            }
            let value = match n.attr("value").and_then(|a| a.t.as_ref()) {
                Some(t) => crate::tensor::decode(t, None)?,
                None => Const {
                    dims: vec![1],
                    data: Data::F32(vec![0.0]),
                },
            };
            one(match value.data {
                Data::F32(v) => Const {
                    dims,
                    data: Data::F32(vec![v.first().copied().unwrap_or(0.0); count]),
                },
                Data::I64(v) => Const::i64s(dims, vec![v.first().copied().unwrap_or(0); count]),
            })
        }
        _ => Ok(None),
    }
}

/// The shape and length of an element-wise result over operands that all
/// have the same length or one element (the broadcasts shape computations
/// use); None for anything else, an empty operand or too many elements.
fn broadcast_flat(ops: &[&Const]) -> Option<(Vec<usize>, usize)> {
    let big = ops.iter().max_by_key(|c| c.len())?;
    let len = big.len();
    if len == 0 || len > MAX_FOLD_ELEMENTS || ops.iter().any(|c| c.len() != len && c.len() != 1) {
        return None;
    }
    Some((big.dims.clone(), len))
}
