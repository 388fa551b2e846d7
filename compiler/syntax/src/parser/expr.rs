//! The expression grammar, with tree depth bounded while trees are built.

use super::custom::Custom;
use super::custom::PError;
use super::groups::nested;
use super::{sp, CSpan, Ex, MAX_ELSE_IF, MAX_EXPR_DEPTH};
use crate::ast::*;
use crate::lexer::{unescape, Token};
use chumsky::input::ValueInput;
use chumsky::prelude::*;
use nnc_diag::codes::syntax as code;

pub(super) fn expr_of(kind: ExprKind, span: CSpan) -> Expr {
    Expr {
        kind,
        span: sp(span),
    }
}

pub(super) fn error_expr(span: CSpan) -> Expr {
    expr_of(ExprKind::Error, span)
}

pub(super) fn parse_int(text: &str) -> Option<i64> {
    let mut v: i64 = 0;
    for b in text.bytes() {
        if b == b'_' {
            continue;
        }
        v = v.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    Some(v)
}

pub(super) fn parse_float(text: &str) -> f64 {
    let clean: String = text.chars().filter(|&c| c != '_').collect();
    clean.parse().unwrap_or(f64::NAN)
}

/// Merges adjacent text parts of a string.
pub(super) fn merge_parts(parts: Vec<StrPart>) -> Vec<StrPart> {
    let mut out: Vec<StrPart> = Vec::with_capacity(parts.len());
    for p in parts {
        match (out.last_mut(), p) {
            (Some(StrPart::Text(a)), StrPart::Text(b)) => a.push_str(&b),
            (_, p) => out.push(p),
        }
    }
    out
}

/// An expression with the depth of its tree (bounded by [`MAX_EXPR_DEPTH`]).
pub(super) type D = (Expr, u32);
/// An operator with its span and its right operand.
pub(super) type OpRhs = ((BinOp, CSpan), D);

pub(super) fn too_deep<'t, 's>(span: CSpan, what: &str) -> PError<'t, 's> {
    Custom::new(
        code::NESTING_TOO_DEEP,
        format!("{what} too deep"),
        format!("this {what} nests too deep"),
    )
    .help("split it with intermediate `let` bindings")
    .at(span)
}

pub(super) fn max_depth<'a>(it: impl IntoIterator<Item = &'a u32>) -> u32 {
    it.into_iter().copied().max().unwrap_or(0)
}

/// Folds `first (op rhs)*` left-associatively, bounding the depth.
pub(super) fn fold_binary<'t, 's>(
    first: D,
    rest: Vec<((BinOp, CSpan), D)>,
    emitter: &mut chumsky::input::Emitter<PError<'t, 's>>,
) -> D {
    let (mut acc, mut d) = first;
    for ((op, osp), (rhs, dr)) in rest {
        if acc.kind == ExprKind::Error && d == 0 {
            // already too deep: swallow the rest
            acc.span = acc.span.to(rhs.span);
            continue;
        }
        let nd = d.max(dr) + 1;
        let span = acc.span.to(rhs.span);
        if nd > MAX_EXPR_DEPTH {
            emitter.emit(too_deep(osp, "expression"));
            acc = Expr {
                kind: ExprKind::Error,
                span,
            };
            d = 0;
            continue;
        }
        acc = Expr {
            kind: ExprKind::Binary {
                op,
                op_span: sp(osp),
                lhs: Box::new(acc),
                rhs: Box::new(rhs),
            },
            span,
        };
        d = nd;
    }
    (acc, d.max(1))
}

pub(super) fn expr_parser<'t, 's: 't, I>() -> impl Parser<'t, I, Expr, Ex<'t, 's>> + Clone
where
    I: ValueInput<'t, Token = Token<'s>, Span = CSpan>,
{
    expr_d().map(|(e, _)| e)
}

pub(super) fn expr_d<'t, 's: 't, I>() -> impl Parser<'t, I, D, Ex<'t, 's>> + Clone
where
    I: ValueInput<'t, Token = Token<'s>, Span = CSpan>,
{
    let ident = ident_parser();
    recursive(|expr| {
        let lit = select! {
            Token::Int(t) => ExprKind::Int { value: parse_int(t) },
            Token::Float(t) => ExprKind::Float(parse_float(t)),
            Token::KwTrue => ExprKind::Bool(true),
            Token::KwFalse => ExprKind::Bool(false),
            Token::Error => ExprKind::Error,
        }
        .map_with(|k, e| (expr_of(k, e.span()), 1));

        // strings with interpolations
        let interp = expr
            .clone()
            .delimited_by(just(Token::InterpOpen), just(Token::InterpClose))
            .recover_with(via_parser(nested(
                Token::InterpOpen,
                Token::InterpClose,
                |s| (error_expr(s), 1),
            )))
            .map(|(e, d)| (StrPart::Interp(e), d));
        let text = select! { Token::StrText(t) => (StrPart::Text(unescape(t)), 0) };
        let string = text
            .or(interp)
            .repeated()
            .collect::<Vec<_>>()
            .delimited_by(just(Token::StrStart), just(Token::StrEnd))
            .map_with(|parts: Vec<(StrPart, u32)>, e| {
                let d = max_depth(parts.iter().map(|(_, d)| d)) + 1;
                let parts = merge_parts(parts.into_iter().map(|(p, _)| p).collect());
                (expr_of(ExprKind::Str(parts), e.span()), d)
            });

        // call arguments
        // `name = value` or `value`: parsed as an expression first, so that
        // positional arguments are not parsed twice
        let arg = expr
            .clone()
            .then(just(Token::Eq).ignore_then(expr.clone()).or_not())
            .validate(|((lhs, dl), rhs): (D, Option<D>), e, emitter| match rhs {
                None => (
                    Arg {
                        name: None,
                        value: lhs,
                        span: sp(e.span()),
                    },
                    dl,
                ),
                Some((value, d)) => {
                    let name = match lhs.kind {
                        ExprKind::Name(id) => id,
                        _ => {
                            emitter.emit(
                                Custom::new(
                                    code::UNEXPECTED_TOKEN,
                                    "expected a parameter name before `=`",
                                    "not a name",
                                )
                                .help("keyword arguments are written `name = value`; to compare, use `==`")
                                .at(CSpan::from(lhs.span.range())),
                            );
                            Ident {
                                name: String::new(),
                                span: lhs.span,
                            }
                        }
                    };
                    (
                        Arg {
                            name: Some(name),
                            value,
                            span: sp(e.span()),
                        },
                        d,
                    )
                }
            });
        let args = arg
            .separated_by(just(Token::Comma))
            .allow_trailing()
            .collect::<Vec<_>>()
            .delimited_by(just(Token::LParen), just(Token::RParen))
            .recover_with(via_parser(nested(Token::LParen, Token::RParen, |_| {
                Vec::new()
            })))
            .validate(|args: Vec<(Arg, u32)>, _e, emitter| {
                let d = max_depth(args.iter().map(|(_, d)| d));
                let args: Vec<Arg> = args.into_iter().map(|(a, _)| a).collect();
                check_arg_order(&args, emitter);
                (args, d)
            })
            .boxed();

        let name_or_call = ident
            .clone()
            .then(args.clone().or_not())
            .map_with(|(id, args), e| match args {
                Some((args, d)) => (
                    expr_of(
                        ExprKind::Call {
                            callee: id,
                            args,
                            pipe: false,
                        },
                        e.span(),
                    ),
                    d + 1,
                ),
                None => (expr_of(ExprKind::Name(id), e.span()), 1),
            });

        let items = expr
            .clone()
            .separated_by(just(Token::Comma))
            .allow_trailing()
            .collect::<Vec<D>>();
        let unzip = |v: Vec<D>| {
            let d = max_depth(v.iter().map(|(_, d)| d)) + 1;
            (v.into_iter().map(|(e, _)| e).collect::<Vec<Expr>>(), d)
        };
        let list = items
            .clone()
            .delimited_by(just(Token::LBracket), just(Token::RBracket))
            .map(move |v| {
                let (v, d) = unzip(v);
                (ExprKind::List(v), d)
            })
            .recover_with(via_parser(nested(Token::LBracket, Token::RBracket, |_| {
                (ExprKind::Error, 1)
            })))
            .map_with(|(k, d), e| (expr_of(k, e.span()), d));

        let paren = expr
            .clone()
            .then(just(Token::Comma).ignore_then(items.clone()).or_not())
            .or_not()
            .delimited_by(just(Token::LParen), just(Token::RParen))
            .map(move |inner| match inner {
                None => (ExprKind::Tuple(Vec::new()), 1),
                Some(((e, d), None)) => (ExprKind::Paren(Box::new(e)), d + 1),
                Some((first, Some(rest))) => {
                    let mut v = Vec::with_capacity(rest.len() + 1);
                    v.push(first);
                    v.extend(rest);
                    let (v, d) = unzip(v);
                    (ExprKind::Tuple(v), d)
                }
            })
            .recover_with(via_parser(nested(Token::LParen, Token::RParen, |_| {
                (ExprKind::Error, 1)
            })))
            .map_with(|(k, d), e| (expr_of(k, e.span()), d));

        // `if C { E1 } else if ... { E2 } else { E3 }`, chain parsed iteratively
        let braced = expr
            .clone()
            .delimited_by(just(Token::LBrace), just(Token::RBrace))
            .recover_with(via_parser(nested(Token::LBrace, Token::RBrace, |s| {
                (error_expr(s), 1)
            })))
            .boxed();
        let if_head = just(Token::KwIf)
            .map_with(|_, e| -> CSpan { e.span() })
            .then(expr.clone())
            .then(braced.clone());
        let if_expr = if_head
            .clone()
            .then(
                just(Token::KwElse)
                    .ignore_then(if_head)
                    .repeated()
                    .collect::<Vec<_>>(),
            )
            .then(just(Token::KwElse).ignore_then(braced.clone()).or_not())
            .validate(|((first, mut chain), else_), e, emitter| {
                let span = e.span();
                if chain.len() > MAX_ELSE_IF {
                    emitter.emit(too_deep(chain[MAX_ELSE_IF].0 .0, "`else if` chain"));
                    return (error_expr(span), 1);
                }
                let first_kw = first.0 .0;
                let (mut acc, mut d) = match else_ {
                    Some(x) => x,
                    None => {
                        let last_kw = chain.last().map_or(first.0 .0, |h: &((CSpan, D), D)| h.0 .0);
                        emitter.emit(
                            Custom::new(
                                code::IF_WITHOUT_ELSE,
                                "`if` expression without `else`",
                                "this `if` has no `else` branch",
                            )
                            .help("add `else { ... }`: an `if` expression must produce a value in both cases")
                            .at(last_kw),
                        );
                        (error_expr(CSpan::from(span.end..span.end)), 1)
                    }
                };
                chain.insert(0, first);
                while let Some(((kw, (cond, dc)), (then, dt))) = chain.pop() {
                    d = d.max(dc).max(dt) + 1;
                    acc = expr_of(
                        ExprKind::If {
                            cond: Box::new(cond),
                            then: Box::new(then),
                            else_: Box::new(acc),
                        },
                        CSpan::from(kw.start..span.end),
                    );
                }
                if d > MAX_EXPR_DEPTH {
                    emitter.emit(too_deep(first_kw, "expression"));
                    return (error_expr(span), 1);
                }
                (acc, d)
            })
            .boxed();

        let atom = choice((lit, string, if_expr, name_or_call, list, paren))
            .labelled("expression")
            .boxed();

        // postfix indexing
        let index = expr
            .clone()
            .delimited_by(just(Token::LBracket), just(Token::RBracket))
            .recover_with(via_parser(nested(Token::LBracket, Token::RBracket, |s| {
                (error_expr(s), 1)
            })))
            .map_with(|x, e| (x, e.span()));
        let postfix = atom.then(index.repeated().collect::<Vec<_>>()).validate(
            |((base, db), idx): (D, Vec<(D, CSpan)>), _e, emitter| {
                let (mut acc, mut d) = (base, db);
                for ((index, di), isp) in idx {
                    let span = acc.span.to(sp(isp));
                    d = d.max(di) + 1;
                    if d > MAX_EXPR_DEPTH {
                        emitter.emit(too_deep(isp, "expression"));
                        return (error_expr(CSpan::from(span.range())), 1);
                    }
                    acc = Expr {
                        kind: ExprKind::Index {
                            base: Box::new(acc),
                            index: Box::new(index),
                        },
                        span,
                    };
                }
                (acc, d)
            },
        );

        // prefix operators
        let prefix = select! {
            Token::Minus => UnaryOp::Neg,
            Token::Bang => UnaryOp::Not,
        }
        .map_with(|op, e| (op, e.span()));
        let unary = prefix
            .repeated()
            .collect::<Vec<_>>()
            .then(postfix)
            .validate(
                |(ops, (operand, d)): (Vec<(UnaryOp, CSpan)>, D), _e, emitter| {
                    if ops.is_empty() {
                        return (operand, d);
                    }
                    let total = d as usize + ops.len();
                    let span = sp(ops[0].1).to(operand.span);
                    if total > MAX_EXPR_DEPTH as usize {
                        emitter.emit(too_deep(ops[0].1, "expression"));
                        return (
                            Expr {
                                kind: ExprKind::Error,
                                span,
                            },
                            1,
                        );
                    }
                    let mut acc = operand;
                    for (op, osp) in ops.into_iter().rev() {
                        let span = sp(osp).to(acc.span);
                        acc = Expr {
                            kind: ExprKind::Unary {
                                op,
                                operand: Box::new(acc),
                            },
                            span,
                        };
                    }
                    (acc, total as u32)
                },
            )
            .boxed();

        let op = |p: Boxed<'t, 't, I, BinOp, Ex<'t, 's>>| {
            p.map_with(|op, e| (op, e.span()))
                .labelled("an operator")
                .boxed()
        };
        let level = |lower: Boxed<'t, 't, I, D, Ex<'t, 's>>,
                     ops: Boxed<'t, 't, I, (BinOp, CSpan), Ex<'t, 's>>| {
            lower
                .clone()
                .then(ops.then(lower).repeated().collect::<Vec<_>>())
                .validate(|(first, rest), _e, emitter| fold_binary(first, rest, emitter))
                .boxed()
        };
        let mul_ops = op(select! {
            Token::Star => BinOp::Mul,
            Token::Slash => BinOp::Div,
            Token::Percent => BinOp::Rem,
        }
        .boxed());
        let add_ops = op(select! {
            Token::Plus => BinOp::Add,
            Token::Minus => BinOp::Sub,
        }
        .boxed());
        let cmp_ops = op(select! {
            Token::EqEq => BinOp::Eq,
            Token::NotEq => BinOp::Ne,
            Token::Lt => BinOp::Lt,
            Token::Le => BinOp::Le,
            Token::Gt => BinOp::Gt,
            Token::Ge => BinOp::Ge,
        }
        .boxed());
        let and_ops = op(select! { Token::AndAnd => BinOp::And }.boxed());
        let or_ops = op(select! { Token::OrOr => BinOp::Or }.boxed());
        let product = level(unary, mul_ops);
        let sum = level(product, add_ops);
        let cmp = sum
            .clone()
            .then(cmp_ops.then(sum).repeated().collect::<Vec<_>>())
            .validate(|(first, rest): (D, Vec<OpRhs>), _e, emitter| {
                if rest.len() > 1 {
                    let (op0, s0) = rest[0].0;
                    let (op1, s1) = rest[1].0;
                    emitter.emit(
                        Custom::new(
                            code::CHAINED_COMPARISON,
                            "comparison operators cannot be chained",
                            format!("`{}` after `{}`", op1.as_str(), op0.as_str()),
                        )
                        .secondary(sp(s0), "first comparison")
                        .help("split the comparison with `&&`, e.g. `a < b && b < c`")
                        .at(s1),
                    );
                }
                fold_binary(first, rest, emitter)
            })
            .boxed();
        let and = level(cmp, and_ops);
        let or = level(and, or_ops);

        // `x |> f(args)` and `x |> f`
        let pipe_rhs = ident
            .clone()
            .then(args.or_not())
            .map_with(|x, e| (x, e.span()));
        or.then(
            just(Token::Pipe)
                .ignore_then(pipe_rhs)
                .repeated()
                .collect::<Vec<_>>(),
        )
        .validate(|(first, rest), _e, emitter| {
            let (mut acc, mut d) = first;
            for ((callee, args), csp) in rest {
                let (args, da) = args.unwrap_or_default();
                let span = acc.span.to(sp(csp));
                d = d.max(da) + 1;
                if d > MAX_EXPR_DEPTH {
                    emitter.emit(too_deep(csp, "expression"));
                    return (
                        Expr {
                            kind: ExprKind::Error,
                            span,
                        },
                        1,
                    );
                }
                let mut all = Vec::with_capacity(args.len() + 1);
                all.push(Arg {
                    name: None,
                    span: acc.span,
                    value: acc,
                });
                all.extend(args);
                acc = Expr {
                    kind: ExprKind::Call {
                        callee,
                        args: all,
                        pipe: true,
                    },
                    span,
                };
            }
            (acc, d)
        })
        .boxed()
    })
}

pub(super) fn ident_parser<'t, 's: 't, I>() -> impl Parser<'t, I, Ident, Ex<'t, 's>> + Clone
where
    I: ValueInput<'t, Token = Token<'s>, Span = CSpan>,
{
    select! {
        Token::Ident(s) = e => Ident { name: s.to_string(), span: sp(e.span()) },
    }
    .labelled("identifier")
}

/// Reports positional arguments after keyword arguments (E0016).
pub(super) fn check_arg_order<'t, 's>(
    args: &[Arg],
    emitter: &mut chumsky::input::Emitter<PError<'t, 's>>,
) {
    let Some(first_kw) = args.iter().find(|a| a.name.is_some()) else {
        return;
    };
    let kw_name = first_kw.name.as_ref().map_or("", |n| n.name.as_str());
    let mut seen_kw = false;
    for a in args {
        if a.name.is_some() {
            seen_kw = true;
        } else if seen_kw {
            emitter.emit(
                Custom::new(
                    code::POSITIONAL_AFTER_KEYWORD,
                    "positional argument after a keyword argument",
                    "positional argument",
                )
                .secondary(first_kw.span, format!("keyword argument `{kw_name}` comes first"))
                .help("move positional arguments before the keyword arguments, or give this one its keyword")
                .at(CSpan::from(a.span.range())),
            );
        }
    }
}
