//! Statements: bindings, assignments, `for`, `if`, `return`, `input`
//! and `output`.

use super::diag::suggest;
use super::env::Env;
use super::Elab;
use crate::codes;
use crate::value::Value;
use nnc_diag::Diagnostic;
use nnc_ir::Op;
use nnc_syntax::ast::{Body, Expr, Ident, Stmt, StmtKind};

/// What executing statements led to.
pub(super) enum Flow {
    Next,
    Return(Value),
}

impl<'a> Elab<'a> {
    pub(super) fn exec_body(&mut self, env: &mut Env, body: &'a Body) -> Flow {
        for s in &body.stmts {
            if self.aborted {
                break;
            }
            if let Flow::Return(v) = self.exec_stmt(env, s) {
                return Flow::Return(v);
            }
        }
        Flow::Next
    }

    /// Runs a body in a new frame (its `let`s end with it).
    pub(super) fn exec_scoped(&mut self, env: &mut Env, body: &'a Body) -> Flow {
        env.push();
        let f = self.exec_body(env, body);
        env.pop();
        f
    }

    pub(super) fn exec_stmt(&mut self, env: &mut Env, s: &'a Stmt) -> Flow {
        if !self.enter(s.span) {
            return Flow::Next;
        }
        let f = self.exec_stmt_inner(env, s);
        self.leave();
        f
    }

    pub(super) fn exec_stmt_inner(&mut self, env: &mut Env, s: &'a Stmt) -> Flow {
        match &s.kind {
            StmtKind::Input { name, shape } => return self.exec_input(env, s, name, shape),
            StmtKind::Let { name, value } => {
                let v = self.eval(env, value);
                env.define(&name.name, v);
            }
            StmtKind::LetTuple { names, value } => {
                let v = self.eval(env, value);
                let items = match v {
                    Value::Tuple(xs) | Value::List(xs) => Some(xs),
                    Value::Error => None,
                    other => {
                        self.report(
                            Diagnostic::error(
                                codes::DESTRUCTURE,
                                format!(
                                    "cannot destructure {} into {} names",
                                    other.describe(),
                                    names.len()
                                ),
                            )
                            .with_primary(value.span, "expected a tuple")
                            .with_help("destructure a tuple, e.g. from `split` or a block's `return (a, b);`"),
                        );
                        None
                    }
                };
                match items {
                    Some(xs) if xs.len() == names.len() => {
                        for (n, v) in names.iter().zip(xs.iter()) {
                            env.define(&n.name, v.clone());
                        }
                    }
                    Some(xs) => {
                        let first = names.first().map(|n| n.span).unwrap_or(s.span);
                        let last = names.last().map(|n| n.span).unwrap_or(s.span);
                        self.report(
                            Diagnostic::error(
                                codes::DESTRUCTURE,
                                format!(
                                    "{} names, but the value has {} elements",
                                    names.len(),
                                    xs.len()
                                ),
                            )
                            .with_primary(first.to(last), format!("{} names", names.len()))
                            .with_secondary(value.span, format!("{} elements", xs.len()))
                            .with_help("use as many names as there are elements"),
                        );
                        for n in names {
                            env.define(&n.name, Value::Error);
                        }
                    }
                    None => {
                        for n in names {
                            env.define(&n.name, Value::Error);
                        }
                    }
                }
            }
            StmtKind::Assign { name, value } => {
                let v = match self.append_in_place(env, name, value) {
                    Some(v) => v,
                    None => self.eval(env, value),
                };
                if !env.assign(&name.name, v.clone()) {
                    let mut d = Diagnostic::error(
                        codes::ASSIGN_UNBOUND,
                        format!("cannot assign to `{}`: it is not bound", name.name),
                    )
                    .with_primary(name.span, "not bound here");
                    d = match suggest(&name.name, &env.names()) {
                        Some(s) => d.with_help(format!("did you mean `{s}`?")),
                        None => d.with_help(format!(
                            "use `let {} = ...;` to create a binding",
                            name.name
                        )),
                    };
                    self.report(d);
                    env.define(&name.name, v);
                }
            }
            StmtKind::Output { name, value } => {
                return self.exec_output(env, s, name, value.as_ref())
            }
            StmtKind::Return { value } => {
                if !self.in_block() {
                    self.saw_output = true; // no extra "no outputs" error
                    self.report(
                        Diagnostic::error(codes::RETURN_OUTSIDE_BLOCK, "`return` outside a block")
                            .with_primary(s.span, "a network cannot return")
                            .with_help("name the result with `output NAME = EXPR;`"),
                    );
                    return Flow::Next;
                }
                let v = self.eval(env, value);
                return Flow::Return(v);
            }
            StmtKind::For {
                var,
                start,
                end,
                body,
            } => {
                let a = self.eval(env, start);
                let b = self.eval(env, end);
                let a = self.expect_int(&a, start.span, "a loop bound");
                let b = self.expect_int(&b, end.span, "a loop bound");
                let (Some((a, _)), Some((b, _))) = (a, b) else {
                    return Flow::Next;
                };
                let header = var.span.to(end.span);
                let mut i = a;
                while i < b {
                    if self.aborted {
                        break;
                    }
                    self.iterations += 1;
                    if self.iterations > self.limits.loop_iterations {
                        self.limit(
                            codes::LIMIT_LOOP,
                            header,
                            format!(
                                "loops run more than {} iterations in total",
                                self.limits.loop_iterations
                            ),
                            "iteration limit reached in this loop",
                        );
                        break;
                    }
                    env.push();
                    env.define(&var.name, Value::opaque_int(i));
                    let f = self.exec_body(env, body);
                    env.pop();
                    if let Flow::Return(v) = f {
                        return Flow::Return(v);
                    }
                    i += 1; // i < b <= i64::MAX: no overflow
                }
            }
            StmtKind::If {
                cond,
                then_body,
                else_body,
            } => {
                let c = self.eval(env, cond);
                match self.expect_bool(&c, cond.span, "an `if` condition") {
                    Some(true) => return self.exec_scoped(env, then_body),
                    Some(false) => {
                        if let Some(b) = else_body {
                            return self.exec_scoped(env, b);
                        }
                    }
                    None => {}
                }
            }
            StmtKind::Expr(e) => {
                let _ = self.eval_any(env, e);
            }
            StmtKind::Error => {}
        }
        Flow::Next
    }

    pub(super) fn exec_input(
        &mut self,
        env: &mut Env,
        s: &'a Stmt,
        name: &'a Ident,
        dims: &'a [Expr],
    ) -> Flow {
        if self.in_block() {
            self.report(
                Diagnostic::error(
                    codes::INPUT_OUTSIDE_NETWORK,
                    "`input` is only allowed in a network",
                )
                .with_primary(s.span, "input declared in a block")
                .with_help(
                    "declare the input in the network and pass it to the block as an argument",
                ),
            );
            env.define(&name.name, Value::Error);
            return Flow::Next;
        }
        let mut shape = Vec::with_capacity(dims.len());
        let mut ok = true;
        if dims.is_empty() {
            self.err(
                codes::BAD_INPUT_SHAPE,
                s.span,
                format!("input `{}` has no dimensions", name.name),
                "an input needs a shape like [1, 3, 224, 224]",
            );
            ok = false;
        }
        for d in dims {
            let v = self.eval(env, d);
            match self.expect_int(&v, d.span, "an input dimension") {
                Some((n, _)) if n > 0 => match usize::try_from(n) {
                    Ok(n) => shape.push(n),
                    Err(_) => ok = false,
                },
                Some((n, _)) => {
                    self.err(
                        codes::BAD_INPUT_SHAPE,
                        d.span,
                        format!("input dimensions must be positive, got {n}"),
                        "not positive",
                    );
                    ok = false;
                }
                None => ok = false,
            }
        }
        if let Some(&prev) = self.inputs.get(&name.name) {
            self.report(
                Diagnostic::error(
                    codes::DUPLICATE_INPUT,
                    format!("input `{}` is declared twice", name.name),
                )
                .with_primary(name.span, "declared again here")
                .with_secondary(prev, "first declared here"),
            );
            ok = false;
        } else {
            self.inputs.insert(name.name.clone(), name.span);
        }
        let v = if ok {
            match self.push_node(
                Op::Input {
                    name: name.name.clone(),
                },
                shape,
                &[],
                name.name.clone(),
                s.span,
            ) {
                Some(id) => Value::Tensor(id),
                None => Value::Error,
            }
        } else {
            Value::Error
        };
        env.define(&name.name, v);
        Flow::Next
    }

    pub(super) fn exec_output(
        &mut self,
        env: &mut Env,
        s: &'a Stmt,
        name: &'a Ident,
        value: Option<&'a Expr>,
    ) -> Flow {
        self.saw_output = true;
        if self.in_block() {
            self.report(
                Diagnostic::error(
                    codes::OUTPUT_OUTSIDE_NETWORK,
                    "`output` is only allowed in a network",
                )
                .with_primary(s.span, "output declared in a block")
                .with_help(
                    "hand the value back with `return EXPR;` and name the output in the network",
                ),
            );
            return Flow::Next;
        }
        let (v, span) = match value {
            Some(e) => (self.eval(env, e), e.span),
            None => (self.lookup_name(env, name), name.span),
        };
        if let Some(id) = self.expect_tensor(&v, span, "an output") {
            if let Some(&prev) = self.outputs.get(&name.name) {
                self.report(
                    Diagnostic::error(
                        codes::DUPLICATE_OUTPUT,
                        format!("output `{}` is declared twice", name.name),
                    )
                    .with_primary(name.span, "declared again here")
                    .with_secondary(prev, "first declared here"),
                );
            } else {
                self.outputs.insert(name.name.clone(), name.span);
                self.graph.add_output(name.name.clone(), id, s.span);
            }
        }
        if value.is_some() {
            env.define(&name.name, v);
        }
        Flow::Next
    }
}
