//! Delimited groups: balanced token trees and recovery inside `( )`, `[ ]`
//! and `{ }`.

use super::{CSpan, Ex};
use crate::lexer::Token;
use chumsky::input::ValueInput;
use chumsky::prelude::*;

pub(super) const OPENERS: [Token<'static>; 4] = [
    Token::LParen,
    Token::LBracket,
    Token::LBrace,
    Token::InterpOpen,
];
pub(super) const CLOSERS: [Token<'static>; 4] = [
    Token::RParen,
    Token::RBracket,
    Token::RBrace,
    Token::InterpClose,
];

/// One balanced token tree (a token, or a delimited group), never a closer
/// and never one of `stop` at the top level.
pub(super) fn token_tree<'t, 's: 't, I>(
    stop: Vec<Token<'s>>,
) -> impl Parser<'t, I, (), Ex<'t, 's>> + Clone
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

pub(super) fn nested<'t, 's: 't, I, O: Clone + 't>(
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
