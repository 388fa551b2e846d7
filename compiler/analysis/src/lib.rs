//! nnc-analysis: what `nnc analyze` measures (`docs/analysis.md`).
//!
//! - [`cost`]: the cost of one op (params, mult-adds, FLOPs, MAC);
//! - [`analyze`]: per-node costs, depths, roofline times, and the graph
//!   figures (depth, width, parallelism, critical path, fragments,
//!   element-wise share, peak activation memory);
//! - [`platform`] and [`calibrate`]: the roofline machine profiles;
//! - [`report`]: the JSON of `nnc analyze` and human units (the table and
//!   the `--plot` SVG chart are in `nnc-report`, pulled in only by `nnc`).
//!
//! Every pass is linear in nodes + edges (a few passes over one
//! topological order), so analyzing a 10,000-node graph takes milliseconds.

pub mod attention;
pub mod calibrate;
pub mod cost;
pub mod executed;
pub mod hierarchy;
pub mod model;
pub mod platform;
pub mod report;
pub mod testing;

pub use calibrate::{calibrate, Calibration};
pub use cost::{cost, g1_bound, seed_mac, Cost};
pub use platform::Platform;

use nnc_ir::{BlockId, Graph, NodeId, Op};
use std::collections::HashMap;
use std::fmt;

/// Whether the roofline model says a node is limited by compute or memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    Compute,
    Memory,
}

impl Bound {
    /// `compute` or `memory`.
    pub fn as_str(self) -> &'static str {
        match self {
            Bound::Compute => "compute",
            Bound::Memory => "memory",
        }
    }
}

/// The analysis of one op node.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeAnalysis {
    pub id: NodeId,
    pub cost: Cost,
    /// Length in ops of the longest path from any input to this op
    /// (this op included).
    pub depth: u32,
    /// Roofline time `max(flops / peak, mac_bytes / bandwidth)`, ms.
    pub predicted_ms: f64,
    pub bound: Bound,
    /// Position in the execution (topological) order, counting ops only.
    pub order: usize,
}

/// Fragmentation of one block instance (ShuffleNet V2 guideline G3).
#[derive(Clone, Debug, PartialEq)]
pub struct BlockAnalysis {
    pub id: BlockId,
    /// Full scope name (`layer1.0`).
    pub name: String,
    /// The block's name (`basic`).
    pub block: String,
    /// Ops the instance contributes, nested instances included.
    pub ops: u32,
    /// Parallel branches: the largest number of the instance's ops at one
    /// local ASAP level (see `docs/analysis.md`).
    pub branches: u32,
    /// Longest chain of the instance's ops (local depth).
    pub depth: u32,
    /// Sum of the costs of its ops.
    pub cost: Cost,
    /// Sum of the predicted times of its ops, ms.
    pub predicted_ms: f64,
}

/// Whole-network figures.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Totals {
    /// Summed costs of all ops.
    pub cost: Cost,
    /// Number of ops (input nodes excluded).
    pub ops: u32,
    pub depth: u32,
    pub width: u32,
    pub parallelism: f64,
    pub elementwise_share: f64,
    pub peak_activation_bytes: u64,
    /// Sum of the nodes' predicted times, ms.
    pub predicted_ms: f64,
    /// Longest path weighted by predicted time, ms (the latency with
    /// unlimited inter-op parallelism).
    pub critical_path_ms: f64,
}

/// The result of [`analyze`].
#[derive(Clone, Debug, PartialEq)]
pub struct Analysis {
    /// The platform the times were predicted for.
    pub platform: Platform,
    /// Op nodes in execution order (input nodes are not ops and not listed).
    pub nodes: Vec<NodeAnalysis>,
    /// Block instances in the graph's order.
    pub blocks: Vec<BlockAnalysis>,
    pub totals: Totals,
    /// The time-weighted critical path, input side first.
    pub critical_path: Vec<NodeId>,
    /// The execution order used (all nodes, inputs included).
    pub order: Vec<NodeId>,
    /// The executed plan priced by the calibrated model, when attached
    /// ([`executed::attach`]); the node times are then its shares.
    pub executed: Option<executed::Executed>,
    /// Node id → index into `nodes`.
    index: HashMap<NodeId, usize>,
}

impl Analysis {
    /// The analysis of one op node (None for inputs and unknown ids).
    pub fn node(&self, id: NodeId) -> Option<&NodeAnalysis> {
        self.index.get(&id).map(|&i| &self.nodes[i])
    }
}

/// Why a graph cannot be analyzed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AnalysisError {
    /// The graph has a cycle (the verifier rejects such graphs).
    Cyclic,
}

impl fmt::Display for AnalysisError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnalysisError::Cyclic => f.write_str("the graph has a cycle"),
        }
    }
}

impl std::error::Error for AnalysisError {}

/// The roofline time in ms and the bound of a cost on a platform.
pub fn predict(c: &Cost, p: &Platform) -> (f64, Bound) {
    let compute = if p.peak_gflops > 0.0 {
        c.flops as f64 / (p.peak_gflops * 1e6)
    } else {
        0.0
    };
    let memory = if p.bandwidth_gbs > 0.0 {
        c.mac_bytes() as f64 / (p.bandwidth_gbs * 1e6)
    } else {
        0.0
    };
    if compute > memory {
        (compute, Bound::Compute)
    } else {
        (memory, Bound::Memory)
    }
}

/// Analyzes a graph for a platform. Linear in nodes + edges.
pub fn analyze(g: &Graph, platform: &Platform) -> Result<Analysis, AnalysisError> {
    let order = g.topo_order().ok_or(AnalysisError::Cyclic)?;
    let bound = order.iter().map(|n| n.index() + 1).max().unwrap_or(0);
    // Dense per-node tables indexed by node index.
    let mut depth = vec![0u32; bound];
    let mut finish = vec![0f64; bound];
    let mut pred: Vec<Option<NodeId>> = vec![None; bound];
    let mut pos = vec![0usize; bound];
    let mut inputs_of: Vec<Vec<NodeId>> = vec![Vec::new(); bound];
    for (i, &id) in order.iter().enumerate() {
        pos[id.index()] = i;
        inputs_of[id.index()] = g.inputs(id);
    }

    let mut nodes = Vec::with_capacity(order.len());
    let mut index = HashMap::with_capacity(order.len());
    let mut total = Cost::default();
    let mut elementwise_mac = 0u64;
    let mut predicted_ms = 0.0;
    let mut levels: Vec<u32> = Vec::new();
    for &id in &order {
        let node = g.node(id);
        if matches!(node.op, Op::Input { .. }) {
            continue;
        }
        let ins = &inputs_of[id.index()];
        let shapes: Vec<&[usize]> = ins.iter().map(|&i| g.node(i).shape.as_slice()).collect();
        let c = cost(&node.op, &shapes, &node.shape);
        let d = 1 + ins.iter().map(|i| depth[i.index()]).max().unwrap_or(0);
        depth[id.index()] = d;
        let (t, b) = predict(&c, platform);
        // Time-weighted longest path.
        let (best, from) = ins
            .iter()
            .map(|i| (finish[i.index()], Some(*i)))
            .fold((0.0, None), |acc, x| if x.0 > acc.0 { x } else { acc });
        finish[id.index()] = best + t;
        pred[id.index()] = from;
        if levels.len() <= d as usize {
            levels.resize(d as usize + 1, 0);
        }
        levels[d as usize] += 1;
        total = total.plus(&c);
        if node.op.is_elementwise() {
            elementwise_mac = elementwise_mac.saturating_add(c.mac);
        }
        predicted_ms += t;
        index.insert(id, nodes.len());
        nodes.push(NodeAnalysis {
            id,
            cost: c,
            depth: d,
            predicted_ms: t,
            bound: b,
            order: nodes.len(),
        });
    }

    let ops = nodes.len() as u32;
    let net_depth = nodes.iter().map(|n| n.depth).max().unwrap_or(0);
    let width = levels.iter().copied().max().unwrap_or(0);
    // Critical path: walk back from the node that finishes last.
    let mut critical_path = Vec::new();
    let mut cur = nodes
        .iter()
        .map(|n| (finish[n.id.index()], n.id))
        .fold(None, |acc: Option<(f64, NodeId)>, x| match acc {
            Some(a) if a.0 >= x.0 => Some(a),
            _ => Some(x),
        })
        .map(|x| x.1);
    let critical_path_ms = cur.map_or(0.0, |c| finish[c.index()]);
    while let Some(c) = cur {
        if index.contains_key(&c) {
            critical_path.push(c);
        }
        cur = pred[c.index()];
    }
    critical_path.reverse();

    let totals = Totals {
        cost: total,
        ops,
        depth: net_depth,
        width,
        parallelism: if net_depth > 0 {
            ops as f64 / net_depth as f64
        } else {
            0.0
        },
        elementwise_share: if total.mac > 0 {
            elementwise_mac as f64 / total.mac as f64
        } else {
            0.0
        },
        peak_activation_bytes: peak_activation_bytes(g, &order, &pos),
        predicted_ms,
        critical_path_ms,
    };
    let blocks = block_fragments(g, &order, &inputs_of, &nodes, &index);
    Ok(Analysis {
        platform: platform.clone(),
        nodes,
        blocks,
        totals,
        critical_path,
        order,
        executed: None,
        index,
    })
}

/// The largest sum of live activation tensors (bytes, f32) over the
/// execution order `order`. Every node's output is a tensor. A tensor is live
/// from the step of its producer to the step of its last consumer, both
/// included, so while a node runs its inputs and its output are all live,
/// and so are an attention's internal `q, k, v` and `L×L` scores.
/// Network inputs are live from the first step, network outputs until the
/// last. `pos[id]` is the position of `id` in `order`.
pub fn peak_activation_bytes(g: &Graph, order: &[NodeId], pos: &[usize]) -> u64 {
    let steps = order.len();
    if steps == 0 {
        return 0;
    }
    let outputs: std::collections::HashSet<NodeId> = g.outputs.iter().map(|o| o.node).collect();
    // delta[t]: bytes born at step t minus bytes that died at step t-1.
    let mut delta = vec![0i128; steps + 1];
    for (t, &id) in order.iter().enumerate() {
        let node = g.node(id);
        let bytes = cost::numel(&node.shape).saturating_mul(4) as i128;
        let birth = if matches!(node.op, Op::Input { .. }) {
            0
        } else {
            t
        };
        let last_use = g
            .users(id)
            .iter()
            .map(|u| pos.get(u.index()).copied().unwrap_or(t))
            .max()
            .unwrap_or(t);
        let death = if outputs.contains(&id) {
            steps - 1
        } else {
            last_use.max(t)
        };
        delta[birth] += bytes;
        delta[death + 1] -= bytes;
        // an attention's own intermediates (q, k, v and the L×L scores of
        // every head) are live while it runs
        if let Some(d) = attention::node_dims(g, id) {
            let s = d.scratch().saturating_mul(4) as i128;
            delta[t] += s;
            delta[t + 1] -= s;
        }
    }
    let mut live = 0i128;
    let mut peak = 0i128;
    for d in &delta[..steps] {
        live += d;
        peak = peak.max(live);
    }
    peak.min(u64::MAX as i128) as u64
}

/// Ops and parallel branches per block instance. A node belongs to its
/// innermost instance and to every enclosing one. Within an instance `b`,
/// the local level of one of its ops is 1 + the largest local level of its
/// inputs that also belong to `b` (inputs from outside count 0); `branches`
/// is the largest number of `b`'s ops sharing a local level, `depth` the
/// largest local level. Cost: O(Σ (in-degree + 1) × nesting depth).
fn block_fragments(
    g: &Graph,
    order: &[NodeId],
    inputs_of: &[Vec<NodeId>],
    nodes: &[NodeAnalysis],
    index: &HashMap<NodeId, usize>,
) -> Vec<BlockAnalysis> {
    let nb = g.blocks.len();
    let mut out: Vec<BlockAnalysis> = g
        .blocks
        .iter()
        .enumerate()
        .map(|(i, b)| BlockAnalysis {
            id: BlockId(i as u32),
            name: b.name.clone(),
            block: b.block.clone(),
            ops: 0,
            branches: 0,
            depth: 0,
            cost: Cost::default(),
            predicted_ms: 0.0,
        })
        .collect();
    if nb == 0 {
        return out;
    }
    // paths[node] = enclosing instances outermost first; levels[node][k] =
    // local level of the node within paths[node][k].
    let bound = inputs_of.len();
    let mut paths: Vec<Vec<BlockId>> = vec![Vec::new(); bound];
    let mut levels: Vec<Vec<u32>> = vec![Vec::new(); bound];
    let mut counts: HashMap<(u32, u32), u32> = HashMap::new();
    for &id in order {
        let Some(&ni) = index.get(&id) else { continue };
        let path = g.block_path(id);
        if path.is_empty() {
            continue;
        }
        let mut lv = Vec::with_capacity(path.len());
        // An instance sits at the same position in the (outermost-first)
        // paths of all its nodes, since the ancestors above it are the same.
        for (k, &b) in path.iter().enumerate() {
            let mut l = 0;
            for i in &inputs_of[id.index()] {
                let ip = &paths[i.index()];
                if ip.get(k) == Some(&b) {
                    l = l.max(levels[i.index()].get(k).copied().unwrap_or(0));
                }
            }
            lv.push(l + 1);
            let Some(ba) = out.get_mut(b.0 as usize) else {
                continue;
            };
            ba.ops += 1;
            ba.depth = ba.depth.max(l + 1);
            ba.cost = ba.cost.plus(&nodes[ni].cost);
            ba.predicted_ms += nodes[ni].predicted_ms;
            let c = counts.entry((b.0, l + 1)).or_insert(0);
            *c += 1;
            ba.branches = ba.branches.max(*c);
        }
        paths[id.index()] = path;
        levels[id.index()] = lv;
    }
    out
}
