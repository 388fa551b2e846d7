//! `nnc check` prints at most 100 lint warnings (and 100 errors), then an
//! E0009 note counting the rest, like the front end's own diagnostics;
//! `nnc fix` still sees every finding.

use std::process::Command;

/// A network with `n` unused `relu`s (one `unused_value` warning each) and
/// one `elementwise_heavy` warning.
fn many_unused(n: usize) -> String {
    let mut s = String::from("network many {\n    input x: [1, 64];\n");
    for i in 0..n {
        s += &format!("    let u{i} = relu(x);\n");
    }
    s + "    output y = relu(x);\n}\n"
}

fn nnc(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_nnc"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn check_prints_100_lint_warnings_then_a_note_and_fix_sees_all() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("many.nn");
    std::fs::write(&f, many_unused(300)).unwrap();
    let f = f.to_str().unwrap();

    let o = nnc(&["check", f]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(err.matches("Warning:").count(), 100, "{err}");
    assert!(err.contains("[E0009]"), "{err}");
    assert!(
        err.contains("201 more warnings or notes not shown"),
        "{err}"
    );

    let o = nnc(&["check", f, "--message-format", "json"]);
    let out = String::from_utf8_lossy(&o.stdout);
    let codes: Vec<serde_json::Value> = out
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["code"].clone())
        .collect();
    assert_eq!(codes.len(), 101, "{out}");
    assert_eq!(codes.last().unwrap(), "E0009");

    // -D warnings: the 100 errors are capped the same way, exit 1
    let o = nnc(&["check", f, "-D", "warnings"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(err.matches("] Error:").count(), 100, "{err}");
    assert!(err.contains("201 more errors not shown"), "{err}");

    // fix works on every finding, not on the printed ones
    let o = nnc(&["fix", f, "--dry-run"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("301 lint findings"), "{out}");
}
