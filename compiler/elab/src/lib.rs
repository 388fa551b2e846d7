//! Elaboration: AST → graph IR. Inlines blocks, evaluates compile-time values,
//! unrolls loops, names weights, infers shapes.
//!
//! The entry points are [`elaborate`] (default [`Limits`]) and
//! [`elaborate_with`]. [`networks`] and [`select_network`] let a driver list
//! the networks of a file and report a bad `--network` without elaborating.
//!
//! Every error is a coded diagnostic (codes in [`codes`], explained by
//! `nnc explain`); elaboration keeps going after an error where it can, and
//! a failed computation yields an error value that silences follow-ups.
//! No input can make it panic, overflow the stack or run unbounded: loop
//! iterations, graph size, tensor sizes, call and expression depth, list and
//! string lengths are limited ([`Limits`]).

mod builtins;
pub mod codes;
mod eval;
mod value;

pub use builtins::builtin_names;
pub use value::{IntProv, OpProvenance, ProvArg, Provenance};

use nnc_diag::{Diagnostic, Span};
use nnc_ir::Graph;
use nnc_syntax::ast;

/// Resource limits of elaboration. Exceeding one is a coded diagnostic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Total iterations of all `for` loops.
    pub loop_iterations: u64,
    /// Graph nodes (inputs included).
    pub nodes: usize,
    /// Elements of one tensor.
    pub tensor_elements: usize,
    /// Nesting of block calls.
    pub call_depth: usize,
    /// Nesting of expressions and statements being evaluated (across calls).
    pub eval_depth: usize,
    /// Elements of a compile-time list.
    pub list_len: usize,
    /// Bytes of a compile-time string.
    pub string_len: usize,
    /// Total block calls (instances), whatever their nesting.
    pub block_calls: u64,
    /// Total elements of all weight tensors.
    pub weight_elements: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            loop_iterations: 1_000_000,
            nodes: 1_000_000,
            tensor_elements: 1 << 31,
            call_depth: 256,
            eval_depth: 2_000,
            list_len: 1_000_000,
            string_len: 1_000_000,
            block_calls: 1_000_000,
            weight_elements: 1 << 31,
        }
    }
}

/// The result of elaborating one network.
#[derive(Debug)]
pub struct Elaborated {
    /// The network that was elaborated (None if none could be selected).
    pub network: Option<String>,
    /// The verified graph, when there were no errors.
    pub graph: Option<Graph>,
    /// Every diagnostic, in source order.
    pub diagnostics: Vec<Diagnostic>,
    /// For every conv2d/linear node: where its `out` and `groups` came from.
    pub provenance: Provenance,
}

impl Elaborated {
    /// True if any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.is_error())
    }
}

/// The networks of a file, in source order.
pub fn networks(file: &ast::File) -> Vec<&ast::Network> {
    file.items
        .iter()
        .filter_map(|i| match i {
            ast::Item::Network(n) => Some(n),
            ast::Item::Block(_) => None,
        })
        .collect()
}

/// Picks the network to elaborate: the named one, or the only one.
/// Errors: E0100 (no network), E0101 (several, none named; lists them),
/// E0102 (unknown name, with did-you-mean).
pub fn select_network<'a>(
    file: &'a ast::File,
    name: Option<&str>,
) -> Result<&'a ast::Network, Box<Diagnostic>> {
    let nets = networks(file);
    let list = || {
        nets.iter()
            .map(|n| format!("`{}`", n.name.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if nets.is_empty() {
        let d = Diagnostic::error(codes::NO_NETWORK, "this file defines no network")
            .with_help("add `network NAME { input x: [...]; ... output y = ...; }`");
        return Err(Box::new(match file.items.first() {
            Some(item) => d.with_primary(
                Span::new(0, 0),
                format!(
                    "the file has only blocks (the first is `{}`)",
                    item.name().name
                ),
            ),
            None => d,
        }));
    }
    match name {
        Some(want) => {
            if let Some(n) = nets.iter().find(|n| n.name.name == want) {
                return Ok(n);
            }
            let mut d = Diagnostic::error(
                codes::UNKNOWN_NETWORK,
                format!("no network named `{want}` in this file"),
            )
            .with_note(format!("the networks are: {}", list()));
            let names: Vec<&str> = nets.iter().map(|n| n.name.name.as_str()).collect();
            if let Some(s) = eval::diag::suggest(want, &names) {
                d = d.with_help(format!("did you mean `--network {s}`?"));
            }
            Err(Box::new(d))
        }
        None if nets.len() == 1 => Ok(nets[0]),
        None => {
            let mut d = Diagnostic::error(
                codes::SEVERAL_NETWORKS,
                format!(
                    "this file defines {} networks: choose one with `--network NAME`",
                    nets.len()
                ),
            );
            for (i, n) in nets.iter().enumerate() {
                d = if i == 0 {
                    d.with_primary(n.name.span, "network defined here")
                } else {
                    d.with_secondary(n.name.span, "network defined here")
                };
            }
            Err(Box::new(
                d.with_note(format!("the networks are: {}", list()))
                    .with_help(format!("pass `--network {}`", nets[0].name.name)),
            ))
        }
    }
}

/// Elaborates a network of the file (`network`: its name; None: the only
/// one) with the default [`Limits`].
pub fn elaborate(file: &ast::File, network: Option<&str>) -> Elaborated {
    elaborate_with(file, network, &Limits::default())
}

/// Elaborates with explicit limits. Runs on a helper thread with a large
/// stack so that deeply nested input fails with a diagnostic (the depth
/// limits) rather than a stack overflow.
pub fn elaborate_with(file: &ast::File, network: Option<&str>, limits: &Limits) -> Elaborated {
    const STACK: usize = 256 << 20;
    let run = || eval::run(file, network, limits);
    let mut r = std::thread::scope(|s| {
        match std::thread::Builder::new()
            .name("nnc-elab".into())
            .stack_size(STACK)
            .spawn_scoped(s, run)
        {
            Ok(h) => match h.join() {
                Ok(r) => r,
                Err(p) => std::panic::resume_unwind(p),
            },
            // No thread available: run here with a smaller depth budget.
            Err(_) => {
                let small = Limits {
                    eval_depth: limits.eval_depth.min(200),
                    call_depth: limits.call_depth.min(64),
                    ..limits.clone()
                };
                eval::run(file, network, &small)
            }
        }
    });
    nnc_diag::cap(&mut r.diagnostics);
    r
}
