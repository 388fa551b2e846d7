//! Fuzz target: the front end never panics on any bytes. Decodes as UTF-8
//! (invalid input must give E0001, not a panic), then lexes and parses,
//! checks that every diagnostic span lies inside the source, renders the
//! diagnostics and pretty-prints the AST.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    match nnc_syntax::decode(data) {
        Err(d) => assert_eq!(d.code, "E0001"),
        Ok(src) => {
            let (file, diags) = nnc_syntax::parse(src);
            common::check_diagnostics(src, &diags);
            let _ = nnc_syntax::pretty::dump(&file);
        }
    }
});
