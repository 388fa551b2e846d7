//! Architecture lints, in the style of clippy and ruff: one file per lint in
//! [`rules`] holding its logic, its documentation (`nnc explain NAME`) and its
//! pass/fail cases; one registry ([`registry`]); levels allow/warn/deny with
//! defaults and groups; command-line overrides (`-A/-W/-D`); in-source
//! attributes `#[allow(NAME)]`, `#[warn(NAME)]`, `#[deny(NAME)]` on a
//! statement, a block or a network.
//!
//! Lints run on the elaborated graph (costs come from `nnc-analysis`) and on
//! the syntax tree (for source-level lints and the attributes).

pub mod levels;
pub mod rules;

use nnc_diag::{Diagnostic, Level as DiagLevel, Span};
use nnc_ir::{Graph, NodeId};
use nnc_syntax::ast;

pub use levels::{LevelConfig, LintLevel, UnknownLint};

/// The static description of a lint.
#[derive(Debug)]
pub struct LintMeta {
    /// snake_case name, used on the command line and in attributes.
    pub name: &'static str,
    /// Stable code, `L0001`...
    pub code: &'static str,
    /// Group names it belongs to (besides `all`).
    pub groups: &'static [&'static str],
    pub default: LintLevel,
    /// One line.
    pub summary: &'static str,
    /// Long documentation: what it checks, why, an example, how to fix.
    pub docs: &'static str,
}

/// Everything a lint may look at.
pub struct LintContext<'a> {
    pub graph: &'a Graph,
    pub ast: &'a ast::File,
    pub source: &'a str,
    pub analysis: &'a nnc_analysis::Analysis,
    /// f32 lanes of the target's vectors: 8 for AVX2, 16 for AVX-512, 4 for NEON.
    pub simd_lanes: usize,
}

/// A finding of a lint, before levels are applied.
pub struct Finding {
    pub diag: Diagnostic,
    /// The node it is about, if any: an attribute on the call of any block
    /// instance enclosing the node also controls the finding.
    pub node: Option<NodeId>,
}

impl Finding {
    pub fn new(diag: Diagnostic) -> Finding {
        Finding { diag, node: None }
    }

    pub fn at_node(diag: Diagnostic, node: NodeId) -> Finding {
        Finding {
            diag,
            node: Some(node),
        }
    }
}

/// A lint: its metadata and its check.
pub trait Lint: Sync {
    fn meta(&self) -> &'static LintMeta;
    fn check(&self, cx: &LintContext, out: &mut Vec<Finding>);
}

/// Every lint, in code order.
pub fn registry() -> &'static [&'static dyn Lint] {
    rules::ALL
}

/// Looks a lint up by name (or by code, case-insensitively).
pub fn lookup(name: &str) -> Option<&'static LintMeta> {
    registry()
        .iter()
        .map(|l| l.meta())
        .find(|m| m.name == name || m.code.eq_ignore_ascii_case(name))
}

/// Every group name with its members (`all` first).
pub fn groups() -> Vec<(&'static str, Vec<&'static str>)> {
    let mut out: Vec<(&'static str, Vec<&'static str>)> =
        vec![("all", registry().iter().map(|l| l.meta().name).collect())];
    for l in registry() {
        for g in l.meta().groups {
            match out.iter_mut().find(|(n, _)| n == g) {
                Some((_, v)) => v.push(l.meta().name),
                None => out.push((g, vec![l.meta().name])),
            }
        }
    }
    out
}

/// Runs every lint whose level is not `allow` and returns its diagnostics,
/// with levels applied (command line, then in-source attributes: the
/// innermost attribute wins), sorted by position.
pub fn run(cx: &LintContext, config: &LevelConfig) -> Vec<Diagnostic> {
    let scopes = levels::attribute_scopes(cx.ast);
    let mut out = Vec::new();
    for lint in registry() {
        let meta = lint.meta();
        // A lint allowed everywhere (and never re-enabled by an attribute) is skipped.
        let base = config.level_of(meta);
        if base == LintLevel::Allow && !scopes.iter().any(|s| s.names_lint(meta.name)) {
            continue;
        }
        let mut findings = Vec::new();
        lint.check(cx, &mut findings);
        // One diagnostic per source location: an op inside a block called ten
        // times is reported once, with the number of instances.
        let mut kept: Vec<(Diagnostic, usize, LintLevel)> = Vec::new();
        let mut index: std::collections::HashMap<(Option<Span>, DiagLevel), usize> =
            std::collections::HashMap::new();
        for f in findings {
            let spans = finding_spans(cx.graph, &f);
            let level = levels::effective_level(base, meta, &scopes, &spans);
            let level = config.apply_warnings_override(level);
            let diag_level = match level {
                LintLevel::Allow => continue,
                LintLevel::Warn => DiagLevel::Warning,
                LintLevel::Deny => DiagLevel::Error,
            };
            let mut d = f.diag;
            d.level = diag_level;
            d.code = meta.code;
            d.lint = Some(meta.name);
            match index.entry((d.primary_span(), d.level)) {
                std::collections::hash_map::Entry::Occupied(e) => kept[*e.get()].1 += 1,
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(kept.len());
                    kept.push((d, 1, level));
                }
            }
        }
        for (i, (mut d, n, level)) in kept.into_iter().enumerate() {
            if n > 1 {
                d.notes.push(format!("this op has {n} instances (block calls or loop iterations); the figures are for the first"));
            }
            if i == 0 {
                let why = if level != config.apply_warnings_override(base) {
                    format!(
                        "`{}` set to {} by an attribute in the source",
                        meta.name,
                        level_word(level)
                    )
                } else if config.level_of(meta) == meta.default && base == meta.default {
                    format!(
                        "`#[{}({})]` on by default",
                        level_word(meta.default),
                        meta.name
                    )
                } else {
                    format!(
                        "`{}` set to {} on the command line",
                        meta.name,
                        level_word(base)
                    )
                };
                d.notes.push(why);
            }
            out.push(d);
        }
    }
    out.sort_by_key(|d| d.primary_span().map(|s| (s.start, s.end)).unwrap_or((0, 0)));
    out
}

fn level_word(l: LintLevel) -> &'static str {
    match l {
        LintLevel::Allow => "allow",
        LintLevel::Warn => "warn",
        LintLevel::Deny => "deny",
    }
}

/// The spans whose attributes control a finding: its primary span, then the
/// call sites of the block instances around its node, innermost first.
fn finding_spans(g: &Graph, f: &Finding) -> Vec<Span> {
    let mut v = Vec::new();
    if let Some(s) = f.diag.primary_span() {
        v.push(s);
    }
    if let Some(n) = f.node {
        if g.contains(n) {
            for b in g.block_path(n).into_iter().rev() {
                v.push(g.block(b).call_span);
            }
        }
    }
    v
}

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn registry_is_consistent() {
        let mut names = HashSet::new();
        let mut codes = HashSet::new();
        for l in registry() {
            let m = l.meta();
            assert!(names.insert(m.name), "duplicate lint {}", m.name);
            assert!(codes.insert(m.code), "duplicate code {}", m.code);
            assert!(m.code.starts_with('L') && m.code.len() == 5, "{}", m.code);
            assert!(!m.docs.is_empty() && !m.summary.is_empty());
            assert!(m.name.starts_with(|c: char| c.is_ascii_lowercase()));
            assert!(m
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
        }
        assert!(lookup("unbalanced_channels").is_some());
        assert!(groups().iter().any(|(g, _)| *g == "guidelines"));
    }
}
