//! The executed plan beside the source graph: the kernels the executable
//! runs (after folding and fusion), each priced by the calibrated model
//! ([`crate::model`]) for a thread count, with the graph's MAC of the nodes
//! it stands for and its own executed MAC. [`attach`] makes these times the
//! analysis' predictions: each kernel's time is shared among its source
//! nodes in proportion to their roofline times.

use crate::model::{HostModel, KernelDesc};
use crate::Analysis;
use nnc_ir::Graph;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{self, Write};

/// One priced kernel.
#[derive(Clone, Debug, PartialEq)]
pub struct ExecutedKernel {
    pub desc: KernelDesc,
    /// Predicted time, ms.
    pub predicted_ms: f64,
    /// MAC (elements) of the source nodes it stands for.
    pub graph_mac: u64,
}

/// The executed plan priced for one platform and thread count.
#[derive(Clone, Debug, PartialEq)]
pub struct Executed {
    /// What the times are for (`host, 2 threads`).
    pub platform: String,
    pub threads: usize,
    pub kernels: Vec<ExecutedKernel>,
    /// Time between two kernels (dispatch, thread wake-up and join), ms,
    /// counted once per kernel in the total.
    pub gap_ms: f64,
}

impl Executed {
    /// Prices `kernels` with `model` on `threads` threads; `graph_mac` of
    /// each kernel from `a` (the source-graph analysis).
    pub fn price(
        a: &Analysis,
        g: &Graph,
        kernels: Vec<KernelDesc>,
        model: &HostModel,
        threads: usize,
    ) -> Executed {
        let mac = source_mac(a, g);
        let kernels = kernels
            .into_iter()
            .map(|d| ExecutedKernel {
                predicted_ms: model.predict(&d, threads),
                graph_mac: d.origins.iter().filter_map(|o| mac.get(o.as_str())).sum(),
                desc: d,
            })
            .collect();
        Executed {
            platform: "host".into(),
            threads,
            kernels,
            gap_ms: model.gap_ms(threads),
        }
    }

    /// Predicted time of the kernels themselves, ms.
    pub fn kernels_ms(&self) -> f64 {
        self.kernels.iter().map(|k| k.predicted_ms).sum()
    }

    /// Predicted time between the kernels, ms.
    pub fn gaps_ms(&self) -> f64 {
        self.kernels.len() as f64 * self.gap_ms
    }

    /// Predicted time of the whole plan, ms: its kernels and the gaps.
    pub fn total_ms(&self) -> f64 {
        self.kernels_ms() + self.gaps_ms()
    }

    /// Executed MAC of the whole plan, bytes.
    pub fn bytes(&self) -> u64 {
        self.kernels.iter().map(|k| k.desc.bytes).sum()
    }

    /// The plan as JSON: totals and one object per kernel.
    pub fn to_json(&self) -> Value {
        let graph_mac: u64 = self.kernels.iter().map(|k| k.graph_mac).sum();
        json!({
            "platform": self.platform,
            "threads": self.threads,
            "kernels": self.kernels.iter().map(|k| json!({
                "name": k.desc.name,
                "op": k.desc.op,
                "class": k.desc.class,
                "origins": k.desc.origins,
                "flops": k.desc.flops,
                "mult_adds": k.desc.mult_adds,
                "tasks": k.desc.tasks,
                "graph_mac_bytes": k.graph_mac.saturating_mul(4),
                "executed_mac_bytes": k.desc.bytes,
                "predicted_ms": k.predicted_ms,
            })).collect::<Vec<_>>(),
            "kernel_count": self.kernels.len(),
            "graph_mac_bytes": graph_mac.saturating_mul(4),
            "executed_mac_bytes": self.bytes(),
            "kernels_ms": self.kernels_ms(),
            "gap_ms_per_kernel": self.gap_ms,
            "predicted_ms": self.total_ms(),
        })
    }

    /// The plan as a text table.
    pub fn write_table(&self, w: &mut dyn Write) -> io::Result<()> {
        let total = self.kernels_ms();
        writeln!(
            w,
            "executed plan: {} kernels, predicted on {} with {} thread{}",
            self.kernels.len(),
            self.platform,
            self.threads,
            if self.threads == 1 { "" } else { "s" }
        )?;
        let namew = self
            .kernels
            .iter()
            .map(|k| k.desc.name.chars().count())
            .max()
            .unwrap_or(4)
            .clamp(4, 40);
        writeln!(
            w,
            "{:>4}  {:<namew$}  {:<14}  {:>6}  {:>10}  {:>10}  {:>11}  {:>6}",
            "#", "kernel", "class", "tasks", "graph MAC", "exec MAC", "predicted", "share"
        )?;
        for (i, k) in self.kernels.iter().enumerate() {
            writeln!(
                w,
                "{:>4}  {:<namew$}  {:<14}  {:>6}  {:>10}  {:>10}  {:>8.4} ms  {:>5.1}%",
                i,
                k.desc.name,
                k.desc.class,
                k.desc.tasks,
                crate::report::human_bytes(k.graph_mac.saturating_mul(4)),
                crate::report::human_bytes(k.desc.bytes),
                k.predicted_ms,
                if total > 0.0 {
                    100.0 * k.predicted_ms / total
                } else {
                    0.0
                }
            )?;
        }
        let graph_mac: u64 = self.kernels.iter().map(|k| k.graph_mac).sum();
        if self.gap_ms > 0.0 {
            writeln!(
                w,
                "{:>4}  {:<namew$}  {:<14}  {:>6}  {:>10}  {:>10}  {:>8.4} ms",
                "",
                format!("between kernels ({:.4} ms each)", self.gap_ms),
                "",
                "",
                "",
                "",
                self.gaps_ms()
            )?;
        }
        writeln!(
            w,
            "{:>4}  {:<namew$}  {:<14}  {:>6}  {:>10}  {:>10}  {:>8.4} ms",
            "",
            "total",
            "",
            "",
            crate::report::human_bytes(graph_mac.saturating_mul(4)),
            crate::report::human_bytes(self.bytes()),
            self.total_ms()
        )
    }
}

/// MAC (elements) per source node name.
fn source_mac<'g>(a: &Analysis, g: &'g Graph) -> HashMap<&'g str, u64> {
    a.nodes
        .iter()
        .map(|n| (g.node(n.id).name.as_str(), n.cost.mac))
        .collect()
}

/// Makes the executed plan's times the analysis' predictions: a kernel's
/// time goes to its source nodes in proportion to their roofline times
/// (equally when those are all 0); source nodes no kernel stands for (a
/// flatten planned as a view, dead code) get 0. Block sums follow; the total
/// is the plan's, with the gaps between kernels.
pub fn attach(a: &mut Analysis, g: &Graph, ex: &Executed) {
    let by_name: HashMap<&str, usize> = a
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (g.node(n.id).name.as_str(), i))
        .collect();
    let mut new = vec![0.0f64; a.nodes.len()];
    for k in &ex.kernels {
        let idx: Vec<usize> = k
            .desc
            .origins
            .iter()
            .filter_map(|o| by_name.get(o.as_str()).copied())
            .collect();
        if idx.is_empty() {
            continue;
        }
        let weight: f64 = idx.iter().map(|&i| a.nodes[i].predicted_ms).sum();
        for &i in &idx {
            let share = if weight > 0.0 {
                a.nodes[i].predicted_ms / weight
            } else {
                1.0 / idx.len() as f64
            };
            new[i] += k.predicted_ms * share;
        }
    }
    for (n, t) in a.nodes.iter_mut().zip(&new) {
        n.predicted_ms = *t;
    }
    // the gaps between kernels belong to no node: the total has them
    a.totals.predicted_ms = new.iter().sum::<f64>() + ex.gaps_ms();
    for b in &mut a.blocks {
        b.predicted_ms = 0.0;
    }
    for n in &a.nodes {
        for b in g.block_path(n.id) {
            if let Some(ba) = a.blocks.get_mut(b.0 as usize) {
                ba.predicted_ms += n.predicted_ms;
            }
        }
    }
    a.executed = Some(ex.clone());
}
