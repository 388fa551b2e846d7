//! Lowering of the tensor ops of transformers (layernorm, reshape, permute,
//! slice, select, matmul, param, affine, roll, expand, take, constant, attention) to
//! kernel plans.
//!
//! Data movement is planned as strided copies ([`StridedPlan`]); a
//! `reshape` whose buffer the memory plan shares with its input is no step
//! at all (see [`crate::plan::build`]), nor is a permute that only matmuls
//! read ([`crate::layout`]: they read it through strides). `attention` becomes five steps with
//! no copy between them: the packed input projection (the linear kernel,
//! `[N·L, E] → [N·L, 3E]`), `S = Q·Kᵀ / √d` per head (the batched strided
//! matmul reads Q and K in place from the packed projection, the scale folded
//! into its epilogue), a row softmax in place, `O = P·V` written straight into
//! `[N, L, E]` (heads side by side, by strides), and the output projection.
//! Its three intermediates live in scratch space past the arena.

use crate::error::numel;
use crate::kernels::affine::{AffinePlan, ConstPlan};
use crate::kernels::elementwise::Chunked;
use crate::kernels::fast::FastPlan;
use crate::kernels::gemm::LinearSpec;
use crate::kernels::layernorm::LayerNormPlan;
use crate::kernels::matmul::MatMulPlan;
use crate::kernels::misc::{CopyPart, CopyPlan};
use crate::kernels::softmax::SoftmaxPlan;
use crate::kernels::strided::StridedPlan;
use crate::steps::{Buf, KernelPlan};
use crate::PlanError;
use crate::WeightSource;
use nnc_ir::{Graph, NodeId, NormAxes, Op};

/// Appends `data` to the blob at a 16-float boundary; returns its offset.
pub(crate) fn push_weights(blob: &mut Vec<f32>, data: &[f32]) -> u64 {
    while !blob.len().is_multiple_of(16) {
        blob.push(0.0);
    }
    let off = blob.len() as u64;
    blob.extend_from_slice(data);
    off
}

fn weight<'w>(ws: &'w dyn WeightSource, key: &str, expect: u64) -> Result<&'w [f32], PlanError> {
    let (_, d) = ws.tensor(key).ok_or_else(|| PlanError::MissingWeight {
        key: key.to_string(),
    })?;
    if d.len() as u64 != expect {
        return Err(PlanError::WeightSize {
            key: key.to_string(),
            found: d.len(),
            expected: expect,
        });
    }
    Ok(d)
}

/// The kernel of a single-step tensor op (every op of [`lower_ops`] but
/// `attention`, which [`attention_steps`] plans).
pub fn tensor_kernel(
    g: &Graph,
    id: NodeId,
    ws: &dyn WeightSource,
    blob: &mut Vec<f32>,
    views: &dyn Fn(NodeId) -> bool,
) -> Result<KernelPlan, PlanError> {
    let node = g.node(id);
    let name = &node.name;
    let ins = g.inputs(id);
    let in_shape = |i: usize| -> Result<&[usize], PlanError> {
        ins.get(i)
            .map(|&n| g.node(n).shape.as_slice())
            .ok_or_else(|| PlanError::at(name, PlanError::graph(format!("missing input {i}"))))
    };
    let out = &node.shape;
    Ok(match &node.op {
        Op::LayerNorm { axes, eps } => {
            let s = in_shape(0)?;
            let (outer, n, inner) = match axes {
                NormAxes::Last(k) => {
                    let k = (*k).min(s.len());
                    let cut = s.len() - k;
                    (numel(&s[..cut])?, numel(&s[cut..])?, 1)
                }
                NormAxes::Channels => {
                    if s.len() < 2 {
                        return Err(PlanError::at(
                            name,
                            "channels-first layernorm needs [N, C, ...]",
                        ));
                    }
                    (s[0] as u64, s[1] as u64, numel(&s[2..])?)
                }
            };
            let gm = weight(ws, &format!("{name}.weight"), n)?;
            let bt = weight(ws, &format!("{name}.bias"), n)?;
            let mut gb = gm.to_vec();
            gb.extend_from_slice(bt);
            KernelPlan::LayerNorm(LayerNormPlan {
                outer,
                n,
                inner,
                eps: *eps as f32,
                w_off: push_weights(blob, &gb),
            })
        }
        Op::Reshape { .. } => {
            KernelPlan::Strided(StridedPlan::permute(&[out.iter().product()], &[0])?)
        }
        Op::Permute { perm } => KernelPlan::Strided(StridedPlan::permute(in_shape(0)?, perm)?),
        Op::Slice {
            axis,
            start,
            stop,
            step,
        } => {
            let s = in_shape(0)?;
            let mut axes: Vec<(usize, usize, usize)> = s.iter().map(|&d| (0, 1, d)).collect();
            let len = out
                .get(*axis)
                .copied()
                .ok_or(PlanError::unsupported("slice axis"))?;
            let _ = stop;
            *axes
                .get_mut(*axis)
                .ok_or(PlanError::unsupported("slice axis"))? = (*start, (*step).max(1), len);
            KernelPlan::Strided(StridedPlan::slice(s, &axes)?)
        }
        Op::Select { axis, index } => {
            let s = in_shape(0)?;
            let mut axes: Vec<(usize, usize, usize)> = s.iter().map(|&d| (0, 1, d)).collect();
            *axes
                .get_mut(*axis)
                .ok_or(PlanError::unsupported("select axis"))? = (*index, 1, 1);
            KernelPlan::Strided(StridedPlan::slice(s, &axes)?)
        }
        Op::Roll { axis, shift } => {
            KernelPlan::Strided(StridedPlan::roll(in_shape(0)?, &[*shift as i64], &[*axis])?)
        }
        Op::Expand { shape } => KernelPlan::Strided(StridedPlan::expand(in_shape(0)?, shape)?),
        Op::MatMul => KernelPlan::MatMul(crate::layout::matmul_plan(g, id, views)?),
        Op::Param { .. } => {
            let len = numel(out)?;
            let w = weight(ws, name, len)?;
            KernelPlan::Const(ConstPlan {
                len,
                w_off: push_weights(blob, w),
            })
        }
        Op::Constant { values, .. } => KernelPlan::Const(ConstPlan {
            len: values.len() as u64,
            w_off: push_weights(blob, values),
        }),
        Op::Take {
            axis,
            indices,
            index_shape: _,
        } => KernelPlan::Copy(take_plan(in_shape(0)?, *axis, indices)?),
        Op::Affine { mul, add } => KernelPlan::Affine(AffinePlan {
            mul: *mul,
            add: *add,
            sp: Chunked::new(1, numel(out)?),
        }),
        other => {
            return Err(PlanError::at(
                name,
                format!("`{}` has no single-kernel lowering", other.name()),
            ))
        }
    })
}

/// `take` as block copies: one part per run of consecutive indices (so a
/// `take` of a contiguous range is a single copy per outer index).
fn take_plan(s: &[usize], axis: usize, indices: &[usize]) -> Result<CopyPlan, PlanError> {
    let len = *s.get(axis).ok_or(PlanError::unsupported("take axis"))? as u64;
    let outer = numel(&s[..axis])?;
    let inner = numel(&s[axis + 1..])?;
    let k = indices.len() as u64;
    let mut parts: Vec<CopyPart> = Vec::new();
    let mut run = 0usize;
    while run < indices.len() {
        let mut end = run + 1;
        while end < indices.len() && indices[end] == indices[end - 1] + 1 {
            end += 1;
        }
        parts.push(CopyPart {
            input: 0,
            len: (end - run) as u64 * inner,
            src_off: indices[run] as u64 * inner,
            src_stride: len * inner,
            dst_off: run as u64 * inner,
            dst_stride: k * inner,
        });
        run = end;
    }
    Ok(CopyPlan { outer, parts })
}

/// One planned step of a multi-step op.
pub struct SubStep {
    pub suffix: &'static str,
    pub op: &'static str,
    pub kernel: KernelPlan,
    pub out: Buf,
    pub ins: Vec<Buf>,
    pub out_bytes: u64,
}

/// Bytes of scratch an attention over `[n, l, e]` with `heads` heads needs
/// (projection, scores, context; each 64-byte aligned).
pub fn attention_scratch(n: u64, l: u64, e: u64, heads: u64) -> u64 {
    let al = |b: u64| b.div_ceil(64) * 64;
    al(n * l * 3 * e * 4) + al(n * heads * l * l * 4) + al(n * l * e * 4)
}

/// The five steps of `attention` (see the module docs): `x` is the input
/// buffer, `out` the node's, `scratch` the byte offset of its scratch in the
/// arena.
#[allow(clippy::too_many_arguments)]
pub fn attention_steps(
    g: &Graph,
    id: NodeId,
    ws: &dyn WeightSource,
    blob: &mut Vec<f32>,
    x: Buf,
    out: Buf,
    scratch: u64,
) -> Result<Vec<SubStep>, PlanError> {
    let node = g.node(id);
    let name = &node.name;
    let (heads, bias) = match node.op {
        Op::Attention { heads, bias } => (heads as u64, bias),
        _ => return Err(PlanError::at(name, "not an attention")),
    };
    let (n, l, e) = match node.shape.as_slice() {
        [n, l, e] => (*n as u64, *l as u64, *e as u64),
        s => {
            return Err(PlanError::at(
                name,
                format!("attention expects [N, L, E], found {s:?}"),
            ))
        }
    };
    if heads == 0 || e % heads != 0 {
        return Err(PlanError::at(
            name,
            format!("{e} channels do not split into {heads} heads"),
        ));
    }
    let d = e / heads;
    let al = |b: u64| b.div_ceil(64) * 64;
    let qkv_off = scratch;
    let s_off = qkv_off + al(n * l * 3 * e * 4);
    let o_off = s_off + al(n * heads * l * l * 4);
    let us = |v: u64| usize::try_from(v).map_err(|_| PlanError::at(name, "too large"));
    let mut linear = |suffix: &str, k: u64, o: u64| -> Result<KernelPlan, PlanError> {
        let spec = LinearSpec {
            m: us(n * l)?,
            k: us(k)?,
            n: us(o)?,
            bias,
            residual: false,
            act: None,
        };
        let mut fp = FastPlan::linear(spec).ok_or_else(|| PlanError::at(name, "linear plan"))?;
        let wkey = if suffix == "in_proj" {
            format!("{name}.in_proj_weight")
        } else {
            format!("{name}.out_proj.weight")
        };
        let w = weight(ws, &wkey, o * k)?;
        let packed = fp.pack(w)?;
        fp.w_off = push_weights(blob, &packed);
        if bias {
            let bkey = if suffix == "in_proj" {
                format!("{name}.in_proj_bias")
            } else {
                format!("{name}.out_proj.bias")
            };
            let b = weight(ws, &bkey, o)?;
            fp.b_off = Some(push_weights(blob, b));
        }
        Ok(KernelPlan::Fast(fp))
    };
    let row = (3 * e) as i64;
    let (li, di) = (l as i64, d as i64);
    // S[n, h] = Q Kᵀ / √d: Q rows of the projection (stride 3E), K the same
    // rows at column E (read transposed: b_rs = 1)
    let scores = MatMulPlan {
        batch: vec![n, heads],
        a_batch: vec![li * row, di],
        b_batch: vec![li * row, di],
        c_batch: vec![(heads * l * l) as i64, li * li],
        m: l,
        k: d,
        n: l,
        a_rs: row,
        a_cs: 1,
        b_rs: 1,
        b_cs: row,
        c_rs: li,
        alpha: 1.0 / (d as f32).sqrt(),
        act: None,
    }
    .checked()
    .map_err(|e| PlanError::at(name, e))?;
    // O[n, :, h] = P V: V at column 2E, O written as [N, L, E]
    let context = MatMulPlan {
        batch: vec![n, heads],
        a_batch: vec![(heads * l * l) as i64, li * li],
        b_batch: vec![li * row, di],
        c_batch: vec![li * e as i64, di],
        m: l,
        k: l,
        n: d,
        a_rs: li,
        a_cs: 1,
        b_rs: row,
        b_cs: 1,
        c_rs: e as i64,
        alpha: 1.0,
        act: None,
    }
    .checked()
    .map_err(|e| PlanError::at(name, e))?;
    let f = 4u64;
    Ok(vec![
        SubStep {
            suffix: "in_proj",
            op: "linear",
            kernel: linear("in_proj", e, 3 * e)?,
            out: Buf::Arena(qkv_off),
            ins: vec![x],
            out_bytes: n * l * 3 * e * f,
        },
        SubStep {
            suffix: "scores",
            op: "matmul",
            kernel: KernelPlan::MatMul(scores),
            out: Buf::Arena(s_off),
            ins: vec![Buf::Arena(qkv_off), Buf::Arena(qkv_off + e * f)],
            out_bytes: n * heads * l * l * f,
        },
        SubStep {
            suffix: "softmax",
            op: "softmax",
            kernel: KernelPlan::Softmax(SoftmaxPlan {
                outer: n * heads * l,
                n: l,
                inner: 1,
            }),
            out: Buf::Arena(s_off),
            ins: vec![Buf::Arena(s_off)],
            out_bytes: n * heads * l * l * f,
        },
        SubStep {
            suffix: "context",
            op: "matmul",
            kernel: KernelPlan::MatMul(context),
            out: Buf::Arena(o_off),
            ins: vec![Buf::Arena(s_off), Buf::Arena(qkv_off + 2 * e * f)],
            out_bytes: n * l * e * f,
        },
        SubStep {
            suffix: "out_proj",
            op: "linear",
            kernel: linear("out_proj", e, e)?,
            out,
            ins: vec![Buf::Arena(o_off)],
            out_bytes: n * l * e * f,
        },
    ])
}
