//! The graph IR of nnc: ops ([`op`]), the graph ([`graph`]), shape inference
//! ([`shape`]) and the verifier ([`verify`]) that every pass runs after itself.

pub mod dump;
pub mod graph;
pub mod op;
pub mod shape;
pub mod verify;

pub use graph::{BlockId, BlockInstance, Graph, Node, NodeId, Output};
pub use op::{Activation, BinaryKind, ConstData, Conv2d, NormAxes, Op, Pair, Pool, WeightSpec};
