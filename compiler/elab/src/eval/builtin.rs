//! Applying built-ins: binding and checking their arguments, and the
//! nodes or values they produce.

use super::args::ArgV;
use super::Elab;
use crate::builtins::{Builtin, Sig};
use crate::codes;
use crate::value::{OpProvenance, ProvArg, Seq, Value};
use nnc_diag::{Diagnostic, Span};
use nnc_ir::shape::{self, fmt_shape};
use nnc_ir::{Activation, BinaryKind, Conv2d, NodeId, Op, Pair, Pool};
use nnc_syntax::ast::{Expr, Ident};

pub(super) type Slots<'a> = Vec<Option<ArgV<'a>>>;

pub(super) fn opt<'s, 'a>(slots: &'s Slots<'a>, i: usize) -> Option<&'s ArgV<'a>> {
    slots.get(i).and_then(|s| s.as_ref())
}

impl<'a> Elab<'a> {
    pub(crate) fn call_builtin(
        &mut self,
        sig: &'static Sig,
        e: &'a Expr,
        callee: &'a Ident,
        args: Vec<ArgV<'a>>,
    ) -> Value {
        let required: Vec<bool> = (0..sig.params.len()).map(|i| i < sig.required).collect();
        let Some((slots, name)) =
            self.bind(callee, sig.params, &required, args, sig.makes_node, None)
        else {
            return Value::Error;
        };
        self.builtin(sig, e.span, &slots, name.as_ref())
            .unwrap_or(Value::Error)
    }

    fn builtin(
        &mut self,
        sig: &'static Sig,
        span: Span,
        a: &Slots<'a>,
        name: Option<&ArgV<'a>>,
    ) -> Option<Value> {
        let op = sig.name;
        // `x` (or `xs`) is the first parameter of every built-in.
        let first = opt(a, 0)?;
        let tensor_of = |me: &mut Self, arg: &ArgV<'a>| {
            me.expect_tensor(&arg.value, arg.span, &format!("the input of `{op}`"))
        };
        let node = |me: &mut Self, o: Op, ins: &[NodeId]| {
            me.make_op(o, ins, span, name).map(Value::Tensor)
        };
        match sig.builtin {
            Builtin::Conv2d => {
                let x = tensor_of(self, first)?;
                let out_a = opt(a, 1)?;
                let (outv, outp) = self.expect_int(&out_a.value, out_a.span, "`out`")?;
                let out = self.positive(outv, out_a.span, "`out`")?;
                let kernel = self.pair(opt(a, 2)?, "`kernel`", 1)?;
                let stride = self.pair_or(opt(a, 3), "`stride`", 1, [1, 1])?;
                let pad = self.pair_or(opt(a, 4), "`pad`", 0, [0, 0])?;
                let dilation = self.pair_or(opt(a, 5), "`dilation`", 1, [1, 1])?;
                let (groups, gprov) = match opt(a, 6) {
                    Some(g) => {
                        let (gv, gp) = self.expect_int(&g.value, g.span, "`groups`")?;
                        let n = self.positive(gv, g.span, "`groups`")?;
                        (
                            n,
                            Some(ProvArg {
                                value: gv,
                                prov: gp,
                                span: g.span,
                            }),
                        )
                    }
                    None => (1, None),
                };
                let bias = self.bool_or(opt(a, 7), "`bias`", true)?;
                let id = self.make_op(
                    Op::Conv2d(Conv2d {
                        out_channels: out,
                        kernel,
                        stride,
                        pad,
                        dilation,
                        groups,
                        bias,
                    }),
                    &[x],
                    span,
                    name,
                )?;
                self.prov.push(OpProvenance {
                    node: id,
                    out: ProvArg {
                        value: outv,
                        prov: outp,
                        span: out_a.span,
                    },
                    groups: gprov,
                });
                Some(Value::Tensor(id))
            }
            Builtin::Linear => {
                let x = tensor_of(self, first)?;
                let out_a = opt(a, 1)?;
                let (outv, outp) = self.expect_int(&out_a.value, out_a.span, "`out`")?;
                let out = self.positive(outv, out_a.span, "`out`")?;
                let bias = self.bool_or(opt(a, 2), "`bias`", true)?;
                let id = self.make_op(
                    Op::Linear {
                        out_features: out,
                        bias,
                    },
                    &[x],
                    span,
                    name,
                )?;
                self.prov.push(OpProvenance {
                    node: id,
                    out: ProvArg {
                        value: outv,
                        prov: outp,
                        span: out_a.span,
                    },
                    groups: None,
                });
                Some(Value::Tensor(id))
            }
            Builtin::BatchNorm => {
                let x = tensor_of(self, first)?;
                let eps = self.eps_or(opt(a, 1))?;
                node(self, Op::BatchNorm { eps }, &[x])
            }
            Builtin::Act(act) => {
                let x = tensor_of(self, first)?;
                node(self, Op::Act(act), &[x])
            }
            Builtin::LeakyRelu => {
                let x = tensor_of(self, first)?;
                let slope = match opt(a, 1) {
                    Some(s) => {
                        let v = self.expect_float(&s.value, s.span, "`slope`")?;
                        if !v.is_finite() {
                            self.invalid(s.span, format!("`slope` must be finite, got {v}"));
                            return None;
                        }
                        v as f32
                    }
                    None => 0.01,
                };
                node(self, Op::Act(Activation::LeakyRelu { slope }), &[x])
            }
            Builtin::MaxPool | Builtin::AvgPool => {
                let x = tensor_of(self, first)?;
                let kernel = self.pair(opt(a, 1)?, "`kernel`", 1)?;
                let stride = self.pair_or(opt(a, 2), "`stride`", 1, kernel)?;
                let pad = self.pair_or(opt(a, 3), "`pad`", 0, [0, 0])?;
                let ceil = self.bool_or(opt(a, 4), "`ceil`", false)?;
                let pool = Pool {
                    kernel,
                    stride,
                    pad,
                    ceil,
                };
                let o = if sig.builtin == Builtin::MaxPool {
                    Op::MaxPool(pool)
                } else {
                    let count_pad = self.bool_or(opt(a, 5), "`count_pad`", true)?;
                    Op::AvgPool { pool, count_pad }
                };
                node(self, o, &[x])
            }
            Builtin::GlobalAvgPool => {
                let x = tensor_of(self, first)?;
                node(self, Op::GlobalAvgPool, &[x])
            }
            Builtin::Flatten => {
                let x = tensor_of(self, first)?;
                node(self, Op::Flatten, &[x])
            }
            Builtin::Concat => {
                let items = match &first.value {
                    Value::List(xs) | Value::Tuple(xs) => xs.clone(),
                    Value::Error => return None,
                    Value::Tensor(_) => {
                        self.report(
                            Diagnostic::error(
                                codes::EXPECTED_VALUE,
                                "`concat` takes a list of tensors, found a single tensor",
                            )
                            .with_primary(first.span, "this is a tensor")
                            .with_help("write `concat([a, b], axis = 1)`"),
                        );
                        return None;
                    }
                    other => {
                        let msg = format!(
                            "`concat` takes a list of tensors, found {}",
                            other.describe()
                        );
                        self.err(
                            codes::TYPE_MISMATCH,
                            first.span,
                            msg,
                            "expected a list of tensors",
                        );
                        return None;
                    }
                };
                if items.is_empty() {
                    self.invalid(first.span, "`concat` needs at least one tensor".into());
                    return None;
                }
                let mut ids = Vec::with_capacity(items.len());
                for v in items.iter() {
                    ids.push(self.expect_tensor(v, first.span, "an element of the `concat` list"));
                }
                let ids: Vec<NodeId> = ids.into_iter().collect::<Option<_>>()?;
                let rank = self.graph.node(ids[0]).shape.len();
                let axis = self.axis_or(opt(a, 1), rank, 1, span)?;
                node(self, Op::Concat { axis }, &ids)
            }
            Builtin::Split => self.split(first, opt(a, 1), opt(a, 2), opt(a, 3), span, name),
            Builtin::ChannelShuffle => {
                let x = tensor_of(self, first)?;
                let g = opt(a, 1)?;
                let (gv, _) = self.expect_int(&g.value, g.span, "`groups`")?;
                let groups = self.positive(gv, g.span, "`groups`")?;
                node(self, Op::ChannelShuffle { groups }, &[x])
            }
            Builtin::Softmax => {
                let x = tensor_of(self, first)?;
                let rank = self.graph.node(x).shape.len();
                let axis = self.axis_or(opt(a, 1), rank, -1, span)?;
                node(self, Op::Softmax { axis }, &[x])
            }
            Builtin::Upsample => {
                let x = tensor_of(self, first)?;
                let scale = match opt(a, 1) {
                    Some(s) => {
                        let (v, _) = self.expect_int(&s.value, s.span, "`scale`")?;
                        self.positive(v, s.span, "`scale`")?
                    }
                    None => 2,
                };
                node(self, Op::Upsample { scale }, &[x])
            }
            Builtin::LayerNorm
            | Builtin::Reshape
            | Builtin::Permute
            | Builtin::Transpose
            | Builtin::Slice
            | Builtin::Select
            | Builtin::MatMul
            | Builtin::Param
            | Builtin::Roll
            | Builtin::Expand
            | Builtin::Attention => self.tensor_builtin(sig.builtin, op, span, a, name),
            Builtin::Take | Builtin::Constant => self.const_builtin(sig.builtin, span, a, name),
            Builtin::Add | Builtin::Mul => {
                let b_arg = opt(a, 1)?;
                let x = tensor_of(self, first);
                let y = tensor_of(self, b_arg);
                let kind = if sig.builtin == Builtin::Add {
                    BinaryKind::Add
                } else {
                    BinaryKind::Mul
                };
                Some(self.tensor_binary(kind, x?, y?, span, first.span, b_arg.span, name))
            }
            Builtin::Channels
            | Builtin::Height
            | Builtin::Width
            | Builtin::Batch
            | Builtin::Shape => {
                let x = tensor_of(self, first)?;
                let s = self.graph.node(x).shape.clone();
                let (dim, need) = match sig.builtin {
                    Builtin::Batch => (0, 1),
                    Builtin::Channels => (1, 2),
                    Builtin::Height => (2, 4),
                    Builtin::Width => (3, 4),
                    _ => {
                        let mut vs = Vec::with_capacity(s.len());
                        for d in &s {
                            vs.push(Value::opaque_int(i64::try_from(*d).ok()?));
                        }
                        return Some(Value::List(Seq::new(vs)));
                    }
                };
                if s.len() < need {
                    let msg = format!(
                        "`{op}` needs a tensor of rank {}, got shape {}",
                        if need == 4 {
                            "4 [N, C, H, W]".to_string()
                        } else {
                            format!(">= {need}")
                        },
                        fmt_shape(&s)
                    );
                    self.err(
                        codes::SHAPE,
                        first.span,
                        msg,
                        format!("shape {}", fmt_shape(&s)),
                    );
                    return None;
                }
                Some(Value::opaque_int(i64::try_from(s[dim]).ok()?))
            }
            Builtin::Sqrt => {
                let v = self.expect_float(&first.value, first.span, "the argument of `sqrt`")?;
                if v < 0.0 {
                    self.invalid(first.span, format!("`sqrt` of the negative number {v}"));
                    return None;
                }
                Some(Value::Float(v.sqrt()))
            }
            Builtin::Len => {
                let n = match &first.value {
                    Value::List(xs) | Value::Tuple(xs) => xs.len(),
                    Value::Str(s) => s.chars().count(),
                    Value::Error => return None,
                    Value::Tensor(_) => {
                        self.report(
                            Diagnostic::error(codes::EXPECTED_VALUE, "`len` of a tensor")
                                .with_primary(first.span, "this is a tensor")
                                .with_help(
                                    "use `shape(x)` for its sizes, or `len(shape(x))` for its rank",
                                ),
                        );
                        return None;
                    }
                    other => {
                        let msg = format!(
                            "`len` takes a list, tuple or string, found {}",
                            other.describe()
                        );
                        self.err(codes::TYPE_MISMATCH, first.span, msg, "no length");
                        return None;
                    }
                };
                Some(Value::opaque_int(i64::try_from(n).ok()?))
            }
        }
    }

    fn split(
        &mut self,
        x_arg: &ArgV<'a>,
        parts_arg: Option<&ArgV<'a>>,
        sizes_arg: Option<&ArgV<'a>>,
        axis_arg: Option<&ArgV<'a>>,
        span: Span,
        name: Option<&ArgV<'a>>,
    ) -> Option<Value> {
        let x = self.expect_tensor(&x_arg.value, x_arg.span, "the input of `split`")?;
        // `split(x, [a, b])`: a list in the `parts` position means sizes.
        let (parts_arg, sizes_arg) = match (parts_arg, sizes_arg) {
            (Some(p), None) if matches!(p.value, Value::List(_)) => (None, Some(p)),
            other => other,
        };
        if let (Some(_), Some(s)) = (parts_arg, sizes_arg) {
            self.invalid(
                s.arg_span,
                "give either `parts` or `sizes` to `split`, not both".into(),
            );
            return None;
        }
        let xs = self.graph.node(x).shape.clone();
        let axis = self.axis_or(axis_arg, xs.len(), 1, span)?;
        let dim = xs[axis];
        let ranges = if let Some(s) = sizes_arg {
            let items = match &s.value {
                Value::List(v) | Value::Tuple(v) => v.clone(),
                Value::Error => return None,
                other => {
                    let msg = format!("`sizes` must be a list of ints, found {}", other.describe());
                    self.err(codes::TYPE_MISMATCH, s.span, msg, "expected a list");
                    return None;
                }
            };
            let mut sizes = Vec::with_capacity(items.len());
            for v in items.iter() {
                let (n, _) = self.expect_int(v, s.span, "an element of `sizes`")?;
                sizes.push(self.positive(n, s.span, "every size")?);
            }
            shape::split_sizes(dim, &sizes)
        } else {
            let parts = match parts_arg {
                Some(p) => {
                    let (n, _) = self.expect_int(&p.value, p.span, "`parts`")?;
                    self.positive(n, p.span, "`parts`")?
                }
                None => 2,
            };
            shape::split_parts(dim, parts)
        };
        let ranges = match ranges {
            Ok(r) => r,
            Err(e) => {
                let mut d = Diagnostic::error(codes::SHAPE, e.message)
                    .with_primary(span, format!("`split` of axis {axis} with size {dim}"));
                if let Some(h) = e.help {
                    d = d.with_help(h);
                }
                self.report(d);
                return None;
            }
        };
        let explicit = self.explicit_name(name).ok()?;
        let base = self.next_name("split", explicit);
        let parts = ranges.len();
        let mut out = Vec::with_capacity(parts);
        for (i, (start, len)) in ranges.into_iter().enumerate() {
            let o = Op::Split {
                axis,
                start,
                len,
                part: i,
                parts,
            };
            let s = match shape::infer(&o, &[&xs]) {
                Ok(s) => s,
                Err(e) => {
                    self.err(codes::SHAPE, span, e.message, "invalid split");
                    return None;
                }
            };
            let id = self.push_node(o, s, &[x], format!("{base}.{i}"), span)?;
            out.push(Value::Tensor(id));
        }
        Some(Value::Tuple(Seq::new(out)))
    }

    pub(super) fn invalid(&mut self, span: Span, msg: String) {
        self.report(Diagnostic::error(codes::INVALID_ARG, msg).with_primary(span, "invalid value"));
    }

    /// `v` as a positive usize, or E0143.
    pub(super) fn positive(&mut self, v: i64, span: Span, what: &str) -> Option<usize> {
        if v <= 0 {
            self.invalid(span, format!("{what} must be positive, got {v}"));
            return None;
        }
        usize::try_from(v).ok()
    }

    /// An int or `[h, w]` pair with every element `>= min`.
    fn pair(&mut self, a: &ArgV<'a>, what: &str, min: i64) -> Option<Pair> {
        let vals: Vec<i64> = match &a.value {
            Value::Int(n, ..) => vec![*n, *n],
            Value::List(xs) | Value::Tuple(xs) => {
                if xs.len() != 2 {
                    self.invalid(
                        a.span,
                        format!(
                            "{what} must be an int or a pair [h, w], got a list of {} element(s)",
                            xs.len()
                        ),
                    );
                    return None;
                }
                let mut v = Vec::with_capacity(2);
                for x in xs.iter() {
                    v.push(self.expect_int(x, a.span, what)?.0);
                }
                v
            }
            other => {
                let other = other.clone();
                self.expect_int(&other, a.span, what)?;
                return None;
            }
        };
        let mut out = [0usize; 2];
        for (i, v) in vals.into_iter().enumerate() {
            if v < min {
                let bound = if min == 0 { "non-negative" } else { "positive" };
                self.invalid(a.span, format!("{what} must be {bound}, got {v}"));
                return None;
            }
            out[i] = usize::try_from(v).ok()?;
        }
        Some(out)
    }

    fn pair_or(
        &mut self,
        a: Option<&ArgV<'a>>,
        what: &str,
        min: i64,
        default: Pair,
    ) -> Option<Pair> {
        match a {
            Some(a) => self.pair(a, what, min),
            None => Some(default),
        }
    }

    pub(super) fn bool_or(
        &mut self,
        a: Option<&ArgV<'a>>,
        what: &str,
        default: bool,
    ) -> Option<bool> {
        match a {
            Some(a) => self.expect_bool(&a.value, a.span, what),
            None => Some(default),
        }
    }

    /// An optional `eps`: a positive finite number, 1e-5 when absent.
    pub(super) fn eps_or(&mut self, a: Option<&ArgV<'a>>) -> Option<f64> {
        let Some(e) = a else { return Some(1e-5) };
        let v = self.expect_float(&e.value, e.span, "`eps`")?;
        if !(v.is_finite() && v > 0.0) {
            self.invalid(e.span, format!("`eps` must be a positive number, got {v}"));
            return None;
        }
        Some(v)
    }

    /// An axis (negative counts from the end) for a tensor of rank `rank`.
    pub(super) fn axis_or(
        &mut self,
        a: Option<&ArgV<'a>>,
        rank: usize,
        default: i64,
        call: Span,
    ) -> Option<usize> {
        let (v, span) = match a {
            Some(a) => (self.expect_int(&a.value, a.span, "`axis`")?.0, Some(a.span)),
            None => (default, None),
        };
        let r = i64::try_from(rank).ok()?;
        let norm = if v < 0 { v.checked_add(r) } else { Some(v) };
        match norm {
            Some(n) if (0..r).contains(&n) => usize::try_from(n).ok(),
            _ => {
                let msg = format!("axis {v} is out of range for a tensor of rank {rank}");
                let label = format!("valid axes are {}..{}", -r, r);
                // a default axis that does not exist is reported at the call
                let label = if span.is_some() {
                    label
                } else {
                    format!("default axis {default}; {label}")
                };
                self.err(codes::AXIS_OUT_OF_RANGE, span.unwrap_or(call), msg, label);
                None
            }
        }
    }
}
