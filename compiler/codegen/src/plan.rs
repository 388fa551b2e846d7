//! From a (pass-processed) graph to an execution plan: one [`Step`] per
//! kernel node in execution order, each with its kernel plan, its buffers and
//! its packed weights in one blob.

use crate::error::numel;
use crate::kernels::conv::{ConvPlan, ConvShape, Strides};
use crate::kernels::conv_fast::ConvSpec;
use crate::kernels::elementwise::{BatchNormPlan, BinaryPlan, Chunked, UnaryPlan};
use crate::kernels::fast::FastPlan;
use crate::kernels::gemm::LinearSpec;
use crate::kernels::misc::{
    CopyPart, CopyPlan, GlobalAvgPlan, PoolPlan, ShufflePlan, UpsamplePlan,
};
use crate::kernels::softmax::SoftmaxPlan;
use crate::PlanError;
use crate::WeightSource;
use nnc_ir::{Activation, Graph, NodeId, Op};
use nnc_passes::MemoryPlan;
use std::collections::HashMap;

pub use crate::steps::{Buf, KernelPlan, Plan, Step};

fn dims4(s: &[usize], what: &str) -> Result<[u64; 4], PlanError> {
    match s {
        [n, c, h, w] => Ok([*n as u64, *c as u64, *h as u64, *w as u64]),
        _ => Err(PlanError::unsupported(format!(
            "{what}: expected a 4-D tensor, found {s:?}"
        ))),
    }
}

fn push_weights(blob: &mut Vec<f32>, data: &[f32]) -> u64 {
    while !blob.len().is_multiple_of(16) {
        blob.push(0.0);
    }
    let off = blob.len() as u64;
    blob.extend_from_slice(data);
    off
}

fn get_w<'w>(ws: &'w dyn WeightSource, key: &str, expect: u64) -> Result<&'w [f32], PlanError> {
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

/// Builds a conv/linear plan with packed weights for node `id`.
#[allow(clippy::too_many_arguments)]
fn conv_like(
    g: &Graph,
    id: NodeId,
    base: &Op,
    residual: bool,
    act: Option<Activation>,
    ws: &dyn WeightSource,
    blob: &mut Vec<f32>,
    fast: bool,
) -> Result<KernelPlan, PlanError> {
    let node = g.node(id);
    let ins = g.inputs(id);
    let x = ins.first().ok_or(PlanError::graph("conv without input"))?;
    let xs = &g.node(*x).shape;
    let name = &node.name;
    let (shape, bias) = match base {
        Op::Conv2d(c) => {
            let [n, ci, h, w] = dims4(xs, name)?;
            let [_, co, oh, ow] = dims4(&node.shape, name)?;
            let gr = c.groups.max(1) as u64;
            if ci % gr != 0 || co % gr != 0 {
                return Err(PlanError::at(name, "channels not divisible by groups"));
            }
            let u = |p: [usize; 2]| [p[0] as u64, p[1] as u64];
            (
                ConvShape {
                    n,
                    groups: gr,
                    icg: ci / gr,
                    ocg: co / gr,
                    h,
                    w,
                    oh,
                    ow,
                    kernel: u(c.kernel),
                    stride: u(c.stride),
                    pad: u(c.pad),
                    dilation: u(c.dilation),
                    in_s: Strides::nchw(ci, h, w),
                    out_s: Strides::nchw(co, oh, ow),
                },
                c.bias,
            )
        }
        Op::Linear { out_features, bias } => {
            // over the last axis of any rank: rows = every leading position
            let (n, f) = match xs.split_last() {
                Some((f, lead)) if !lead.is_empty() => (numel(lead)?, *f as u64),
                _ => {
                    return Err(PlanError::at(
                        name,
                        format!("linear expects [N, ..., F], found {xs:?}"),
                    ))
                }
            };
            let o = *out_features as u64;
            (
                ConvShape {
                    n: 1,
                    groups: 1,
                    icg: f,
                    ocg: o,
                    h: 1,
                    w: n,
                    oh: 1,
                    ow: n,
                    kernel: [1, 1],
                    stride: [1, 1],
                    pad: [0, 0],
                    dilation: [1, 1],
                    in_s: Strides {
                        n: 0,
                        c: 1,
                        h: 0,
                        w: f,
                    },
                    out_s: Strides {
                        n: 0,
                        c: 1,
                        h: 0,
                        w: o,
                    },
                },
                *bias,
            )
        }
        other => {
            return Err(PlanError::at(
                name,
                format!("cannot fuse into {}", other.name()),
            ))
        }
    };
    let oc = shape.groups * shape.ocg;
    let wn = oc * shape.icg * shape.kernel[0] * shape.kernel[1];
    let w = get_w(ws, &format!("{name}.weight"), wn)?;
    let b = if bias {
        Some(get_w(ws, &format!("{name}.bias"), oc)?)
    } else {
        None
    };
    if fast {
        if let Some(fp) = fast_plan(base, &shape, bias, residual, act) {
            // a 3×3 stride-1 conv goes to Winograd where the estimate says it wins
            let mut fp = fp.prefer_winograd();
            let packed = fp.pack(w)?;
            fp.w_off = push_weights(blob, &packed);
            if let Some(b) = b {
                fp.b_off = Some(push_weights(blob, b));
            }
            return Ok(KernelPlan::Fast(fp));
        }
    }
    let mut p = ConvPlan::new(shape, bias, residual, act);
    let packed = p.pack(w, b)?;
    p.w_off = push_weights(blob, &packed);
    Ok(KernelPlan::Conv(p))
}

/// The fast-kernel plan of a conv/linear, if the fast kernels take it.
fn fast_plan(
    base: &Op,
    s: &ConvShape,
    bias: bool,
    residual: bool,
    act: Option<Activation>,
) -> Option<FastPlan> {
    let us = |v: u64| usize::try_from(v).ok();
    match base {
        Op::Conv2d(_) => FastPlan::conv(ConvSpec {
            n: us(s.n)?,
            cin: us(s.icg * s.groups)?,
            h: us(s.h)?,
            w: us(s.w)?,
            cout: us(s.ocg * s.groups)?,
            kh: us(s.kernel[0])?,
            kw: us(s.kernel[1])?,
            stride: [us(s.stride[0])?, us(s.stride[1])?],
            pad: [us(s.pad[0])?, us(s.pad[1])?, us(s.pad[0])?, us(s.pad[1])?],
            dilation: [us(s.dilation[0])?, us(s.dilation[1])?],
            groups: us(s.groups)?,
            bias,
            residual,
            act,
        }),
        Op::Linear { .. } => FastPlan::linear(LinearSpec {
            m: us(s.w)?,
            k: us(s.icg)?,
            n: us(s.ocg)?,
            bias,
            residual,
            act,
        }),
        _ => None,
    }
}

/// Builds the kernel plan of one node.
fn kernel_for(
    g: &Graph,
    id: NodeId,
    ws: &dyn WeightSource,
    blob: &mut Vec<f32>,
    fast: bool,
    views: &dyn Fn(NodeId) -> bool,
) -> Result<KernelPlan, PlanError> {
    let node = g.node(id);
    let ins = g.inputs(id);
    let in_shape = |i: usize| -> Result<&[usize], PlanError> {
        ins.get(i)
            .map(|&n| g.node(n).shape.as_slice())
            .ok_or_else(|| {
                PlanError::at(&node.name, PlanError::graph(format!("missing input {i}")))
            })
    };
    let out = &node.shape;
    let n_out = numel(out)?;
    let name = &node.name;
    Ok(match &node.op {
        Op::Input { .. } => return Err(PlanError::graph("input nodes have no kernel")),
        Op::Conv2d(_) | Op::Linear { .. } => {
            conv_like(g, id, &node.op, false, None, ws, blob, fast)?
        }
        Op::Fused {
            base,
            residual,
            act,
        } => conv_like(g, id, base, *residual, *act, ws, blob, fast)?,
        Op::BatchNorm { eps } => {
            let s = in_shape(0)?;
            if s.len() < 2 {
                return Err(PlanError::at(name, "batchnorm needs [N, C, ...]"));
            }
            let c = s[1] as u64;
            let inner = numel(&s[2..])?;
            let gm = get_w(ws, &format!("{name}.weight"), c)?;
            let bt = get_w(ws, &format!("{name}.bias"), c)?;
            let mn = get_w(ws, &format!("{name}.running_mean"), c)?;
            let vr = get_w(ws, &format!("{name}.running_var"), c)?;
            let mut ss = vec![0f32; 2 * c as usize];
            for i in 0..c as usize {
                let scale = gm[i] as f64 / (vr[i] as f64 + eps).sqrt();
                ss[i] = scale as f32;
                ss[c as usize + i] = (bt[i] as f64 - mn[i] as f64 * scale) as f32;
            }
            let w_off = push_weights(blob, &ss);
            KernelPlan::BatchNorm(BatchNormPlan {
                c,
                sp: Chunked::new(s[0] as u64 * c, inner),
                w_off,
            })
        }
        Op::Act(a) => KernelPlan::Unary(UnaryPlan {
            act: *a,
            sp: Chunked::new(1, n_out),
        }),
        Op::Binary(kind) => {
            let p = BinaryPlan::new(*kind, out, in_shape(0)?, in_shape(1)?)
                .ok_or_else(|| PlanError::at(name, "shapes do not broadcast"))?;
            KernelPlan::Binary(p)
        }
        Op::MaxPool(p) | Op::AvgPool { pool: p, .. } => {
            let [n, c, h, w] = dims4(in_shape(0)?, name)?;
            let [_, _, oh, ow] = dims4(out, name)?;
            let avg = match &node.op {
                Op::AvgPool { count_pad, .. } => Some(*count_pad),
                _ => None,
            };
            KernelPlan::Pool(PoolPlan {
                avg,
                nc: n * c,
                h,
                w,
                oh,
                ow,
                kernel: [p.kernel[0] as u64, p.kernel[1] as u64],
                stride: [p.stride[0] as u64, p.stride[1] as u64],
                pad: [p.pad[0] as u64, p.pad[1] as u64],
            })
        }
        Op::GlobalAvgPool => {
            let [n, c, h, w] = dims4(in_shape(0)?, name)?;
            KernelPlan::GlobalAvg(GlobalAvgPlan {
                nc: n * c,
                hw: h * w,
            })
        }
        Op::Flatten => KernelPlan::Copy(CopyPlan {
            outer: 1,
            parts: vec![CopyPart {
                input: 0,
                len: n_out,
                src_off: 0,
                src_stride: 0,
                dst_off: 0,
                dst_stride: 0,
            }],
        }),
        Op::Concat { axis } => {
            let axis = *axis;
            if axis >= out.len() {
                return Err(PlanError::at(name, "bad concat axis"));
            }
            let outer = numel(&out[..axis])?;
            let inner = numel(&out[axis + 1..])?;
            let out_row = out[axis] as u64 * inner;
            let mut parts = Vec::new();
            let mut acc = 0u64;
            for i in 0..ins.len() {
                let s = in_shape(i)?;
                let len = *s.get(axis).ok_or(PlanError::unsupported("concat rank"))? as u64 * inner;
                parts.push(CopyPart {
                    input: i,
                    len,
                    src_off: 0,
                    src_stride: len,
                    dst_off: acc,
                    dst_stride: out_row,
                });
                acc += len;
            }
            KernelPlan::Copy(CopyPlan { outer, parts })
        }
        Op::Split {
            axis, start, len, ..
        } => {
            let s = in_shape(0)?;
            let axis = *axis;
            if axis >= s.len() {
                return Err(PlanError::at(name, "bad split axis"));
            }
            let outer = numel(&s[..axis])?;
            let inner = numel(&s[axis + 1..])?;
            KernelPlan::Copy(CopyPlan {
                outer,
                parts: vec![CopyPart {
                    input: 0,
                    len: *len as u64 * inner,
                    src_off: *start as u64 * inner,
                    src_stride: s[axis] as u64 * inner,
                    dst_off: 0,
                    dst_stride: *len as u64 * inner,
                }],
            })
        }
        Op::ChannelShuffle { groups } => {
            let s = in_shape(0)?;
            if s.len() < 2 || *groups == 0 || s[1] % groups != 0 {
                return Err(PlanError::at(name, "bad channel_shuffle"));
            }
            KernelPlan::Shuffle(ShufflePlan {
                n: s[0] as u64,
                c: s[1] as u64,
                g: *groups as u64,
                hw: numel(&s[2..])?,
            })
        }
        Op::Softmax { axis } => {
            let axis = *axis;
            if axis >= out.len() {
                return Err(PlanError::at(name, "bad softmax axis"));
            }
            KernelPlan::Softmax(SoftmaxPlan {
                outer: numel(&out[..axis])?,
                n: out[axis] as u64,
                inner: numel(&out[axis + 1..])?,
            })
        }
        Op::Attention { .. } => {
            return Err(PlanError::at(name, "attention is planned as several steps"))
        }
        Op::LayerNorm { .. }
        | Op::Reshape { .. }
        | Op::Permute { .. }
        | Op::Slice { .. }
        | Op::Select { .. }
        | Op::MatMul
        | Op::Param { .. }
        | Op::Affine { .. }
        | Op::Take { .. }
        | Op::Constant { .. }
        | Op::Roll { .. }
        | Op::Expand { .. } => crate::lower::tensor_kernel(g, id, ws, blob, views)?,
        Op::Upsample { scale } => {
            let [n, c, h, w] = dims4(in_shape(0)?, name)?;
            KernelPlan::Upsample(UpsamplePlan {
                nc: n * c,
                h,
                w,
                s: *scale as u64,
            })
        }
    })
}

/// Task count for a step: one task for small kernels, otherwise enough to
/// balance two-to-four threads without too much scheduling overhead.
fn ntasks_for(cost: u64, items: u64) -> u64 {
    let want = (cost / 60_000).clamp(1, 32);
    want.min(items).max(1)
}

/// Builds the plan from the memory plan of the passes: steps in its order,
/// arena tensors at its offsets, inputs and outputs in the caller's buffers.
/// A view of the memory plan (a `flatten` or `reshape`, a permute that
/// matmuls read through strides) is no step at all.
pub fn build(
    g: &Graph,
    mp: &MemoryPlan,
    ws: &dyn WeightSource,
    fast: bool,
) -> Result<Plan, PlanError> {
    let mut blob = Vec::new();
    let mut steps = Vec::new();
    let input_ix: HashMap<NodeId, usize> =
        g.inputs.iter().enumerate().map(|(i, &n)| (n, i)).collect();
    let mut out_ix: HashMap<NodeId, usize> = HashMap::new();
    for (i, o) in g.outputs.iter().enumerate() {
        out_ix.entry(o.node).or_insert(i);
    }
    let mut bufs: HashMap<NodeId, Buf> = HashMap::new();
    // scratch past the arena for the intermediates of multi-step ops
    // (attention), shared by all of them (steps run one after another)
    let scratch = (mp.arena_bytes as u64).div_ceil(64) * 64;
    let mut scratch_bytes = 0u64;
    for &id in &mp.order {
        let node = g.node(id);
        if let (Op::Attention { heads, .. }, [n, l, e]) = (&node.op, node.shape.as_slice()) {
            let need =
                crate::lower::attention_scratch(*n as u64, *l as u64, *e as u64, *heads as u64);
            scratch_bytes = scratch_bytes.max(need);
        }
    }
    for &id in &mp.order {
        let node = g.node(id);
        if let Op::Input { .. } = node.op {
            let ix = *input_ix.get(&id).ok_or_else(|| {
                PlanError::graph(format!("input node {} not declared", node.name))
            })?;
            bufs.insert(id, Buf::Input(ix));
            continue;
        }
        let bytes = numel(&node.shape)?
            .checked_mul(4)
            .ok_or(PlanError::TooLarge)?;
        let out = if let Some(&o) = out_ix.get(&id) {
            Buf::Output(o)
        } else {
            let off = mp
                .offsets
                .get(&id)
                .ok_or_else(|| PlanError::graph(format!("no arena offset for {}", node.name)))?;
            Buf::Arena(*off as u64)
        };
        bufs.insert(id, out);
        let ins: Vec<Buf> = g
            .inputs(id)
            .iter()
            .map(|n| {
                bufs.get(n)
                    .copied()
                    .ok_or(PlanError::graph("input used before defined"))
            })
            .collect::<Result<_, _>>()?;
        if nnc_passes::memory_plan::is_view(g, mp, id) && ins.first() == Some(&out) {
            continue; // a view: reshapes, and permutes read through strides
        }
        if let Op::Attention { .. } = node.op {
            let x = *ins
                .first()
                .ok_or(PlanError::graph("attention without input"))?;
            let subs = crate::lower::attention_steps(g, id, ws, &mut blob, x, out, scratch)?;
            for s in subs {
                let items = s.kernel.items();
                let cost = s.kernel.cost(s.out_bytes / 4);
                steps.push(Step {
                    node: id,
                    name: format!("{}.{}", node.name, s.suffix),
                    op: s.op.to_string(),
                    kernel: s.kernel,
                    out: s.out,
                    ins: s.ins,
                    out_bytes: s.out_bytes,
                    ntasks: ntasks_for(cost, items),
                });
            }
            continue;
        }
        let kernel = kernel_for(g, id, ws, &mut blob, fast, &|n| mp.views.contains(&n))?;
        let items = kernel.items();
        let cost = kernel.cost(bytes / 4);
        steps.push(Step {
            node: id,
            name: node.name.clone(),
            op: node.op.name().to_string(),
            kernel,
            out,
            ins,
            out_bytes: bytes,
            ntasks: ntasks_for(cost, items),
        });
    }
    // outputs that are not written by their own step
    let mut copies = Vec::new();
    for (i, o) in g.outputs.iter().enumerate() {
        let b = *bufs
            .get(&o.node)
            .ok_or_else(|| PlanError::graph(format!("output {} has no value", o.name)))?;
        if b != Buf::Output(i) {
            copies.push((i, b, numel(&g.node(o.node).shape)? * 4));
        }
    }
    let input_shapes = g
        .inputs
        .iter()
        .map(|&n| {
            let nd = g.node(n);
            let name = match &nd.op {
                Op::Input { name } => name.clone(),
                _ => nd.name.clone(),
            };
            (name, nd.shape.clone())
        })
        .collect();
    let output_shapes = g
        .outputs
        .iter()
        .map(|o| (o.name.clone(), g.node(o.node).shape.clone()))
        .collect();
    Ok(Plan {
        steps,
        arena_bytes: (mp.arena_bytes as u64).max(scratch + scratch_bytes).max(64),
        copies,
        blob,
        input_shapes,
        output_shapes,
    })
}
