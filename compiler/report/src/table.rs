//! The human table of `nnc analyze` ([`render_table`], [`write_table`]):
//! one row per node (or per part of a priced node), then a summary.

use comfy_table::{presets, Cell, CellAlignment, ContentArrangement, Table};
use nnc_analysis::report::{human, human_bytes, human_ms, with_commas};
use nnc_analysis::{Analysis, Bound, NodeAnalysis};
use nnc_ir::shape::fmt_shape as shape_str;
use nnc_ir::Graph;
use std::fmt;
use std::io::{self, Write};
use std::str::FromStr;

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

/// A sort key that is none of `order`, `time`, `mac`, `flops`, `params`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownSortKey(pub String);

impl fmt::Display for UnknownSortKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown sort key `{}`; expected order, time, mac, flops or params",
            self.0
        )
    }
}

impl std::error::Error for UnknownSortKey {}

impl FromStr for SortKey {
    type Err = UnknownSortKey;
    fn from_str(s: &str) -> Result<SortKey, UnknownSortKey> {
        match s.to_ascii_lowercase().as_str() {
            "order" => Ok(SortKey::Order),
            "time" => Ok(SortKey::Time),
            "mac" => Ok(SortKey::Mac),
            "flops" => Ok(SortKey::Flops),
            "params" => Ok(SortKey::Params),
            _ => Err(UnknownSortKey(s.to_string())),
        }
    }
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
    let Some(d) = nnc_analysis::attention::node_dims(g, n.id) else {
        return Vec::new();
    };
    d.parts()
        .iter()
        .map(|p| {
            let shape: Vec<usize> = nnc_analysis::attention::part_shape(&d, p.name)
                .iter()
                .map(|&v| v as usize)
                .collect();
            let c = nnc_analysis::cost::Cost {
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
    fn sort_keys() {
        assert_eq!("TIME".parse::<SortKey>(), Ok(SortKey::Time));
        assert!("x".parse::<SortKey>().is_err());
    }
}
