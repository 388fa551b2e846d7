//! The reference interpreter: plain, obviously-correct loops for every op,
//! with PyTorch's eval-mode semantics. Sums (convolution, linear, pooling,
//! softmax) are accumulated in f64 and rounded to f32 once, so the
//! interpreter is a good oracle for faster backends.
//!
//! The interpreter does not trust the graph's shapes: it computes every
//! output shape itself from the op and the actual argument tensors and
//! reports a mismatch with the node's recorded shape as an error.

use crate::eval_error::{op_err, EvalError};
use crate::tensor::{fmt_shape, numel, strides_of, Tensor};
use crate::weights::WeightStore;
use nnc_ir::op::{weight_specs, Activation, BinaryKind, Conv2d, Op, Pool};
use nnc_ir::{Graph, NodeId};
use std::collections::HashMap;

/// Runs the graph on `inputs` (keyed by input name) and returns the network
/// outputs keyed by output name. Intermediate values are freed after their
/// last use.
pub fn run(
    g: &Graph,
    w: &WeightStore,
    inputs: &HashMap<String, Tensor>,
) -> Result<HashMap<String, Tensor>, EvalError> {
    let values = run_inner(g, w, inputs, false)?;
    collect_outputs(g, &values)
}

/// Runs the graph and returns the value of every node, keyed by node id (for
/// debugging and differential tests).
pub fn run_all(
    g: &Graph,
    w: &WeightStore,
    inputs: &HashMap<String, Tensor>,
) -> Result<HashMap<NodeId, Tensor>, EvalError> {
    run_inner(g, w, inputs, true)
}

/// Picks the network outputs (by output name) out of a map of node values.
pub fn collect_outputs(
    g: &Graph,
    values: &HashMap<NodeId, Tensor>,
) -> Result<HashMap<String, Tensor>, EvalError> {
    let mut out = HashMap::new();
    for o in &g.outputs {
        let v = values.get(&o.node).ok_or_else(|| {
            EvalError::Graph(format!("output `{}` names a node with no value", o.name))
        })?;
        out.insert(o.name.clone(), v.try_clone()?);
    }
    Ok(out)
}

fn run_inner(
    g: &Graph,
    w: &WeightStore,
    inputs: &HashMap<String, Tensor>,
    keep_all: bool,
) -> Result<HashMap<NodeId, Tensor>, EvalError> {
    let order = g
        .topo_order()
        .ok_or_else(|| EvalError::Graph("the graph has a cycle".to_string()))?;
    // Remaining number of reads of each node (freeing intermediates).
    let mut remaining: HashMap<NodeId, usize> = HashMap::new();
    for &id in &order {
        for i in g.inputs(id) {
            *remaining.entry(i).or_insert(0) += 1;
        }
    }
    for o in &g.outputs {
        // outputs are never freed
        *remaining.entry(o.node).or_insert(0) += 1 << 30;
    }
    for name in inputs.keys() {
        let known = g
            .inputs
            .iter()
            .any(|&i| matches!(&g.node(i).op, Op::Input { name: n } if n == name));
        if !known {
            return Err(EvalError::Input(format!(
                "the network has no input named `{name}`"
            )));
        }
    }
    let mut values: HashMap<NodeId, Tensor> = HashMap::new();
    for &id in &order {
        let node = g.node(id);
        let value = if let Op::Input { name } = &node.op {
            let t = inputs
                .get(name)
                .ok_or_else(|| EvalError::Input(format!("no value given for input `{name}`")))?;
            if t.shape() != node.shape.as_slice() {
                return Err(EvalError::Input(format!(
                    "input `{name}`: expected shape {}, found {}",
                    fmt_shape(&node.shape),
                    fmt_shape(t.shape())
                )));
            }
            t.try_clone()?
        } else {
            let ins = g.inputs(id);
            let mut args = Vec::with_capacity(ins.len());
            for i in &ins {
                args.push(values.get(i).ok_or_else(|| {
                    EvalError::Graph(format!("node {id} reads {i}, which has no value"))
                })?);
            }
            let v = eval_node(g, id, w, &args).map_err(|e| EvalError::Node {
                op: node.op.name(),
                name: node.name.clone(),
                error: Box::new(e),
            })?;
            if v.shape() != node.shape.as_slice() {
                return Err(EvalError::Graph(format!(
                    "{} `{}`: the graph records shape {} but the op computes {}",
                    node.op.name(),
                    node.name,
                    fmt_shape(&node.shape),
                    fmt_shape(v.shape())
                )));
            }
            if !keep_all {
                for i in ins {
                    if let Some(r) = remaining.get_mut(&i) {
                        *r -= 1;
                        if *r == 0 {
                            values.remove(&i);
                        }
                    }
                }
            }
            v
        };
        values.insert(id, value);
    }
    Ok(values)
}

/// The weights of node `id` from the store, checked against the shapes
/// [`weight_specs`] gives for these argument shapes, in spec order.
pub fn node_weights<'w>(
    g: &Graph,
    id: NodeId,
    w: &'w WeightStore,
    args: &[&Tensor],
) -> Result<Vec<&'w Tensor>, EvalError> {
    let node = g.node(id);
    let shapes: Vec<&[usize]> = args.iter().map(|t| t.shape()).collect();
    let mut out = Vec::new();
    for spec in weight_specs(&node.op, &shapes) {
        let key = spec.key(&node.name);
        let t = w
            .get(&key)
            .ok_or_else(|| EvalError::Weight(format!("missing weight `{key}`")))?;
        if t.shape() != spec.shape.as_slice() {
            return Err(EvalError::Weight(format!(
                "weight `{key}`: expected shape {}, found {}",
                fmt_shape(&spec.shape),
                fmt_shape(t.shape())
            )));
        }
        out.push(t);
    }
    Ok(out)
}

/// Evaluates one node on its argument values (slot order), fetching its
/// weights from the store.
pub fn eval_node(
    g: &Graph,
    id: NodeId,
    w: &WeightStore,
    args: &[&Tensor],
) -> Result<Tensor, EvalError> {
    let ws = node_weights(g, id, w, args)?;
    eval_op(&g.node(id).op, args, &ws)
}

fn arity(args: &[&Tensor], n: usize) -> Result<(), EvalError> {
    if args.len() != n {
        return Err(op_err!("expected {n} input(s), got {}", args.len()));
    }
    Ok(())
}

/// Evaluates an op on its arguments and its weights (in [`weight_specs`]
/// order). Every size is checked; nothing panics.
pub fn eval_op(op: &Op, args: &[&Tensor], ws: &[&Tensor]) -> Result<Tensor, EvalError> {
    match op {
        Op::Input { name } => Err(op_err!("input `{name}` cannot be evaluated")),
        Op::Conv2d(c) => {
            arity(args, 1)?;
            conv2d(c, args[0], ws.first().copied(), ws.get(1).copied())
        }
        Op::BatchNorm { eps } => {
            arity(args, 1)?;
            if ws.len() != 4 {
                return Err("batchnorm needs 4 weight tensors".into());
            }
            batchnorm(args[0], ws[0], ws[1], ws[2], ws[3], *eps)
        }
        Op::Linear { out_features, bias } => {
            arity(args, 1)?;
            let b = if *bias { ws.get(1).copied() } else { None };
            if *bias && b.is_none() {
                return Err("linear with bias needs a bias tensor".into());
            }
            crate::ops::linear_nd(args[0], |x| {
                linear(
                    *out_features,
                    x,
                    ws.first().copied().ok_or("linear needs a weight")?,
                    b,
                )
            })
        }
        Op::Act(a) => {
            arity(args, 1)?;
            Ok(act(*a, args[0].try_clone()?))
        }
        Op::MaxPool(p) => {
            arity(args, 1)?;
            maxpool(p, args[0])
        }
        Op::AvgPool { pool, count_pad } => {
            arity(args, 1)?;
            avgpool(pool, *count_pad, args[0])
        }
        Op::GlobalAvgPool => {
            arity(args, 1)?;
            global_avgpool(args[0])
        }
        Op::Flatten => {
            arity(args, 1)?;
            flatten(args[0])
        }
        Op::Concat { axis } => concat(args, *axis),
        Op::Split {
            axis, start, len, ..
        } => {
            arity(args, 1)?;
            slice(args[0], *axis, *start, *len)
        }
        Op::ChannelShuffle { groups } => {
            arity(args, 1)?;
            channel_shuffle(args[0], *groups)
        }
        Op::Softmax { axis } => {
            arity(args, 1)?;
            softmax(args[0], *axis)
        }
        Op::Binary(k) => {
            arity(args, 2)?;
            binary(*k, args[0], args[1])
        }
        Op::Upsample { scale } => {
            arity(args, 1)?;
            upsample(args[0], *scale)
        }
        Op::LayerNorm { .. }
        | Op::Reshape { .. }
        | Op::Permute { .. }
        | Op::Slice { .. }
        | Op::Select { .. }
        | Op::MatMul
        | Op::Param { .. }
        | Op::Affine { .. }
        | Op::Roll { .. }
        | Op::Expand { .. }
        | Op::Take { .. }
        | Op::Constant { .. }
        | Op::Attention { .. } => crate::ops::eval(op, args, ws).map_err(EvalError::from),
        Op::Fused {
            base,
            residual,
            act: a,
        } => {
            arity(args, if *residual { 2 } else { 1 })?;
            if !matches!(**base, Op::Conv2d(_) | Op::Linear { .. }) {
                return Err(op_err!("a fused op cannot have a {} base", base.name()));
            }
            let mut y = eval_op(base, &args[..1], ws)?;
            if *residual {
                let r = args[1];
                if r.shape() != y.shape() {
                    return Err(op_err!(
                        "residual of shape {} does not match the output's {}",
                        fmt_shape(r.shape()),
                        fmt_shape(y.shape())
                    ));
                }
                for (o, &v) in y.data_mut().iter_mut().zip(r.data()) {
                    *o += v;
                }
            }
            if let Some(a) = a {
                y = act(*a, y);
            }
            Ok(y)
        }
    }
}

fn dims4(x: &Tensor, what: &str) -> Result<[usize; 4], EvalError> {
    match x.shape() {
        &[n, c, h, w] => Ok([n, c, h, w]),
        s => Err(op_err!("{what} needs a 4-d input, got {}", fmt_shape(s))),
    }
}

fn checked_len(shape: &[usize]) -> Result<usize, EvalError> {
    numel(shape).ok_or_else(|| op_err!("shape {} has too many elements", fmt_shape(shape)))
}

/// PyTorch's convolution output size: floor((i + 2p - d(k-1) - 1) / s) + 1.
fn conv_out(i: usize, k: usize, s: usize, p: usize, d: usize) -> Result<usize, EvalError> {
    if k == 0 || s == 0 || d == 0 {
        return Err("kernel, stride and dilation must be positive".into());
    }
    let padded = i
        .checked_add(p.checked_mul(2).ok_or("padding too large")?)
        .ok_or("padding too large")?;
    let span = d
        .checked_mul(k - 1)
        .and_then(|v| v.checked_add(1))
        .ok_or("dilated kernel too large")?;
    if padded < span {
        return Err(op_err!(
            "the (dilated) kernel {span} is larger than the padded input {padded}"
        ));
    }
    Ok((padded - span) / s + 1)
}

fn conv2d(
    c: &Conv2d,
    x: &Tensor,
    w: Option<&Tensor>,
    b: Option<&Tensor>,
) -> Result<Tensor, EvalError> {
    let [n, cin, h, wd] = dims4(x, "conv2d")?;
    let w = w.ok_or("conv2d needs a weight")?;
    let g = c.groups;
    let cout = c.out_channels;
    if g == 0 || !cin.is_multiple_of(g) || !cout.is_multiple_of(g) {
        return Err(op_err!(
            "groups = {g} must divide the input channels {cin} and the output channels {cout}"
        ));
    }
    let (cin_g, cout_g) = (cin / g, cout / g);
    let [kh, kw] = c.kernel;
    if w.shape() != [cout, cin_g, kh, kw] {
        return Err(op_err!(
            "weight shape {} should be {}",
            fmt_shape(w.shape()),
            fmt_shape(&[cout, cin_g, kh, kw])
        ));
    }
    let bias = if c.bias {
        let b = b.ok_or("conv2d with bias needs a bias tensor")?;
        if b.shape() != [cout] {
            return Err(op_err!(
                "bias shape {} should be [{cout}]",
                fmt_shape(b.shape())
            ));
        }
        Some(b.data())
    } else {
        None
    };
    let oh = conv_out(h, kh, c.stride[0], c.pad[0], c.dilation[0])?;
    let ow = conv_out(wd, kw, c.stride[1], c.pad[1], c.dilation[1])?;
    let mut y = Tensor::zeros(vec![n, cout, oh, ow])?;
    let xd = x.data();
    let wdat = w.data();
    let (sh, sw) = (c.stride[0], c.stride[1]);
    let (ph, pw) = (c.pad[0] as isize, c.pad[1] as isize);
    let (dh, dw) = (c.dilation[0], c.dilation[1]);
    let out = y.data_mut();
    for ni in 0..n {
        for o in 0..cout {
            let grp = o / cout_g;
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut acc: f64 = bias.map(|b| b[o] as f64).unwrap_or(0.0);
                    for ci in 0..cin_g {
                        let cc = grp * cin_g + ci;
                        for ky in 0..kh {
                            let iy = (oy * sh + ky * dh) as isize - ph;
                            if iy < 0 || iy >= h as isize {
                                continue;
                            }
                            for kx in 0..kw {
                                let ix = (ox * sw + kx * dw) as isize - pw;
                                if ix < 0 || ix >= wd as isize {
                                    continue;
                                }
                                let xv = xd[((ni * cin + cc) * h + iy as usize) * wd + ix as usize];
                                let wv = wdat[((o * cin_g + ci) * kh + ky) * kw + kx];
                                acc += xv as f64 * wv as f64;
                            }
                        }
                    }
                    out[((ni * cout + o) * oh + oy) * ow + ox] = acc as f32;
                }
            }
        }
    }
    Ok(y)
}

fn batchnorm(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    mean: &Tensor,
    var: &Tensor,
    eps: f64,
) -> Result<Tensor, EvalError> {
    let s = x.shape();
    if s.len() < 2 {
        return Err(op_err!(
            "batchnorm needs an input of rank >= 2, got {}",
            fmt_shape(s)
        ));
    }
    let c = s[1];
    for (t, n) in [
        (gamma, "weight"),
        (beta, "bias"),
        (mean, "running_mean"),
        (var, "running_var"),
    ] {
        if t.shape() != [c] {
            return Err(op_err!(
                "{n} shape {} should be [{c}]",
                fmt_shape(t.shape())
            ));
        }
    }
    let inner: usize = s[2..].iter().product();
    let mut y = x.try_clone()?;
    for (i, v) in y.data_mut().iter_mut().enumerate() {
        let ch = (i / inner.max(1)) % c;
        let inv = 1.0 / (var.data()[ch] as f64 + eps).sqrt();
        let r = (*v as f64 - mean.data()[ch] as f64) * inv * gamma.data()[ch] as f64
            + beta.data()[ch] as f64;
        *v = r as f32;
    }
    Ok(y)
}

fn linear(out: usize, x: &Tensor, w: &Tensor, b: Option<&Tensor>) -> Result<Tensor, EvalError> {
    let (n, f) = match x.shape() {
        &[n, f] => (n, f),
        s => return Err(op_err!("linear needs a 2-d input, got {}", fmt_shape(s))),
    };
    if w.shape() != [out, f] {
        return Err(op_err!(
            "weight shape {} should be [{out}, {f}]",
            fmt_shape(w.shape())
        ));
    }
    if let Some(b) = b {
        if b.shape() != [out] {
            return Err(op_err!(
                "bias shape {} should be [{out}]",
                fmt_shape(b.shape())
            ));
        }
    }
    let mut y = Tensor::zeros(vec![n, out])?;
    let (xd, wd) = (x.data(), w.data());
    let od = y.data_mut();
    for i in 0..n {
        for o in 0..out {
            let mut acc: f64 = b.map(|b| b.data()[o] as f64).unwrap_or(0.0);
            for k in 0..f {
                acc += xd[i * f + k] as f64 * wd[o * f + k] as f64;
            }
            od[i * out + o] = acc as f32;
        }
    }
    Ok(y)
}

fn act(a: Activation, mut x: Tensor) -> Tensor {
    for v in x.data_mut() {
        *v = a.apply(*v);
    }
    x
}

/// PyTorch's pooling output size (dilation 1), including the ceil-mode rule
/// that the last window must start inside the input or the left padding.
pub fn pool_out(i: usize, k: usize, s: usize, p: usize, ceil: bool) -> Result<usize, EvalError> {
    if k == 0 || s == 0 {
        return Err("pool kernel and stride must be positive".into());
    }
    if p > k / 2 {
        return Err(op_err!(
            "pad {p} should be at most half of the kernel size {k}"
        ));
    }
    let padded = i.checked_add(2 * p).ok_or("padding too large")?;
    if padded < k {
        return Err(op_err!(
            "the kernel {k} is larger than the padded input {padded}"
        ));
    }
    let num = padded - k;
    let mut o = if ceil { num.div_ceil(s) } else { num / s } + 1;
    if ceil && (o - 1) * s >= i + p {
        o -= 1;
    }
    Ok(o)
}

fn maxpool(p: &Pool, x: &Tensor) -> Result<Tensor, EvalError> {
    let [n, c, h, w] = dims4(x, "maxpool")?;
    let oh = pool_out(h, p.kernel[0], p.stride[0], p.pad[0], p.ceil)?;
    let ow = pool_out(w, p.kernel[1], p.stride[1], p.pad[1], p.ceil)?;
    let mut y = Tensor::zeros(vec![n, c, oh, ow])?;
    let xd = x.data();
    let od = y.data_mut();
    for nc in 0..n * c {
        for oy in 0..oh {
            let y0 = (oy * p.stride[0]) as isize - p.pad[0] as isize;
            let y1 = (y0 + p.kernel[0] as isize).min(h as isize);
            let y0 = y0.max(0);
            for ox in 0..ow {
                let x0 = (ox * p.stride[1]) as isize - p.pad[1] as isize;
                let x1 = (x0 + p.kernel[1] as isize).min(w as isize);
                let x0 = x0.max(0);
                let mut m = f32::NEG_INFINITY;
                for iy in y0..y1 {
                    for ix in x0..x1 {
                        let v = xd[(nc * h + iy as usize) * w + ix as usize];
                        if v > m || v.is_nan() {
                            m = v;
                        }
                        if m.is_nan() {
                            break;
                        }
                    }
                }
                od[(nc * oh + oy) * ow + ox] = m;
            }
        }
    }
    Ok(y)
}

fn avgpool(p: &Pool, count_pad: bool, x: &Tensor) -> Result<Tensor, EvalError> {
    let [n, c, h, w] = dims4(x, "avgpool")?;
    let oh = pool_out(h, p.kernel[0], p.stride[0], p.pad[0], p.ceil)?;
    let ow = pool_out(w, p.kernel[1], p.stride[1], p.pad[1], p.ceil)?;
    let mut y = Tensor::zeros(vec![n, c, oh, ow])?;
    let xd = x.data();
    let od = y.data_mut();
    let (hp, wp) = ((h + p.pad[0]) as isize, (w + p.pad[1]) as isize);
    for nc in 0..n * c {
        for oy in 0..oh {
            // PyTorch: the window is first clipped to the padded input
            // (count_include_pad divides by that size), then to the input.
            let y0 = (oy * p.stride[0]) as isize - p.pad[0] as isize;
            let y1 = (y0 + p.kernel[0] as isize).min(hp);
            let ph = y1 - y0;
            let (y0, y1) = (y0.max(0), y1.min(h as isize));
            for ox in 0..ow {
                let x0 = (ox * p.stride[1]) as isize - p.pad[1] as isize;
                let x1 = (x0 + p.kernel[1] as isize).min(wp);
                let pw = x1 - x0;
                let (x0, x1) = (x0.max(0), x1.min(w as isize));
                let mut sum = 0.0f64;
                for iy in y0..y1 {
                    for ix in x0..x1 {
                        sum += xd[(nc * h + iy as usize) * w + ix as usize] as f64;
                    }
                }
                let div = if count_pad {
                    ph * pw
                } else {
                    (y1 - y0).max(0) * (x1 - x0).max(0)
                };
                od[(nc * oh + oy) * ow + ox] = (sum / div as f64) as f32;
            }
        }
    }
    Ok(y)
}

fn global_avgpool(x: &Tensor) -> Result<Tensor, EvalError> {
    let [n, c, h, w] = dims4(x, "global_avgpool")?;
    let mut y = Tensor::zeros(vec![n, c, 1, 1])?;
    let hw = h * w;
    for (i, o) in y.data_mut().iter_mut().enumerate() {
        let s: f64 = x.data()[i * hw..(i + 1) * hw]
            .iter()
            .map(|&v| v as f64)
            .sum();
        *o = (s / hw as f64) as f32;
    }
    Ok(y)
}

fn flatten(x: &Tensor) -> Result<Tensor, EvalError> {
    let s = x.shape();
    if s.len() < 2 {
        return Err(op_err!("flatten needs rank >= 2, got {}", fmt_shape(s)));
    }
    let rest = checked_len(&s[1..])?;
    Ok(x.try_clone()?.reshape(vec![s[0], rest])?)
}

fn concat(args: &[&Tensor], axis: usize) -> Result<Tensor, EvalError> {
    let first = args.first().ok_or("concat needs at least one input")?;
    let rank = first.shape().len();
    if axis >= rank {
        return Err(op_err!("axis {axis} out of range for rank {rank}"));
    }
    let mut shape = first.shape().to_vec();
    shape[axis] = 0;
    for a in args {
        let s = a.shape();
        let ok = s.len() == rank
            && s.iter()
                .zip(first.shape())
                .enumerate()
                .all(|(i, (x, y))| i == axis || x == y);
        if !ok {
            return Err(op_err!(
                "cannot concatenate {} with {} along axis {axis}",
                fmt_shape(first.shape()),
                fmt_shape(s)
            ));
        }
        shape[axis] = shape[axis].checked_add(s[axis]).ok_or("concat too large")?;
    }
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    let mut data = crate::tensor::try_vec(checked_len(&shape)?)?;
    for o in 0..outer {
        for a in args {
            let chunk = a.shape()[axis] * inner;
            data.extend_from_slice(&a.data()[o * chunk..(o + 1) * chunk]);
        }
    }
    Ok(Tensor::new(shape, data)?)
}

fn slice(x: &Tensor, axis: usize, start: usize, len: usize) -> Result<Tensor, EvalError> {
    let s = x.shape();
    if axis >= s.len() {
        return Err(op_err!("axis {axis} out of range for rank {}", s.len()));
    }
    let end = start.checked_add(len).ok_or("split range too large")?;
    if end > s[axis] {
        return Err(op_err!(
            "split range {start}..{end} exceeds the size {} of axis {axis}",
            s[axis]
        ));
    }
    let outer: usize = s[..axis].iter().product();
    let inner: usize = s[axis + 1..].iter().product();
    let mut shape = s.to_vec();
    shape[axis] = len;
    let mut data = crate::tensor::try_vec(checked_len(&shape)?)?;
    for o in 0..outer {
        let base = (o * s[axis] + start) * inner;
        data.extend_from_slice(&x.data()[base..base + len * inner]);
    }
    Ok(Tensor::new(shape, data)?)
}

fn channel_shuffle(x: &Tensor, g: usize) -> Result<Tensor, EvalError> {
    let [n, c, h, w] = dims4(x, "channel_shuffle")?;
    if g == 0 || !c.is_multiple_of(g) {
        return Err(op_err!("groups = {g} must divide the channels {c}"));
    }
    let cg = c / g;
    let hw = h * w;
    let mut y = Tensor::zeros(x.shape().to_vec())?;
    let od = y.data_mut();
    // [N, g, C/g, H, W] -> transpose(1, 2) -> [N, C/g, g, H, W]:
    // output channel j*g + i holds input channel i*(C/g) + j.
    for ni in 0..n {
        for i in 0..g {
            for j in 0..cg {
                let src = (ni * c + i * cg + j) * hw;
                let dst = (ni * c + j * g + i) * hw;
                od[dst..dst + hw].copy_from_slice(&x.data()[src..src + hw]);
            }
        }
    }
    Ok(y)
}

fn softmax(x: &Tensor, axis: usize) -> Result<Tensor, EvalError> {
    let s = x.shape();
    if axis >= s.len() {
        return Err(op_err!("axis {axis} out of range for rank {}", s.len()));
    }
    let outer: usize = s[..axis].iter().product();
    let len = s[axis];
    let inner: usize = s[axis + 1..].iter().product();
    let mut y = x.try_clone()?;
    let xd = x.data();
    let od = y.data_mut();
    for o in 0..outer {
        for i in 0..inner {
            let at = |k: usize| (o * len + k) * inner + i;
            let mut m = f32::NEG_INFINITY;
            let mut nan = false;
            for k in 0..len {
                let v = xd[at(k)];
                nan |= v.is_nan();
                m = m.max(v);
            }
            if nan {
                for k in 0..len {
                    od[at(k)] = f32::NAN;
                }
                continue;
            }
            let mut sum = 0.0f64;
            for k in 0..len {
                sum += (xd[at(k)] as f64 - m as f64).exp();
            }
            for k in 0..len {
                od[at(k)] = ((xd[at(k)] as f64 - m as f64).exp() / sum) as f32;
            }
        }
    }
    Ok(y)
}

/// NumPy broadcasting of two shapes ([`nnc_ir::shape::broadcast`]).
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Result<Vec<usize>, EvalError> {
    nnc_ir::shape::broadcast(a, b).ok_or_else(|| {
        op_err!(
            "shapes {} and {} cannot be broadcast together",
            fmt_shape(a),
            fmt_shape(b)
        )
    })
}

/// Strides of `s` broadcast to the rank-`r` shape `out` (0 on broadcast dims).
fn bstrides(s: &[usize], out: &[usize]) -> Vec<usize> {
    let r = out.len();
    let st = strides_of(s);
    (0..r)
        .map(|i| {
            if i + s.len() < r {
                0
            } else {
                let j = i + s.len() - r;
                if s[j] == 1 && out[i] != 1 {
                    0
                } else {
                    st[j]
                }
            }
        })
        .collect()
}

fn binary(k: BinaryKind, a: &Tensor, b: &Tensor) -> Result<Tensor, EvalError> {
    let shape = broadcast_shapes(a.shape(), b.shape())?;
    let n = checked_len(&shape)?;
    let (sa, sb) = (bstrides(a.shape(), &shape), bstrides(b.shape(), &shape));
    let so = strides_of(&shape);
    let mut data = crate::tensor::try_vec(n)?;
    for flat in 0..n {
        let (mut ia, mut ib, mut rem) = (0usize, 0usize, flat);
        for d in 0..shape.len() {
            let idx = rem / so[d];
            rem %= so[d];
            ia += idx * sa[d];
            ib += idx * sb[d];
        }
        let (x, y) = (a.data()[ia], b.data()[ib]);
        data.push(match k {
            BinaryKind::Add => x + y,
            BinaryKind::Mul => x * y,
        });
    }
    Ok(Tensor::new(shape, data)?)
}

fn upsample(x: &Tensor, s: usize) -> Result<Tensor, EvalError> {
    let [n, c, h, w] = dims4(x, "upsample")?;
    if s == 0 {
        return Err("upsample scale must be positive".into());
    }
    let oh = h.checked_mul(s).ok_or("upsample too large")?;
    let ow = w.checked_mul(s).ok_or("upsample too large")?;
    let mut y = Tensor::zeros(vec![n, c, oh, ow])?;
    let od = y.data_mut();
    for nc in 0..n * c {
        for oy in 0..oh {
            for ox in 0..ow {
                od[(nc * oh + oy) * ow + ox] = x.data()[(nc * h + oy / s) * w + ox / s];
            }
        }
    }
    Ok(y)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(shape: &[usize], data: &[f32]) -> Tensor {
        Tensor::new(shape.to_vec(), data.to_vec()).unwrap()
    }

    fn pool(k: usize, s: usize, p: usize, ceil: bool) -> Pool {
        Pool {
            kernel: [k, k],
            stride: [s, s],
            pad: [p, p],
            ceil,
        }
    }

    #[test]
    fn pool_sizes_follow_pytorch() {
        // torch: MaxPool2d(3, 2, ceil_mode=True) on 6 -> 3 (window 2 starts at 4 < 6)
        assert_eq!(pool_out(6, 3, 2, 0, true).unwrap(), 3);
        assert_eq!(pool_out(6, 3, 2, 0, false).unwrap(), 2);
        // ceil with pad: 5, k2, s2, p1: (5+2-2)/2 = 2.5 -> 3 +1 = 4; (4-1)*2=6 >= 5+1 -> 3
        assert_eq!(pool_out(5, 2, 2, 1, true).unwrap(), 3);
        assert_eq!(pool_out(112, 3, 2, 1, false).unwrap(), 56);
        assert!(pool_out(5, 2, 2, 2, false).is_err());
    }

    #[test]
    fn avgpool_ceil_divisor_matches_pytorch() {
        // torch.nn.functional.avg_pool2d(x, 2, 2, 0, ceil_mode=True) on a
        // 1x1x3x3 of ones: the last window is clipped to the input (no pad),
        // so with count_include_pad it divides by the clipped size 2 (1 at
        // the corner) and every output is 1.
        let x = Tensor::filled(vec![1, 1, 3, 3], 1.0).unwrap();
        let y = avgpool(&pool(2, 2, 0, true), true, &x).unwrap();
        assert_eq!(y.shape(), &[1, 1, 2, 2]);
        assert_eq!(y.data(), &[1.0, 1.0, 1.0, 1.0]);
        // With pad = 1, count_pad: the first window covers 1 input element
        // and 3 pads: 1/4.
        let y = avgpool(&pool(2, 2, 1, false), true, &x).unwrap();
        assert_eq!(y.shape(), &[1, 1, 2, 2]);
        assert_eq!(y.data(), &[0.25, 0.5, 0.5, 1.0]);
        let y = avgpool(&pool(2, 2, 1, false), false, &x).unwrap();
        assert_eq!(y.data(), &[1.0, 1.0, 1.0, 1.0]);
        // 1x1x4x4, k3 s2 p1 ceil: output 3 (windows start at -1, 1, 3);
        // the last window spans rows 3..6 clipped to the padded end 5: size 2.
        let x = Tensor::filled(vec![1, 1, 4, 4], 1.0).unwrap();
        let y = avgpool(&pool(3, 2, 1, true), true, &x).unwrap();
        assert_eq!(y.shape(), &[1, 1, 3, 3]);
        // oy=0: rows -1..2 (size 3, 2 real), ox=0 likewise: 4/9
        assert!((y.data()[0] - 4.0 / 9.0).abs() < 1e-7);
        // oy=1: rows 1..4 (3 real); 9/9
        assert!((y.data()[4] - 1.0).abs() < 1e-7);
        // oy=2: rows 3..6 clipped to 3..5 (size 2, 1 real): 1/4
        assert!((y.data()[8] - 0.25).abs() < 1e-7);
        let y = avgpool(&pool(3, 2, 1, true), false, &x).unwrap();
        assert!((y.data()[8] - 1.0).abs() < 1e-7);
    }

    #[test]
    fn conv_known_values() {
        // 1x1x3x3 input 1..9, 2x2 kernel of ones, stride 1: window sums.
        let x = t(&[1, 1, 3, 3], &[1., 2., 3., 4., 5., 6., 7., 8., 9.]);
        let w = Tensor::filled(vec![1, 1, 2, 2], 1.0).unwrap();
        let b = t(&[1], &[0.5]);
        let c = Conv2d {
            out_channels: 1,
            kernel: [2, 2],
            stride: [1, 1],
            pad: [0, 0],
            dilation: [1, 1],
            groups: 1,
            bias: true,
        };
        let y = conv2d(&c, &x, Some(&w), Some(&b)).unwrap();
        assert_eq!(y.data(), &[12.5, 16.5, 24.5, 28.5]);
        // dilation 2, pad 1: only one output 1x1... (3+2-2-1)/1+1 = 3
        let c2 = Conv2d {
            dilation: [2, 2],
            pad: [1, 1],
            bias: false,
            ..c.clone()
        };
        let y = conv2d(&c2, &x, Some(&w), None).unwrap();
        assert_eq!(y.shape(), &[1, 1, 3, 3]);
        // centre output (1,1): taps at (0,0),(0,2),(2,0),(2,2) = 1+3+7+9
        assert_eq!(y.data()[4], 20.0);
        // top-left (0,0): taps at (-1,-1),(-1,1),(1,-1),(1,1) -> only (1,1)=5
        assert_eq!(y.data()[0], 5.0);
    }

    #[test]
    fn grouped_conv_uses_its_group() {
        // 2 groups, each 1 channel in, 1 out, 1x1 kernel of weight 2 and 3.
        let x = t(&[1, 2, 1, 1], &[1.0, 10.0]);
        let w = t(&[2, 1, 1, 1], &[2.0, 3.0]);
        let c = Conv2d {
            out_channels: 2,
            kernel: [1, 1],
            stride: [1, 1],
            pad: [0, 0],
            dilation: [1, 1],
            groups: 2,
            bias: false,
        };
        let y = conv2d(&c, &x, Some(&w), None).unwrap();
        assert_eq!(y.data(), &[2.0, 30.0]);
    }

    #[test]
    fn shuffle_split_concat() {
        let x = t(&[1, 6, 1, 1], &[0., 1., 2., 3., 4., 5.]);
        let y = channel_shuffle(&x, 2).unwrap();
        // [g=2, 3] -> transpose -> [3, 2]: 0 3 1 4 2 5
        assert_eq!(y.data(), &[0., 3., 1., 4., 2., 5.]);
        let y = channel_shuffle(&x, 3).unwrap();
        assert_eq!(y.data(), &[0., 2., 4., 1., 3., 5.]);
        let a = slice(&x, 1, 0, 2).unwrap();
        let b = slice(&x, 1, 2, 4).unwrap();
        assert_eq!(b.data(), &[2., 3., 4., 5.]);
        let c = concat(&[&a, &b], 1).unwrap();
        assert_eq!(c, x);
        assert!(slice(&x, 1, 4, 4).is_err());
    }

    #[test]
    fn softmax_is_stable_and_sums_to_one() {
        let x = t(&[2, 3], &[1000., 1001., 1002., -1., 0., 1.]);
        let y = softmax(&x, 1).unwrap();
        for r in 0..2 {
            let s: f32 = y.data()[r * 3..r * 3 + 3].iter().sum();
            assert!((s - 1.0).abs() < 1e-6);
        }
        assert!((y.data()[2] - 0.665_240_9).abs() < 1e-6);
        let y0 = softmax(&x, 0).unwrap();
        assert!((y0.data()[0] - 1.0).abs() < 1e-6);
    }

    #[test]
    fn broadcasting() {
        let a = t(&[1, 2, 1, 2], &[1., 2., 3., 4.]);
        let b = t(&[1, 2, 1, 1], &[10., 100.]);
        let y = binary(BinaryKind::Mul, &a, &b).unwrap();
        assert_eq!(y.data(), &[10., 20., 300., 400.]);
        let c = t(&[2], &[1., -1.]);
        let y = binary(BinaryKind::Add, &a, &c).unwrap();
        assert_eq!(y.data(), &[2., 1., 4., 3.]);
        assert!(binary(BinaryKind::Add, &a, &t(&[3], &[0.; 3])).is_err());
    }

    #[test]
    fn maxpool_propagates_nan_and_ignores_padding() {
        let x = t(&[1, 1, 2, 2], &[-5., -6., -7., f32::NAN]);
        let y = maxpool(&pool(2, 2, 1, false), &x).unwrap();
        assert_eq!(y.shape(), &[1, 1, 2, 2]);
        assert_eq!(y.data()[0], -5.0);
        assert!(y.data()[3].is_nan());
    }

    #[test]
    fn upsample_and_global_pool() {
        let x = t(&[1, 1, 1, 2], &[1., 2.]);
        let y = upsample(&x, 2).unwrap();
        assert_eq!(y.data(), &[1., 1., 2., 2., 1., 1., 2., 2.]);
        let g = global_avgpool(&y).unwrap();
        assert_eq!(g.data(), &[1.5]);
    }
}
