//! Import of the tensor and transformer ops: LayerNormalization (and the
//! channels-first form Transpose → LayerNormalization → Transpose),
//! Transpose → `permute`, Gather with a scalar constant index → `select`
//! and with a tensor of constant indices → `take`, float `Constant` nodes
//! used as operands → `constant`,
//! MatMul of two computed tensors → `matmul`, scalar Add/Sub/Mul/Div →
//! scalar arithmetic, float constants used as operands → `param`, Split →
//! Concat of the swapped parts → `roll`, Expand with a constant shape →
//! `expand`, and the decomposed multi-head
//! attention nnc exports (`export_onnx::transformer::attention`) →
//! `attention`.

use super::{fmt_f32, hint, infer, scope_for, store, transpose2};
use crate::attrs::NodeRef;
use crate::ctx::{Ctx, Val};
use crate::error::Error;
use crate::naming::{clean_scope, scope_of_node};
use nnc_ir::op::{BinaryKind, NormAxes, Op};

/// The name an operand's weight is known by: the initializer itself, or
/// the initializer a folded Transpose came from.
pub(super) fn weight_source(ctx: &Ctx, value: &str) -> String {
    ctx.origin
        .get(value)
        .cloned()
        .unwrap_or_else(|| value.to_string())
}

fn norm_axis(a: i64, r: usize) -> Option<usize> {
    let v = if a < 0 { a + r as i64 } else { a };
    (0..r as i64).contains(&v).then_some(v as usize)
}

/// Operand `i` as a tensor identifier: computed tensors as they are, a
/// float constant (an initializer such as a class token or a position
/// embedding) as a `param` named after it, declared on first use.
pub(super) fn operand(ctx: &mut Ctx, n: &NodeRef, i: usize) -> Result<(String, Vec<usize>), Error> {
    let name = n.input(i).to_string();
    let c = match ctx.vals.get(&name) {
        Some(Val::Const(c)) if c.is_float() && !c.dims.is_empty() => c.clone(),
        _ => return ctx.tensor(n, i),
    };
    if ctx.literals.contains(&name) {
        // a `Constant` node's tensor (e.g. an attention mask): a value, not
        // a weight
        let v = c.as_f32();
        if let Some(bad) = v.iter().find(|x| !x.is_finite()) {
            return Err(n.unsupported(format!(
                "a constant tensor holding {bad} (the language's numbers are finite)"
            )));
        }
        let id = ctx.bind(
            &name,
            &format!("{}_const", hint(n).replace('.', "_")),
            c.dims.clone(),
        );
        ctx.push(
            n,
            format!(
                "let {id} = constant({});",
                crate::nested::list(&c.dims, &v, &|x| fmt_f32(*x))
            ),
        );
        return Ok((id, c.dims));
    }
    let src = weight_source(ctx, &name);
    let want = clean_scope(&src)
        .filter(|_| ctx.initializer_names.contains(&src))
        .unwrap_or_else(|| format!("{}_param", hint(n).replace('.', "_")));
    let key = ctx.wnames.take(&want);
    store(ctx, key.clone(), c.dims.clone(), c.as_f32(), n)?;
    let id = ctx.bind(&name, &key.replace('.', "_"), c.dims.clone());
    let dims: Vec<String> = c.dims.iter().map(|d| d.to_string()).collect();
    ctx.push(
        n,
        format!("let {id} = param([{}], name = \"{key}\");", dims.join(", ")),
    );
    Ok((id, c.dims))
}

fn scalar(v: f32) -> String {
    if v < 0.0 {
        format!("({})", fmt_f32(v))
    } else {
        fmt_f32(v)
    }
}

/// `Add`/`Sub`/`Mul`/`Div` of a tensor and a one-element float constant:
/// nnc's scalar arithmetic (`x * 0.125`, `x + 1.0`, `1.0 - x`). `Mul` by
/// -1 followed by `Add` of a scalar (nnc's export of `c - x`) is one
/// statement. None when no operand is such a scalar.
pub(super) fn scalar_arith(ctx: &mut Ctx, n: &NodeRef, out: &str) -> Result<Option<()>, Error> {
    let one = |ctx: &Ctx, i: usize| {
        ctx.constant(n, i)
            .filter(|c| c.is_float() && c.len() == 1)
            .map(|c| c.as_f32()[0])
    };
    let (c, ti, const_first) = match (one(ctx, 0), one(ctx, 1)) {
        (None, Some(c)) => (c, 0, false),
        (Some(c), None) => (c, 1, true),
        _ => return Ok(None),
    };
    let (x, s) = ctx.tensor(n, ti)?;
    let op = n.op();
    // c - x, exported as Mul(x, -1) → Add(·, c)
    if op == "Mul" && c == -1.0 {
        let k = ctx
            .sole_add_of_const(out)
            .filter(|(_, k)| k.is_float() && k.len() == 1)
            .map(|(u, k)| (u, k.as_f32()[0]));
        if let Some((u, k)) = k {
            let ao = ctx.nodes[u].output[0].clone();
            ctx.done.insert(u);
            let shape = infer(n, &Op::Affine { mul: -1.0, add: k }, &[&s])?;
            let id = ctx.bind(&ao, &hint(n), shape);
            ctx.push(n, format!("let {id} = {} - {x};", scalar(k)));
            return Ok(Some(()));
        }
    }
    let expr = match (op, const_first) {
        ("Mul", _) => format!("{x} * {}", scalar(c)),
        ("Add", _) if c < 0.0 => format!("{x} - {}", fmt_f32(-c)),
        ("Add", _) => format!("{x} + {}", fmt_f32(c)),
        ("Sub", false) if c < 0.0 => format!("{x} + {}", fmt_f32(-c)),
        ("Sub", false) => format!("{x} - {}", fmt_f32(c)),
        ("Sub", true) => format!("{} - {x}", scalar(c)),
        ("Div", false) if c != 0.0 => format!("{x} / {}", scalar(c)),
        _ => {
            return Err(n.unsupported(format!(
                "`{op}` with a constant {} operand; nnc divides a tensor by a non-zero number only",
                if const_first { "first" } else { "second" }
            )))
        }
    };
    let shape = infer(n, &Op::Affine { mul: 1.0, add: 0.0 }, &[&s])?;
    let id = ctx.bind(out, &hint(n), shape);
    ctx.push(n, format!("let {id} = {expr};"));
    Ok(Some(()))
}

/// `Add`/`Mul` where an operand is a float constant with more than one
/// element: the constant becomes a `param` (nnc's export of `param(...) * x`).
pub(super) fn binary_with_params(
    ctx: &mut Ctx,
    n: &NodeRef,
    out: &str,
    kind: BinaryKind,
) -> Result<(), Error> {
    let (a, sa) = operand(ctx, n, 0)?;
    let (b, sb) = operand(ctx, n, 1)?;
    let shape = infer(n, &Op::Binary(kind), &[&sa, &sb])?;
    let id = ctx.bind(out, &hint(n), shape);
    let sym = if kind == BinaryKind::Add { "+" } else { "*" };
    ctx.push(n, format!("let {id} = {a} {sym} {b};"));
    Ok(())
}

/// `Transpose` of a computed tensor: `permute`, or with a
/// LayerNormalization over the last axis and the inverse Transpose, a
/// channels-first `layernorm`.
pub(super) fn transpose(ctx: &mut Ctx, n: &NodeRef, out: &str) -> Result<(), Error> {
    let (x, s) = ctx.tensor(n, 0)?;
    let r = s.len();
    let perm: Vec<usize> = match n.ints("perm") {
        Some(p) => p.iter().map(|&a| a.max(0) as usize).collect(),
        None => (0..r).rev().collect(),
    };
    let to_last: Vec<usize> = std::iter::once(0)
        .chain(2..r)
        .chain(std::iter::once(1))
        .collect();
    if r >= 3 && perm == to_last {
        if let Some(done) = channels_first_layernorm(ctx, n, out, &x, &s)? {
            return Ok(done);
        }
    }
    let op = Op::Permute { perm: perm.clone() };
    let shape = infer(n, &op, &[&s])?;
    let p: Vec<String> = perm.iter().map(|a| a.to_string()).collect();
    let id = ctx.bind(out, &hint(n), shape);
    ctx.push(n, format!("let {id} = permute({x}, [{}]);", p.join(", ")));
    Ok(())
}

fn channels_first_layernorm(
    ctx: &mut Ctx,
    n: &NodeRef,
    out: &str,
    x: &str,
    s: &[usize],
) -> Result<Option<()>, Error> {
    let r = s.len();
    let Some(lu) = ctx.sole_user(out) else {
        return Ok(None);
    };
    let ln = NodeRef {
        node: &ctx.nodes[lu],
        index: lu,
    };
    if ln.op() != "LayerNormalization"
        || ln.input(0) != out
        || norm_axis(ln.int("axis", -1), r) != Some(r - 1)
    {
        return Ok(None);
    }
    let lout = ln.node.output[0].clone();
    let Some(bu) = ctx.sole_user(&lout) else {
        return Ok(None);
    };
    let back = NodeRef {
        node: &ctx.nodes[bu],
        index: bu,
    };
    let inv: Vec<i64> = [0, r as i64 - 1]
        .into_iter()
        .chain(1..r as i64 - 1)
        .collect();
    if back.op() != "Transpose" || back.ints("perm").as_deref() != Some(&inv[..]) {
        return Ok(None);
    }
    let Some((scope, eps)) = layernorm_weights(ctx, &ln, &[s[1]])? else {
        return Ok(None);
    };
    let op = Op::LayerNorm {
        axes: NormAxes::Channels,
        eps: eps as f64,
    };
    let shape = infer(n, &op, &[s])?;
    let bout = back.node.output[0].clone();
    ctx.done.insert(lu);
    ctx.done.insert(bu);
    let id = ctx.bind(&bout, &scope, shape);
    ctx.push(
        n,
        format!(
            "let {id} = layernorm({x}{}, channels_first = true, name = \"{scope}\");",
            eps_arg(eps)
        ),
    );
    Ok(Some(()))
}

fn eps_arg(eps: f32) -> String {
    if eps == 1e-5 {
        String::new()
    } else {
        format!(", eps = {}", fmt_f32(eps))
    }
}

/// The scale and bias of a LayerNormalization node, stored under its
/// scope; None when they are not constants of the `normalized` shape.
fn layernorm_weights(
    ctx: &mut Ctx,
    ln: &NodeRef,
    normalized: &[usize],
) -> Result<Option<(String, f32)>, Error> {
    let Some(scale) = ctx.constant(ln, 1).cloned() else {
        return Ok(None);
    };
    let bias = if ln.input(2).is_empty() {
        None
    } else {
        match ctx.constant(ln, 2).cloned() {
            Some(b) => Some(b),
            None => return Ok(None),
        }
    };
    let count: usize = normalized.iter().product();
    if scale.len() != count || bias.as_ref().is_some_and(|b| b.len() != count) {
        return Ok(None);
    }
    for o in ln.node.output.iter().skip(1) {
        if !o.is_empty() && ctx.users.contains_key(o) {
            return Err(ln.unsupported("the Mean / InvStdDev outputs are used"));
        }
    }
    let eps = ln.float("epsilon", 1e-5);
    if !(eps.is_finite() && eps > 0.0) {
        return Err(ln.unsupported(format!("epsilon {eps}")));
    }
    let src = weight_source(ctx, ln.input(1));
    let scope = scope_for(ctx, ln, &src, "ln");
    store(
        ctx,
        format!("{scope}.weight"),
        normalized.to_vec(),
        scale.as_f32(),
        ln,
    )?;
    let b = bias.map(|b| b.as_f32()).unwrap_or_else(|| vec![0.0; count]);
    store(ctx, format!("{scope}.bias"), normalized.to_vec(), b, ln)?;
    Ok(Some((scope, eps)))
}

pub(super) fn layernorm(ctx: &mut Ctx, n: &NodeRef, out: &str) -> Result<(), Error> {
    let (x, s) = ctx.tensor(n, 0)?;
    let r = s.len();
    let a = n.int("axis", -1);
    let Some(axis) = norm_axis(a, r).filter(|&a| a >= 1) else {
        return Err(n.unsupported(format!(
            "axis {a} (nnc normalizes over trailing axes, not the batch)"
        )));
    };
    let k = r - axis;
    let Some((scope, eps)) = layernorm_weights(ctx, n, &s[axis..])? else {
        return Err(n.unsupported("a scale or bias that is not a constant of the normalized shape"));
    };
    let op = Op::LayerNorm {
        axes: NormAxes::Last(k),
        eps: eps as f64,
    };
    let shape = infer(n, &op, &[&s])?;
    let dims = if k == 1 {
        String::new()
    } else {
        format!(", dims = {k}")
    };
    let id = ctx.bind(out, &scope, shape);
    ctx.push(
        n,
        format!(
            "let {id} = layernorm({x}{}{dims}, name = \"{scope}\");",
            eps_arg(eps)
        ),
    );
    Ok(())
}

/// `Gather` with constant indices: `select` for a scalar index, `take` for
/// a tensor of indices (a float initializer as the data is a `param`, e.g.
/// Swin's relative position bias table).
pub(super) fn gather(ctx: &mut Ctx, n: &NodeRef, out: &str) -> Result<(), Error> {
    let (x, s) = operand(ctx, n, 0)?;
    let a = n.int("axis", 0);
    let Some(axis) = norm_axis(a, s.len()) else {
        return Err(n.unsupported(format!("axis {a}")));
    };
    let c = ctx
        .constant(n, 1)
        .filter(|c| !c.is_float())
        .cloned()
        .ok_or_else(|| n.unsupported("indices that are not an integer constant"))?;
    let size = s[axis] as i64;
    let mut indices = Vec::with_capacity(c.len());
    for i in c.as_i64() {
        let j = if i < 0 { i + size } else { i };
        if !(0..size).contains(&j) {
            return Err(n.unsupported(format!("index {i} outside an axis of {size}")));
        }
        indices.push(j as usize);
    }
    let (op, text) = if c.dims.is_empty() {
        let index = indices[0];
        (
            Op::Select { axis, index },
            format!("select({x}, axis = {axis}, index = {index})"),
        )
    } else {
        let list = crate::nested::list(&c.dims, &indices, &|i| i.to_string());
        let text = format!("take({x}, {list}, axis = {axis})");
        let op = Op::Take {
            axis,
            indices,
            index_shape: c.dims.clone(),
        };
        (op, text)
    };
    let shape = infer(n, &op, &[&s])?;
    let id = ctx.bind(out, &hint(n), shape);
    ctx.push(n, format!("let {id} = {text};"));
    Ok(())
}

/// `Expand` with a constant shape: `expand`, to the NumPy broadcast of the
/// input's shape and the given one (ONNX broadcasts both ways: a 1 in the
/// given shape keeps the input's size); nothing when that is the input's
/// shape.
pub(super) fn expand(ctx: &mut Ctx, n: &NodeRef, out: &str) -> Result<(), Error> {
    let (x, s) = operand(ctx, n, 0)?;
    let c = ctx
        .constant(n, 1)
        .filter(|c| !c.is_float() && c.dims.len() == 1)
        .cloned()
        .ok_or_else(|| {
            n.unsupported(
                "a shape that is not a constant list of ints (after folding the shape computation)",
            )
        })?;
    let target = c.as_i64();
    if let Some(bad) = target.iter().find(|&&d| d < 1) {
        return Err(n.unsupported(format!(
            "the size {bad} in the shape {target:?} (sizes are positive)"
        )));
    }
    let r = s.len().max(target.len());
    let mut shape = Vec::with_capacity(r);
    for a in 0..r {
        // axis `a` of the result, aligned from the end on both sides
        let xi = (a + s.len()).checked_sub(r).map(|j| s[j]).unwrap_or(1);
        let ti = (a + target.len())
            .checked_sub(r)
            .map(|j| target[j] as u64)
            .unwrap_or(1);
        let d = match (xi as u64, ti) {
            (p, q) if p == q || q == 1 => p,
            (1, q) => q,
            (p, q) => {
                return Err(n.unsupported(format!(
                    "the shape {target:?} does not broadcast with the input's {s:?} (axis {a}: {p} and {q})"
                )))
            }
        };
        shape.push(usize::try_from(d).map_err(|_| n.unsupported("a size too large"))?);
    }
    if shape == s {
        ctx.alias(out, (x, s));
        return Ok(());
    }
    let op = Op::Expand {
        shape: shape.clone(),
    };
    let shape = infer(n, &op, &[&s])?;
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let id = ctx.bind(out, &hint(n), shape);
    ctx.push(n, format!("let {id} = expand({x}, [{}]);", dims.join(", ")));
    Ok(())
}

/// `MatMul` whose second operand is not a constant: `matmul` (a float
/// constant operand becomes a `param`).
pub(super) fn matmul(ctx: &mut Ctx, n: &NodeRef, out: &str) -> Result<(), Error> {
    let (a, sa) = operand(ctx, n, 0)?;
    let (b, sb) = operand(ctx, n, 1)?;
    let shape = infer(n, &Op::MatMul, &[&sa, &sb])?;
    let id = ctx.bind(out, &hint(n), shape);
    ctx.push(n, format!("let {id} = matmul({a}, {b});"));
    Ok(())
}

/// A two-part `Split` whose parts are concatenated swapped along the same
/// axis (nnc's export of `roll`): `roll(x, shift, axis)`.
pub(super) fn roll(
    ctx: &mut Ctx,
    n: &NodeRef,
    x: &str,
    s: &[usize],
    axis: usize,
    sizes: &[usize],
) -> Result<Option<()>, Error> {
    if sizes.len() != 2 || n.node.output.len() != 2 {
        return Ok(None);
    }
    let (o0, o1) = (&n.node.output[0], &n.node.output[1]);
    let (Some(u0), Some(u1)) = (ctx.sole_user(o0), ctx.sole_user(o1)) else {
        return Ok(None);
    };
    let c = &ctx.nodes[u0];
    let cr = NodeRef { node: c, index: u0 };
    if u0 != u1
        || c.op_type.as_deref() != Some("Concat")
        || c.input != [o1.clone(), o0.clone()]
        || norm_axis(cr.int("axis", 0), s.len()) != Some(axis)
    {
        return Ok(None);
    }
    let shift = sizes[1];
    let op = Op::Roll { axis, shift };
    let shape = infer(n, &op, &[s])?;
    let cout = c.output[0].clone();
    ctx.done.insert(u0);
    let id = ctx.bind(&cout, &hint(n), shape);
    ctx.push(
        n,
        format!("let {id} = roll({x}, shift = {shift}, axis = {axis});"),
    );
    Ok(Some(()))
}

/// The node consuming `value` alone, with its op type checked.
fn next<'a>(ctx: &'a Ctx, value: &str, op: &str) -> Option<(usize, NodeRef<'a>)> {
    let u = ctx.sole_user(value)?;
    let r = NodeRef {
        node: &ctx.nodes[u],
        index: u,
    };
    (r.op() == op).then_some((u, r))
}

fn const_of<'a>(ctx: &'a Ctx, value: &str) -> Option<&'a crate::tensor::Const> {
    match ctx.vals.get(value) {
        Some(Val::Const(c)) if c.is_float() => Some(c),
        _ => None,
    }
}

/// `x @ W (+ b)`: the MatMul's output (or the Add's, with the bias).
fn projection(
    ctx: &Ctx,
    mm: &NodeRef,
    out_f: usize,
) -> Option<(String, Option<Vec<f32>>, Vec<usize>)> {
    let out = mm.node.output.first()?.clone();
    let mut done = vec![];
    if let Some((u, add)) = next(ctx, &out, "Add") {
        let other = if add.input(0) == out {
            add.input(1)
        } else {
            add.input(0)
        };
        if let Some(c) = const_of(ctx, other).filter(|c| c.len() == out_f) {
            done.push(u);
            return Some((add.node.output.first()?.clone(), Some(c.as_f32()), done));
        }
    }
    Some((out, None, done))
}

/// The decomposed attention of nnc's export, starting at the input
/// projection's MatMul `n`: returns true when it matched and was emitted.
pub(super) fn attention(ctx: &mut Ctx, n: &NodeRef) -> Result<bool, Error> {
    let Some(m) = match_attention(ctx, n) else {
        return Ok(false);
    };
    for u in &m.nodes {
        ctx.done.insert(*u);
    }
    let e = m.e;
    let src = weight_source(ctx, n.input(1));
    let want = src
        .strip_suffix(".in_proj_weight")
        .and_then(clean_scope)
        .or_else(|| scope_of_node(&n.name()))
        .unwrap_or_else(|| format!("attention_{}", n.index));
    let scope = ctx.wnames.take(&want);
    store(
        ctx,
        format!("{scope}.in_proj_weight"),
        vec![3 * e, e],
        transpose2(&[e, 3 * e], &m.w_in),
        n,
    )?;
    if let Some(b) = m.b_in {
        store(ctx, format!("{scope}.in_proj_bias"), vec![3 * e], b, n)?;
    }
    store(
        ctx,
        format!("{scope}.out_proj.weight"),
        vec![e, e],
        transpose2(&[e, e], &m.w_out),
        n,
    )?;
    if let Some(b) = m.b_out {
        store(ctx, format!("{scope}.out_proj.bias"), vec![e], b, n)?;
    }
    let (x, s) = ctx.tensor(n, 0)?;
    let op = Op::Attention {
        heads: m.heads,
        bias: m.bias,
    };
    let shape = infer(n, &op, &[&s])?;
    let id = ctx.bind(&m.out, &scope, shape);
    let b = if m.bias { "" } else { ", bias = false" };
    ctx.push(
        n,
        format!(
            "let {id} = attention({x}, heads = {}{b}, name = \"{scope}\");",
            m.heads
        ),
    );
    Ok(true)
}

struct Attn {
    e: usize,
    heads: usize,
    bias: bool,
    w_in: Vec<f32>,
    b_in: Option<Vec<f32>>,
    w_out: Vec<f32>,
    b_out: Option<Vec<f32>>,
    nodes: Vec<usize>,
    out: String,
}

fn match_attention(ctx: &Ctx, n: &NodeRef) -> Option<Attn> {
    let Some(Val::T { shape: s, .. }) = ctx.vals.get(n.input(0)) else {
        return None;
    };
    let &[bn, l, e] = s.as_slice() else {
        return None;
    };
    let w_in = const_of(ctx, n.input(1)).filter(|c| c.dims == [e, 3 * e])?;
    let mut nodes = vec![];
    let (qkv, b_in, d0) = projection(ctx, n, 3 * e)?;
    nodes.extend(d0);
    let (us, split) = next(ctx, &qkv, "Split")?;
    nodes.push(us);
    let sizes = ctx
        .vals
        .get(split.input(1))
        .and_then(|v| match v {
            Val::Const(c) => Some(c.as_i64()),
            _ => None,
        })
        .or_else(|| split.ints("split"))?;
    if norm_axis(split.int("axis", 0), 3) != Some(2)
        || sizes != [e as i64; 3]
        || split.node.output.len() != 3
    {
        return None;
    }
    // per head: Reshape [N, L, H, d] → Transpose
    let mut heads = 0;
    let mut per = vec![];
    for (k, perm) in [[0, 2, 1, 3], [0, 2, 3, 1], [0, 2, 1, 3]]
        .iter()
        .enumerate()
    {
        let (ur, r) = next(ctx, &split.node.output[k], "Reshape")?;
        let t = const_of_i64(ctx, r.input(1))?;
        let t = crate::reshape::resolve(&[bn, l, e], &t, false).ok()?;
        let &[tn, tl, h, d] = t.as_slice() else {
            return None;
        };
        if tn != bn || tl != l || h * d != e || (heads != 0 && h != heads) {
            return None;
        }
        heads = h;
        let (ut, t) = next(ctx, r.node.output.first()?, "Transpose")?;
        if t.ints("perm").as_deref() != Some(&perm[..]) {
            return None;
        }
        nodes.extend([ur, ut]);
        per.push(t.node.output.first()?.clone());
    }
    let d = e / heads;
    let (um, scores) = next(ctx, &per[0], "MatMul")?;
    if scores.node.input != [per[0].clone(), per[1].clone()] || ctx.sole_user(&per[1]) != Some(um) {
        return None;
    }
    let (usc, scale) = next(ctx, scores.node.output.first()?, "Mul")?;
    let so = scores.node.output.first()?;
    let other = if scale.input(0) == so {
        scale.input(1)
    } else {
        scale.input(0)
    };
    let want = (1.0 / (d as f64).sqrt()) as f32;
    let c = const_of(ctx, other).filter(|c| c.len() == 1)?.as_f32()[0];
    if (c - want).abs() > 1e-6 * want {
        return None;
    }
    let (usm, sm) = next(ctx, scale.node.output.first()?, "Softmax")?;
    if norm_axis(sm.int("axis", -1), 4) != Some(3) {
        return None;
    }
    let (uc, ctxm) = next(ctx, sm.node.output.first()?, "MatMul")?;
    if ctxm.node.input != [sm.node.output[0].clone(), per[2].clone()]
        || ctx.sole_user(&per[2]) != Some(uc)
    {
        return None;
    }
    let (ut, t) = next(ctx, ctxm.node.output.first()?, "Transpose")?;
    if t.ints("perm").as_deref() != Some(&[0, 2, 1, 3][..]) {
        return None;
    }
    let (ur, r) = next(ctx, t.node.output.first()?, "Reshape")?;
    let t2 =
        crate::reshape::resolve(&[bn, l, heads, d], &const_of_i64(ctx, r.input(1))?, false).ok()?;
    if t2 != [bn, l, e] {
        return None;
    }
    let (uo, om) = next(ctx, r.node.output.first()?, "MatMul")?;
    let w_out = const_of(ctx, om.input(1)).filter(|c| c.dims == [e, e])?;
    if om.input(0) != r.node.output[0] {
        return None;
    }
    let (out, b_out, d1) = projection(ctx, &om, e)?;
    if b_in.is_some() != b_out.is_some() {
        return None;
    }
    nodes.extend([um, usc, usm, uc, ut, ur, uo]);
    nodes.extend(d1);
    Some(Attn {
        e,
        heads,
        bias: b_in.is_some(),
        w_in: w_in.as_f32(),
        b_in,
        w_out: w_out.as_f32(),
        b_out,
        nodes,
        out,
    })
}

fn const_of_i64(ctx: &Ctx, value: &str) -> Option<Vec<i64>> {
    match ctx.vals.get(value) {
        Some(Val::Const(c)) if !c.is_float() => Some(c.as_i64()),
        _ => None,
    }
}
