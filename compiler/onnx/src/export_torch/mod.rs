//! Export of an elaborated graph to a self-contained PyTorch module. The
//! modules with weights are registered under nnc's weight names (nested
//! containers for dotted names), so `state_dict()` keys equal nnc's and a
//! safetensors file of nnc's weights loads with `load_state_dict`.
//!
//! Structure is kept where the graph records it: each outermost block
//! instance becomes a submodule whose class is shared by the instances of
//! that block with the same structure ([`classes`]: integer attributes that
//! differ between them, such as widths and strides, become constructor
//! arguments); chains of instances become `nn.Sequential` containers or
//! `for` loops ([`chains`]). Everything else is straight-line code, one
//! statement per nnc op with the op's name in a comment.

mod chains;
mod classes;
mod node;

use crate::error::Error;
use nnc_ir::{BlockId, Graph, NodeId};
use node::py_str;
use std::collections::HashMap;

/// One outermost block instance: its nodes (in topological order), the
/// values it takes and the values it gives.
pub(crate) struct Instance {
    pub id: BlockId,
    pub name: String,
    pub block: String,
    pub nodes: Vec<NodeId>,
    pub inputs: Vec<NodeId>,
    pub outputs: Vec<NodeId>,
}

/// A step of the forward: a node of the network body or an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Unit {
    Node(NodeId),
    Inst(usize),
}

fn class_name(name: &str) -> String {
    let mut c: String = name
        .split('_')
        .map(|p| {
            let mut ch = p.chars();
            match ch.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + ch.as_str(),
                None => String::new(),
            }
        })
        .collect();
    if c.is_empty() || c.starts_with(|x: char| x.is_ascii_digit()) {
        c = format!("Net{c}");
    }
    c
}

/// The outermost block instances with their nodes, inputs and outputs.
fn instances(g: &Graph, order: &[NodeId]) -> Vec<Instance> {
    let mut of: HashMap<BlockId, usize> = HashMap::new();
    let mut out: Vec<Instance> = Vec::new();
    for &id in order {
        let Some(&top) = g.block_path(id).first() else {
            continue;
        };
        let k = *of.entry(top).or_insert_with(|| {
            let b = g.block(top);
            out.push(Instance {
                id: top,
                name: b.name.clone(),
                block: b.block.clone(),
                nodes: Vec::new(),
                inputs: Vec::new(),
                outputs: Vec::new(),
            });
            out.len() - 1
        });
        out[k].nodes.push(id);
    }
    let graph_outputs: Vec<NodeId> = g.outputs.iter().map(|o| o.node).collect();
    for inst in &mut out {
        let inside = |n: NodeId| g.block_path(n).first() == Some(&inst.id);
        for &n in &inst.nodes {
            for i in g.inputs(n) {
                if !inside(i) && !inst.inputs.contains(&i) {
                    inst.inputs.push(i);
                }
            }
            if graph_outputs.contains(&n) || g.users(n).into_iter().any(|u| !inside(u)) {
                inst.outputs.push(n);
            }
        }
    }
    out
}

/// The forward's steps in dependency order, each instance as one step;
/// None when an instance is not convex (a value leaves it and comes back).
fn schedule(g: &Graph, order: &[NodeId], insts: &[Instance]) -> Option<Vec<Unit>> {
    let mut unit_of: HashMap<NodeId, Unit> = HashMap::new();
    for (k, inst) in insts.iter().enumerate() {
        for &n in &inst.nodes {
            unit_of.insert(n, Unit::Inst(k));
        }
    }
    let unit = |n: NodeId| unit_of.get(&n).copied().unwrap_or(Unit::Node(n));
    let mut units: Vec<Unit> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for &n in order {
        if seen.insert(unit(n)) {
            units.push(unit(n));
        }
    }
    let index: HashMap<Unit, usize> = units.iter().enumerate().map(|(i, u)| (*u, i)).collect();
    let mut indeg = vec![0usize; units.len()];
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); units.len()];
    for &n in order {
        let to = index[&unit(n)];
        for i in g.inputs(n) {
            let from = index[&unit(i)];
            if from != to && !succ[from].contains(&to) {
                succ[from].push(to);
                indeg[to] += 1;
            }
        }
    }
    // Kahn's algorithm, always taking the earliest ready unit
    let mut ready: std::collections::BTreeSet<usize> =
        (0..units.len()).filter(|&u| indeg[u] == 0).collect();
    let mut out = Vec::with_capacity(units.len());
    while let Some(u) = ready.pop_first() {
        out.push(units[u]);
        for &s in &succ[u] {
            indeg[s] -= 1;
            if indeg[s] == 0 {
                ready.insert(s);
            }
        }
    }
    (out.len() == units.len()).then_some(out)
}

/// Python source of a module class named after the network.
pub fn export(g: &Graph) -> Result<String, Error> {
    let order = g.topo_order().ok_or_else(|| {
        Error::new(
            nnc_diag::codes::onnx::EXPORT_FAILED,
            "the graph has a cycle",
        )
    })?;
    let all = instances(g, &order);
    // instances whose weights are all named inside them become submodules
    let insts: Vec<Instance> = all
        .into_iter()
        .filter(|i| {
            !i.nodes.is_empty()
                && i.nodes.iter().all(|&n| {
                    !g.node(n).op.has_weights()
                        || g.node(n).name.starts_with(&format!("{}.", i.name))
                })
        })
        .collect();
    let (units, insts) = match schedule(g, &order, &insts) {
        Some(u) => (u, insts),
        None => (order.iter().map(|&n| Unit::Node(n)).collect(), Vec::new()),
    };
    let classes = classes::build(g, &insts)?;
    let mut init = Vec::new();
    let mut fwd = Vec::new();
    let mut var: HashMap<NodeId, String> = HashMap::new();
    let mut params = Vec::new();
    let mut k = 0usize;
    let mut fresh = || {
        k += 1;
        format!("t{k}")
    };
    let steps = chains::plan(g, &units, &insts, &classes);
    for step in steps {
        match step {
            chains::Step::Node(id) => {
                let node = g.node(id);
                let ins: Vec<String> = g.inputs(id).iter().map(|i| var[i].clone()).collect();
                match node::code(g, id, &ins, &node.name)? {
                    None => {
                        params.push(node.name.clone());
                        var.insert(id, node.name.clone());
                    }
                    Some((module, expr)) => {
                        if let Some(m) = module {
                            init.push(format!("self._add({}, {m})", py_str(&node.name)));
                        }
                        let v = fresh();
                        fwd.push(format!("{v} = {expr}  # {}", node.name));
                        var.insert(id, v);
                    }
                }
            }
            chains::Step::Call { inst, .. } | chains::Step::Chain { first: inst, .. } => {
                let i = &insts[inst];
                let ins: Vec<String> = i.inputs.iter().map(|n| var[n].clone()).collect();
                let outs: Vec<String> = match &step {
                    chains::Step::Chain { last, .. } => {
                        insts[*last].outputs.iter().map(|_| fresh()).collect()
                    }
                    _ => i.outputs.iter().map(|_| fresh()).collect(),
                };
                let (i_lines, f_lines) = chains::render(&step, &insts, &classes, &ins, &outs);
                init.extend(i_lines);
                fwd.extend(f_lines);
                let last = match &step {
                    chains::Step::Chain { last, .. } => &insts[*last],
                    _ => i,
                };
                for (n, v) in last.outputs.iter().zip(outs) {
                    var.insert(*n, v);
                }
            }
        }
    }
    let outs: Vec<String> = g.outputs.iter().map(|o| var[&o.node].clone()).collect();
    let ret = if outs.len() == 1 {
        outs[0].clone()
    } else {
        format!("({})", outs.join(", "))
    };
    let class = class_name(&g.name);
    let mut s = String::new();
    s.push_str(&format!("\"\"\"PyTorch module for the nnc network `{}` (generated by `nnc export --format torch`).\n\nThe state_dict keys are nnc's weight names, so\n    model.load_state_dict(safetensors.torch.load_file(\"weights.safetensors\"), strict=False)\nloads nnc's weights (strict=False only tolerates the missing BatchNorm num_batches_tracked buffers).\n\"\"\"\n\n", g.name));
    s.push_str("import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n\n");
    s.push_str("def _channel_shuffle(x, groups):\n    n, c, h, w = x.shape\n    return x.reshape(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)\n\n\n");
    s.push_str("class _Module(nn.Module):\n    \"\"\"Registers submodules under dotted names (nested containers), so that\n    state_dict keys are nnc's weight names.\"\"\"\n\n    def __init__(self):\n        super().__init__()\n        self._m = {}\n\n    def _add(self, name, module):\n        parent = self\n        parts = name.split(\".\")\n        for p in parts[:-1]:\n            if not isinstance(getattr(parent, p, None), nn.Module):\n                parent.add_module(p, nn.Module())\n            parent = getattr(parent, p)\n        if isinstance(module, nn.Parameter):\n            parent.register_parameter(parts[-1], module)\n        elif isinstance(module, torch.Tensor):\n            parent.register_buffer(parts[-1], module, persistent=False)\n        else:\n            parent.add_module(parts[-1], module)\n        self._m[name] = module\n        return module\n\n\n");
    for c in &classes.defs {
        s.push_str(c);
        s.push_str("\n\n");
    }
    s.push_str(&format!("class {class}(_Module):\n"));
    s.push_str("    def __init__(self):\n        super().__init__()\n");
    for l in &init {
        s.push_str(&format!("        {l}\n"));
    }
    s.push_str(&format!(
        "\n    def forward(self, {}):\n",
        params.join(", ")
    ));
    for l in &fwd {
        s.push_str(&format!("        {l}\n"));
    }
    s.push_str(&format!("        return {ret}\n"));
    s.push_str(&format!("\n\ndef make():\n    return {class}().eval()\n"));
    Ok(s)
}
