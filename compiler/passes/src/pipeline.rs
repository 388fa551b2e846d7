//! The default pass pipeline, with the IR verifier and a weight-store check
//! after every pass, and the provenance of every surviving node.

use crate::{dead_code, fold_batchnorm, fold_constants, fuse, PassError, PassStats};
use nnc_ir::{Graph, NodeId};
use nnc_tensor::weights::check_store;
use nnc_tensor::WeightStore;
use std::collections::HashMap;

/// A pass: its name and its entry point.
pub type Pass = (
    &'static str,
    fn(&mut Graph, &mut WeightStore) -> Result<PassStats, PassError>,
);

/// The default pipeline: dead code, constant folding, batchnorm folding,
/// fusion.
pub const DEFAULT: &[Pass] = &[
    ("dead_code", dead_code::run),
    ("fold_constants", fold_constants::run),
    ("fold_batchnorm", fold_batchnorm::run),
    ("fuse", fuse::run),
];

/// What the pipeline did.
#[derive(Clone, Debug, Default)]
pub struct PipelineReport {
    /// Each pass's stats, in order.
    pub stats: Vec<PassStats>,
    /// For every surviving node: the names of the original nodes (of the
    /// graph given to the pipeline) it stands for, its own first, then the
    /// absorbed ones in merge order. Profiles use this to compare measured
    /// fused nodes with per-node predictions.
    pub origins: HashMap<NodeId, Vec<String>>,
}

/// Runs the default pipeline.
pub fn run_default(g: &mut Graph, w: &mut WeightStore) -> Result<PipelineReport, PassError> {
    run_passes(g, w, DEFAULT)
}

/// Runs the given passes in order; after each, runs the IR verifier and
/// checks that the weight store matches the graph.
pub fn run_passes(
    g: &mut Graph,
    w: &mut WeightStore,
    passes: &[Pass],
) -> Result<PipelineReport, PassError> {
    let mut report = PipelineReport {
        stats: Vec::new(),
        origins: g
            .node_ids()
            .map(|n| (n, vec![g.node(n).name.clone()]))
            .collect(),
    };
    for (name, pass) in passes {
        let stats = pass(g, w).map_err(|e| PassError::InPass {
            pass: name,
            error: Box::new(e),
        })?;
        if let Err(errs) = nnc_ir::verify::verify(g) {
            return Err(PassError::Verify {
                pass: name,
                problems: errs,
            });
        }
        let problems = check_store(g, w);
        if !problems.is_empty() {
            return Err(PassError::Store {
                pass: name,
                problems,
            });
        }
        // compose provenance
        let mut keys: Vec<&NodeId> = stats.merged.keys().collect();
        keys.sort_unstable();
        for &into in keys {
            for (from, _) in &stats.merged[&into] {
                let extra = report.origins.get(from).cloned().unwrap_or_default();
                report.origins.entry(into).or_default().extend(extra);
            }
        }
        for r in &stats.removed {
            report.origins.remove(r);
        }
        report.stats.push(stats);
    }
    Ok(report)
}
