//! Export of an elaborated graph to a self-contained PyTorch module: the
//! modules with weights are created under nnc's weight names (nested
//! containers for dotted names), so `state_dict()` keys equal nnc's and a
//! safetensors file of nnc's weights loads with `load_state_dict`. The
//! forward is straight-line code, one statement per nnc op.

use crate::error::Error;
use nnc_ir::op::{Activation, BinaryKind, Op};
use nnc_ir::{Graph, NodeId};
use std::collections::HashMap;

fn py_str(s: &str) -> String {
    format!("{s:?}")
}

fn act_expr(a: Activation, x: &str) -> String {
    match a {
        Activation::Relu => format!("F.relu({x})"),
        Activation::Relu6 => format!("F.relu6({x})"),
        Activation::Sigmoid => format!("torch.sigmoid({x})"),
        Activation::Tanh => format!("torch.tanh({x})"),
        Activation::Hardswish => format!("F.hardswish({x})"),
        Activation::Hardsigmoid => format!("F.hardsigmoid({x})"),
        Activation::Silu => format!("F.silu({x})"),
        Activation::Gelu => format!("F.gelu({x})"),
        Activation::LeakyRelu { slope } => format!("F.leaky_relu({x}, {slope:?})"),
    }
}

/// Python source of a module class named after the network.
pub fn export(g: &Graph) -> Result<String, Error> {
    let order = g
        .topo_order()
        .ok_or_else(|| Error::new("E0520", "the graph has a cycle"))?;
    let mut init = Vec::new();
    let mut fwd = Vec::new();
    let mut var: HashMap<NodeId, String> = HashMap::new();
    let mut params = Vec::new();
    for (k, id) in order.iter().enumerate() {
        let node = g.node(*id);
        let ins: Vec<String> = g.inputs(*id).iter().map(|i| var[i].clone()).collect();
        let v = format!("t{k}");
        let nm = py_str(&node.name);
        let in_shape = |i: usize| g.node(g.inputs(*id)[i]).shape.clone();
        let expr = match &node.op {
            Op::Input { name } => {
                params.push(name.to_string());
                var.insert(*id, name.clone());
                continue;
            }
            Op::Conv2d(c) => {
                let cin = in_shape(0)[1];
                init.push(format!(
                    "        self._add({nm}, nn.Conv2d({cin}, {}, kernel_size={:?}, stride={:?}, padding={:?}, dilation={:?}, groups={}, bias={}))",
                    c.out_channels, (c.kernel[0], c.kernel[1]), (c.stride[0], c.stride[1]), (c.pad[0], c.pad[1]),
                    (c.dilation[0], c.dilation[1]), c.groups, if c.bias { "True" } else { "False" }
                ));
                format!("self._m[{nm}]({})", ins[0])
            }
            Op::BatchNorm { eps } => {
                init.push(format!(
                    "        self._add({nm}, nn.BatchNorm2d({}, eps={eps:?}))",
                    in_shape(0)[1]
                ));
                if in_shape(0).len() != 4 {
                    init.pop();
                    init.push(format!(
                        "        self._add({nm}, nn.BatchNorm1d({}, eps={eps:?}))",
                        in_shape(0)[1]
                    ));
                }
                format!("self._m[{nm}]({})", ins[0])
            }
            Op::Linear { out_features, bias } => {
                init.push(format!(
                    "        self._add({nm}, nn.Linear({}, {out_features}, bias={}))",
                    in_shape(0).last().copied().unwrap_or(0),
                    if *bias { "True" } else { "False" }
                ));
                format!("self._m[{nm}]({})", ins[0])
            }
            Op::Act(a) => act_expr(*a, &ins[0]),
            Op::MaxPool(p) => format!(
                "F.max_pool2d({}, {:?}, {:?}, {:?}, ceil_mode={})",
                ins[0],
                (p.kernel[0], p.kernel[1]),
                (p.stride[0], p.stride[1]),
                (p.pad[0], p.pad[1]),
                if p.ceil { "True" } else { "False" }
            ),
            Op::AvgPool { pool: p, count_pad } => format!(
                "F.avg_pool2d({}, {:?}, {:?}, {:?}, ceil_mode={}, count_include_pad={})",
                ins[0],
                (p.kernel[0], p.kernel[1]),
                (p.stride[0], p.stride[1]),
                (p.pad[0], p.pad[1]),
                if p.ceil { "True" } else { "False" },
                if *count_pad { "True" } else { "False" }
            ),
            Op::GlobalAvgPool => format!("F.adaptive_avg_pool2d({}, 1)", ins[0]),
            Op::Flatten => format!("torch.flatten({}, 1)", ins[0]),
            Op::Concat { axis } => format!("torch.cat([{}], {axis})", ins.join(", ")),
            Op::Split {
                axis, start, len, ..
            } => format!("torch.narrow({}, {axis}, {start}, {len})", ins[0]),
            Op::ChannelShuffle { groups } => format!("_channel_shuffle({}, {groups})", ins[0]),
            Op::Softmax { axis } => format!("torch.softmax({}, {axis})", ins[0]),
            Op::Binary(BinaryKind::Add) => format!("{} + {}", ins[0], ins[1]),
            Op::Binary(BinaryKind::Mul) => format!("{} * {}", ins[0], ins[1]),
            Op::Upsample { scale } => format!(
                "F.interpolate({}, scale_factor={scale}, mode=\"nearest\")",
                ins[0]
            ),
            Op::LayerNorm { .. }
            | Op::Reshape { .. }
            | Op::Permute { .. }
            | Op::Slice { .. }
            | Op::Select { .. }
            | Op::MatMul
            | Op::Param { .. }
            | Op::Affine { .. }
            | Op::Roll { .. }
            | Op::Attention { .. } => {
                return Err(Error::new(
                    "E0520",
                    format!(
                        "node `{}`: `{}` has no PyTorch export yet",
                        node.name,
                        node.op.name()
                    ),
                ))
            }
            Op::Fused { .. } => {
                return Err(Error::new(
                    "E0520",
                    format!("node `{}` is a fused op", node.name),
                ))
            }
        };
        fwd.push(format!("        {v} = {expr}  # {}", node.name));
        var.insert(*id, v);
    }
    let outs: Vec<String> = g.outputs.iter().map(|o| var[&o.node].clone()).collect();
    let ret = if outs.len() == 1 {
        outs[0].clone()
    } else {
        format!("({})", outs.join(", "))
    };
    let class = {
        let mut c: String = g
            .name
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
    };
    let mut s = String::new();
    s.push_str(&format!("\"\"\"PyTorch module for the nnc network `{}` (generated by `nnc export --format torch`).\n\nThe state_dict keys are nnc's weight names, so\n    model.load_state_dict(safetensors.torch.load_file(\"weights.safetensors\"), strict=False)\nloads nnc's weights (strict=False only tolerates the missing BatchNorm num_batches_tracked buffers).\n\"\"\"\n\n", g.name));
    s.push_str("import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n\n");
    s.push_str("def _channel_shuffle(x, groups):\n    n, c, h, w = x.shape\n    return x.reshape(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)\n\n\n");
    s.push_str(&format!("class {class}(nn.Module):\n"));
    s.push_str("    def __init__(self):\n        super().__init__()\n        self._m = {}\n");
    for l in &init {
        s.push_str(l);
        s.push('\n');
    }
    s.push_str("\n    def _add(self, name, module):\n        \"\"\"Registers `module` under the dotted `name` (nested containers).\"\"\"\n        parent = self\n        parts = name.split(\".\")\n        for p in parts[:-1]:\n            if not hasattr(parent, p) or not isinstance(getattr(parent, p), nn.Module):\n                parent.add_module(p, nn.Module())\n            parent = getattr(parent, p)\n        parent.add_module(parts[-1], module)\n        self._m[name] = module\n\n");
    s.push_str(&format!("    def forward(self, {}):\n", params.join(", ")));
    for l in &fwd {
        s.push_str(l);
        s.push('\n');
    }
    s.push_str(&format!("        return {ret}\n"));
    s.push_str(&format!("\n\ndef make():\n    return {class}().eval()\n"));
    Ok(s)
}
