//! Constant folding: a node whose inputs are all known at build time —
//! `param` weights (bound to their values before the passes run) and
//! `constant` tensors — is evaluated once here and becomes a `constant`
//! holding its result, so the executable no longer recomputes it on every
//! run. Swin's relative position bias, `permute(take(table, index), ...)`,
//! is the case in point: a gather and a transposition of a weight become one
//! constant per block.
//!
//! Folded ops: the data movements `take`, `reshape`, `flatten`, `permute`,
//! `slice`, `split`, `select`, `roll`, and the element-wise `+`, `*`
//! (NumPy broadcasting) and scalar `x * mul + add`, each computed in f32 with
//! the same single rounding per operation as the interpreter. Activations,
//! normalizations and reductions are not folded (their results would depend
//! on this pass reproducing each kernel's approximation).
//!
//! A result is folded only if it has at most [`MAX_ELEMENTS`] elements
//! (16 MiB of f32): constants are embedded in the executable, and a fold must
//! not turn a small weight into a huge blob (a broadcast can multiply sizes).
//! The node keeps its id, name, span and block; its inputs that are left
//! without users (and are not outputs) are removed with their weights, so
//! the weight store stays in step with the graph. Weights are still loaded
//! under their own (torchvision) names: the pass runs after loading.

use crate::{PassError, PassStats};
use nnc_ir::op::weight_specs;
use nnc_ir::{BinaryKind, Graph, NodeId, Op};
use nnc_tensor::WeightStore;

/// The largest folded result, in f32 elements (16 MiB).
pub const MAX_ELEMENTS: usize = 4 << 20;

/// Runs the pass.
pub fn run(g: &mut Graph, w: &mut WeightStore) -> Result<PassStats, PassError> {
    let mut stats = PassStats::new("fold_constants");
    let order = g.topo_order().ok_or(PassError::Cycle)?;
    for id in order {
        if !g.contains(id) || !foldable(&g.node(id).op) {
            continue;
        }
        let ins = g.inputs(id);
        if ins.is_empty() || !ins.iter().all(|&i| is_constant(&g.node(i).op)) {
            continue;
        }
        if numel(&g.node(id).shape).is_none_or(|n| n > MAX_ELEMENTS) {
            continue;
        }
        let mut args = Vec::with_capacity(ins.len());
        for &i in &ins {
            args.push(value_of(g, w, i)?);
        }
        let node = g.node(id);
        // The graph is verified, so evaluation does not fail; if it did, the
        // node is left to run as before rather than failing the build.
        let Ok(values) = eval(&node.op, &args, &node.shape) else {
            continue;
        };
        let shape = node.shape.clone();
        g.node_mut(id).op = Op::Constant {
            shape,
            values: nnc_ir::ConstData::new(values),
        };
        g.detach_inputs(id);
        stats.rewrites += 1;
        let mut seen = Vec::new();
        for i in ins {
            if seen.contains(&i) || !g.users(i).is_empty() || g.is_output(i) {
                continue;
            }
            seen.push(i);
            let name = g.node(i).name.clone();
            for spec in weight_specs(&g.node(i).op, &[]) {
                w.remove(&spec.key(&name));
            }
            g.remove_node(i);
            stats.merge(id, i, &name);
            // an input folded earlier in this pass hands over what it
            // absorbed, so the provenance does not depend on id order
            if let Some(sub) = stats.merged.remove(&i) {
                stats.merged.entry(id).or_default().extend(sub);
            }
        }
    }
    Ok(stats)
}

/// Ops with no inputs whose value is known once the weights are loaded.
fn is_constant(op: &Op) -> bool {
    matches!(op, Op::Param { .. } | Op::Constant { .. })
}

/// Ops this pass can evaluate.
fn foldable(op: &Op) -> bool {
    matches!(
        op,
        Op::Take { .. }
            | Op::Reshape { .. }
            | Op::Flatten
            | Op::Permute { .. }
            | Op::Slice { .. }
            | Op::Split { .. }
            | Op::Select { .. }
            | Op::Roll { .. }
            | Op::Binary(_)
            | Op::Affine { .. }
    )
}

/// A constant input: its shape and values (borrowed, not copied: a large
/// weight may feed a small result).
type Value<'a> = (&'a [usize], &'a [f32]);

fn value_of<'a>(g: &'a Graph, w: &'a WeightStore, id: NodeId) -> Result<Value<'a>, PassError> {
    let n = g.node(id);
    match &n.op {
        Op::Constant { shape, values } => Ok((shape.as_slice(), &values[..])),
        Op::Param { shape } => {
            let t = w.get(&n.name).ok_or_else(|| {
                PassError::Weight(format!("fold_constants: missing weight `{}`", n.name))
            })?;
            if t.shape() != shape.as_slice() {
                return Err(PassError::Weight(format!(
                    "fold_constants: weight `{}` has shape {:?}, not {shape:?}",
                    n.name,
                    t.shape()
                )));
            }
            Ok((shape.as_slice(), t.data()))
        }
        _ => Err(PassError::Weight(format!(
            "fold_constants: `{}` is not a constant",
            n.name
        ))),
    }
}

fn numel(s: &[usize]) -> Option<usize> {
    s.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
}

/// Row-major strides of `s`.
fn strides(s: &[usize]) -> Vec<usize> {
    let mut st = vec![1usize; s.len()];
    for i in (0..s.len().saturating_sub(1)).rev() {
        st[i] = st[i + 1].saturating_mul(s[i + 1]);
    }
    st
}

/// Evaluates `op` on constant `args`; the result has shape `out` (the
/// node's verified shape).
fn eval(op: &Op, args: &[Value], out: &[usize]) -> Result<Vec<f32>, String> {
    let n = numel(out).ok_or("result too large")?;
    let one = || -> Result<&Value, String> {
        match args {
            [a] => Ok(a),
            _ => Err(format!("expected one input, got {}", args.len())),
        }
    };
    match op {
        Op::Reshape { .. } | Op::Flatten => {
            let (_, x) = one()?;
            if x.len() != n {
                return Err(format!("{} elements cannot become {n}", x.len()));
            }
            Ok(x.to_vec())
        }
        Op::Affine { mul, add } => {
            let (_, x) = one()?;
            Ok(x.iter()
                .map(|&v| {
                    let p = if *mul == 1.0 { v } else { v * mul };
                    if *add == 0.0 {
                        p
                    } else {
                        p + add
                    }
                })
                .collect())
        }
        Op::Binary(k) => {
            let [(sa, a), (sb, b)] = args else {
                return Err(format!("expected two inputs, got {}", args.len()));
            };
            let (ma, mb) = (bstrides(sa, out)?, bstrides(sb, out)?);
            broadcast2(out, &ma, &mb, |ia, ib| {
                let (x, y) = (*a.get(ia)?, *b.get(ib)?);
                Some(match k {
                    BinaryKind::Add => x + y,
                    BinaryKind::Mul => x * y,
                })
            })
        }
        _ => {
            let (s, x) = one()?;
            source_map(op, s, out)?
                .into_iter()
                .map(|i| {
                    x.get(i)
                        .copied()
                        .ok_or_else(|| "source index out of range".into())
                })
                .collect()
        }
    }
}

/// How an output index of a data movement finds its source element: the
/// source offset is `Σ idx[d]·stride[d] + base`, except for `take` and
/// `roll`, which remap one axis (see [`Source`]).
struct Source {
    /// Per output axis, the source stride.
    strides: Vec<usize>,
    base: usize,
    /// `take`: the output axes `axis..axis + k` of the index shape pick
    /// `indices[flat]`, whose source stride is `stride`.
    take: Option<(usize, Vec<usize>, Vec<usize>, usize)>,
    /// `roll`: output axis, its length and shift (source index
    /// `(o + n - shift) % n`).
    roll: Option<(usize, usize, usize)>,
}

fn source_map(op: &Op, s: &[usize], out: &[usize]) -> Result<Vec<usize>, String> {
    let st = strides(s);
    let src = match op {
        Op::Permute { perm } => {
            if perm.len() != s.len() || perm.iter().any(|&p| p >= s.len()) {
                return Err("bad permutation".into());
            }
            Source {
                strides: perm.iter().map(|&p| st[p]).collect(),
                base: 0,
                take: None,
                roll: None,
            }
        }
        Op::Slice {
            axis, start, step, ..
        } => {
            let mut strides = st.clone();
            let a = *axis;
            if a >= s.len() {
                return Err("bad slice axis".into());
            }
            strides[a] = st[a].saturating_mul(*step);
            Source {
                strides,
                base: start.saturating_mul(st[a]),
                take: None,
                roll: None,
            }
        }
        Op::Split { axis, start, .. } => {
            if *axis >= s.len() {
                return Err("bad split axis".into());
            }
            Source {
                strides: st.clone(),
                base: start.saturating_mul(st[*axis]),
                take: None,
                roll: None,
            }
        }
        Op::Select { axis, index } => {
            if *axis >= s.len() {
                return Err("bad select axis".into());
            }
            let mut strides = st.clone();
            strides.remove(*axis);
            Source {
                strides,
                base: index.saturating_mul(st[*axis]),
                take: None,
                roll: None,
            }
        }
        Op::Roll { axis, shift } => {
            let len = *s.get(*axis).ok_or("bad roll axis")?;
            Source {
                strides: st.clone(),
                base: 0,
                take: None,
                roll: Some((*axis, len, shift % len.max(1))),
            }
        }
        Op::Take {
            axis,
            indices,
            index_shape,
        } => {
            let a = *axis;
            let len = *s.get(a).ok_or("bad take axis")?;
            if indices.iter().any(|&i| i >= len) {
                return Err("take index out of range".into());
            }
            let k = index_shape.len();
            // output axes: s[..a], index_shape, s[a + 1..]
            let mut strides = st[..a].to_vec();
            strides.extend(std::iter::repeat_n(0, k));
            strides.extend_from_slice(&st[a + 1..]);
            Source {
                strides,
                base: 0,
                take: Some((a, index_shape.clone(), indices.clone(), st[a])),
                roll: None,
            }
        }
        other => return Err(format!("`{}` is not folded", other.name())),
    };
    if src.strides.len() != out.len() {
        return Err("rank mismatch".into());
    }
    // The source offset of every output element, in output order.
    let n = numel(out).ok_or("result too large")?;
    let mut offs = Vec::with_capacity(n);
    let mut idx = vec![0usize; out.len()];
    let take_strides = src.take.as_ref().map(|(_, is, _, _)| strides(is));
    for _ in 0..n {
        let mut off = src.base;
        for (d, &i) in idx.iter().enumerate() {
            let i = match src.roll {
                Some((a, len, shift)) if a == d => (i + len - shift) % len,
                _ => i,
            };
            off = off.saturating_add(i.saturating_mul(src.strides[d]));
        }
        if let (Some((a, is, indices, stride)), Some(ts)) = (&src.take, &take_strides) {
            let flat: usize = (0..is.len()).map(|j| idx[a + j] * ts[j]).sum();
            let pick = *indices.get(flat).ok_or("take index shape mismatch")?;
            off = off.saturating_add(pick.saturating_mul(*stride));
        }
        offs.push(off);
        // odometer
        for d in (0..out.len()).rev() {
            idx[d] += 1;
            if idx[d] < out[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    Ok(offs)
}

/// Strides of `s` broadcast to `out` (NumPy rules: 0 on broadcast axes).
fn bstrides(s: &[usize], out: &[usize]) -> Result<Vec<usize>, String> {
    let r = out.len();
    if s.len() > r {
        return Err("operand of higher rank than the result".into());
    }
    let st = strides(s);
    Ok((0..r)
        .map(|i| {
            if i + s.len() < r {
                0
            } else {
                let j = i + s.len() - r;
                if s[j] == 1 && out[i] != 1 {
                    0
                } else {
                    st[j]
                }
            }
        })
        .collect())
}

/// Every output element of a broadcast binary op: `f` gets the offsets of
/// its two operands (`a`, `b`: their broadcast strides).
fn broadcast2(
    out: &[usize],
    a: &[usize],
    b: &[usize],
    f: impl Fn(usize, usize) -> Option<f32>,
) -> Result<Vec<f32>, String> {
    let n = numel(out).ok_or("result too large")?;
    let mut data = Vec::with_capacity(n);
    let mut idx = vec![0usize; out.len()];
    for _ in 0..n {
        let ia: usize = idx.iter().zip(a).map(|(i, s)| i * s).sum();
        let ib: usize = idx.iter().zip(b).map(|(i, s)| i * s).sum();
        data.push(f(ia, ib).ok_or("source index out of range")?);
        for d in (0..out.len()).rev() {
            idx[d] += 1;
            if idx[d] < out[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nnc_tensor::weights::{check_store, init_random};
    use nnc_tensor::Tensor;
    use std::collections::HashMap;

    fn graph(src: &str) -> Graph {
        let (file, diags) = nnc_syntax::parse(src);
        assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
        let el = nnc_elab::elaborate(&file, None);
        assert!(
            el.diagnostics.iter().all(|d| !d.is_error()),
            "{:?}",
            el.diagnostics
        );
        el.graph.expect("graph")
    }

    fn count(g: &Graph, f: impl Fn(&Op) -> bool) -> usize {
        g.node_ids().filter(|&n| f(&g.node(n).op)).count()
    }

    /// Swin's bias in small: `permute(take(table, index), ..)` of a `[9, 2]`
    /// table, plus element-wise work on constants, added to an input.
    const SRC: &str = "network n {
  input x: [2, 4, 4];
  let table = param([9, 2], name = \"table\");
  let bias = permute(take(table, [[0, 1, 3, 4], [1, 2, 4, 5], [3, 4, 6, 7], [4, 5, 7, 8]], axis = 0), [2, 0, 1]);
  let c = constant([[1.0, 2.0, 3.0, 4.0]]);
  let k = reshape(c * 0.5 + 1.0, [1, 1, 4]) + slice(select(roll(bias, 1, axis = 2), axis = 0, index = 1), axis = 0, start = 0, step = 1);
  output o = x + bias + k;
}
";

    #[test]
    fn folds_the_gather_and_keeps_the_outputs() {
        let mut g = graph(SRC);
        let mut w = init_random(&g, 7);
        let x = nnc_tensor::weights::random_tensor(vec![2, 4, 4], 3).unwrap();
        let ins: HashMap<String, Tensor> = [("x".to_string(), x)].into();
        let before = nnc_interp::run(&g, &w, &ins).unwrap();
        assert_eq!(count(&g, |o| matches!(o, Op::Take { .. })), 1);
        let table = w.get("table").unwrap().data().to_vec();
        let rep = crate::pipeline::run_passes(&mut g, &mut w, &[("fold_constants", run)]).unwrap();
        let stats = &rep.stats[0];
        nnc_ir::verify::verify(&g).unwrap();
        assert!(check_store(&g, &w).is_empty());
        // take, permute, `* 0.5` and `+ 1.0` (two affines), reshape, roll,
        // select, slice and the add of two constants: 9 folds; only the two
        // adds of `x` remain as ops.
        assert_eq!(stats.rewrites, 9, "{stats:?}");
        assert_eq!(
            count(&g, |o| matches!(o, Op::Take { .. } | Op::Param { .. })),
            0
        );
        assert_eq!(count(&g, |o| matches!(o, Op::Binary(_))), 2);
        assert!(
            w.get("table").is_none(),
            "the folded table leaves the store"
        );
        let after = nnc_interp::run(&g, &w, &ins).unwrap();
        assert_eq!(before["o"], after["o"], "folding is exact");
        // The folded bias by hand: bias[h][i][j] = table[index[i][j]][h].
        let index = [[0, 1, 3, 4], [1, 2, 4, 5], [3, 4, 6, 7], [4, 5, 7, 8]];
        let bias = g
            .node_ids()
            .find_map(|n| match &g.node(n).op {
                Op::Constant { shape, values } if shape == &[2, 4, 4] => Some(values.to_vec()),
                _ => None,
            })
            .expect("the folded bias");
        // the constant stands for the permute, the take and the table
        let bias_id = g
            .node_ids()
            .find(|&n| matches!(&g.node(n).op, Op::Constant { shape, .. } if shape == &[2, 4, 4]))
            .unwrap();
        assert_eq!(rep.origins[&bias_id], ["permute_0", "take_0", "table"]);
        for h in 0..2 {
            for i in 0..4 {
                for j in 0..4 {
                    assert_eq!(bias[(h * 4 + i) * 4 + j], table[index[i][j] * 2 + h]);
                }
            }
        }
    }

    #[test]
    fn leaves_inputs_and_large_results_alone() {
        let mut g = graph("network n {\n  input x: [4, 3];\n  let t = param([4, 3], name = \"t\");\n  output o = permute(x, [1, 0]) + permute(t, [1, 0]);\n}\n");
        let mut w = init_random(&g, 1);
        let stats = run(&mut g, &mut w).unwrap();
        assert_eq!(stats.rewrites, 1, "only the weight's permute folds");
        // a broadcast whose result exceeds the bound is not folded
        let mut g = graph("network n {\n  input x: [1];\n  let a = param([2048, 1], name = \"a\");\n  let b = param([1, 4096], name = \"b\");\n  output o = a * b + x;\n}\n");
        let mut w = init_random(&g, 1);
        assert_eq!(2048 * 4096, 2 * MAX_ELEMENTS);
        assert_eq!(run(&mut g, &mut w).unwrap().rewrites, 0);
        assert!(w.get("a").is_some() && w.get("b").is_some());
    }

    #[test]
    fn strided_slices_splits_selects_and_broadcasts_are_exact() {
        let src = "network n {
  input x: [2, 6];
  let t = param([3, 2, 6], name = \"t\");
  let (a, b) = split(t, sizes = [1, 2], axis = 0);
  let s = slice(b, axis = 2, start = 1, step = 2);
  let m = s * param([2, 1], name = \"u\");
  let f = flatten(permute(m, [1, 0, 2]));
  let r = roll(f, 5, axis = 1) + select(a, axis = 0, index = 0) * 3.0;
  output o = x * r;
}
";
        let mut g = graph(src);
        let mut w = init_random(&g, 11);
        let x = nnc_tensor::weights::random_tensor(vec![2, 6], 5).unwrap();
        let ins: HashMap<String, Tensor> = [("x".to_string(), x)].into();
        let before = nnc_interp::run(&g, &w, &ins).unwrap();
        let stats = run(&mut g, &mut w).unwrap();
        nnc_ir::verify::verify(&g).unwrap();
        assert!(check_store(&g, &w).is_empty());
        assert_eq!(w.len(), 0, "both weights are folded away");
        // everything but `x * r` is folded into one constant
        assert_eq!(g.len(), 3, "{stats:?}");
        let after = nnc_interp::run(&g, &w, &ins).unwrap();
        assert_eq!(before["o"], after["o"]);
    }
}
