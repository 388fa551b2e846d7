//! The tensor-shaping and transformer built-ins (issue #10): layernorm,
//! reshape, permute/transpose, slice/select, matmul, param, roll,
//! attention, and scalar arithmetic on tensors (`x * 0.125`).

use super::args::ArgV;
use super::Elab;
use crate::builtins::Builtin;
use crate::codes;
use crate::value::Value;
use nnc_diag::{Diagnostic, Span};
use nnc_ir::shape::fmt_shape;
use nnc_ir::{NodeId, NormAxes, Op};
use nnc_syntax::ast::BinOp;

use super::builtin::{opt, Slots};

impl<'a> Elab<'a> {
    /// Applies one of the built-ins of this file (`None`: an error was reported).
    pub(super) fn tensor_builtin(
        &mut self,
        b: Builtin,
        op: &'static str,
        span: Span,
        a: &Slots<'a>,
        name: Option<&ArgV<'a>>,
    ) -> Option<Value> {
        let first = opt(a, 0)?;
        let tensor = |me: &mut Self, arg: &ArgV<'a>| {
            me.expect_tensor(&arg.value, arg.span, &format!("the input of `{op}`"))
        };
        let node = |me: &mut Self, o: Op, ins: &[NodeId]| {
            me.make_op(o, ins, span, name).map(Value::Tensor)
        };
        match b {
            Builtin::LayerNorm => {
                let x = tensor(self, first)?;
                let eps = self.eps_or(opt(a, 1))?;
                let cf = self.bool_or(opt(a, 3), "`channels_first`", false)?;
                let axes = match (opt(a, 2), cf) {
                    (Some(d), true) => {
                        self.invalid(
                            d.arg_span,
                            "give either `dims` or `channels_first = true` to `layernorm`, not both"
                                .into(),
                        );
                        return None;
                    }
                    (_, true) => NormAxes::Channels,
                    (Some(d), false) => {
                        let (v, _) = self.expect_int(&d.value, d.span, "`dims`")?;
                        NormAxes::Last(self.positive(v, d.span, "`dims`")?)
                    }
                    (None, false) => NormAxes::Last(1),
                };
                node(self, Op::LayerNorm { axes, eps }, &[x])
            }
            Builtin::Reshape => {
                let x = tensor(self, first)?;
                let s = opt(a, 1)?;
                let dims = self.int_list(s, "`shape`")?;
                let numel: usize = self.graph.node(x).shape.iter().product();
                let shape = self.resolve_reshape(&dims, numel, s.span)?;
                node(self, Op::Reshape { shape }, &[x])
            }
            Builtin::Permute => {
                let x = tensor(self, first)?;
                let s = opt(a, 1)?;
                let rank = self.graph.node(x).shape.len();
                let axes = self.int_list(s, "`axes`")?;
                let mut perm = Vec::with_capacity(axes.len());
                let mut seen = vec![false; rank];
                for &v in &axes {
                    match norm_index(v, rank) {
                        Some(p) if !seen[p] => {
                            seen[p] = true;
                            perm.push(p);
                        }
                        _ => {
                            perm.clear();
                            break;
                        }
                    }
                }
                if perm.len() != rank {
                    let shown = axes
                        .iter()
                        .map(|v| v.to_string())
                        .collect::<Vec<_>>()
                        .join(", ");
                    self.err(
                        codes::BAD_PERMUTATION,
                        s.span,
                        format!("[{shown}] is not a permutation of the {rank} axes of a tensor of shape {}", fmt_shape(&self.graph.node(x).shape)),
                        format!("list each axis 0..{rank} exactly once"),
                    );
                    return None;
                }
                node(self, Op::Permute { perm }, &[x])
            }
            Builtin::Transpose => {
                let x = tensor(self, first)?;
                let rank = self.graph.node(x).shape.len();
                let mut ab = [0usize; 2];
                for (k, slot) in [1, 2].into_iter().enumerate() {
                    let arg = opt(a, slot)?;
                    let (v, _) = self.expect_int(&arg.value, arg.span, "an axis")?;
                    match norm_index(v, rank) {
                        Some(p) => ab[k] = p,
                        None => {
                            self.err(
                                codes::BAD_PERMUTATION,
                                arg.span,
                                format!("axis {v} is out of range for a tensor of rank {rank}"),
                                format!("valid axes are {}..{rank}", -(rank as i64)),
                            );
                            return None;
                        }
                    }
                }
                let mut perm: Vec<usize> = (0..rank).collect();
                perm.swap(ab[0], ab[1]);
                node(self, Op::Permute { perm }, &[x])
            }
            Builtin::Slice => {
                let x = tensor(self, first)?;
                let xs = self.graph.node(x).shape.clone();
                let axis = self.axis_or(opt(a, 1), xs.len(), 1, span)?;
                let size = xs[axis] as i64;
                let bound = |me: &mut Self, i: usize, default: i64| -> Option<i64> {
                    match opt(a, i) {
                        Some(v) => me
                            .expect_int(&v.value, v.span, "a slice bound")
                            .map(|p| p.0),
                        None => Some(default),
                    }
                };
                let start = bound(self, 2, 0)?;
                let stop = bound(self, 3, size)?;
                let step = match opt(a, 4) {
                    Some(s) => {
                        let (v, _) = self.expect_int(&s.value, s.span, "`step`")?;
                        self.positive(v, s.span, "`step`")?
                    }
                    None => 1,
                };
                // Python's rules: negative bounds count from the end, then clamp.
                let clamp = |v: i64| -> usize {
                    let v = if v < 0 { v.saturating_add(size) } else { v };
                    v.clamp(0, size) as usize
                };
                let (s0, s1) = (clamp(start), clamp(stop));
                if s0 >= s1 {
                    self.err(
                        codes::BAD_SLICE,
                        span,
                        format!("the slice {start}:{stop} of axis {axis} (size {size}) is empty"),
                        "empty slice",
                    );
                    return None;
                }
                node(
                    self,
                    Op::Slice {
                        axis,
                        start: s0,
                        stop: s1,
                        step,
                    },
                    &[x],
                )
            }
            Builtin::Select => {
                let x = tensor(self, first)?;
                let xs = self.graph.node(x).shape.clone();
                let axis = self.axis_or(opt(a, 1), xs.len(), 1, span)?;
                let ia = opt(a, 2)?;
                let (v, _) = self.expect_int(&ia.value, ia.span, "`index`")?;
                let Some(index) = norm_index(v, xs[axis]) else {
                    self.err(
                        codes::BAD_SLICE,
                        ia.span,
                        format!(
                            "index {v} is out of range for axis {axis} of size {}",
                            xs[axis]
                        ),
                        format!("valid indices are {}..{}", -(xs[axis] as i64), xs[axis]),
                    );
                    return None;
                };
                node(self, Op::Select { axis, index }, &[x])
            }
            Builtin::MatMul => {
                let b_arg = opt(a, 1)?;
                let x = tensor(self, first);
                let y = tensor(self, b_arg);
                node(self, Op::MatMul, &[x?, y?])
            }
            Builtin::Param => {
                let dims = self.int_list(first, "`shape`")?;
                let mut shape = Vec::with_capacity(dims.len());
                for d in dims {
                    shape.push(self.positive(d, first.span, "every size of a `param`")?);
                }
                if shape.is_empty() {
                    self.invalid(first.span, "a `param` needs at least one dimension".into());
                    return None;
                }
                node(self, Op::Param { shape }, &[])
            }
            Builtin::Roll => {
                let x = tensor(self, first)?;
                let xs = self.graph.node(x).shape.clone();
                let sa = opt(a, 1)?;
                let (shift, _) = self.expect_int(&sa.value, sa.span, "`shift`")?;
                let axis = self.axis_or(opt(a, 2), xs.len(), 0, span)?;
                let size = xs[axis] as i64;
                let shift = shift.rem_euclid(size.max(1)) as usize;
                node(self, Op::Roll { axis, shift }, &[x])
            }
            Builtin::Expand => {
                let x = tensor(self, first)?;
                let s = opt(a, 1)?;
                let dims = self.int_list(s, "`shape`")?;
                let xs = self.graph.node(x).shape.clone();
                let shape = self.resolve_expand(&xs, &dims, s.span)?;
                if shape == xs {
                    // nothing to repeat (ViT's class token at batch 1): no
                    // node, like `Tensor.expand` returning the same view
                    self.explicit_name(name).ok()?;
                    return Some(Value::Tensor(x));
                }
                node(self, Op::Expand { shape }, &[x])
            }
            Builtin::Attention => {
                let x = tensor(self, first)?;
                let ha = opt(a, 1)?;
                let (hv, _) = self.expect_int(&ha.value, ha.span, "`heads`")?;
                let heads = self.positive(hv, ha.span, "`heads`")?;
                let bias = self.bool_or(opt(a, 2), "`bias`", true)?;
                node(self, Op::Attention { heads, bias }, &[x])
            }
            _ => None,
        }
    }

    /// A list of ints (`E0132` otherwise).
    fn int_list(&mut self, a: &ArgV<'a>, what: &str) -> Option<Vec<i64>> {
        let items = match &a.value {
            Value::List(v) | Value::Tuple(v) => v.clone(),
            Value::Error => return None,
            other => {
                let msg = format!("{what} must be a list of ints, found {}", other.describe());
                self.err(codes::TYPE_MISMATCH, a.span, msg, "expected a list of ints");
                return None;
            }
        };
        let mut out = Vec::with_capacity(items.len());
        for v in items.iter() {
            out.push(
                self.expect_int(v, a.span, &format!("an element of {what}"))?
                    .0,
            );
        }
        Some(out)
    }

    /// `expand` sizes (`Tensor.expand`): as many sizes as `x` has axes or
    /// more (new leading axes, never `-1`), each positive or `-1` (keep),
    /// and only axes of size 1 change. The element limit is `make_op`'s.
    fn resolve_expand(&mut self, xs: &[usize], dims: &[i64], span: Span) -> Option<Vec<usize>> {
        let shown = fmt_shape(xs);
        let bad = |me: &mut Self, msg: String, label: String| {
            me.err(codes::BAD_EXPAND, span, msg, label);
            None
        };
        if dims.len() < xs.len() {
            return bad(
                self,
                format!(
                    "`expand` needs at least {} sizes for a tensor of shape {shown}, got {}",
                    xs.len(),
                    dims.len()
                ),
                "too few sizes".into(),
            );
        }
        let lead = dims.len() - xs.len();
        let mut shape = Vec::with_capacity(dims.len());
        for (i, &d) in dims.iter().enumerate() {
            let old = i.checked_sub(lead).map(|j| xs[j]);
            let size = match (d, old) {
                (-1, Some(o)) => o,
                (-1, None) => {
                    return bad(
                        self,
                        format!(
                            "`expand`: size {i} is a new axis in front of {shown}, it cannot be -1"
                        ),
                        "a new axis needs a size".into(),
                    )
                }
                (d, _) if d <= 0 => {
                    return bad(
                        self,
                        format!("`expand` sizes must be positive (or -1 to keep an axis), got {d}"),
                        "invalid size".into(),
                    )
                }
                (d, _) => match usize::try_from(d) {
                    Ok(d) => d,
                    Err(_) => {
                        return bad(self, "`expand` size too large".into(), "too large".into())
                    }
                },
            };
            if let Some(o) = old {
                if o != 1 && o != size {
                    return bad(
                        self,
                        format!(
                            "`expand` of {shown}: axis {} has size {o}, it cannot become {size}",
                            i - lead
                        ),
                        format!("only axes of size 1 can be expanded; write {o} or -1 here"),
                    );
                }
            }
            shape.push(size);
        }
        if nnc_ir::shape::numel(&shape).is_none() {
            // the element count overflows: the tensor limit, as for any
            // tensor (`push_node` reports the sizes that fit but are over it)
            let msg = format!(
                "a tensor of shape {} has too many elements, over the limit of {}",
                fmt_shape(&shape),
                self.limits.tensor_elements
            );
            self.err(codes::LIMIT_TENSOR, span, msg, "this tensor is too large");
            return None;
        }
        Some(shape)
    }

    /// `reshape` sizes with at most one `-1`, resolved against `numel`.
    fn resolve_reshape(&mut self, dims: &[i64], numel: usize, span: Span) -> Option<Vec<usize>> {
        let bad = |me: &mut Self, msg: String, label: &str| {
            me.err(codes::BAD_RESHAPE, span, msg, label);
            None
        };
        if dims.is_empty() {
            return bad(
                self,
                "`reshape` needs at least one size".into(),
                "empty shape",
            );
        }
        let holes = dims.iter().filter(|&&d| d == -1).count();
        if holes > 1 {
            return bad(
                self,
                "`reshape` accepts at most one -1".into(),
                "several -1",
            );
        }
        let mut known = 1usize;
        for &d in dims {
            if d == -1 {
                continue;
            }
            if d <= 0 {
                return bad(
                    self,
                    format!("`reshape` sizes must be positive (or one -1), got {d}"),
                    "invalid size",
                );
            }
            known = match known.checked_mul(d as usize) {
                Some(k) => k,
                None => return bad(self, "`reshape` sizes overflow".into(), "too large"),
            };
        }
        let fill = if holes == 1 {
            if known == 0 || !numel.is_multiple_of(known) || numel / known == 0 {
                return bad(
                    self,
                    format!("`reshape`: cannot infer -1: {numel} elements are not a multiple of {known}"),
                    "no size fits the -1",
                );
            }
            numel / known
        } else {
            1
        };
        let shape: Vec<usize> = dims
            .iter()
            .map(|&d| if d == -1 { fill } else { d as usize })
            .collect();
        if holes == 0 && known != numel {
            return bad(
                self,
                format!(
                    "`reshape` to {} ({known} elements) of a tensor of {numel} elements",
                    fmt_shape(&shape)
                ),
                "the element count must stay the same",
            );
        }
        Some(shape)
    }

    /// `tensor OP scalar`, `scalar OP tensor` and `-tensor` as an `affine`
    /// node (`x * 0.125`, `x + 1.0`, `1.0 - x`, `x / 8.0`).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn tensor_scalar(
        &mut self,
        op: BinOp,
        op_span: Span,
        span: Span,
        t: NodeId,
        s: f64,
        tensor_left: bool,
        scalar_span: Span,
    ) -> Value {
        let sym = op.as_str();
        let (mul, add) = match (op, tensor_left) {
            (BinOp::Add, _) => (1.0, s),
            (BinOp::Mul, _) => (s, 0.0),
            (BinOp::Sub, true) => (1.0, -s),
            (BinOp::Sub, false) => (-1.0, s),
            (BinOp::Div, true) => {
                if s == 0.0 {
                    return self.err(
                        codes::DIV_BY_ZERO,
                        scalar_span,
                        "division of a tensor by zero",
                        "this is zero",
                    );
                }
                (1.0 / s, 0.0)
            }
            (BinOp::Div | BinOp::Rem, _) => {
                self.report(
                    Diagnostic::error(
                        codes::TENSOR_SUB_DIV,
                        format!("`{sym}` is not defined with a tensor on this side"),
                    )
                    .with_primary(op_span, format!("`{sym}` with a tensor"))
                    .with_help("tensors support `+`, `-`, `*` with a number and `/` by a number"),
                );
                return Value::Error;
            }
            _ => {
                return self.err(
                    codes::BAD_OPERANDS,
                    op_span,
                    format!("a tensor cannot be compared with `{sym}`"),
                    "comparison with a tensor",
                )
            }
        };
        let (mul, add) = (mul as f32, add as f32);
        if !(mul.is_finite() && add.is_finite()) {
            return self.err(
                codes::INVALID_ARG,
                scalar_span,
                format!("the number {s} is not finite in float32"),
                "not a finite float32",
            );
        }
        match self.make_op(Op::Affine { mul, add }, &[t], span, None) {
            Some(id) => Value::Tensor(id),
            None => Value::Error,
        }
    }
}

/// `v` as an index into `0..n` (negative counts from the end).
fn norm_index(v: i64, n: usize) -> Option<usize> {
    let n = i64::try_from(n).ok()?;
    let i = if v < 0 { v.checked_add(n)? } else { v };
    (0..n).contains(&i).then_some(i as usize)
}
