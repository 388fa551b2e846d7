//! The parser's error type: chumsky's [`Rich`] expected/found errors, or a
//! coded error raised inside the grammar ([`Custom`]: the [`Diagnostic`]
//! itself, with a code of the table, message, help and secondary labels,
//! waiting only for its primary label's span), carried as it is through
//! chumsky and completed by `report.rs`.

use super::{sp, CSpan};
use crate::lexer::Token;
use chumsky::error::{Error, LabelError, Rich, RichPattern};
use chumsky::input::Input;
use chumsky::util::MaybeRef;
use nnc_diag::{Diagnostic, Label, Span};

/// A coded error raised inside the grammar: its diagnostic, and the text of
/// the primary label, whose span is the span of the [`PError`] that carries
/// it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Custom {
    /// Coded with a constant of `nnc_diag::codes::syntax`; no primary label
    /// yet.
    diagnostic: Diagnostic,
    label: String,
}

impl Custom {
    pub(super) fn new(
        code: &'static str,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Custom {
        Custom {
            diagnostic: Diagnostic::error(code, message),
            label: label.into(),
        }
    }
    pub(super) fn help(mut self, h: impl Into<String>) -> Custom {
        self.diagnostic = self.diagnostic.with_help(h);
        self
    }
    pub(super) fn secondary(mut self, s: Span, m: impl Into<String>) -> Custom {
        self.diagnostic = self.diagnostic.with_secondary(s, m);
        self
    }
    /// The error raised at `span`.
    pub(super) fn at<'t, 's>(self, span: CSpan) -> PError<'t, 's> {
        PError::Coded(span, Box::new(self))
    }
    /// The diagnostic, with its primary label (first) at `span`.
    pub(super) fn diagnostic(&self, span: CSpan) -> Diagnostic {
        let mut d = self.diagnostic.clone();
        d.labels.insert(
            0,
            Label {
                span: sp(span),
                message: self.label.clone(),
                primary: true,
            },
        );
        d
    }
}

/// An error of the grammar.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum PError<'t, 's> {
    /// What chumsky expected and found.
    Expected(Rich<'t, Token<'s>, CSpan>),
    /// A coded error raised by the grammar.
    Coded(CSpan, Box<Custom>),
    /// A failure that only steers recovery: it is never reported.
    Silent(CSpan),
}

impl PError<'_, '_> {
    pub(super) fn span(&self) -> CSpan {
        match self {
            PError::Expected(r) => *r.span(),
            PError::Coded(s, _) | PError::Silent(s) => *s,
        }
    }

    fn with_span(self, span: CSpan) -> Self {
        match self {
            PError::Coded(_, c) => PError::Coded(span, c),
            PError::Silent(_) => PError::Silent(span),
            e => e,
        }
    }
}

// Merging follows `Rich`'s rules: a coded (or silent) error wins over an
// expected/found one, the first of two wins, and the span is the first's.
impl<'t, 's, I> Error<'t, I> for PError<'t, 's>
where
    I: Input<'t, Token = Token<'s>, Span = CSpan>,
{
    fn merge(self, other: Self) -> Self {
        match (self, other) {
            (PError::Expected(a), PError::Expected(b)) => {
                PError::Expected(<Rich<_, _> as Error<'t, I>>::merge(a, b))
            }
            (PError::Expected(a), b) => b.with_span(*a.span()),
            (a, _) => a,
        }
    }
}

impl<'t, 's, I, L> LabelError<'t, I, L> for PError<'t, 's>
where
    I: Input<'t, Token = Token<'s>, Span = CSpan>,
    L: Into<RichPattern<'t, Token<'s>>>,
{
    fn expected_found<E: IntoIterator<Item = L>>(
        expected: E,
        found: Option<MaybeRef<'t, Token<'s>>>,
        span: CSpan,
    ) -> Self {
        PError::Expected(<Rich<_, _> as LabelError<'t, I, L>>::expected_found(
            expected, found, span,
        ))
    }

    fn merge_expected_found<E: IntoIterator<Item = L>>(
        self,
        expected: E,
        found: Option<MaybeRef<'t, Token<'s>>>,
        span: CSpan,
    ) -> Self {
        match self {
            PError::Expected(r) => {
                PError::Expected(<Rich<_, _> as LabelError<'t, I, L>>::merge_expected_found(
                    r, expected, found, span,
                ))
            }
            e => e,
        }
    }

    fn replace_expected_found<E: IntoIterator<Item = L>>(
        self,
        expected: E,
        found: Option<MaybeRef<'t, Token<'s>>>,
        span: CSpan,
    ) -> Self {
        match self {
            PError::Expected(r) => PError::Expected(
                <Rich<_, _> as LabelError<'t, I, L>>::replace_expected_found(
                    r, expected, found, span,
                ),
            ),
            _ => <Self as LabelError<'t, I, L>>::expected_found(expected, found, span),
        }
    }

    fn label_with(&mut self, label: L) {
        match self {
            PError::Expected(r) => <Rich<_, _> as LabelError<'t, I, L>>::label_with(r, label),
            e => {
                let span = e.span();
                *e = <Self as LabelError<'t, I, L>>::expected_found([label], None, span);
            }
        }
    }

    fn in_context(&mut self, label: L, span: CSpan) {
        if let PError::Expected(r) = self {
            <Rich<_, _> as LabelError<'t, I, L>>::in_context(r, label, span);
        }
    }
}
