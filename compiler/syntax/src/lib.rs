//! Front end, text → AST: the lexer ([`lexer`], logos) and the parser
//! ([`parser`], chumsky 0.12) with error recovery.

pub mod ast;
pub mod lexer;
pub mod parser;

use nnc_diag::{Diagnostic, Span};

/// Checks that the bytes are UTF-8; otherwise an `E0001` at the first bad byte.
pub fn decode(bytes: &[u8]) -> Result<&str, Diagnostic> {
    std::str::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        Diagnostic::error("E0001", "the source file is not valid UTF-8")
            .with_primary(
                Span::new(at, at + 1),
                format!("invalid byte 0x{:02x} here", bytes[at]),
            )
            .with_help("save the file as UTF-8")
    })
}

/// Parses a file. Always returns an AST (with error nodes where the text is
/// broken) and every syntax error found.
pub fn parse(src: &str) -> (ast::File, Vec<Diagnostic>) {
    parser::parse(src)
}
