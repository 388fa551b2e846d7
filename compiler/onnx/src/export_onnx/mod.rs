//! Export of an elaborated graph to an ONNX model (default opset 17): one
//! ONNX node per nnc op (a few ops become short sequences), weights as
//! float32 initializers named by nnc's weight names.

use crate::error::Error;
use crate::proto::onnx::{
    attribute_proto::AttributeType, tensor_shape_proto, type_proto, AttributeProto, GraphProto,
    ModelProto, NodeProto, OperatorSetIdProto, TensorProto, TensorShapeProto, TypeProto,
    ValueInfoProto,
};
use crate::tensor::dtype;
use nnc_diag::codes::onnx as code;
use nnc_interp::weights::WeightStore;
use nnc_ir::op::{Activation, BinaryKind, Op};
use nnc_ir::{Graph, NodeId};
use prost::Message;
use std::collections::{HashMap, HashSet};

mod transformer;

pub const DEFAULT_OPSET: i64 = 17;

pub(crate) fn attr_i(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        i: Some(v),
        r#type: Some(AttributeType::Int as i32),
        ..Default::default()
    }
}
pub(crate) fn attr_f(name: &str, v: f32) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        f: Some(v),
        r#type: Some(AttributeType::Float as i32),
        ..Default::default()
    }
}
pub(crate) fn attr_ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        ints: v.to_vec(),
        r#type: Some(AttributeType::Ints as i32),
        ..Default::default()
    }
}
fn attr_s(name: &str, v: &str) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        s: Some(v.as_bytes().to_vec()),
        r#type: Some(AttributeType::String as i32),
        ..Default::default()
    }
}

pub(crate) fn f32_tensor(name: &str, dims: &[usize], data: &[f32]) -> TensorProto {
    let mut raw = Vec::with_capacity(data.len() * 4);
    for v in data {
        raw.extend_from_slice(&v.to_le_bytes());
    }
    TensorProto {
        name: Some(name.into()),
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: Some(dtype::FLOAT),
        raw_data: Some(raw),
        ..Default::default()
    }
}

pub(crate) fn i64_tensor(name: &str, data: &[i64]) -> TensorProto {
    TensorProto {
        name: Some(name.into()),
        dims: vec![data.len() as i64],
        data_type: Some(dtype::INT64),
        int64_data: data.to_vec(),
        ..Default::default()
    }
}

fn value_info(name: &str, shape: &[usize]) -> ValueInfoProto {
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(dtype::FLOAT),
                shape: Some(TensorShapeProto {
                    dim: shape
                        .iter()
                        .map(|&d| tensor_shape_proto::Dimension {
                            value: Some(tensor_shape_proto::dimension::Value::DimValue(d as i64)),
                            ..Default::default()
                        })
                        .collect(),
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub(crate) struct Builder {
    pub(crate) nodes: Vec<NodeProto>,
    pub(crate) inits: Vec<TensorProto>,
    pub(crate) used: HashSet<String>,
    node_names: HashSet<String>,
}

impl Builder {
    pub(crate) fn fresh(&mut self, want: &str) -> String {
        let mut c = want.to_string();
        let mut k = 1;
        while !self.used.insert(c.clone()) {
            c = format!("{want}_{k}");
            k += 1;
        }
        c
    }
    pub(crate) fn node(
        &mut self,
        op: &str,
        name: &str,
        inputs: Vec<String>,
        outputs: Vec<String>,
        attrs: Vec<AttributeProto>,
    ) {
        let mut unique = name.to_string();
        let mut k = 1;
        while !self.node_names.insert(unique.clone()) {
            unique = format!("{name}_{k}");
            k += 1;
        }
        let name = unique;
        self.nodes.push(NodeProto {
            op_type: Some(op.into()),
            name: Some(name),
            input: inputs,
            output: outputs,
            attribute: attrs,
            ..Default::default()
        });
    }
    pub(crate) fn const_i64(&mut self, base: &str, v: &[i64]) -> String {
        let n = self.fresh(base);
        self.inits.push(i64_tensor(&n, v));
        n
    }
    pub(crate) fn const_f32(&mut self, base: &str, v: f32) -> String {
        let n = self.fresh(base);
        self.inits.push(f32_tensor(&n, &[], &[v]));
        n
    }
}

fn pads(p: [usize; 2]) -> Vec<i64> {
    vec![p[0] as i64, p[1] as i64, p[0] as i64, p[1] as i64]
}
fn pair(p: [usize; 2]) -> Vec<i64> {
    vec![p[0] as i64, p[1] as i64]
}

/// The attributes MaxPool and AveragePool share.
fn pool_attrs(p: &nnc_ir::op::Pool) -> Vec<AttributeProto> {
    vec![
        attr_ints("kernel_shape", &pair(p.kernel)),
        attr_ints("strides", &pair(p.stride)),
        attr_ints("pads", &pads(p.pad)),
        attr_i("ceil_mode", p.ceil as i64),
    ]
}

/// Serializes `g` with weights `w` (every key the graph needs) as an ONNX
/// model. `E0520` when an op has no ONNX form or a weight is missing.
pub fn export(g: &Graph, w: &WeightStore, opset: i64) -> Result<Vec<u8>, Error> {
    let model = build_model(g, w, opset)?;
    Ok(model.encode_to_vec())
}

pub fn build_model(g: &Graph, w: &WeightStore, opset: i64) -> Result<ModelProto, Error> {
    let order = g
        .topo_order()
        .ok_or_else(|| Error::new(code::EXPORT_FAILED, "the graph has a cycle"))?;
    let mut b = Builder {
        nodes: Vec::new(),
        inits: Vec::new(),
        used: HashSet::new(),
        node_names: HashSet::new(),
    };
    let mut val: HashMap<NodeId, String> = HashMap::new();
    let mut inputs = Vec::new();
    let weight = |b: &mut Builder, key: String| -> Result<String, Error> {
        let t = w.get(&key).ok_or_else(|| {
            Error::new(
                code::EXPORT_FAILED,
                format!("the weight `{key}` is missing"),
            )
        })?;
        let n = b.fresh(&key);
        b.inits.push(f32_tensor(&n, t.shape(), t.data()));
        Ok(n)
    };
    for id in order {
        let node = g.node(id);
        let ins: Vec<String> = g.inputs(id).iter().map(|i| val[i].clone()).collect();
        let nm = node.name.clone();
        if let Op::Input { name } = &node.op {
            let v = b.fresh(name);
            inputs.push(value_info(&v, &node.shape));
            val.insert(id, v);
            continue;
        }
        if let Op::Param { .. } = &node.op {
            // a parameter is an initializer named by the node
            let v = transformer::weight(&mut b, w, &nm)?;
            val.insert(id, v);
            continue;
        }
        let out = b.fresh(&nm);
        let o = vec![out.clone()];
        match &node.op {
            Op::Input { .. } => unreachable!("handled above"),
            Op::Conv2d(c) => {
                let mut i = ins.clone();
                i.push(weight(&mut b, format!("{nm}.weight"))?);
                if c.bias {
                    i.push(weight(&mut b, format!("{nm}.bias"))?);
                }
                b.node(
                    "Conv",
                    &nm,
                    i,
                    o,
                    vec![
                        attr_ints("kernel_shape", &pair(c.kernel)),
                        attr_ints("strides", &pair(c.stride)),
                        attr_ints("pads", &pads(c.pad)),
                        attr_ints("dilations", &pair(c.dilation)),
                        attr_i("group", c.groups as i64),
                    ],
                );
            }
            Op::BatchNorm { eps } => {
                let mut i = ins.clone();
                for s in ["weight", "bias", "running_mean", "running_var"] {
                    i.push(weight(&mut b, format!("{nm}.{s}"))?);
                }
                b.node("BatchNormalization", &nm, i, o, vec![attr_f("epsilon", *eps as f32)]);
            }
            Op::Linear { bias, .. } => {
                if node.shape.len() != 2 {
                    let bk = format!("{nm}.bias");
                    transformer::linear_nd(
                        &mut b,
                        w,
                        &nm,
                        &format!("{nm}.weight"),
                        bias.then_some(bk.as_str()),
                        ins[0].clone(),
                        out.clone(),
                    )?;
                } else {
                    let mut i = ins.clone();
                    i.push(weight(&mut b, format!("{nm}.weight"))?);
                    if *bias {
                        i.push(weight(&mut b, format!("{nm}.bias"))?);
                    }
                    b.node("Gemm", &nm, i, o, vec![attr_i("transB", 1)]);
                }
            }
            Op::Act(a) => act(&mut b, *a, &nm, ins[0].clone(), out.clone()),
            Op::MaxPool(p) => b.node("MaxPool", &nm, ins, o, pool_attrs(p)),
            Op::AvgPool { pool: p, count_pad } => {
                let mut a = pool_attrs(p);
                a.push(attr_i("count_include_pad", *count_pad as i64));
                b.node("AveragePool", &nm, ins, o, a);
            }
            Op::GlobalAvgPool => b.node("GlobalAveragePool", &nm, ins, o, vec![]),
            Op::Flatten => b.node("Flatten", &nm, ins, o, vec![attr_i("axis", 1)]),
            Op::Concat { axis } => b.node("Concat", &nm, ins, o, vec![attr_i("axis", *axis as i64)]),
            Op::Split { axis, start, len, .. } => {
                let s = b.const_i64(&format!("{nm}.starts"), &[*start as i64]);
                let e = b.const_i64(&format!("{nm}.ends"), &[(*start + *len) as i64]);
                let a = b.const_i64(&format!("{nm}.axes"), &[*axis as i64]);
                let mut i = ins;
                i.extend([s, e, a]);
                b.node("Slice", &nm, i, o, vec![]);
            }
            Op::ChannelShuffle { groups } => {
                let x = g.node(g.inputs(id)[0]).shape.clone();
                let (n, c, h, wd) = (x[0] as i64, x[1] as i64, x[2] as i64, x[3] as i64);
                let g_ = *groups as i64;
                let s1 = b.const_i64(&format!("{nm}.shape5"), &[n, g_, c / g_, h, wd]);
                let s2 = b.const_i64(&format!("{nm}.shape4"), &[n, c, h, wd]);
                let t1 = b.fresh(&format!("{nm}.grouped"));
                let t2 = b.fresh(&format!("{nm}.transposed"));
                b.node("Reshape", &format!("{nm}.reshape5"), vec![ins[0].clone(), s1], vec![t1.clone()], vec![]);
                b.node("Transpose", &format!("{nm}.transpose"), vec![t1], vec![t2.clone()], vec![attr_ints("perm", &[0, 2, 1, 3, 4])]);
                b.node("Reshape", &nm, vec![t2, s2], o, vec![]);
            }
            Op::Softmax { axis } => b.node("Softmax", &nm, ins, o, vec![attr_i("axis", *axis as i64)]),
            Op::Binary(k) => {
                let op = if *k == BinaryKind::Add { "Add" } else { "Mul" };
                b.node(op, &nm, ins, o, vec![]);
            }
            Op::Upsample { scale } => {
                let s = *scale as f32;
                let sc = b.fresh(&format!("{nm}.scales"));
                b.inits.push(f32_tensor(&sc, &[4], &[1.0, 1.0, s, s]));
                b.node(
                    "Resize",
                    &nm,
                    vec![ins[0].clone(), String::new(), sc],
                    o,
                    vec![
                        attr_s("mode", "nearest"),
                        attr_s("coordinate_transformation_mode", "asymmetric"),
                        attr_s("nearest_mode", "floor"),
                    ],
                );
            }
            Op::LayerNorm { axes, eps } => {
                let r = g.node(g.inputs(id)[0]).shape.len();
                transformer::layernorm(&mut b, w, &nm, *axes, *eps, r, opset, ins[0].clone(), out.clone())?
            }
            Op::Reshape { shape } => transformer::reshape(&mut b, &nm, shape, ins[0].clone(), out.clone()),
            Op::Permute { perm } => {
                let p: Vec<i64> = perm.iter().map(|&a| a as i64).collect();
                b.node("Transpose", &nm, ins, o, vec![attr_ints("perm", &p)])
            }
            Op::Slice { axis, start, stop, step } => {
                transformer::slice(&mut b, &nm, *axis, *start, *stop, *step, ins[0].clone(), out.clone())
            }
            Op::Select { axis, index } => transformer::select(&mut b, &nm, *axis, *index, ins[0].clone(), out.clone()),
            Op::MatMul => b.node("MatMul", &nm, ins, o, vec![]),
            Op::Param { .. } => unreachable!("handled above"),
            Op::Affine { mul, add } => transformer::affine(&mut b, &nm, *mul, *add, ins[0].clone(), out.clone()),
            Op::Roll { axis, shift } => {
                let n = g.node(g.inputs(id)[0]).shape[*axis];
                transformer::roll(&mut b, &nm, *axis, *shift, n, ins[0].clone(), out.clone())
            }
            Op::Expand { shape } => transformer::expand(&mut b, &nm, shape, ins[0].clone(), out.clone()),
            Op::Attention { heads, bias } => {
                let s = g.node(g.inputs(id)[0]).shape.clone();
                transformer::attention(&mut b, w, &nm, *heads, *bias, &s, ins[0].clone(), out.clone())?
            }
            Op::Take { axis, indices, index_shape } => {
                transformer::take(&mut b, &nm, *axis, indices, index_shape, ins[0].clone(), out.clone())
            }
            Op::Constant { shape, values } => transformer::constant(&mut b, &nm, shape, values, out.clone()),
            Op::Fused { .. } => {
                return Err(Error::new(
                    code::EXPORT_FAILED,
                    format!("node `{nm}` is a fused op; export takes the elaborated graph, before the build passes"),
                ))
            }
        }
        val.insert(id, out);
    }
    let mut outputs = Vec::new();
    for o in &g.outputs {
        let v = val[&o.node].clone();
        let name = if b.used.contains(&o.name) && v != o.name {
            // make the graph output carry the network's output name
            let n = b.fresh(&format!("{}.out", o.name));
            b.node("Identity", &o.name, vec![v], vec![n.clone()], vec![]);
            n
        } else if v == o.name {
            v
        } else {
            let n = b.fresh(&o.name);
            b.node("Identity", &o.name, vec![v], vec![n.clone()], vec![]);
            n
        };
        outputs.push(value_info(&name, &g.node(o.node).shape));
    }
    Ok(ModelProto {
        ir_version: Some(8),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(opset),
        }],
        producer_name: Some("nnc".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        graph: Some(GraphProto {
            name: Some(g.name.clone()),
            node: b.nodes,
            initializer: b.inits,
            input: inputs,
            output: outputs,
            ..Default::default()
        }),
        ..Default::default()
    })
}

fn act(b: &mut Builder, a: Activation, nm: &str, x: String, out: String) {
    let o = vec![out.clone()];
    match a {
        Activation::Relu => b.node("Relu", nm, vec![x], o, vec![]),
        Activation::Relu6 => {
            let lo = b.const_f32(&format!("{nm}.min"), 0.0);
            let hi = b.const_f32(&format!("{nm}.max"), 6.0);
            b.node("Clip", nm, vec![x, lo, hi], o, vec![]);
        }
        Activation::Sigmoid => b.node("Sigmoid", nm, vec![x], o, vec![]),
        Activation::Tanh => b.node("Tanh", nm, vec![x], o, vec![]),
        Activation::Hardswish => b.node("HardSwish", nm, vec![x], o, vec![]),
        Activation::Hardsigmoid => b.node(
            "HardSigmoid",
            nm,
            vec![x],
            o,
            vec![attr_f("alpha", 1.0 / 6.0), attr_f("beta", 0.5)],
        ),
        Activation::LeakyRelu { slope } => {
            b.node("LeakyRelu", nm, vec![x], o, vec![attr_f("alpha", slope)])
        }
        Activation::Silu => {
            let s = b.fresh(&format!("{nm}.sigmoid"));
            b.node(
                "Sigmoid",
                &format!("{nm}.sigmoid"),
                vec![x.clone()],
                vec![s.clone()],
                vec![],
            );
            b.node("Mul", nm, vec![x, s], o, vec![]);
        }
        Activation::Gelu => {
            // 0.5 * x * (1 + erf(x / sqrt(2)))  (Gelu is opset 20)
            let r2 = b.const_f32(&format!("{nm}.sqrt2"), std::f32::consts::SQRT_2);
            let one = b.const_f32(&format!("{nm}.one"), 1.0);
            let half = b.const_f32(&format!("{nm}.half"), 0.5);
            let d = b.fresh(&format!("{nm}.div"));
            let e = b.fresh(&format!("{nm}.erf"));
            let p = b.fresh(&format!("{nm}.plus1"));
            let m = b.fresh(&format!("{nm}.xmul"));
            b.node(
                "Div",
                &format!("{nm}.div"),
                vec![x.clone(), r2],
                vec![d.clone()],
                vec![],
            );
            b.node(
                "Erf",
                &format!("{nm}.erf"),
                vec![d],
                vec![e.clone()],
                vec![],
            );
            b.node(
                "Add",
                &format!("{nm}.plus1"),
                vec![e, one],
                vec![p.clone()],
                vec![],
            );
            b.node(
                "Mul",
                &format!("{nm}.xmul"),
                vec![x, p],
                vec![m.clone()],
                vec![],
            );
            b.node("Mul", nm, vec![m, half], o, vec![]);
        }
    }
}
