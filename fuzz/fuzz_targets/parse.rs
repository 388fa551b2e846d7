//! Fuzz target: the front end never panics on any bytes. Decodes as UTF-8
//! (invalid input must give E0001, not a panic), then lexes and parses, and
//! checks that every diagnostic span lies inside the source.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match nnc_syntax::decode(data) {
        Err(d) => assert_eq!(d.code, "E0001"),
        Ok(src) => {
            let (file, diags) = nnc_syntax::parse(src);
            for d in &diags {
                for l in &d.labels {
                    assert!(l.span.end as usize <= src.len());
                    assert!(src.is_char_boundary(l.span.start as usize));
                    assert!(src.is_char_boundary(l.span.end as usize));
                }
            }
            let _ = nnc_syntax::pretty::dump(&file);
        }
    }
});
