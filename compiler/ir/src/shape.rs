//! Shape inference for every op, with PyTorch's output-size rules.
//! Checked arithmetic throughout: an absurd size is an error, never a panic.

use crate::op::{BinaryKind, NormAxes, Op, Pair, Pool};
use std::fmt;

/// Why an op cannot take the given input shapes. The elaborator turns this
/// into a coded diagnostic at the call site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShapeError {
    pub message: String,
    pub help: Option<String>,
}

impl ShapeError {
    fn new(message: impl Into<String>) -> ShapeError {
        ShapeError {
            message: message.into(),
            help: None,
        }
    }

    fn help(mut self, help: impl Into<String>) -> ShapeError {
        self.help = Some(help.into());
        self
    }
}

impl std::fmt::Display for ShapeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ShapeError {}

/// Formats a shape as `[1, 3, 224, 224]`: the one shape formatter, shared
/// with the `.npy` messages and the runtime.
pub use nnc_npy::fmt_shape;

/// The number of elements of a tensor of this shape, or None on overflow.
pub fn numel(s: &[usize]) -> Option<usize> {
    s.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
}

fn overflow(what: &str) -> ShapeError {
    ShapeError::new(format!("arithmetic overflow while computing {what}"))
}

fn arity(op: &Op, inputs: &[&[usize]], n: usize) -> Result<(), ShapeError> {
    if inputs.len() != n {
        return Err(ShapeError::new(format!(
            "`{}` takes {n} input{}, got {}",
            op.name(),
            if n == 1 { "" } else { "s" },
            inputs.len()
        )));
    }
    Ok(())
}

fn rank4<'a>(op: &Op, s: &'a [usize]) -> Result<&'a [usize], ShapeError> {
    if s.len() != 4 {
        return Err(ShapeError::new(format!(
            "`{}` expects a 4-D input [N, C, H, W], got rank {} shape {}",
            op.name(),
            s.len(),
            fmt_shape(s)
        )));
    }
    Ok(s)
}

fn positive_pair(op: &Op, what: &str, p: Pair) -> Result<(), ShapeError> {
    if p[0] == 0 || p[1] == 0 {
        return Err(ShapeError::new(format!(
            "`{}`: {what} must be positive, got [{}, {}]",
            op.name(),
            p[0],
            p[1]
        )));
    }
    Ok(())
}

/// Why an output size along one axis does not exist; its `Display` is the
/// value the messages quote ("`conv2d` output height would be {this}").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutSizeError {
    /// The stride is 0.
    StrideZero,
    /// An intermediate value does not fit.
    OutOfRange,
    /// The size would be this value: not positive, or beyond `usize`.
    Value(i128),
}

impl fmt::Display for OutSizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutSizeError::StrideZero => f.write_str("undefined (stride 0)"),
            OutSizeError::OutOfRange => f.write_str("out of range"),
            OutSizeError::Value(v) => write!(f, "{v}"),
        }
    }
}

impl std::error::Error for OutSizeError {}

/// PyTorch's convolution output size along one axis:
/// `floor((size + 2*pad - dilation*(kernel-1) - 1) / stride) + 1`.
/// Returns the size, or why there is none (the non-positive or overflowing
/// value, for the message). Inputs must have `stride >= 1`.
pub fn conv_out_size(
    size: usize,
    kernel: usize,
    stride: usize,
    pad: usize,
    dilation: usize,
) -> Result<usize, OutSizeError> {
    // All intermediate values in i128: usize fits, products of two usizes fit.
    let (size, kernel, stride, pad, dilation) = (
        size as i128,
        kernel as i128,
        stride as i128,
        pad as i128,
        dilation as i128,
    );
    if stride <= 0 {
        return Err(OutSizeError::StrideZero);
    }
    // dilation * (kernel - 1) can exceed i128 for two huge usizes: checked.
    let span = dilation
        .checked_mul(kernel - 1)
        .ok_or(OutSizeError::OutOfRange)?;
    let num = size + 2 * pad - span - 1;
    let out = num.div_euclid(stride) + 1;
    if out <= 0 {
        return Err(OutSizeError::Value(out));
    }
    usize::try_from(out).map_err(|_| OutSizeError::Value(out))
}

/// PyTorch's pooling output size along one axis (`pooling_output_shape`):
/// with `ceil`, rounding up, then dropping the last window if it would start
/// at or beyond `size + pad` (inside the right padding only).
pub fn pool_out_size(
    size: usize,
    kernel: usize,
    stride: usize,
    pad: usize,
    ceil: bool,
) -> Result<usize, OutSizeError> {
    let (size, kernel, stride, pad) = (size as i128, kernel as i128, stride as i128, pad as i128);
    if stride <= 0 {
        return Err(OutSizeError::StrideZero);
    }
    let num = size + 2 * pad - (kernel - 1) - 1 + if ceil { stride - 1 } else { 0 };
    let mut out = num.div_euclid(stride) + 1;
    if ceil && (out - 1) * stride >= size + pad {
        out -= 1;
    }
    if out <= 0 {
        return Err(OutSizeError::Value(out));
    }
    usize::try_from(out).map_err(|_| OutSizeError::Value(out))
}

fn pool_shape(op: &Op, p: &Pool, x: &[usize]) -> Result<Vec<usize>, ShapeError> {
    let x = rank4(op, x)?;
    positive_pair(op, "kernel", p.kernel)?;
    positive_pair(op, "stride", p.stride)?;
    for a in 0..2 {
        if p.pad[a] > p.kernel[a] / 2 {
            return Err(ShapeError::new(format!(
                "`{}`: pad {} must be at most half the kernel {} (PyTorch's rule)",
                op.name(),
                fmt_pair(p.pad),
                fmt_pair(p.kernel)
            ))
            .help(format!(
                "use pad <= {} or a larger kernel",
                fmt_pair([p.kernel[0] / 2, p.kernel[1] / 2])
            )));
        }
    }
    let mut out = vec![x[0], x[1], 0, 0];
    for a in 0..2 {
        let size = x[2 + a];
        out[2 + a] = pool_out_size(size, p.kernel[a], p.stride[a], p.pad[a], p.ceil).map_err(
            |v| {
                ShapeError::new(format!(
                    "`{}` output {} would be {v}: input {} {size} with kernel {}, stride {}, pad {}",
                    op.name(),
                    axis_name(a),
                    axis_name(a),
                    p.kernel[a],
                    p.stride[a],
                    p.pad[a]
                ))
                .help("use a smaller kernel or stride, more padding, or a larger input")
            },
        )?;
    }
    Ok(out)
}

fn fmt_pair(p: Pair) -> String {
    if p[0] == p[1] {
        p[0].to_string()
    } else {
        format!("[{}, {}]", p[0], p[1])
    }
}

fn axis_name(a: usize) -> &'static str {
    if a == 0 {
        "height"
    } else {
        "width"
    }
}

/// NumPy broadcasting of two shapes, or None if they are incompatible.
pub fn broadcast(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n {
            a[i + a.len() - n]
        } else {
            1
        };
        let db = if i + b.len() >= n {
            b[i + b.len() - n]
        } else {
            1
        };
        out[i] = if da == db {
            da
        } else if da == 1 {
            db
        } else if db == 1 {
            da
        } else {
            return None;
        };
    }
    Some(out)
}

/// The parts of `split(x, parts = n)` along an axis of size `dim`:
/// `(start, len)` of each part. The parts must divide the size.
pub fn split_parts(dim: usize, parts: usize) -> Result<Vec<(usize, usize)>, ShapeError> {
    if parts == 0 {
        return Err(ShapeError::new("split: parts must be positive"));
    }
    if !dim.is_multiple_of(parts) {
        return Err(ShapeError::new(format!(
            "split: {parts} equal parts do not divide size {dim}"
        ))
        .help("use `sizes = [..]` for unequal parts, or a number of parts that divides the size"));
    }
    let len = dim / parts;
    Ok((0..parts).map(|i| (i * len, len)).collect())
}

/// The parts of `split(x, sizes = [..])` along an axis of size `dim`:
/// `(start, len)` of each part. Sizes must be positive and sum to `dim`.
pub fn split_sizes(dim: usize, sizes: &[usize]) -> Result<Vec<(usize, usize)>, ShapeError> {
    if sizes.is_empty() {
        return Err(ShapeError::new("split: sizes must not be empty"));
    }
    let mut start = 0usize;
    let mut out = Vec::with_capacity(sizes.len());
    for &s in sizes {
        if s == 0 {
            return Err(ShapeError::new("split: every size must be positive"));
        }
        out.push((start, s));
        start = start
            .checked_add(s)
            .ok_or_else(|| overflow("split sizes"))?;
    }
    if start != dim {
        return Err(ShapeError::new(format!(
            "split: sizes {} sum to {start}, but the axis has size {dim}",
            fmt_shape(sizes)
        )));
    }
    Ok(out)
}

/// The output shape of `op` applied to inputs of these shapes.
///
/// `Op::Input` has no inputs and a declared shape: it is an error here (the
/// verifier checks inputs separately).
pub fn infer(op: &Op, inputs: &[&[usize]]) -> Result<Vec<usize>, ShapeError> {
    match op {
        Op::Input { name } => Err(ShapeError::new(format!(
            "input `{name}` has a declared shape, not an inferred one"
        ))),
        Op::Conv2d(c) => {
            arity(op, inputs, 1)?;
            let x = rank4(op, inputs[0])?;
            positive_pair(op, "kernel", c.kernel)?;
            positive_pair(op, "stride", c.stride)?;
            positive_pair(op, "dilation", c.dilation)?;
            if c.out_channels == 0 {
                return Err(ShapeError::new("`conv2d`: out must be positive"));
            }
            if c.groups == 0 {
                return Err(ShapeError::new("`conv2d`: groups must be positive"));
            }
            let cin = x[1];
            if cin % c.groups != 0 {
                return Err(ShapeError::new(format!(
                    "`conv2d`: groups = {} does not divide the {cin} input channels",
                    c.groups
                ))
                .help("groups must divide both the input and the output channels"));
            }
            if c.out_channels % c.groups != 0 {
                return Err(ShapeError::new(format!(
                    "`conv2d`: groups = {} does not divide out = {}",
                    c.groups, c.out_channels
                ))
                .help("groups must divide both the input and the output channels"));
            }
            let mut out = vec![x[0], c.out_channels, 0, 0];
            for a in 0..2 {
                let size = x[2 + a];
                out[2 + a] = conv_out_size(size, c.kernel[a], c.stride[a], c.pad[a], c.dilation[a])
                    .map_err(|v| {
                        ShapeError::new(format!(
                            "`conv2d` output {} would be {v}: input {} {size} with kernel {}, \
                                 stride {}, pad {}, dilation {}",
                            axis_name(a),
                            axis_name(a),
                            c.kernel[a],
                            c.stride[a],
                            c.pad[a],
                            c.dilation[a]
                        ))
                        .help("use a smaller kernel or dilation, more padding, or a larger input")
                    })?;
            }
            Ok(out)
        }
        Op::BatchNorm { .. } => {
            arity(op, inputs, 1)?;
            if inputs[0].len() < 2 {
                return Err(ShapeError::new(format!(
                    "`batchnorm` needs an input of rank >= 2 ([N, C, ...]), got {}",
                    fmt_shape(inputs[0])
                )));
            }
            Ok(inputs[0].to_vec())
        }
        Op::Linear { out_features, .. } => {
            arity(op, inputs, 1)?;
            let x = inputs[0];
            if x.len() < 2 {
                return Err(ShapeError::new(format!(
                    "`linear` expects an input [N, ..., F] of rank >= 2, got {}",
                    fmt_shape(x)
                ))
                .help("`linear` works on the last axis; add a batch axis with `reshape`"));
            }
            if *out_features == 0 {
                return Err(ShapeError::new("`linear`: out must be positive"));
            }
            let mut out = x.to_vec();
            *out.last_mut().unwrap_or(&mut 0) = *out_features;
            Ok(out)
        }
        Op::Act(_) => {
            arity(op, inputs, 1)?;
            Ok(inputs[0].to_vec())
        }
        Op::MaxPool(p) => {
            arity(op, inputs, 1)?;
            pool_shape(op, p, inputs[0])
        }
        Op::AvgPool { pool, .. } => {
            arity(op, inputs, 1)?;
            pool_shape(op, pool, inputs[0])
        }
        Op::GlobalAvgPool => {
            arity(op, inputs, 1)?;
            let x = rank4(op, inputs[0])?;
            Ok(vec![x[0], x[1], 1, 1])
        }
        Op::Flatten => {
            arity(op, inputs, 1)?;
            let x = inputs[0];
            if x.len() < 2 {
                return Err(ShapeError::new(format!(
                    "`flatten` needs an input of rank >= 2, got {}",
                    fmt_shape(x)
                )));
            }
            let f = numel(&x[1..]).ok_or_else(|| overflow("the flattened size"))?;
            Ok(vec![x[0], f])
        }
        Op::Concat { axis } => {
            if inputs.is_empty() {
                return Err(ShapeError::new("`concat` needs at least one input"));
            }
            let first = inputs[0];
            if *axis >= first.len() {
                return Err(ShapeError::new(format!(
                    "`concat`: axis {axis} is out of range for rank {}",
                    first.len()
                )));
            }
            let mut out = first.to_vec();
            for (i, s) in inputs.iter().enumerate().skip(1) {
                let same = s.len() == first.len()
                    && s.iter()
                        .zip(first.iter())
                        .enumerate()
                        .all(|(d, (a, b))| d == *axis || a == b);
                if !same {
                    return Err(ShapeError::new(format!(
                        "`concat` along axis {axis}: input {i} has shape {}, input 0 has {}",
                        fmt_shape(s),
                        fmt_shape(first)
                    ))
                    .help("all inputs must have equal sizes except along the concat axis"));
                }
                out[*axis] = out[*axis]
                    .checked_add(s[*axis])
                    .ok_or_else(|| overflow("the concat size"))?;
            }
            Ok(out)
        }
        Op::Split {
            axis,
            start,
            len,
            part,
            parts,
        } => {
            arity(op, inputs, 1)?;
            let x = inputs[0];
            if *axis >= x.len() {
                return Err(ShapeError::new(format!(
                    "`split`: axis {axis} is out of range for rank {}",
                    x.len()
                )));
            }
            if *len == 0 {
                return Err(ShapeError::new("`split`: a part must not be empty"));
            }
            if part >= parts {
                return Err(ShapeError::new(format!(
                    "`split`: part {part} of {parts} does not exist"
                )));
            }
            let end = start
                .checked_add(*len)
                .ok_or_else(|| overflow("the split range"))?;
            if end > x[*axis] {
                return Err(ShapeError::new(format!(
                    "`split`: part {start}..{end} is outside axis {axis} of size {}",
                    x[*axis]
                )));
            }
            let mut out = x.to_vec();
            out[*axis] = *len;
            Ok(out)
        }
        Op::ChannelShuffle { groups } => {
            arity(op, inputs, 1)?;
            // 4-D like the other spatial ops (the interpreter's kernel is 4-D)
            let x = rank4(op, inputs[0])?;
            if *groups == 0 || !x[1].is_multiple_of(*groups) {
                return Err(ShapeError::new(format!(
                    "`channel_shuffle`: groups = {groups} does not divide the {} channels",
                    x[1]
                )));
            }
            Ok(x.to_vec())
        }
        Op::Softmax { axis } => {
            arity(op, inputs, 1)?;
            if *axis >= inputs[0].len() {
                return Err(ShapeError::new(format!(
                    "`softmax`: axis {axis} is out of range for rank {}",
                    inputs[0].len()
                )));
            }
            Ok(inputs[0].to_vec())
        }
        Op::Binary(kind) => {
            arity(op, inputs, 2)?;
            broadcast(inputs[0], inputs[1]).ok_or_else(|| {
                ShapeError::new(format!(
                    "cannot {} tensors of shapes {} and {}",
                    match kind {
                        BinaryKind::Add => "add",
                        BinaryKind::Mul => "multiply",
                    },
                    fmt_shape(inputs[0]),
                    fmt_shape(inputs[1])
                ))
                .help("the shapes must be equal or broadcastable (NumPy rules: each dimension equal, or 1)")
            })
        }
        Op::Upsample { scale } => {
            arity(op, inputs, 1)?;
            let x = rank4(op, inputs[0])?;
            if *scale == 0 {
                return Err(ShapeError::new("`upsample`: scale must be at least 1"));
            }
            let h = x[2]
                .checked_mul(*scale)
                .ok_or_else(|| overflow("the upsampled height"))?;
            let w = x[3]
                .checked_mul(*scale)
                .ok_or_else(|| overflow("the upsampled width"))?;
            Ok(vec![x[0], x[1], h, w])
        }
        Op::LayerNorm { axes, eps } => {
            arity(op, inputs, 1)?;
            let x = inputs[0];
            if !(eps.is_finite() && *eps > 0.0) {
                return Err(ShapeError::new(format!(
                    "`layernorm`: eps must be a positive number, got {eps}"
                )));
            }
            match axes {
                NormAxes::Last(n) => {
                    if *n == 0 || *n > x.len() {
                        return Err(ShapeError::new(format!(
                            "`layernorm` over the last {n} axes of a tensor of shape {}",
                            fmt_shape(x)
                        ))
                        .help("normalize over 1 to rank axes"));
                    }
                }
                NormAxes::Channels => {
                    if x.len() < 2 {
                        return Err(ShapeError::new(format!(
                            "channels-first `layernorm` needs an input [N, C, ...], got {}",
                            fmt_shape(x)
                        )));
                    }
                }
            }
            Ok(x.to_vec())
        }
        Op::Reshape { shape } => {
            arity(op, inputs, 1)?;
            let x = inputs[0];
            if shape.is_empty() || shape.contains(&0) {
                return Err(ShapeError::new(format!(
                    "`reshape` to {}: every size must be positive",
                    fmt_shape(shape)
                )));
            }
            let a = numel(x).ok_or_else(|| overflow("the element count"))?;
            let b = numel(shape).ok_or_else(|| overflow("the element count"))?;
            if a != b {
                return Err(ShapeError::new(format!(
                    "`reshape` of {} ({a} elements) to {} ({b} elements)",
                    fmt_shape(x),
                    fmt_shape(shape)
                ))
                .help("the element count must stay the same; one size may be -1 (inferred)"));
            }
            Ok(shape.clone())
        }
        Op::Permute { perm } => {
            arity(op, inputs, 1)?;
            let x = inputs[0];
            check_perm(perm, x.len())?;
            Ok(perm.iter().map(|&p| x[p]).collect())
        }
        Op::Slice {
            axis,
            start,
            stop,
            step,
        } => {
            arity(op, inputs, 1)?;
            let x = inputs[0];
            let size = axis_size(op, x, *axis)?;
            if *step == 0 {
                return Err(ShapeError::new("`slice`: step must be positive"));
            }
            if start >= stop || *stop > size {
                return Err(ShapeError::new(format!(
                    "`slice` {start}:{stop} of axis {axis} with size {size} is empty or out of range"
                ))
                .help("a slice needs 0 <= start < stop <= size"));
            }
            let mut out = x.to_vec();
            out[*axis] = (stop - start).div_ceil(*step);
            Ok(out)
        }
        Op::Select { axis, index } => {
            arity(op, inputs, 1)?;
            let x = inputs[0];
            let size = axis_size(op, x, *axis)?;
            if x.len() < 2 {
                return Err(ShapeError::new(format!(
                    "`select` would leave a tensor of rank 0 from {}",
                    fmt_shape(x)
                )));
            }
            if *index >= size {
                return Err(ShapeError::new(format!(
                    "`select`: index {index} is out of range for axis {axis} of size {size}"
                )));
            }
            let mut out = x.to_vec();
            out.remove(*axis);
            Ok(out)
        }
        Op::MatMul => {
            arity(op, inputs, 2)?;
            matmul_shape(inputs[0], inputs[1])
        }
        Op::Param { shape } => {
            arity(op, inputs, 0)?;
            if shape.is_empty() || shape.contains(&0) {
                return Err(ShapeError::new(format!(
                    "`param` of shape {}: every size must be positive",
                    fmt_shape(shape)
                )));
            }
            numel(shape).ok_or_else(|| overflow("the parameter size"))?;
            Ok(shape.clone())
        }
        Op::Affine { mul, add } => {
            arity(op, inputs, 1)?;
            if !(mul.is_finite() && add.is_finite()) {
                return Err(ShapeError::new(format!(
                    "scalar arithmetic with a non-finite constant (x * {mul} + {add})"
                )));
            }
            Ok(inputs[0].to_vec())
        }
        Op::Take {
            axis,
            indices,
            index_shape,
        } => {
            arity(op, inputs, 1)?;
            let x = inputs[0];
            let size = axis_size(op, x, *axis)?;
            if numel(index_shape) != Some(indices.len()) || indices.is_empty() {
                return Err(ShapeError::new(format!(
                    "`take`: {} indices do not fill the index shape {}",
                    indices.len(),
                    fmt_shape(index_shape)
                )));
            }
            if let Some(i) = indices.iter().find(|&&i| i >= size) {
                return Err(ShapeError::new(format!(
                    "`take`: index {i} is out of range for axis {axis} of size {size}"
                )));
            }
            let mut out = x[..*axis].to_vec();
            out.extend_from_slice(index_shape);
            out.extend_from_slice(&x[*axis + 1..]);
            numel(&out).ok_or_else(|| overflow("the take size"))?;
            Ok(out)
        }
        Op::Constant { shape, values } => {
            arity(op, inputs, 0)?;
            if shape.is_empty() || numel(shape) != Some(values.len()) || values.is_empty() {
                return Err(ShapeError::new(format!(
                    "`constant` of shape {} with {} values",
                    fmt_shape(shape),
                    values.len()
                )));
            }
            Ok(shape.clone())
        }
        Op::Roll { axis, shift } => {
            arity(op, inputs, 1)?;
            let size = axis_size(op, inputs[0], *axis)?;
            if *shift >= size {
                return Err(ShapeError::new(format!(
                    "`roll`: shift {shift} is not normalized to axis {axis} of size {size}"
                )));
            }
            Ok(inputs[0].to_vec())
        }
        Op::Expand { shape } => {
            arity(op, inputs, 1)?;
            let x = inputs[0];
            expand_check(x, shape)?;
            numel(shape).ok_or_else(|| overflow("the expand size"))?;
            Ok(shape.clone())
        }
        Op::Attention { heads, .. } => {
            arity(op, inputs, 1)?;
            let x = inputs[0];
            if x.len() != 3 {
                return Err(ShapeError::new(format!(
                    "`attention` expects an input [N, L, E], got {}",
                    fmt_shape(x)
                )));
            }
            let e = x[2];
            if *heads == 0 || !e.is_multiple_of(*heads) {
                return Err(ShapeError::new(format!(
                    "`attention`: heads = {heads} does not divide the embedding size {e}"
                ))
                .help("the head dimension is E / heads"));
            }
            e.checked_mul(3)
                .and_then(|e3| e3.checked_mul(e))
                .ok_or_else(|| overflow("the projection size"))?;
            Ok(x.to_vec())
        }
        Op::Fused { base, residual, .. } => {
            let n = if *residual { 2 } else { 1 };
            if inputs.len() != n {
                return Err(ShapeError::new(format!(
                    "fused `{}` takes {n} input(s), got {}",
                    base.name(),
                    inputs.len()
                )));
            }
            if matches!(**base, Op::Fused { .. } | Op::Input { .. }) {
                return Err(ShapeError::new("a fused op's base must be a plain op"));
            }
            let out = infer(base, &inputs[..1])?;
            if *residual && inputs[1] != out.as_slice() {
                return Err(ShapeError::new(format!(
                    "fused `{}`: residual input {} does not match the output {}",
                    base.name(),
                    fmt_shape(inputs[1]),
                    fmt_shape(&out)
                )));
            }
            Ok(out)
        }
    }
}

fn axis_size(op: &Op, x: &[usize], axis: usize) -> Result<usize, ShapeError> {
    x.get(axis).copied().ok_or_else(|| {
        ShapeError::new(format!(
            "`{}`: axis {axis} is out of range for rank {}",
            op.name(),
            x.len()
        ))
    })
}

/// Checks that `perm` is a permutation of `0..rank`.
pub fn check_perm(perm: &[usize], rank: usize) -> Result<(), ShapeError> {
    let mut seen = vec![false; rank];
    let ok = perm.len() == rank
        && perm
            .iter()
            .all(|&p| p < rank && !std::mem::replace(&mut seen[p], true));
    if !ok {
        return Err(ShapeError::new(format!(
            "`permute`: {} is not a permutation of the {rank} axes",
            fmt_shape(perm)
        ))
        .help(format!("list each axis 0..{rank} exactly once")));
    }
    Ok(())
}

/// `torch.matmul` for two tensors of rank >= 2: `[..., M, K] @ [..., K, N]`,
/// batch axes broadcast.
pub fn matmul_shape(a: &[usize], b: &[usize]) -> Result<Vec<usize>, ShapeError> {
    if a.len() < 2 || b.len() < 2 {
        return Err(ShapeError::new(format!(
            "`matmul` needs two tensors of rank >= 2, got {} and {}",
            fmt_shape(a),
            fmt_shape(b)
        ))
        .help("add an axis of size 1 with `reshape`"));
    }
    let (m, k) = (a[a.len() - 2], a[a.len() - 1]);
    let (k2, n) = (b[b.len() - 2], b[b.len() - 1]);
    if k != k2 {
        return Err(ShapeError::new(format!(
            "`matmul` of {} and {}: inner sizes {k} and {k2} differ",
            fmt_shape(a),
            fmt_shape(b)
        ))
        .help("the last axis of the first must equal the second-to-last of the second"));
    }
    let mut out = broadcast(&a[..a.len() - 2], &b[..b.len() - 2]).ok_or_else(|| {
        ShapeError::new(format!(
            "`matmul` of {} and {}: batch axes {} and {} do not broadcast",
            fmt_shape(a),
            fmt_shape(b),
            fmt_shape(&a[..a.len() - 2]),
            fmt_shape(&b[..b.len() - 2])
        ))
    })?;
    out.push(m);
    out.push(n);
    numel(&out).ok_or_else(|| overflow("the matmul size"))?;
    Ok(out)
}

/// Checks that `x` broadcasts to `out` (NumPy rules, axes aligned from the
/// end): `out` has at least `x`'s rank, positive sizes, and every axis of
/// `x` equals the matching axis of `out` or is 1.
pub fn expand_check(x: &[usize], out: &[usize]) -> Result<(), ShapeError> {
    if out.len() < x.len() || out.contains(&0) {
        return Err(ShapeError::new(format!(
            "`expand` of {} to {}: the target needs at least the input's rank and positive sizes",
            fmt_shape(x),
            fmt_shape(out)
        )));
    }
    let lead = out.len() - x.len();
    for (i, (&a, &b)) in x.iter().zip(&out[lead..]).enumerate() {
        if a != b && a != 1 {
            return Err(ShapeError::new(format!(
                "`expand` of {} to {}: axis {i} has size {a}, which is neither {b} nor 1",
                fmt_shape(x),
                fmt_shape(out)
            ))
            .help("only axes of size 1 can be expanded"));
        }
    }
    Ok(())
}

/// The number of inputs an op takes: `(min, max)` (max None: unbounded).
pub fn arity_range(op: &Op) -> (usize, Option<usize>) {
    match op {
        Op::Input { .. } | Op::Param { .. } | Op::Constant { .. } => (0, Some(0)),
        Op::Concat { .. } => (1, None),
        Op::Binary(_) | Op::MatMul => (2, Some(2)),
        Op::Fused { residual, .. } => {
            let n = if *residual { 2 } else { 1 };
            (n, Some(n))
        }
        _ => (1, Some(1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::{Activation, Conv2d};
    use proptest::prelude::*;

    fn conv(out: usize, k: usize, s: usize, p: usize, d: usize, g: usize) -> Op {
        Op::Conv2d(Conv2d {
            out_channels: out,
            kernel: [k, k],
            stride: [s, s],
            pad: [p, p],
            dilation: [d, d],
            groups: g,
            bias: false,
        })
    }

    fn pool(k: usize, s: usize, p: usize, ceil: bool) -> Pool {
        Pool {
            kernel: [k, k],
            stride: [s, s],
            pad: [p, p],
            ceil,
        }
    }

    #[test]
    fn conv_shapes() {
        let x: &[usize] = &[1, 3, 224, 224];
        assert_eq!(
            infer(&conv(64, 7, 2, 3, 1, 1), &[x]).unwrap(),
            vec![1, 64, 112, 112]
        );
        assert_eq!(
            infer(&conv(8, 3, 1, 2, 2, 1), &[&[2, 4, 10, 10]]).unwrap(),
            vec![2, 8, 10, 10]
        );
        // depthwise
        assert_eq!(
            infer(&conv(32, 3, 2, 1, 1, 32), &[&[1, 32, 15, 15]]).unwrap(),
            vec![1, 32, 8, 8]
        );
        let e = infer(&conv(8, 3, 1, 1, 1, 3), &[&[1, 4, 8, 8]]).unwrap_err();
        assert!(e.message.contains("does not divide the 4 input"), "{e}");
        let e = infer(&conv(10, 1, 1, 0, 1, 4), &[&[1, 8, 8, 8]]).unwrap_err();
        assert!(e.message.contains("does not divide out = 10"), "{e}");
        let e = infer(&conv(8, 7, 1, 0, 1, 1), &[&[1, 4, 5, 5]]).unwrap_err();
        assert!(e.message.contains("would be -1"), "{e}");
        let e = infer(&conv(8, 3, 1, 0, 1, 1), &[&[1, 4, 5]]).unwrap_err();
        assert!(e.message.contains("4-D"), "{e}");
        assert!(infer(&conv(8, 3, 1, 0, 1, 1), &[]).is_err());
        assert!(infer(&conv(8, 3, 0, 0, 1, 1), &[&[1, 4, 5, 5]]).is_err());
        // huge sizes: no panic
        assert!(infer(
            &conv(8, usize::MAX, 1, usize::MAX, usize::MAX, 1),
            &[&[1, 4, usize::MAX, 5]]
        )
        .is_err());
    }

    #[test]
    fn pool_shapes() {
        let x: &[usize] = &[1, 64, 112, 112];
        assert_eq!(
            infer(&Op::MaxPool(pool(3, 2, 1, false)), &[x]).unwrap(),
            vec![1, 64, 56, 56]
        );
        // ceil mode: 5 -> k2 s2: floor 2, ceil 3
        assert_eq!(
            infer(&Op::MaxPool(pool(2, 2, 0, true)), &[&[1, 1, 5, 5]]).unwrap(),
            vec![1, 1, 3, 3]
        );
        // ceil mode where the last window would start in the right padding:
        // H=6, k=2, s=2, p=1: ceil((6+2-2)/2)+1 = 4, (4-1)*2 = 6 >= 6+1? no -> 4
        assert_eq!(
            infer(&Op::MaxPool(pool(2, 2, 1, true)), &[&[1, 1, 6, 6]]).unwrap(),
            vec![1, 1, 4, 4]
        );
        // H=5, k=3, s=3, p=1, ceil: num = 5+2-3+2 = 6 -> 6/3+1 = 3; (3-1)*3=6 >= 6 -> 2
        assert_eq!(pool_out_size(5, 3, 3, 1, true), Ok(2));
        let e = infer(&Op::MaxPool(pool(3, 1, 2, false)), &[x]).unwrap_err();
        assert!(e.message.contains("at most half"), "{e}");
        let e = infer(&Op::MaxPool(pool(5, 1, 0, false)), &[&[1, 1, 3, 3]]).unwrap_err();
        assert!(e.message.contains("would be -1"), "{e}");
        assert_eq!(
            infer(
                &Op::AvgPool {
                    pool: pool(2, 2, 0, false),
                    count_pad: true
                },
                &[&[1, 2, 7, 7]]
            )
            .unwrap(),
            vec![1, 2, 3, 3]
        );
        assert_eq!(
            infer(&Op::GlobalAvgPool, &[&[2, 5, 7, 9]]).unwrap(),
            vec![2, 5, 1, 1]
        );
    }

    #[test]
    fn other_shapes() {
        assert_eq!(infer(&Op::Flatten, &[&[2, 5, 7, 9]]).unwrap(), vec![2, 315]);
        assert_eq!(infer(&Op::Flatten, &[&[2, 5]]).unwrap(), vec![2, 5]);
        assert!(infer(&Op::Flatten, &[&[2]]).is_err());
        assert!(infer(&Op::Flatten, &[&[1, usize::MAX, 2]]).is_err());
        let lin = Op::Linear {
            out_features: 10,
            bias: true,
        };
        assert_eq!(infer(&lin, &[&[3, 512]]).unwrap(), vec![3, 10]);
        assert_eq!(infer(&lin, &[&[3, 7, 512]]).unwrap(), vec![3, 7, 10]);
        assert!(infer(&lin, &[&[512]]).is_err());
        let cat = Op::Concat { axis: 1 };
        assert_eq!(
            infer(&cat, &[&[1, 2, 4, 4], &[1, 3, 4, 4]]).unwrap(),
            vec![1, 5, 4, 4]
        );
        assert!(infer(&cat, &[&[1, 2, 4, 4], &[1, 3, 4, 5]]).is_err());
        assert!(infer(&cat, &[&[1, 2, 4, 4], &[1, 3, 4]]).is_err());
        assert!(infer(&Op::Concat { axis: 4 }, &[&[1, 2, 4, 4]]).is_err());
        let sp = Op::Split {
            axis: 1,
            start: 4,
            len: 4,
            part: 1,
            parts: 2,
        };
        assert_eq!(infer(&sp, &[&[1, 8, 2, 2]]).unwrap(), vec![1, 4, 2, 2]);
        assert!(infer(&sp, &[&[1, 7, 2, 2]]).is_err());
        assert_eq!(split_parts(8, 2).unwrap(), vec![(0, 4), (4, 4)]);
        assert!(split_parts(7, 2).is_err());
        assert_eq!(split_sizes(7, &[3, 4]).unwrap(), vec![(0, 3), (3, 4)]);
        assert!(split_sizes(7, &[3, 3]).is_err());
        assert!(split_sizes(7, &[7, 0]).is_err());
        assert!(split_sizes(7, &[usize::MAX, 2]).is_err());
        let sh = Op::ChannelShuffle { groups: 2 };
        assert_eq!(infer(&sh, &[&[1, 8, 2, 2]]).unwrap(), vec![1, 8, 2, 2]);
        assert!(infer(&sh, &[&[1, 7, 2, 2]]).is_err());
        assert!(infer(&Op::ChannelShuffle { groups: 0 }, &[&[1, 8, 2, 2]]).is_err());
        // 2-D input: rejected here, as the interpreter rejects it
        assert!(infer(&sh, &[&[4, 8]]).is_err());
        assert!(infer(&Op::Softmax { axis: 1 }, &[&[1, 8]]).is_ok());
        assert!(infer(&Op::Softmax { axis: 2 }, &[&[1, 8]]).is_err());
        let add = Op::Binary(BinaryKind::Add);
        assert_eq!(
            infer(&add, &[&[1, 8, 4, 4], &[1, 8, 1, 1]]).unwrap(),
            vec![1, 8, 4, 4]
        );
        assert_eq!(infer(&add, &[&[8, 1], &[3]]).unwrap(), vec![8, 3]);
        let e = infer(&add, &[&[1, 8, 4, 4], &[1, 4, 4, 4]]).unwrap_err();
        assert!(e.message.contains("[1, 8, 4, 4] and [1, 4, 4, 4]"), "{e}");
        assert!(infer(&add, &[&[1, 8, 4, 4]]).is_err());
        assert_eq!(
            infer(&Op::Upsample { scale: 2 }, &[&[1, 8, 4, 5]]).unwrap(),
            vec![1, 8, 8, 10]
        );
        assert!(infer(&Op::Upsample { scale: 0 }, &[&[1, 8, 4, 5]]).is_err());
        assert!(infer(&Op::Upsample { scale: usize::MAX }, &[&[1, 8, 4, 5]]).is_err());
        assert!(infer(&Op::BatchNorm { eps: 1e-5 }, &[&[8]]).is_err());
        assert_eq!(infer(&Op::Act(Activation::Relu), &[&[8]]).unwrap(), vec![8]);
        assert!(infer(&Op::Input { name: "x".into() }, &[]).is_err());
    }

    #[test]
    fn fused_shapes() {
        let f = Op::Fused {
            base: Box::new(conv(8, 3, 1, 1, 1, 1)),
            residual: true,
            act: Some(Activation::Relu),
        };
        assert_eq!(
            infer(&f, &[&[1, 4, 6, 6], &[1, 8, 6, 6]]).unwrap(),
            vec![1, 8, 6, 6]
        );
        assert!(infer(&f, &[&[1, 4, 6, 6], &[1, 8, 6, 5]]).is_err());
        assert!(infer(&f, &[&[1, 4, 6, 6]]).is_err());
    }

    fn conv_oracle(h: i128, k: i128, s: i128, p: i128, d: i128) -> i128 {
        // floor division, written out
        let num = h + 2 * p - d * (k - 1) - 1;
        let q = if num >= 0 {
            num / s
        } else {
            -((-num + s - 1) / s)
        };
        q + 1
    }

    fn pool_oracle(h: i128, k: i128, s: i128, p: i128, ceil: bool) -> i128 {
        let num = h + 2 * p - k;
        if !ceil {
            let q = if num >= 0 {
                num / s
            } else {
                -((-num + s - 1) / s)
            };
            return q + 1;
        }
        // ceiling division
        let q = if num >= 0 {
            (num + s - 1) / s
        } else {
            -((-num) / s)
        };
        let mut out = q + 1;
        if (out - 1) * s >= h + p {
            out -= 1;
        }
        out
    }

    proptest! {
        #[test]
        fn conv_size_matches_formula(h in 1usize..300, k in 1usize..12, s in 1usize..6,
                                     p in 0usize..8, d in 1usize..4) {
            let want = conv_oracle(h as i128, k as i128, s as i128, p as i128, d as i128);
            match conv_out_size(h, k, s, p, d) {
                Ok(v) => prop_assert_eq!(v as i128, want),
                Err(v) => {
                    prop_assert!(want <= 0);
                    prop_assert_eq!(v, OutSizeError::Value(want));
                }
            }
        }

        #[test]
        fn pool_size_matches_formula(h in 1usize..300, k in 1usize..12, s in 1usize..6,
                                     p in 0usize..6, ceil in any::<bool>()) {
            let want = pool_oracle(h as i128, k as i128, s as i128, p as i128, ceil);
            match pool_out_size(h, k, s, p, ceil) {
                Ok(v) => prop_assert_eq!(v as i128, want),
                Err(_) => prop_assert!(want <= 0),
            }
        }

        #[test]
        fn huge_values_never_panic(h in any::<usize>(), k in any::<usize>(), s in any::<usize>(),
                                   p in any::<usize>(), d in any::<usize>(), c in any::<usize>()) {
            let op = Op::Conv2d(Conv2d { out_channels: c, kernel: [k, 1], stride: [s, 1],
                pad: [p, 0], dilation: [d, 1], groups: 1, bias: true });
            let _ = infer(&op, &[&[1, c, h, h]]);
            let _ = infer(&Op::MaxPool(pool(k, s, p, true)), &[&[1, c, h, h]]);
            let _ = infer(&Op::Flatten, &[&[h, c, k, s]]);
            let _ = infer(&Op::Upsample { scale: s }, &[&[1, c, h, h]]);
        }
    }
}
