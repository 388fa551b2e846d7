//! What the LLVM backend generates code for. `nnc build` checks a graph
//! with [`unsupported`] first and reports `E0402` at the op's source
//! instead of failing inside the backend.

use nnc_ir::{Graph, NodeId, Op};

/// The first node (in creation order) the backend cannot compile yet, with
/// the reason; None when every node is supported.
pub fn unsupported(g: &Graph) -> Option<(NodeId, String)> {
    g.node_ids().find_map(|id| {
        let n = g.node(id);
        let base = match &n.op {
            Op::Fused { base, .. } => base.as_ref(),
            op => op,
        };
        if base.is_transformer_op() {
            return Some((id, format!("`{}`", base.name())));
        }
        if matches!(base, Op::Linear { .. }) && n.shape.len() != 2 {
            return Some((id, format!("`linear` on a rank-{} input", n.shape.len())));
        }
        None
    })
}
