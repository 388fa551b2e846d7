//! Calls: argument evaluation, dispatch to builtins, and block calls
//! (inlined into a new naming scope).

use super::args::ArgV;
use super::diag::suggest;
use super::env::Env;
use super::stmt::Flow;
use super::{Call, Elab, Scope};
use crate::builtins;
use crate::codes;
use crate::value::Value;
use nnc_diag::{Diagnostic, Span};
use nnc_ir::BlockInstance;
use nnc_syntax::ast::{self, Expr, Ident};
use std::collections::HashMap;
use std::rc::Rc;

impl<'a> Elab<'a> {
    pub(super) fn eval_call(
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

    pub(super) fn call_block(
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
}
