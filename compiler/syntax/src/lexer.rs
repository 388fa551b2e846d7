//! The lexer (logos), text → tokens.
//!
//! Lexing never aborts: characters that start no token become [`Token::Error`]
//! (one per run of bad characters) with an `E0002` diagnostic, and lexing goes
//! on. Comments are dropped. A string literal is split into several tokens so
//! that its interpolations are parsed by the ordinary expression grammar with
//! exact absolute spans:
//!
//! ```text
//! "layer{s + 1}.{b}"  →  StrStart StrText("layer") InterpOpen Ident(s) Plus Int(1)
//!                        InterpClose StrText(".") InterpOpen Ident(b) InterpClose StrEnd
//! ```
//!
//! `StrText` carries the raw text (escapes and `{{`/`}}` not yet decoded, see
//! [`unescape`]); the lexer has already reported bad escapes.

use logos::Logos;
use nnc_diag::codes::syntax as code;
use nnc_diag::{Diagnostic, Span};
use std::fmt;

/// The longest string literal accepted, in bytes (between the quotes).
pub const MAX_STRING_LEN: usize = 4096;

/// A token of the `.nn` language. Payloads borrow the source text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Token<'s> {
    Ident(&'s str),
    /// An integer literal, as written (may contain `_`).
    Int(&'s str),
    /// A float literal, as written.
    Float(&'s str),
    /// The opening `"` of a string literal.
    StrStart,
    /// Literal text inside a string, raw (see [`unescape`]).
    StrText(&'s str),
    /// The `{` opening an interpolation inside a string.
    InterpOpen,
    /// The `}` closing an interpolation inside a string.
    InterpClose,
    /// The closing `"` of a string (zero-width if the string is unterminated).
    StrEnd,
    KwNetwork,
    KwBlock,
    KwInput,
    KwOutput,
    KwLet,
    KwReturn,
    KwFor,
    KwIn,
    KwIf,
    KwElse,
    KwTrue,
    KwFalse,
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Comma,
    Semi,
    Colon,
    Eq,
    DotDot,
    Dot,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    EqEq,
    NotEq,
    Lt,
    Le,
    Gt,
    Ge,
    AndAnd,
    OrOr,
    Bang,
    /// `|>`
    Pipe,
    /// `#`, starting an attribute.
    Hash,
    /// Text that is not a token (already reported), or a region replaced
    /// because it nests too deep. The parser accepts it silently as an
    /// erroneous expression.
    Error,
}

impl<'s> Token<'s> {
    /// The keyword token for an identifier-like word, if it is one.
    pub fn keyword(word: &str) -> Option<Token<'static>> {
        Some(match word {
            "network" => Token::KwNetwork,
            "block" => Token::KwBlock,
            "input" => Token::KwInput,
            "output" => Token::KwOutput,
            "let" => Token::KwLet,
            "return" => Token::KwReturn,
            "for" => Token::KwFor,
            "in" => Token::KwIn,
            "if" => Token::KwIf,
            "else" => Token::KwElse,
            "true" => Token::KwTrue,
            "false" => Token::KwFalse,
            _ => return None,
        })
    }

    /// The fixed text of a keyword or punctuation token.
    pub fn text(&self) -> Option<&'static str> {
        Some(match self {
            Token::KwNetwork => "network",
            Token::KwBlock => "block",
            Token::KwInput => "input",
            Token::KwOutput => "output",
            Token::KwLet => "let",
            Token::KwReturn => "return",
            Token::KwFor => "for",
            Token::KwIn => "in",
            Token::KwIf => "if",
            Token::KwElse => "else",
            Token::KwTrue => "true",
            Token::KwFalse => "false",
            Token::LParen => "(",
            Token::RParen => ")",
            Token::LBracket => "[",
            Token::RBracket => "]",
            Token::LBrace => "{",
            Token::RBrace => "}",
            Token::Comma => ",",
            Token::Semi => ";",
            Token::Colon => ":",
            Token::Eq => "=",
            Token::DotDot => "..",
            Token::Dot => ".",
            Token::Plus => "+",
            Token::Minus => "-",
            Token::Star => "*",
            Token::Slash => "/",
            Token::Percent => "%",
            Token::EqEq => "==",
            Token::NotEq => "!=",
            Token::Lt => "<",
            Token::Le => "<=",
            Token::Gt => ">",
            Token::Ge => ">=",
            Token::AndAnd => "&&",
            Token::OrOr => "||",
            Token::Bang => "!",
            Token::Pipe => "|>",
            Token::Hash => "#",
            Token::InterpOpen => "{",
            Token::InterpClose => "}",
            Token::StrStart | Token::StrEnd => "\"",
            _ => return None,
        })
    }

    /// Whether this is a keyword.
    pub fn is_keyword(&self) -> bool {
        matches!(
            self,
            Token::KwNetwork
                | Token::KwBlock
                | Token::KwInput
                | Token::KwOutput
                | Token::KwLet
                | Token::KwReturn
                | Token::KwFor
                | Token::KwIn
                | Token::KwIf
                | Token::KwElse
                | Token::KwTrue
                | Token::KwFalse
        )
    }

    /// A description for messages: "`;`", "keyword `let`", "identifier `x`".
    pub fn describe(&self) -> String {
        match self {
            Token::Ident(s) => format!("identifier `{s}`"),
            Token::Int(s) => format!("integer `{s}`"),
            Token::Float(s) => format!("float `{s}`"),
            Token::StrStart => "string literal".to_string(),
            Token::StrText(_) => "string text".to_string(),
            Token::InterpOpen => "`{` (interpolation)".to_string(),
            Token::InterpClose => "`}` (end of interpolation)".to_string(),
            Token::StrEnd => "end of string".to_string(),
            Token::Error => "invalid token".to_string(),
            t if t.is_keyword() => format!("keyword `{}`", t.text().unwrap_or("?")),
            t => format!("`{}`", t.text().unwrap_or("?")),
        }
    }
}

impl fmt::Display for Token<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// What logos recognizes directly; [`lex`] turns it into [`Token`]s.
#[derive(Logos, Clone, Copy, Debug, PartialEq)]
#[logos(skip r"[ \t\r\n\f]+")]
enum Raw {
    #[regex(r"//[^\n]*", allow_greedy = true)]
    LineComment,
    /// `true` when terminated.
    #[token("/*", block_comment)]
    BlockComment(bool),
    /// `true` when terminated.
    #[token("\"", string_lit)]
    Str(bool),
    #[regex(r"[A-Za-z_][A-Za-z0-9_]*")]
    Ident,
    #[regex(r"[0-9][0-9_]*")]
    Int,
    #[regex(r"[0-9][0-9_]*\.[0-9][0-9_]*([eE][+-]?[0-9][0-9_]*)?")]
    #[regex(r"[0-9][0-9_]*[eE][+-]?[0-9][0-9_]*")]
    Float,
    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token("{")]
    LBrace,
    #[token("}")]
    RBrace,
    #[token(",")]
    Comma,
    #[token(";")]
    Semi,
    #[token(":")]
    Colon,
    #[token("=")]
    Eq,
    #[token("..")]
    DotDot,
    #[token(".")]
    Dot,
    #[token("+")]
    Plus,
    #[token("-")]
    Minus,
    #[token("*")]
    Star,
    #[token("/")]
    Slash,
    #[token("%")]
    Percent,
    #[token("==")]
    EqEq,
    #[token("!=")]
    NotEq,
    #[token("<")]
    Lt,
    #[token("<=")]
    Le,
    #[token(">")]
    Gt,
    #[token(">=")]
    Ge,
    #[token("&&")]
    AndAnd,
    #[token("||")]
    OrOr,
    #[token("!")]
    Bang,
    #[token("|>")]
    Pipe,
    #[token("#")]
    Hash,
}

/// Skips a (nested) block comment after its `/*`; false if unterminated.
fn block_comment(lex: &mut logos::Lexer<Raw>) -> bool {
    let rest = lex.remainder().as_bytes();
    let mut depth: usize = 1;
    let mut i = 0;
    while i < rest.len() {
        if rest[i] == b'/' && rest.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if rest[i] == b'*' && rest.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                lex.bump(i);
                return true;
            }
        } else {
            i += 1;
        }
    }
    lex.bump(rest.len());
    false
}

/// Scans a string literal after its `"`: up to the closing `"` (true) or up
/// to, not including, the end of the line or file (false).
fn string_lit(lex: &mut logos::Lexer<Raw>) -> bool {
    let rest = lex.remainder().as_bytes();
    let mut i = 0;
    while i < rest.len() {
        match rest[i] {
            b'"' => {
                lex.bump(i + 1);
                return true;
            }
            b'\n' => break,
            b'\\' if rest.get(i + 1).is_some_and(|&c| c != b'\n') => {
                // skip the escaped char (a whole UTF-8 sequence)
                i += 1;
                i += utf8_len(rest[i]);
            }
            _ => i += 1,
        }
    }
    let end = i.min(rest.len());
    lex.bump(end);
    false
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// The result of lexing a file.
#[derive(Clone, Debug, Default)]
pub struct Lexed<'s> {
    /// Tokens with their byte spans, in order, without comments.
    pub tokens: Vec<(Token<'s>, Span)>,
    /// Lexical errors.
    pub diags: Vec<Diagnostic>,
    /// Byte ranges swallowed by an unterminated string or comment: parser
    /// errors there only repeat the lexical error.
    pub suppress: Vec<Span>,
    /// Runs of unknown characters. They are reported once (`E0002`) and
    /// dropped from the tokens, so that `@relu(x)` does not also give a parse
    /// error; the parser suppresses its errors up to the next token.
    pub stray: Vec<Span>,
}

/// Lexes a whole file.
pub fn lex(src: &str) -> Lexed<'_> {
    let mut out = Lexed::default();
    lex_into(src, 0, false, &mut out);
    out
}

/// Lexes `src` (a slice of the file starting at byte `base`) into `out`.
/// `in_interp`: `src` is the inside of a string interpolation, where string
/// literals are not allowed (this also bounds the recursion to one level).
fn lex_into<'s>(src: &'s str, base: usize, in_interp: bool, out: &mut Lexed<'s>) {
    let mut lexer = Raw::lexer(src);
    // a pending run of bad characters: (start, end) relative to src
    let mut bad: Option<(usize, usize)> = None;
    while let Some(res) = lexer.next() {
        let r = lexer.span();
        let raw = match res {
            Ok(raw) => raw,
            Err(()) => {
                bad = match bad {
                    Some((s, e)) if e == r.start => Some((s, r.end)),
                    Some(prev) => {
                        flush_bad(src, base, prev, out);
                        Some((r.start, r.end))
                    }
                    None => Some((r.start, r.end)),
                };
                continue;
            }
        };
        if let Some(prev) = bad.take() {
            flush_bad(src, base, prev, out);
        }
        let span = Span::new(base + r.start, base + r.end);
        let text = &src[r.clone()];
        let tok = match raw {
            Raw::LineComment => continue,
            Raw::BlockComment(true) => continue,
            Raw::BlockComment(false) => {
                out.diags.push(
                    Diagnostic::error(code::UNTERMINATED_COMMENT, "unterminated block comment")
                        .with_primary(
                            Span::new(span.start as usize, span.start as usize + 2),
                            "this comment is never closed",
                        )
                        .with_note("block comments nest: each `/*` needs its own `*/`")
                        .with_help("add `*/` where the comment ends"),
                );
                out.suppress.push(span);
                continue;
            }
            Raw::Str(_) if in_interp => {
                out.diags.push(
                    Diagnostic::error(
                        code::MALFORMED_INTERPOLATION,
                        "string literal inside an interpolation",
                    )
                    .with_primary(span, "a string cannot appear inside `{...}`")
                    .with_help("bind the string to a name with `let` first"),
                );
                Token::Error
            }
            Raw::Str(terminated) => {
                lex_string(src, base, r.start, r.end, terminated, out);
                continue;
            }
            Raw::Ident => Token::keyword(text).unwrap_or(Token::Ident(text)),
            Raw::Int => {
                if check_suffix(src, base, r.end, text, out) {
                    skip_suffix(&mut lexer);
                }
                Token::Int(text)
            }
            Raw::Float => {
                let clean: String = text.chars().filter(|&c| c != '_').collect();
                match clean.parse::<f64>() {
                    Ok(v) if v.is_finite() => {}
                    _ => out.diags.push(
                        Diagnostic::error(
                            code::INVALID_NUMBER,
                            format!("float literal `{text}` is out of range"),
                        )
                        .with_primary(span, "not representable as a 64-bit float"),
                    ),
                }
                if check_suffix(src, base, r.end, text, out) {
                    skip_suffix(&mut lexer);
                }
                Token::Float(text)
            }
            Raw::LParen => Token::LParen,
            Raw::RParen => Token::RParen,
            Raw::LBracket => Token::LBracket,
            Raw::RBracket => Token::RBracket,
            Raw::LBrace => Token::LBrace,
            Raw::RBrace => Token::RBrace,
            Raw::Comma => Token::Comma,
            Raw::Semi => Token::Semi,
            Raw::Colon => Token::Colon,
            Raw::Eq => Token::Eq,
            Raw::DotDot => Token::DotDot,
            Raw::Dot => Token::Dot,
            Raw::Plus => Token::Plus,
            Raw::Minus => Token::Minus,
            Raw::Star => Token::Star,
            Raw::Slash => Token::Slash,
            Raw::Percent => Token::Percent,
            Raw::EqEq => Token::EqEq,
            Raw::NotEq => Token::NotEq,
            Raw::Lt => Token::Lt,
            Raw::Le => Token::Le,
            Raw::Gt => Token::Gt,
            Raw::Ge => Token::Ge,
            Raw::AndAnd => Token::AndAnd,
            Raw::OrOr => Token::OrOr,
            Raw::Bang => Token::Bang,
            Raw::Pipe => Token::Pipe,
            Raw::Hash => Token::Hash,
        };
        out.tokens.push((tok, span));
    }
    if let Some(prev) = bad.take() {
        flush_bad(src, base, prev, out);
    }
}

/// A number immediately followed by letters (`3px`, `1e`): reports E0008 and
/// returns true (the caller then skips the letters).
fn check_suffix(src: &str, base: usize, end: usize, text: &str, out: &mut Lexed<'_>) -> bool {
    let rest = &src[end..];
    let n = rest
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count();
    if n == 0 {
        return false;
    }
    let suffix = &rest[..n];
    let span = Span::new(base + end - text.len(), base + end + n);
    let mut d = Diagnostic::error(
        code::INVALID_NUMBER,
        format!("invalid number literal `{text}{suffix}`"),
    )
    .with_primary(span, "a number cannot be followed by letters");
    if suffix.starts_with(['e', 'E']) {
        d = d.with_help("an exponent needs digits, e.g. `1e-5`");
    } else {
        d = d.with_help("separate the number from the name with an operator or a space");
    }
    out.diags.push(d);
    true
}

/// Skips the identifier-like suffix that follows a number (already reported).
fn skip_suffix(lexer: &mut logos::Lexer<'_, Raw>) {
    let n = lexer
        .remainder()
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count();
    lexer.bump(n);
}

fn flush_bad(src: &str, base: usize, (s, e): (usize, usize), out: &mut Lexed<'_>) {
    let text = &src[s..e];
    let span = Span::new(base + s, base + e);
    let many = text.chars().count() > 1;
    let shown: String = text.chars().take(16).collect();
    let shown = if text.chars().count() > 16 {
        format!("{shown}…")
    } else {
        shown
    };
    let mut d = Diagnostic::error(
        code::UNKNOWN_CHAR,
        if many {
            format!("unknown characters `{}`", shown.escape_debug())
        } else {
            format!("unknown character `{}`", shown.escape_debug())
        },
    )
    .with_primary(span, "not a token of the language");
    d = match text {
        "&" => d.with_help("the logical \"and\" operator is `&&`"),
        "|" => d.with_help("the logical \"or\" operator is `||`; the pipe is `|>`"),
        "'" => d.with_help("string literals use double quotes: `\"...\"`"),
        _ if !text.is_ascii() => d.with_help(
            "identifiers are ASCII only; other characters may appear in strings and comments",
        ),
        _ => d,
    };
    out.diags.push(d);
    out.stray.push(span);
}

/// Splits the string literal at `src[start..end]` (quotes included when
/// present) into tokens, reporting bad escapes and interpolations.
fn lex_string<'s>(
    src: &'s str,
    base: usize,
    start: usize,
    end: usize,
    terminated: bool,
    out: &mut Lexed<'s>,
) {
    let abs = |i: usize| base + i;
    out.tokens
        .push((Token::StrStart, Span::new(abs(start), abs(start + 1))));
    let content_start = start + 1;
    let content_end = if terminated { end - 1 } else { end };
    let content = &src[content_start..content_end];
    if content.len() > MAX_STRING_LEN {
        out.diags.push(
            Diagnostic::error(
                code::STRING_TOO_LONG,
                format!(
                    "string literal too long ({} bytes, the limit is {MAX_STRING_LEN})",
                    content.len()
                ),
            )
            .with_primary(Span::new(abs(start), abs(end)), "this string"),
        );
    }
    if !terminated {
        out.diags.push(
            Diagnostic::error(code::UNTERMINATED_STRING, "unterminated string literal")
                .with_primary(
                    Span::new(abs(start), abs(end)),
                    "this string is never closed",
                )
                .with_help(
                    "add a closing `\"` (strings cannot span lines; write `\\n` for a newline)",
                ),
        );
        out.suppress.push(Span::new(abs(start), abs(end)));
    }
    let bytes = content.as_bytes();
    let mut i = 0;
    let mut text_start = 0;
    let flush_text = |from: usize, to: usize, out: &mut Lexed<'s>| {
        if to > from {
            out.tokens.push((
                Token::StrText(&content[from..to]),
                Span::new(abs(content_start + from), abs(content_start + to)),
            ));
        }
    };
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => {
                let next = content[i + 1..].chars().next();
                match next {
                    Some('"' | '\\' | 'n' | 't' | 'r' | '0') => i += 2,
                    Some(c) => {
                        let len = 1 + c.len_utf8();
                        out.diags.push(
                            Diagnostic::error(
                                code::UNKNOWN_ESCAPE,
                                format!("unknown escape sequence `\\{}`", c.escape_debug()),
                            )
                            .with_primary(
                                Span::new(abs(content_start + i), abs(content_start + i + len)),
                                "unknown escape",
                            )
                            .with_help(
                                "known escapes: `\\\"` `\\\\` `\\n` `\\t` `\\r` `\\0`; write `\\\\` for a backslash",
                            ),
                        );
                        i += len;
                    }
                    None => i += 1,
                }
            }
            b'{' if bytes.get(i + 1) == Some(&b'{') => i += 2,
            b'}' if bytes.get(i + 1) == Some(&b'}') => i += 2,
            b'}' => {
                out.diags.push(
                    Diagnostic::error(code::MALFORMED_INTERPOLATION, "unmatched `}` in string")
                        .with_primary(
                            Span::new(abs(content_start + i), abs(content_start + i + 1)),
                            "no `{` opens this",
                        )
                        .with_help("write `}}` for a literal `}`"),
                );
                i += 1;
            }
            b'{' => {
                flush_text(text_start, i, out);
                let open = content_start + i;
                // find the matching `}` (no strings can occur inside)
                let mut depth = 0usize;
                let mut j = i + 1;
                let mut close = None;
                while j < bytes.len() {
                    match bytes[j] {
                        b'{' => depth += 1,
                        b'}' if depth == 0 => {
                            close = Some(j);
                            break;
                        }
                        b'}' => depth -= 1,
                        _ => {}
                    }
                    j += 1;
                }
                let inner_end = close.unwrap_or(bytes.len());
                let inner = &content[i + 1..inner_end];
                out.tokens
                    .push((Token::InterpOpen, Span::new(abs(open), abs(open + 1))));
                if inner.trim().is_empty() {
                    let sp = Span::new(abs(open), abs(content_start + inner_end + 1));
                    if close.is_some() {
                        out.diags.push(
                            Diagnostic::error(
                                code::MALFORMED_INTERPOLATION,
                                "empty interpolation in string",
                            )
                            .with_primary(sp, "expected an expression between the braces")
                            .with_help("write `{{}}` for literal braces"),
                        );
                    }
                    out.tokens.push((Token::Error, sp));
                } else {
                    lex_into(inner, abs(open + 1), true, out);
                }
                match close {
                    Some(c) => {
                        let c_abs = abs(content_start + c);
                        out.tokens
                            .push((Token::InterpClose, Span::new(c_abs, c_abs + 1)));
                        i = c + 1;
                    }
                    None => {
                        let endp = abs(content_end);
                        let mut d = Diagnostic::error(
                            code::MALFORMED_INTERPOLATION,
                            "unclosed `{` in string",
                        )
                        .with_primary(
                            Span::new(abs(open), abs(open + 1)),
                            "this interpolation is never closed",
                        );
                        if terminated {
                            d = d.with_help("close it with `}`, or write `{{` for a literal `{`");
                        } else {
                            d = d.with_note(
                                "a string literal cannot appear inside an interpolation",
                            );
                        }
                        out.diags.push(d);
                        out.tokens.push((Token::InterpClose, Span::new(endp, endp)));
                        i = bytes.len();
                    }
                }
                text_start = i;
                continue;
            }
            _ => i += 1,
        }
    }
    flush_text(text_start, bytes.len(), out);
    let end_span = if terminated {
        Span::new(abs(end - 1), abs(end))
    } else {
        Span::new(abs(end), abs(end))
    };
    out.tokens.push((Token::StrEnd, end_span));
}

/// Decodes the raw text of a [`Token::StrText`]: escapes and doubled braces.
/// Errors were reported by the lexer; unknown escapes are kept as written.
pub fn unescape(raw: &str) -> String {
    let mut s = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => s.push('\n'),
                Some('t') => s.push('\t'),
                Some('r') => s.push('\r'),
                Some('0') => s.push('\0'),
                Some('"') => s.push('"'),
                Some('\\') => s.push('\\'),
                Some(other) => {
                    s.push('\\');
                    s.push(other);
                }
                None => s.push('\\'),
            },
            '{' | '}' => {
                if chars.peek() == Some(&c) {
                    chars.next();
                }
                s.push(c);
            }
            c => s.push(c),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Token<'_>> {
        lex(src).tokens.into_iter().map(|(t, _)| t).collect()
    }

    #[test]
    fn basic_tokens() {
        use Token::*;
        assert_eq!(
            toks("let x = 1_000 + 0.5 * 1e-5; // c\n/* a /* b */ c */ x |> f"),
            vec![
                KwLet,
                Ident("x"),
                Eq,
                Int("1_000"),
                Plus,
                Float("0.5"),
                Star,
                Float("1e-5"),
                Semi,
                Ident("x"),
                Pipe,
                Ident("f")
            ]
        );
        assert_eq!(toks("0..4"), vec![Int("0"), DotDot, Int("4")]);
        assert_eq!(
            toks("a<=b>=c==d!=e&&f||!g#[x]"),
            vec![
                Ident("a"),
                Le,
                Ident("b"),
                Ge,
                Ident("c"),
                EqEq,
                Ident("d"),
                NotEq,
                Ident("e"),
                AndAnd,
                Ident("f"),
                OrOr,
                Bang,
                Ident("g"),
                Hash,
                LBracket,
                Ident("x"),
                RBracket
            ]
        );
    }

    #[test]
    fn strings_and_interpolation() {
        use Token::*;
        let src = r#""layer{s + 1}.{b}""#;
        let l = lex(src);
        assert!(l.diags.is_empty(), "{:?}", l.diags);
        let t: Vec<_> = l.tokens.iter().map(|(t, _)| *t).collect();
        assert_eq!(
            t,
            vec![
                StrStart,
                StrText("layer"),
                InterpOpen,
                Ident("s"),
                Plus,
                Int("1"),
                InterpClose,
                StrText("."),
                InterpOpen,
                Ident("b"),
                InterpClose,
                StrEnd
            ]
        );
        // absolute spans inside the interpolation
        assert_eq!(l.tokens[3].1, Span::new(7, 8));
        assert_eq!(&src[l.tokens[5].1.range()], "1");
        assert_eq!(unescape(r#"a{{b}}\n\"\\"#), "a{b}\n\"\\");
    }

    #[test]
    fn lexical_errors() {
        let l = lex("let x = $ @@ 3;");
        let codes: Vec<_> = l.diags.iter().map(|d| d.code).collect();
        assert_eq!(codes, vec!["E0002", "E0002"]);
        // unknown characters are reported, not passed on as tokens
        assert_eq!(l.stray, vec![Span::new(8, 9), Span::new(10, 12)]);
        assert!(l.tokens.iter().all(|(t, _)| *t != Token::Error));
        assert_eq!(lex("/* /* */").diags[0].code, "E0003");
        assert_eq!(lex("\"abc\nx").diags[0].code, "E0004");
        assert_eq!(lex(r#""a\qb""#).diags[0].code, "E0005");
        assert_eq!(lex(r#""a{b""#).diags[0].code, "E0006");
        assert_eq!(lex(r#""a}b""#).diags[0].code, "E0006");
        assert_eq!(lex(r#""a{}b""#).diags[0].code, "E0006");
        assert_eq!(lex("3px").diags[0].code, "E0008");
        assert_eq!(lex("1e999").diags[0].code, "E0008");
        let long = format!("\"{}\"", "a".repeat(MAX_STRING_LEN + 1));
        assert_eq!(lex(&long).diags[0].code, "E0007");
    }
}
