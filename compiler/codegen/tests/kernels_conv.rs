//! Property tests of the fast convolution kernels (direct, 1×1 GEMM, depthwise)
//! against a naive reference, on randomized shapes.

mod kernels_util;

use kernels_util::kernels::conv_fast::{plan_conv, ConvAlgo, ConvSpec};
use kernels_util::kernels::gemm::Activation;
use kernels_util::{check_conv, random_act, Rng};

const TOL: f64 = 1e-4;

fn check(s: &ConvSpec, seed: u64) {
    let e = check_conv(s, seed);
    assert!(e <= TOL, "rel err {e:e} for {s:?} (seed {seed})");
}

#[test]
fn direct_3x3_basic() {
    let mut s = ConvSpec::simple(1, 5, 9, 11, 7, 3, 1, 1);
    s.bias = true;
    s.act = Some(Activation::Relu);
    check(&s, 1);
    assert_eq!(plan_conv(&s).unwrap().algo, ConvAlgo::Direct);
}

#[test]
fn stem_like_7x7_stride2() {
    let mut s = ConvSpec::simple(1, 3, 37, 41, 16, 7, 2, 3);
    s.bias = true;
    s.act = Some(Activation::Relu);
    check(&s, 2);
}

#[test]
fn one_by_one_is_gemm() {
    let mut s = ConvSpec::simple(2, 24, 7, 9, 20, 1, 1, 0);
    s.bias = true;
    s.residual = true;
    check(&s, 3);
    assert_eq!(plan_conv(&s).unwrap().algo, ConvAlgo::Gemm1x1);
}

#[test]
fn one_by_one_stride2_downsample() {
    let s = ConvSpec::simple(1, 16, 14, 14, 32, 1, 2, 0);
    check(&s, 4);
    assert_eq!(plan_conv(&s).unwrap().algo, ConvAlgo::Gemm1x1);
}

#[test]
fn depthwise_3x3_relu6() {
    for (stride, hw) in [(1, 13), (2, 14), (2, 9), (1, 1)] {
        let mut s = ConvSpec::simple(1, 11, hw, hw, 11, 3, stride, 1);
        s.groups = 11;
        s.bias = true;
        s.act = Some(Activation::Relu6);
        assert_eq!(plan_conv(&s).unwrap().algo, ConvAlgo::Depthwise);
        check(&s, 5 + stride as u64);
    }
}

#[test]
fn grouped_and_dilated() {
    let mut s = ConvSpec::simple(2, 12, 10, 13, 18, 3, 1, 2);
    s.groups = 3;
    s.dilation = [2, 2];
    s.bias = true;
    check(&s, 7);
}

#[test]
fn asymmetric_padding_and_strides() {
    let mut s = ConvSpec::simple(1, 4, 12, 17, 9, 3, 1, 0);
    s.kh = 2;
    s.kw = 5;
    s.stride = [3, 2];
    s.pad = [1, 0, 2, 3];
    check(&s, 8);
}

#[test]
fn one_by_one_spatial() {
    // 1×1 spatial input (global-pool-like), 3×3 with pad 1 and 1×1.
    check(&ConvSpec::simple(2, 9, 1, 1, 13, 3, 1, 1), 9);
    check(&ConvSpec::simple(1, 9, 1, 1, 13, 1, 1, 0), 10);
}

/// Random shapes: odd sizes, channels not multiple of 8, padding, stride 2, dilation,
/// groups, 1×1 spatial, batch 2, all epilogues, random task splits.
#[test]
fn randomized_shapes() {
    let mut r = Rng::new(42);
    for case in 0..48u64 {
        let kind = r.range(0, 3);
        let groups_pick = r.range(0, 3);
        let mut cin = r.range(1, 20);
        let mut cout = r.range(1, 20);
        let k = r.pick(&[1usize, 1, 3, 3, 5, 7]);
        let mut s = ConvSpec::simple(
            r.range(1, 2),
            cin,
            r.range(1, 19),
            r.range(1, 23),
            cout,
            k,
            r.range(1, 2),
            r.range(0, k / 2 + 1),
        );
        if kind == 1 {
            s.dilation = [r.range(1, 2), r.range(1, 3)];
        }
        if kind == 2 {
            s.kh = r.range(1, 4);
            s.kw = r.range(1, 4);
            s.stride = [r.range(1, 3), r.range(1, 3)];
            s.pad = [r.range(0, 2), r.range(0, 2), r.range(0, 2), r.range(0, 2)];
        }
        if groups_pick == 1 {
            let g = r.range(2, 3);
            cin = g * r.range(1, 5);
            cout = g * r.range(1, 7);
            s.cin = cin;
            s.cout = cout;
            s.groups = g;
        } else if groups_pick == 2 {
            // Depthwise.
            s.cin = cin;
            s.cout = cin;
            s.groups = cin;
        }
        s.bias = r.range(0, 1) == 1;
        s.residual = r.range(0, 1) == 1;
        s.act = random_act(&mut r);
        if s.out_hw().is_err() {
            continue;
        }
        check(&s, 1000 + case);
    }
}

#[test]
fn bad_specs_are_errors() {
    let mut s = ConvSpec::simple(1, 6, 5, 5, 4, 3, 1, 0);
    s.groups = 4; // does not divide cin
    assert!(plan_conv(&s).is_err());
    let s = ConvSpec::simple(1, 3, 2, 2, 4, 5, 1, 0); // window larger than input
    assert!(plan_conv(&s).is_err());
    let s = ConvSpec::simple(1, 3, 8, 8, 4, 3, 0, 0); // zero stride
    assert!(plan_conv(&s).is_err());
    let s = ConvSpec::simple(usize::MAX, 3, 8, 8, 4, 3, 1, 0); // overflow
    assert!(plan_conv(&s).is_err());
}
