//! A compact, stable textual dump of a graph, one line per node, for tests
//! and debugging:
//!
//! ```text
//! graph resnet
//! %0 x = input : [1, 3, 8, 8]
//! %1 conv1 = conv2d(%0) out=4 kernel=3 stride=1 pad=1 bias=false : [1, 4, 8, 8]
//! %2 layer1.relu_0 = relu(%1) : [1, 4, 8, 8] @layer1
//! output y = %2
//! ```
//!
//! Attributes equal to their language default are left out (except `out`,
//! `kernel`, and the split range). `@scope` names the innermost block instance.

use crate::graph::Graph;
use crate::op::{Activation, NormAxes, Op, Pair};
use crate::shape::fmt_shape;
use std::fmt::Write;

fn pair(p: Pair) -> String {
    if p[0] == p[1] {
        p[0].to_string()
    } else {
        format!("[{}, {}]", p[0], p[1])
    }
}

/// The attributes of an op as `key=value` words, defaults left out.
pub fn op_attrs(op: &Op) -> String {
    let mut a: Vec<String> = Vec::new();
    match op {
        Op::Input { .. } | Op::GlobalAvgPool | Op::Flatten | Op::Binary(_) => {}
        Op::Conv2d(c) => {
            a.push(format!("out={}", c.out_channels));
            a.push(format!("kernel={}", pair(c.kernel)));
            if c.stride != [1, 1] {
                a.push(format!("stride={}", pair(c.stride)));
            }
            if c.pad != [0, 0] {
                a.push(format!("pad={}", pair(c.pad)));
            }
            if c.dilation != [1, 1] {
                a.push(format!("dilation={}", pair(c.dilation)));
            }
            if c.groups != 1 {
                a.push(format!("groups={}", c.groups));
            }
            if !c.bias {
                a.push("bias=false".into());
            }
        }
        Op::BatchNorm { eps } => {
            if *eps != 1e-5 {
                a.push(format!("eps={eps}"));
            }
        }
        Op::Linear { out_features, bias } => {
            a.push(format!("out={out_features}"));
            if !bias {
                a.push("bias=false".into());
            }
        }
        Op::Act(Activation::LeakyRelu { slope }) => a.push(format!("slope={slope}")),
        Op::Act(_) => {}
        Op::MaxPool(p) | Op::AvgPool { pool: p, .. } => {
            a.push(format!("kernel={}", pair(p.kernel)));
            if p.stride != p.kernel {
                a.push(format!("stride={}", pair(p.stride)));
            }
            if p.pad != [0, 0] {
                a.push(format!("pad={}", pair(p.pad)));
            }
            if p.ceil {
                a.push("ceil=true".into());
            }
            if let Op::AvgPool {
                count_pad: false, ..
            } = op
            {
                a.push("count_pad=false".into());
            }
        }
        Op::Concat { axis } => a.push(format!("axis={axis}")),
        Op::Split {
            axis,
            start,
            len,
            part,
            parts,
        } => a.push(format!(
            "axis={axis} range={start}..{} part={part}/{parts}",
            start + len
        )),
        Op::ChannelShuffle { groups } => a.push(format!("groups={groups}")),
        Op::Softmax { axis } => a.push(format!("axis={axis}")),
        Op::Upsample { scale } => a.push(format!("scale={scale}")),
        Op::LayerNorm { axes, eps } => {
            match axes {
                NormAxes::Last(n) => a.push(format!("last={n}")),
                NormAxes::Channels => a.push("channels_first".into()),
            }
            a.push(format!("eps={eps}"));
        }
        Op::Reshape { shape } => a.push(format!("shape={}", fmt_shape(shape))),
        Op::Permute { perm } => a.push(format!("perm={}", fmt_shape(perm))),
        Op::Slice {
            axis,
            start,
            stop,
            step,
        } => a.push(format!("axis={axis} range={start}:{stop}:{step}")),
        Op::Select { axis, index } => a.push(format!("axis={axis} index={index}")),
        Op::MatMul => {}
        Op::Param { shape } => a.push(format!("shape={}", fmt_shape(shape))),
        Op::Affine { mul, add } => a.push(format!("mul={mul} add={add}")),
        Op::Roll { axis, shift } => a.push(format!("axis={axis} shift={shift}")),
        Op::Expand { shape } => a.push(format!("shape={}", fmt_shape(shape))),
        Op::Take {
            axis, index_shape, ..
        } => a.push(format!("axis={axis} indices={}", fmt_shape(index_shape))),
        Op::Constant { shape, .. } => a.push(format!("shape={}", fmt_shape(shape))),
        Op::Attention { heads, bias } => {
            a.push(format!("heads={heads}"));
            if !bias {
                a.push("bias=false".into());
            }
        }
        Op::Fused {
            base,
            residual,
            act,
        } => {
            a.push(format!("base={}", base.name()));
            let inner = op_attrs(base);
            if !inner.is_empty() {
                a.push(inner);
            }
            if *residual {
                a.push("residual".into());
            }
            if let Some(act) = act {
                a.push(format!("act={}", act.name()));
            }
        }
    }
    a.join(" ")
}

/// The whole graph as text, nodes in topological order (creation order on
/// a cycle), then the outputs.
pub fn dump(g: &Graph) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "graph {}", g.name);
    let order = g
        .topo_order()
        .unwrap_or_else(|| g.node_ids().collect::<Vec<_>>());
    for id in order {
        let n = g.node(id);
        let _ = write!(s, "{id} {} = {}", n.name, n.op.name());
        if !matches!(n.op, Op::Input { .. }) {
            let ins: Vec<String> = g.inputs(id).iter().map(|i| i.to_string()).collect();
            let _ = write!(s, "({})", ins.join(", "));
        }
        let attrs = op_attrs(&n.op);
        if !attrs.is_empty() {
            let _ = write!(s, " {attrs}");
        }
        let _ = write!(s, " : {}", fmt_shape(&n.shape));
        if let Some(b) = n.block {
            if let Some(bi) = g.blocks.get(b.0 as usize) {
                let _ = write!(s, " @{}", bi.name);
            }
        }
        s.push('\n');
    }
    for o in &g.outputs {
        let _ = writeln!(s, "output {} = {}", o.name, o.node);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{BlockInstance, Node};
    use crate::op::Conv2d;
    use nnc_diag::Span;

    #[test]
    fn dumps_a_small_graph() {
        let mut g = Graph::new("t");
        let x = g.add_node(
            Node {
                op: Op::Input { name: "x".into() },
                shape: vec![1, 3, 8, 8],
                name: "x".into(),
                block: None,
            },
            &[],
            Span::DUMMY,
        );
        let b = g.add_block(BlockInstance {
            name: "layer1".into(),
            block: "basic".into(),
            parent: None,
            call_span: Span::DUMMY,
        });
        let c = g.add_node(
            Node {
                op: Op::Conv2d(Conv2d {
                    out_channels: 4,
                    kernel: [3, 3],
                    stride: [2, 1],
                    pad: [1, 1],
                    dilation: [1, 1],
                    groups: 1,
                    bias: false,
                }),
                shape: vec![1, 4, 4, 8],
                name: "layer1.conv1".into(),
                block: Some(b),
            },
            &[x],
            Span::DUMMY,
        );
        g.add_output("y", c, Span::DUMMY);
        assert_eq!(
            dump(&g),
            "graph t\n%0 x = input : [1, 3, 8, 8]\n\
             %1 layer1.conv1 = conv2d(%0) out=4 kernel=3 stride=[2, 1] pad=1 bias=false : [1, 4, 4, 8] @layer1\n\
             output y = %1\n"
        );
    }
}
