//! Diagnostics: recording (deduplicated, capped, labelled with the
//! enclosing block call) and "did you mean" suggestions.

use super::Elab;
use crate::value::Value;
use nnc_diag::suggest::did_you_mean;
use nnc_diag::{Diagnostic, Span};

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

impl<'a> Elab<'a> {
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
}
