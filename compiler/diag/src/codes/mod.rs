//! The one table of stable diagnostic codes, one file per stage: each entry
//! gives a constant's name, the code, a title and what `nnc explain CODE`
//! prints, and [`code_table!`] turns it into the constant (e.g.
//! [`elab::UNKNOWN_NAME`]) and the table row. Stages name codes through these
//! constants, so a code cannot be used without an explanation. Codes are
//! never reused or renumbered.
//!
//! | range | stage | file |
//! |---|---|---|
//! | `E0001`–`E0099` | lexing, parsing | `syntax.rs` |
//! | `E0100`–`E0399` | elaboration: names, values, calls, shapes, limits | `elab.rs` |
//! | `E0400`–`E0499` | inputs of the driver and the backend: files, weights, build | `build.rs` |
//! | `E0500`–`E0529` | ONNX import and export | `onnx.rs` |
//! | `W0001`–`W0099` | compiler warnings that are not lints | `build.rs` |
//!
//! Lints have names and `L` codes, registered in the `nnc-lints` crate.

/// Defines a stage's codes: `NAME = "E0100" { title: "...", explanation: "..." }`
/// becomes `pub const NAME: &str = "E0100";` (documented with its title) and a
/// row of the stage's `CODES` table.
macro_rules! code_table {
    ($($name:ident = $code:literal { title: $title:literal, explanation: $expl:literal $(,)? })*) => {
        $(
            #[doc = concat!("`", $code, "`: ", $title, ".")]
            pub const $name: &str = $code;
        )*

        /// This stage's codes, in the order of the table.
        pub static CODES: &[super::CodeInfo] = &[
            $(super::CodeInfo { code: $name, title: $title, explanation: $expl },)*
        ];
    };
}
use code_table;

pub mod build;
pub mod elab;
pub mod onnx;
pub mod syntax;

/// One stable diagnostic code.
#[derive(Debug, Clone, Copy)]
pub struct CodeInfo {
    pub code: &'static str,
    /// One line: what the code means.
    pub title: &'static str,
    /// Markdown-ish text shown by `nnc explain`: what triggers it, an example,
    /// and how to fix it.
    pub explanation: &'static str,
}

/// Every code of every stage.
pub fn all() -> impl Iterator<Item = &'static CodeInfo> {
    syntax::CODES
        .iter()
        .chain(elab::CODES.iter())
        .chain(build::CODES.iter())
        .chain(onnx::CODES.iter())
}

/// Looks a code up, case-insensitively (`e0001` finds `E0001`).
pub fn lookup(code: &str) -> Option<&'static CodeInfo> {
    all().find(|c| c.code.eq_ignore_ascii_case(code))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for c in all() {
            assert!(seen.insert(c.code), "duplicate code {}", c.code);
            assert_eq!(c.code.len(), 5, "{}", c.code);
            assert!(c.code.starts_with('E') || c.code.starts_with('W'));
            assert!(!c.title.is_empty() && !c.explanation.is_empty());
        }
    }
}
