//! Transposes planned as layout changes rather than copies. A `permute` is
//! no step when the memory planner makes it a view of its input (same bytes;
//! see `nnc_passes::memory_plan::plan_with_views`) and one of two kernels
//! takes the permutation over as addressing:
//!
//! * **written permuted** (producer side): the permute is the only reader of
//!   a `matmul` and keeps the last axis last — the matmul writes its product
//!   straight in the permuted layout (its C strides; Swin's
//!   `transpose(attn @ v, 1, 2)` before the head merge);
//! * **read permuted** (consumer side): every reader of the permute is a
//!   `matmul` — each reads the unpermuted bytes through the permuted strides:
//!   a swap of the last two axes of A is a transposed A (`a_cs` ≠ 1: the
//!   micro-kernel broadcasts single elements of A anyway), a permute of
//!   batch axes is batch strides. A B whose columns would be strided (a
//!   transposed B, Swin's `k.transpose(-2, -1)`) is not folded: the kernel
//!   would pack it per panel with scalar loads, which measured about twice
//!   the matmul's time, more than the vectorized tiled transpose copy.
//!
//! The choice depends only on shapes and readers. Any other permute (and one
//! that is a network output, or whose input is a network input, which the
//! planner cannot share) stays a strided copy.

use crate::kernels::matmul::{MatMulPlan, Operand};
use crate::kernels::strided::c_strides;
use crate::PlanError;
use nnc_ir::{Graph, NodeId, Op};
use std::collections::{BTreeSet, HashSet};

/// The permutation of a permute node whose permutation is valid for its input.
fn perm_of(g: &Graph, n: NodeId) -> Option<(&[usize], NodeId)> {
    let Op::Permute { perm } = &g.node(n).op else {
        return None;
    };
    let src = *g.inputs(n).first()?;
    let r = g.node(src).shape.len();
    let mut seen = vec![false; r];
    let ok = perm.len() == r
        && perm
            .iter()
            .all(|&p| p < r && !std::mem::replace(&mut seen[p], true));
    ok.then_some((perm.as_slice(), src))
}

/// Whether `p` is a permute its input `matmul` can write in place: that
/// matmul's only reader, neither a network output, the last axis kept.
pub fn written_permuted(g: &Graph, p: NodeId) -> bool {
    let Some((perm, m)) = perm_of(g, p) else {
        return false;
    };
    matches!(g.node(m).op, Op::MatMul)
        && perm.last() == Some(&(perm.len() - 1))
        && g.users(m) == [p]
        && !g.is_output(m)
        && !g.is_output(p)
}

/// How readers see `n`: through the permuted strides of its input when `n`
/// is a permute planned as a view and read permuted, C order otherwise.
pub fn operand(g: &Graph, n: NodeId, views: &dyn Fn(NodeId) -> bool) -> Operand {
    let node = g.node(n);
    if views(n) && !written_permuted(g, n) {
        if let Some((perm, src)) = perm_of(g, n) {
            let st = c_strides(&g.node(src).shape);
            return Operand {
                shape: node.shape.clone(),
                strides: perm.iter().map(|&p| st[p]).collect(),
            };
        }
    }
    Operand {
        shape: node.shape.clone(),
        strides: c_strides(&node.shape),
    }
}

/// The element strides the `matmul` `m` writes its product with: those of
/// its reader's layout when that reader is a permute planned as a view and
/// written permuted, C order otherwise.
fn result_strides(g: &Graph, m: NodeId, views: &dyn Fn(NodeId) -> bool) -> Vec<i64> {
    let shape = &g.node(m).shape;
    if let [p] = g.users(m)[..] {
        if views(p) && written_permuted(g, p) {
            if let Some((perm, _)) = perm_of(g, p) {
                // the permute's C strides, seen from the matmul's axes
                let ps = c_strides(&g.node(p).shape);
                let mut st = vec![0i64; perm.len()];
                for (a, &src_axis) in perm.iter().enumerate() {
                    st[src_axis] = ps[a];
                }
                return st;
            }
        }
    }
    c_strides(shape)
}

/// The plan of the `matmul` node `id`, its operands read as [`operand`] and
/// its result written as its reader's layout needs.
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
    let c = result_strides(g, id, views);
    MatMulPlan::strided_into(&out[..out.len() - 2], &a, &b, &c).map_err(|e| PlanError::at(name, e))
}

/// The permutes of `g` to plan as views: those written permuted by their
/// matmul, and those every reader of which is a `matmul` whose plan accepts
/// the permuted operand.
pub fn foldable_permutes(g: &Graph) -> HashSet<NodeId> {
    let mut set = HashSet::new();
    let ids: BTreeSet<NodeId> = g.node_ids().collect();
    for id in ids {
        if perm_of(g, id).is_none() || g.is_output(id) {
            continue;
        }
        let ok = if written_permuted(g, id) {
            g.inputs(id)
                .first()
                .is_some_and(|&m| matmul_plan(g, m, &|n| n == id || set.contains(&n)).is_ok())
        } else {
            let users = g.users(id);
            // a B read with strided columns is packed per panel by scalar
            // loads in the kernel: measured slower than the tiled transpose
            // copy, so a transposed B stays a copy
            !users.is_empty()
                && users.iter().all(|&u| {
                    matches!(g.node(u).op, Op::MatMul)
                        && matmul_plan(g, u, &|n| n == id || set.contains(&n))
                            .is_ok_and(|p| p.b_cs == 1 || g.inputs(u).get(1) != Some(&id))
                })
        };
        if ok {
            set.insert(id);
        }
    }
    set
}
