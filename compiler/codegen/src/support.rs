//! What the LLVM backend generates code for. `nnc build` checks a graph
//! with [`unsupported`] first and reports `E0402` at the op's source
//! instead of failing inside the backend.
//!
//! Every op of the language has a lowering today (the transformer ops in
//! [`crate::lower`]); an op added to the IR without one belongs here until
//! it gets it.

use nnc_ir::{Graph, NodeId};

/// The first node (in creation order) the backend cannot compile yet, with
/// the reason; None when every node is supported.
pub fn unsupported(g: &Graph) -> Option<(NodeId, String)> {
    let _ = g;
    None
}
