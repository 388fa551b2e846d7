//! The delimiter pre-pass, run on the tokens before the parser.
//!
//! It matches `( ) [ ] { }` and string interpolations with an explicit stack
//! (no recursion) and repairs the token stream so that the parser always sees
//! balanced delimiters:
//!
//! - an unclosed opener at the end of the file gets a virtual closer there
//!   (`E0011`, with the opener as a secondary label);
//! - a closer that matches an opener deeper in the stack closes the openers
//!   above it with virtual closers (`E0012`);
//! - a `;` inside `( )` or `[ ]` (where it never belongs) closes them with
//!   virtual closers (`E0011`): `let y = [1, 2;` is an unclosed `[`;
//! - a `)` or `]` that closes nothing, while a `(` or `[` is open, is taken
//!   as the intended closer of that one (`E0012`);
//! - any other closer with no opener is dropped (`E0013`);
//! - a region nested deeper than [`MAX_NESTING`] is replaced by one
//!   [`Token::Error`] (`E0017`), so the parser's recursion is bounded.
//!
//! Parser errors inside a repaired region would only repeat the delimiter
//! error, so the region is returned for the parser to suppress them.

use crate::lexer::Token;
use nnc_diag::codes::syntax as code;
use nnc_diag::{Applicability, Diagnostic, Span, Suggestion};

/// The deepest delimiter nesting accepted.
pub const MAX_NESTING: usize = 256;

/// The repaired stream.
pub struct Balanced<'s> {
    pub tokens: Vec<(Token<'s>, Span)>,
    pub diags: Vec<Diagnostic>,
    /// Byte ranges in which parser errors are not reported.
    pub suppress: Vec<Span>,
}

fn closer_of(t: Token<'_>) -> Option<Token<'static>> {
    Some(match t {
        Token::LParen => Token::RParen,
        Token::LBracket => Token::RBracket,
        Token::LBrace => Token::RBrace,
        Token::InterpOpen => Token::InterpClose,
        _ => return None,
    })
}

fn is_closer(t: Token<'_>) -> bool {
    matches!(
        t,
        Token::RParen | Token::RBracket | Token::RBrace | Token::InterpClose
    )
}

fn show(t: Token<'_>) -> &'static str {
    t.text().unwrap_or("?")
}

/// Balances `tokens`; `eof` is the length of the source.
///
/// `swallowed`: regions eaten by an unterminated string or comment (already
/// reported); a delimiter left open across one is not reported again, since
/// its closer was most likely swallowed.
pub fn balance<'s>(tokens: Vec<(Token<'s>, Span)>, eof: usize, swallowed: &[Span]) -> Balanced<'s> {
    let across = |from: Span, to: usize| {
        swallowed
            .iter()
            .any(|r| from.start <= r.start && r.start as usize <= to)
    };
    let mut out: Vec<(Token<'s>, Span)> = Vec::with_capacity(tokens.len() + 4);
    let mut diags = Vec::new();
    let mut suppress = Vec::new();
    // open delimiters: (token, span)
    let mut stack: Vec<(Token<'s>, Span)> = Vec::new();
    let mut iter = tokens.into_iter();
    while let Some((tok, span)) = iter.next() {
        if closer_of(tok).is_some() {
            if stack.len() >= MAX_NESTING {
                // skip the whole too-deep region: up to the closer that brings
                // the depth back, or to the end of the file
                let mut depth = 1usize;
                let mut end = span.end;
                for (t, s) in iter.by_ref() {
                    end = s.end;
                    if closer_of(t).is_some() {
                        depth += 1;
                    } else if is_closer(t) {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                }
                let region = Span::new(span.start as usize, end as usize);
                diags.push(
                    Diagnostic::error(code::NESTING_TOO_DEEP, "nesting too deep")
                        .with_primary(
                            span,
                            format!(
                                "this `{}` is nested more than {MAX_NESTING} levels deep",
                                show(tok)
                            ),
                        )
                        .with_note(
                            "deeply nested input is rejected to protect the compiler's stack",
                        )
                        .with_help(
                            "simplify the expression, e.g. with intermediate `let` bindings",
                        ),
                );
                suppress.push(region);
                out.push((Token::Error, region));
                continue;
            }
            stack.push((tok, span));
            out.push((tok, span));
        } else if is_closer(tok) {
            match stack.last() {
                Some(&(open, _)) if closer_of(open) == Some(tok) => {
                    stack.pop();
                    out.push((tok, span));
                }
                _ => {
                    let pos = stack
                        .iter()
                        .rposition(|&(open, _)| closer_of(open) == Some(tok));
                    match pos {
                        Some(pos) => {
                            // close the openers above `pos` virtually
                            let (inner_open, inner_span) = stack[stack.len() - 1];
                            let mut diags_here = Vec::new();
                            diags_here.push(
                                Diagnostic::error(
                                    code::MISMATCHED_DELIMITER,
                                    format!("mismatched closing delimiter: `{}`", show(tok)),
                                )
                                .with_primary(span, "mismatched closing delimiter")
                                .with_secondary(inner_span, "unclosed delimiter")
                                .with_help(format!(
                                    "close the `{}` with `{}` first",
                                    show(inner_open),
                                    closer_of(inner_open).map(show).unwrap_or("?")
                                )),
                            );
                            if !across(inner_span, span.start as usize) {
                                diags.append(&mut diags_here);
                            }
                            suppress.push(Span::new(inner_span.start as usize, span.end as usize));
                            while stack.len() > pos + 1 {
                                if let Some((open, _)) = stack.pop() {
                                    if let Some(c) = closer_of(open) {
                                        out.push((
                                            c,
                                            Span::new(span.start as usize, span.start as usize),
                                        ));
                                    }
                                }
                            }
                            stack.pop();
                            out.push((tok, span));
                        }
                        None if matches!(
                            stack.last(),
                            Some((Token::LParen | Token::LBracket, _))
                        ) =>
                        {
                            // `f(a, b]`: most likely the wrong closer was typed
                            let (open, ospan) = stack[stack.len() - 1];
                            let want = closer_of(open).unwrap_or(tok);
                            let mut diags_here = Vec::new();
                            diags_here.push(
                                Diagnostic::error(
                                    code::MISMATCHED_DELIMITER,
                                    format!("mismatched closing delimiter: `{}`", show(tok)),
                                )
                                .with_primary(span, format!("expected `{}`", show(want)))
                                .with_secondary(
                                    ospan,
                                    format!(
                                        "this `{}` is not closed by `{}`",
                                        show(open),
                                        show(tok)
                                    ),
                                )
                                .with_suggestion(Suggestion {
                                    message: format!("write `{}`", show(want)),
                                    edits: vec![(span, show(want).to_string())],
                                    applicability: Applicability::MaybeIncorrect,
                                }),
                            );
                            if !across(ospan, span.start as usize) {
                                diags.append(&mut diags_here);
                            }
                            suppress.push(span);
                            stack.pop();
                            out.push((want, span));
                        }
                        None => {
                            let mut d = Diagnostic::error(
                                code::UNEXPECTED_CLOSING,
                                format!("unexpected closing delimiter: `{}`", show(tok)),
                            )
                            .with_primary(span, "no delimiter opens this");
                            if let Some(&(open, ospan)) = stack.last() {
                                d = d.with_secondary(
                                    ospan,
                                    format!(
                                        "the innermost open delimiter is this `{}`",
                                        show(open)
                                    ),
                                );
                            }
                            diags.push(
                                d.with_help("remove it, or add the missing opening delimiter"),
                            );
                            suppress.push(span);
                        }
                    }
                }
            }
        } else if tok == Token::Semi
            && matches!(stack.last(), Some((Token::LParen | Token::LBracket, _)))
        {
            // `;` never occurs inside `( )` or `[ ]`: they were left open
            let at = Span::new(span.start as usize, span.start as usize);
            let mut closers = String::new();
            let mut d: Option<Diagnostic> = None;
            let mut swallowed_closer = false;
            while let Some(&(open, ospan)) = stack.last() {
                swallowed_closer |= across(ospan, span.start as usize);
                if !matches!(open, Token::LParen | Token::LBracket) {
                    break;
                }
                stack.pop();
                let c = closer_of(open).unwrap_or(Token::RParen);
                closers.push_str(show(c));
                out.push((c, at));
                d = Some(match d {
                    None => Diagnostic::error(
                        code::UNCLOSED_DELIMITER,
                        format!("unclosed delimiter: `{}`", show(open)),
                    )
                    .with_primary(ospan, format!("this `{}` is never closed", show(open))),
                    Some(d) => d.with_secondary(
                        ospan,
                        format!("this `{}` is not closed either", show(open)),
                    ),
                });
            }
            if let (Some(d), false) = (d, swallowed_closer) {
                diags.push(
                    d.with_secondary(span, format!("expected `{closers}` before this `;`"))
                        .with_suggestion(Suggestion {
                            message: format!("close it with `{closers}`"),
                            edits: vec![(at, closers.clone())],
                            applicability: Applicability::MaybeIncorrect,
                        }),
                );
            }
            suppress.push(at);
            out.push((tok, span));
        } else {
            out.push((tok, span));
        }
    }
    if !stack.is_empty() {
        let at = Span::new(eof, eof);
        let report = !stack.iter().any(|&(_, ospan)| across(ospan, eof));
        let mut d = Diagnostic::error(
            code::UNCLOSED_DELIMITER,
            "this file contains an unclosed delimiter",
        )
        .with_primary(at, "the file ends here");
        for &(open, ospan) in stack.iter().rev() {
            d = d.with_secondary(ospan, format!("unclosed `{}`", show(open)));
        }
        if let Some(&(open, _)) = stack.last() {
            d = d.with_help(format!(
                "add the missing `{}`",
                closer_of(open).map(show).unwrap_or("?")
            ));
        }
        if report {
            diags.push(d);
        }
        // errors in the text before are likely genuine: suppress only those
        // at the virtual closers
        suppress.push(at);
        while let Some((open, _)) = stack.pop() {
            if let Some(c) = closer_of(open) {
                out.push((c, at));
            }
        }
    }
    Balanced {
        tokens: out,
        diags,
        suppress,
    }
}
