//! chumsky errors → coded diagnostics.

use super::custom::PError;
use super::groups::CLOSERS;
use super::item::ITEM_KEYWORDS;
use super::{sp, CSpan};
use crate::lexer::Token;
use chumsky::error::{RichPattern, RichReason};
use nnc_diag::codes::syntax as code;
use nnc_diag::{Applicability, Diagnostic, Span, Suggestion};

pub(super) const OPERATORS: [Token<'static>; 15] = [
    Token::Plus,
    Token::Minus,
    Token::Star,
    Token::Slash,
    Token::Percent,
    Token::EqEq,
    Token::NotEq,
    Token::Lt,
    Token::Le,
    Token::Gt,
    Token::Ge,
    Token::AndAnd,
    Token::OrOr,
    Token::Pipe,
    Token::LBracket,
];

/// Describes an expected pattern for a message; None to leave it out.
pub(super) fn pattern_text(p: &RichPattern<'_, Token<'_>>) -> Option<String> {
    match p {
        RichPattern::Token(t) => Some(match &**t {
            Token::Ident(_) => "identifier".to_string(),
            t => match t.text() {
                Some(s) => format!("`{s}`"),
                None => t.describe(),
            },
        }),
        RichPattern::Label(l) => Some(l.to_string()),
        RichPattern::Identifier(i) => Some(format!("`{i}`")),
        RichPattern::EndOfInput => Some("end of file".to_string()),
        RichPattern::Any => Some("something".to_string()),
        _ => None,
    }
}

/// "`a`", "`a` or `b`", "one of `a`, `b` or `c`".
pub(super) fn one_of(items: &[String]) -> String {
    match items {
        [] => "something else".to_string(),
        [a] => a.clone(),
        [a, b] => format!("{a} or {b}"),
        _ => {
            let (last, init) = items.split_last().unwrap_or((&items[0], &[]));
            format!("one of {} or {last}", init.join(", "))
        }
    }
}

/// The token just before byte `pos` (its index in `tokens`).
pub(super) fn token_before(tokens: &[(Token<'_>, CSpan)], pos: usize) -> Option<usize> {
    let i = tokens.partition_point(|(_, s)| s.end <= pos);
    i.checked_sub(1)
}

pub(super) fn convert(
    e: &PError<'_, '_>,
    tokens: &[(Token<'_>, CSpan)],
    src: &str,
) -> Option<Diagnostic> {
    let e = match e {
        PError::Expected(e) => e,
        PError::Coded(span, c) => return Some(c.diagnostic(*span)),
        PError::Silent(_) => return None,
    };
    let span = *e.span();
    match e.reason() {
        // the grammar raises no `Rich::custom` errors (coded ones are `PError::Coded`)
        RichReason::Custom(msg) => Some(
            Diagnostic::error(code::UNEXPECTED_TOKEN, msg.clone()).with_primary(sp(span), "here"),
        ),
        RichReason::ExpectedFound { expected, found } => {
            let found_tok: Option<Token<'_>> = found.as_deref().copied();
            // an invalid token was already reported by the lexer or the
            // delimiter pass
            if found_tok == Some(Token::Error) {
                return None;
            }
            let found_text = match found_tok {
                Some(t)
                    if span.start == span.end && is_closer_tok(t) && span.start == src.len() =>
                {
                    "end of file".to_string()
                }
                Some(t) => t.describe(),
                None => "end of file".to_string(),
            };
            let has = |t: Token<'static>| {
                expected
                    .iter()
                    .any(|p| matches!(p, RichPattern::Token(x) if **x == t))
            };
            let mut items: Vec<String> = Vec::new();
            let op_label = expected
                .iter()
                .any(|p| matches!(p, RichPattern::Label(l) if l == "an operator"));
            let n_ops = if op_label {
                usize::MAX
            } else {
                OPERATORS.iter().filter(|t| has(**t)).count()
            };
            let mut saw_op = false;
            for p in expected {
                if let RichPattern::Token(t) = p {
                    if n_ops >= 3 && OPERATORS.contains(&**t) {
                        saw_op = true;
                        continue;
                    }
                }
                if let RichPattern::Label(l) = p {
                    if l == "an operator" {
                        saw_op = true;
                        continue;
                    }
                }
                if let Some(s) = pattern_text(p) {
                    if !items.contains(&s) {
                        items.push(s);
                    }
                }
            }
            // an attribute can start a statement or an item: not worth listing
            if items.iter().any(|s| s == "statement" || s == "an item") {
                items.retain(|s| s != "`#`");
            }
            items.sort_by_key(|s| expected_rank(s));
            if saw_op {
                items.push("an operator".to_string());
            }

            // missing `;` at the end of a line (or before `}`)
            if has(Token::Semi) {
                let starts_line = tokens
                    .iter()
                    .position(|(_, s)| s.start == span.start)
                    .map(|i| {
                        i == 0 || {
                            let prev = tokens[i - 1].1;
                            src.get(prev.end..span.start)
                                .is_some_and(|g| g.contains('\n'))
                        }
                    })
                    .unwrap_or(true);
                if starts_line || found_tok == Some(Token::RBrace) || found_tok.is_none() {
                    if let Some(pi) = token_before(tokens, span.start) {
                        let prev = tokens[pi].1;
                        let at = Span::new(prev.end, prev.end);
                        let mut d = Diagnostic::error(
                            code::EXPECTED_SEMICOLON,
                            format!("expected `;`, found {found_text}"),
                        )
                        .with_primary(sp(prev), "expected `;` after this")
                        .with_suggestion(Suggestion {
                            message: "add `;` here".to_string(),
                            edits: vec![(at, ";".to_string())],
                            applicability: Applicability::MachineApplicable,
                        });
                        if found_tok.is_some() && span.start < src.len() {
                            d = d.with_secondary(sp(span), "unexpected token");
                        }
                        return Some(d);
                    }
                }
            }

            // top level: not an item
            if expected
                .iter()
                .any(|p| matches!(p, RichPattern::Label(l) if l == "an item"))
            {
                let mut d = Diagnostic::error(
                    code::EXPECTED_ITEM,
                    format!("expected an item, found {found_text}"),
                )
                .with_primary(sp(span), "expected `network` or `block`");
                d = match found_tok {
                    Some(Token::Ident(w)) => match nnc_diag::suggest::did_you_mean(w, ITEM_KEYWORDS) {
                        Some(s) => d.with_help(format!("did you mean `{s}`?")),
                        None => d.with_help("a file holds `network NAME { ... }` and `block NAME(...) { ... }` items"),
                    },
                    Some(t) if t.is_keyword() || t == Token::Ident("") => d.with_help(
                        "statements must be inside the body of a `network` or a `block`",
                    ),
                    _ => d.with_help("a file holds `network NAME { ... }` and `block NAME(...) { ... }` items"),
                };
                return Some(d);
            }

            let message = format!("expected {}, found {found_text}", one_of(&items));
            let label = if items.len() == 1 {
                format!("expected {}", items[0])
            } else {
                "unexpected token".to_string()
            };
            let mut d =
                Diagnostic::error(code::UNEXPECTED_TOKEN, message).with_primary(sp(span), label);
            if let Some(t) = found_tok {
                if t.is_keyword() && items.iter().any(|s| s == "identifier") {
                    d = d.with_help(format!(
                        "`{}` is a keyword and cannot be used as a name",
                        t.text().unwrap_or("?")
                    ));
                } else if has(Token::Comma) && starts_expr(t) {
                    d = d.with_help("is a `,` missing before this?");
                } else if t == Token::Dot && span.start > 0 {
                    if let Some(pi) = token_before(tokens, span.start) {
                        if matches!(tokens[pi].0, Token::Int(_)) && tokens[pi].1.end == span.start {
                            d = d
                                .with_help("a float needs a digit after the `.`: write e.g. `2.0`");
                        }
                    }
                }
            }
            Some(d)
        }
    }
}

/// Whether a token can start an expression.
pub(super) fn starts_expr(t: Token<'_>) -> bool {
    matches!(
        t,
        Token::Ident(_)
            | Token::Int(_)
            | Token::Float(_)
            | Token::StrStart
            | Token::KwTrue
            | Token::KwFalse
            | Token::KwIf
            | Token::LParen
            | Token::LBracket
            | Token::Minus
            | Token::Bang
    )
}

pub(super) fn is_closer_tok(t: Token<'_>) -> bool {
    CLOSERS.contains(&t)
}

/// Sort order of expected items: punctuation first, then words.
pub(super) fn expected_rank(s: &str) -> (u8, String) {
    let rank = if s.starts_with('`') {
        0
    } else if s == "identifier" || s == "expression" {
        1
    } else {
        2
    };
    (rank, s.to_string())
}
