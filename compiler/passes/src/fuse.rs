//! Epilogue fusion: `conv2d`/`linear` [+ residual add of another tensor of
//! the same shape] [+ activation] becomes one `Op::Fused { base, residual,
//! act }` node. The conv node itself is rewritten (it keeps its id, weight
//! name and weights); the add's other operand becomes its input slot 1.
//! A step is fused only when the intermediate result has a single user and
//! is not a network output.

use crate::{PassError, PassStats};
use nnc_ir::{BinaryKind, Graph, NodeId, Op};
use nnc_tensor::WeightStore;

/// The single user of `n` if `n` has exactly one reading edge and is not an
/// output.
fn sole_user(g: &Graph, n: NodeId) -> Option<NodeId> {
    if g.is_output(n) {
        return None;
    }
    match g.users(n)[..] {
        [u] if g.inputs(u).iter().filter(|&&i| i == n).count() == 1 => Some(u),
        _ => None,
    }
}

/// Runs the pass.
pub fn run(g: &mut Graph, _w: &mut WeightStore) -> Result<PassStats, PassError> {
    let mut stats = PassStats::new("fuse");
    let order = g.topo_order().ok_or(PassError::Cycle)?;
    for base in order {
        if !g.contains(base) || !matches!(g.node(base).op, Op::Conv2d(_) | Op::Linear { .. }) {
            continue;
        }
        let shape = g.node(base).shape.clone();
        let mut last = base;
        let mut absorbed = Vec::new();
        let mut residual = None;
        if let Some(u) = sole_user(g, last) {
            if g.node(u).op == Op::Binary(BinaryKind::Add) && g.node(u).shape == shape {
                let other = g.inputs(u).into_iter().find(|&i| i != base);
                if let Some(o) = other {
                    if g.node(o).shape == shape {
                        residual = Some(o);
                        absorbed.push(u);
                        last = u;
                    }
                }
            }
        }
        let mut act = None;
        if let Some(u) = sole_user(g, last) {
            if let Op::Act(a) = g.node(u).op {
                act = Some(a);
                absorbed.push(u);
                last = u;
            }
        }
        if last == base {
            continue;
        }
        let op = g.node(base).op.clone();
        g.node_mut(base).op = Op::Fused {
            base: Box::new(op),
            residual: residual.is_some(),
            act,
        };
        if let Some(r) = residual {
            g.set_input(base, 1, r);
        }
        g.replace_uses(last, base);
        for n in absorbed {
            let name = g.node(n).name.clone();
            g.remove_node(n);
            stats.merge(base, n, &name);
        }
        stats.rewrites += 1;
    }
    Ok(stats)
}
