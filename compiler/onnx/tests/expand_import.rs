//! Import of `Expand` as torch exports it: `t.expand(n, -1, -1)` becomes
//! `Expand(t, Where(Equal(shape, -1), 1, shape))` with constant operands
//! (folded at import), and ONNX's two-way broadcast (a 1 in the given shape
//! keeps the input's size). Both come back as `expand` with the resolved
//! output shape; an Expand to the input's own shape is no op at all.

use nnc_onnx::proto::onnx::{
    tensor_shape_proto, type_proto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto,
    TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};
use nnc_onnx::tensor::dtype;
use prost::Message;

fn info(name: &str, shape: &[i64]) -> ValueInfoProto {
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(dtype::FLOAT),
                shape: Some(TensorShapeProto {
                    dim: shape
                        .iter()
                        .map(|&d| tensor_shape_proto::Dimension {
                            value: Some(tensor_shape_proto::dimension::Value::DimValue(d)),
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

fn ints(name: &str, dims: &[i64], v: &[i64]) -> TensorProto {
    TensorProto {
        name: Some(name.into()),
        dims: dims.to_vec(),
        data_type: Some(dtype::INT64),
        int64_data: v.to_vec(),
        ..Default::default()
    }
}

fn node(op: &str, ins: &[&str], out: &str) -> NodeProto {
    NodeProto {
        input: ins.iter().map(|s| s.to_string()).collect(),
        output: vec![out.into()],
        name: Some(format!("/{out}")),
        op_type: Some(op.into()),
        ..Default::default()
    }
}

#[test]
fn torch_expand_pattern_and_two_way_broadcast() {
    let token = TensorProto {
        name: Some("class_token".into()),
        dims: vec![1, 1, 8],
        data_type: Some(dtype::FLOAT),
        float_data: (0..8).map(|v| v as f32).collect(),
        ..Default::default()
    };
    let graph = GraphProto {
        name: Some("g".into()),
        node: vec![
            node("Equal", &["shape", "minus_one"], "eq"),
            node("Where", &["eq", "ones", "shape"], "target"),
            node("Expand", &["class_token", "target"], "cls"),
            node("Concat", &["cls", "x"], "y"),
            node("Expand", &["col", "col_shape"], "z"),
            node("Expand", &["x", "same"], "w"),
        ],
        initializer: vec![
            token,
            ints("shape", &[3], &[3, -1, -1]),
            ints("minus_one", &[], &[-1]),
            ints("ones", &[3], &[1, 1, 1]),
            ints("col_shape", &[3], &[2, 1, 4]),
            ints("same", &[2], &[1, 8]),
        ],
        input: vec![info("x", &[3, 5, 8]), info("col", &[3, 1])],
        output: vec![
            info("y", &[3, 6, 8]),
            info("z", &[2, 3, 4]),
            info("w", &[3, 5, 8]),
        ],
        ..Default::default()
    };
    let mut concat = graph.node[3].clone();
    concat
        .attribute
        .push(nnc_onnx::proto::onnx::AttributeProto {
            name: Some("axis".into()),
            i: Some(1),
            r#type: Some(nnc_onnx::proto::onnx::attribute_proto::AttributeType::Int as i32),
            ..Default::default()
        });
    let mut graph = graph;
    graph.node[3] = concat;
    let model = ModelProto {
        ir_version: Some(8),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(17),
        }],
        graph: Some(graph),
        ..Default::default()
    };
    let imp = nnc_onnx::import_bytes(&model.encode_to_vec(), None, "model")
        .unwrap_or_else(|e| panic!("import: {e}"));
    let t = &imp.text;
    assert!(t.contains("expand(class_token, [3, 1, 8])"), "{t}");
    assert!(t.contains("expand(col, [2, 3, 4])"), "{t}");
    assert_eq!(t.matches("expand(").count(), 2, "{t}");
    // and it elaborates, with the class token a parameter
    let (ast, d) = nnc_syntax::parse(t);
    assert!(!d.iter().any(|d| d.is_error()), "{d:?}");
    let el = nnc_elab::elaborate(&ast, None);
    assert!(
        !el.diagnostics.iter().any(|d| d.is_error()),
        "{:?}\n{t}",
        el.diagnostics
    );
    assert_eq!(el.graph.expect("graph").outputs.len(), 3);
    assert!(imp.weights.get("class_token").is_some());
}
