//! Error recovery and diagnostics: every independent error is reported once,
//! with its code, and the rest of the file is still parsed.

use nnc_diag::Diagnostic;
use nnc_syntax::{parse, pretty};

fn codes(src: &str) -> Vec<&'static str> {
    parse(src).1.iter().map(|d| d.code).collect()
}

fn diags(src: &str) -> Vec<Diagnostic> {
    parse(src).1
}

#[test]
fn three_broken_statements_three_diagnostics() {
    let src = "network n {
    let a = 1 +;
    let b = 2;
    let = 3;
    let c = 4;
    output c = f(1, 2 3);
    output d = c;
}
";
    let (file, d) = parse(src);
    assert_eq!(d.len(), 3, "{d:#?}");
    assert!(d.iter().all(|d| d.code == "E0010"), "{d:#?}");
    // the good statements are all there
    let dump = pretty::dump(&file);
    assert!(dump.contains("(let b 2)"), "{dump}");
    assert!(dump.contains("(let c 4)"), "{dump}");
    assert!(dump.contains("(output d c)"), "{dump}");
    // errors are sorted by position, one per line 2, 4, 6
    let lines: Vec<usize> = d
        .iter()
        .map(|d| {
            src[..d.primary_span().unwrap().start as usize]
                .lines()
                .count()
        })
        .collect();
    assert_eq!(lines, vec![2, 4, 6]);
}

#[test]
fn errors_in_several_items() {
    let src = "block a(x) { return x +; }
netwrok b { let y = 1; }
block c(x) { let z = (1, 2; return z; }
network d { let w = [1, 2)); }
";
    assert_eq!(
        codes(src),
        vec!["E0010", "E0015", "E0011", "E0012", "E0013"]
    );
    let (file, _) = parse(src);
    // the misspelled network is still parsed
    assert_eq!(file.items.len(), 4);
}

#[test]
fn missing_semicolon_is_assumed() {
    let src = "network n {\n    let x = relu(y)\n    let z = x;\n}\n";
    let (file, d) = parse(src);
    assert_eq!(d.len(), 1);
    let d = &d[0];
    assert_eq!(d.code, "E0014");
    assert_eq!(d.message, "expected `;`, found keyword `let`");
    // the fix inserts `;` right after `relu(y)`
    let s = &d.suggestions[0];
    let at = src.find("relu(y)").unwrap() + "relu(y)".len();
    assert_eq!(
        s.edits,
        vec![(nnc_diag::Span::new(at, at), ";".to_string())]
    );
    assert_eq!(s.applicability, nnc_diag::Applicability::MachineApplicable);
    assert_eq!(
        pretty::dump(&file),
        "(network n\n  (let x (call relu y))\n  (let z x))\n"
    );
    // before `}` too
    assert_eq!(
        codes("network n { for i in 0..2 { x = i } }"),
        vec!["E0014"]
    );
}

#[test]
fn garbage_in_the_middle_of_a_line_is_one_error() {
    let d = diags("network n { let x = 1 2 3 4; let y = 2; }");
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].code, "E0010");
    assert!(d[0].message.starts_with("expected "), "{}", d[0].message);
    assert!(
        d[0].message.ends_with("found integer `2`"),
        "{}",
        d[0].message
    );
}

#[test]
fn expected_found_messages() {
    let d = diags("network n { let x = conv2d(image out = 64); }");
    assert_eq!(d.len(), 1);
    assert_eq!(
        d[0].message,
        "expected one of `(`, `)`, `,`, `=` or an operator, found identifier `out`"
    );
    assert_eq!(d[0].help.as_deref(), Some("is a `,` missing before this?"));
    let d = diags("network n { let in = 5; }");
    assert_eq!(
        d[0].message,
        "expected `(` or identifier, found keyword `in`"
    );
    assert!(d[0].help.as_deref().unwrap().contains("keyword"));
    let d = diags("network n { let y = 2.; }");
    assert!(d[0].help.as_deref().unwrap().contains("2.0"), "{:?}", d[0]);
    let d = diags("network n { output; }");
    assert_eq!(d[0].message, "expected identifier, found `;`");
}

#[test]
fn misspelled_item_keywords() {
    let d = diags("netwrok n { }\nblok b(x) { return x; }\n");
    assert_eq!(d.len(), 2);
    assert_eq!(d[0].code, "E0015");
    assert_eq!(d[0].help.as_deref(), Some("did you mean `network`?"));
    assert_eq!(d[1].help.as_deref(), Some("did you mean `block`?"));
    // a statement at top level
    let d = diags("let x = 1;\nnetwork n { }");
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].code, "E0015");
    assert!(d[0].help.as_deref().unwrap().contains("inside the body"));
}

#[test]
fn unclosed_delimiter_names_the_opener() {
    let src = "network n {\n    let x = 1;\n";
    let d = diags(src);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].code, "E0011");
    let sec: Vec<_> = d[0].labels.iter().filter(|l| !l.primary).collect();
    assert_eq!(sec.len(), 1);
    assert_eq!(&src[sec[0].span.range()], "{");
    assert_eq!(d[0].help.as_deref(), Some("add the missing `}`"));
    // `;` inside brackets: the bracket was left open
    let d = diags("network n { let y = [1, 2; let z = f(3; }");
    assert_eq!(codes_of(&d), vec!["E0011", "E0011"]);
    // wrong closer
    let d = diags("network n { let y = f(1, 2]; }");
    assert_eq!(codes_of(&d), vec!["E0012"]);
    assert_eq!(d[0].suggestions[0].edits[0].1, ")");
    // stray closer
    assert_eq!(codes("network n { let y = 1; } }"), vec!["E0013"]);
}

fn codes_of(d: &[Diagnostic]) -> Vec<&'static str> {
    d.iter().map(|d| d.code).collect()
}

#[test]
fn call_and_operator_errors() {
    let d = diags("network n { let y = f(x, out = 2, 3, 4); }");
    assert_eq!(codes_of(&d), vec!["E0016", "E0016"]);
    assert!(d[0].help.is_some());
    assert_eq!(d[0].labels.len(), 2);
    assert_eq!(codes("network n { let y = 1 < 2 < 3; }"), vec!["E0018"]);
    assert_eq!(
        codes("network n { let y = (1 < 2) < 3; }"),
        Vec::<&str>::new()
    );
    assert_eq!(codes("network n { xs[0] = 1; }"), vec!["E0020"]);
    assert_eq!(codes("network n { f(x) = 1; }"), vec!["E0020"]);
    assert_eq!(codes("network n { let s = if a { 1 }; }"), vec!["E0021"]);
    assert_eq!(codes("network n { let s = f(1 = 2); }"), vec!["E0010"]);
}

#[test]
fn attributes() {
    assert_eq!(codes("#[alow(x)] network n { }"), vec!["E0019"]);
    let d = diags("#[alow(x)] network n { }");
    assert_eq!(d[0].help.as_deref(), Some("did you mean `allow`?"));
    assert_eq!(codes("network n { #[deny()] let x = 1; }"), vec!["E0019"]);
    let (f, d) = parse("network n { #[allow(a b)] let x = 1; let y = 2; }");
    assert_eq!(codes_of(&d), vec!["E0010"]);
    assert!(pretty::dump(&f).contains("(let y 2)"));
}

#[test]
fn lexical_errors_do_not_cascade() {
    // an unknown character is reported once, by the lexer
    assert_eq!(
        codes("network n { let x = a $ b; let y = @; }"),
        vec!["E0002", "E0002"]
    );
    // an unterminated string swallows the `;`: one error
    assert_eq!(
        codes("network n {\n let s = \"abc;\n let t = 1;\n}"),
        vec!["E0004"]
    );
    assert_eq!(codes("network n { } /* open"), vec!["E0003"]);
    assert_eq!(codes(r#"network n { let s = "a\qb"; }"#), vec!["E0005"]);
    assert_eq!(codes(r#"network n { let s = "a{x"; }"#), vec!["E0006"]);
    assert_eq!(codes(r#"network n { let s = "a{}"; }"#), vec!["E0006"]);
    assert_eq!(codes(r#"network n { let s = "a}"; }"#), vec!["E0006"]);
    assert_eq!(codes(r#"network n { let s = "{x +}"; }"#), vec!["E0010"]);
    assert_eq!(codes("network n { let x = 3px; }"), vec!["E0008"]);
    assert_eq!(codes("network n { let x = 1e999; }"), vec!["E0008"]);
    let long = format!("network n {{ let s = \"{}\"; }}", "a".repeat(5000));
    assert_eq!(codes(&long), vec!["E0007"]);
}

#[test]
fn every_code_is_registered_with_an_explanation() {
    let samples = [
        "network n { let x = $; }",
        "/*",
        "network n { let s = \"a; }",
        r#"network n { let s = "\q"; }"#,
        r#"network n { let s = "{"; }"#,
        "network n { let x = 3px; }",
        "network n { let x = ; }",
        "network n {",
        "network n { let x = (]; }",
        "network n { } }",
        "network n { let x = 1 }",
        "netwrok n { }",
        "network n { f(a = 1, 2); }",
        "network n { a < b < c; }",
        "#[x(y)] network n { }",
        "network n { f(x) = 1; }",
        "network n { let x = if a { 1 }; }",
    ];
    for s in samples {
        for d in diags(s) {
            let info = nnc_diag::codes::lookup(d.code)
                .unwrap_or_else(|| panic!("{} (from {s:?}) is not registered", d.code));
            assert!(info.explanation.len() > 80, "{}", d.code);
            assert!(d.primary_span().is_some(), "{d:?}");
            assert!(!d.message.contains("Rich"), "{d:?}");
        }
    }
}
