//! Front end, text → AST: the lexer ([`lexer`], logos) and the parser
//! ([`parser`], chumsky 0.12) with error recovery.
//!
//! Robustness: no input makes [`parse`] panic or recurse without bound.
//! Delimiter nesting is limited to [`delims::MAX_NESTING`] levels (checked on
//! the tokens before parsing), expression trees to [`parser::MAX_EXPR_DEPTH`]
//! levels and `else if` chains to [`parser::MAX_ELSE_IF`] (checked while the
//! trees are built, so no deeper tree ever exists). The parser's own
//! recursion goes through chumsky's `recursive`, which grows the stack on the
//! heap (the `stacker` feature) when it runs low; the tests run it on a 2 MiB
//! thread. Consumers walking the AST recursively see at most about
//! `MAX_EXPR_DEPTH + 2 * MAX_NESTING` levels.

pub mod ast;
mod delims;
pub mod lexer;
pub mod parser;
pub mod pretty;

pub use delims::MAX_NESTING;
use nnc_diag::codes::syntax as code;
use nnc_diag::{Diagnostic, Span};

/// Checks that the bytes are UTF-8; otherwise an `E0001` at the first bad byte.
#[allow(clippy::result_large_err)] // called once per file; the shape is shared API
pub fn decode(bytes: &[u8]) -> Result<&str, Diagnostic> {
    std::str::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        Diagnostic::error(code::INVALID_UTF8, "the source file is not valid UTF-8")
            .with_primary(
                Span::new(at, at + 1),
                format!("invalid byte 0x{:02x} here", bytes[at]),
            )
            .with_help("save the file as UTF-8")
    })
}

/// Parses a file. Always returns an AST (with error nodes where the text is
/// broken) and every syntax error found, sorted by position.
pub fn parse(src: &str) -> (ast::File, Vec<Diagnostic>) {
    parser::parse(src)
}
