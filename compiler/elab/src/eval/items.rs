//! Top-level items: duplicate and shadowing checks, running the selected
//! network, and finishing (graph verification, result).

use super::env::Env;
use super::{Elab, Scope};
use crate::builtins;
use crate::codes;
use crate::value::Provenance;
use crate::Elaborated;
use nnc_diag::{Diagnostic, Span};
use nnc_ir::Graph;
use nnc_syntax::ast::{self};
use std::collections::HashMap;

impl<'a> Elab<'a> {
    pub(super) fn check_items(&mut self, file: &'a ast::File) {
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

    pub(super) fn run_network(&mut self, net: &'a ast::Network) {
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

    pub(super) fn finish(mut self, net: Option<&ast::Network>) -> Elaborated {
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
}
