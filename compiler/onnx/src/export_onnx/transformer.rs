//! ONNX forms of the tensor and transformer ops (layernorm, reshape,
//! permute, slice, select, take, constant, matmul, scalar arithmetic, roll,
//! expand, N-D linear, attention). Weights keep nnc's names (and PyTorch's shapes: a linear
//! weight stays `[out, in]`, transposed by a `Transpose` node), so the
//! importer can name them back; the importer recognizes exactly these
//! node sequences (`ops::transformer`).

use super::{attr_f, attr_i, attr_ints, f32_tensor, Builder};
use crate::error::Error;
use crate::proto::onnx::{attribute_proto::AttributeType, AttributeProto, TensorProto};
use crate::tensor::dtype;
use nnc_diag::codes::onnx as code;
use nnc_interp::weights::WeightStore;
use nnc_ir::op::NormAxes;

/// A weight of the store as an initializer named `key` (made unique).
pub(crate) fn weight(b: &mut Builder, w: &WeightStore, key: &str) -> Result<String, Error> {
    let t = w.get(key).ok_or_else(|| {
        Error::new(
            code::EXPORT_FAILED,
            format!("the weight `{key}` is missing"),
        )
    })?;
    let n = b.fresh(key);
    b.inits.push(f32_tensor(&n, t.shape(), t.data()));
    Ok(n)
}

fn i64_scalar(name: &str, v: i64) -> TensorProto {
    TensorProto {
        name: Some(name.into()),
        dims: vec![],
        data_type: Some(dtype::INT64),
        int64_data: vec![v],
        ..Default::default()
    }
}

fn ints(v: &[usize]) -> Vec<i64> {
    v.iter().map(|&d| d as i64).collect()
}

/// `y = x @ W^T (+ b)` for `W: [out, in]` stored as `{scope}.weight`:
/// `Transpose(W) → MatMul (→ Add bias)`. `stem` names the nodes.
#[allow(clippy::too_many_arguments)]
pub(crate) fn linear_nd(
    b: &mut Builder,
    w: &WeightStore,
    stem: &str,
    weight_key: &str,
    bias_key: Option<&str>,
    x: String,
    out: String,
) -> Result<(), Error> {
    let wt = weight(b, w, weight_key)?;
    let wtt = b.fresh(&format!("{weight_key}.T"));
    b.node(
        "Transpose",
        &format!("{stem}.weight_t"),
        vec![wt],
        vec![wtt.clone()],
        vec![attr_ints("perm", &[1, 0])],
    );
    match bias_key {
        None => b.node("MatMul", stem, vec![x, wtt], vec![out], vec![]),
        Some(bk) => {
            let mm = b.fresh(&format!("{stem}.matmul"));
            b.node(
                "MatMul",
                &format!("{stem}.matmul"),
                vec![x, wtt],
                vec![mm.clone()],
                vec![],
            );
            let bias = weight(b, w, bk)?;
            b.node("Add", stem, vec![mm, bias], vec![out], vec![]);
        }
    }
    Ok(())
}

/// LayerNormalization (opset 17): over the last `k` axes directly; over the
/// channels of `[N, C, ...]` between two Transposes (channels last and back).
#[allow(clippy::too_many_arguments)]
pub(crate) fn layernorm(
    b: &mut Builder,
    w: &WeightStore,
    nm: &str,
    axes: NormAxes,
    eps: f64,
    rank: usize,
    opset: i64,
    x: String,
    out: String,
) -> Result<(), Error> {
    if opset < 17 {
        return Err(Error::new(
            code::EXPORT_FAILED,
            format!("node `{nm}`: layernorm needs ONNX LayerNormalization, which is opset 17 or later (this export is opset {opset})"),
        ));
    }
    let scale = weight(b, w, &format!("{nm}.weight"))?;
    let bias = weight(b, w, &format!("{nm}.bias"))?;
    let eps = attr_f("epsilon", eps as f32);
    match axes {
        NormAxes::Last(k) => b.node(
            "LayerNormalization",
            nm,
            vec![x, scale, bias],
            vec![out],
            vec![attr_i("axis", -(k as i64)), eps],
        ),
        NormAxes::Channels => {
            let last: Vec<i64> = std::iter::once(0)
                .chain(2..rank as i64)
                .chain(std::iter::once(1))
                .collect();
            let back: Vec<i64> = [0, rank as i64 - 1]
                .into_iter()
                .chain(1..rank as i64 - 1)
                .collect();
            let t1 = b.fresh(&format!("{nm}.channels_last"));
            let t2 = b.fresh(&format!("{nm}.normalized"));
            b.node(
                "Transpose",
                &format!("{nm}.to_channels_last"),
                vec![x],
                vec![t1.clone()],
                vec![attr_ints("perm", &last)],
            );
            b.node(
                "LayerNormalization",
                &format!("{nm}.layernorm"),
                vec![t1, scale, bias],
                vec![t2.clone()],
                vec![attr_i("axis", -1), eps],
            );
            b.node(
                "Transpose",
                nm,
                vec![t2],
                vec![out],
                vec![attr_ints("perm", &back)],
            );
        }
    }
    Ok(())
}

pub(crate) fn reshape(b: &mut Builder, nm: &str, shape: &[usize], x: String, out: String) {
    let s = b.const_i64(&format!("{nm}.shape"), &ints(shape));
    b.node("Reshape", nm, vec![x, s], vec![out], vec![]);
}

/// `expand(x, shape)`: `Expand` with the output shape as an int64
/// initializer (the importer reads it back as a constant).
pub(crate) fn expand(b: &mut Builder, nm: &str, shape: &[usize], x: String, out: String) {
    let s = b.const_i64(&format!("{nm}.shape"), &ints(shape));
    b.node("Expand", nm, vec![x, s], vec![out], vec![]);
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn slice(
    b: &mut Builder,
    nm: &str,
    axis: usize,
    start: usize,
    stop: usize,
    step: usize,
    x: String,
    out: String,
) {
    let s = b.const_i64(&format!("{nm}.starts"), &[start as i64]);
    let e = b.const_i64(&format!("{nm}.ends"), &[stop as i64]);
    let a = b.const_i64(&format!("{nm}.axes"), &[axis as i64]);
    let st = b.const_i64(&format!("{nm}.steps"), &[step as i64]);
    b.node("Slice", nm, vec![x, s, e, a, st], vec![out], vec![]);
}

/// `x[:, index]`: Gather with a scalar index (the axis is removed).
pub(crate) fn select(b: &mut Builder, nm: &str, axis: usize, index: usize, x: String, out: String) {
    let i = b.fresh(&format!("{nm}.index"));
    b.inits.push(i64_scalar(&i, index as i64));
    b.node(
        "Gather",
        nm,
        vec![x, i],
        vec![out],
        vec![attr_i("axis", axis as i64)],
    );
}

/// `x * mul + add` as `Mul` then `Add` by scalars (each left out when it is
/// the identity; both identities give an `Identity`).
/// `take(x, indices, axis)`: `Gather` with the indices as an int64
/// initializer of the index shape.
pub(crate) fn take(
    b: &mut Builder,
    nm: &str,
    axis: usize,
    indices: &[usize],
    index_shape: &[usize],
    x: String,
    out: String,
) {
    let n = b.fresh(&format!("{nm}.indices"));
    b.inits.push(TensorProto {
        name: Some(n.clone()),
        dims: ints(index_shape),
        data_type: Some(dtype::INT64),
        int64_data: ints(indices),
        ..Default::default()
    });
    b.node(
        "Gather",
        nm,
        vec![x, n],
        vec![out],
        vec![attr_i("axis", axis as i64)],
    );
}

/// `constant(...)`: a `Constant` node holding the tensor. Not an
/// initializer: initializers are weights, and the importer reads a float
/// initializer as a `param`.
pub(crate) fn constant(b: &mut Builder, nm: &str, shape: &[usize], values: &[f32], out: String) {
    let value = AttributeProto {
        name: Some("value".into()),
        t: Some(f32_tensor(&format!("{nm}.value"), shape, values)),
        r#type: Some(AttributeType::Tensor as i32),
        ..Default::default()
    };
    b.node("Constant", nm, vec![], vec![out], vec![value]);
}

pub(crate) fn affine(b: &mut Builder, nm: &str, mul: f32, add: f32, x: String, out: String) {
    match (mul != 1.0, add != 0.0) {
        (false, false) => b.node("Identity", nm, vec![x], vec![out], vec![]),
        (true, false) => {
            let m = b.const_f32(&format!("{nm}.mul"), mul);
            b.node("Mul", nm, vec![x, m], vec![out], vec![]);
        }
        (false, true) => {
            let a = b.const_f32(&format!("{nm}.add"), add);
            b.node("Add", nm, vec![x, a], vec![out], vec![]);
        }
        (true, true) => {
            let m = b.const_f32(&format!("{nm}.mul"), mul);
            let a = b.const_f32(&format!("{nm}.add"), add);
            let t = b.fresh(&format!("{nm}.scaled"));
            b.node(
                "Mul",
                &format!("{nm}.scale"),
                vec![x, m],
                vec![t.clone()],
                vec![],
            );
            b.node("Add", nm, vec![t, a], vec![out], vec![]);
        }
    }
}

/// `torch.roll` along one axis: `Split` into `[n - shift, shift]`, then
/// `Concat` of the parts swapped.
pub(crate) fn roll(
    b: &mut Builder,
    nm: &str,
    axis: usize,
    shift: usize,
    n: usize,
    x: String,
    out: String,
) {
    if shift == 0 || shift >= n {
        b.node("Identity", nm, vec![x], vec![out], vec![]);
        return;
    }
    let sizes = b.const_i64(&format!("{nm}.sizes"), &[(n - shift) as i64, shift as i64]);
    let p0 = b.fresh(&format!("{nm}.head"));
    let p1 = b.fresh(&format!("{nm}.tail"));
    b.node(
        "Split",
        &format!("{nm}.split"),
        vec![x, sizes],
        vec![p0.clone(), p1.clone()],
        vec![attr_i("axis", axis as i64)],
    );
    b.node(
        "Concat",
        nm,
        vec![p1, p0],
        vec![out],
        vec![attr_i("axis", axis as i64)],
    );
}

/// `nn.MultiheadAttention(E, heads, batch_first=True)(x, x, x)` on
/// `[N, L, E]`, decomposed: the input projection (`{nm}.in_proj_weight`,
/// `{nm}.in_proj_bias`) → Split into q, k, v → per-head Reshape/Transpose
/// → `MatMul(q, k^T) * 1/sqrt(d)` → Softmax → `MatMul(·, v)` → Transpose,
/// Reshape → the output projection (`{nm}.out_proj.weight`, `.bias`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn attention(
    b: &mut Builder,
    w: &WeightStore,
    nm: &str,
    heads: usize,
    bias: bool,
    shape: &[usize],
    x: String,
    out: String,
) -> Result<(), Error> {
    let (n, l, e) = (shape[0], shape[1], shape[2]);
    let d = e / heads;
    let t = |b: &mut Builder, s: &str| b.fresh(&format!("{nm}.{s}"));
    let qkv = t(b, "qkv");
    let in_bias = format!("{nm}.in_proj_bias");
    linear_nd(
        b,
        w,
        &format!("{nm}.in_proj"),
        &format!("{nm}.in_proj_weight"),
        bias.then_some(in_bias.as_str()),
        x,
        qkv.clone(),
    )?;
    let sizes = b.const_i64(&format!("{nm}.qkv_sizes"), &[e as i64; 3]);
    let (q, k, v) = (t(b, "q"), t(b, "k"), t(b, "v"));
    b.node(
        "Split",
        &format!("{nm}.split_qkv"),
        vec![qkv, sizes],
        vec![q.clone(), k.clone(), v.clone()],
        vec![attr_i("axis", 2)],
    );
    let heads_shape = b.const_i64(&format!("{nm}.heads_shape"), &ints(&[n, l, heads, d]));
    let per_head = |b: &mut Builder, v: String, s: &str, perm: &[i64]| {
        let r = b.fresh(&format!("{nm}.{s}_heads"));
        let p = b.fresh(&format!("{nm}.{s}_t"));
        b.node(
            "Reshape",
            &format!("{nm}.{s}_reshape"),
            vec![v, heads_shape.clone()],
            vec![r.clone()],
            vec![],
        );
        b.node(
            "Transpose",
            &format!("{nm}.{s}_transpose"),
            vec![r],
            vec![p.clone()],
            vec![attr_ints("perm", perm)],
        );
        p
    };
    let qh = per_head(b, q, "q", &[0, 2, 1, 3]);
    let kh = per_head(b, k, "k", &[0, 2, 3, 1]);
    let vh = per_head(b, v, "v", &[0, 2, 1, 3]);
    let (s, ss, p, o, ot, cat) = (
        t(b, "scores"),
        t(b, "scaled"),
        t(b, "probs"),
        t(b, "context"),
        t(b, "context_t"),
        t(b, "concat"),
    );
    b.node(
        "MatMul",
        &format!("{nm}.scores"),
        vec![qh, kh],
        vec![s.clone()],
        vec![],
    );
    let scale = b.const_f32(&format!("{nm}.scale"), (1.0 / (d as f64).sqrt()) as f32);
    b.node(
        "Mul",
        &format!("{nm}.scale"),
        vec![s, scale],
        vec![ss.clone()],
        vec![],
    );
    b.node(
        "Softmax",
        &format!("{nm}.softmax"),
        vec![ss],
        vec![p.clone()],
        vec![attr_i("axis", -1)],
    );
    b.node(
        "MatMul",
        &format!("{nm}.context"),
        vec![p, vh],
        vec![o.clone()],
        vec![],
    );
    b.node(
        "Transpose",
        &format!("{nm}.context_transpose"),
        vec![o],
        vec![ot.clone()],
        vec![attr_ints("perm", &[0, 2, 1, 3])],
    );
    let cat_shape = b.const_i64(&format!("{nm}.concat_shape"), &ints(&[n, l, e]));
    b.node(
        "Reshape",
        &format!("{nm}.concat_heads"),
        vec![ot, cat_shape],
        vec![cat.clone()],
        vec![],
    );
    let out_bias = format!("{nm}.out_proj.bias");
    linear_nd(
        b,
        w,
        &format!("{nm}.out_proj"),
        &format!("{nm}.out_proj.weight"),
        bias.then_some(out_bias.as_str()),
        cat,
        out,
    )
}
