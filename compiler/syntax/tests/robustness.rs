//! No input crashes the parser or overflows its stack: deep nesting, long
//! operator chains and random input. The parser runs on a thread with a
//! 2 MiB stack (the compiler's main thread has at least 8 MiB).

use nnc_syntax::parse;
use proptest::prelude::*;

const SMALL_STACK: usize = 2 * 1024 * 1024;

/// Parses `src` on a 2 MiB thread and returns the diagnostic codes. The AST
/// is dropped on that thread too (dropping a deep tree would recurse).
fn codes_small_stack(src: String) -> Vec<&'static str> {
    std::thread::Builder::new()
        .stack_size(SMALL_STACK)
        .spawn(move || {
            let (file, diags) = parse(&src);
            drop(file);
            diags.iter().map(|d| d.code).collect::<Vec<_>>()
        })
        .expect("spawn")
        .join()
        .expect("the parser panicked")
}

fn stmt(expr: &str) -> String {
    format!("network n {{ let x = {expr}; }}\n")
}

const N: usize = 50_000;

#[test]
fn deep_parens() {
    let src = stmt(&format!("{}1{}", "(".repeat(N), ")".repeat(N)));
    assert_eq!(codes_small_stack(src), vec!["E0017"]);
    // unclosed too
    assert!(codes_small_stack("(".repeat(N)).contains(&"E0017"));
    assert!(codes_small_stack("[".repeat(N)).contains(&"E0017"));
}

#[test]
fn deep_brackets_and_braces() {
    let src = stmt(&format!("{}1{}", "[".repeat(N), "]".repeat(N)));
    assert_eq!(codes_small_stack(src), vec!["E0017"]);
    let src = format!("network n {{ {}{} }}", "{".repeat(N), "}".repeat(N));
    assert!(codes_small_stack(src).contains(&"E0017"));
    let src = format!(
        "network n {{ {} }}",
        "for i in 0..2 { ".repeat(N) + &"}".repeat(N)
    );
    assert_eq!(codes_small_stack(src), vec!["E0017"]);
    let src = stmt(&format!("{}1{}", "f(".repeat(N), ")".repeat(N)));
    assert_eq!(codes_small_stack(src), vec!["E0017"]);
}

#[test]
fn just_under_the_nesting_limit_is_fine() {
    let d = nnc_syntax::MAX_NESTING - 2;
    let src = stmt(&format!("{}1{}", "(".repeat(d), ")".repeat(d)));
    assert_eq!(codes_small_stack(src), Vec::<&str>::new());
    let src = format!(
        "network n {{ {} }}",
        "for i in 0..2 { ".repeat(d) + &"}".repeat(d)
    );
    assert_eq!(codes_small_stack(src), Vec::<&str>::new());
}

#[test]
fn long_operator_chains() {
    assert_eq!(
        codes_small_stack(stmt(&format!("{}1", "-".repeat(N)))),
        vec!["E0017"]
    );
    assert_eq!(
        codes_small_stack(stmt(&format!("{}true", "!".repeat(N)))),
        vec!["E0017"]
    );
    assert_eq!(
        codes_small_stack(stmt(&format!("1{}", "+1".repeat(N)))),
        vec!["E0017"]
    );
    assert_eq!(
        codes_small_stack(stmt(&format!("a{}", "[0]".repeat(N)))),
        vec!["E0017"]
    );
    assert_eq!(
        codes_small_stack(stmt(&format!("1{}", " |> f".repeat(N)))),
        vec!["E0017"]
    );
    let chain = format!("if a {{1}}{} else {{2}}", " else if a {1}".repeat(N / 4));
    assert_eq!(codes_small_stack(stmt(&chain)), vec!["E0017"]);
    let chain = format!("network n {{ if a {{}}{} }}", " else if a {}".repeat(N / 4));
    assert_eq!(codes_small_stack(chain), vec!["E0017"]);
    // below the limit: accepted
    assert_eq!(
        codes_small_stack(stmt(&format!("1{}", "+1".repeat(1000)))),
        Vec::<&str>::new()
    );
    assert_eq!(
        codes_small_stack(stmt(&format!("{}1", "-".repeat(1000)))),
        Vec::<&str>::new()
    );
}

#[test]
fn long_flat_inputs_are_fine() {
    // many items, a long list: wide but shallow
    let src = "network n { let x = 1; }\n".repeat(20_000);
    assert_eq!(codes_small_stack(src), Vec::<&str>::new());
    let src = stmt(&format!("[{}]", "1, ".repeat(100_000)));
    assert_eq!(codes_small_stack(src), Vec::<&str>::new());
}

#[test]
fn large_input_is_linear() {
    // a 300 KB file of statements parses in well under the time of a
    // quadratic parser (generous bound for a loaded debug build)
    let line = "    x = relu(conv2d(x, out = 64, kernel = 3, name = \"c{i}\")) |> f(2);\n";
    let src = format!("network big {{\n{}}}\n", line.repeat(300_000 / line.len()));
    let t = std::time::Instant::now();
    assert_eq!(codes_small_stack(src), Vec::<&str>::new());
    assert!(t.elapsed().as_secs() < 60, "{:?}", t.elapsed());
}

fn token_soup() -> impl Strategy<Value = String> {
    let toks = prop::sample::select(vec![
        "(", ")", "[", "]", "{", "}", "network", "block", "let", "x", "f", "=", ";", ",", "1",
        "2.5", "+", "-", "*", "!", "<", "==", "&&", "||", "|>", "..", ":", "#", "\"a{", "}\"",
        "\"", "if", "else", "for", "in", "return", "output", "input", "/*", "*/", "//", "\n", "$",
        "1e", "é",
    ]);
    prop::collection::vec(toks, 0..200).prop_map(|v| v.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_token_soup_never_panics(src in token_soup()) {
        let (_, diags) = parse(&src);
        for d in &diags {
            prop_assert!(nnc_diag::codes::lookup(d.code).is_some(), "{}", d.code);
            let s = d.primary_span().unwrap();
            prop_assert!(s.end as usize <= src.len());
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(src) = nnc_syntax::decode(&bytes) {
            let _ = parse(src);
        }
    }

    #[test]
    fn random_text_never_panics(src in "\\PC{0,200}") {
        let _ = parse(&src);
    }

    /// Spans of every diagnostic lie on char boundaries of the source.
    #[test]
    fn spans_are_char_boundaries(src in "[a-z {}()\\[\\];=\"é$+]{0,80}") {
        let (_, diags) = parse(&src);
        for d in &diags {
            for l in &d.labels {
                prop_assert!(src.is_char_boundary(l.span.start as usize), "{:?} in {:?}", l, src);
                prop_assert!(src.is_char_boundary(l.span.end as usize), "{:?} in {:?}", l, src);
            }
        }
    }
}

/// 32,000 independent syntax errors: the errors reported are capped (the
/// rest summed up in one `E0009` note), and the parse stays fast (it was
/// quadratic: every error was compared with all the previous ones).
#[test]
fn many_errors_are_capped() {
    let mut src = String::from("network n {\n  input x: [1, 2];\n");
    for i in 0..32_000 {
        src.push_str(&format!("  let a{i} = ;\n  $\n"));
    }
    src.push_str("  output y = relu(x);\n}\n");
    let (_, diags) = nnc_syntax::parse(&src);
    let errors = diags.iter().filter(|d| d.is_error()).count();
    assert_eq!(errors, nnc_diag::MAX_REPORTED);
    let last = diags.last().unwrap();
    assert_eq!(last.code, "E0009");
    assert!(
        last.message.starts_with("63900 more errors"),
        "{}",
        last.message
    );
}
