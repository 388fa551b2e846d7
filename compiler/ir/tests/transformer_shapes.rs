//! Shape inference and weight specs of the transformer ops (issue #10).

use nnc_ir::op::weight_specs;
use nnc_ir::shape::infer;
use nnc_ir::{NormAxes, Op};

#[test]
fn linear_works_on_the_last_axis_of_any_rank() {
    let op = Op::Linear {
        out_features: 3072,
        bias: true,
    };
    assert_eq!(infer(&op, &[&[1, 197, 768]]).unwrap(), vec![1, 197, 3072]);
    assert_eq!(
        infer(&op, &[&[1, 56, 56, 96]]).unwrap(),
        vec![1, 56, 56, 3072]
    );
    assert!(infer(&op, &[&[768]]).is_err());
    let w = weight_specs(&op, &[&[1, 197, 768]]);
    assert_eq!(w[0].shape, vec![3072, 768]);
}

#[test]
fn reshape_keeps_the_element_count() {
    let op = Op::Reshape {
        shape: vec![1, 768, 196],
    };
    assert_eq!(infer(&op, &[&[1, 768, 14, 14]]).unwrap(), vec![1, 768, 196]);
    assert!(infer(&op, &[&[1, 768, 14, 15]]).is_err());
    assert!(infer(&Op::Reshape { shape: vec![0, 5] }, &[&[1]]).is_err());
    assert!(infer(
        &Op::Reshape {
            shape: vec![usize::MAX, 3]
        },
        &[&[1]]
    )
    .is_err());
}

#[test]
fn permute_needs_a_permutation() {
    let op = Op::Permute {
        perm: vec![0, 2, 3, 1],
    };
    assert_eq!(
        infer(&op, &[&[1, 96, 56, 57]]).unwrap(),
        vec![1, 56, 57, 96]
    );
    for bad in [vec![0, 1, 1, 2], vec![0, 1, 2], vec![0, 1, 2, 4]] {
        assert!(infer(&Op::Permute { perm: bad }, &[&[1, 2, 3, 4]]).is_err());
    }
}

#[test]
fn slice_and_select() {
    let s = Op::Slice {
        axis: 2,
        start: 1,
        stop: 56,
        step: 2,
    };
    assert_eq!(infer(&s, &[&[1, 56, 56, 96]]).unwrap(), vec![1, 56, 28, 96]);
    let s = Op::Slice {
        axis: 1,
        start: 0,
        stop: 5,
        step: 2,
    };
    assert_eq!(infer(&s, &[&[1, 5]]).unwrap(), vec![1, 3]);
    let empty = Op::Slice {
        axis: 1,
        start: 3,
        stop: 3,
        step: 1,
    };
    assert!(infer(&empty, &[&[1, 5]]).is_err());
    let past = Op::Slice {
        axis: 1,
        start: 0,
        stop: 6,
        step: 1,
    };
    assert!(infer(&past, &[&[1, 5]]).is_err());
    let sel = Op::Select { axis: 1, index: 0 };
    assert_eq!(infer(&sel, &[&[1, 197, 768]]).unwrap(), vec![1, 768]);
    assert!(infer(
        &Op::Select {
            axis: 1,
            index: 197
        },
        &[&[1, 197, 768]]
    )
    .is_err());
    assert!(infer(&Op::Select { axis: 0, index: 0 }, &[&[4]]).is_err());
}

#[test]
fn matmul_broadcasts_batch_axes() {
    let m = Op::MatMul;
    assert_eq!(
        infer(&m, &[&[1, 12, 197, 64], &[1, 12, 64, 197]]).unwrap(),
        vec![1, 12, 197, 197]
    );
    assert_eq!(
        infer(&m, &[&[2, 1, 3, 4], &[5, 4, 6]]).unwrap(),
        vec![2, 5, 3, 6]
    );
    assert_eq!(infer(&m, &[&[3, 4], &[4, 6]]).unwrap(), vec![3, 6]);
    assert!(infer(&m, &[&[3, 4], &[5, 6]]).is_err());
    assert!(infer(&m, &[&[2, 3, 4], &[3, 4, 6]]).is_err());
    assert!(infer(&m, &[&[4], &[4, 6]]).is_err());
}

#[test]
fn layernorm_axes_and_weights() {
    let last = Op::LayerNorm {
        axes: NormAxes::Last(1),
        eps: 1e-6,
    };
    assert_eq!(infer(&last, &[&[1, 197, 768]]).unwrap(), vec![1, 197, 768]);
    assert_eq!(weight_specs(&last, &[&[1, 197, 768]])[0].shape, vec![768]);
    let two = Op::LayerNorm {
        axes: NormAxes::Last(2),
        eps: 1e-5,
    };
    assert_eq!(weight_specs(&two, &[&[1, 7, 8]])[1].shape, vec![7, 8]);
    let cf = Op::LayerNorm {
        axes: NormAxes::Channels,
        eps: 1e-6,
    };
    assert_eq!(weight_specs(&cf, &[&[1, 96, 56, 56]])[0].shape, vec![96]);
    assert!(infer(
        &Op::LayerNorm {
            axes: NormAxes::Last(4),
            eps: 1e-5
        },
        &[&[1, 2, 3]]
    )
    .is_err());
    assert!(infer(
        &Op::LayerNorm {
            axes: NormAxes::Last(1),
            eps: 0.0
        },
        &[&[1, 2, 3]]
    )
    .is_err());
}

#[test]
fn param_has_no_inputs_and_one_unsuffixed_weight() {
    let p = Op::Param {
        shape: vec![1, 1, 768],
    };
    assert_eq!(infer(&p, &[]).unwrap(), vec![1, 1, 768]);
    assert!(infer(&p, &[&[1]]).is_err());
    let w = weight_specs(&p, &[]);
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].key("class_token"), "class_token");
    assert!(infer(&Op::Param { shape: vec![] }, &[]).is_err());
}

#[test]
fn attention_weights_are_torchvision_names() {
    let a = Op::Attention {
        heads: 12,
        bias: true,
    };
    assert_eq!(infer(&a, &[&[1, 197, 768]]).unwrap(), vec![1, 197, 768]);
    let w = weight_specs(&a, &[&[1, 197, 768]]);
    let keys: Vec<(String, Vec<usize>)> =
        w.iter().map(|s| (s.key("sa"), s.shape.clone())).collect();
    assert_eq!(
        keys,
        vec![
            ("sa.in_proj_weight".to_string(), vec![2304, 768]),
            ("sa.in_proj_bias".to_string(), vec![2304]),
            ("sa.out_proj.weight".to_string(), vec![768, 768]),
            ("sa.out_proj.bias".to_string(), vec![768]),
        ]
    );
    assert!(infer(
        &Op::Attention {
            heads: 5,
            bias: true
        },
        &[&[1, 197, 768]]
    )
    .is_err());
    assert!(infer(&a, &[&[197, 768]]).is_err());
}

#[test]
fn roll_and_affine() {
    let r = Op::Roll { axis: 1, shift: 3 };
    assert_eq!(infer(&r, &[&[1, 56, 56, 96]]).unwrap(), vec![1, 56, 56, 96]);
    assert!(infer(&Op::Roll { axis: 1, shift: 56 }, &[&[1, 56, 56, 96]]).is_err());
    assert!(infer(&Op::Roll { axis: 4, shift: 0 }, &[&[1, 56, 56, 96]]).is_err());
    let a = Op::Affine {
        mul: 0.125,
        add: 0.0,
    };
    assert_eq!(infer(&a, &[&[2, 3]]).unwrap(), vec![2, 3]);
    assert!(infer(
        &Op::Affine {
            mul: f32::NAN,
            add: 0.0
        },
        &[&[2, 3]]
    )
    .is_err());
}

#[test]
fn take_and_constant_shapes() {
    let t = Op::Take {
        axis: 0,
        indices: vec![0, 168, 5, 6],
        index_shape: vec![2, 2],
    };
    assert_eq!(infer(&t, &[&[169, 3]]).unwrap(), vec![2, 2, 3]);
    // an index outside the axis, indices that do not fill the index shape
    assert!(infer(&t, &[&[168, 3]]).is_err());
    let short = Op::Take {
        axis: 1,
        indices: vec![0],
        index_shape: vec![2],
    };
    assert!(infer(&short, &[&[1, 4]]).is_err());
    let c = Op::Constant {
        shape: vec![2, 3],
        values: nnc_ir::ConstData::new(vec![0.0; 6]),
    };
    assert_eq!(infer(&c, &[]).unwrap(), vec![2, 3]);
    let bad = Op::Constant {
        shape: vec![2, 2],
        values: nnc_ir::ConstData::new(vec![0.0; 6]),
    };
    assert!(infer(&bad, &[]).is_err());
}

#[test]
fn expand() {
    let e = |s: &[usize]| Op::Expand { shape: s.to_vec() };
    // ViT's class token: [1, 1, E] -> [N, 1, E]
    assert_eq!(
        infer(&e(&[4, 1, 768]), &[&[1, 1, 768]]).unwrap(),
        vec![4, 1, 768]
    );
    // new leading axes
    assert_eq!(infer(&e(&[2, 3, 5]), &[&[3, 1]]).unwrap(), vec![2, 3, 5]);
    assert_eq!(infer(&e(&[3, 5]), &[&[3, 5]]).unwrap(), vec![3, 5]);
    // a non-1 axis cannot change, the rank cannot shrink, sizes are positive
    assert!(infer(&e(&[4, 2, 768]), &[&[1, 3, 768]]).is_err());
    assert!(infer(&e(&[768]), &[&[1, 768]]).is_err());
    assert!(infer(&e(&[0, 1, 768]), &[&[1, 1, 768]]).is_err());
    assert!(infer(&e(&[usize::MAX, 2, 768]), &[&[1, 1, 768]]).is_err());
    assert!(infer(&e(&[2, 2]), &[]).is_err());
}
