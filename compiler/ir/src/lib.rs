//! The graph IR of nnc: ops ([`op`]), the graph ([`graph`]), shape inference
//! ([`shape`]), the verifier ([`verify`]) that every pass runs after itself,
//! and a [`GraphBuilder`] for tests and tools ([`builder`]).

pub mod builder;
pub mod dump;
pub mod graph;
pub mod op;
pub mod shape;
pub mod verify;

pub use builder::GraphBuilder;
pub use graph::{BlockId, BlockInstance, Graph, Node, NodeId, Output};
pub use op::{Activation, BinaryKind, ConstData, Conv2d, NormAxes, Op, Pair, Pool, WeightSpec};
