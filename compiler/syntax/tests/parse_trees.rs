//! Parse trees of every construct, compared with expected files in
//! `tests/parse_trees/` (`NNC_BLESS=1 cargo test -p nnc-syntax --test
//! parse_trees` rewrites them).

use nnc_syntax::{parse, pretty};
use std::path::Path;

/// Compares `got` with `tests/parse_trees/<name>.txt`.
fn expect(name: &str, got: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/parse_trees")
        .join(format!("{name}.txt"));
    nnc_diag::bless::assert_file(&path, got);
}

/// Parses `src`, which must have no errors, and compares the dump.
fn check(name: &str, src: &str) {
    let (file, diags) = parse(src);
    assert!(diags.is_empty(), "unexpected diagnostics: {diags:#?}");
    expect(name, &pretty::dump(&file));
}

/// Parses the body of one network holding `stmts`.
fn check_stmts(name: &str, stmts: &str) {
    check(name, &format!("network n {{\n{stmts}\n}}\n"));
}

/// Parses `let e = EXPR;` and dumps EXPR.
fn check_expr(name: &str, src: &str) {
    let (file, diags) = parse(&format!("network n {{ let e = {src}; }}"));
    assert!(diags.is_empty(), "unexpected diagnostics: {diags:#?}");
    let nnc_syntax::ast::Item::Network(n) = &file.items[0] else {
        panic!("not a network")
    };
    let nnc_syntax::ast::StmtKind::Let { value, .. } = &n.body.stmts[0].kind else {
        panic!("not a let")
    };
    expect(name, &pretty::dump_expr(value));
}

#[test]
fn spec_example() {
    check("spec_example.1", include_str!("data/resnet18.nn"));
}

#[test]
fn items_and_params() {
    check(
        "items_and_params.1",
        "block b() { } block c(x, y = 2, z = [1, 2],) { return (x, y); } network a { } network b2 {}",
    );
}

#[test]
fn statements() {
    check_stmts(
        "statements.1",
        r#"input image: [1, 3, 224, 224];
let x = image;
let (a, b) = split(x, parts = 2);
x = relu(x);
output logits = x;
output x;
foo(x);
for i in 0..len(ws) { let y = i; x = y; }
if a { x = 1; } else if b { x = 2; } else { x = 3; }
if c { }
return x;"#,
    );
}

#[test]
fn literals() {
    check_expr(
        "literals.1",
        "[1_000, 0.5, 1e-5, 2.5E3, true, false, 9223372036854775807, 9223372036854775808]",
    );
    check_expr("literals.2", r#""a\"b\\c\n{{d}}""#);
    check_expr("literals.3", r#""layer{s + 1}.{b}""#);
    check_expr(
        "literals.4",
        r#""{xs[i]}{f(a, k = "")}""#.replace(", k = \"\"", "").as_str(),
    );
}

#[test]
fn precedence() {
    check_expr("precedence.1", "1 + 2 * 3 - 4 / 5 % 6");
    check_expr("precedence.2", "a || b && c == d + e * -f");
    check_expr("precedence.3", "!a && !(b || c)");
    check_expr("precedence.4", "(a < b) == (c >= d)");
    check_expr("precedence.5", "-xs[0][1]");
    check_expr("precedence.6", "a || b + c |> f |> g(1, k = 2)");
    check_expr("precedence.7", "- - 1");
}

#[test]
fn compound_expressions() {
    check_expr("compound_expressions.1", "(a, b)");
    check_expr("compound_expressions.2", "(a,)");
    check_expr("compound_expressions.3", "()");
    check_expr("compound_expressions.4", "(a)");
    check_expr("compound_expressions.5", "[]");
    check_expr("compound_expressions.6", "[[1, 2], [3]]");
    check_expr("compound_expressions.7", "f()");
    check_expr("compound_expressions.8", "f(x, 1, out = 2, name = \"c\",)");
    check_expr(
        "compound_expressions.9",
        "if a { 1 } else if b { 2 } else { 3 }",
    );
    check_expr(
        "compound_expressions.10",
        "if a > 0 { if b { 1 } else { 2 } } else { 3 } + 1",
    );
}

#[test]
fn attributes_and_comments() {
    check(
        "attributes_and_comments.1",
        "// a comment\n#[allow(unbalanced_channels, simd_width)]\n#[deny(x)]\nblock b(x) { /* c /* nested */ c */ #[warn(dead_value)] let y = x; return y; }\nnetwork n { #[allow(a)] for i in 0..2 { } }",
    );
}

#[test]
fn spans() {
    let src = "network n { let x = f(a, k = 1) + 2; }";
    let (file, _) = parse(src);
    let nnc_syntax::ast::Item::Network(n) = &file.items[0] else {
        panic!()
    };
    assert_eq!(&src[n.span.range()], src);
    assert_eq!(&src[n.name.span.range()], "n");
    assert_eq!(&src[n.body.span.range()], &src[10..]);
    let s = &n.body.stmts[0];
    assert_eq!(&src[s.span.range()], "let x = f(a, k = 1) + 2;");
    let nnc_syntax::ast::StmtKind::Let { value, .. } = &s.kind else {
        panic!()
    };
    assert_eq!(&src[value.span.range()], "f(a, k = 1) + 2");
    let nnc_syntax::ast::ExprKind::Binary { lhs, op_span, .. } = &value.kind else {
        panic!()
    };
    assert_eq!(&src[op_span.range()], "+");
    assert_eq!(&src[lhs.span.range()], "f(a, k = 1)");
    let nnc_syntax::ast::ExprKind::Call { args, .. } = &lhs.kind else {
        panic!()
    };
    assert_eq!(&src[args[1].span.range()], "k = 1");
    // interpolation spans are absolute
    let src = r#"network n { let s = "ab{x + 1}"; }"#;
    let (file, diags) = parse(src);
    assert!(diags.is_empty());
    let nnc_syntax::ast::Item::Network(n) = &file.items[0] else {
        panic!()
    };
    let nnc_syntax::ast::StmtKind::Let { value, .. } = &n.body.stmts[0].kind else {
        panic!()
    };
    assert_eq!(&src[value.span.range()], r#""ab{x + 1}""#);
    let nnc_syntax::ast::ExprKind::Str(parts) = &value.kind else {
        panic!()
    };
    let nnc_syntax::ast::StrPart::Interp(e) = &parts[1] else {
        panic!()
    };
    assert_eq!(&src[e.span.range()], "x + 1");
    // pipe: the call spans the whole chain, the first argument is the lhs
    let src = "network n { let y = x |> f(2); }";
    let (file, _) = parse(src);
    let nnc_syntax::ast::Item::Network(n) = &file.items[0] else {
        panic!()
    };
    let nnc_syntax::ast::StmtKind::Let { value, .. } = &n.body.stmts[0].kind else {
        panic!()
    };
    assert_eq!(&src[value.span.range()], "x |> f(2)");
}
