//! Evaluation of a candidate assignment of the width literals: substitute the
//! values into the text, compile it again (parse, elaborate, analyze) and
//! compare the graph with the original one.

use crate::Metrics;
use nnc_analysis::Platform;
use nnc_diag::Span;
use nnc_ir::{Graph, NodeId, Op};
use std::collections::BTreeMap;
use std::time::Instant;

/// What must not change between the original graph and a candidate: per
/// node, its op with every attribute that is not a channel count, its name,
/// its inputs and every dimension of its shape except channels; the full
/// shapes of the network's inputs and outputs.
#[derive(PartialEq, Eq, Debug)]
pub(crate) struct Signature {
    nodes: Vec<NodeSig>,
    inputs: Vec<Vec<usize>>,
    outputs: Vec<Vec<usize>>,
}

#[derive(PartialEq, Eq, Debug)]
struct NodeSig {
    op: String,
    name: String,
    inputs: Vec<usize>,
    dims: Vec<usize>,
}

/// The attributes of an op with its channel counts masked out. A depthwise
/// conv (`groups` = input channels = output channels) stays depthwise; any
/// other `groups` value must stay the same.
fn op_key(g: &Graph, id: NodeId) -> String {
    let n = g.node(id);
    match &n.op {
        Op::Conv2d(c) => {
            let cin = g
                .inputs(id)
                .first()
                .and_then(|&i| g.node(i).shape.get(1).copied());
            let groups = if c.groups == 1 {
                "1".to_string()
            } else if Some(c.groups) == cin && c.groups == c.out_channels {
                "depthwise".to_string()
            } else {
                c.groups.to_string()
            };
            format!(
                "conv2d k{:?} s{:?} p{:?} d{:?} g{} b{}",
                c.kernel, c.stride, c.pad, c.dilation, groups, c.bias
            )
        }
        Op::Linear { bias, .. } => format!("linear b{bias}"),
        Op::Split {
            axis: 1,
            part,
            parts,
            ..
        } => format!("split channels {part}/{parts}"),
        // the target is the output shape, compared without its channel
        // axis like every node's (`expand(t, [-1, -1, H, W])` follows a
        // rebalanced width; a literal in another axis is a structure change)
        Op::Expand { shape } => {
            let mut s = shape.clone();
            if s.len() >= 2 {
                s.remove(1);
            }
            format!("expand {s:?}")
        }
        other => format!("{other:?}"),
    }
}

/// The signature of a graph (see [`Signature`]).
pub(crate) fn signature(g: &Graph) -> Signature {
    let nodes = g
        .node_ids()
        .map(|id| {
            let n = g.node(id);
            let mut dims = n.shape.clone();
            if dims.len() >= 2 {
                dims.remove(1); // channels / features may change
            }
            NodeSig {
                op: op_key(g, id),
                name: n.name.clone(),
                inputs: g.inputs(id).iter().map(|i| i.index()).collect(),
                dims,
            }
        })
        .collect();
    let inputs = g.inputs.iter().map(|&i| g.node(i).shape.clone()).collect();
    let outputs = g
        .outputs
        .iter()
        .map(|o| g.node(o.node).shape.clone())
        .collect();
    Signature {
        nodes,
        inputs,
        outputs,
    }
}

/// Widths that must stay multiples of the SIMD width: the conv/linear output
/// widths that were multiples originally, by node position.
pub(crate) fn aligned_mask(g: &Graph, lanes: usize) -> Vec<bool> {
    g.node_ids()
        .map(|id| {
            let n = g.node(id);
            matches!(n.op, Op::Conv2d(_) | Op::Linear { .. })
                && n.shape.get(1).is_some_and(|&c| c % lanes == 0)
        })
        .collect()
}

/// Why a candidate assignment is infeasible.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reject {
    /// A width is not positive.
    NonPositive,
    /// A value is outside `[original / max_ratio, original · max_ratio]`.
    Bound,
    /// The program no longer elaborates (a shape constraint such as a
    /// residual add or a split breaks).
    Constraint,
    /// A network input's shape changes.
    InputShape,
    /// A network output's shape changes.
    OutputShape,
    /// The graph changes other than in channel widths.
    Structure,
    /// A width that was a multiple of the SIMD width is no longer one.
    Alignment,
    /// The time budget ran out before the candidate was compiled.
    Budget,
}

impl Reject {
    /// Why a literal with this rejection for every move is left alone.
    pub(crate) fn why(self) -> &'static str {
        match self {
            Reject::NonPositive => "no positive value is feasible",
            Reject::Bound => "--max-ratio allows no other multiple of the SIMD width",
            Reject::Constraint => "changing it breaks a shape constraint (a residual add, concat or split, groups)",
            Reject::InputShape => "it sets the shape of a network input",
            Reject::OutputShape => "it sets the shape of a network output",
            Reject::Structure => "it also sets something other than a channel width on axis 1 (a loop bound, a kernel size, a name, whether a branch is taken, or a size on another axis: a channels-last or token width `[N, L, E]`, a `reshape`, `expand` or `param` shape, ...); rebalancing traces NCHW channel widths only",
            Reject::Alignment => "changing it makes a SIMD-aligned width unaligned",
            Reject::Budget => "not examined: the time budget (--time-limit) ran out first",
        }
    }
}

/// Substitutes literal values into the text (spans non-overlapping).
pub(crate) fn substitute(text: &str, vars: &[Span], values: &[i64]) -> String {
    let mut pairs: Vec<(Span, i64)> = vars.iter().copied().zip(values.iter().copied()).collect();
    pairs.sort_by_key(|(s, _)| s.start);
    let mut out = String::with_capacity(text.len() + 16);
    let mut at = 0usize;
    for (s, v) in pairs {
        let (a, b) = (s.start as usize, s.end as usize);
        if a < at || b > text.len() || !text.is_char_boundary(a) || !text.is_char_boundary(b) {
            continue;
        }
        out.push_str(&text[at..a]);
        out.push_str(&v.to_string());
        at = b;
    }
    out.push_str(&text[at..]);
    out
}

/// Whole-network figures of a graph (None if the analysis fails).
pub(crate) fn metrics_of(
    g: &Graph,
    platform: &Platform,
    latency: Option<&crate::LatencyFn>,
) -> Option<Metrics> {
    let a = nnc_analysis::analyze(g, platform).ok()?;
    let predicted_ms = match latency {
        Some(f) => (f.0)(g)?,
        None => a.totals.predicted_ms,
    };
    if !predicted_ms.is_finite() || predicted_ms < 0.0 {
        return None;
    }
    Some(Metrics {
        mult_adds: a.totals.cost.mult_adds,
        mac: a.totals.cost.mac,
        params: a.totals.cost.params,
        predicted_ms,
        cost: match latency {
            Some(_) => predicted_ms,
            None => a.totals.cost.mac as f64,
        },
    })
}

/// Compiles candidates and caches the results by assignment.
pub(crate) struct Evaluator<'a> {
    pub(crate) text: &'a str,
    pub(crate) network: Option<&'a str>,
    pub(crate) platform: &'a Platform,
    pub(crate) latency: Option<&'a crate::LatencyFn>,
    pub(crate) vars: Vec<Span>,
    pub(crate) sig: Signature,
    pub(crate) aligned: Vec<bool>,
    pub(crate) lanes: usize,
    /// Original values and steps: a value is the original or a multiple of
    /// its step within the bounds.
    pub(crate) orig: Vec<i64>,
    pub(crate) steps: Vec<i64>,
    /// Inclusive bounds of each variable (multiples of its step).
    pub(crate) lo: Vec<i64>,
    pub(crate) hi: Vec<i64>,
    /// Candidates compiled so far (cache misses).
    pub(crate) evals: usize,
    pub(crate) cache: BTreeMap<Vec<i64>, Result<Metrics, Reject>>,
    /// When the whole pass must stop (`Options::max_time` after it began):
    /// past it, uncached candidates are rejected with [`Reject::Budget`]
    /// without being compiled, so every phase (probing, sensitivities,
    /// search) stops at the budget.
    pub(crate) deadline: Instant,
    /// Set once a candidate was refused for the deadline.
    pub(crate) out_of_time: bool,
}

impl Evaluator<'_> {
    /// The metrics of an assignment, or why it is infeasible.
    pub(crate) fn try_eval(&mut self, values: &[i64]) -> Result<Metrics, Reject> {
        if values.iter().any(|&v| v <= 0) {
            return Err(Reject::NonPositive);
        }
        let off = |i: usize, v: i64| {
            v != self.orig[i] && (v < self.lo[i] || v > self.hi[i] || v % self.steps[i].max(1) != 0)
        };
        if values.iter().enumerate().any(|(i, &v)| off(i, v)) {
            return Err(Reject::Bound);
        }
        if let Some(m) = self.cache.get(values) {
            return *m;
        }
        if self.out_of_time || Instant::now() >= self.deadline {
            self.out_of_time = true;
            return Err(Reject::Budget);
        }
        self.evals += 1;
        let m = self.eval_uncached(values);
        self.cache.insert(values.to_vec(), m);
        m
    }

    /// Whether an assignment has been compiled already.
    pub(crate) fn is_cached(&self, values: &[i64]) -> bool {
        self.cache.contains_key(values)
    }

    fn eval_uncached(&self, values: &[i64]) -> Result<Metrics, Reject> {
        let src = substitute(self.text, &self.vars, values);
        let (file, diags) = nnc_syntax::parse(&src);
        if diags.iter().any(|d| d.is_error()) {
            return Err(Reject::Constraint);
        }
        let el = nnc_elab::elaborate(&file, self.network);
        if el.has_errors() {
            return Err(Reject::Constraint);
        }
        let g = el.graph.ok_or(Reject::Constraint)?;
        let sig = signature(&g);
        if sig.inputs != self.sig.inputs {
            return Err(Reject::InputShape);
        }
        if sig.nodes != self.sig.nodes {
            return Err(Reject::Structure);
        }
        if sig.outputs != self.sig.outputs {
            return Err(Reject::OutputShape);
        }
        for (i, id) in g.node_ids().enumerate() {
            if self.aligned.get(i).copied().unwrap_or(false) {
                let c = g.node(id).shape.get(1).copied().unwrap_or(0);
                if c % self.lanes != 0 {
                    return Err(Reject::Alignment);
                }
            }
        }
        metrics_of(&g, self.platform, self.latency).ok_or(Reject::Constraint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitution_keeps_everything_else() {
        let t = "let a = 52; // c1\nlet b = 312;\n";
        let s = substitute(t, &[Span::new(26, 29), Span::new(8, 10)], &[128, 120]);
        assert_eq!(s, "let a = 120; // c1\nlet b = 128;\n");
    }
}
