//! The elaborator proper: the `Elab` state (graph under construction,
//! naming scopes, active block calls, limit counters) and the entry point.
//! Its methods are grouped by concern in the submodules.

mod args;
mod builtin;
mod call;
mod constants;
pub(crate) mod diag;
mod env;
mod expr;
mod items;
mod kinds;
mod nodes;
mod ops;
mod stmt;
mod tensor_ops;

use crate::codes;
use crate::value::OpProvenance;
use crate::{Elaborated, Limits};
use nnc_diag::{Diagnostic, Span};
use nnc_ir::{BlockId, Graph, NodeId};
use nnc_syntax::ast::{self};
use std::collections::{HashMap, HashSet};

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
}
