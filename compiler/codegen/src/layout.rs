//! Transposes planned as layout changes: a `permute` whose every reader is a
//! `matmul` operand is no copy. The memory planner makes it a view of its
//! input (same bytes, kept alive until the matmuls run; see
//! `nnc_passes::memory_plan::plan_with_views`), no step is emitted for it,
//! and each matmul reads the unpermuted buffer through the permuted strides:
//! a swap of the last two axes becomes a transposed operand (`a_cs`/`b_rs`
//! ≠ 1; the kernel packs a transposed B per panel in L1 anyway), a permute
//! of batch axes becomes batch strides.
//!
//! The choice depends only on shapes and readers; a permute that something
//! else reads (or that is a network output, or whose input is a network
//! input, which the planner cannot share) stays a strided copy.

use crate::kernels::matmul::{MatMulPlan, Operand};
use crate::kernels::strided::c_strides;
use crate::PlanError;
use nnc_ir::{Graph, NodeId, Op};
use std::collections::{BTreeSet, HashSet};

/// How the consumers read `n`: through the permuted strides of its input
/// when `n` is a permute planned as a view, C order otherwise.
pub fn operand(g: &Graph, n: NodeId, views: &dyn Fn(NodeId) -> bool) -> Operand {
    let node = g.node(n);
    if let (Op::Permute { perm }, true) = (&node.op, views(n)) {
        if let Some(&src) = g.inputs(n).first() {
            let st = c_strides(&g.node(src).shape);
            if perm.len() == st.len() && perm.iter().all(|&p| p < st.len()) {
                return Operand {
                    shape: node.shape.clone(),
                    strides: perm.iter().map(|&p| st[p]).collect(),
                };
            }
        }
    }
    Operand {
        shape: node.shape.clone(),
        strides: c_strides(&node.shape),
    }
}

/// The plan of the `matmul` node `id`, its operands read as [`operand`] says.
pub fn matmul_plan(
    g: &Graph,
    id: NodeId,
    views: &dyn Fn(NodeId) -> bool,
) -> Result<MatMulPlan, PlanError> {
    let node = g.node(id);
    let name = &node.name;
    let ins = g.inputs(id);
    let (Some(&a), Some(&b)) = (ins.first(), ins.get(1)) else {
        return Err(PlanError::at(name, "matmul needs two operands"));
    };
    let (a, b) = (operand(g, a, views), operand(g, b, views));
    let out = &node.shape;
    if a.shape.len() < 2 || b.shape.len() < 2 || out.len() < 2 {
        return Err(PlanError::at(name, "matmul operands need rank >= 2"));
    }
    MatMulPlan::strided(&out[..out.len() - 2], &a, &b).map_err(|e| PlanError::at(name, e))
}

/// The permutes of `g` that every reader can take as strides (each a
/// `matmul` whose plan accepts the permuted operand): the views to plan.
pub fn foldable_permutes(g: &Graph) -> HashSet<NodeId> {
    let mut set = HashSet::new();
    let ids: BTreeSet<NodeId> = g.node_ids().collect();
    for id in ids {
        if !matches!(g.node(id).op, Op::Permute { .. }) || g.is_output(id) {
            continue;
        }
        let users = g.users(id);
        let ok = !users.is_empty()
            && users.iter().all(|&u| {
                matches!(g.node(u).op, Op::MatMul)
                    && matmul_plan(g, u, &|n| n == id || set.contains(&n)).is_ok()
            });
        if ok {
            set.insert(id);
        }
    }
    set
}
