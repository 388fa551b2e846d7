//! Limits, provenance, deep input and performance.

use nnc_diag::Span;
use nnc_elab::{elaborate, elaborate_with, IntProv, Limits};
use nnc_syntax::ast;
use std::time::Instant;

fn parse(src: &str) -> ast::File {
    let (f, d) = nnc_syntax::parse(src);
    assert!(d.is_empty(), "{d:#?}");
    f
}

fn codes(el: &nnc_elab::Elaborated) -> Vec<&'static str> {
    el.diagnostics.iter().map(|d| d.code).collect()
}

/// The span of `text` inside the first occurrence of `context`.
fn lit(src: &str, context: &str, text: &str) -> Span {
    let start = src.find(context).unwrap() + context.find(text).unwrap();
    Span::new(start, start + text.len())
}

#[test]
fn provenance_of_out_and_groups() {
    let src = r#"
block unit(x, w) { return conv2d(x, out = w * 2, kernel = 1, groups = 2); }
network n {
    input x: [1, 4, 8, 8];
    let ws = [8, 16];
    let a = conv2d(x, out = ws[1], kernel = 1);
    let b = unit(a, ws[0]);
    let c = conv2d(b, out = channels(b), kernel = 1);
    output y = linear(flatten(c), 10);
}
"#;
    let el = elaborate(&parse(src), None);
    assert!(el.diagnostics.is_empty(), "{:#?}", el.diagnostics);
    let g = el.graph.as_ref().unwrap();
    let ops = &el.provenance.ops;
    assert_eq!(ops.len(), 4);
    // a: out = ws[1] -> the literal 16
    assert_eq!(
        *ops[0].out.prov,
        IntProv::Lit {
            span: lit(src, "[8, 16]", "16"),
            value: 16
        }
    );
    assert_eq!(ops[0].out.value, 16);
    assert!(ops[0].groups.is_none());
    // unit: out = w * 2 with w = ws[0] -> Mul(Lit 8, Lit 2); groups = Lit 2
    let eight = IntProv::Lit {
        span: lit(src, "[8, 16]", "8"),
        value: 8,
    };
    let two = IntProv::Lit {
        span: lit(src, "w * 2", "2"),
        value: 2,
    };
    match &*ops[1].out.prov {
        IntProv::Mul(a, b) => {
            assert_eq!(**a, eight);
            assert_eq!(**b, two);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(ops[1].out.prov.literals().len(), 2);
    let groups = ops[1].groups.as_ref().unwrap();
    assert_eq!(groups.value, 2);
    assert_eq!(
        groups.prov.as_literal(),
        Some((lit(src, "groups = 2", "2"), 2))
    );
    // c: channels(b) is opaque
    assert!(ops[2].out.prov.has_opaque());
    // linear: 10
    assert_eq!(ops[3].out.prov.as_literal().map(|l| l.1), Some(10));
    assert_eq!(g.node(ops[3].node).op.name(), "linear");
    assert_eq!(el.provenance.get(ops[1].node), Some(&ops[1]));
}

#[test]
fn node_limit() {
    let src =
        "network n { input x: [1, 4]; let y = x; for i in 0..50 { y = relu(y); } output o = y; }";
    let limits = Limits {
        nodes: 10,
        ..Limits::default()
    };
    let el = elaborate_with(&parse(src), None, &limits);
    assert_eq!(codes(&el), vec!["E0181"]);
    assert!(el.graph.is_none());
}

#[test]
fn tensor_limit() {
    let src = "network n { input x: [1, 4, 64, 64]; output o = upsample(x, scale = 64); }";
    let limits = Limits {
        tensor_elements: 1 << 20,
        ..Limits::default()
    };
    let el = elaborate_with(&parse(src), None, &limits);
    assert_eq!(codes(&el), vec!["E0182"]);
    // overflow of usize is also caught
    let src = "network n { input x: [4611686018427387904, 4611686018427387904]; output o = x; }";
    let el = elaborate(&parse(src), None);
    assert_eq!(codes(&el), vec!["E0182"]);
}

#[test]
fn call_depth_limit() {
    let mut src = String::new();
    for i in 0..300 {
        src.push_str(&format!("block b{i}(x) {{ return b{}(x); }}\n", i + 1));
    }
    src.push_str("block b300(x) { return relu(x); }\n");
    src.push_str("network n { input x: [1, 4]; output o = b0(x); }\n");
    let el = elaborate(&parse(&src), None);
    assert_eq!(codes(&el), vec!["E0183"]);
    // within the limit it works
    let limits = Limits {
        call_depth: 400,
        ..Limits::default()
    };
    let el = elaborate_with(&parse(&src), None, &limits);
    assert!(el.diagnostics.is_empty(), "{:#?}", el.diagnostics);
    assert_eq!(el.graph.unwrap().blocks.len(), 301);
}

#[test]
fn eval_depth_limit_from_source() {
    let deep = format!("{}1{}", "(".repeat(100), ")".repeat(100));
    let src = format!("network n {{ input x: [1, 4]; let a = {deep}; output o = x; }}");
    let limits = Limits {
        eval_depth: 50,
        ..Limits::default()
    };
    let el = elaborate_with(&parse(&src), None, &limits);
    assert_eq!(codes(&el), vec!["E0184"]);
    assert!(elaborate(&parse(&src), None).diagnostics.is_empty());
}

/// An AST far deeper than the parser allows: elaboration fails cleanly.
#[test]
fn very_deep_ast_is_an_error_not_a_crash() {
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(|| {
            let sp = Span::new(0, 1);
            let mut e = ast::Expr {
                kind: ast::ExprKind::Int { value: Some(1) },
                span: sp,
            };
            for _ in 0..100_000 {
                e = ast::Expr {
                    kind: ast::ExprKind::Unary {
                        op: ast::UnaryOp::Neg,
                        operand: Box::new(e),
                    },
                    span: sp,
                };
            }
            let id = |n: &str| ast::Ident {
                name: n.into(),
                span: sp,
            };
            let stmt = |kind| ast::Stmt {
                kind,
                attrs: vec![],
                span: sp,
            };
            let file = ast::File {
                items: vec![ast::Item::Network(ast::Network {
                    name: id("n"),
                    attrs: vec![],
                    span: sp,
                    body: ast::Body {
                        span: sp,
                        stmts: vec![
                            stmt(ast::StmtKind::Let {
                                name: id("a"),
                                value: e,
                            }),
                            stmt(ast::StmtKind::Input {
                                name: id("x"),
                                shape: vec![ast::Expr {
                                    kind: ast::ExprKind::Int { value: Some(4) },
                                    span: sp,
                                }],
                            }),
                            stmt(ast::StmtKind::Output {
                                name: id("x"),
                                value: None,
                            }),
                        ],
                    },
                })],
            };
            let el = elaborate(&file, None);
            assert_eq!(codes(&el), vec!["E0184"]);
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn loop_limit_is_global() {
    let src =
        "network n { input x: [1, 4]; for i in 0..1000 { for j in 0..1000 { } } output o = x; }";
    let limits = Limits {
        loop_iterations: 10_000,
        ..Limits::default()
    };
    let el = elaborate_with(&parse(src), None, &limits);
    assert_eq!(codes(&el), vec!["E0180"]);
}

/// A generated network of 10,000 ops (2,500 block calls of 4 ops each, plus
/// 10,000 straight-line ops) elaborates quickly.
#[test]
fn ten_thousand_ops_is_fast() {
    let mut src = String::from(
        "block unit(x, w) {\n  let y = conv2d(x, out = w, kernel = 3, pad = 1);\n  y = relu(batchnorm(y));\n  return y + x;\n}\n",
    );
    src.push_str("network big {\n  input x: [1, 8, 16, 16];\n  let y = x;\n");
    src.push_str("  for i in 0..2500 { y = unit(y, 8, name = \"u{i}\"); }\n");
    for i in 0..10_000 {
        if i % 2 == 0 {
            src.push_str("  y = relu(y);\n");
        } else {
            src.push_str(&format!(
                "  y = conv2d(y, out = 8, kernel = 1, name = \"c{i}\");\n"
            ));
        }
    }
    src.push_str("  output o = y;\n}\n");
    let file = parse(&src);
    let t = Instant::now();
    let el = elaborate(&file, None);
    let dt = t.elapsed();
    assert!(el.diagnostics.is_empty(), "{:#?}", el.diagnostics);
    assert_eq!(el.graph.as_ref().unwrap().len(), 1 + 10_000 + 10_000);
    eprintln!("elaborated 20,000 ops in {dt:?}");
    // generous for unoptimized test builds on a loaded machine
    assert!(dt.as_secs_f64() < 5.0, "took {dt:?}");
}

/// Appending to a list or a string in a loop is linear: 100,000 list
/// appends and 800,000 string appends (inside the limits) took minutes when
/// every `+` copied the whole value; now they take about a second.
#[test]
fn appends_in_a_loop_are_linear() {
    let src = r#"
network n {
    input x: [1, 4];
    let xs = [];
    for i in 0..100000 { xs = xs + [i]; }
    let s = "";
    for i in 0..800000 { s = s + "a"; }
    output y = linear(x, out = len(xs) / 50000 + len(s) / 200000);
}
"#;
    let t = Instant::now();
    let el = elaborate(&parse(src), None);
    assert!(el.diagnostics.is_empty(), "{:#?}", el.diagnostics);
    let g = el.graph.as_ref().unwrap();
    let y = g.outputs[0].node;
    assert_eq!(g.node(y).shape, vec![1, 6]);
    assert!(t.elapsed().as_secs() < 100, "{:?}", t.elapsed());
}

/// Appending in place never changes another binding of the same value.
#[test]
fn appends_in_place_keep_other_bindings() {
    let src = r#"
network n {
    input x: [1, 4];
    let xs = [1, 2];
    let ys = xs;
    xs = xs + [3];
    xs = xs + xs;
    let s = "ab";
    let t = s;
    s = s + "cd";
    output y = linear(x, out = len(ys) * 1000 + len(xs) * 100 + len(t) * 10 + len(s));
}
"#;
    let el = elaborate(&parse(src), None);
    assert!(el.diagnostics.is_empty(), "{:#?}", el.diagnostics);
    let g = el.graph.as_ref().unwrap();
    let y = g.outputs[0].node;
    assert_eq!(g.node(y).shape, vec![1, 2000 + 600 + 20 + 4]);
}
