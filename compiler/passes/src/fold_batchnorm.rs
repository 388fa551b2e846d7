//! Batchnorm folding: `conv2d`/`linear` followed by a `batchnorm` that is the
//! conv's only user (and the conv is not an output) becomes the conv alone,
//! with `W' = W * s` and `b' = (b - mean) * s + beta` per output channel,
//! where `s = gamma / sqrt(running_var + eps)` (computed in f64). The conv
//! keeps its weight name and gains a bias; the batchnorm's weights leave the
//! store.

use crate::{PassError, PassStats};
use nnc_ir::{Graph, Op};
use nnc_tensor::{Tensor, WeightStore};

/// Runs the pass.
pub fn run(g: &mut Graph, w: &mut WeightStore) -> Result<PassStats, PassError> {
    let mut stats = PassStats::new("fold_batchnorm");
    let order = g.topo_order().ok_or(PassError::Cycle)?;
    for bn in order {
        if !g.contains(bn) {
            continue;
        }
        let eps = match g.node(bn).op {
            Op::BatchNorm { eps } => eps,
            _ => continue,
        };
        let ins = g.inputs(bn);
        let [p] = ins[..] else { continue };
        let is_base = matches!(g.node(p).op, Op::Conv2d(_) | Op::Linear { .. });
        if !is_base || g.users(p) != [bn] || g.is_output(p) {
            continue;
        }
        fold(g, w, p, bn, eps)?;
        let bn_name = g.node(bn).name.clone();
        w.remove_node_weights(&bn_name);
        g.replace_uses(bn, p);
        g.remove_node(bn);
        stats.merge(p, bn, &bn_name);
        stats.rewrites += 1;
    }
    Ok(stats)
}

fn get<'a>(w: &'a WeightStore, key: &str) -> Result<&'a Tensor, PassError> {
    w.get(key)
        .ok_or_else(|| PassError::Weight(format!("fold_batchnorm: missing weight `{key}`")))
}

/// Folds the batchnorm `bn` into `p`'s weights (the graph is not changed
/// except for `p` gaining a bias).
fn fold(
    g: &mut Graph,
    w: &mut WeightStore,
    p: nnc_ir::NodeId,
    bn: nnc_ir::NodeId,
    eps: f64,
) -> Result<(), PassError> {
    let pname = g.node(p).name.clone();
    let bname = g.node(bn).name.clone();
    let (out, has_bias) = match &g.node(p).op {
        Op::Conv2d(c) => (c.out_channels, c.bias),
        Op::Linear { out_features, bias } => (*out_features, *bias),
        _ => {
            return Err(PassError::Weight(
                "fold_batchnorm: not a conv2d or linear".into(),
            ))
        }
    };
    let gamma = get(w, &format!("{bname}.weight"))?.data().to_vec();
    let beta = get(w, &format!("{bname}.bias"))?.data().to_vec();
    let mean = get(w, &format!("{bname}.running_mean"))?.data().to_vec();
    let var = get(w, &format!("{bname}.running_var"))?.data().to_vec();
    if [&gamma, &beta, &mean, &var].iter().any(|v| v.len() != out) {
        return Err(PassError::Weight(format!(
            "fold_batchnorm: `{bname}` has tensors of the wrong length for {out} channels"
        )));
    }
    let wkey = format!("{pname}.weight");
    let weight = get(w, &wkey)?.clone();
    if out == 0 || !weight.len().is_multiple_of(out) {
        return Err(PassError::Weight(format!(
            "fold_batchnorm: `{wkey}` does not have {out} rows"
        )));
    }
    let per = weight.len() / out;
    let bkey = format!("{pname}.bias");
    let bias: Vec<f32> = if has_bias {
        let b = get(w, &bkey)?.data().to_vec();
        if b.len() != out {
            return Err(PassError::Weight(format!(
                "fold_batchnorm: `{bkey}` has the wrong length"
            )));
        }
        b
    } else {
        vec![0.0; out]
    };
    let (shape, mut wdata) = weight.into_parts();
    let mut new_bias = Vec::with_capacity(out);
    for o in 0..out {
        let s = gamma[o] as f64 / (var[o] as f64 + eps).sqrt();
        for v in &mut wdata[o * per..(o + 1) * per] {
            *v = (*v as f64 * s) as f32;
        }
        new_bias.push(((bias[o] as f64 - mean[o] as f64) * s + beta[o] as f64) as f32);
    }
    w.insert(wkey, Tensor::new(shape, wdata)?);
    w.insert(bkey, Tensor::new(vec![out], new_bias)?);
    match &mut g.node_mut(p).op {
        Op::Conv2d(c) => c.bias = true,
        Op::Linear { bias, .. } => *bias = true,
        _ => {}
    }
    Ok(())
}
