//! Data-driven elaboration tests: `tests/cases/*.txt` hold cases
//!
//! ```text
//! === case name
//! network n { ... }
//! ---
//! expected output (the graph dump, or the diagnostics)
//! ```
//!
//! A first source line `// network: NAME` selects the network.
//!
//! The output of a case is the graph dump (`nnc_ir::dump`) when there are no
//! diagnostics, otherwise one block per diagnostic: `CODE line:col message`,
//! its labels, notes and help. Run with `NNC_BLESS=1` to rewrite the
//! expectations (then review the diff).

use nnc_diag::SourceFile;
use std::fmt::Write;
use std::path::Path;

fn render(src: &str) -> String {
    let file = SourceFile::new("case.nn", src);
    let (ast, diags) = nnc_syntax::parse(src);
    let mut out = String::new();
    // `// network: NAME` on the first line selects a network
    let network = src
        .trim_start()
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("// network:"))
        .map(str::trim);
    let el = if diags.is_empty() {
        nnc_elab::elaborate(&ast, network)
    } else {
        for d in &diags {
            let _ = writeln!(out, "syntax error {}: {}", d.code, d.message);
        }
        return out;
    };
    if el.diagnostics.is_empty() {
        return nnc_ir::dump::dump(el.graph.as_ref().expect("graph without diagnostics"));
    }
    assert!(el.graph.is_none(), "errors but a graph");
    for d in &el.diagnostics {
        let pos = |s: nnc_diag::Span| {
            let (l, c) = file.line_col(s.start as usize);
            format!("{l}:{c}")
        };
        let at = d.primary_span().map(pos).unwrap_or_else(|| "-".into());
        let _ = writeln!(out, "{} {} {at} {}", d.level, d.code, d.message);
        for l in &d.labels {
            let _ = writeln!(
                out,
                "  {} {} `{}`: {}",
                if l.primary { "primary" } else { "secondary" },
                pos(l.span),
                file.slice(l.span).lines().next().unwrap_or(""),
                l.message
            );
        }
        for n in &d.notes {
            let _ = writeln!(out, "  note: {n}");
        }
        if let Some(h) = &d.help {
            let _ = writeln!(out, "  help: {h}");
        }
    }
    out
}

struct Case {
    name: String,
    src: String,
    expect: String,
}

fn parse_cases(text: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    for chunk in text.split("\n=== ").map(|c| c.trim_start_matches("=== ")) {
        if chunk.trim().is_empty() {
            continue;
        }
        let (name, rest) = chunk.split_once('\n').unwrap_or((chunk, ""));
        let (src, expect) = rest.split_once("\n---\n").unwrap_or((rest, ""));
        cases.push(Case {
            name: name.trim().to_string(),
            src: src.to_string(),
            expect: expect.trim_end().to_string(),
        });
    }
    cases
}

fn write_cases(cases: &[Case]) -> String {
    let mut s = String::new();
    for c in cases {
        let _ = write!(
            s,
            "=== {}\n{}\n---\n{}\n\n",
            c.name,
            c.src.trim_end(),
            c.expect
        );
    }
    s
}

#[test]
fn cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let bless = nnc_diag::bless::enabled();
    let mut failures = Vec::new();
    let mut count = 0;
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("txt"))
        .collect();
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let mut cases = parse_cases(&text);
        for c in &mut cases {
            count += 1;
            let got = render(&c.src).trim_end().to_string();
            if got != c.expect {
                if bless {
                    c.expect = got;
                } else {
                    failures.push(format!(
                        "{} / {}:\n--- expected\n{}\n--- got\n{}\n",
                        path.display(),
                        c.name,
                        c.expect,
                        got
                    ));
                }
            }
        }
        if bless {
            std::fs::write(&path, write_cases(&cases)).unwrap();
        }
    }
    assert!(count > 0);
    assert!(
        failures.is_empty(),
        "{} failing case(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
