//! The parser (chumsky 0.12), tokens → AST, with error recovery.
//!
//! Pipeline of [`parse`]: [`lexer::lex`] → [`delims::balance`] (delimiters
//! matched and repaired, nesting bounded) → the chumsky grammar below →
//! (expression trees bounded while they are built) → diagnostics
//! mapped from chumsky's errors to coded [`Diagnostic`]s.
//!
//! Recovery: a statement that does not parse is skipped up to its `;` (or the
//! `}` of its body) and becomes [`StmtKind::Error`]; a missing `;` at the end
//! of a line is reported and assumed; a broken `( )`, `[ ]` or `{ }` group
//! inside an expression becomes [`ExprKind::Error`]; an item that does not
//! parse is skipped up to the next `network`, `block` or `#`.
//!
//! Custom errors raised inside the grammar (e.g. a positional argument after
//! a keyword argument) travel through chumsky as `Rich::custom` with the
//! fields of a [`Custom`] encoded in the message.

use crate::ast::{self, *};
use crate::delims;
use crate::lexer::{self, unescape, Token};
use chumsky::error::{Rich, RichPattern, RichReason};
use chumsky::input::ValueInput;
use chumsky::prelude::*;
use nnc_diag::{Applicability, Diagnostic, Span, Suggestion};

type CSpan = SimpleSpan<usize>;
type Ex<'t, 's> = extra::Err<Rich<'t, Token<'s>, CSpan>>;

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

// ---------------------------------------------------------------------------
// Custom errors

/// A coded error raised inside the grammar.
struct Custom {
    code: &'static str,
    message: String,
    label: String,
    help: String,
    secondary: Option<(Span, String)>,
}

const SEP: char = '\u{1f}';

impl Custom {
    fn new(code: &'static str, message: impl Into<String>, label: impl Into<String>) -> Custom {
        Custom {
            code,
            message: message.into(),
            label: label.into(),
            help: String::new(),
            secondary: None,
        }
    }
    fn help(mut self, h: impl Into<String>) -> Custom {
        self.help = h.into();
        self
    }
    fn secondary(mut self, s: Span, m: impl Into<String>) -> Custom {
        self.secondary = Some((s, m.into()));
        self
    }
    fn encode(&self) -> String {
        let (ss, se, sm) = match &self.secondary {
            Some((s, m)) => (s.start, s.end, m.as_str()),
            None => (0, 0, ""),
        };
        format!(
            "{}{SEP}{}{SEP}{}{SEP}{}{SEP}{ss}{SEP}{se}{SEP}{sm}",
            self.code, self.message, self.label, self.help
        )
    }
    fn into_rich<'t, 's>(self, span: CSpan) -> Rich<'t, Token<'s>, CSpan> {
        Rich::custom(span, self.encode())
    }
    fn decode(msg: &str, span: CSpan) -> Option<Diagnostic> {
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
fn syntax_code(c: &str) -> Option<&'static str> {
    const CODES: &[&str] = &[
        "E0010", "E0014", "E0015", "E0016", "E0017", "E0018", "E0019", "E0020", "E0021",
    ];
    CODES.iter().copied().find(|k| *k == c)
}

/// The item keywords, for "did you mean".
const ITEM_KEYWORDS: [&str; 2] = ["network", "block"];
/// The attribute names.
const ATTRS: [&str; 3] = ["allow", "warn", "deny"];

// ---------------------------------------------------------------------------
// Grammar

fn expr_of(kind: ExprKind, span: CSpan) -> Expr {
    Expr {
        kind,
        span: sp(span),
    }
}

fn error_expr(span: CSpan) -> Expr {
    expr_of(ExprKind::Error, span)
}

fn parse_int(text: &str) -> Option<i64> {
    let mut v: i64 = 0;
    for b in text.bytes() {
        if b == b'_' {
            continue;
        }
        v = v.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    Some(v)
}

fn parse_float(text: &str) -> f64 {
    let clean: String = text.chars().filter(|&c| c != '_').collect();
    clean.parse().unwrap_or(f64::NAN)
}

/// Merges adjacent text parts of a string.
fn merge_parts(parts: Vec<StrPart>) -> Vec<StrPart> {
    let mut out: Vec<StrPart> = Vec::with_capacity(parts.len());
    for p in parts {
        match (out.last_mut(), p) {
            (Some(StrPart::Text(a)), StrPart::Text(b)) => a.push_str(&b),
            (_, p) => out.push(p),
        }
    }
    out
}

const OPENERS: [Token<'static>; 4] = [
    Token::LParen,
    Token::LBracket,
    Token::LBrace,
    Token::InterpOpen,
];
const CLOSERS: [Token<'static>; 4] = [
    Token::RParen,
    Token::RBracket,
    Token::RBrace,
    Token::InterpClose,
];

/// One balanced token tree (a token, or a delimited group), never a closer
/// and never one of `stop` at the top level.
fn token_tree<'t, 's: 't, I>(stop: Vec<Token<'s>>) -> impl Parser<'t, I, (), Ex<'t, 's>> + Clone
where
    I: ValueInput<'t, Token = Token<'s>, Span = CSpan>,
{
    let tree = recursive(|tree| {
        let group = |o: Token<'s>, c: Token<'s>| {
            tree.clone()
                .repeated()
                .delimited_by(just(o), just(c))
                .ignored()
        };
        choice((
            group(Token::LParen, Token::RParen),
            group(Token::LBracket, Token::RBracket),
            group(Token::LBrace, Token::RBrace),
            group(Token::InterpOpen, Token::InterpClose),
            none_of(OPENERS.into_iter().chain(CLOSERS).collect::<Vec<_>>()).ignored(),
        ))
    });
    let stop2 = stop.clone();
    any()
        .filter(move |t: &Token<'s>| !stop2.contains(t))
        .rewind()
        .ignore_then(tree)
}

fn nested<'t, 's: 't, I, O: Clone + 't>(
    open: Token<'s>,
    close: Token<'s>,
    fallback: impl Fn(CSpan) -> O + Clone + 't,
) -> impl Parser<'t, I, O, Ex<'t, 's>> + Clone
where
    I: ValueInput<'t, Token = Token<'s>, Span = CSpan>,
{
    let others: Vec<(Token<'s>, Token<'s>)> = OPENERS
        .iter()
        .zip(CLOSERS.iter())
        .filter(|(o, _)| **o != open)
        .map(|(o, c)| (*o, *c))
        .collect();
    let others: [(Token<'s>, Token<'s>); 3] = [others[0], others[1], others[2]];
    nested_delimiters(open, close, others, fallback)
}

/// An expression with the depth of its tree (bounded by [`MAX_EXPR_DEPTH`]).
type D = (Expr, u32);
/// An operator with its span and its right operand.
type OpRhs = ((BinOp, CSpan), D);

/// The deepest expression tree built; deeper ones are reported (E0017) and
/// replaced by [`ExprKind::Error`] before they are built, so that no deep tree
/// ever exists (dropping or walking it would recurse that deep).
pub const MAX_EXPR_DEPTH: u32 = 1024;
/// The longest `else if` chain accepted (it nests in the AST).
pub const MAX_ELSE_IF: usize = 256;

fn too_deep<'t, 's>(span: CSpan, what: &str) -> Rich<'t, Token<'s>, CSpan> {
    Custom::new(
        "E0017",
        format!("{what} too deep"),
        format!("this {what} nests too deep"),
    )
    .help("split it with intermediate `let` bindings")
    .into_rich(span)
}

fn max_depth<'a>(it: impl IntoIterator<Item = &'a u32>) -> u32 {
    it.into_iter().copied().max().unwrap_or(0)
}

/// Folds `first (op rhs)*` left-associatively, bounding the depth.
fn fold_binary<'t, 's>(
    first: D,
    rest: Vec<((BinOp, CSpan), D)>,
    emitter: &mut chumsky::input::Emitter<Rich<'t, Token<'s>, CSpan>>,
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

fn expr_parser<'t, 's: 't, I>() -> impl Parser<'t, I, Expr, Ex<'t, 's>> + Clone
where
    I: ValueInput<'t, Token = Token<'s>, Span = CSpan>,
{
    expr_d().map(|(e, _)| e)
}

fn expr_d<'t, 's: 't, I>() -> impl Parser<'t, I, D, Ex<'t, 's>> + Clone
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
                                    "E0010",
                                    "expected a parameter name before `=`",
                                    "not a name",
                                )
                                .help("keyword arguments are written `name = value`; to compare, use `==`")
                                .into_rich(CSpan::from(lhs.span.range())),
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
                                "E0021",
                                "`if` expression without `else`",
                                "this `if` has no `else` branch",
                            )
                            .help("add `else { ... }`: an `if` expression must produce a value in both cases")
                            .into_rich(last_kw),
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
                            "E0018",
                            "comparison operators cannot be chained",
                            format!("`{}` after `{}`", op1.as_str(), op0.as_str()),
                        )
                        .secondary(sp(s0), "first comparison")
                        .help("split the comparison with `&&`, e.g. `a < b && b < c`")
                        .into_rich(s1),
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

fn ident_parser<'t, 's: 't, I>() -> impl Parser<'t, I, Ident, Ex<'t, 's>> + Clone
where
    I: ValueInput<'t, Token = Token<'s>, Span = CSpan>,
{
    select! {
        Token::Ident(s) = e => Ident { name: s.to_string(), span: sp(e.span()) },
    }
    .labelled("identifier")
}

/// Reports positional arguments after keyword arguments (E0016).
fn check_arg_order<'t, 's>(
    args: &[Arg],
    emitter: &mut chumsky::input::Emitter<Rich<'t, Token<'s>, CSpan>>,
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
                    "E0016",
                    "positional argument after a keyword argument",
                    "positional argument",
                )
                .secondary(first_kw.span, format!("keyword argument `{kw_name}` comes first"))
                .help("move positional arguments before the keyword arguments, or give this one its keyword")
                .into_rich(CSpan::from(a.span.range())),
            );
        }
    }
}

fn file_parser<'t, 's: 't, I>(
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
                    "E0019",
                    format!("unknown attribute `{}`", name.name),
                    "unknown attribute",
                );
                c = match nnc_diag::suggest::did_you_mean(&name.name, ATTRS) {
                    Some(s) => c.help(format!("did you mean `{s}`?")),
                    None => c.help("the attributes are `allow`, `warn` and `deny`"),
                };
                emitter.emit(c.into_rich(CSpan::from(name.span.range())));
            } else if args.is_empty() {
                emitter.emit(
                    Custom::new(
                        "E0019",
                        format!("`#[{}]` needs at least one lint name", name.name),
                        "no lint names",
                    )
                    .help(format!("write e.g. `#[{}(lint_name)]`", name.name))
                    .into_rich(e.span()),
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
                        Err(Rich::custom(span, ""))
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
                            "E0020",
                            "invalid assignment target",
                            "only a name can be assigned",
                        );
                        c = if matches!(lhs.kind, ExprKind::Index { .. }) {
                            c.help("lists are immutable: build a new list instead")
                        } else {
                            c.help("to compare values, use `==`")
                        };
                        emitter.emit(c.into_rich(CSpan::from(lhs.span.range())));
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
                "E0015",
                format!("expected an item, found identifier `{}`", kw.name),
                "expected `network` or `block`",
            );
            c = match nnc_diag::suggest::did_you_mean(&kw.name, ITEM_KEYWORDS) {
                Some(s) => c.help(format!("did you mean `{s}`?")),
                None => c.help(format!(
                    "an item starts with `network` or `block`; this looks like a `{guess}`"
                )),
            };
            emitter.emit(c.into_rich(CSpan::from(kw.span.range())));
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

// ---------------------------------------------------------------------------
// chumsky errors → diagnostics

const OPERATORS: [Token<'static>; 15] = [
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
fn pattern_text(p: &RichPattern<'_, Token<'_>>) -> Option<String> {
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
fn one_of(items: &[String]) -> String {
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
fn token_before(tokens: &[(Token<'_>, CSpan)], pos: usize) -> Option<usize> {
    let i = tokens.partition_point(|(_, s)| s.end <= pos);
    i.checked_sub(1)
}

fn convert(
    e: &Rich<'_, Token<'_>, CSpan>,
    tokens: &[(Token<'_>, CSpan)],
    src: &str,
) -> Option<Diagnostic> {
    let span = *e.span();
    match e.reason() {
        RichReason::Custom(msg) => {
            if msg.is_empty() {
                None
            } else {
                Some(Custom::decode(msg, span).unwrap_or_else(|| {
                    Diagnostic::error("E0010", msg.clone()).with_primary(sp(span), "here")
                }))
            }
        }
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
                        let mut d =
                            Diagnostic::error("E0014", format!("expected `;`, found {found_text}"))
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
                let mut d =
                    Diagnostic::error("E0015", format!("expected an item, found {found_text}"))
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
            let mut d = Diagnostic::error("E0010", message).with_primary(sp(span), label);
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
fn starts_expr(t: Token<'_>) -> bool {
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

fn is_closer_tok(t: Token<'_>) -> bool {
    CLOSERS.contains(&t)
}

/// Sort order of expected items: punctuation first, then words.
fn expected_rank(s: &str) -> (u8, String) {
    let rank = if s.starts_with('`') {
        0
    } else if s == "identifier" || s == "expression" {
        1
    } else {
        2
    };
    (rank, s.to_string())
}
