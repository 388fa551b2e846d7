//! The elaborator proper: statements, expressions, block calls, naming.

use crate::builtins;
use crate::codes;
use crate::value::{IntProv, OpProvenance, Provenance, Seq, Value, MAX_NESTING};
use crate::{Elaborated, Limits};
use nnc_diag::suggest::did_you_mean;
use nnc_diag::{Diagnostic, Span};
use nnc_ir::shape::{self, fmt_shape};
use nnc_ir::{BinaryKind, BlockId, BlockInstance, Graph, Node, NodeId, Op};
use nnc_syntax::ast::{self, BinOp, Body, Expr, ExprKind, Ident, Stmt, StmtKind, StrPart, UnaryOp};
use std::collections::{HashMap, HashSet};
use std::fmt::Write;
use std::rc::Rc;
use std::sync::Arc;

/// "Did you mean": the shared edit-distance suggestion, or else a
/// candidate that differs by one swap of adjacent characters (`imgae`).
pub(crate) fn suggest<'c>(name: &str, candidates: &[&'c str]) -> Option<&'c str> {
    if let Some(s) = did_you_mean(name, candidates.iter().copied()) {
        return Some(s);
    }
    let n: Vec<char> = name.chars().collect();
    candidates.iter().copied().find(|c| {
        let c: Vec<char> = c.chars().collect();
        if c.len() != n.len() || c == n {
            return false;
        }
        let diff: Vec<usize> = (0..n.len()).filter(|&i| n[i] != c[i]).collect();
        diff.len() == 2
            && diff[1] == diff[0] + 1
            && n[diff[0]] == c[diff[1]]
            && n[diff[1]] == c[diff[0]]
    })
}

/// Diagnostics beyond this many are dropped (the run is hopeless anyway).
const MAX_DIAGNOSTICS: usize = 500;

/// Elaborates the selected network of `file`.
pub(crate) fn run(file: &ast::File, network: Option<&str>, limits: &Limits) -> Elaborated {
    let mut e = Elab::new(limits);
    e.check_items(file);
    let net = match crate::select_network(file, network) {
        Ok(n) => n,
        Err(d) => {
            e.diags.push(*d);
            return e.finish(None);
        }
    };
    e.run_network(net);
    e.finish(Some(net))
}

/// Lexical environment of one network body or block call: a stack of frames
/// (the body, then one per enclosing `for`/`if` body).
pub(crate) struct Env {
    frames: Vec<HashMap<Rc<str>, Value>>,
}

impl Env {
    fn new() -> Env {
        Env {
            frames: vec![HashMap::new()],
        }
    }

    pub(crate) fn lookup(&self, name: &str) -> Option<&Value> {
        self.frames.iter().rev().find_map(|f| f.get(name))
    }

    fn define(&mut self, name: &str, v: Value) {
        if let Some(f) = self.frames.last_mut() {
            if let Some(slot) = f.get_mut(name) {
                *slot = v;
            } else {
                f.insert(Rc::from(name), v);
            }
        }
    }

    /// Moves the value of the innermost binding of `name` out (leaving an
    /// error value, rebound right after by the caller).
    fn take(&mut self, name: &str) -> Option<Value> {
        self.frames
            .iter_mut()
            .rev()
            .find_map(|f| f.get_mut(name))
            .map(|slot| std::mem::replace(slot, Value::Error))
    }

    /// Rebinds the innermost binding of `name`; false if there is none.
    fn assign(&mut self, name: &str, v: Value) -> bool {
        for f in self.frames.iter_mut().rev() {
            if let Some(slot) = f.get_mut(name) {
                *slot = v;
                return true;
            }
        }
        false
    }

    pub(crate) fn names(&self) -> Vec<&str> {
        self.frames
            .iter()
            .flat_map(|f| f.keys().map(|k| &**k))
            .collect()
    }

    fn push(&mut self) {
        self.frames.push(HashMap::new());
    }

    fn pop(&mut self) {
        if self.frames.len() > 1 {
            self.frames.pop();
        }
    }
}

/// A naming scope: the network root or one block instance.
struct Scope {
    prefix: String,
    counters: HashMap<String, usize>,
    instance: Option<BlockId>,
}

/// One active block call.
struct Call<'a> {
    block: &'a ast::Block,
    span: Span,
}

/// What executing statements led to.
enum Flow {
    Next,
    Return(Value),
}

/// An evaluated call argument.
pub(crate) struct ArgV<'a> {
    pub(crate) name: Option<&'a Ident>,
    pub(crate) value: Value,
    /// The span of the value expression.
    pub(crate) span: Span,
    /// The span of the whole argument (`key = value`).
    pub(crate) arg_span: Span,
}

/// Bound arguments: one slot per parameter, and the `name` argument.
pub(crate) type Bound<'a> = (Vec<Option<ArgV<'a>>>, Option<ArgV<'a>>);

pub(crate) struct Elab<'a> {
    pub(crate) limits: &'a Limits,
    blocks: HashMap<&'a str, &'a ast::Block>,
    networks: HashSet<&'a str>,
    pub(crate) graph: Graph,
    pub(crate) diags: Vec<Diagnostic>,
    seen: HashSet<(&'static str, Span)>,
    pub(crate) prov: Vec<OpProvenance>,
    weights: HashMap<String, NodeId>,
    scopes: Vec<Scope>,
    calls: Vec<Call<'a>>,
    iterations: u64,
    block_calls: u64,
    weight_elements: u64,
    depth: usize,
    aborted: bool,
    inputs: HashMap<String, Span>,
    outputs: HashMap<String, Span>,
    saw_output: bool,
}

impl<'a> Elab<'a> {
    fn new(limits: &'a Limits) -> Elab<'a> {
        Elab {
            limits,
            blocks: HashMap::new(),
            networks: HashSet::new(),
            graph: Graph::default(),
            diags: Vec::new(),
            seen: HashSet::new(),
            prov: Vec::new(),
            weights: HashMap::new(),
            scopes: Vec::new(),
            calls: Vec::new(),
            iterations: 0,
            block_calls: 0,
            weight_elements: 0,
            depth: 0,
            aborted: false,
            inputs: HashMap::new(),
            outputs: HashMap::new(),
            saw_output: false,
        }
    }

    // ----- diagnostics -------------------------------------------------

    /// Records a diagnostic: once per (code, primary span), with the
    /// innermost block call labelled when inside a block.
    pub(crate) fn report(&mut self, mut d: Diagnostic) {
        let key = (d.code, d.primary_span().unwrap_or(Span::DUMMY));
        if !self.seen.insert(key) {
            return;
        }
        if let Some(c) = self.calls.last() {
            if !d.labels.iter().any(|l| l.span == c.span) {
                d = d.with_secondary(c.span, format!("in this call of `{}`", c.block.name.name));
            }
        }
        if self.diags.len() < MAX_DIAGNOSTICS {
            self.diags.push(d);
        }
    }

    /// Reports an error with one primary label and returns the error value.
    pub(crate) fn err(
        &mut self,
        code: &'static str,
        span: Span,
        msg: impl Into<String>,
        label: impl Into<String>,
    ) -> Value {
        self.report(Diagnostic::error(code, msg).with_primary(span, label));
        Value::Error
    }

    /// Reports a limit being exceeded and stops elaboration.
    pub(crate) fn limit(&mut self, code: &'static str, span: Span, msg: String, label: &str) {
        self.report(Diagnostic::error(code, msg).with_primary(span, label));
        self.aborted = true;
    }

    fn enter(&mut self, span: Span) -> bool {
        if self.aborted {
            return false;
        }
        if self.depth >= self.limits.eval_depth {
            self.limit(
                codes::LIMIT_DEPTH,
                span,
                format!(
                    "expressions and statements nest more than {} levels deep",
                    self.limits.eval_depth
                ),
                "nesting limit reached here",
            );
            return false;
        }
        self.depth += 1;
        true
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    pub(crate) fn in_block(&self) -> bool {
        !self.calls.is_empty()
    }

    // ----- items ------------------------------------------------------

    fn check_items(&mut self, file: &'a ast::File) {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for item in &file.items {
            let id = item.name();
            if let Some(&prev) = seen.get(id.name.as_str()) {
                self.report(
                    Diagnostic::error(
                        codes::DUPLICATE_ITEM,
                        format!("the name `{}` is defined twice", id.name),
                    )
                    .with_primary(id.span, "defined again here")
                    .with_secondary(prev, "first defined here")
                    .with_help("rename one of them"),
                );
                continue;
            }
            seen.insert(&id.name, id.span);
            match item {
                ast::Item::Network(n) => {
                    self.networks.insert(&n.name.name);
                }
                ast::Item::Block(b) => {
                    if builtins::lookup(&b.name.name).is_some() {
                        self.report(
                            Diagnostic::error(
                                codes::BLOCK_SHADOWS_BUILTIN,
                                format!(
                                    "a block cannot be named `{}`: it is a built-in",
                                    b.name.name
                                ),
                            )
                            .with_primary(b.name.span, "this name is taken by a built-in")
                            .with_help(format!("rename the block, e.g. `my_{}`", b.name.name)),
                        );
                    } else {
                        self.blocks.insert(&b.name.name, b);
                    }
                    let mut params: HashMap<&str, Span> = HashMap::new();
                    for p in &b.params {
                        if p.name.name == "name" {
                            self.report(
                                Diagnostic::error(
                                    codes::RESERVED_PARAM,
                                    "`name` cannot be a block parameter",
                                )
                                .with_primary(p.name.span, "reserved for the scope name of a call")
                                .with_help("rename the parameter, e.g. `label`"),
                            );
                        }
                        if let Some(&prev) = params.get(p.name.name.as_str()) {
                            self.report(
                                Diagnostic::error(
                                    codes::DUPLICATE_PARAM,
                                    format!("parameter `{}` is declared twice", p.name.name),
                                )
                                .with_primary(p.name.span, "declared again here")
                                .with_secondary(prev, "first declared here"),
                            );
                        } else {
                            params.insert(&p.name.name, p.name.span);
                        }
                    }
                }
            }
        }
    }

    fn run_network(&mut self, net: &'a ast::Network) {
        self.graph = Graph::new(net.name.name.clone());
        self.scopes.push(Scope {
            prefix: String::new(),
            counters: HashMap::new(),
            instance: None,
        });
        let mut env = Env::new();
        let _ = self.exec_body(&mut env, &net.body);
        if !self.saw_output && !self.aborted {
            self.report(
                Diagnostic::error(
                    codes::NO_OUTPUTS,
                    format!("network `{}` has no outputs", net.name.name),
                )
                .with_primary(net.name.span, "this network declares no `output`")
                .with_help("add `output NAME = EXPR;` (or `output NAME;` for a binding)"),
            );
        }
    }

    fn finish(mut self, net: Option<&ast::Network>) -> Elaborated {
        let mut graph = None;
        if net.is_some() && !self.diags.iter().any(|d| d.is_error()) {
            match nnc_ir::verify::verify(&self.graph) {
                Ok(()) => graph = Some(std::mem::take(&mut self.graph)),
                Err(violations) => {
                    let mut d = Diagnostic::error(
                        codes::INTERNAL,
                        "internal error: the elaborated graph fails verification",
                    )
                    .with_help("this is a bug in nnc; please report it with the source file");
                    for v in violations.into_iter().take(10) {
                        d = d.with_note(v);
                    }
                    self.diags.push(d);
                }
            }
        }
        self.diags
            .sort_by_key(|d| d.primary_span().map(|s| (s.start, s.end)).unwrap_or((0, 0)));
        Elaborated {
            network: net.map(|n| n.name.name.clone()),
            graph,
            diagnostics: self.diags,
            provenance: Provenance { ops: self.prov },
        }
    }

    // ----- statements -------------------------------------------------

    fn exec_body(&mut self, env: &mut Env, body: &'a Body) -> Flow {
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
    fn exec_scoped(&mut self, env: &mut Env, body: &'a Body) -> Flow {
        env.push();
        let f = self.exec_body(env, body);
        env.pop();
        f
    }

    fn exec_stmt(&mut self, env: &mut Env, s: &'a Stmt) -> Flow {
        if !self.enter(s.span) {
            return Flow::Next;
        }
        let f = self.exec_stmt_inner(env, s);
        self.leave();
        f
    }

    fn exec_stmt_inner(&mut self, env: &mut Env, s: &'a Stmt) -> Flow {
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

    fn exec_input(
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

    fn exec_output(
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

    // ----- expressions ------------------------------------------------

    /// Evaluates an expression whose value is used (a block without
    /// `return` is an error here).
    pub(crate) fn eval(&mut self, env: &mut Env, e: &'a Expr) -> Value {
        match self.eval_any(env, e) {
            Value::Unit { block, def } => {
                self.report(
                    Diagnostic::error(
                        codes::NO_RETURN_VALUE,
                        format!("block `{block}` returns no value"),
                    )
                    .with_primary(e.span, "the value of this call is used")
                    .with_secondary(def, "this block has no `return`")
                    .with_help("add `return ...;` to the block, or call it as a statement"),
                );
                Value::Error
            }
            v => v,
        }
    }

    fn eval_any(&mut self, env: &mut Env, e: &'a Expr) -> Value {
        if !self.enter(e.span) {
            return Value::Error;
        }
        let v = self.eval_inner(env, e);
        self.leave();
        v
    }

    fn eval_inner(&mut self, env: &mut Env, e: &'a Expr) -> Value {
        match &e.kind {
            ExprKind::Int { value: Some(v) } => Value::Int(
                *v,
                Arc::new(IntProv::Lit {
                    span: e.span,
                    value: *v,
                }),
                1,
            ),
            ExprKind::Int { value: None } => self.err(
                codes::INT_OVERFLOW,
                e.span,
                "integer literal out of range",
                "does not fit in a 64-bit int",
            ),
            ExprKind::Float(f) => Value::Float(*f),
            ExprKind::Bool(b) => Value::Bool(*b),
            ExprKind::Str(parts) => self.eval_string(env, parts, e.span),
            ExprKind::Name(id) => self.lookup_name(env, id),
            ExprKind::List(items) | ExprKind::Tuple(items) => {
                if items.len() > self.limits.list_len {
                    self.limit(
                        codes::LIMIT_LIST,
                        e.span,
                        format!("a list longer than {} elements", self.limits.list_len),
                        "too long",
                    );
                    return Value::Error;
                }
                let mut vs = Vec::with_capacity(items.len());
                for x in items {
                    vs.push(self.eval(env, x));
                }
                let seq = Seq::new(vs);
                if seq.depth > MAX_NESTING {
                    self.limit(
                        codes::LIMIT_LIST,
                        e.span,
                        format!("lists or tuples nested more than {MAX_NESTING} levels deep"),
                        "nested too deeply",
                    );
                    return Value::Error;
                }
                if matches!(e.kind, ExprKind::List(_)) {
                    Value::List(seq)
                } else {
                    Value::Tuple(seq)
                }
            }
            ExprKind::Index { base, index } => self.eval_index(env, base, index),
            ExprKind::Call { callee, args, .. } => self.eval_call(env, e, callee, args),
            ExprKind::Unary { op, operand } => {
                let v = self.eval(env, operand);
                self.unary(*op, e.span, operand.span, v)
            }
            ExprKind::Binary {
                op,
                op_span,
                lhs,
                rhs,
            } => {
                if matches!(op, BinOp::And | BinOp::Or) {
                    let l = self.eval(env, lhs);
                    let what = format!("the left operand of `{}`", op.as_str());
                    let Some(lb) = self.expect_bool(&l, lhs.span, &what) else {
                        return Value::Error;
                    };
                    if (*op == BinOp::And && !lb) || (*op == BinOp::Or && lb) {
                        return Value::Bool(lb);
                    }
                    let r = self.eval(env, rhs);
                    let what = format!("the right operand of `{}`", op.as_str());
                    return match self.expect_bool(&r, rhs.span, &what) {
                        Some(rb) => Value::Bool(rb),
                        None => Value::Error,
                    };
                }
                let l = self.eval(env, lhs);
                let r = self.eval(env, rhs);
                self.binary(*op, *op_span, e.span, lhs.span, rhs.span, l, r)
            }
            ExprKind::If { cond, then, else_ } => {
                let c = self.eval(env, cond);
                match self.expect_bool(&c, cond.span, "an `if` condition") {
                    Some(true) => self.eval_any(env, then),
                    Some(false) => self.eval_any(env, else_),
                    None => Value::Error,
                }
            }
            ExprKind::Paren(x) => self.eval_any(env, x),
            ExprKind::Error => Value::Error,
        }
    }

    fn lookup_name(&mut self, env: &Env, id: &Ident) -> Value {
        if let Some(v) = env.lookup(&id.name) {
            return v.clone();
        }
        if self.blocks.contains_key(id.name.as_str()) || builtins::lookup(&id.name).is_some() {
            let what = if self.blocks.contains_key(id.name.as_str()) {
                "a block"
            } else {
                "a built-in op"
            };
            self.report(
                Diagnostic::error(
                    codes::NOT_A_VALUE,
                    format!("`{}` is {what}, not a value", id.name),
                )
                .with_primary(id.span, "used as a value here")
                .with_help(format!("call it: `{}(...)`", id.name)),
            );
            return Value::Error;
        }
        let mut d = Diagnostic::error(codes::UNKNOWN_NAME, format!("unknown name `{}`", id.name))
            .with_primary(id.span, "not found in this scope");
        if let Some(s) = suggest(&id.name, &env.names()) {
            d = d.with_help(format!("did you mean `{s}`?"));
        }
        if self.in_block() {
            d = d.with_note(
                "a block sees only its parameters and its own bindings, not the caller's",
            );
        }
        self.report(d);
        Value::Error
    }

    fn eval_string(&mut self, env: &mut Env, parts: &'a [StrPart], span: Span) -> Value {
        let mut s = String::new();
        for p in parts {
            match p {
                StrPart::Text(t) => s.push_str(t),
                StrPart::Interp(x) => {
                    let v = self.eval(env, x);
                    match v {
                        Value::Int(n, ..) => {
                            let _ = write!(s, "{n}");
                        }
                        Value::Float(f) => {
                            let _ = write!(s, "{f}");
                        }
                        Value::Bool(b) => {
                            let _ = write!(s, "{b}");
                        }
                        Value::Str(t) => s.push_str(&t),
                        Value::Error => return Value::Error,
                        other => {
                            return self.err(
                                codes::BAD_INTERPOLATION,
                                x.span,
                                format!("cannot interpolate {} into a string", other.describe()),
                                "only ints, floats, bools and strings can be interpolated",
                            )
                        }
                    }
                }
            }
            if s.len() > self.limits.string_len {
                self.limit(
                    codes::LIMIT_STRING,
                    span,
                    format!("a string longer than {} bytes", self.limits.string_len),
                    "too long",
                );
                return Value::Error;
            }
        }
        Value::Str(Rc::new(s))
    }

    fn eval_index(&mut self, env: &mut Env, base: &'a Expr, index: &'a Expr) -> Value {
        let b = self.eval(env, base);
        let i = self.eval(env, index);
        let items = match &b {
            Value::List(xs) | Value::Tuple(xs) => xs.clone(),
            Value::Error => return Value::Error,
            Value::Tensor(_) => {
                self.report(
                    Diagnostic::error(codes::EXPECTED_VALUE, "cannot index a tensor")
                        .with_primary(base.span, "this is a tensor")
                        .with_help("to read its sizes, index its shape: `shape(x)[1]`"),
                );
                return Value::Error;
            }
            other => {
                return self.err(
                    codes::TYPE_MISMATCH,
                    base.span,
                    format!("cannot index {}", other.describe()),
                    "only lists and tuples can be indexed",
                )
            }
        };
        let Some((n, _)) = self.expect_int(&i, index.span, "an index") else {
            return Value::Error;
        };
        match usize::try_from(n).ok().and_then(|k| items.get(k)) {
            Some(v) => v.clone(),
            None => self.err(
                codes::INDEX_OUT_OF_RANGE,
                index.span,
                format!(
                    "index {n} is out of range for {} of length {}",
                    if matches!(b, Value::List(_)) {
                        "a list"
                    } else {
                        "a tuple"
                    },
                    items.len()
                ),
                if n < 0 {
                    "negative indices are not allowed".to_string()
                } else {
                    format!("valid indices are 0..{}", items.len())
                },
            ),
        }
    }

    fn unary(&mut self, op: UnaryOp, span: Span, operand: Span, v: Value) -> Value {
        match (op, v) {
            (_, Value::Error) => Value::Error,
            (UnaryOp::Neg, Value::Int(n, p, d)) => match n.checked_neg() {
                Some(m) => Value::derived_int(m, IntProv::Neg(p), &[d]),
                None => self.err(
                    codes::INT_OVERFLOW,
                    span,
                    format!("`-{n}` overflows a 64-bit int"),
                    "overflows",
                ),
            },
            (UnaryOp::Neg, Value::Float(f)) => Value::Float(-f),
            (UnaryOp::Neg, Value::Tensor(_)) => {
                self.report(
                    Diagnostic::error(codes::TENSOR_SUB_DIV, "tensors cannot be negated")
                        .with_primary(span, "negation of a tensor")
                        .with_help("tensors support only element-wise `+` and `*`"),
                );
                Value::Error
            }
            (UnaryOp::Not, Value::Bool(b)) => Value::Bool(!b),
            (UnaryOp::Not, Value::Tensor(_)) => self.err(
                codes::EXPECTED_VALUE,
                operand,
                "`!` needs a bool, found a tensor",
                "this is a tensor",
            ),
            (op, other) => self.err(
                codes::BAD_OPERANDS,
                span,
                format!(
                    "cannot apply `{}` to {}",
                    if op == UnaryOp::Neg { "-" } else { "!" },
                    other.describe()
                ),
                "invalid operand",
            ),
        }
    }

    /// `x = x + e` where `x` is a list or a string: `e` is evaluated first
    /// (reading `x` has no effect, so the order is not observable), then `x`
    /// is taken out of its binding so that, unless it is shared, the append
    /// happens in place: a loop of N appends is O(N), not O(N^2).
    fn append_in_place(&mut self, env: &mut Env, name: &Ident, value: &'a Expr) -> Option<Value> {
        let ExprKind::Binary {
            op: BinOp::Add,
            op_span,
            lhs,
            rhs,
        } = &value.kind
        else {
            return None;
        };
        let ExprKind::Name(id) = &lhs.kind else {
            return None;
        };
        if id.name != name.name
            || !matches!(env.lookup(&name.name), Some(Value::List(_) | Value::Str(_)))
        {
            return None;
        }
        if !self.enter(value.span) {
            return Some(Value::Error);
        }
        let r = self.eval(env, rhs);
        let l = env.take(&name.name).unwrap_or(Value::Error);
        let v = self.binary(BinOp::Add, *op_span, value.span, lhs.span, rhs.span, l, r);
        self.leave();
        Some(v)
    }

    #[allow(clippy::too_many_arguments)]
    fn binary(
        &mut self,
        op: BinOp,
        op_span: Span,
        span: Span,
        ls: Span,
        rs: Span,
        l: Value,
        r: Value,
    ) -> Value {
        use Value::*;
        let sym = op.as_str();
        match (l, r) {
            (Error, _) | (_, Error) => Error,
            (Tensor(a), Tensor(b)) => match op {
                BinOp::Add => self.tensor_binary(BinaryKind::Add, a, b, span, ls, rs, None),
                BinOp::Mul => self.tensor_binary(BinaryKind::Mul, a, b, span, ls, rs, None),
                BinOp::Sub | BinOp::Div | BinOp::Rem => {
                    self.report(
                        Diagnostic::error(
                            codes::TENSOR_SUB_DIV,
                            format!("`{sym}` is not defined on tensors"),
                        )
                        .with_primary(op_span, format!("`{sym}` between two tensors"))
                        .with_help("tensors support only element-wise `+` (add) and `*` (mul)"),
                    );
                    Error
                }
                _ => self.err(
                    codes::BAD_OPERANDS,
                    op_span,
                    format!("tensors cannot be compared with `{sym}`"),
                    "comparison of tensors",
                ),
            },
            (Tensor(_), other) | (other, Tensor(_)) => {
                self.report(
                    Diagnostic::error(
                        codes::BAD_OPERANDS,
                        format!("`{sym}` between a tensor and {}", other.describe()),
                    )
                    .with_primary(op_span, "invalid operands")
                    .with_help("tensor operations take two tensors; scalar arithmetic on tensors is not supported"),
                );
                Error
            }
            (Int(a, pa, da), Int(b, pb, db)) => {
                let res = match op {
                    BinOp::Add => a.checked_add(b),
                    BinOp::Sub => a.checked_sub(b),
                    BinOp::Mul => a.checked_mul(b),
                    BinOp::Div | BinOp::Rem => {
                        if b == 0 {
                            return self.err(
                                codes::DIV_BY_ZERO,
                                rs,
                                format!(
                                    "{} by zero",
                                    if op == BinOp::Div {
                                        "division"
                                    } else {
                                        "remainder"
                                    }
                                ),
                                "this is zero",
                            );
                        }
                        if op == BinOp::Div {
                            a.checked_div(b)
                        } else {
                            a.checked_rem(b)
                        }
                    }
                    BinOp::Eq => return Bool(a == b),
                    BinOp::Ne => return Bool(a != b),
                    BinOp::Lt => return Bool(a < b),
                    BinOp::Le => return Bool(a <= b),
                    BinOp::Gt => return Bool(a > b),
                    BinOp::Ge => return Bool(a >= b),
                    BinOp::And | BinOp::Or => None,
                };
                let prov = match op {
                    BinOp::Add => IntProv::Add(pa, pb),
                    BinOp::Sub => IntProv::Sub(pa, pb),
                    BinOp::Mul => IntProv::Mul(pa, pb),
                    BinOp::Div => IntProv::Div(pa, pb),
                    _ => IntProv::Rem(pa, pb),
                };
                match res {
                    Some(v) => Value::derived_int(v, prov, &[da, db]),
                    None => self.err(
                        codes::INT_OVERFLOW,
                        span,
                        format!("`{a} {sym} {b}` overflows a 64-bit int"),
                        "overflows",
                    ),
                }
            }
            (l @ (Int(..) | Float(_)), r @ (Int(..) | Float(_))) => {
                let f = |v: &Value| match v {
                    Int(n, ..) => *n as f64,
                    Float(x) => *x,
                    _ => 0.0,
                };
                let (a, b) = (f(&l), f(&r));
                match op {
                    BinOp::Add => Float(a + b),
                    BinOp::Sub => Float(a - b),
                    BinOp::Mul => Float(a * b),
                    BinOp::Div | BinOp::Rem => {
                        if b == 0.0 {
                            return self.err(
                                codes::DIV_BY_ZERO,
                                rs,
                                "division by zero",
                                "this is zero",
                            );
                        }
                        Float(if op == BinOp::Div { a / b } else { a % b })
                    }
                    BinOp::Eq => Bool(a == b),
                    BinOp::Ne => Bool(a != b),
                    BinOp::Lt => Bool(a < b),
                    BinOp::Le => Bool(a <= b),
                    BinOp::Gt => Bool(a > b),
                    BinOp::Ge => Bool(a >= b),
                    BinOp::And | BinOp::Or => Error,
                }
            }
            (Bool(a), Bool(b)) if matches!(op, BinOp::Eq | BinOp::Ne) => {
                Bool((a == b) == (op == BinOp::Eq))
            }
            (Str(a), Str(b)) if matches!(op, BinOp::Eq | BinOp::Ne) => {
                Bool((a == b) == (op == BinOp::Eq))
            }
            (Str(mut a), Str(b)) if op == BinOp::Add => {
                if a.len().saturating_add(b.len()) > self.limits.string_len {
                    self.limit(
                        codes::LIMIT_STRING,
                        span,
                        format!("a string longer than {} bytes", self.limits.string_len),
                        "too long",
                    );
                    return Error;
                }
                Rc::make_mut(&mut a).push_str(&b);
                Str(a)
            }
            (List(mut a), List(b)) if op == BinOp::Add => {
                if a.len().saturating_add(b.len()) > self.limits.list_len {
                    self.limit(
                        codes::LIMIT_LIST,
                        span,
                        format!("a list longer than {} elements", self.limits.list_len),
                        "too long",
                    );
                    return Error;
                }
                Seq::append(&mut a, &b);
                List(a)
            }
            (l, r) => {
                self.report(
                    Diagnostic::error(
                        codes::BAD_OPERANDS,
                        format!("cannot apply `{sym}` to {} and {}", l.kind(), r.kind()),
                    )
                    .with_primary(op_span, "invalid operands")
                    .with_secondary(ls, format!("this is {}", l.describe()))
                    .with_secondary(rs, format!("this is {}", r.describe())),
                );
                Error
            }
        }
    }

    /// `a + b` / `a * b` on tensors (also the ops `add` and `mul`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn tensor_binary(
        &mut self,
        kind: BinaryKind,
        a: NodeId,
        b: NodeId,
        span: Span,
        ls: Span,
        rs: Span,
        name: Option<&ArgV<'a>>,
    ) -> Value {
        let sa = self.graph.node(a).shape.clone();
        let sb = self.graph.node(b).shape.clone();
        if shape::broadcast(&sa, &sb).is_none() {
            let verb = if kind == BinaryKind::Add {
                "add"
            } else {
                "multiply"
            };
            self.report(
                Diagnostic::error(
                    codes::BROADCAST,
                    format!("cannot {verb} tensors of shapes {} and {}", fmt_shape(&sa), fmt_shape(&sb)),
                )
                .with_primary(span, "shapes do not broadcast")
                .with_secondary(ls, format!("shape {}", fmt_shape(&sa)))
                .with_secondary(rs, format!("shape {}", fmt_shape(&sb)))
                .with_help("the shapes must be equal, or broadcastable (each dimension equal or 1, aligned from the right)"),
            );
            return Value::Error;
        }
        match self.make_op(Op::Binary(kind), &[a, b], span, name) {
            Some(id) => Value::Tensor(id),
            None => Value::Error,
        }
    }

    // ----- calls -------------------------------------------------------

    fn eval_call(
        &mut self,
        env: &mut Env,
        e: &'a Expr,
        callee: &'a Ident,
        args: &'a [ast::Arg],
    ) -> Value {
        let mut vals: Vec<ArgV<'a>> = Vec::with_capacity(args.len());
        let mut seen_kw: Option<Span> = None;
        let mut bad = false;
        for a in args {
            match (&a.name, seen_kw) {
                (None, Some(kw)) => {
                    self.report(
                        Diagnostic::error(
                            codes::POSITIONAL_AFTER_KEYWORD,
                            "positional argument after a keyword argument",
                        )
                        .with_primary(a.span, "positional argument")
                        .with_secondary(kw, "keyword argument before it")
                        .with_help("put positional arguments first, or name this one"),
                    );
                    bad = true;
                }
                (Some(_), None) => seen_kw = Some(a.span),
                _ => {}
            }
            let v = self.eval(env, &a.value);
            vals.push(ArgV {
                name: a.name.as_ref(),
                value: v,
                span: a.value.span,
                arg_span: a.span,
            });
        }
        if bad || self.aborted {
            return Value::Error;
        }
        if let Some(b) = self.blocks.get(callee.name.as_str()).copied() {
            return self.call_block(e, callee, b, vals);
        }
        if let Some(sig) = builtins::lookup(&callee.name) {
            return self.call_builtin(sig, e, callee, vals);
        }
        let mut d = Diagnostic::error(
            codes::UNKNOWN_CALLEE,
            format!("unknown op or block `{}`", callee.name),
        )
        .with_primary(callee.span, "not an op or a block");
        let mut candidates: Vec<&str> = Vec::new();
        for n in builtins::names() {
            candidates.push(n);
        }
        candidates.extend(self.blocks.keys().copied());
        candidates.extend(env.names());
        if let Some(s) = suggest(&callee.name, &candidates) {
            d = d.with_help(format!("did you mean `{s}`?"));
        }
        if env.lookup(&callee.name).is_some() {
            d = d.with_note(format!(
                "`{}` is a value; only ops and blocks can be called",
                callee.name
            ));
        } else if self.networks.contains(callee.name.as_str()) {
            d = d.with_note(format!(
                "`{}` is a network; only blocks can be called",
                callee.name
            ));
        }
        self.report(d);
        Value::Error
    }

    /// Binds evaluated arguments to parameters: positional first, then
    /// keywords; `name` is taken apart when `allow_name`. Reports unknown,
    /// duplicate, missing and surplus arguments (with the definition as a
    /// secondary label when there is one). None if any error.
    pub(crate) fn bind(
        &mut self,
        callee: &Ident,
        params: &[&str],
        required: &[bool],
        args: Vec<ArgV<'a>>,
        allow_name: bool,
        def: Option<Span>,
    ) -> Option<Bound<'a>> {
        let mut slots: Vec<Option<ArgV<'a>>> = (0..params.len()).map(|_| None).collect();
        let mut name_arg: Option<ArgV<'a>> = None;
        let mut ok = true;
        let mut positional = 0usize;
        let with_def = |d: Diagnostic| match def {
            Some(s) => d.with_secondary(s, format!("`{}` is defined here", callee.name)),
            None => d,
        };
        for a in args {
            match a.name {
                None => {
                    if positional >= params.len() {
                        let d = Diagnostic::error(
                            codes::TOO_MANY_ARGS,
                            format!(
                                "`{}` takes at most {} positional argument{}",
                                callee.name,
                                params.len(),
                                if params.len() == 1 { "" } else { "s" }
                            ),
                        )
                        .with_primary(a.arg_span, "unexpected argument")
                        .with_note(format!("the parameters are: {}", params.join(", ")));
                        self.report(with_def(d));
                        ok = false;
                        continue;
                    }
                    slots[positional] = Some(a);
                    positional += 1;
                }
                Some(kw) => {
                    if kw.name == "name" && allow_name {
                        if let Some(prev) = &name_arg {
                            self.report(
                                Diagnostic::error(codes::DUPLICATE_ARG, "`name` is given twice")
                                    .with_primary(kw.span, "given again here")
                                    .with_secondary(prev.arg_span, "first given here"),
                            );
                            ok = false;
                        } else {
                            name_arg = Some(a);
                        }
                        continue;
                    }
                    match params.iter().position(|p| *p == kw.name) {
                        None => {
                            let mut d = Diagnostic::error(
                                codes::UNKNOWN_KEYWORD,
                                format!("`{}` has no parameter `{}`", callee.name, kw.name),
                            )
                            .with_primary(kw.span, "unknown keyword argument");
                            let mut cands: Vec<&str> = params.to_vec();
                            if allow_name {
                                cands.push("name");
                            }
                            d = match suggest(&kw.name, &cands) {
                                Some(s) => d.with_help(format!("did you mean `{s}`?")),
                                None => d.with_help(format!(
                                    "the parameters are: {}",
                                    if cands.is_empty() {
                                        "(none)".to_string()
                                    } else {
                                        cands.join(", ")
                                    }
                                )),
                            };
                            self.report(with_def(d));
                            ok = false;
                        }
                        Some(i) => {
                            if let Some(prev) = &slots[i] {
                                self.report(
                                    Diagnostic::error(
                                        codes::DUPLICATE_ARG,
                                        format!("argument `{}` is given twice", kw.name),
                                    )
                                    .with_primary(kw.span, "given again here")
                                    .with_secondary(prev.arg_span, "first given here"),
                                );
                                ok = false;
                            } else {
                                slots[i] = Some(a);
                            }
                        }
                    }
                }
            }
        }
        if ok {
            let missing: Vec<&str> = params
                .iter()
                .zip(required)
                .zip(&slots)
                .filter(|((_, r), s)| **r && s.is_none())
                .map(|((p, _), _)| *p)
                .collect();
            if !missing.is_empty() {
                let list = missing
                    .iter()
                    .map(|m| format!("`{m}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let d = Diagnostic::error(
                    codes::MISSING_ARG,
                    format!(
                        "missing argument{} {list} in the call of `{}`",
                        if missing.len() == 1 { "" } else { "s" },
                        callee.name
                    ),
                )
                .with_primary(callee.span, format!("needs {list}"))
                .with_help(format!("pass it, e.g. `{} = ...`", missing[0]));
                self.report(with_def(d));
                ok = false;
            }
        }
        ok.then_some((slots, name_arg))
    }

    fn call_block(
        &mut self,
        e: &'a Expr,
        callee: &'a Ident,
        b: &'a ast::Block,
        args: Vec<ArgV<'a>>,
    ) -> Value {
        if let Some(pos) = self.calls.iter().position(|c| std::ptr::eq(c.block, b)) {
            let mut chain: Vec<&str> = self.calls[pos..]
                .iter()
                .map(|c| c.block.name.name.as_str())
                .collect();
            chain.push(&b.name.name);
            let chain = chain.join(" -> ");
            let mut d = Diagnostic::error(
                codes::RECURSION,
                format!("recursive call of block `{}`: {chain}", b.name.name),
            )
            .with_primary(callee.span, format!("calls `{}` again", b.name.name))
            .with_secondary(
                self.calls[pos].span,
                format!("first call of `{}`", b.name.name),
            );
            for c in &self.calls[pos + 1..] {
                d = d.with_secondary(c.span, format!("calls `{}`", c.block.name.name));
            }
            self.report(
                d.with_note(format!("call chain: {chain}")).with_help(
                    "blocks are inlined at each call; repeat structure with a `for` loop",
                ),
            );
            return Value::Error;
        }
        self.block_calls += 1;
        if self.block_calls > self.limits.block_calls {
            self.limit(
                codes::LIMIT_CALLS,
                e.span,
                format!("more than {} block calls in total", self.limits.block_calls),
                "call limit reached here",
            );
            return Value::Error;
        }
        if self.calls.len() >= self.limits.call_depth {
            self.limit(
                codes::LIMIT_CALL_DEPTH,
                e.span,
                format!(
                    "block calls nest more than {} levels deep",
                    self.limits.call_depth
                ),
                "call depth limit reached here",
            );
            return Value::Error;
        }
        let params: Vec<&str> = b.params.iter().map(|p| p.name.name.as_str()).collect();
        let required: Vec<bool> = b.params.iter().map(|p| p.default.is_none()).collect();
        let Some((slots, name_arg)) =
            self.bind(callee, &params, &required, args, true, Some(b.name.span))
        else {
            return Value::Error;
        };
        let Ok(explicit) = self.explicit_name(name_arg.as_ref()) else {
            return Value::Error;
        };
        let full = self.next_name(&b.name.name, explicit);
        let parent = self.scopes.last().and_then(|s| s.instance);
        let id = self.graph.add_block(BlockInstance {
            name: full.clone(),
            block: b.name.name.clone(),
            parent,
            call_span: e.span,
        });
        self.scopes.push(Scope {
            prefix: full,
            counters: HashMap::new(),
            instance: Some(id),
        });
        self.calls.push(Call {
            block: b,
            span: e.span,
        });
        let mut env = Env::new();
        for (p, slot) in b.params.iter().zip(slots) {
            let v = match slot {
                Some(a) => a.value,
                None => match &p.default {
                    Some(d) => self.eval(&mut env, d),
                    None => Value::Error,
                },
            };
            env.define(&p.name.name, v);
        }
        let flow = self.exec_body(&mut env, &b.body);
        self.calls.pop();
        self.scopes.pop();
        match flow {
            Flow::Return(v) => v,
            Flow::Next => Value::Unit {
                block: Rc::from(b.name.name.as_str()),
                def: b.name.span,
            },
        }
    }

    // ----- naming and nodes --------------------------------------------

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
    fn check_weights(&mut self, op: &Op, inputs: &[NodeId], name: &str, span: Span) -> bool {
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
                                "the weight `{name}.{}` of shape {} has {count} elements, over the limit of {}",
                                w.suffix,
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

    fn duplicate_weight(&mut self, name: &str, prev: NodeId, span: Span) {
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

    // ----- kinds ----------------------------------------------------------

    /// The tensor in `v`, or a diagnostic (E0130) at `span`.
    pub(crate) fn expect_tensor(&mut self, v: &Value, span: Span, what: &str) -> Option<NodeId> {
        match v {
            Value::Tensor(id) => Some(*id),
            Value::Error | Value::Unit { .. } => None,
            other => {
                self.report(
                    Diagnostic::error(
                        codes::EXPECTED_TENSOR,
                        format!("expected a tensor for {what}, found {}", other.describe()),
                    )
                    .with_primary(span, format!("this is {}", other.describe())),
                );
                None
            }
        }
    }

    fn value_is_tensor(&mut self, span: Span, what: &str, expected: &str) {
        self.report(
            Diagnostic::error(
                codes::EXPECTED_VALUE,
                format!("expected {expected} for {what}, found a tensor"),
            )
            .with_primary(span, "this is a tensor")
            .with_help("tensors are run-time data; to use a size, query it: `channels(x)`, `height(x)`, `shape(x)`"),
        );
    }

    fn wrong_type(&mut self, span: Span, what: &str, expected: &str, v: &Value) {
        self.report(
            Diagnostic::error(
                codes::TYPE_MISMATCH,
                format!("expected {expected} for {what}, found {}", v.describe()),
            )
            .with_primary(span, format!("expected {expected}")),
        );
    }

    /// An int (with provenance), or a diagnostic at `span`.
    pub(crate) fn expect_int(
        &mut self,
        v: &Value,
        span: Span,
        what: &str,
    ) -> Option<(i64, Arc<IntProv>)> {
        match v {
            Value::Int(n, p, _) => Some((*n, p.clone())),
            Value::Error | Value::Unit { .. } => None,
            Value::Tensor(_) => {
                self.value_is_tensor(span, what, "an int");
                None
            }
            other => {
                self.wrong_type(span, what, "an int", other);
                None
            }
        }
    }

    /// A bool, or a diagnostic at `span`.
    pub(crate) fn expect_bool(&mut self, v: &Value, span: Span, what: &str) -> Option<bool> {
        match v {
            Value::Bool(b) => Some(*b),
            Value::Error | Value::Unit { .. } => None,
            Value::Tensor(_) => {
                self.value_is_tensor(span, what, "a bool");
                None
            }
            other => {
                self.wrong_type(span, what, "a bool", other);
                None
            }
        }
    }

    /// A float (ints convert), or a diagnostic at `span`.
    pub(crate) fn expect_float(&mut self, v: &Value, span: Span, what: &str) -> Option<f64> {
        match v {
            Value::Float(f) => Some(*f),
            Value::Int(n, ..) => Some(*n as f64),
            Value::Error | Value::Unit { .. } => None,
            Value::Tensor(_) => {
                self.value_is_tensor(span, what, "a number");
                None
            }
            other => {
                self.wrong_type(span, what, "a number", other);
                None
            }
        }
    }
}
