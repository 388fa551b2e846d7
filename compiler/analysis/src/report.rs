//! The outputs of `nnc analyze`: the JSON object of `docs/analysis.md` ("Output")
//! ([`Analysis::to_json`]) and a human table ([`render_table`]).

use crate::{Analysis, Bound, NodeAnalysis};
use comfy_table::{presets, Cell, CellAlignment, ContentArrangement, Table};
use nnc_diag::SourceFile;
use nnc_ir::Graph;
use serde_json::{json, Value};
use std::io::{self, Write};
use std::str::FromStr;

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

/// Row order of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SortKey {
    /// Execution order.
    #[default]
    Order,
    /// Predicted time, largest first.
    Time,
    /// Memory access cost, largest first.
    Mac,
    /// FLOPs, largest first.
    Flops,
    /// Parameters, largest first.
    Params,
}

impl FromStr for SortKey {
    type Err = String;
    fn from_str(s: &str) -> Result<SortKey, String> {
        match s.to_ascii_lowercase().as_str() {
            "order" => Ok(SortKey::Order),
            "time" => Ok(SortKey::Time),
            "mac" => Ok(SortKey::Mac),
            "flops" => Ok(SortKey::Flops),
            "params" => Ok(SortKey::Params),
            _ => Err(format!(
                "unknown sort key `{s}`; expected order, time, mac, flops or params"
            )),
        }
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

fn with_commas(n: u64) -> String {
    let digits: Vec<char> = n.to_string().chars().rev().collect();
    let groups: Vec<String> = digits.chunks(3).map(|c| c.iter().rev().collect()).collect();
    groups.into_iter().rev().collect::<Vec<_>>().join(",")
}

fn shape_str(s: &[usize]) -> String {
    let parts: Vec<String> = s.iter().map(|d| d.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

/// Headers of the per-node table.
const HEADERS: [&str; 12] = [
    "#",
    "node",
    "op",
    "output shape",
    "params",
    "mult-adds",
    "FLOPs",
    "MAC (elems)",
    "FLOP/B",
    "bound",
    "time",
    "share",
];

/// Right-aligned columns of the per-node table.
const RIGHT: [bool; 12] = [
    true, false, false, false, true, true, true, true, true, false, true, true,
];

/// The cells of one node's row (plain text) and, with colour, the ANSI style
/// of the `bound` and `share` cells.
fn node_cells(
    n: &NodeAnalysis,
    g: &Graph,
    total_ms: f64,
) -> ([String; 12], [Option<&'static str>; 2]) {
    let node = g.node(n.id);
    let share = if total_ms > 0.0 {
        n.predicted_ms / total_ms
    } else {
        0.0
    };
    let styles = [
        Some(match n.bound {
            Bound::Compute => "\u{1b}[38;5;10m",
            Bound::Memory => "\u{1b}[38;5;11m",
        }),
        (share >= 0.05).then_some("\u{1b}[1m\u{1b}[38;5;9m"),
    ];
    (
        [
            n.id.0.to_string(),
            node.name.clone(),
            node.op.name().to_string(),
            shape_str(&node.shape),
            human(n.cost.params),
            human(n.cost.mult_adds),
            human(n.cost.flops),
            human(n.cost.mac),
            format!("{:.2}", n.cost.intensity()),
            n.bound.as_str().to_string(),
            human_ms(n.predicted_ms),
            format!("{:.1}%", share * 100.0),
        ],
        styles,
    )
}

/// Extra rows under an attention node: its parts (QKᵀ, softmax, AV, the
/// projections) with their mult-adds, FLOPs and MAC; the `L×L` scores show
/// up in the shapes and MAC of `qk^T`, `softmax` and `av`.
fn part_cells(n: &NodeAnalysis, g: &Graph) -> Vec<[String; 12]> {
    let Some(d) = crate::attention::node_dims(g, n.id) else {
        return Vec::new();
    };
    d.parts()
        .iter()
        .map(|p| {
            let shape: Vec<usize> = crate::attention::part_shape(&d, p.name)
                .iter()
                .map(|&v| v as usize)
                .collect();
            let c = crate::cost::Cost {
                mult_adds: p.mult_adds,
                flops: p.flops,
                mac: p.mac,
                ..Default::default()
            };
            [
                String::new(),
                format!("  └ {}", p.name),
                "(part)".to_string(),
                shape_str(&shape),
                String::new(),
                human(p.mult_adds),
                human(p.flops),
                human(p.mac),
                format!("{:.2}", c.intensity()),
                String::new(),
                String::new(),
                String::new(),
            ]
        })
        .collect()
}

fn width(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
}

/// A border line of the per-node table (`┌─┬─┐`, `╞═╪═╡`, `└─┴─┘`).
fn border(
    w: &mut dyn Write,
    widths: &[usize; 12],
    l: &str,
    fill: &str,
    mid: &str,
    r: &str,
) -> io::Result<()> {
    w.write_all(l.as_bytes())?;
    for (i, cw) in widths.iter().enumerate() {
        if i > 0 {
            w.write_all(mid.as_bytes())?;
        }
        w.write_all(fill.repeat(cw + 2).as_bytes())?;
    }
    writeln!(w, "{r}")
}

/// One row of the per-node table; `styles` colour the bound and share cells.
fn row(
    w: &mut dyn Write,
    widths: &[usize; 12],
    cells: &[String; 12],
    styles: [Option<&str>; 2],
) -> io::Result<()> {
    w.write_all("│".as_bytes())?;
    for (i, c) in cells.iter().enumerate() {
        if i > 0 {
            w.write_all("┆".as_bytes())?;
        }
        let pad = widths[i].saturating_sub(width(c));
        let style = match i {
            9 => styles[0],
            11 => styles[1],
            _ => None,
        };
        let (l, r) = if RIGHT[i] { (pad, 0) } else { (0, pad) };
        write!(w, " {:l$}", "")?;
        match style {
            Some(st) => write!(w, "{st}{c}\u{1b}[39m\u{1b}[22m")?,
            None => w.write_all(c.as_bytes())?,
        }
        write!(w, "{:r$} ", "")?;
    }
    writeln!(w, "│")
}

/// The human table of `nnc analyze` as a string; see [`write_table`].
pub fn render_table(a: &Analysis, g: &Graph, sort: SortKey, color: bool) -> String {
    let mut out = Vec::new();
    // writing to a Vec cannot fail
    let _ = write_table(&mut out, a, g, sort, color);
    String::from_utf8_lossy(&out).into_owned()
}

/// The human table of `nnc analyze`: one row per op, then the totals and the
/// graph figures, each under an unambiguous name. With `color`, ANSI styles
/// are emitted (bound column, and the time share of heavy nodes).
///
/// The per-node rows are streamed to `w` (two passes over the nodes: column
/// widths, then the rows), so memory does not grow with the table: a
/// million-node graph no longer builds a table of gigabytes in memory.
pub fn write_table(
    w: &mut dyn Write,
    a: &Analysis,
    g: &Graph,
    sort: SortKey,
    color: bool,
) -> io::Result<()> {
    let mut rows: Vec<&NodeAnalysis> = a.nodes.iter().collect();
    match sort {
        SortKey::Order => {}
        SortKey::Time => rows.sort_by(|x, y| y.predicted_ms.total_cmp(&x.predicted_ms)),
        SortKey::Mac => rows.sort_by_key(|n| std::cmp::Reverse(n.cost.mac)),
        SortKey::Flops => rows.sort_by_key(|n| std::cmp::Reverse(n.cost.flops)),
        SortKey::Params => rows.sort_by_key(|n| std::cmp::Reverse(n.cost.params)),
    }
    let total_ms = a.totals.predicted_ms;
    let mut widths = HEADERS.map(width);
    for n in &rows {
        let (cells, _) = node_cells(n, g, total_ms);
        for cells in std::iter::once(cells).chain(part_cells(n, g)) {
            for (wd, c) in widths.iter_mut().zip(&cells) {
                *wd = (*wd).max(width(c));
            }
        }
    }
    border(w, &widths, "┌", "─", "┬", "┐")?;
    row(w, &widths, &HEADERS.map(String::from), [None, None])?;
    border(w, &widths, "╞", "═", "╪", "╡")?;
    for n in &rows {
        let (cells, styles) = node_cells(n, g, total_ms);
        row(
            w,
            &widths,
            &cells,
            if color { styles } else { [None, None] },
        )?;
        for cells in part_cells(n, g) {
            row(w, &widths, &cells, [None, None])?;
        }
    }
    border(w, &widths, "└", "─", "┴", "┘")?;
    w.write_all(summary_table(a, g, color).as_bytes())?;
    if let Some(ex) = &a.executed {
        writeln!(w)?;
        ex.write_table(w)?;
    }
    Ok(())
}

/// The totals and graph figures (a small table).
fn summary_table(a: &Analysis, g: &Graph, color: bool) -> String {
    let tt = &a.totals;
    let p = &a.platform;
    let compute: Vec<&NodeAnalysis> = a
        .nodes
        .iter()
        .filter(|n| n.bound == Bound::Compute)
        .collect();
    let compute_ms: f64 = compute.iter().map(|n| n.predicted_ms).sum();
    let mut s = Table::new();
    s.load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled);
    if !color {
        s.force_no_tty();
    }
    s.set_header(vec![format!("network `{}`", g.name), "total".to_string()]);
    let count = |n: u64| format!("{} ({})", human(n), with_commas(n));
    let mut kv = |k: &str, v: String| {
        s.add_row(vec![Cell::new(k), Cell::new(v)]);
    };
    kv("params (trainable, PyTorch count)", count(tt.cost.params));
    kv(
        "mult-adds (MACs, torchvision convention)",
        count(tt.cost.mult_adds),
    );
    kv("FLOPs (2×mult-adds + other ops)", count(tt.cost.flops));
    kv(
        "MAC (memory access cost, unfused)",
        format!(
            "{} elems = {}",
            human(tt.cost.mac),
            human_bytes(tt.cost.mac_bytes())
        ),
    );
    kv(
        "ops / depth / width",
        format!("{} / {} / {}", tt.ops, tt.depth, tt.width),
    );
    kv(
        "parallelism (ops / depth)",
        format!("{:.2}", tt.parallelism),
    );
    kv(
        "element-wise share of MAC (G4)",
        format!("{:.1}%", tt.elementwise_share * 100.0),
    );
    kv(
        "peak activation memory",
        human_bytes(tt.peak_activation_bytes),
    );
    if let Some(b) = a
        .blocks
        .iter()
        .max_by_key(|b| (b.branches, std::cmp::Reverse(b.id)))
    {
        kv(
            "block instances / most branches (G3)",
            format!(
                "{} / {} in `{}` ({})",
                a.blocks.len(),
                b.branches,
                b.name,
                b.block
            ),
        );
    }
    kv(
        "platform",
        format!(
            "{}: {:.1} GFLOP/s, {:.1} GB/s, ridge {:.2} FLOP/B",
            p.name,
            p.peak_gflops,
            p.bandwidth_gbs,
            p.ridge_intensity()
        ),
    );
    kv(
        "compute-bound / memory-bound ops",
        format!(
            "{} ({}) / {} ({})",
            compute.len(),
            human_ms(compute_ms),
            a.nodes.len() - compute.len(),
            human_ms(tt.predicted_ms - compute_ms)
        ),
    );
    match &a.executed {
        Some(ex) => {
            kv(
                "predicted latency (executed plan, calibrated model)",
                format!(
                    "{} on {}, {} thread{}",
                    human_ms(tt.predicted_ms),
                    ex.platform,
                    ex.threads,
                    if ex.threads == 1 { "" } else { "s" }
                ),
            );
            kv(
                "MAC: graph / executed plan",
                format!(
                    "{} / {} ({} kernels)",
                    human_bytes(tt.cost.mac_bytes()),
                    human_bytes(ex.bytes()),
                    ex.kernels.len()
                ),
            );
        }
        None => kv(
            "predicted latency (roofline, sum)",
            format!("{} on {}", human_ms(tt.predicted_ms), p.name),
        ),
    }
    kv(
        "critical path (unlimited inter-op parallelism)",
        format!(
            "{} over {} ops",
            human_ms(tt.critical_path_ms),
            a.critical_path.len()
        ),
    );
    if let Some(c) = s.column_mut(1) {
        c.set_cell_alignment(CellAlignment::Right);
    }
    format!(
        "{s}\nMAC = memory access cost (elements read + written, weights included), not multiply-accumulates.\n"
    )
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
        assert_eq!("TIME".parse::<SortKey>(), Ok(SortKey::Time));
        assert!("x".parse::<SortKey>().is_err());
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
