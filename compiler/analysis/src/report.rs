//! The JSON output of `nnc analyze` (`docs/analysis.md`, "Output"):
//! [`Analysis::to_json`]; and the human units the table, the lints and the
//! executed-plan listing print. (The table and the roofline plot are in
//! `nnc-report`, which only the `nnc` command pulls in.)

use crate::Analysis;
use nnc_diag::SourceFile;
use nnc_ir::Graph;
use serde_json::{json, Value};

impl Analysis {
    /// The `nnc analyze --format json` object (`docs/analysis.md`), with a
    /// few added fields (`buffers`, `mac_bytes`, `block`, `share`, line and
    /// column in spans, `inputs`, `outputs`, `critical_path`, the
    /// platform's `description`/`source`/`ridge_intensity`, and per-block
    /// costs).
    pub fn to_json(&self, g: &Graph, src: &SourceFile) -> Value {
        let lines = LineIndex::new(&src.text);
        let total_ms = self.totals.predicted_ms;
        let nodes: Vec<Value> = self
            .nodes
            .iter()
            .map(|n| {
                let node = g.node(n.id);
                let span = g.span(n.id);
                let (ls, cs) = lines.line_col(&src.text, span.start as usize);
                let (le, ce) = lines.line_col(&src.text, span.end as usize);
                json!({
                    "id": n.id.0,
                    "op": node.op.name(),
                    "name": node.name,
                    "inputs": g.inputs(n.id).iter().map(|i| i.0).collect::<Vec<_>>(),
                    "shape": node.shape,
                    "params": n.cost.params,
                    "buffers": n.cost.buffers,
                    "mult_adds": n.cost.mult_adds,
                    "flops": n.cost.flops,
                    "mac": n.cost.mac,
                    "mac_bytes": n.cost.mac_bytes(),
                    "intensity": n.cost.intensity(),
                    "depth": n.depth,
                    "bound": n.bound.as_str(),
                    "predicted_ms": n.predicted_ms,
                    "share": if total_ms > 0.0 { n.predicted_ms / total_ms } else { 0.0 },
                    "block": node.block.map(|b| g.block(b).name.clone()),
                    "attention": crate::attention::parts_json(g, n.id),
                    "span": {
                        "file": src.name,
                        "byte_start": span.start,
                        "byte_end": span.end,
                        "line_start": ls,
                        "column_start": cs,
                        "line_end": le,
                        "column_end": ce,
                    },
                })
            })
            .collect();
        let blocks: Vec<Value> = self
            .blocks
            .iter()
            .map(|b| {
                json!({
                    "name": b.name,
                    "block": b.block,
                    "ops": b.ops,
                    "branches": b.branches,
                    "depth": b.depth,
                    "params": b.cost.params,
                    "mult_adds": b.cost.mult_adds,
                    "flops": b.cost.flops,
                    "mac": b.cost.mac,
                    "predicted_ms": b.predicted_ms,
                })
            })
            .collect();
        let t = &self.totals;
        let p = &self.platform;
        json!({
            "network": g.name,
            "totals": {
                "params": t.cost.params,
                "buffers": t.cost.buffers,
                "mult_adds": t.cost.mult_adds,
                "flops": t.cost.flops,
                "mac": t.cost.mac,
                "mac_bytes": t.cost.mac_bytes(),
                "ops": t.ops,
                "depth": t.depth,
                "width": t.width,
                "parallelism": t.parallelism,
                "elementwise_share": t.elementwise_share,
                "peak_activation_bytes": t.peak_activation_bytes,
                "predicted_ms": t.predicted_ms,
                "critical_path_ms": t.critical_path_ms,
                "critical_path": self.critical_path.iter().map(|i| i.0).collect::<Vec<_>>(),
            },
            "executed": self.executed.as_ref().map(|e| e.to_json()),
            "threads": self.executed.as_ref().map(|e| e.threads),
            "platform": {
                "name": p.name,
                "peak_gflops": p.peak_gflops,
                "bandwidth_gbs": p.bandwidth_gbs,
                "ridge_intensity": p.ridge_intensity(),
                "description": p.description,
                "source": p.source,
            },
            "inputs": g.inputs.iter().map(|&i| json!({
                "id": i.0, "name": g.node(i).name, "shape": g.node(i).shape,
            })).collect::<Vec<_>>(),
            "outputs": g.outputs.iter().map(|o| json!({"name": o.name, "id": o.node.0}))
                .collect::<Vec<_>>(),
            "nodes": nodes,
            "blocks": blocks,
        })
    }
}

/// Byte offset → 1-based line and column (chars), in O(log lines).
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { starts }
    }

    fn line_col(&self, text: &str, byte: usize) -> (usize, usize) {
        let mut b = byte.min(text.len());
        while b > 0 && !text.is_char_boundary(b) {
            b -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= b).max(1);
        let start = self.starts[line - 1].min(b);
        let col = text.get(start..b).map_or(0, |s| s.chars().count()) + 1;
        (line, col)
    }
}

/// A count in human units with 3 significant digits: `512`, `11.7 K`,
/// `1.81 G`.
pub fn human(n: u64) -> String {
    human_f(n as f64, "")
}

/// Bytes in decimal units: `12.3 MB`.
pub fn human_bytes(n: u64) -> String {
    human_f(n as f64, "B")
}

fn human_f(x: f64, unit: &str) -> String {
    const PREFIX: [&str; 7] = ["", "K", "M", "G", "T", "P", "E"];
    if x < 1000.0 {
        return if unit.is_empty() {
            format!("{x}")
        } else {
            format!("{x} {unit}")
        };
    }
    let mut v = x;
    let mut i = 0;
    while v >= 999.5 && i + 1 < PREFIX.len() {
        v /= 1000.0;
        i += 1;
    }
    let digits = if v >= 99.95 {
        0
    } else if v >= 9.995 {
        1
    } else {
        2
    };
    format!("{v:.digits$} {}{unit}", PREFIX[i])
}

/// A duration given in ms: `1.23 ms`, `45.6 µs`, `0 ms`.
pub fn human_ms(ms: f64) -> String {
    if ms <= 0.0 || !ms.is_finite() {
        "0 ms".into()
    } else if ms >= 1.0 {
        format!("{ms:.3} ms")
    } else if ms >= 1e-3 {
        let us = ms * 1e3;
        let digits = if us >= 99.95 {
            0
        } else if us >= 9.995 {
            1
        } else {
            2
        };
        format!("{us:.digits$} µs")
    } else {
        format!("{:.1} ns", ms * 1e6)
    }
}

/// `1,814,073,344`.
pub fn with_commas(n: u64) -> String {
    let digits: Vec<char> = n.to_string().chars().rev().collect();
    let groups: Vec<String> = digits.chunks(3).map(|c| c.iter().rev().collect()).collect();
    groups.into_iter().rev().collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(human(0), "0");
        assert_eq!(human(999), "999");
        assert_eq!(human(1000), "1.00 K");
        assert_eq!(human(11_689_512), "11.7 M");
        assert_eq!(human(1_814_073_344), "1.81 G");
        assert_eq!(human(999_999), "1.00 M");
        assert_eq!(human(123_456_789), "123 M");
        assert_eq!(human(u64::MAX), "18.4 E");
        assert_eq!(human_bytes(12_345_678), "12.3 MB");
        assert_eq!(with_commas(1_814_073_344), "1,814,073,344");
        assert_eq!(with_commas(12), "12");
        assert_eq!(human_ms(1.5), "1.500 ms");
        assert_eq!(human_ms(0.0123), "12.3 µs");
        assert_eq!(human_ms(0.0), "0 ms");
    }

    #[test]
    fn line_index() {
        let text = "ab\ncdé\nf";
        let li = LineIndex::new(text);
        assert_eq!(li.line_col(text, 0), (1, 1));
        assert_eq!(li.line_col(text, 3), (2, 1));
        assert_eq!(li.line_col(text, 7), (2, 4));
        assert_eq!(li.line_col(text, 8), (3, 1));
        assert_eq!(li.line_col(text, 100), (3, 2));
        let empty = LineIndex::new("");
        assert_eq!(empty.line_col("", 5), (1, 1));
    }
}
