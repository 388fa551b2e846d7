//! Naming and graph nodes: explicit and generated names, shape inference,
//! weight limits and duplicate weight names.

use super::args::ArgV;
use super::Elab;
use crate::codes;
use crate::value::Value;
use nnc_diag::{Diagnostic, Span};
use nnc_ir::shape::{self, fmt_shape};
use nnc_ir::{Node, NodeId, Op};

impl<'a> Elab<'a> {
    /// The explicit `name = "..."` of a call, validated.
    /// `Err` if it is invalid (reported).
    pub(crate) fn explicit_name(&mut self, a: Option<&ArgV<'a>>) -> Result<Option<String>, ()> {
        let Some(a) = a else { return Ok(None) };
        match &a.value {
            Value::Str(s) => {
                if s.is_empty() || s.split('.').any(|seg| seg.is_empty()) {
                    self.report(
                        Diagnostic::error(codes::INVALID_NAME_ARG, format!("invalid name \"{s}\""))
                            .with_primary(a.span, "a name needs non-empty parts separated by `.`")
                            .with_help("e.g. `name = \"layer1.0\"`"),
                    );
                    Err(())
                } else {
                    Ok(Some(s.to_string()))
                }
            }
            Value::Error => Err(()),
            other => {
                let msg = format!("`name` must be a string, found {}", other.describe());
                self.err(codes::INVALID_NAME_ARG, a.span, msg, "not a string");
                Err(())
            }
        }
    }

    /// The next full name in the current scope for an op kind or block:
    /// the explicit one, or `<kind>_<k>`; counts the kind either way.
    pub(crate) fn next_name(&mut self, kind: &str, explicit: Option<String>) -> String {
        let Some(scope) = self.scopes.last_mut() else {
            return explicit.unwrap_or_else(|| kind.to_string());
        };
        let k = match scope.counters.get_mut(kind) {
            Some(c) => {
                let k = *c;
                *c += 1;
                k
            }
            None => {
                scope.counters.insert(kind.to_string(), 1);
                0
            }
        };
        let local = explicit.unwrap_or_else(|| format!("{kind}_{k}"));
        if scope.prefix.is_empty() {
            local
        } else {
            let mut s = String::with_capacity(scope.prefix.len() + 1 + local.len());
            s.push_str(&scope.prefix);
            s.push('.');
            s.push_str(&local);
            s
        }
    }

    /// Infers the shape of `op`, names it, and adds it.
    pub(crate) fn make_op(
        &mut self,
        op: Op,
        inputs: &[NodeId],
        span: Span,
        name: Option<&ArgV<'a>>,
    ) -> Option<NodeId> {
        let explicit = self.explicit_name(name).ok()?;
        let inferred = {
            let shapes: Vec<&[usize]> = inputs
                .iter()
                .map(|&i| self.graph.node(i).shape.as_slice())
                .collect();
            shape::infer(&op, &shapes).map_err(|e| {
                let ins = shapes
                    .iter()
                    .map(|s| fmt_shape(s))
                    .collect::<Vec<_>>()
                    .join(" and ");
                (e, ins)
            })
        };
        let shape = match inferred {
            Ok(s) => s,
            Err((e, ins)) => {
                let mut d = Diagnostic::error(codes::SHAPE, e.message)
                    .with_primary(span, format!("`{}` on input {ins}", op.name()));
                if let Some(h) = e.help {
                    d = d.with_help(h);
                }
                self.report(d);
                return None;
            }
        };
        let full = self.next_name(op.name(), explicit);
        self.push_node(op, shape, inputs, full, span)
    }

    /// Checks the weights `op` would have against the tensor limit (each,
    /// `E0182`) and the total weight limit (`E0188`), and counts them.
    pub(super) fn check_weights(
        &mut self,
        op: &Op,
        inputs: &[NodeId],
        name: &str,
        span: Span,
    ) -> bool {
        let shapes: Vec<Vec<usize>> = inputs
            .iter()
            .map(|&i| self.graph.node(i).shape.clone())
            .collect();
        let refs: Vec<&[usize]> = shapes.iter().map(|s| s.as_slice()).collect();
        let mut total = 0u64;
        for w in nnc_ir::op::weight_specs(op, &refs) {
            match shape::numel(&w.shape) {
                Some(n) if n <= self.limits.tensor_elements => {
                    total = total.saturating_add(n as u64)
                }
                n => {
                    let count = n
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| "too many".into());
                    self.report(
                        Diagnostic::error(
                            codes::LIMIT_TENSOR,
                            format!(
                                "the weight `{}` of shape {} has {count} elements, over the limit of {}",
                                w.key(name),
                                fmt_shape(&w.shape),
                                self.limits.tensor_elements
                            ),
                        )
                        .with_primary(span, "this op's weight is too large"),
                    );
                    return false;
                }
            }
        }
        self.weight_elements = self.weight_elements.saturating_add(total);
        if self.weight_elements > self.limits.weight_elements {
            self.limit(
                codes::LIMIT_WEIGHTS,
                span,
                format!(
                    "the weights of the network have more than {} elements in total",
                    self.limits.weight_elements
                ),
                "weight limit reached here",
            );
            return false;
        }
        true
    }

    /// Adds a node with a known shape and full name, checking the limits and
    /// the uniqueness of weight names.
    pub(crate) fn push_node(
        &mut self,
        op: Op,
        shape: Vec<usize>,
        inputs: &[NodeId],
        name: String,
        span: Span,
    ) -> Option<NodeId> {
        if self.graph.len() >= self.limits.nodes {
            self.limit(
                codes::LIMIT_NODES,
                span,
                format!("the graph has more than {} nodes", self.limits.nodes),
                "node limit reached here",
            );
            return None;
        }
        match shape::numel(&shape) {
            Some(n) if n <= self.limits.tensor_elements => {}
            n => {
                let count = n
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "too many".into());
                self.report(
                    Diagnostic::error(
                        codes::LIMIT_TENSOR,
                        format!(
                            "a tensor of shape {} has {count} elements, over the limit of {}",
                            fmt_shape(&shape),
                            self.limits.tensor_elements
                        ),
                    )
                    .with_primary(span, "this tensor is too large"),
                );
                return None;
            }
        }
        let has_w = op.has_weights();
        if has_w && !self.check_weights(&op, inputs, &name, span) {
            return None;
        }
        if has_w {
            if let Some(&prev) = self.weights.get(&name) {
                self.duplicate_weight(&name, prev, span);
                return None;
            }
        }
        let block = self.scopes.last().and_then(|s| s.instance);
        let id = self.graph.add_node(
            Node {
                op,
                shape,
                name: if has_w { name.clone() } else { name },
                block,
            },
            inputs,
            span,
        );
        if has_w {
            let n = self.graph.node(id).name.clone();
            self.weights.insert(n, id);
        }
        Some(id)
    }

    pub(super) fn duplicate_weight(&mut self, name: &str, prev: NodeId, span: Span) {
        let mut cur: Vec<Span> = self.calls.iter().map(|c| c.span).collect();
        cur.push(span);
        let mut old: Vec<Span> = self
            .graph
            .block_path(prev)
            .iter()
            .map(|&b| self.graph.block(b).call_span)
            .collect();
        old.push(self.graph.span(prev));
        let mut d = Diagnostic::error(
            codes::DUPLICATE_WEIGHT,
            format!("two ops have the weight name `{name}`"),
        );
        d = match cur.iter().zip(&old).position(|(a, b)| a != b) {
            Some(i) => d
                .with_primary(cur[i], format!("this also creates `{name}`"))
                .with_secondary(old[i], "first created here"),
            None => d
                .with_primary(span, format!("this creates `{name}` more than once"))
                .with_note("the same code runs twice with the same name (a loop, or a block called twice with the same `name`)"),
        };
        self.report(d.with_help(
            "give each op its own name (in a loop, interpolate the variable: `name = \"conv{i}\"`), or leave `name` out to get generated ones",
        ));
    }
}
