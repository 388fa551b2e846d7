//! The code table is complete: every code written anywhere in the
//! repository's sources (as a string literal) or expected by a UI test (in a
//! `.stderr` file) is in `nnc_diag::codes`, and every entry is explained.

use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Files under `dir` with extension `ext`, skipping build outputs.
fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name();
        if p.is_dir() {
            if name != "target" && !name.to_string_lossy().starts_with('.') {
                files(&p, ext, out);
            }
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
}

/// Codes of the form `E0123`/`W0123` in `text` that are preceded by `open`
/// and followed by `close` (e.g. `"` and `"`, or `[` and `]`).
fn codes_in(text: &str, open: u8, close: u8) -> Vec<String> {
    let b = text.as_bytes();
    let mut found = Vec::new();
    for i in 1..b.len().saturating_sub(5) {
        if b[i - 1] == open
            && matches!(b[i], b'E' | b'W')
            && b[i + 1..i + 5].iter().all(u8::is_ascii_digit)
            && b[i + 5] == close
        {
            found.push(text[i..i + 5].to_string());
        }
    }
    found
}

#[test]
fn every_code_used_is_in_the_table() {
    let root = repo_root();
    let mut sources = Vec::new();
    for dir in ["compiler", "runtime", "fuzz", "tools"] {
        files(&root.join(dir), "rs", &mut sources);
    }
    let mut expectations = Vec::new();
    files(&root.join("tests/ui"), "stderr", &mut expectations);
    assert!(sources.len() > 50 && expectations.len() > 50);

    let mut missing = Vec::new();
    let mut seen = 0;
    for (paths, open, close) in [(&sources, b'"', b'"'), (&expectations, b'[', b']')] {
        for p in paths {
            let text = std::fs::read_to_string(p).unwrap();
            for code in codes_in(&text, open, close) {
                seen += 1;
                if nnc_diag::codes::lookup(&code).is_none() {
                    missing.push(format!("{code} in {}", p.display()));
                }
            }
        }
    }
    assert!(seen > 100, "the scan found only {seen} codes");
    assert!(
        missing.is_empty(),
        "codes not in the table:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_entry_is_explained() {
    for c in nnc_diag::codes::all() {
        assert!(c.title.len() > 5, "{}: no title", c.code);
        assert!(c.explanation.len() > 40, "{}: no explanation", c.code);
        assert!(!c.title.ends_with('.'), "{}: title ends with `.`", c.code);
    }
}

#[test]
fn the_scan_finds_codes() {
    assert_eq!(
        codes_in(r#"x("E0123", "W0001")"#, b'"', b'"'),
        ["E0123", "W0001"]
    );
    assert_eq!(codes_in("error[E0135]: ", b'[', b']'), ["E0135"]);
    assert!(codes_in("E0123 \"E012\" \"L0001\"", b'"', b'"').is_empty());
}
