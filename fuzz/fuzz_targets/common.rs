//! Checks shared by the fuzz targets (included with `#[path]`).

use nnc_diag::{render, Diagnostic, SourceFile};

/// Every span of every diagnostic (labels and suggested edits) lies inside
/// `src` and on character boundaries, and the human rendering (ariadne, what
/// the CLI prints) does not panic.
pub fn check_diagnostics(src: &str, diags: &[Diagnostic]) {
    let ok = |start: u32, end: u32| {
        let (s, e) = (start as usize, end as usize);
        s <= e && e <= src.len() && src.is_char_boundary(s) && src.is_char_boundary(e)
    };
    for d in diags {
        for l in &d.labels {
            assert!(
                ok(l.span.start, l.span.end),
                "{}: label span {:?} outside the source ({} bytes)",
                d.code,
                l.span,
                src.len()
            );
        }
        for s in &d.suggestions {
            for (sp, _) in &s.edits {
                assert!(
                    ok(sp.start, sp.end),
                    "{}: edit span {:?} outside the source ({} bytes)",
                    d.code,
                    sp,
                    src.len()
                );
            }
        }
    }
    let file = SourceFile::new("fuzz.nn", src);
    for d in diags {
        let _ = render::human(d, &file, false);
    }
}
