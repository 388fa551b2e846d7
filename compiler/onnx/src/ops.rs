//! Translation of one ONNX node (or a small pattern starting at it) to a
//! `.nn` statement. Ops nnc has no equivalent for are `E0502`; supported ops
//! with attributes nnc cannot express are `E0503`.

use crate::attrs::NodeRef;
use crate::ctx::{Ctx, Val};
use crate::error::Error;
use crate::naming::scope_of_node;
use crate::tensor::Const;
use nnc_diag::codes::onnx as code;
use nnc_interp::Tensor;
use nnc_ir::op::{Activation, BinaryKind, Conv2d, Op, Pool};

mod transformer;

fn pair_str(p: [usize; 2]) -> String {
    if p[0] == p[1] {
        p[0].to_string()
    } else {
        format!("[{}, {}]", p[0], p[1])
    }
}

fn fmt_f32(x: f32) -> String {
    let s = format!("{x:?}");
    if s.contains('.') || s.contains('e') {
        s
    } else {
        format!("{s}.0")
    }
}

/// Output shape of an nnc op, or an `E0503` naming the node.
fn infer(n: &NodeRef, op: &Op, shapes: &[&[usize]]) -> Result<Vec<usize>, Error> {
    nnc_ir::shape::infer(op, shapes).map_err(|e| n.unsupported(format!("{e:?}")))
}

/// The weight-name scope for an op with weights: the initializer's prefix
/// when it is `<prefix>.weight` (a PyTorch state_dict key), else the module
/// path from the node name.
fn scope_for(ctx: &mut Ctx, n: &NodeRef, weight_input: &str, kind: &str) -> String {
    let want = weight_input
        .strip_suffix(".weight")
        .and_then(crate::naming::clean_scope)
        .filter(|s| s == weight_input.strip_suffix(".weight").unwrap_or(""))
        .or_else(|| scope_of_node(&n.name()))
        .unwrap_or_else(|| format!("{kind}_{}", n.index));
    ctx.wnames.take(&want)
}

fn store(
    ctx: &mut Ctx,
    key: String,
    dims: Vec<usize>,
    data: Vec<f32>,
    n: &NodeRef,
) -> Result<(), Error> {
    let t = Tensor::new(dims, data).map_err(|e| n.unsupported(e))?;
    ctx.weights.insert(key, t);
    Ok(())
}

fn hint(n: &NodeRef) -> String {
    scope_of_node(&n.name()).unwrap_or_else(|| n.op().to_ascii_lowercase())
}

/// Symmetric 2-D pads from ONNX `[top, left, bottom, right]`.
fn pads2(
    n: &NodeRef,
    kernel: [usize; 2],
    strides: [usize; 2],
    dil: [usize; 2],
    in_hw: [usize; 2],
) -> Result<[usize; 2], Error> {
    let ap = n.string("auto_pad").unwrap_or_else(|| "NOTSET".into());
    match ap.as_str() {
        "NOTSET" | "" => {
            let p = n.ints("pads").unwrap_or_else(|| vec![0; 4]);
            if p.len() != 4 || p.iter().any(|&v| v < 0) {
                return Err(n.unsupported(format!("pads {p:?} (expected 4 non-negative values)")));
            }
            if p[0] != p[2] || p[1] != p[3] {
                return Err(n.unsupported(format!(
                    "asymmetric pads {p:?}; nnc pads both sides equally"
                )));
            }
            Ok([p[0] as usize, p[1] as usize])
        }
        "VALID" => Ok([0, 0]),
        "SAME_UPPER" | "SAME_LOWER" => {
            let mut out = [0; 2];
            for a in 0..2 {
                let o = in_hw[a].div_ceil(strides[a]);
                let eff = dil[a] * (kernel[a] - 1) + 1;
                let total = ((o - 1) * strides[a] + eff).saturating_sub(in_hw[a]);
                if !total.is_multiple_of(2) {
                    return Err(
                        n.unsupported(format!("auto_pad {ap} needs asymmetric padding here"))
                    );
                }
                out[a] = total / 2;
            }
            Ok(out)
        }
        other => Err(n.unsupported(format!("auto_pad {other}"))),
    }
}

fn pair_attr(n: &NodeRef, key: &str, default: usize) -> Result<[usize; 2], Error> {
    match n.ints(key) {
        None => Ok([default; 2]),
        Some(v) if v.len() == 2 && v.iter().all(|&x| x > 0) => Ok([v[0] as usize, v[1] as usize]),
        Some(v) => Err(n.unsupported(format!(
            "{key} {v:?} (nnc supports 2-D ops with positive values)"
        ))),
    }
}

pub fn translate(ctx: &mut Ctx, n: &NodeRef, _opset: i64) -> Result<(), Error> {
    let out0 = n.node.output.first().cloned().unwrap_or_default();
    match n.op() {
        "Identity" | "Dropout" => {
            let x = ctx.tensor(n, 0)?;
            ctx.alias(&out0, x);
            if n.node.output.len() > 1 && !n.node.output[1].is_empty() && ctx.users.contains_key(&n.node.output[1]) {
                return Err(n.unsupported("the Dropout mask output is used"));
            }
            Ok(())
        }
        "Cast" => {
            let to = n.int("to", 1) as i32;
            if to != crate::tensor::dtype::FLOAT {
                return Err(n.unsupported(format!("a Cast of a tensor to {}", crate::tensor::dtype_name(to))));
            }
            let x = ctx.tensor(n, 0)?;
            ctx.alias(&out0, x);
            Ok(())
        }
        "Conv" => conv(ctx, n, &out0),
        "BatchNormalization" => batchnorm(ctx, n, &out0),
        "Gemm" | "MatMul" => linear(ctx, n, &out0),
        "Relu" => act(ctx, n, &out0, Activation::Relu),
        "Sigmoid" => {
            // x * sigmoid(x) → silu
            if let Some(u) = ctx.sole_user(&out0) {
                let m = &ctx.nodes[u];
                let x = n.input(0);
                if m.op_type.as_deref() == Some("Mul") && m.input.len() == 2 && m.input.iter().any(|i| i == x) && m.input.contains(&out0) {
                    let mo = m.output[0].clone();
                    ctx.done.insert(u);
                    return act(ctx, &NodeRef { node: m, index: u }, &mo, Activation::Silu);
                }
            }
            act(ctx, n, &out0, Activation::Sigmoid)
        }
        "Tanh" => act(ctx, n, &out0, Activation::Tanh),
        "HardSwish" => act(ctx, n, &out0, Activation::Hardswish),
        "HardSigmoid" => {
            let (a, b) = (n.float("alpha", 0.2), n.float("beta", 0.5));
            if (a - 1.0 / 6.0).abs() > 1e-6 || (b - 0.5).abs() > 1e-6 {
                return Err(n.unsupported(format!("HardSigmoid alpha={a} beta={b} (nnc's hardsigmoid is alpha=1/6, beta=0.5)")));
            }
            act(ctx, n, &out0, Activation::Hardsigmoid)
        }
        "LeakyRelu" => {
            let slope = n.float("alpha", 0.01);
            if !slope.is_finite() {
                return Err(n.unsupported(format!("alpha {slope} (leaky_relu needs a finite slope)")));
            }
            act(ctx, n, &out0, Activation::LeakyRelu { slope })
        }
        "Gelu" => {
            if n.string("approximate").is_some_and(|s| s != "none") {
                return Err(n.unsupported("the tanh approximation of Gelu"));
            }
            act(ctx, n, &out0, Activation::Gelu)
        }
        "Clip" => {
            let lo = ctx.constant(n, 1).map(|c| c.as_f32()).and_then(|v| v.first().copied());
            let hi = ctx.constant(n, 2).map(|c| c.as_f32()).and_then(|v| v.first().copied());
            let (lo, hi) = if n.node.input.len() > 1 {
                (lo, hi)
            } else {
                (n.attr("min").and_then(|a| a.f), n.attr("max").and_then(|a| a.f))
            };
            match (lo, hi) {
                (Some(l), Some(h)) if l == 0.0 && h == 6.0 => act(ctx, n, &out0, Activation::Relu6),
                (Some(0.0), None) => act(ctx, n, &out0, Activation::Relu),
                _ => Err(n.unsupported(format!("Clip to [{lo:?}, {hi:?}]; nnc has relu (min 0) and relu6 (0..6)"))),
            }
        }
        "Add" | "Mul" => binary(ctx, n, &out0),
        "Sub" => match transformer::scalar_arith(ctx, n, &out0)? {
            Some(()) => Ok(()),
            None => Err(n.unsupported("a subtraction of two tensors (nnc subtracts numbers from tensors only)")),
        },
        "Transpose" => transformer::transpose(ctx, n, &out0),
        "LayerNormalization" => transformer::layernorm(ctx, n, &out0),
        "Gather" => transformer::gather(ctx, n, &out0),
        "Expand" => transformer::expand(ctx, n, &out0),
        "Div" => match gelu_pattern(ctx, n, &out0) {
            Some((x, nodes, out)) => {
                let t = ctx.tensor(n, 0)?;
                debug_assert_eq!(n.input(0), x);
                for u in nodes {
                    ctx.done.insert(u);
                }
                let id = ctx.bind(&out, &hint(n), t.1);
                ctx.push(n, format!("let {id} = gelu({});", t.0));
                Ok(())
            }
            None => match transformer::scalar_arith(ctx, n, &out0)? {
                Some(()) => Ok(()),
                None => Err(Error::new(
                    code::UNSUPPORTED_OP,
                    format!(
                        "unsupported op `Div` (node `{}`) of two tensors; nnc divides a tensor by a number only (and recognizes the exact GELU pattern x * 0.5 * (1 + erf(x / sqrt(2))))",
                        n.name()
                    ),
                )),
            },
        },
        "MaxPool" | "AveragePool" => pool(ctx, n, &out0),
        "GlobalAveragePool" => simple(ctx, n, &out0, Op::GlobalAvgPool, "global_avgpool({x})"),
        "ReduceMean" => {
            let (_, s) = ctx.tensor(n, 0)?;
            let axes = ctx.constant(n, 1).map(|c| c.as_i64()).or_else(|| n.ints("axes")).unwrap_or_default();
            let r = s.len() as i64;
            let mut ax: Vec<i64> = axes.iter().map(|&a| if a < 0 { a + r } else { a }).collect();
            ax.sort_unstable();
            if s.len() != 4 || ax != [2, 3] {
                return Err(n.unsupported(format!("ReduceMean over axes {axes:?}; nnc has global_avgpool (axes [2, 3] of a 4-D tensor)")));
            }
            if n.int("keepdims", 1) == 1 {
                simple(ctx, n, &out0, Op::GlobalAvgPool, "global_avgpool({x})")
            } else {
                simple(ctx, n, &out0, Op::Flatten, "flatten(global_avgpool({x}))")
            }
        }
        "Flatten" => {
            let (_, s) = ctx.tensor(n, 0)?;
            let axis = n.int("axis", 1);
            let axis = if axis < 0 { axis + s.len() as i64 } else { axis };
            if axis != 1 || s.len() < 2 {
                return Err(n.unsupported(format!("Flatten at axis {axis}; nnc's flatten keeps dimension 0 only")));
            }
            simple(ctx, n, &out0, Op::Flatten, "flatten({x})")
        }
        "Reshape" => reshape(ctx, n, &out0),
        "Concat" => concat(ctx, n, &out0),
        "Split" => split(ctx, n),
        "Slice" => slice(ctx, n, &out0),
        "Softmax" => {
            let (_, s) = ctx.tensor(n, 0)?;
            let a = n.int("axis", -1);
            let r = s.len() as i64;
            let axis = if a < 0 { a + r } else { a };
            if axis < 0 || axis >= r {
                return Err(n.unsupported(format!("axis {a}")));
            }
            let call = if axis == r - 1 { "softmax({x})".to_string() } else { format!("softmax({{x}}, axis = {axis})") };
            simple(ctx, n, &out0, Op::Softmax { axis: axis as usize }, &call)
        }
        "Resize" | "Upsample" => resize(ctx, n, &out0),
        other => Err(Error::new(
            code::UNSUPPORTED_OP,
            format!(
                "unsupported op `{other}` (node `{}`, producing `{}`{}); see docs/interop.md for the ops nnc imports",
                n.name(),
                out0,
                ctx.users
                    .get(&out0)
                    .and_then(|u| u.first())
                    .map(|&u| format!(", used by node `{}`", ctx.nodes[u].name.clone().unwrap_or_else(|| format!("#{u}"))))
                    .unwrap_or_default()
            ),
        )),
    }
}

/// A one-input op: `call` has `{x}` for the input identifier.
fn simple(ctx: &mut Ctx, n: &NodeRef, out: &str, op: Op, call: &str) -> Result<(), Error> {
    let (x, s) = ctx.tensor(n, 0)?;
    let shape = if call.starts_with("flatten(global_avgpool") {
        vec![s[0], s[1]]
    } else {
        infer(n, &op, &[&s])?
    };
    let id = ctx.bind(out, &hint(n), shape);
    ctx.push(n, format!("let {id} = {};", call.replace("{x}", &x)));
    Ok(())
}

fn act(ctx: &mut Ctx, n: &NodeRef, out: &str, a: Activation) -> Result<(), Error> {
    let call = match a {
        Activation::LeakyRelu { slope } => format!("leaky_relu({{x}}, slope = {})", fmt_f32(slope)),
        _ => format!("{}({{x}})", a.name()),
    };
    // for the silu pattern, the Mul node's tensor input that is not the sigmoid
    if a == Activation::Silu {
        let x_name = n
            .node
            .input
            .iter()
            .find(|i| matches!(ctx.vals.get(i.as_str()), Some(Val::T { .. })))
            .cloned()
            .unwrap_or_default();
        let Some(Val::T { ident, shape }) = ctx.vals.get(&x_name).cloned() else {
            return Err(n.unsupported("silu pattern without a tensor input"));
        };
        let id = ctx.bind(out, &hint(n), shape);
        ctx.push(n, format!("let {id} = silu({ident});"));
        return Ok(());
    }
    simple(ctx, n, out, Op::Act(a), &call)
}

fn binary(ctx: &mut Ctx, n: &NodeRef, out: &str) -> Result<(), Error> {
    let kind = if n.op() == "Add" {
        BinaryKind::Add
    } else {
        BinaryKind::Mul
    };
    // identity constants (x * 1, x + 0) are dropped; other constants cannot be expressed
    for (ci, ti) in [(1, 0), (0, 1)] {
        if let Some(c) = ctx.constant(n, ci) {
            let v = c.as_f32();
            let neutral = if kind == BinaryKind::Add { 0.0 } else { 1.0 };
            if v.iter().all(|&x| x == neutral) {
                let t = ctx.tensor(n, ti)?;
                ctx.alias(out, t);
                return Ok(());
            }
        }
    }
    if transformer::scalar_arith(ctx, n, out)?.is_some() {
        return Ok(());
    }
    if ctx.constant(n, 0).is_some() || ctx.constant(n, 1).is_some() {
        return transformer::binary_with_params(ctx, n, out, kind);
    }
    let (a, sa) = ctx.tensor(n, 0)?;
    let (b, sb) = ctx.tensor(n, 1)?;
    let shape = infer(n, &Op::Binary(kind), &[&sa, &sb])?;
    let id = ctx.bind(out, &hint(n), shape);
    let sym = if kind == BinaryKind::Add { "+" } else { "*" };
    ctx.push(n, format!("let {id} = {a} {sym} {b};"));
    Ok(())
}

fn conv(ctx: &mut Ctx, n: &NodeRef, out: &str) -> Result<(), Error> {
    let (x, s) = ctx.tensor(n, 0)?;
    let w = ctx
        .constant(n, 1)
        .cloned()
        .ok_or_else(|| n.unsupported("the weight is not an initializer"))?;
    if w.dims.len() != 4 || s.len() != 4 {
        return Err(n.unsupported(format!(
            "a {}-D convolution (nnc has conv2d)",
            w.dims.len().saturating_sub(2)
        )));
    }
    let kernel = match n.ints("kernel_shape") {
        Some(k) if k.len() == 2 => [k[0] as usize, k[1] as usize],
        Some(k) => return Err(n.unsupported(format!("kernel_shape {k:?}"))),
        None => [w.dims[2], w.dims[3]],
    };
    let stride = pair_attr(n, "strides", 1)?;
    let dil = pair_attr(n, "dilations", 1)?;
    let pad = pads2(n, kernel, stride, dil, [s[2], s[3]])?;
    let groups = n.int("group", 1);
    if groups < 1 {
        return Err(n.unsupported(format!("group {groups}")));
    }
    let b = if n.input(2).is_empty() {
        None
    } else {
        Some(
            ctx.constant(n, 2)
                .cloned()
                .ok_or_else(|| n.unsupported("the bias is not an initializer"))?,
        )
    };
    let c = Conv2d {
        out_channels: w.dims[0],
        kernel,
        stride,
        pad,
        dilation: dil,
        groups: groups as usize,
        bias: b.is_some(),
    };
    let op = Op::Conv2d(c.clone());
    let shape = infer(n, &op, &[&s])?;
    let expect = nnc_ir::op::weight_specs(&op, &[&s]);
    if expect[0].shape != w.dims {
        return Err(n.unsupported(format!(
            "weight shape {:?}, expected {:?}",
            w.dims, expect[0].shape
        )));
    }
    let scope = scope_for(ctx, n, n.input(1), "conv");
    store(
        ctx,
        format!("{scope}.weight"),
        w.dims.clone(),
        w.as_f32(),
        n,
    )?;
    if let Some(b) = &b {
        if b.len() != c.out_channels {
            return Err(n.unsupported(format!(
                "bias of {} elements for {} channels",
                b.len(),
                c.out_channels
            )));
        }
        store(
            ctx,
            format!("{scope}.bias"),
            vec![c.out_channels],
            b.as_f32(),
            n,
        )?;
    }
    let mut args = vec![
        x,
        format!("out = {}", c.out_channels),
        format!("kernel = {}", pair_str(kernel)),
    ];
    if stride != [1, 1] {
        args.push(format!("stride = {}", pair_str(stride)));
    }
    if pad != [0, 0] {
        args.push(format!("pad = {}", pair_str(pad)));
    }
    if dil != [1, 1] {
        args.push(format!("dilation = {}", pair_str(dil)));
    }
    if c.groups != 1 {
        args.push(format!("groups = {}", c.groups));
    }
    if !c.bias {
        args.push("bias = false".into());
    }
    args.push(format!("name = \"{scope}\""));
    let id = ctx.bind(out, &scope, shape);
    ctx.push(n, format!("let {id} = conv2d({});", args.join(", ")));
    Ok(())
}

fn batchnorm(ctx: &mut Ctx, n: &NodeRef, out: &str) -> Result<(), Error> {
    if n.int("training_mode", 0) != 0 {
        return Err(n.unsupported("training_mode=1 (nnc runs batchnorm in inference mode)"));
    }
    for o in n.node.output.iter().skip(1) {
        if !o.is_empty() && ctx.users.contains_key(o) {
            return Err(n.unsupported("the running statistics outputs are used"));
        }
    }
    let (x, s) = ctx.tensor(n, 0)?;
    let mut ps: Vec<Const> = Vec::new();
    for i in 1..5 {
        ps.push(
            ctx.constant(n, i)
                .cloned()
                .ok_or_else(|| n.unsupported(format!("input {i} is not an initializer")))?,
        );
    }
    if s.len() < 2 || ps.iter().any(|p| p.len() != s[1]) {
        return Err(n.unsupported("parameters whose size is not the channel count"));
    }
    let eps = n.float("epsilon", 1e-5);
    if !(eps.is_finite() && eps > 0.0) {
        return Err(n.unsupported(format!(
            "epsilon {eps} (batchnorm needs a positive, finite epsilon)"
        )));
    }
    let op = Op::BatchNorm { eps: eps as f64 };
    let shape = infer(n, &op, &[&s])?;
    let scope = scope_for(ctx, n, n.input(1), "bn");
    let ch = s[1];
    for (suffix, p) in ["weight", "bias", "running_mean", "running_var"]
        .iter()
        .zip(&ps)
    {
        store(ctx, format!("{scope}.{suffix}"), vec![ch], p.as_f32(), n)?;
    }
    let eps_arg = if eps == 1e-5 {
        String::new()
    } else {
        format!(", eps = {}", fmt_f32(eps))
    };
    let id = ctx.bind(out, &scope, shape);
    ctx.push(
        n,
        format!("let {id} = batchnorm({x}{eps_arg}, name = \"{scope}\");"),
    );
    Ok(())
}

fn transpose2(dims: &[usize], v: &[f32]) -> Vec<f32> {
    let (r, c) = (dims[0], dims[1]);
    let mut out = vec![0.0; v.len()];
    for i in 0..r {
        for j in 0..c {
            out[j * r + i] = v[i * c + j];
        }
    }
    out
}

fn linear(ctx: &mut Ctx, n: &NodeRef, out: &str) -> Result<(), Error> {
    let gemm = n.op() == "Gemm";
    if !gemm && ctx.constant(n, 1).is_none_or(|c| !c.is_float()) {
        return transformer::matmul(ctx, n, out);
    }
    if !gemm && transformer::attention(ctx, n)? {
        return Ok(());
    }
    let (x, s) = ctx.tensor(n, 0)?;
    let w = ctx
        .constant(n, 1)
        .cloned()
        .ok_or_else(|| n.unsupported("the weight is not an initializer"))?;
    if (gemm && s.len() != 2) || s.len() < 2 || w.dims.len() != 2 {
        return Err(n.unsupported(format!(
            "a product of shapes {s:?} and {:?}; nnc's linear takes [..., F] and a 2-D weight",
            w.dims
        )));
    }
    let trans_b = gemm && n.int("transB", 0) == 1;
    if gemm
        && (n.int("transA", 0) != 0 || n.float("alpha", 1.0) != 1.0 || n.float("beta", 1.0) != 1.0)
    {
        return Err(n.unsupported("Gemm with transA, alpha or beta other than the defaults"));
    }
    let (wdims, wdata) = if trans_b {
        (w.dims.clone(), w.as_f32())
    } else {
        (vec![w.dims[1], w.dims[0]], transpose2(&w.dims, &w.as_f32()))
    };
    let out_f = wdims[0];
    if wdims[1] != s[s.len() - 1] {
        return Err(n.unsupported(format!("input features {} but weight {:?}", s[1], wdims)));
    }
    let mut out_name = out.to_string();
    let mut bias: Option<Vec<f32>> = None;
    let mut stmt_node = n.name();
    if gemm && !n.input(2).is_empty() {
        let c = ctx
            .constant(n, 2)
            .ok_or_else(|| n.unsupported("the bias is not an initializer"))?;
        let v = c.as_f32();
        bias = Some(if v.len() == out_f {
            v
        } else if v.len() == 1 {
            vec![v[0]; out_f]
        } else {
            return Err(n.unsupported(format!("bias of shape {:?}", c.dims)));
        });
    } else if !gemm {
        // MatMul followed by Add of a [out] constant → linear with bias
        let add = ctx
            .sole_add_of_const(out)
            .filter(|(_, c)| c.len() == out_f)
            .map(|(u, c)| (u, c.as_f32()));
        if let Some((u, b)) = add {
            let a = &ctx.nodes[u];
            bias = Some(b);
            out_name = a.output[0].clone();
            stmt_node = format!("{} + {}", n.name(), a.name.clone().unwrap_or_default());
            ctx.done.insert(u);
        }
    }
    let op = Op::Linear {
        out_features: out_f,
        bias: bias.is_some(),
    };
    let shape = infer(n, &op, &[&s])?;
    let wsrc = transformer::weight_source(ctx, n.input(1));
    let scope = scope_for(ctx, n, &wsrc, "linear");
    store(ctx, format!("{scope}.weight"), wdims, wdata, n)?;
    if let Some(b) = bias.clone() {
        store(ctx, format!("{scope}.bias"), vec![out_f], b, n)?;
    }
    let id = ctx.bind(&out_name, &scope, shape);
    let b = if bias.is_some() { "" } else { ", bias = false" };
    ctx.stmts.push(crate::ctx::Stmt {
        text: format!("let {id} = linear({x}, out = {out_f}{b}, name = \"{scope}\");"),
        node: stmt_node,
    });
    Ok(())
}

fn pool(ctx: &mut Ctx, n: &NodeRef, out: &str) -> Result<(), Error> {
    let (x, s) = ctx.tensor(n, 0)?;
    if s.len() != 4 {
        return Err(n.unsupported("a pool over a tensor that is not 4-D"));
    }
    if n.node.output.len() > 1
        && !n.node.output[1].is_empty()
        && ctx.users.contains_key(&n.node.output[1])
    {
        return Err(n.unsupported("the Indices output is used"));
    }
    let kernel = match n.ints("kernel_shape") {
        Some(k) if k.len() == 2 && k.iter().all(|&v| v > 0) => [k[0] as usize, k[1] as usize],
        k => return Err(n.unsupported(format!("kernel_shape {k:?}"))),
    };
    let stride = pair_attr(n, "strides", 1)?;
    let dil = pair_attr(n, "dilations", 1)?;
    if dil != [1, 1] {
        return Err(n.unsupported("dilated pooling"));
    }
    let pad = pads2(n, kernel, stride, dil, [s[2], s[3]])?;
    let ceil = n.int("ceil_mode", 0) != 0;
    let p = Pool {
        kernel,
        stride,
        pad,
        ceil,
    };
    let max = n.op() == "MaxPool";
    let count_pad = n.int("count_include_pad", 0) != 0;
    let op = if max {
        Op::MaxPool(p)
    } else {
        Op::AvgPool { pool: p, count_pad }
    };
    let shape = infer(n, &op, &[&s])?;
    let mut args = vec![
        x,
        format!("kernel = {}", pair_str(kernel)),
        format!("stride = {}", pair_str(stride)),
    ];
    if pad != [0, 0] {
        args.push(format!("pad = {}", pair_str(pad)));
    }
    if ceil {
        args.push("ceil = true".into());
    }
    if !max && !count_pad && pad != [0, 0] {
        args.push("count_pad = false".into());
    }
    let id = ctx.bind(out, &hint(n), shape);
    let f = if max { "maxpool" } else { "avgpool" };
    ctx.push(n, format!("let {id} = {f}({});", args.join(", ")));
    Ok(())
}

fn reshape(ctx: &mut Ctx, n: &NodeRef, out: &str) -> Result<(), Error> {
    let (x, s) = ctx.tensor(n, 0)?;
    let target = ctx.constant(n, 1).map(|c| c.as_i64()).ok_or_else(|| {
        n.unsupported("a target shape that is not a constant (after folding the shape computation)")
    })?;
    let t = crate::reshape::resolve(&s, &target, n.int("allowzero", 0) != 0)
        .map_err(|e| n.unsupported(e))?;
    if t == s {
        ctx.alias(out, (x, s));
        return Ok(());
    }
    if s.len() >= 2 && t.len() == 2 && t[0] == s[0] {
        return simple(ctx, n, out, Op::Flatten, "flatten({x})");
    }
    // channel shuffle: [N,C,H,W] → [N,g,C/g,H,W] → Transpose(0,2,1,3,4) → [N,C,H,W]
    if s.len() == 4
        && t.len() == 5
        && t[0] == s[0]
        && t[1] * t[2] == s[1]
        && t[3] == s[2]
        && t[4] == s[3]
    {
        if let Some(tu) = ctx.sole_user(out) {
            let tn = &ctx.nodes[tu];
            let perm = NodeRef {
                node: tn,
                index: tu,
            }
            .ints("perm");
            if tn.op_type.as_deref() == Some("Transpose")
                && perm.as_deref() == Some(&[0, 2, 1, 3, 4])
            {
                let tout = tn.output[0].clone();
                if let Some(ru) = ctx.sole_user(&tout) {
                    let rn = &ctx.nodes[ru];
                    if rn.op_type.as_deref() == Some("Reshape") {
                        let target2 = rn.input.get(1).and_then(|v| match ctx.vals.get(v) {
                            Some(Val::Const(c)) => Some(c.as_i64()),
                            _ => None,
                        });
                        let t5 = [t[0], t[2], t[1], t[3], t[4]];
                        if let Some(t2) = target2 {
                            if crate::reshape::resolve(&t5, &t2, false).ok().as_deref()
                                == Some(&s[..])
                            {
                                let g = t[1];
                                let op = Op::ChannelShuffle { groups: g };
                                let shape = infer(n, &op, &[&s])?;
                                let rout = rn.output[0].clone();
                                ctx.done.insert(tu);
                                ctx.done.insert(ru);
                                let id = ctx.bind(&rout, &hint(n), shape);
                                ctx.push(
                                    n,
                                    format!("let {id} = channel_shuffle({x}, groups = {g});"),
                                );
                                return Ok(());
                            }
                        }
                    }
                }
            }
        }
    }
    let op = Op::Reshape { shape: t.clone() };
    let shape = infer(n, &op, &[&s])?;
    let dims: Vec<String> = t.iter().map(|d| d.to_string()).collect();
    let id = ctx.bind(out, &hint(n), shape);
    ctx.push(
        n,
        format!("let {id} = reshape({x}, [{}]);", dims.join(", ")),
    );
    Ok(())
}

fn concat(ctx: &mut Ctx, n: &NodeRef, out: &str) -> Result<(), Error> {
    let mut ids = Vec::new();
    let mut shapes = Vec::new();
    for i in 0..n.node.input.len() {
        let (x, s) = transformer::operand(ctx, n, i)?;
        ids.push(x);
        shapes.push(s);
    }
    let r = shapes.first().map(|s| s.len()).unwrap_or(0) as i64;
    let a = n.int("axis", 1);
    let axis = if a < 0 { a + r } else { a };
    if axis < 0 || axis >= r {
        return Err(n.unsupported(format!("axis {a}")));
    }
    let op = Op::Concat {
        axis: axis as usize,
    };
    let refs: Vec<&[usize]> = shapes.iter().map(|s| s.as_slice()).collect();
    let shape = infer(n, &op, &refs)?;
    let ax = if axis == 1 {
        String::new()
    } else {
        format!(", axis = {axis}")
    };
    let id = ctx.bind(out, &hint(n), shape);
    ctx.push(n, format!("let {id} = concat([{}]{ax});", ids.join(", ")));
    Ok(())
}

/// Emits `let (a, b, ...) = split(x, sizes = [...], axis = k);` binding the
/// given ONNX outputs (None: a part nobody uses).
fn emit_split(
    ctx: &mut Ctx,
    n: &NodeRef,
    x: &str,
    s: &[usize],
    axis: usize,
    sizes: &[usize],
    outs: &[Option<String>],
) -> Result<(), Error> {
    let mut start = 0;
    let mut ids = Vec::new();
    for (k, (&len, o)) in sizes.iter().zip(outs).enumerate() {
        let op = Op::Split {
            axis,
            start,
            len,
            part: k,
            parts: sizes.len(),
        };
        let shape = infer(n, &op, &[s])?;
        start += len;
        let id = match o {
            Some(o) => ctx.bind(o, &format!("{}_{k}", hint(n)), shape),
            None => ctx.idents.fresh(&format!("{}_unused", hint(n))),
        };
        ids.push(id);
    }
    let sz: Vec<String> = sizes.iter().map(|v| v.to_string()).collect();
    let ax = if axis == 1 {
        String::new()
    } else {
        format!(", axis = {axis}")
    };
    ctx.push(
        n,
        format!(
            "let ({}) = split({x}, sizes = [{}]{ax});",
            ids.join(", "),
            sz.join(", ")
        ),
    );
    Ok(())
}

fn split(ctx: &mut Ctx, n: &NodeRef) -> Result<(), Error> {
    let (x, s) = ctx.tensor(n, 0)?;
    let r = s.len() as i64;
    let a = n.int("axis", 0);
    let axis = if a < 0 { a + r } else { a };
    if axis < 0 || axis >= r {
        return Err(n.unsupported(format!("axis {a}")));
    }
    let axis = axis as usize;
    let k = n.node.output.len();
    let sizes: Vec<usize> = if let Some(c) = ctx.constant(n, 1) {
        c.as_i64().iter().map(|&v| v.max(0) as usize).collect()
    } else if let Some(v) = n.ints("split") {
        v.iter().map(|&v| v.max(0) as usize).collect()
    } else {
        let parts = n.int("num_outputs", k as i64).max(1) as usize;
        let each = s[axis].div_ceil(parts);
        (0..parts)
            .map(|i| each.min(s[axis].saturating_sub(i * each)))
            .collect()
    };
    if sizes.len() != k || sizes.contains(&0) || sizes.iter().sum::<usize>() != s[axis] {
        return Err(n.unsupported(format!(
            "split sizes {sizes:?} of a dimension of {}",
            s[axis]
        )));
    }
    if k == 1 {
        ctx.alias(&n.node.output[0], (x, s));
        return Ok(());
    }
    if transformer::roll(ctx, n, &x, &s, axis, &sizes)?.is_some() {
        return Ok(());
    }
    let outs: Vec<Option<String>> = n.node.output.iter().map(|o| Some(o.clone())).collect();
    emit_split(ctx, n, &x, &s, axis, &sizes, &outs)
}

fn slice(ctx: &mut Ctx, n: &NodeRef, out: &str) -> Result<(), Error> {
    let (x, s) = ctx.tensor(n, 0)?;
    let get = |i: usize| ctx.constant(n, i).map(|c| c.as_i64());
    let (Some(starts), Some(ends)) = (get(1), get(2)) else {
        return Err(n.unsupported("starts/ends that are not constants"));
    };
    let axes = get(3).unwrap_or_else(|| (0..starts.len() as i64).collect());
    let steps = get(4).unwrap_or_else(|| vec![1; starts.len()]);
    let r = s.len() as i64;
    // keep only the axes that actually cut
    let mut cut = None;
    for j in 0..starts.len() {
        let ax = axes.get(j).copied().unwrap_or(j as i64);
        let ax = if ax < 0 { ax + r } else { ax };
        let step = steps.get(j).copied().unwrap_or(1);
        if ax < 0 || ax >= r || step < 1 {
            return Err(n.unsupported("a slice with a negative or zero step, or bad axes"));
        }
        let d = s[ax as usize] as i64;
        let cl = |v: i64| (if v < 0 { v + d } else { v }).clamp(0, d) as usize;
        let (b, e) = (cl(starts[j]), cl(ends[j]));
        if b == 0 && e == d as usize && step == 1 {
            continue;
        }
        if cut.is_some() || b >= e {
            return Err(n.unsupported("a slice along several axes or an empty slice"));
        }
        cut = Some((ax as usize, b, e, step as usize));
    }
    if let Some((axis, b, e, step)) = cut.filter(|c| c.3 != 1) {
        let op = Op::Slice {
            axis,
            start: b,
            stop: e,
            step,
        };
        let shape = infer(n, &op, &[&s])?;
        let id = ctx.bind(out, &hint(n), shape);
        ctx.push(
            n,
            format!(
                "let {id} = slice({x}, axis = {axis}, start = {b}, stop = {e}, step = {step});"
            ),
        );
        return Ok(());
    }
    let cut = cut.map(|(a, b, e, _)| (a, b, e));
    let Some((axis, b, e)) = cut else {
        ctx.alias(out, (x, s));
        return Ok(());
    };
    let d = s[axis];
    let mut sizes = Vec::new();
    let mut outs = Vec::new();
    if b > 0 {
        sizes.push(b);
        outs.push(None);
    }
    sizes.push(e - b);
    outs.push(Some(out.to_string()));
    if e < d {
        sizes.push(d - e);
        outs.push(None);
    }
    emit_split(ctx, n, &x, &s, axis, &sizes, &outs)
}

fn resize(ctx: &mut Ctx, n: &NodeRef, out: &str) -> Result<(), Error> {
    let (_x, s) = ctx.tensor(n, 0)?;
    let mode = n.string("mode").unwrap_or_else(|| "nearest".into());
    if mode != "nearest" || s.len() != 4 {
        return Err(n.unsupported(format!(
            "mode `{mode}` (nnc's upsample is nearest on 4-D tensors)"
        )));
    }
    let scales = if n.op() == "Upsample" {
        ctx.constant(n, 1)
    } else {
        ctx.constant(n, 2)
    }
    .map(|c| c.as_f32())
    .filter(|v| !v.is_empty());
    let sizes = ctx
        .constant(n, 3)
        .map(|c| c.as_i64())
        .filter(|v| !v.is_empty());
    let scale = match (scales, sizes) {
        (Some(v), _)
            if v.len() == 4
                && v[0] == 1.0
                && v[1] == 1.0
                && v[2] == v[3]
                && v[2].fract() == 0.0
                && v[2] >= 1.0 =>
        {
            v[2] as usize
        }
        (_, Some(v))
            if v.len() == 4
                && v[0] as usize == s[0]
                && v[1] as usize == s[1]
                && (v[2] as usize).is_multiple_of(s[2])
                && v[2] as usize / s[2] == v[3] as usize / s[3]
                && (v[3] as usize).is_multiple_of(s[3]) =>
        {
            v[2] as usize / s[2]
        }
        _ => return Err(n.unsupported("scales that are not the same integer factor on H and W")),
    };
    simple(
        ctx,
        n,
        out,
        Op::Upsample { scale },
        &format!("upsample({{x}}, scale = {scale})"),
    )
}

/// The exact GELU as exporters spell it at opsets below 20:
/// `Div(x, sqrt 2) → Erf → Add(1) → Mul(x) → Mul(0.5)` (the two Muls in
/// either order). Returns x, the nodes of the pattern after the Div, and the
/// output value.
fn gelu_pattern(ctx: &Ctx, n: &NodeRef, out: &str) -> Option<(String, Vec<usize>, String)> {
    let x = n.input(0).to_string();
    let c = ctx.constant(n, 1)?.as_f32();
    if c.len() != 1 || (c[0] - std::f32::consts::SQRT_2).abs() > 1e-4 {
        return None;
    }
    let is_const = |v: &str, want: f32| match ctx.vals.get(v) {
        Some(Val::Const(c)) => c.as_f32().len() == 1 && (c.as_f32()[0] - want).abs() < 1e-6,
        _ => false,
    };
    let next = |value: &str, op: &str| -> Option<(usize, String, String)> {
        let u = ctx.sole_user(value)?;
        let m = &ctx.nodes[u];
        if m.op_type.as_deref() != Some(op) {
            return None;
        }
        let other = m
            .input
            .iter()
            .find(|i| i.as_str() != value)
            .cloned()
            .unwrap_or_default();
        Some((u, m.output.first()?.clone(), other))
    };
    let (e, eo, _) = next(out, "Erf")?;
    let (a, ao, one) = next(&eo, "Add")?;
    if !is_const(&one, 1.0) {
        return None;
    }
    let (m1, m1o, o1) = next(&ao, "Mul")?;
    let (m2, m2o, o2) = next(&m1o, "Mul")?;
    let ok = (o1 == x && is_const(&o2, 0.5)) || (is_const(&o1, 0.5) && o2 == x);
    if !ok {
        // x * 0.5 computed first: Mul(Mul(x, 0.5), 1 + erf)
        return None;
    }
    Some((x, vec![e, a, m1, m2], m2o))
}
