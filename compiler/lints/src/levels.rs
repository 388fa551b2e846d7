//! Lint levels: defaults, command-line overrides and in-source attributes.

use crate::{registry, LintMeta};
use nnc_diag::codes::build as code;
use nnc_diag::{Diagnostic, Span};
use nnc_syntax::ast;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LintLevel {
    Allow,
    Warn,
    Deny,
}

impl LintLevel {
    pub fn parse(s: &str) -> Option<LintLevel> {
        match s {
            "allow" => Some(LintLevel::Allow),
            "warn" => Some(LintLevel::Warn),
            "deny" => Some(LintLevel::Deny),
            _ => None,
        }
    }
}

/// A `-A`/`-W`/`-D` name that is no lint, group or `warnings`, with the
/// closest known name if one is close.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownLint {
    pub name: String,
    pub did_you_mean: Option<String>,
}

impl std::fmt::Display for UnknownLint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown lint or lint group `{}`", self.name)?;
        if let Some(s) = &self.did_you_mean {
            write!(f, " (did you mean `{s}`?)")?;
        }
        Ok(())
    }
}

impl std::error::Error for UnknownLint {}

/// Levels set on the command line, in order (later flags win, as in rustc).
#[derive(Clone, Debug, Default)]
pub struct LevelConfig {
    /// (lint, group or `warnings`, level) in command-line order.
    pub overrides: Vec<(String, LintLevel)>,
}

impl LevelConfig {
    /// Builds the configuration from `-A`, `-W`, `-D` lists. Unknown names
    /// are returned as diagnostics-to-be (the caller reports them as usage
    /// errors). The relative order of different flags is not kept by clap, so
    /// allow < warn < deny are applied in that order.
    pub fn from_flags(
        allow: &[String],
        warn: &[String],
        deny: &[String],
    ) -> Result<LevelConfig, UnknownLint> {
        let mut overrides = Vec::new();
        for (names, level) in [
            (allow, LintLevel::Allow),
            (warn, LintLevel::Warn),
            (deny, LintLevel::Deny),
        ] {
            for n in names {
                if !is_known(n) {
                    let all: Vec<&str> = known_names().collect();
                    return Err(UnknownLint {
                        name: n.clone(),
                        did_you_mean: nnc_diag::suggest::did_you_mean(n, all.iter().copied())
                            .map(|s| s.to_string()),
                    });
                }
                overrides.push((n.clone(), level));
            }
        }
        Ok(LevelConfig { overrides })
    }

    /// The level of a lint before attributes: its default, then overrides
    /// naming it or one of its groups (`warnings` is handled separately).
    pub fn level_of(&self, meta: &LintMeta) -> LintLevel {
        let mut level = meta.default;
        for (n, l) in &self.overrides {
            if n == meta.name || n == "all" || meta.groups.contains(&n.as_str()) {
                level = *l;
            }
        }
        level
    }

    /// `-D warnings` turns every warning into an error; `-A warnings` silences them.
    pub fn apply_warnings_override(&self, level: LintLevel) -> LintLevel {
        let mut out = level;
        for (n, l) in &self.overrides {
            if n == "warnings" && level == LintLevel::Warn {
                out = *l;
            }
        }
        out
    }
}

fn known_names() -> impl Iterator<Item = &'static str> {
    registry()
        .iter()
        .map(|l| l.meta().name)
        .chain(crate::groups().into_iter().map(|(g, _)| g))
        .chain(std::iter::once("warnings"))
}

fn is_known(name: &str) -> bool {
    known_names().any(|n| n == name)
}

/// A region of source under a lint attribute.
#[derive(Clone, Debug)]
pub struct AttrScope {
    /// The statement or item the attribute applies to.
    pub span: Span,
    pub level: LintLevel,
    /// Lint names or group names.
    pub names: Vec<String>,
    pub attr_span: Span,
}

impl AttrScope {
    pub fn names_lint(&self, lint: &str) -> bool {
        self.names.iter().any(|n| n == lint)
    }

    fn applies_to(&self, meta: &LintMeta) -> bool {
        self.names
            .iter()
            .any(|n| n == meta.name || n == "all" || meta.groups.contains(&n.as_str()))
    }
}

/// Collects every lint attribute of the file with the span it covers.
pub fn attribute_scopes(file: &ast::File) -> Vec<AttrScope> {
    let mut out = Vec::new();
    for item in &file.items {
        let (attrs, span, body) = match item {
            ast::Item::Network(n) => (&n.attrs, n.span, &n.body),
            ast::Item::Block(b) => (&b.attrs, b.span, &b.body),
        };
        push_attrs(attrs, span, &mut out);
        body_scopes(body, &mut out);
    }
    out
}

fn push_attrs(attrs: &[ast::Attr], span: Span, out: &mut Vec<AttrScope>) {
    for a in attrs {
        if let Some(level) = LintLevel::parse(&a.name.name) {
            out.push(AttrScope {
                span,
                level,
                names: a.args.iter().map(|i| i.name.clone()).collect(),
                attr_span: a.span,
            });
        }
    }
}

fn body_scopes(body: &ast::Body, out: &mut Vec<AttrScope>) {
    for s in &body.stmts {
        push_attrs(&s.attrs, s.span, out);
        match &s.kind {
            ast::StmtKind::For { body, .. } => body_scopes(body, out),
            ast::StmtKind::If {
                then_body,
                else_body,
                ..
            } => {
                body_scopes(then_body, out);
                if let Some(e) = else_body {
                    body_scopes(e, out);
                }
            }
            _ => {}
        }
    }
}

/// The level of one finding: for each span that controls it (its own span
/// first, then enclosing block calls), the innermost attribute scope that
/// contains it and names the lint decides; otherwise the base level.
///
/// Then, as in rustc, a finding that is still a warning takes the level of
/// the innermost `#[deny(warnings)]` / `#[allow(warnings)]` /
/// `#[warn(warnings)]` scope containing it.
pub fn effective_level(
    base: LintLevel,
    meta: &LintMeta,
    scopes: &[AttrScope],
    spans: &[Span],
) -> LintLevel {
    let innermost = |sp: &Span, pick: &dyn Fn(&AttrScope) -> bool| {
        scopes
            .iter()
            .filter(|s| pick(s) && s.span.start <= sp.start && sp.end <= s.span.end)
            .min_by_key(|s| s.span.len())
            .map(|s| s.level)
    };
    let level = spans
        .iter()
        .find_map(|sp| innermost(sp, &|s| s.applies_to(meta)))
        .unwrap_or(base);
    if level != LintLevel::Warn {
        return level;
    }
    spans
        .iter()
        .find_map(|sp| innermost(sp, &|s| s.names_lint("warnings")))
        .unwrap_or(level)
}

/// Diagnostics for attributes that name unknown lints or levels (warnings,
/// code `W0001`: the code itself is registered by the driver).
pub fn check_attributes(file: &ast::File) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut visit = |attrs: &[ast::Attr]| {
        for a in attrs {
            if LintLevel::parse(&a.name.name).is_none() {
                out.push(
                    Diagnostic::warning(
                        code::UNKNOWN_ATTRIBUTE,
                        format!("unknown attribute `{}`", a.name.name),
                    )
                    .with_primary(a.name.span, "not a lint level")
                    .with_help(
                        "lint attributes are `#[allow(..)]`, `#[warn(..)]` and `#[deny(..)]`",
                    ),
                );
                continue;
            }
            for n in &a.args {
                if !is_known(&n.name) {
                    let all: Vec<&str> = known_names().collect();
                    let mut d = Diagnostic::warning(
                        code::UNKNOWN_ATTRIBUTE,
                        format!("unknown lint `{}`", n.name),
                    )
                    .with_primary(n.span, "no lint or group has this name");
                    if let Some(s) = nnc_diag::suggest::did_you_mean(&n.name, all.iter().copied()) {
                        d = d.with_help(format!("did you mean `{s}`?"));
                    }
                    out.push(d);
                }
            }
        }
    };
    fn walk(body: &ast::Body, visit: &mut dyn FnMut(&[ast::Attr])) {
        for s in &body.stmts {
            visit(&s.attrs);
            match &s.kind {
                ast::StmtKind::For { body, .. } => walk(body, visit),
                ast::StmtKind::If {
                    then_body,
                    else_body,
                    ..
                } => {
                    walk(then_body, visit);
                    if let Some(e) = else_body {
                        walk(e, visit);
                    }
                }
                _ => {}
            }
        }
    }
    for item in &file.items {
        match item {
            ast::Item::Network(n) => {
                visit(&n.attrs);
                walk(&n.body, &mut visit);
            }
            ast::Item::Block(b) => {
                visit(&b.attrs);
                walk(&b.body, &mut visit);
            }
        }
    }
    out
}
