//! The parser (chumsky 0.12), tokens → AST, with error recovery.
//!
//! Pipeline of [`parse`]: [`lexer::lex`] → [`delims::balance`] (delimiters
//! matched and repaired, nesting bounded) → the chumsky grammar (`item.rs`, `expr.rs`;
//! `groups.rs` for delimited groups; expression trees bounded while they are
//! built) → diagnostics mapped from chumsky's errors to coded
//! [`Diagnostic`]s (`report.rs`).
//!
//! Recovery: a statement that does not parse is skipped up to its `;` (or the
//! `}` of its body) and becomes [`ast::StmtKind::Error`]; a missing `;` at the end
//! of a line is reported and assumed; a broken `( )`, `[ ]` or `{ }` group
//! inside an expression becomes [`ast::ExprKind::Error`]; an item that does not
//! parse is skipped up to the next `network`, `block` or `#`.
//!
//! The grammar's error type is [`custom::PError`]: chumsky's expected/found
//! errors, or a coded error raised inside the grammar (e.g. a positional
//! argument after a keyword argument) carried with its code, message, labels
//! and help.

mod custom;
mod expr;
mod groups;
mod item;
mod report;

use item::file_parser;
use report::convert;

use crate::ast;
use crate::delims;
use crate::lexer::{self, Token};
use chumsky::prelude::*;
use custom::PError;
use nnc_diag::{Diagnostic, Span};

type CSpan = SimpleSpan<usize>;
type Ex<'t, 's> = extra::Err<PError<'t, 's>>;

fn sp(s: CSpan) -> Span {
    Span::new(s.start, s.end)
}

/// Parses a file: see the module documentation.
pub fn parse(src: &str) -> (ast::File, Vec<Diagnostic>) {
    let lexed = lexer::lex(src);
    let mut diags = lexed.diags;
    let mut bal = delims::balance(lexed.tokens, src.len(), &lexed.suppress);
    diags.extend(bal.diags);
    bal.suppress.extend(lexed.suppress);
    // a parse error at the token after unknown characters repeats `E0002`
    for s in &lexed.stray {
        let next = bal
            .tokens
            .partition_point(|(_, t)| t.start < s.end)
            .min(bal.tokens.len());
        let upto = bal
            .tokens
            .get(next)
            .map_or(src.len(), |(_, t)| t.start as usize);
        bal.suppress.push(Span::new(s.start as usize, upto));
    }
    let suppress = Suppressed::new(&bal.suppress);
    let tokens: Vec<(Token<'_>, CSpan)> = bal
        .tokens
        .iter()
        .map(|&(t, s)| (t, CSpan::from(s.range())))
        .collect();
    let line_starts = first_on_line(src, &tokens);
    let eoi = CSpan::from(src.len()..src.len());
    let input = tokens[..].map(eoi, |(t, s)| (t, s));
    let (file, errs) = file_parser(&line_starts).parse(input).into_output_errors();
    let file = file.unwrap_or_default();
    let mut perrs: Vec<Diagnostic> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for e in errs {
        if let Some(d) = convert(&e, &tokens, src) {
            let at = d.primary_span().unwrap_or(Span::DUMMY);
            if !suppress.covers(at.start) && seen.insert((d.code, d.primary_span())) {
                perrs.push(d);
            }
        }
    }
    diags.extend(perrs);
    diags.sort_by_key(|d| d.primary_span().map(|s| (s.start, s.end)).unwrap_or((0, 0)));
    nnc_diag::cap(&mut diags);
    (file, diags)
}

/// Byte ranges where parse errors are not reported, for O(log n) lookups.
struct Suppressed {
    /// Starts, sorted.
    starts: Vec<u32>,
    /// `max_end[i]`: the largest end among the first `i + 1` ranges.
    max_end: Vec<u32>,
}

impl Suppressed {
    fn new(ranges: &[Span]) -> Suppressed {
        let mut r = ranges.to_vec();
        r.sort_unstable();
        let mut max_end = Vec::with_capacity(r.len());
        let mut m = 0;
        for s in &r {
            m = m.max(s.end);
            max_end.push(m);
        }
        Suppressed {
            starts: r.iter().map(|s| s.start).collect(),
            max_end,
        }
    }

    /// Whether some range `r` has `r.start <= at <= r.end`.
    fn covers(&self, at: u32) -> bool {
        let n = self.starts.partition_point(|&s| s <= at);
        n > 0 && self.max_end[n - 1] >= at
    }
}

/// The start offsets of tokens that are the first on their line, sorted.
fn first_on_line(src: &str, tokens: &[(Token<'_>, CSpan)]) -> Vec<usize> {
    let bytes = src.as_bytes();
    let mut v = Vec::new();
    let mut prev_end = 0usize;
    for (i, (_, s)) in tokens.iter().enumerate() {
        let gap = bytes.get(prev_end..s.start).unwrap_or(&[]);
        if i == 0 || gap.contains(&b'\n') {
            v.push(s.start);
        }
        prev_end = s.end.max(prev_end);
    }
    v
}

/// The deepest expression tree built; deeper ones are reported (E0017) and
/// replaced by [`ast::ExprKind::Error`] before they are built, so that no deep tree
/// ever exists (dropping or walking it would recurse that deep).
pub const MAX_EXPR_DEPTH: u32 = 1024;
/// The longest `else if` chain accepted (it nests in the AST).
pub const MAX_ELSE_IF: usize = 256;
