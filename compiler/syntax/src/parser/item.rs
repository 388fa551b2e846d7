//! The item grammar: attributes, networks, blocks and their statements.

use super::custom::Custom;
use super::custom::PError;
use super::expr::{expr_parser, ident_parser, too_deep};
use super::groups::{nested, token_tree};
use super::{sp, CSpan, Ex, MAX_ELSE_IF};
use crate::ast::{self, *};
use crate::lexer::Token;
use chumsky::input::ValueInput;
use chumsky::prelude::*;
use nnc_diag::codes::syntax as code;
use nnc_diag::Span;

/// The item keywords, for "did you mean".
pub(super) const ITEM_KEYWORDS: [&str; 2] = ["network", "block"];
/// The attribute names.
pub(super) const ATTRS: [&str; 3] = ["allow", "warn", "deny"];

pub(super) fn file_parser<'t, 's: 't, I>(
    line_starts: &'t [usize],
) -> impl Parser<'t, I, ast::File, Ex<'t, 's>> + 't
where
    I: ValueInput<'t, Token = Token<'s>, Span = CSpan>,
{
    let ident = ident_parser();
    let expr = expr_parser().boxed();

    // attributes: `#[allow(a, b)]`
    let attr = just(Token::Hash)
        .ignore_then(
            ident
                .clone()
                .then(
                    ident
                        .clone()
                        .separated_by(just(Token::Comma))
                        .allow_trailing()
                        .collect::<Vec<_>>()
                        .delimited_by(just(Token::LParen), just(Token::RParen)),
                )
                .delimited_by(just(Token::LBracket), just(Token::RBracket)),
        )
        .validate(|(name, args): (Ident, Vec<Ident>), e, emitter| {
            if !ATTRS.contains(&name.name.as_str()) {
                let mut c = Custom::new(
                    code::BAD_ATTRIBUTE,
                    format!("unknown attribute `{}`", name.name),
                    "unknown attribute",
                );
                c = match nnc_diag::suggest::did_you_mean(&name.name, ATTRS) {
                    Some(s) => c.help(format!("did you mean `{s}`?")),
                    None => c.help("the attributes are `allow`, `warn` and `deny`"),
                };
                emitter.emit(c.at(CSpan::from(name.span.range())));
            } else if args.is_empty() {
                emitter.emit(
                    Custom::new(
                        code::BAD_ATTRIBUTE,
                        format!("`#[{}]` needs at least one lint name", name.name),
                        "no lint names",
                    )
                    .help(format!("write e.g. `#[{}(lint_name)]`", name.name))
                    .at(e.span()),
                );
            }
            Some(Attr {
                name,
                args,
                span: sp(e.span()),
            })
        })
        .recover_with(via_parser(
            just(Token::Hash)
                .ignore_then(nested(Token::LBracket, Token::RBracket, |_| ()))
                .to(None),
        ));
    let attrs = attr
        .repeated()
        .collect::<Vec<_>>()
        .map(|v| v.into_iter().flatten().collect::<Vec<Attr>>())
        .boxed();

    // `;`, assumed when missing at the end of a line or before `}`
    let semi = just(Token::Semi)
        .ignored()
        .recover_with(via_parser(
            any().map_with(|t, e| (t, e.span())).rewind().try_map(
                move |(t, s): (Token<'s>, CSpan), span| {
                    if t == Token::RBrace || line_starts.binary_search(&s.start).is_ok() {
                        Ok(())
                    } else {
                        Err(PError::Silent(span))
                    }
                },
            ),
        ))
        .recover_with(via_parser(
            token_tree(vec![Token::Semi])
                .repeated()
                .at_least(1)
                .then(just(Token::Semi).or_not())
                .ignored(),
        ))
        .boxed();

    let stmt = recursive(|stmt| {
        let body = stmt
            .repeated()
            .collect::<Vec<Stmt>>()
            .delimited_by(just(Token::LBrace), just(Token::RBrace))
            .recover_with(via_parser(nested(Token::LBrace, Token::RBrace, |_| {
                Vec::new()
            })))
            .map_with(|stmts, e| Body {
                stmts,
                span: sp(e.span()),
            })
            .boxed();

        let input = just(Token::KwInput)
            .ignore_then(ident.clone())
            .then_ignore(just(Token::Colon))
            .then(
                expr.clone()
                    .separated_by(just(Token::Comma))
                    .allow_trailing()
                    .collect::<Vec<_>>()
                    .delimited_by(just(Token::LBracket), just(Token::RBracket))
                    .recover_with(via_parser(nested(Token::LBracket, Token::RBracket, |_| {
                        Vec::new()
                    }))),
            )
            .then_ignore(semi.clone())
            .map(|(name, shape)| StmtKind::Input { name, shape });

        let let_ = just(Token::KwLet)
            .ignore_then(
                ident
                    .clone()
                    .separated_by(just(Token::Comma))
                    .allow_trailing()
                    .collect::<Vec<_>>()
                    .delimited_by(just(Token::LParen), just(Token::RParen))
                    .map(Err)
                    .or(ident.clone().map(Ok)),
            )
            .then_ignore(just(Token::Eq))
            .then(expr.clone())
            .then_ignore(semi.clone())
            .map(|(target, value)| match target {
                Ok(name) => StmtKind::Let { name, value },
                Err(names) => StmtKind::LetTuple { names, value },
            });

        let output = just(Token::KwOutput)
            .ignore_then(ident.clone())
            .then(just(Token::Eq).ignore_then(expr.clone()).or_not())
            .then_ignore(semi.clone())
            .map(|(name, value)| StmtKind::Output { name, value });

        let ret = just(Token::KwReturn)
            .ignore_then(expr.clone())
            .then_ignore(semi.clone())
            .map(|value| StmtKind::Return { value });

        let for_ = just(Token::KwFor)
            .ignore_then(ident.clone())
            .then_ignore(just(Token::KwIn))
            .then(expr.clone())
            .then_ignore(just(Token::DotDot))
            .then(expr.clone())
            .then(body.clone())
            .map(|(((var, start), end), body)| StmtKind::For {
                var,
                start,
                end,
                body,
            });

        // `if C { } else if D { } else { }`: the chain is parsed iteratively and
        // nested into `else_body`s afterwards
        let if_head = just(Token::KwIf)
            .map_with(|_, e| -> CSpan { e.span() })
            .then(expr.clone())
            .then(body.clone());
        let if_ = if_head
            .clone()
            .then(
                just(Token::KwElse)
                    .ignore_then(if_head)
                    .repeated()
                    .collect::<Vec<_>>(),
            )
            .then(just(Token::KwElse).ignore_then(body.clone()).or_not())
            .validate(|((first, mut chain), else_body), e, emitter| {
                let span: CSpan = e.span();
                if chain.len() > MAX_ELSE_IF {
                    emitter.emit(too_deep(chain[MAX_ELSE_IF].0 .0, "`else if` chain"));
                    return StmtKind::Error;
                }
                chain.insert(0, first);
                let mut else_body = else_body;
                let mut kind = StmtKind::Error;
                while let Some(((kw, cond), then_body)) = chain.pop() {
                    kind = StmtKind::If {
                        cond,
                        then_body,
                        else_body: else_body.take(),
                    };
                    if !chain.is_empty() {
                        let s = Span::new(kw.start, span.end);
                        else_body = Some(Body {
                            stmts: vec![Stmt {
                                kind: std::mem::replace(&mut kind, StmtKind::Error),
                                attrs: Vec::new(),
                                span: s,
                            }],
                            span: s,
                        });
                    }
                }
                kind
            })
            .boxed();

        let expr_stmt = expr
            .clone()
            .then(just(Token::Eq).ignore_then(expr.clone()).or_not())
            .then_ignore(semi.clone())
            .validate(|(lhs, rhs): (Expr, Option<Expr>), _e, emitter| match rhs {
                None => StmtKind::Expr(lhs),
                Some(value) => match lhs.kind {
                    ExprKind::Name(name) => StmtKind::Assign { name, value },
                    ExprKind::Error => StmtKind::Error,
                    _ => {
                        let mut c = Custom::new(
                            code::INVALID_ASSIGN_TARGET,
                            "invalid assignment target",
                            "only a name can be assigned",
                        );
                        c = if matches!(lhs.kind, ExprKind::Index { .. }) {
                            c.help("lists are immutable: build a new list instead")
                        } else {
                            c.help("to compare values, use `==`")
                        };
                        emitter.emit(c.at(CSpan::from(lhs.span.range())));
                        StmtKind::Error
                    }
                },
            });

        attrs
            .clone()
            .then(
                choice((input, let_, output, ret, for_, if_, expr_stmt))
                    .map_with(|kind, e| (kind, e.span()))
                    .labelled("statement"),
            )
            .map(|(attrs, (kind, span))| Stmt {
                kind,
                attrs,
                span: sp(span),
            })
            .recover_with(via_parser(
                token_tree(vec![Token::Semi])
                    .repeated()
                    .at_least(1)
                    .then(just(Token::Semi).or_not())
                    .map_with(|_, e| Stmt {
                        kind: StmtKind::Error,
                        attrs: Vec::new(),
                        span: sp(e.span()),
                    }),
            ))
            .recover_with(via_parser(just(Token::Semi).map_with(|_, e| Stmt {
                kind: StmtKind::Error,
                attrs: Vec::new(),
                span: sp(e.span()),
            })))
            .boxed()
    });

    let body = stmt
        .repeated()
        .collect::<Vec<Stmt>>()
        .delimited_by(just(Token::LBrace), just(Token::RBrace))
        .recover_with(via_parser(nested(Token::LBrace, Token::RBrace, |_| {
            Vec::new()
        })))
        .map_with(|stmts, e| Body {
            stmts,
            span: sp(e.span()),
        })
        .boxed();

    let param = ident
        .clone()
        .then(just(Token::Eq).ignore_then(expr.clone()).or_not())
        .map_with(|(name, default), e| Param {
            name,
            default,
            span: sp(e.span()),
        });
    let params = param
        .separated_by(just(Token::Comma))
        .allow_trailing()
        .collect::<Vec<_>>()
        .delimited_by(just(Token::LParen), just(Token::RParen))
        .recover_with(via_parser(nested(Token::LParen, Token::RParen, |_| {
            Vec::new()
        })))
        .boxed();

    let network = just(Token::KwNetwork)
        .ignore_then(ident.clone())
        .then(body.clone())
        .map(|(name, body)| (name, None, body));
    let block = just(Token::KwBlock)
        .ignore_then(ident.clone())
        .then(params.clone())
        .then(body.clone())
        .map(|((name, params), body)| (name, Some(params), body));
    // `netwrok foo { ... }`: reported, then parsed as the item it looks like
    let misspelled = ident
        .clone()
        .then(ident.clone())
        .then(params.or_not())
        .then(body)
        .validate(|(((kw, name), params), body), _e, emitter| {
            let guess = if params.is_some() { "block" } else { "network" };
            let mut c = Custom::new(
                code::EXPECTED_ITEM,
                format!("expected an item, found identifier `{}`", kw.name),
                "expected `network` or `block`",
            );
            c = match nnc_diag::suggest::did_you_mean(&kw.name, ITEM_KEYWORDS) {
                Some(s) => c.help(format!("did you mean `{s}`?")),
                None => c.help(format!(
                    "an item starts with `network` or `block`; this looks like a `{guess}`"
                )),
            };
            emitter.emit(c.at(CSpan::from(kw.span.range())));
            (name, params, body)
        });

    let item = attrs
        .then(
            choice((network, block, misspelled))
                .map_with(|x, e| (x, e.span()))
                .labelled("an item"),
        )
        .map(|(attrs, ((name, params, body), span))| {
            Some(match params {
                None => Item::Network(Network {
                    name,
                    body,
                    attrs,
                    span: sp(span),
                }),
                Some(params) => Item::Block(ast::Block {
                    name,
                    params,
                    body,
                    attrs,
                    span: sp(span),
                }),
            })
        })
        .recover_with(via_parser(
            token_tree(vec![Token::KwNetwork, Token::KwBlock, Token::Hash])
                .repeated()
                .at_least(1)
                .to(None),
        ));

    item.repeated()
        .collect::<Vec<_>>()
        .then_ignore(end())
        .map(|items| ast::File {
            items: items.into_iter().flatten().collect(),
        })
}
