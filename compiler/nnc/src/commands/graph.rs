//! `nnc graph`: the elaborated graph as Graphviz DOT (block instances as
//! nested clusters) or JSON (nodes with their weights and spans).

use crate::cli::GraphFormat;
use crate::exit;
use crate::outfile;
use crate::output;
use crate::output::out;
use nnc_ir::{BlockId, Graph, NodeId};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

pub fn run(
    path: &Path,
    network: Option<&str>,
    format: GraphFormat,
    out: Option<&Path>,
    color: bool,
) -> u8 {
    let compiled = match super::load_graph(path, network, color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let Some(g) = compiled.graph.as_ref() else {
        return exit::INPUT_ERRORS;
    };
    let text = match format {
        GraphFormat::Dot => to_dot(g),
        GraphFormat::Json => {
            let mut s =
                serde_json::to_string_pretty(&to_json(g, &compiled.file.name)).unwrap_or_default();
            s.push('\n');
            s
        }
    };
    match out {
        Some(p) => {
            let mut outs = outfile::Outputs::new();
            outs.input(path);
            if let Err(e) = outs
                .plan(p)
                .and_then(|()| outfile::write(p, text.as_bytes(), outfile::Mode::Data))
            {
                output::usage_error(e);
                return exit::USAGE;
            }
        }
        None => out!("{text}"),
    }
    exit::OK
}

fn shape_str(s: &[usize]) -> String {
    let parts: Vec<String> = s.iter().map(|d| d.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The graph in Graphviz DOT: one box per node (op, name, shape), edges
/// labelled with the tensor shape, block instances as nested clusters.
pub fn to_dot(g: &Graph) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "digraph \"{}\" {{", dot_escape(&g.name));
    let _ = writeln!(s, "  rankdir=TB;");
    let _ = writeln!(s, "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#f5f5f5\", fontname=\"Helvetica\", fontsize=10];");
    let _ = writeln!(s, "  edge [fontname=\"Helvetica\", fontsize=8];");
    // nodes grouped by innermost block instance
    let mut by_block: BTreeMap<Option<BlockId>, Vec<NodeId>> = BTreeMap::new();
    for id in g.node_ids() {
        by_block.entry(g.node(id).block).or_default().push(id);
    }
    let mut children: BTreeMap<Option<BlockId>, Vec<BlockId>> = BTreeMap::new();
    for (i, b) in g.blocks.iter().enumerate() {
        children
            .entry(b.parent)
            .or_default()
            .push(BlockId(i as u32));
    }
    fn node_line(g: &Graph, id: NodeId, indent: &str, s: &mut String) {
        let n = g.node(id);
        let fill = match &n.op {
            nnc_ir::Op::Input { .. } => "#d0e8ff",
            nnc_ir::Op::Conv2d(_) | nnc_ir::Op::Linear { .. } | nnc_ir::Op::Fused { .. } => {
                "#ffe4c4"
            }
            op if op.is_elementwise() => "#e8f5e9",
            _ => "#f5f5f5",
        };
        let shape = if g.is_output(id) {
            ", peripheries=2"
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "{indent}n{} [label=\"{}\\n{}\\n{}\", fillcolor=\"{fill}\"{shape}];",
            id.0,
            n.op.name(),
            dot_escape(&n.name),
            shape_str(&n.shape)
        );
    }
    fn cluster(
        g: &Graph,
        b: Option<BlockId>,
        depth: usize,
        by_block: &BTreeMap<Option<BlockId>, Vec<NodeId>>,
        children: &BTreeMap<Option<BlockId>, Vec<BlockId>>,
        s: &mut String,
    ) {
        let indent = "  ".repeat(depth + 1);
        if let Some(nodes) = by_block.get(&b) {
            for &id in nodes {
                node_line(g, id, &indent, s);
            }
        }
        if let Some(kids) = children.get(&b) {
            for &k in kids {
                let inst = g.block(k);
                let _ = writeln!(s, "{indent}subgraph cluster_{} {{", k.0);
                let _ = writeln!(
                    s,
                    "{indent}  label=\"{} ({})\"; style=\"rounded\"; color=\"#9e9e9e\"; fontname=\"Helvetica\"; fontsize=10;",
                    dot_escape(&inst.name),
                    dot_escape(&inst.block)
                );
                cluster(g, Some(k), depth + 1, by_block, children, s);
                let _ = writeln!(s, "{indent}}}");
            }
        }
    }
    cluster(g, None, 0, &by_block, &children, &mut s);
    for id in g.node_ids() {
        for (slot, src) in g.inputs(id).into_iter().enumerate() {
            let label = shape_str(&g.node(src).shape);
            let slot_label = if g.inputs(id).len() > 1 {
                format!(" #{slot}")
            } else {
                String::new()
            };
            let _ = writeln!(
                s,
                "  n{} -> n{} [label=\"{}{}\"];",
                src.0, id.0, label, slot_label
            );
        }
    }
    for (i, o) in g.outputs.iter().enumerate() {
        let _ = writeln!(
            s,
            "  out{i} [label=\"output {}\", shape=ellipse, fillcolor=\"#fff9c4\"];\n  n{} -> out{i};",
            dot_escape(&o.name),
            o.node.0
        );
    }
    s.push_str("}\n");
    s
}

/// The graph as JSON: nodes (id, op, name, inputs, shape, weights with their
/// PyTorch shapes, block instance, span), blocks, inputs and outputs.
pub fn to_json(g: &Graph, file: &str) -> Value {
    let order = g.topo_order().unwrap_or_else(|| g.node_ids().collect());
    let nodes: Vec<Value> = order
        .iter()
        .map(|&id| {
            let n = g.node(id);
            let ins = g.inputs(id);
            let in_shapes: Vec<&[usize]> = ins.iter().map(|&i| g.node(i).shape.as_slice()).collect();
            let weights: Vec<Value> = nnc_ir::op::weight_specs(&n.op, &in_shapes)
                .into_iter()
                .map(|w| json!({ "key": w.key(&n.name), "shape": w.shape, "trainable": w.trainable }))
                .collect();
            let sp = g.span(id);
            json!({
                "id": id.0,
                "op": n.op.name(),
                "name": n.name,
                "inputs": ins.iter().map(|i| i.0).collect::<Vec<_>>(),
                "shape": n.shape,
                "attrs": serde_json::to_value(&n.op).unwrap_or(Value::Null),
                "weights": weights,
                "block": n.block.map(|b| g.block(b).name.clone()),
                "span": { "file": file, "byte_start": sp.start, "byte_end": sp.end },
            })
        })
        .collect();
    let blocks: Vec<Value> = g
        .blocks
        .iter()
        .map(|b| {
            json!({
                "name": b.name,
                "block": b.block,
                "parent": b.parent.map(|p| g.block(p).name.clone()),
            })
        })
        .collect();
    json!({
        "network": g.name,
        "inputs": g.inputs.iter().map(|&i| json!({"name": g.node(i).name, "id": i.0, "shape": g.node(i).shape})).collect::<Vec<_>>(),
        "outputs": g.outputs.iter().map(|o| json!({"name": o.name, "id": o.node.0, "shape": g.node(o.node).shape})).collect::<Vec<_>>(),
        "nodes": nodes,
        "blocks": blocks,
    })
}
