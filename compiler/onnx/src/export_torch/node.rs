//! The PyTorch code of one nnc node: the module it registers (ops with
//! weights) and the expression of its output.

use crate::error::Error;
use nnc_diag::codes::onnx as code;
use nnc_ir::op::{Activation, BinaryKind, NormAxes, Op};
use nnc_ir::{Graph, NodeId};

pub fn py_str(s: &str) -> String {
    format!("{s:?}")
}

fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

/// A Python tuple of integers (`(3,)` for one).
fn tuple(v: &[usize]) -> String {
    match v {
        [a] => format!("({a},)"),
        _ => format!(
            "({})",
            v.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
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

/// The code of node `id`, whose inputs are the Python expressions `ins`
/// and whose module (if it has weights) is registered under `name`:
/// `(Some(module constructor), expression)`. `Ok(None)` for inputs.
pub fn code(
    g: &Graph,
    id: NodeId,
    ins: &[String],
    name: &str,
) -> Result<Option<(Option<String>, String)>, Error> {
    let node = g.node(id);
    let in_shape = |i: usize| g.node(g.inputs(id)[i]).shape.clone();
    let m = format!("self._m[{}]", py_str(name));
    let buf = format!("self.get_buffer({})", py_str(name));
    let pair = |p: [usize; 2]| format!("({}, {})", p[0], p[1]);
    let (module, expr) = match &node.op {
        Op::Input { .. } => return Ok(None),
        Op::Conv2d(c) => (
            Some(format!(
                "nn.Conv2d(in_channels={}, out_channels={}, kernel_size={}, stride={}, padding={}, dilation={}, groups={}, bias={})",
                in_shape(0)[1],
                c.out_channels,
                pair(c.kernel),
                pair(c.stride),
                pair(c.pad),
                pair(c.dilation),
                c.groups,
                py_bool(c.bias)
            )),
            format!("{m}({})", ins[0]),
        ),
        Op::BatchNorm { eps } => (
            Some(format!(
                "nn.BatchNorm{}d(num_features={}, eps={eps:?})",
                if in_shape(0).len() == 4 { 2 } else { 1 },
                in_shape(0)[1]
            )),
            format!("{m}({})", ins[0]),
        ),
        Op::Linear { out_features, bias } => (
            Some(format!(
                "nn.Linear(in_features={}, out_features={out_features}, bias={})",
                in_shape(0).last().copied().unwrap_or(0),
                py_bool(*bias)
            )),
            format!("{m}({})", ins[0]),
        ),
        Op::Act(a) => (None, act_expr(*a, &ins[0])),
        Op::MaxPool(p) => (
            None,
            format!(
                "F.max_pool2d({}, {}, {}, {}, ceil_mode={})",
                ins[0],
                pair(p.kernel),
                pair(p.stride),
                pair(p.pad),
                py_bool(p.ceil)
            ),
        ),
        Op::AvgPool { pool: p, count_pad } => (
            None,
            format!(
                "F.avg_pool2d({}, {}, {}, {}, ceil_mode={}, count_include_pad={})",
                ins[0],
                pair(p.kernel),
                pair(p.stride),
                pair(p.pad),
                py_bool(p.ceil),
                py_bool(*count_pad)
            ),
        ),
        Op::GlobalAvgPool => (None, format!("F.adaptive_avg_pool2d({}, 1)", ins[0])),
        Op::Flatten => (None, format!("torch.flatten({}, 1)", ins[0])),
        Op::Concat { axis } => (None, format!("torch.cat([{}], {axis})", ins.join(", "))),
        Op::Split {
            axis, start, len, ..
        } => (
            None,
            format!("torch.narrow({}, {axis}, {start}, {len})", ins[0]),
        ),
        Op::ChannelShuffle { groups } => (None, format!("_channel_shuffle({}, {groups})", ins[0])),
        Op::Softmax { axis } => (None, format!("torch.softmax({}, {axis})", ins[0])),
        Op::Binary(BinaryKind::Add) => (None, format!("{} + {}", ins[0], ins[1])),
        Op::Binary(BinaryKind::Mul) => (None, format!("{} * {}", ins[0], ins[1])),
        Op::Upsample { scale } => (
            None,
            format!(
                "F.interpolate({}, scale_factor={scale}, mode=\"nearest\")",
                ins[0]
            ),
        ),
        Op::LayerNorm { axes, eps } => {
            let x = in_shape(0);
            let (shape, expr) = match axes {
                NormAxes::Last(k) => (x[x.len() - k..].to_vec(), format!("{m}({})", ins[0])),
                NormAxes::Channels => (
                    vec![x[1]],
                    format!("{m}({}.movedim(1, -1)).movedim(-1, 1)", ins[0]),
                ),
            };
            (
                Some(format!("nn.LayerNorm({}, eps={eps:?})", tuple(&shape))),
                expr,
            )
        }
        // compile-time tensors are non-persistent buffers (not in the
        // state_dict: they are values, not weights), looked up by path so
        // that `.to(device)` moves them
        Op::Take {
            axis,
            indices,
            index_shape,
        } => (
            Some(format!(
                "torch.tensor({}, dtype=torch.long)",
                crate::nested::list(index_shape, indices, &|i| i.to_string())
            )),
            format!("{}[{}{buf}]", ins[0], ":, ".repeat(*axis)),
        ),
        Op::Constant { shape, values } => (
            Some(format!(
                "torch.tensor({}, dtype=torch.float32)",
                crate::nested::list(shape, values, &|v| format!("{v:?}"))
            )),
            buf,
        ),
        Op::Reshape { shape } => (None, format!("{}.reshape{}", ins[0], tuple(shape))),
        Op::Permute { perm } => (None, format!("{}.permute{}", ins[0], tuple(perm))),
        Op::Slice {
            axis,
            start,
            stop,
            step,
        } => (
            None,
            format!("{}[{}{start}:{stop}:{step}]", ins[0], ":, ".repeat(*axis)),
        ),
        Op::Select { axis, index } => (None, format!("{}.select({axis}, {index})", ins[0])),
        Op::MatMul => (None, format!("torch.matmul({}, {})", ins[0], ins[1])),
        Op::Param { shape } => (
            Some(format!("nn.Parameter(torch.zeros{})", tuple(shape))),
            m.clone(),
        ),
        Op::Affine { mul, add } => (None, format!("{} * {mul:?} + {add:?}", ins[0])),
        Op::Roll { axis, shift } => (None, format!("torch.roll({}, {shift}, {axis})", ins[0])),
        Op::Expand { shape } => (None, format!("{}.expand{}", ins[0], tuple(shape))),
        Op::Attention { heads, bias } => (
            Some(format!(
                "nn.MultiheadAttention({}, {heads}, bias={}, batch_first=True)",
                in_shape(0)[2],
                py_bool(*bias)
            )),
            format!("{m}({0}, {0}, {0}, need_weights=False)[0]", ins[0]),
        ),
        Op::Fused { .. } => {
            return Err(Error::new(
                code::EXPORT_FAILED,
                format!("node `{}` is a fused op", node.name),
            ))
        }
    };
    Ok(Some((module, expr)))
}
