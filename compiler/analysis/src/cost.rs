//! The cost of one op: parameters, mult-adds, FLOPs and memory access cost.
//!
//! The per-op FLOP counts
//! are the ones written in `docs/analysis.md` (section "FLOPs per op"). There
//! is exactly one place that knows the cost of each op: [`cost`], an
//! exhaustive `match` without a catch-all arm, so adding an op to the IR
//! without giving it a cost does not compile.
//!
//! All counts are `u64` and saturate at `u64::MAX` instead of overflowing, so
//! no shape, however absurd, can make this module panic.

use nnc_ir::op::{weight_specs, Activation, BinaryKind, Op};

/// The cost of one node (all counts in elements or operations, f32 data).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    /// Trainable parameter elements (PyTorch's `parameters()` count).
    pub params: u64,
    /// Non-trainable weight elements (batchnorm running mean and variance).
    pub buffers: u64,
    /// Multiply–accumulates of conv2d, linear, matmul and attention's four
    /// matrix products (0 for every other op).
    pub mult_adds: u64,
    /// Floating-point operations: `2·mult_adds` plus bias adds, or the
    /// documented per-element count of the op.
    pub flops: u64,
    /// Memory access cost in elements: inputs read + output written +
    /// weights (params and buffers) read.
    pub mac: u64,
}

impl Cost {
    /// Memory access cost in bytes (f32: 4 bytes per element).
    pub fn mac_bytes(&self) -> u64 {
        self.mac.saturating_mul(4)
    }

    /// Arithmetic intensity, FLOP per byte of memory access (0 when the op
    /// touches no memory).
    pub fn intensity(&self) -> f64 {
        let b = self.mac_bytes();
        if b == 0 {
            0.0
        } else {
            self.flops as f64 / b as f64
        }
    }

    /// Element-wise sum (saturating), used for totals.
    pub fn plus(&self, o: &Cost) -> Cost {
        Cost {
            params: self.params.saturating_add(o.params),
            buffers: self.buffers.saturating_add(o.buffers),
            mult_adds: self.mult_adds.saturating_add(o.mult_adds),
            flops: self.flops.saturating_add(o.flops),
            mac: self.mac.saturating_add(o.mac),
        }
    }
}

/// Number of elements of a tensor of this shape (saturating).
pub fn numel(shape: &[usize]) -> u64 {
    shape
        .iter()
        .fold(1u64, |acc, &d| acc.saturating_mul(d as u64))
}

fn mul(a: u64, b: u64) -> u64 {
    a.saturating_mul(b)
}

/// FLOPs per element of an activation function. Transcendentals (`exp`,
/// `tanh`, `erf`) count as one operation each; a negation is free.
///
/// | activation | formula | FLOPs |
/// |---|---|---|
/// | relu | `max(x, 0)` | 1 |
/// | relu6 | `min(max(x, 0), 6)` | 2 |
/// | leaky_relu | `x < 0 ? slope·x : x` | 2 |
/// | sigmoid | `1 / (1 + exp(-x))` | 3 |
/// | tanh | `tanh(x)` | 1 |
/// | silu | `x · sigmoid(x)` | 4 |
/// | hardsigmoid | `min(max((x + 3) / 6, 0), 1)` | 4 |
/// | hardswish | `x · hardsigmoid(x)` | 5 |
/// | gelu | `0.5 · x · (1 + erf(x / √2))` | 5 |
pub fn activation_flops(a: Activation) -> u64 {
    match a {
        Activation::Relu => 1,
        Activation::Relu6 => 2,
        Activation::LeakyRelu { .. } => 2,
        Activation::Sigmoid => 3,
        Activation::Tanh => 1,
        Activation::Silu => 4,
        Activation::Hardsigmoid => 4,
        Activation::Hardswish => 5,
        Activation::Gelu => 5,
    }
}

pub use crate::attention::SOFTMAX_FLOPS_PER_ELEM;

/// FLOPs per element of layernorm: the mean (1 add), centring (1),
/// the variance (square and add, 2), the scaling by `1/σ` (1) and the
/// affine `·γ + β` (2); the per-row `sqrt` and division are not counted.
pub const LAYERNORM_FLOPS_PER_ELEM: u64 = 7;

/// FLOPs per element of inference batchnorm: `x·scale + shift` with the
/// per-channel scale and shift precomputed from the statistics.
pub const BATCHNORM_FLOPS_PER_ELEM: u64 = 2;

/// The cost of `op` applied to inputs of shapes `inputs` (slot order)
/// producing a tensor of shape `out`.
///
/// Input nodes are not ops: their cost is zero. Missing input shapes (a
/// malformed graph) count as empty tensors rather than panicking.
pub fn cost(op: &Op, inputs: &[&[usize]], out: &[usize]) -> Cost {
    let out_elems = numel(out);
    let in_elems = inputs
        .iter()
        .fold(0u64, |acc, s| acc.saturating_add(numel(s)));
    let first_in = inputs.first().copied().unwrap_or(&[]);
    let (params, buffers) = weight_elems(op, inputs);
    // Elements read plus written, unfused, as the op is written.
    let mac_default = in_elems
        .saturating_add(out_elems)
        .saturating_add(params)
        .saturating_add(buffers);
    let with = |mult_adds: u64, flops: u64| Cost {
        params,
        buffers,
        mult_adds,
        flops,
        mac: mac_default,
    };
    match op {
        Op::Input { .. } => Cost::default(),
        Op::Conv2d(c) => {
            let cin = first_in.get(1).copied().unwrap_or(0) as u64;
            let groups = c.groups.max(1) as u64;
            let k = mul(c.kernel[0] as u64, c.kernel[1] as u64);
            let ma = mul(mul(out_elems, cin / groups), k);
            let bias = if c.bias { out_elems } else { 0 };
            with(ma, mul(2, ma).saturating_add(bias))
        }
        Op::Linear { bias, .. } => {
            let fin = first_in.last().copied().unwrap_or(0) as u64;
            let ma = mul(out_elems, fin);
            let b = if *bias { out_elems } else { 0 };
            with(ma, mul(2, ma).saturating_add(b))
        }
        Op::BatchNorm { .. } => with(0, mul(BATCHNORM_FLOPS_PER_ELEM, out_elems)),
        Op::Act(a) => with(0, mul(activation_flops(*a), out_elems)),
        Op::MaxPool(p) => with(
            0,
            mul(mul(p.kernel[0] as u64, p.kernel[1] as u64), out_elems),
        ),
        Op::AvgPool { pool: p, .. } => with(
            0,
            mul(mul(p.kernel[0] as u64, p.kernel[1] as u64), out_elems),
        ),
        // (H·W − 1) adds and one division per channel: one FLOP per input element.
        Op::GlobalAvgPool => with(0, numel(first_in)),
        Op::Softmax { .. } => with(0, mul(SOFTMAX_FLOPS_PER_ELEM, out_elems)),
        Op::Binary(BinaryKind::Add) | Op::Binary(BinaryKind::Mul) => with(0, out_elems),
        Op::Flatten | Op::Concat { .. } | Op::ChannelShuffle { .. } | Op::Upsample { .. } => {
            with(0, 0)
        }
        Op::LayerNorm { .. } => with(0, mul(LAYERNORM_FLOPS_PER_ELEM, out_elems)),
        Op::Reshape { .. } | Op::Permute { .. } | Op::Roll { .. } => with(0, 0),
        // Like a copy: the (smaller) input read once, every output element
        // written; no arithmetic.
        Op::Expand { .. } => with(0, 0),
        // A slice or a selected index reads only what it copies.
        Op::Slice { .. } | Op::Select { .. } | Op::Take { .. } => Cost {
            mac: mul(2, out_elems),
            ..with(0, 0)
        },
        Op::MatMul => {
            let k = first_in.last().copied().unwrap_or(0) as u64;
            let ma = mul(out_elems, k);
            with(ma, mul(2, ma))
        }
        // The parameter is read once; its readers count it as their input.
        Op::Param { .. } => Cost {
            mac: params,
            ..with(0, 0)
        },
        // Compile-time values (no parameters): read once, like a `param`.
        Op::Constant { .. } => Cost {
            mac: out_elems,
            ..with(0, 0)
        },
        Op::Affine { mul: a, add: b } => {
            let per = u64::from(*a != 1.0) + u64::from(*b != 0.0);
            with(0, mul(per.max(1), out_elems))
        }
        Op::Attention { .. } => match crate::attention::attention_dims(op, first_in) {
            Some(d) => d.parts().iter().fold(
                Cost {
                    params,
                    buffers,
                    ..Cost::default()
                },
                |c, p| Cost {
                    mult_adds: c.mult_adds.saturating_add(p.mult_adds),
                    flops: c.flops.saturating_add(p.flops),
                    mac: c.mac.saturating_add(p.mac),
                    ..c
                },
            ),
            None => with(0, 0),
        },
        // One part of a split reads only the slice it copies, so the parts of
        // one `split` together read its input exactly once.
        Op::Split { .. } => Cost {
            mac: mul(2, out_elems),
            ..with(0, 0)
        },
        Op::Fused {
            base,
            residual,
            act,
        } => {
            // Sum of the parts for params, mult-adds and FLOPs. The MAC is the
            // fused node's own traffic (inputs + output + weights): the
            // intermediate tensors of the parts are never written.
            let base_inputs = &inputs[..inputs.len().min(1)];
            let b = cost(base, base_inputs, out);
            let res = if *residual { out_elems } else { 0 };
            let act = act.map_or(0, |a| mul(activation_flops(a), out_elems));
            Cost {
                params: b.params,
                buffers: b.buffers,
                mult_adds: b.mult_adds,
                flops: b.flops.saturating_add(res).saturating_add(act),
                mac: mac_default,
            }
        }
    }
}

/// `(params, buffers)` of an op, from [`weight_specs`].
fn weight_elems(op: &Op, inputs: &[&[usize]]) -> (u64, u64) {
    let mut p = 0u64;
    let mut b = 0u64;
    for w in weight_specs(op, inputs) {
        let n = numel(&w.shape);
        if w.trainable {
            p = p.saturating_add(n);
        } else {
            b = b.saturating_add(n);
        }
    }
    (p, b)
}

/// The seed formula: MAC of a bias-free 1×1 convolution on an `h×w` map
/// with `c1` input and `c2` output channels, `h·w·(c1 + c2) + c1·c2`.
pub fn seed_mac(h: u64, w: u64, c1: u64, c2: u64) -> u64 {
    mul(mul(h, w), c1.saturating_add(c2)).saturating_add(mul(c1, c2))
}

/// ShuffleNet V2's guideline G1 lower bound on the MAC of a bias-free 1×1
/// convolution with `b = h·w·c1·c2` FLOPs-as-mult-adds on an `h×w` map:
/// `MAC ≥ 2·sqrt(h·w·b) + b/(h·w)`, with equality exactly when `c1 = c2`.
/// Returns 0 for an empty map.
pub fn g1_bound(h: u64, w: u64, b: u64) -> f64 {
    let hw = h as f64 * w as f64;
    if hw == 0.0 {
        return 0.0;
    }
    2.0 * (hw * b as f64).sqrt() + b as f64 / hw
}

#[cfg(test)]
mod tests {
    use super::*;
    use nnc_ir::op::{Conv2d, Pool};

    fn conv(cout: usize, k: usize, s: usize, p: usize, groups: usize, bias: bool) -> Op {
        Op::Conv2d(Conv2d {
            out_channels: cout,
            kernel: [k, k],
            stride: [s, s],
            pad: [p, p],
            dilation: [1, 1],
            groups,
            bias,
        })
    }

    fn pool(k: usize, s: usize) -> Pool {
        Pool {
            kernel: [k, k],
            stride: [s, s],
            pad: [0, 0],
            ceil: false,
        }
    }

    #[test]
    fn input_is_free() {
        let c = cost(&Op::Input { name: "x".into() }, &[], &[1, 3, 8, 8]);
        assert_eq!(c, Cost::default());
    }

    #[test]
    fn conv_resnet_stem() {
        // resnet18 conv1: 3→64, 7×7/2 pad 3, 224 → 112, no bias.
        let c = cost(
            &conv(64, 7, 2, 3, 1, false),
            &[&[1, 3, 224, 224]],
            &[1, 64, 112, 112],
        );
        assert_eq!(c.params, 9408);
        assert_eq!(c.buffers, 0);
        assert_eq!(c.mult_adds, 118_013_952);
        assert_eq!(c.flops, 236_027_904);
        assert_eq!(c.mac, 150_528 + 802_816 + 9408);
        assert_eq!(c.mac_bytes(), 4 * (150_528 + 802_816 + 9408));
    }

    #[test]
    fn conv_with_bias_and_groups() {
        // Depthwise 3×3 on 32 channels 10×10, with bias: 32 weights·9 + 32.
        let c = cost(
            &conv(32, 3, 1, 1, 32, true),
            &[&[2, 32, 10, 10]],
            &[2, 32, 10, 10],
        );
        assert_eq!(c.params, 32 * 9 + 32);
        let out = 2 * 32 * 100;
        assert_eq!(c.mult_adds, out * 9);
        assert_eq!(c.flops, 2 * out * 9 + out);
        assert_eq!(c.mac, out + out + 320);
        // Grouped: 8 → 16 channels, groups 2, 1×1, 4×4 map.
        let c = cost(
            &conv(16, 1, 1, 0, 2, false),
            &[&[1, 8, 4, 4]],
            &[1, 16, 4, 4],
        );
        assert_eq!(c.params, 16 * 4);
        assert_eq!(c.mult_adds, 16 * 16 * 4);
        assert_eq!(c.flops, 2 * 16 * 16 * 4);
        assert_eq!(c.mac, 128 + 256 + 64);
    }

    #[test]
    fn linear_fc() {
        let op = Op::Linear {
            out_features: 1000,
            bias: true,
        };
        let c = cost(&op, &[&[1, 512]], &[1, 1000]);
        assert_eq!(c.params, 513_000);
        assert_eq!(c.mult_adds, 512_000);
        assert_eq!(c.flops, 1_024_000 + 1000);
        assert_eq!(c.mac, 512 + 1000 + 513_000);
        let op = Op::Linear {
            out_features: 10,
            bias: false,
        };
        let c = cost(&op, &[&[4, 20]], &[4, 10]);
        assert_eq!(
            (c.params, c.mult_adds, c.flops, c.mac),
            (200, 800, 1600, 80 + 40 + 200)
        );
    }

    #[test]
    fn batchnorm_counts_running_stats_as_buffers() {
        let c = cost(
            &Op::BatchNorm { eps: 1e-5 },
            &[&[1, 64, 56, 56]],
            &[1, 64, 56, 56],
        );
        let n = 64 * 56 * 56;
        assert_eq!(c.params, 128);
        assert_eq!(c.buffers, 128);
        assert_eq!(c.mult_adds, 0);
        assert_eq!(c.flops, 2 * n);
        assert_eq!(c.mac, 2 * n + 256);
    }

    #[test]
    fn activations() {
        let s: &[usize] = &[1, 4, 5, 5];
        let expect = [
            (Activation::Relu, 1),
            (Activation::Relu6, 2),
            (Activation::LeakyRelu { slope: 0.1 }, 2),
            (Activation::Sigmoid, 3),
            (Activation::Tanh, 1),
            (Activation::Silu, 4),
            (Activation::Hardsigmoid, 4),
            (Activation::Hardswish, 5),
            (Activation::Gelu, 5),
        ];
        for (a, f) in expect {
            let c = cost(&Op::Act(a), &[s], s);
            assert_eq!(c.flops, 100 * f, "{a:?}");
            assert_eq!((c.params, c.mult_adds, c.mac), (0, 0, 200), "{a:?}");
        }
    }

    #[test]
    fn pools() {
        let c = cost(
            &Op::MaxPool(pool(3, 2)),
            &[&[1, 64, 112, 112]],
            &[1, 64, 56, 56],
        );
        assert_eq!(c.flops, 9 * 64 * 56 * 56);
        assert_eq!(c.mac, 64 * 112 * 112 + 64 * 56 * 56);
        let op = Op::AvgPool {
            pool: pool(2, 2),
            count_pad: true,
        };
        let c = cost(&op, &[&[1, 8, 4, 4]], &[1, 8, 2, 2]);
        assert_eq!((c.flops, c.mac, c.params), (4 * 32, 128 + 32, 0));
        let c = cost(&Op::GlobalAvgPool, &[&[1, 512, 7, 7]], &[1, 512, 1, 1]);
        assert_eq!((c.flops, c.mac), (512 * 49, 512 * 49 + 512));
    }

    #[test]
    fn binary_softmax_and_data_movement() {
        let s: &[usize] = &[1, 8, 3, 3];
        let c = cost(&Op::Binary(BinaryKind::Add), &[s, s], s);
        assert_eq!((c.flops, c.mac), (72, 216));
        // Broadcast: [1,8,3,3] * [1,8,1,1].
        let c = cost(&Op::Binary(BinaryKind::Mul), &[s, &[1, 8, 1, 1]], s);
        assert_eq!((c.flops, c.mac), (72, 72 + 8 + 72));
        let c = cost(&Op::Softmax { axis: 1 }, &[&[1, 1000]], &[1, 1000]);
        assert_eq!((c.flops, c.mac), (5000, 2000));
        let c = cost(&Op::Flatten, &[&[1, 512, 1, 1]], &[1, 512]);
        assert_eq!((c.flops, c.mac), (0, 1024));
        let c = cost(
            &Op::Concat { axis: 1 },
            &[&[1, 2, 4, 4], &[1, 6, 4, 4]],
            &[1, 8, 4, 4],
        );
        assert_eq!((c.flops, c.mac), (0, 256));
        let op = Op::Split {
            axis: 1,
            start: 2,
            len: 2,
            part: 1,
            parts: 2,
        };
        let c = cost(&op, &[&[1, 4, 4, 4]], &[1, 2, 4, 4]);
        assert_eq!((c.flops, c.mac), (0, 64));
        let c = cost(&Op::ChannelShuffle { groups: 2 }, &[s], s);
        assert_eq!((c.flops, c.mac), (0, 144));
        let c = cost(&Op::Upsample { scale: 2 }, &[&[1, 2, 3, 3]], &[1, 2, 6, 6]);
        assert_eq!((c.flops, c.mac), (0, 18 + 72));
    }

    #[test]
    fn fused_is_sum_of_parts() {
        let op = Op::Fused {
            base: Box::new(conv(8, 3, 1, 1, 1, true)),
            residual: true,
            act: Some(Activation::Relu),
        };
        let x: &[usize] = &[1, 4, 6, 6];
        let y: &[usize] = &[1, 8, 6, 6];
        let c = cost(&op, &[x, y], y);
        let base = cost(&conv(8, 3, 1, 1, 1, true), &[x], y);
        assert_eq!(c.params, 8 * 4 * 9 + 8);
        assert_eq!(c.mult_adds, base.mult_adds);
        assert_eq!(c.flops, base.flops + 288 + 288);
        assert_eq!(c.mac, 144 + 288 + 288 + 296);
    }

    #[test]
    fn seed_formula_and_g1() {
        for (c1, c2) in [(1u64, 1u64), (3, 7), (128, 128), (64, 256)] {
            let op = conv(c2 as usize, 1, 1, 0, 1, false);
            let c = cost(&op, &[&[1, c1 as usize, 7, 5]], &[1, c2 as usize, 7, 5]);
            assert_eq!(c.mac, seed_mac(7, 5, c1, c2));
            assert_eq!(c.mult_adds, 35 * c1 * c2);
            let bound = g1_bound(7, 5, c.mult_adds);
            assert!(c.mac as f64 >= bound - 1e-6, "{c1},{c2}");
            if c1 == c2 {
                assert!((c.mac as f64 - bound).abs() < 1e-6);
            } else {
                assert!(c.mac as f64 > bound + 1e-3);
            }
        }
        assert_eq!(g1_bound(0, 3, 9), 0.0);
    }

    #[test]
    fn shufflenet_v2_table1_g1() {
        // ShuffleNet V2 Table 1: MAC per 1×1 conv at 56×56, same B.
        let cases = [
            (128, 128, 819_200u64),
            (90, 180, 862_920),
            (52, 312, 1_157_728),
            (36, 432, 1_483_200),
        ];
        for (c1, c2, mac) in cases {
            let op = conv(c2, 1, 1, 0, 1, false);
            let c = cost(&op, &[&[1, c1, 56, 56]], &[1, c2, 56, 56]);
            assert_eq!(c.mac, mac, "{c1}:{c2}");
        }
    }

    #[test]
    fn absurd_shapes_saturate() {
        let big = usize::MAX;
        let c = cost(
            &conv(big, 7, 1, 0, 1, true),
            &[&[big, big, big, big]],
            &[big, big, big, big],
        );
        assert_eq!(c.mult_adds, u64::MAX);
        assert_eq!(c.mac_bytes(), u64::MAX);
        let c = cost(
            &Op::Linear {
                out_features: 3,
                bias: false,
            },
            &[],
            &[1, 3],
        );
        assert_eq!(c.mult_adds, 0);
    }

    #[test]
    fn expand_is_a_copy() {
        let op = Op::Expand {
            shape: vec![4, 1, 768],
        };
        let c = cost(&op, &[&[1, 1, 768]], &[4, 1, 768]);
        assert_eq!((c.params, c.mult_adds, c.flops), (0, 0, 0));
        // the input read once, the output written
        assert_eq!(c.mac, 768 + 4 * 768);
    }
}
