//! Coded errors raised inside the grammar, carried through chumsky as
//! `Rich::custom` messages.

use super::{sp, CSpan};
use crate::lexer::Token;
use chumsky::error::Rich;
use nnc_diag::{Diagnostic, Span};

/// A coded error raised inside the grammar.
pub(super) struct Custom {
    code: &'static str,
    message: String,
    label: String,
    help: String,
    secondary: Option<(Span, String)>,
}

pub(super) const SEP: char = '\u{1f}';

impl Custom {
    pub(super) fn new(
        code: &'static str,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Custom {
        Custom {
            code,
            message: message.into(),
            label: label.into(),
            help: String::new(),
            secondary: None,
        }
    }
    pub(super) fn help(mut self, h: impl Into<String>) -> Custom {
        self.help = h.into();
        self
    }
    pub(super) fn secondary(mut self, s: Span, m: impl Into<String>) -> Custom {
        self.secondary = Some((s, m.into()));
        self
    }
    pub(super) fn encode(&self) -> String {
        let (ss, se, sm) = match &self.secondary {
            Some((s, m)) => (s.start, s.end, m.as_str()),
            None => (0, 0, ""),
        };
        format!(
            "{}{SEP}{}{SEP}{}{SEP}{}{SEP}{ss}{SEP}{se}{SEP}{sm}",
            self.code, self.message, self.label, self.help
        )
    }
    pub(super) fn into_rich<'t, 's>(self, span: CSpan) -> Rich<'t, Token<'s>, CSpan> {
        Rich::custom(span, self.encode())
    }
    pub(super) fn decode(msg: &str, span: CSpan) -> Option<Diagnostic> {
        let f: Vec<&str> = msg.split(SEP).collect();
        if f.len() != 7 {
            return None;
        }
        let code = syntax_code(f[0])?;
        let mut d = Diagnostic::error(code, f[1]).with_primary(sp(span), f[2]);
        let (ss, se) = (f[4].parse::<usize>().ok()?, f[5].parse::<usize>().ok()?);
        if !f[6].is_empty() {
            d = d.with_secondary(Span::new(ss, se), f[6]);
        }
        if !f[3].is_empty() {
            d = d.with_help(f[3]);
        }
        Some(d)
    }
}

/// The `&'static str` of a syntax code (diagnostics need static codes).
pub(super) fn syntax_code(c: &str) -> Option<&'static str> {
    const CODES: &[&str] = &[
        "E0010", "E0014", "E0015", "E0016", "E0017", "E0018", "E0019", "E0020", "E0021",
    ];
    CODES.iter().copied().find(|k| *k == c)
}
