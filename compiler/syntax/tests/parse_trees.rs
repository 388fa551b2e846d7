//! Parse trees of every construct, compared with `expect-test`
//! (`UPDATE_EXPECT=1 cargo test -p nnc-syntax` rewrites the expectations).

use expect_test::{expect, Expect};
use nnc_syntax::{parse, pretty};

/// Parses `src`, which must have no errors, and compares the dump.
fn check(src: &str, expect: Expect) {
    let (file, diags) = parse(src);
    assert!(diags.is_empty(), "unexpected diagnostics: {diags:#?}");
    expect.assert_eq(&pretty::dump(&file));
}

/// Parses the body of one network holding `stmts`.
fn check_stmts(stmts: &str, expect: Expect) {
    check(&format!("network n {{\n{stmts}\n}}\n"), expect);
}

/// Parses `let e = EXPR;` and dumps EXPR.
fn check_expr(src: &str, expect: Expect) {
    let (file, diags) = parse(&format!("network n {{ let e = {src}; }}"));
    assert!(diags.is_empty(), "unexpected diagnostics: {diags:#?}");
    let nnc_syntax::ast::Item::Network(n) = &file.items[0] else {
        panic!("not a network")
    };
    let nnc_syntax::ast::StmtKind::Let { value, .. } = &n.body.stmts[0].kind else {
        panic!("not a let")
    };
    expect.assert_eq(&pretty::dump_expr(value));
}

#[test]
fn spec_example() {
    check(
        include_str!("data/resnet18.nn"),
        expect![[r#"
            (block basic (x planes (stride 1))
              (let out (call conv2d x (out= planes) (kernel= 3) (stride= stride) (pad= 1) (bias= false) (name= (str "conv1"))))
              (assign out (call relu (call batchnorm out (name= (str "bn1")))))
              (assign out (call conv2d out (out= planes) (kernel= 3) (pad= 1) (bias= false) (name= (str "conv2"))))
              (assign out (call batchnorm out (name= (str "bn2"))))
              (let identity x)
              (if (|| (!= stride 1) (!= (call channels x) planes))
                (then
                  (assign identity (call conv2d x (out= planes) (kernel= 1) (stride= stride) (bias= false) (name= (str "downsample.0"))))
                  (assign identity (call batchnorm identity (name= (str "downsample.1"))))))
              (return (call relu (+ out identity))))
            (network resnet18
              (input image [1 3 224 224])
              (let x (call conv2d image (out= 64) (kernel= 7) (stride= 2) (pad= 3) (bias= false) (name= (str "conv1"))))
              (assign x (call relu (call batchnorm x (name= (str "bn1")))))
              (assign x (call maxpool x (kernel= 3) (stride= 2) (pad= 1)))
              (let widths [64 128 256 512])
              (for s 0 4
                (for b 0 2
                  (let stride (if (&& (> s 0) (== b 0)) 2 1))
                  (assign x (call basic x (index widths s) stride (name= (str "layer" {(+ s 1)} "." {b}))))))
              (output logits (call linear (call flatten (call global_avgpool x)) (out= 1000) (name= (str "fc")))))
        "#]],
    );
}

#[test]
fn items_and_params() {
    check(
        "block b() { } block c(x, y = 2, z = [1, 2],) { return (x, y); } network a { } network b2 {}",
        expect![[r#"
            (block b ())
            (block c (x (y 2) (z [1 2]))
              (return (tuple x y)))
            (network a)
            (network b2)
        "#]],
    );
}

#[test]
fn statements() {
    check_stmts(
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
        expect![[r#"
            (network n
              (input image [1 3 224 224])
              (let x image)
              (let (a b) (call split x (parts= 2)))
              (assign x (call relu x))
              (output logits x)
              (output x)
              (expr (call foo x))
              (for i 0 (call len ws)
                (let y i)
                (assign x y))
              (if a
                (then
                  (assign x 1))
                (else
                  (if b
                    (then
                      (assign x 2))
                    (else
                      (assign x 3)))))
              (if c
                (then))
              (return x))
        "#]],
    );
}

#[test]
fn literals() {
    check_expr(
        "[1_000, 0.5, 1e-5, 2.5E3, true, false, 9223372036854775807, 9223372036854775808]",
        expect!["[1000 0.5 1e-5 2500.0 true false 9223372036854775807 <int-overflow>]"],
    );
    check_expr(r#""a\"b\\c\n{{d}}""#, expect![[r#"(str "a\"b\\c\n{d}")"#]]);
    check_expr(
        r#""layer{s + 1}.{b}""#,
        expect![[r#"(str "layer" {(+ s 1)} "." {b})"#]],
    );
    check_expr(
        r#""{xs[i]}{f(a, k = "")}""#.replace(", k = \"\"", "").as_str(),
        expect!["(str {(index xs i)} {(call f a)})"],
    );
}

#[test]
fn precedence() {
    check_expr(
        "1 + 2 * 3 - 4 / 5 % 6",
        expect!["(- (+ 1 (* 2 3)) (% (/ 4 5) 6))"],
    );
    check_expr(
        "a || b && c == d + e * -f",
        expect!["(|| a (&& b (== c (+ d (* e (neg f))))))"],
    );
    check_expr(
        "!a && !(b || c)",
        expect!["(&& (not a) (not (paren (|| b c))))"],
    );
    check_expr(
        "(a < b) == (c >= d)",
        expect!["(== (paren (< a b)) (paren (>= c d)))"],
    );
    check_expr("-xs[0][1]", expect!["(neg (index (index xs 0) 1))"]);
    check_expr(
        "a || b + c |> f |> g(1, k = 2)",
        expect!["(pipe g (pipe f (|| a (+ b c))) 1 (k= 2))"],
    );
    check_expr("- - 1", expect!["(neg (neg 1))"]);
}

#[test]
fn compound_expressions() {
    check_expr("(a, b)", expect!["(tuple a b)"]);
    check_expr("(a,)", expect!["(tuple a)"]);
    check_expr("()", expect!["(tuple)"]);
    check_expr("(a)", expect!["(paren a)"]);
    check_expr("[]", expect!["[]"]);
    check_expr("[[1, 2], [3]]", expect!["[[1 2] [3]]"]);
    check_expr("f()", expect!["(call f)"]);
    check_expr(
        "f(x, 1, out = 2, name = \"c\",)",
        expect![[r#"(call f x 1 (out= 2) (name= (str "c")))"#]],
    );
    check_expr(
        "if a { 1 } else if b { 2 } else { 3 }",
        expect!["(if a 1 (if b 2 3))"],
    );
    check_expr(
        "if a > 0 { if b { 1 } else { 2 } } else { 3 } + 1",
        expect!["(+ (if (> a 0) (if b 1 2) 3) 1)"],
    );
}

#[test]
fn attributes_and_comments() {
    check(
        "// a comment\n#[allow(unbalanced_channels, simd_width)]\n#[deny(x)]\nblock b(x) { /* c /* nested */ c */ #[warn(dead_value)] let y = x; return y; }\nnetwork n { #[allow(a)] for i in 0..2 { } }",
        expect![[r#"
            #[allow(unbalanced_channels, simd_width)]
            #[deny(x)]
            (block b (x)
              #[warn(dead_value)]
              (let y x)
              (return y))
            (network n
              #[allow(a)]
              (for i 0 2))
        "#]],
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
