//! Graph passes before codegen: one file per pass, the verifier after each
//! ([`pipeline`]).
//!
//! Every pass has the signature `run(&mut Graph, &mut WeightStore) ->
//! Result<PassStats, PassError>`, keeps the graph's outputs' values (within
//! float rounding for batchnorm folding) and keeps the weight store in step
//! with the graph (no missing, no stale keys). [`memory_plan`] is not a
//! rewrite: it plans the activation arena of the final graph for codegen.

pub mod dead_code;
pub mod error;
pub mod fold_batchnorm;
pub mod fold_constants;
pub mod fuse;
pub mod memory_plan;
pub mod pipeline;

pub use error::PassError;
use nnc_ir::NodeId;
use std::collections::HashMap;

/// What a pass did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PassStats {
    /// The pass's name (`fold_batchnorm`, ...).
    pub pass: &'static str,
    /// Number of rewrites (folds, fusions, removed dead nodes).
    pub rewrites: usize,
    /// Nodes removed from the graph.
    pub removed: Vec<NodeId>,
    /// For each surviving node that absorbed others: the absorbed nodes (id
    /// and name as they were), in the order they were merged.
    pub merged: HashMap<NodeId, Vec<(NodeId, String)>>,
}

impl PassStats {
    /// Empty stats for the named pass.
    pub fn new(pass: &'static str) -> PassStats {
        PassStats {
            pass,
            ..PassStats::default()
        }
    }

    fn merge(&mut self, into: NodeId, from: NodeId, name: &str) {
        self.merged
            .entry(into)
            .or_default()
            .push((from, name.to_string()));
        self.removed.push(from);
    }
}

pub use memory_plan::{MemoryPlan, PlanOptions};
pub use pipeline::{run_default, PipelineReport};
