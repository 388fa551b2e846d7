//! The built-in ops and functions of the language (spec §6): the table of
//! their signatures. Applying them (argument checks, the nodes they build)
//! is `eval/builtin.rs`.

use nnc_ir::Activation;

/// What a built-in does.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Builtin {
    Conv2d,
    BatchNorm,
    Linear,
    Act(Activation),
    LeakyRelu,
    MaxPool,
    AvgPool,
    GlobalAvgPool,
    Flatten,
    Concat,
    Split,
    ChannelShuffle,
    Softmax,
    Upsample,
    LayerNorm,
    Reshape,
    Permute,
    Transpose,
    Slice,
    Select,
    MatMul,
    Param,
    Roll,
    Expand,
    Attention,
    Take,
    Constant,
    Add,
    Mul,
    Channels,
    Height,
    Width,
    Batch,
    Shape,
    Len,
    Sqrt,
}

/// A built-in's signature: parameter names in positional order, how many
/// of them (from the front) are required, and whether it builds nodes (and
/// so takes `name = "..."`).
pub(crate) struct Sig {
    pub(crate) name: &'static str,
    pub(crate) builtin: Builtin,
    pub(crate) params: &'static [&'static str],
    pub(crate) required: usize,
    pub(crate) makes_node: bool,
}

const fn sig(
    name: &'static str,
    builtin: Builtin,
    params: &'static [&'static str],
    required: usize,
    makes_node: bool,
) -> Sig {
    Sig {
        name,
        builtin,
        params,
        required,
        makes_node,
    }
}

const X: &[&str] = &["x"];

pub(crate) static BUILTINS: &[Sig] = &[
    sig(
        "conv2d",
        Builtin::Conv2d,
        &[
            "x", "out", "kernel", "stride", "pad", "dilation", "groups", "bias",
        ],
        3,
        true,
    ),
    sig("batchnorm", Builtin::BatchNorm, &["x", "eps"], 1, true),
    sig("linear", Builtin::Linear, &["x", "out", "bias"], 2, true),
    sig("relu", Builtin::Act(Activation::Relu), X, 1, true),
    sig("relu6", Builtin::Act(Activation::Relu6), X, 1, true),
    sig("sigmoid", Builtin::Act(Activation::Sigmoid), X, 1, true),
    sig("tanh", Builtin::Act(Activation::Tanh), X, 1, true),
    sig("hardswish", Builtin::Act(Activation::Hardswish), X, 1, true),
    sig(
        "hardsigmoid",
        Builtin::Act(Activation::Hardsigmoid),
        X,
        1,
        true,
    ),
    sig("silu", Builtin::Act(Activation::Silu), X, 1, true),
    sig("gelu", Builtin::Act(Activation::Gelu), X, 1, true),
    sig("leaky_relu", Builtin::LeakyRelu, &["x", "slope"], 1, true),
    sig(
        "maxpool",
        Builtin::MaxPool,
        &["x", "kernel", "stride", "pad", "ceil"],
        2,
        true,
    ),
    sig(
        "avgpool",
        Builtin::AvgPool,
        &["x", "kernel", "stride", "pad", "ceil", "count_pad"],
        2,
        true,
    ),
    sig("global_avgpool", Builtin::GlobalAvgPool, X, 1, true),
    sig("flatten", Builtin::Flatten, X, 1, true),
    sig("concat", Builtin::Concat, &["xs", "axis"], 1, true),
    sig(
        "split",
        Builtin::Split,
        &["x", "parts", "sizes", "axis"],
        1,
        true,
    ),
    sig(
        "channel_shuffle",
        Builtin::ChannelShuffle,
        &["x", "groups"],
        2,
        true,
    ),
    sig("softmax", Builtin::Softmax, &["x", "axis"], 1, true),
    sig("upsample", Builtin::Upsample, &["x", "scale"], 1, true),
    sig(
        "layernorm",
        Builtin::LayerNorm,
        &["x", "eps", "dims", "channels_first"],
        1,
        true,
    ),
    sig("reshape", Builtin::Reshape, &["x", "shape"], 2, true),
    sig("permute", Builtin::Permute, &["x", "axes"], 2, true),
    sig("transpose", Builtin::Transpose, &["x", "a", "b"], 3, true),
    sig(
        "slice",
        Builtin::Slice,
        &["x", "axis", "start", "stop", "step"],
        2,
        true,
    ),
    sig("select", Builtin::Select, &["x", "axis", "index"], 3, true),
    sig("matmul", Builtin::MatMul, &["a", "b"], 2, true),
    sig("param", Builtin::Param, &["shape"], 1, true),
    sig("roll", Builtin::Roll, &["x", "shift", "axis"], 3, true),
    sig("expand", Builtin::Expand, &["x", "shape"], 2, true),
    sig(
        "attention",
        Builtin::Attention,
        &["x", "heads", "bias"],
        2,
        true,
    ),
    sig("take", Builtin::Take, &["x", "indices", "axis"], 2, true),
    sig("constant", Builtin::Constant, &["values"], 1, true),
    sig("add", Builtin::Add, &["a", "b"], 2, true),
    sig("mul", Builtin::Mul, &["a", "b"], 2, true),
    sig("channels", Builtin::Channels, X, 1, false),
    sig("height", Builtin::Height, X, 1, false),
    sig("width", Builtin::Width, X, 1, false),
    sig("batch", Builtin::Batch, X, 1, false),
    sig("shape", Builtin::Shape, X, 1, false),
    sig("len", Builtin::Len, &["xs"], 1, false),
    sig("sqrt", Builtin::Sqrt, X, 1, false),
];

/// The built-in called `name`.
pub(crate) fn lookup(name: &str) -> Option<&'static Sig> {
    BUILTINS.iter().find(|s| s.name == name)
}

/// Every built-in's name.
pub(crate) fn names() -> impl Iterator<Item = &'static str> {
    BUILTINS.iter().map(|s| s.name)
}

/// The names of all built-ins (for drivers and docs).
pub fn builtin_names() -> Vec<&'static str> {
    names().collect()
}
