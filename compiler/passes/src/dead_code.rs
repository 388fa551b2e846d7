//! Dead-code elimination: removes every node that no output depends on
//! (network inputs are kept: they are the executable's interface), and
//! their weights.

use crate::{PassError, PassStats};
use nnc_ir::{Graph, NodeId, Op};
use nnc_tensor::WeightStore;
use std::collections::HashSet;

/// Runs the pass.
pub fn run(g: &mut Graph, w: &mut WeightStore) -> Result<PassStats, PassError> {
    let mut stats = PassStats::new("dead_code");
    let mut live: HashSet<NodeId> = HashSet::new();
    let mut stack: Vec<NodeId> = g.outputs.iter().map(|o| o.node).collect();
    while let Some(n) = stack.pop() {
        if !g.contains(n) || !live.insert(n) {
            continue;
        }
        stack.extend(g.inputs(n));
    }
    let dead: Vec<NodeId> = g
        .node_ids()
        .filter(|n| !live.contains(n) && !matches!(g.node(*n).op, Op::Input { .. }))
        .collect();
    for n in dead {
        if g.node(n).op.has_weights() {
            let name = g.node(n).name.clone();
            w.remove_node_weights(&name);
        }
        g.remove_node(n);
        stats.removed.push(n);
        stats.rewrites += 1;
    }
    Ok(stats)
}
