//! The operations of the graph IR. Every op of the language (`docs/language.md`,
//! section 7) has a variant; attributes are fully resolved (pairs expanded, defaults
//! applied). Shape inference lives in [`crate::shape`].

use serde::Serialize;

/// `[h, w]` pairs (kernel, stride, pad, dilation).
pub type Pair = [usize; 2];

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Conv2d {
    pub out_channels: usize,
    pub kernel: Pair,
    pub stride: Pair,
    pub pad: Pair,
    pub dilation: Pair,
    pub groups: usize,
    pub bias: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Pool {
    pub kernel: Pair,
    pub stride: Pair,
    pub pad: Pair,
    pub ceil: bool,
}

/// Element-wise activation functions (PyTorch semantics).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub enum Activation {
    Relu,
    Relu6,
    Sigmoid,
    Tanh,
    Hardswish,
    Hardsigmoid,
    Silu,
    /// Exact (erf) GELU, PyTorch's default.
    Gelu,
    LeakyRelu {
        slope: f32,
    },
}

impl Activation {
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Relu6 => "relu6",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Hardswish => "hardswish",
            Activation::Hardsigmoid => "hardsigmoid",
            Activation::Silu => "silu",
            Activation::Gelu => "gelu",
            Activation::LeakyRelu { .. } => "leaky_relu",
        }
    }

    /// The scalar function, in f32, exactly as the reference interpreter
    /// computes it.
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Activation::Relu => {
                if x.is_nan() {
                    x
                } else {
                    x.max(0.0)
                }
            }
            Activation::Relu6 => {
                if x.is_nan() {
                    x
                } else {
                    x.clamp(0.0, 6.0)
                }
            }
            Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Activation::Tanh => x.tanh(),
            Activation::Hardswish => x * (x + 3.0).clamp(0.0, 6.0) / 6.0,
            Activation::Hardsigmoid => ((x + 3.0) / 6.0).clamp(0.0, 1.0),
            Activation::Silu => x / (1.0 + (-x).exp()),
            Activation::Gelu => {
                let xd = x as f64;
                (0.5 * xd * (1.0 + erf(xd / std::f64::consts::SQRT_2))) as f32
            }
            Activation::LeakyRelu { slope } => {
                if x >= 0.0 {
                    x
                } else {
                    x * slope
                }
            }
        }
    }
}

/// erf(x) to double precision (Abramowitz–Stegun 7.1.26 is not enough for
/// 1e-7; this uses the complementary-error-function continued fraction /
/// series split, accurate to ~1e-15).
pub fn erf(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    let ax = x.abs();
    let r = if ax < 2.5 {
        // Maclaurin series: erf(x) = 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1))
        let mut sum = 0.0;
        let mut term = ax;
        let x2 = ax * ax;
        let mut n = 0.0;
        loop {
            let t = term / (2.0 * n + 1.0);
            sum += t;
            if t.abs() < 1e-17 * sum.abs() {
                break;
            }
            n += 1.0;
            term *= -x2 / n;
            if n > 200.0 {
                break;
            }
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    } else if ax < 6.0 {
        // continued fraction for erfc
        let x2 = ax * ax;
        let mut f = 0.0;
        let mut k = 60.0;
        while k > 0.0 {
            f = (k / 2.0) / (ax + f);
            k -= 1.0;
        }
        1.0 - (-x2).exp() / std::f64::consts::PI.sqrt() / (ax + f)
    } else {
        1.0
    };
    if x < 0.0 {
        -r
    } else {
        r
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum BinaryKind {
    Add,
    Mul,
}

/// The axes a `LayerNorm` normalizes over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum NormAxes {
    /// The last `n` axes (PyTorch's `nn.LayerNorm(normalized_shape)` with
    /// `len(normalized_shape) == n`); weights have the shape of those axes.
    Last(usize),
    /// Axis 1 of `[N, C, ...]` (channels-first, torchvision's `LayerNorm2d`:
    /// every position of every image normalized over its `C` values);
    /// weights are `[C]`.
    Channels,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Op {
    /// A network input (`input NAME: [..]`). Not counted as an op.
    Input {
        name: String,
    },
    Conv2d(Conv2d),
    BatchNorm {
        eps: f64,
    },
    Linear {
        out_features: usize,
        bias: bool,
    },
    Act(Activation),
    MaxPool(Pool),
    AvgPool {
        pool: Pool,
        count_pad: bool,
    },
    GlobalAvgPool,
    Flatten,
    Concat {
        axis: usize,
    },
    /// One part of a `split`: elements `start..start+len` along `axis`.
    /// `split(x, parts = 2)` becomes two Split nodes (part 0 and part 1).
    Split {
        axis: usize,
        start: usize,
        len: usize,
        part: usize,
        parts: usize,
    },
    ChannelShuffle {
        groups: usize,
    },
    Softmax {
        axis: usize,
    },
    /// `a + b`, `a * b` with NumPy broadcasting.
    Binary(BinaryKind),
    /// Nearest-neighbour upsampling by an integer factor.
    Upsample {
        scale: usize,
    },
    /// Layer normalization over `axes` (biased variance, eps inside the
    /// square root), then `* weight + bias` (always affine).
    LayerNorm {
        axes: NormAxes,
        eps: f64,
    },
    /// The same elements in row-major order under a new shape (equal
    /// element count).
    Reshape {
        shape: Vec<usize>,
    },
    /// `out.shape[i] = in.shape[perm[i]]` (`torch.permute`); `perm` is a
    /// permutation of `0..rank`.
    Permute {
        perm: Vec<usize>,
    },
    /// Elements `start, start+step, ... < stop` along `axis` (Python's
    /// `x[start:stop:step]` after clamping; `start < stop <= size`, step >= 1).
    Slice {
        axis: usize,
        start: usize,
        stop: usize,
        step: usize,
    },
    /// Element `index` along `axis`; the axis is removed (`x[:, 0]`).
    Select {
        axis: usize,
        index: usize,
    },
    /// `torch.matmul` of two tensors of rank >= 2: `[..., M, K] @ [..., K, N]
    /// -> [..., M, N]`, the leading (batch) axes broadcast (NumPy rules).
    MatMul,
    /// A standalone named parameter (no inputs): its single weight is stored
    /// under the node's name itself (`class_token`, `encoder.pos_embedding`).
    Param {
        shape: Vec<usize>,
    },
    /// Scalar arithmetic `x * mul + add` (`x * 0.125`, `x + 1.0`, `1.0 - x`,
    /// `x / 8.0` = `x * (1/8)`, `-x`), in f32.
    Affine {
        mul: f32,
        add: f32,
    },
    /// `torch.roll(x, shift, axis)`: `out[(i + shift) % n] = in[i]` along
    /// `axis`; `shift` is normalized to `0..size`.
    Roll {
        axis: usize,
        shift: usize,
    },
    /// `torch.Tensor.expand`: the input broadcast to `shape` (NumPy rules,
    /// axes aligned from the end): every input axis equals the output axis
    /// or is 1 (repeated); an input of lower rank gains leading axes.
    /// `expand(param([1, 1, E]), [N, -1, -1])` is ViT's class token.
    Expand {
        shape: Vec<usize>,
    },
    /// Multi-head self-attention, `nn.MultiheadAttention(E, heads,
    /// batch_first=True)(x, x, x)` in eval mode: input and output `[N, L, E]`.
    /// `qkv = x @ in_proj_weight^T + in_proj_bias` (rows 0..E are q, E..2E k,
    /// 2E..3E v); per head (`d = E / heads`, head h = columns h*d..(h+1)*d):
    /// `softmax(q k^T / sqrt(d)) v`; heads concatenated, then `out_proj`.
    Attention {
        heads: usize,
        bias: bool,
    },
    /// `numpy.take(x, indices, axis)` with compile-time indices (already
    /// normalized to `0..size`): the output shape is `x.shape[..axis] ++
    /// index_shape ++ x.shape[axis + 1..]` (`table[index]` for Swin's
    /// relative position bias).
    Take {
        axis: usize,
        indices: Vec<usize>,
        index_shape: Vec<usize>,
    },
    /// A tensor whose values are known at compile time (no inputs, no
    /// weights): `constant([[0.0, -100.0], ...])`, e.g. Swin's shifted-window
    /// attention masks.
    Constant {
        shape: Vec<usize>,
        values: ConstData,
    },
    /// Produced by the fusion pass only, never by the elaborator: `base`
    /// (conv2d or linear, bias and folded batchnorm included) followed by the
    /// add of a second input (input slot 1, when `residual`) and then `act`.
    Fused {
        base: Box<Op>,
        residual: bool,
        act: Option<Activation>,
    },
}

impl Op {
    /// The op's name as written in the language (and printed in reports).
    pub fn name(&self) -> &'static str {
        match self {
            Op::Input { .. } => "input",
            Op::Conv2d(_) => "conv2d",
            Op::BatchNorm { .. } => "batchnorm",
            Op::Linear { .. } => "linear",
            Op::Act(a) => a.name(),
            Op::MaxPool(_) => "maxpool",
            Op::AvgPool { .. } => "avgpool",
            Op::GlobalAvgPool => "global_avgpool",
            Op::Flatten => "flatten",
            Op::Concat { .. } => "concat",
            Op::Split { .. } => "split",
            Op::ChannelShuffle { .. } => "channel_shuffle",
            Op::Softmax { .. } => "softmax",
            Op::Binary(BinaryKind::Add) => "add",
            Op::Binary(BinaryKind::Mul) => "mul",
            Op::Upsample { .. } => "upsample",
            Op::LayerNorm { .. } => "layernorm",
            Op::Reshape { .. } => "reshape",
            Op::Permute { .. } => "permute",
            Op::Slice { .. } => "slice",
            Op::Select { .. } => "select",
            Op::MatMul => "matmul",
            Op::Param { .. } => "param",
            Op::Affine { .. } => "affine",
            Op::Roll { .. } => "roll",
            Op::Expand { .. } => "expand",
            Op::Attention { .. } => "attention",
            Op::Take { .. } => "take",
            Op::Constant { .. } => "constant",
            Op::Fused { base, .. } => base.name(),
        }
    }

    /// True for ops that have weights (and therefore a weight name).
    pub fn has_weights(&self) -> bool {
        match self {
            Op::Conv2d(_)
            | Op::BatchNorm { .. }
            | Op::Linear { .. }
            | Op::LayerNorm { .. }
            | Op::Param { .. }
            | Op::Attention { .. } => true,
            Op::Fused { base, .. } => base.has_weights(),
            _ => false,
        }
    }

    /// Element-wise ops in the sense of ShuffleNet V2's guideline G4
    /// (add, mul, activations, batchnorm, scalar arithmetic, layernorm).
    pub fn is_elementwise(&self) -> bool {
        matches!(
            self,
            Op::Binary(_)
                | Op::Act(_)
                | Op::BatchNorm { .. }
                | Op::Affine { .. }
                | Op::LayerNorm { .. }
        )
    }

    /// True for ops that only move data (no arithmetic).
    pub fn is_data_movement(&self) -> bool {
        matches!(
            self,
            Op::Flatten
                | Op::Concat { .. }
                | Op::Split { .. }
                | Op::ChannelShuffle { .. }
                | Op::Upsample { .. }
                | Op::Reshape { .. }
                | Op::Permute { .. }
                | Op::Slice { .. }
                | Op::Select { .. }
                | Op::Roll { .. }
                | Op::Expand { .. }
                | Op::Take { .. }
        )
    }

    /// True for the ops of issue #10 (transformers) that the LLVM backend
    /// does not generate code for yet.
    pub fn is_transformer_op(&self) -> bool {
        matches!(
            self,
            Op::LayerNorm { .. }
                | Op::Reshape { .. }
                | Op::Permute { .. }
                | Op::Slice { .. }
                | Op::Select { .. }
                | Op::MatMul
                | Op::Param { .. }
                | Op::Affine { .. }
                | Op::Roll { .. }
                | Op::Expand { .. }
                | Op::Attention { .. }
                | Op::Take { .. }
                | Op::Constant { .. }
        )
    }
}

/// The values of a [`Op::Constant`], row-major, shared (cloning an op does
/// not copy them). Serialized and printed as a summary, not element by
/// element.
#[derive(Clone, PartialEq)]
pub struct ConstData(pub std::sync::Arc<Vec<f32>>);

impl ConstData {
    pub fn new(values: Vec<f32>) -> ConstData {
        ConstData(std::sync::Arc::new(values))
    }
}

impl std::ops::Deref for ConstData {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.0
    }
}

impl std::fmt::Debug for ConstData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ConstData({} values)", self.0.len())
    }
}

impl Serialize for ConstData {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0.len() as u64)
    }
}

/// One weight tensor an op needs: its suffix (`weight`, `bias`, ...), its
/// PyTorch shape, and whether it is a trainable parameter (batchnorm's running
/// statistics are buffers, not parameters). An empty suffix (a `param`)
/// means the weight is stored under the node's name itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightSpec {
    pub suffix: &'static str,
    pub shape: Vec<usize>,
    pub trainable: bool,
}

impl WeightSpec {
    /// The state_dict key of this weight for a node called `node`.
    pub fn key(&self, node: &str) -> String {
        weight_key(node, self.suffix)
    }
}

/// `node.suffix`, or `node` itself for an empty suffix.
pub fn weight_key(node: &str, suffix: &str) -> String {
    if suffix.is_empty() {
        node.to_string()
    } else {
        format!("{node}.{suffix}")
    }
}

/// The weights of an op given its input shapes (first input first), in the
/// order and layouts of PyTorch's state_dict.
pub fn weight_specs(op: &Op, input_shapes: &[&[usize]]) -> Vec<WeightSpec> {
    let w = |suffix, shape: Vec<usize>, trainable| WeightSpec {
        suffix,
        shape,
        trainable,
    };
    match op {
        Op::Conv2d(c) => {
            let cin = input_shapes
                .first()
                .and_then(|s| s.get(1))
                .copied()
                .unwrap_or(0);
            let mut v = vec![w(
                "weight",
                vec![
                    c.out_channels,
                    cin / c.groups.max(1),
                    c.kernel[0],
                    c.kernel[1],
                ],
                true,
            )];
            if c.bias {
                v.push(w("bias", vec![c.out_channels], true));
            }
            v
        }
        Op::BatchNorm { .. } => {
            let ch = input_shapes
                .first()
                .and_then(|s| s.get(1))
                .copied()
                .unwrap_or(0);
            vec![
                w("weight", vec![ch], true),
                w("bias", vec![ch], true),
                w("running_mean", vec![ch], false),
                w("running_var", vec![ch], false),
            ]
        }
        Op::Linear { out_features, bias } => {
            let fin = input_shapes
                .first()
                .and_then(|s| s.last())
                .copied()
                .unwrap_or(0);
            let mut v = vec![w("weight", vec![*out_features, fin], true)];
            if *bias {
                v.push(w("bias", vec![*out_features], true));
            }
            v
        }
        Op::LayerNorm { axes, .. } => {
            let x = input_shapes.first().copied().unwrap_or(&[]);
            let shape = match axes {
                NormAxes::Last(n) => x[x.len().saturating_sub(*n)..].to_vec(),
                NormAxes::Channels => x.get(1).map(|&c| vec![c]).unwrap_or_default(),
            };
            vec![w("weight", shape.clone(), true), w("bias", shape, true)]
        }
        Op::Param { shape } => vec![w("", shape.clone(), true)],
        Op::Attention { bias, .. } => {
            let e = input_shapes
                .first()
                .and_then(|s| s.last())
                .copied()
                .unwrap_or(0);
            let e3 = e.saturating_mul(3);
            let mut v = vec![w("in_proj_weight", vec![e3, e], true)];
            if *bias {
                v.push(w("in_proj_bias", vec![e3], true));
            }
            v.push(w("out_proj.weight", vec![e, e], true));
            if *bias {
                v.push(w("out_proj.bias", vec![e], true));
            }
            v
        }
        Op::Fused { base, .. } => weight_specs(base, input_shapes),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_matches_known_values() {
        let cases = [
            (0.0, 0.0),
            (0.5, 0.520_499_877_813_046_5),
            (1.0, 0.842_700_792_949_714_9),
            (2.0, 0.995_322_265_018_952_7),
            (3.0, 0.999_977_909_503_001_4),
            (-1.0, -0.842_700_792_949_714_9),
        ];
        for (x, e) in cases {
            assert!((erf(x) - e).abs() < 1e-12, "erf({x}) = {} want {e}", erf(x));
        }
    }

    #[test]
    fn relu_keeps_nan() {
        assert!(Activation::Relu.apply(f32::NAN).is_nan());
        assert_eq!(Activation::Relu6.apply(7.0), 6.0);
        assert_eq!(Activation::LeakyRelu { slope: 0.1 }.apply(-1.0), -0.1);
    }
}
