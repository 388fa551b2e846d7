//! The parser (chumsky 0.12).
use crate::ast;
use nnc_diag::Diagnostic;

pub fn parse(src: &str) -> (ast::File, Vec<Diagnostic>) {
    let _ = src;
    (ast::File::default(), Vec::new())
}
