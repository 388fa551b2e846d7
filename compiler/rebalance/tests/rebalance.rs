//! End-to-end tests of the rebalancing pass on the G1 stacks, on sources
//! written to trip it (literals that are also loop bounds or kernel sizes),
//! and on the real networks of `examples/`.

use nnc_rebalance::{diff, rebalance, Options, Outcome};
use std::path::PathBuf;

fn example(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn opts() -> Options {
    Options::new(nnc_analysis::platform::builtin("zen3-2c").expect("builtin platform"))
}

fn run(name: &str, text: &str, o: &Options) -> Outcome {
    rebalance(name, text, o).unwrap_or_else(|e| panic!("{name}: source errors {:?}", e.0))
}

/// The value of the literal that was at `line` (1-based) after the pass.
fn value_at_line(out: &Outcome, text: &str, line: usize, orig: i64) -> i64 {
    let mut v = orig;
    for c in &out.changes {
        if c.line == line {
            assert_eq!(c.old, orig, "literal at line {line}");
            v = c.new;
        }
    }
    // the rewritten line must say so too
    let l = out.new_source.lines().nth(line - 1).unwrap();
    assert!(l.contains(&v.to_string()), "line {line}: {l}");
    assert!(text
        .lines()
        .nth(line - 1)
        .unwrap()
        .contains(&orig.to_string()));
    v
}

struct Figures {
    mult_adds: u64,
    mac: u64,
    outputs: Vec<Vec<usize>>,
    inputs: Vec<Vec<usize>>,
    kernels: Vec<[usize; 2]>,
    nodes: usize,
}

/// Compiles a text from scratch (the pass's own evaluator is not used).
fn figures(text: &str) -> Figures {
    let (file, diags) = nnc_syntax::parse(text);
    assert!(
        !diags.iter().any(|d| d.is_error()),
        "parse errors: {diags:?}"
    );
    let el = nnc_elab::elaborate(&file, None);
    assert!(!el.has_errors(), "elaboration errors: {:?}", el.diagnostics);
    let g = el.graph.unwrap();
    let a = nnc_analysis::analyze(&g, &opts().platform).unwrap();
    let kernels = g
        .node_ids()
        .filter_map(|id| match &g.node(id).op {
            nnc_ir::Op::Conv2d(c) => Some(c.kernel),
            _ => None,
        })
        .collect();
    Figures {
        mult_adds: a.totals.cost.mult_adds,
        mac: a.totals.cost.mac,
        outputs: g
            .outputs
            .iter()
            .map(|o| g.node(o.node).shape.clone())
            .collect(),
        inputs: g.inputs.iter().map(|&i| g.node(i).shape.clone()).collect(),
        kernels,
        nodes: g.len(),
    }
}

/// The new text equals the old one outside the rewritten literals, byte for
/// byte, and each rewritten literal held its old value.
fn assert_only_literals_changed(old: &str, out: &Outcome) {
    let mut spans: Vec<_> = out.changes.iter().collect();
    spans.sort_by_key(|c| c.span.start);
    let mut rebuilt = String::new();
    let mut at = 0usize;
    for c in spans {
        let (a, b) = (c.span.start as usize, c.span.end as usize);
        assert_eq!(&old[a..b], c.old.to_string(), "span of a change");
        rebuilt.push_str(&old[at..a]);
        rebuilt.push_str(&c.new.to_string());
        at = b;
    }
    rebuilt.push_str(&old[at..]);
    assert_eq!(rebuilt, out.new_source);
}

/// The properties every result must have.
fn check_invariants(name: &str, text: &str, o: &Options, out: &Outcome) {
    assert_only_literals_changed(text, out);
    let before = figures(text);
    let after = figures(&out.new_source);
    assert_eq!(before.outputs, after.outputs, "{name}: output shapes");
    assert_eq!(before.inputs, after.inputs, "{name}: input shapes");
    assert_eq!(before.kernels, after.kernels, "{name}: kernel sizes");
    assert_eq!(before.nodes, after.nodes, "{name}: node count");
    assert_eq!(
        after.mult_adds, out.after.mult_adds,
        "{name}: reported mult-adds"
    );
    assert_eq!(after.mac, out.after.mac, "{name}: reported MAC");
    assert_eq!(before.mac, out.before.mac);
    let f0 = before.mult_adds as f64;
    let f = after.mult_adds as f64;
    assert!(
        (f / f0 - 1.0).abs() <= o.tolerance + 1e-12,
        "{name}: mult-adds {f} vs {f0} outside ±{}",
        o.tolerance
    );
    assert!(after.mac <= before.mac, "{name}: MAC went up");
    for c in &out.changes {
        let r = c.new as f64 / c.old as f64;
        assert!(
            r <= o.max_ratio + 1e-9 && r >= 1.0 / o.max_ratio - 1e-9,
            "{name}: {} → {} breaks --max-ratio {}",
            c.old,
            c.new,
            o.max_ratio
        );
        assert_eq!(
            c.new % o.lanes as i64,
            0,
            "{name}: {} not a multiple of the lanes",
            c.new
        );
    }
    // the rewrite is a fixed point of the text: rewriting again with the
    // same values is the same text
    assert_eq!(out.new_source == text, out.changes.is_empty());
}

#[test]
fn g1_stem_lands_near_one_to_one_at_equal_mult_adds() {
    let text = example("g1_1_6_stem.nn");
    let mut o = opts();
    o.max_ratio = 4.0;
    let out = run("g1_1_6_stem.nn", &text, &o);
    check_invariants("g1_1_6_stem", &text, &o, &out);
    let c1 = value_at_line(&out, &text, 16, 52);
    let c2 = value_at_line(&out, &text, 17, 312);
    let ratio = c2.max(c1) as f64 / c2.min(c1) as f64;
    assert!(ratio < 1.5, "c1 = {c1}, c2 = {c2}");
    assert!(
        out.after.mac as f64 <= 0.8 * out.before.mac as f64,
        "MAC {} → {}",
        out.before.mac,
        out.after.mac
    );
    assert!(!out.hit_budget);
    // the head's 128 sets the output width: reported, not rewritten
    assert!(out
        .frozen
        .iter()
        .any(|(_, v, why)| *v == 128 && why.contains("output")));
}

#[test]
fn g1_stem_default_ratio_bound_holds() {
    let text = example("g1_1_6_stem.nn");
    let o = opts();
    let out = run("g1_1_6_stem.nn", &text, &o);
    check_invariants("g1_1_6_stem", &text, &o, &out);
    let c1 = value_at_line(&out, &text, 16, 52);
    let c2 = value_at_line(&out, &text, 17, 312);
    // as balanced as the bound allows: c1 ≤ 104, c2 ≥ 156
    assert!(c1 <= 104 && c2 >= 156, "c1 = {c1}, c2 = {c2}");
    assert!(c2 as f64 / c1 as f64 <= 2.0, "c1 = {c1}, c2 = {c2}");
    assert!(out.after.mac as f64 <= 0.8 * out.before.mac as f64);
    assert!(out.changes.iter().any(|c| c.at_bound));
}

#[test]
fn g1_one_to_twelve_stem() {
    let text = example("g1_1_12_stem.nn");
    let mut o = opts();
    o.max_ratio = 4.0;
    let out = run("g1_1_12_stem.nn", &text, &o);
    check_invariants("g1_1_12_stem", &text, &o, &out);
    let c1 = value_at_line(&out, &text, 16, 36);
    let c2 = value_at_line(&out, &text, 17, 432);
    assert!(c2.max(c1) as f64 / c2.min(c1) as f64 <= 1.5, "{c1}:{c2}");
    assert!(out.after.mac as f64 <= 0.65 * out.before.mac as f64);
}

const BALANCED: &str = "\
block g1_block(x, c2) {
    let c1 = channels(x);
    let y = conv2d(x, out = c2, kernel = 1, bias = false, name = \"conv1\");
    return conv2d(y, out = c1, kernel = 1, bias = false, name = \"conv2\");
}

network g1_1_1_stem {
    input image: [1, 3, 56, 56];
    let c1 = 128; // balanced already
    let c2 = 128;
    let x = conv2d(image, out = c1, kernel = 3, pad = 1, bias = false, name = \"stem\");
    x = relu(x);
    for i in 0..10 {
        x = g1_block(x, c2, name = \"blocks.{i}\");
    }
    x = conv2d(x, out = 128, kernel = 1, bias = false, name = \"head\");
    output features = relu(x);
}
";

#[test]
fn balanced_input_is_left_almost_unchanged() {
    let mut o = opts();
    o.max_ratio = 4.0;
    let out = run("balanced.nn", BALANCED, &o);
    check_invariants("balanced", BALANCED, &o, &out);
    for c in &out.changes {
        assert!((c.new - c.old).abs() <= 8, "{} → {}", c.old, c.new);
    }
    let gain = 1.0 - out.after.mac as f64 / out.before.mac as f64;
    assert!(gain < 0.02, "MAC gain {gain}");
}

#[test]
fn balanced_stack_with_fixed_input_is_unchanged() {
    // c1 sets the input shape: only c2 could move, and moving it alone
    // changes size, not balance
    for f in ["g1_1_1.nn", "g1_1_6.nn"] {
        let text = example(f);
        let o = opts();
        let out = run(f, &text, &o);
        check_invariants(f, &text, &o, &out);
        assert!(out.changes.is_empty(), "{f}: {:?}", out.changes);
        // c1 sets the input and no conv's `out`: not even a variable
        let vars: Vec<i64> = out.variables.iter().map(|(_, v)| *v).collect();
        assert_eq!(vars.len(), 1, "{f}: {vars:?}");
    }
}

#[test]
fn loop_bound_literal_is_never_rewritten() {
    let text = "\
block g1_block(x, c2) {
    let c1 = channels(x);
    let y = conv2d(x, out = c2, kernel = 1, bias = false, name = \"conv1\");
    return conv2d(y, out = c1, kernel = 1, bias = false, name = \"conv2\");
}

network looped {
    input image: [1, 3, 32, 32];
    let c1 = 16;
    let c2 = 96;
    let x = conv2d(image, out = c1, kernel = 3, pad = 1, bias = false, name = \"stem\");
    for i in 0..c1 / 8 {
        x = g1_block(x, c2, name = \"blocks.{i}\");
    }
    x = conv2d(x, out = 64, kernel = 1, bias = false, name = \"head\");
    output y = x;
}
";
    let mut o = opts();
    o.max_ratio = 8.0;
    let out = run("looped.nn", text, &o);
    check_invariants("looped", text, &o, &out);
    assert!(out.changes.iter().all(|c| c.line != 9), "{:?}", out.changes);
    let (_, _, why) = out
        .frozen
        .iter()
        .find(|(_, v, _)| *v == 16)
        .expect("c1 reported as left alone");
    assert!(why.contains("loop bound"), "{why}");
}

#[test]
fn kernel_size_literal_is_never_rewritten() {
    // every multiple of 8 keeps the spatial size (pad follows the kernel),
    // so only the kernel attribute tells the change apart
    let text = "\
network kernels {
    input image: [1, 3, 32, 32];
    let k = 24;
    let w = 96;
    let x = conv2d(image, out = k, kernel = 3, pad = 1, name = \"stem\");
    x = conv2d(x, out = w, kernel = 1, name = \"mid\");
    x = conv2d(x, out = 32, kernel = k / 8 * 2 + 1, pad = k / 8, name = \"wide\");
    output y = x;
}
";
    let mut o = opts();
    o.max_ratio = 4.0;
    let out = run("kernels.nn", text, &o);
    check_invariants("kernels", text, &o, &out);
    assert!(out.changes.iter().all(|c| c.old != 24), "{:?}", out.changes);
    let (_, _, why) = out
        .frozen
        .iter()
        .find(|(_, v, _)| *v == 24)
        .expect("k reported as left alone");
    assert!(why.contains("kernel size"), "{why}");
}

#[test]
fn widths_through_lists_block_args_and_arithmetic() {
    // the widths reach the convs through a list, a block argument and `* 2`
    let text = "\
block pair(x, w) {
    let y = conv2d(x, out = w * 2, kernel = 1, bias = false, name = \"a\");
    return conv2d(y, out = channels(x), kernel = 1, bias = false, name = \"b\");
}

network traced {
    input image: [1, 3, 28, 28];
    let ws = [16, 320]; // the second is 10x too wide for the first
    let x = conv2d(image, out = ws[0] * 2, kernel = 3, pad = 1, bias = false, name = \"stem\");
    for i in 0..4 {
        x = pair(x, ws[1], name = \"p{i}\");
    }
    output y = conv2d(x, out = 10, kernel = 1, name = \"head\");
}
";
    let mut o = opts();
    o.max_ratio = 4.0;
    let out = run("traced.nn", text, &o);
    check_invariants("traced", text, &o, &out);
    let vars: Vec<i64> = out.variables.iter().map(|(_, v)| *v).collect();
    assert_eq!(vars, vec![16, 320]);
    assert_eq!(out.changes.len(), 2, "{:?}", out.changes);
    assert!(out.after.mac as f64 <= 0.8 * out.before.mac as f64);
    // the comment after the list is kept
    assert!(out.new_source.contains("]; // the second is 10x too wide"));
}

#[test]
fn ratio_one_changes_nothing() {
    let text = example("g1_1_6_stem.nn");
    let mut o = opts();
    o.max_ratio = 1.0;
    let out = run("g1_1_6_stem.nn", &text, &o);
    assert!(out.changes.is_empty());
    assert_eq!(out.new_source, text);
}

#[test]
fn resnet50_converges_within_the_bound() {
    let text = example("resnet50.nn");
    let o = opts();
    let t = std::time::Instant::now();
    let out = run("resnet50.nn", &text, &o);
    check_invariants("resnet50", &text, &o, &out);
    assert!(
        !out.hit_budget,
        "budget ran out after {} evaluations",
        out.evaluations
    );
    assert!(out.evaluations < 1000, "{} evaluations", out.evaluations);
    assert!(out.after.mac < out.before.mac);
    // the expansion factor 4 and the classifier's 1000 are left alone
    assert!(out.frozen.iter().any(|(_, v, _)| *v == 4));
    assert!(out.frozen.iter().any(|(_, v, _)| *v == 1000));
    eprintln!(
        "resnet50: {} evaluations, {} rounds, {:.2?}",
        out.evaluations,
        out.rounds,
        t.elapsed()
    );
    // deterministic
    let again = run("resnet50.nn", &text, &o);
    assert_eq!(again.new_source, out.new_source);
    assert_eq!(again.evaluations, out.evaluations);
}

#[test]
fn mobilenet_v2_keeps_its_structure() {
    let text = example("mobilenet_v2.nn");
    let o = opts();
    let out = run("mobilenet_v2.nn", &text, &o);
    check_invariants("mobilenet_v2", &text, &o, &out);
    assert!(!out.hit_budget);
    assert!(out.after.mac < out.before.mac);
    // the expansion factors are architecture, not widths
    for c in &out.changes {
        assert!(c.old >= 16, "{c:?}");
    }
}

#[test]
fn other_examples_keep_outputs_and_structure() {
    for f in [
        "mlp.nn",
        "small_cnn.nn",
        "shufflenet_v2_x1_0.nn",
        "unet_tiny.nn",
    ] {
        let text = example(f);
        let o = opts();
        let out = run(f, &text, &o);
        check_invariants(f, &text, &o, &out);
    }
}

#[test]
fn source_errors_are_returned() {
    let bad = "network n { input x: [1, 3, 8, 8]; output y = conv2d(x, out = 8, kernel = 1, bogus = 1); }";
    let e = rebalance("bad.nn", bad, &opts()).unwrap_err();
    assert!(!e.0.is_empty());
}

#[test]
fn unified_diff_of_a_rewrite() {
    let text = example("g1_1_6_stem.nn");
    let mut o = opts();
    o.max_ratio = 4.0;
    let out = run("g1_1_6_stem.nn", &text, &o);
    let d = diff::unified("g1_1_6_stem.nn", &text, &out.new_source, 3);
    let c1 = value_at_line(&out, &text, 16, 52);
    let c2 = value_at_line(&out, &text, 17, 312);
    let expected_hunk = format!(
        "@@ -13,8 +13,8 @@\n \n network g1_1_6_stem {{\n     input image: [1, 3, 56, 56];\n-    let c1 = 52;\n-    let c2 = 312;\n+    let c1 = {c1};\n+    let c2 = {c2};\n     let x = conv2d(image, out = c1, kernel = 3, pad = 1, bias = false, name = \"stem\");\n     x = relu(x);\n     for i in 0..10 {{\n"
    );
    assert_eq!(
        d,
        format!("--- a/g1_1_6_stem.nn\n+++ b/g1_1_6_stem.nn\n{expected_hunk}")
    );
    assert_eq!(diff::unified("x", &text, &text, 3), "");
}

#[test]
fn unified_diff_hunks_and_counts() {
    let a: String = (1..=30).map(|i| format!("l{i}\n")).collect();
    let b = a
        .replace("l3\n", "L3\n")
        .replace("l20\n", "")
        .replace("l25\n", "l25\nnew\n");
    // as `diff -U2`: the gap of five lines between the last two changes is
    // more than twice the context, so they are two hunks
    let d = diff::unified("f", &a, &b, 2);
    assert_eq!(
        d,
        "--- a/f\n+++ b/f\n\
         @@ -1,5 +1,5 @@\n l1\n l2\n-l3\n+L3\n l4\n l5\n\
         @@ -18,5 +18,4 @@\n l18\n l19\n-l20\n l21\n l22\n\
         @@ -24,4 +23,5 @@\n l24\n l25\n+new\n l26\n l27\n"
    );
}

/// An `expand` whose channels follow a width through `-1` does not stop
/// the width from being rebalanced; a width literal that also sizes another
/// axis of an `expand` target is left alone with the reason.
#[test]
fn expand_follows_a_width_and_freezes_a_literal_on_another_axis() {
    let text = "\
network gated {
    input image: [1, 3, 32, 32];
    let x = conv2d(image, out = 16, kernel = 3, pad = 1, bias = false, name = \"stem\");
    let y = conv2d(x, out = 96, kernel = 1, bias = false, name = \"conv1\");
    y = y * expand(global_avgpool(y), [-1, -1, 32, 32]);
    output o = conv2d(y, out = 16, kernel = 1, bias = false, name = \"conv2\");
}
";
    let mut o = opts();
    o.max_ratio = 8.0;
    let out = run("gated.nn", text, &o);
    check_invariants("gated", text, &o, &out);
    assert!(out.changes.iter().any(|c| c.old == 96), "{:?}", out.changes);
    let tokens = "\
network tokens {
    input image: [1, 3, 32, 32];
    let w = 24;
    let x = conv2d(image, out = w, kernel = 3, pad = 1, name = \"stem\");
    x = conv2d(x, out = 96, kernel = 1, name = \"mid\");
    x = conv2d(x, out = 24, kernel = 1, name = \"out\");
    let t = expand(param([1, 1, 1, 1], name = \"b\"), [1, 1, 1, w]);
    output y = x + global_avgpool(t);
}
";
    let out = run("tokens.nn", tokens, &o);
    check_invariants("tokens", tokens, &o, &out);
    let (_, _, why) = out
        .frozen
        .iter()
        .find(|(_, v, _)| *v == 24)
        .expect("w reported as left alone");
    assert!(why.contains("`expand`"), "{why}");
}

/// A transformer (token tensors `[N, L, E]`, channels-last linears, `param`
/// shapes): nothing crashes, nothing changes, and every width literal is
/// reported as left alone with a reason that names the other axis.
#[test]
fn transformer_widths_are_left_alone_with_a_reason() {
    let text = "\
network t {
    input x: [1, 3, 16, 16];
    let e = conv2d(x, out = 32, kernel = 4, stride = 4);
    let y = permute(reshape(e, [1, 32, 16]), [0, 2, 1]);
    y = y + param([1, 16, 32], name = \"pos\");
    y = y + attention(layernorm(y), heads = 4);
    let z = gelu(linear(y, out = 96));
    output o = y + linear(z, out = 32);
}
";
    let out = run("t.nn", text, &opts());
    assert!(out.changes.is_empty(), "{:?}", out.changes);
    assert_eq!(out.new_source, text);
    let vals: Vec<i64> = out.frozen.iter().map(|f| f.1).collect();
    assert!(vals.contains(&96), "{:?}", out.frozen);
    assert!(
        out.frozen
            .iter()
            .any(|f| f.2.contains("another axis") || f.2.contains("constraint")),
        "{:?}",
        out.frozen
    );
}

/// With a latency function, the search minimizes it: a latency equal to
/// MAC moves the widths as the MAC objective does, and reports it.
#[test]
fn latency_objective_minimizes_the_given_latency() {
    let text = example("g1_1_6_stem.nn");
    let mac_ms = nnc_rebalance::LatencyFn(std::sync::Arc::new(|g: &nnc_ir::Graph| {
        let p = nnc_analysis::platform::builtin("zen3-2c")?;
        let a = nnc_analysis::analyze(g, &p).ok()?;
        Some(a.totals.cost.mac as f64 * 1e-6)
    }));
    let o = Options {
        latency: Some(mac_ms),
        ..opts()
    };
    let out = run("g1_1_6_stem.nn", &text, &o);
    assert!(!out.changes.is_empty(), "a 1:6 stack is rebalanced");
    assert!(out.after.predicted_ms < out.before.predicted_ms * 0.97);
    assert_eq!(out.after.cost, out.after.predicted_ms);
    assert!((out.before.predicted_ms - out.before.mac as f64 * 1e-6).abs() < 1e-9);
    assert!(out.small_gain.is_none());
}

/// A predicted gain within the model's error (`min_gain`) rewrites
/// nothing: a latency that barely depends on the widths.
#[test]
fn small_predicted_gains_rewrite_nothing() {
    let text = example("g1_1_6_stem.nn");
    let flat = nnc_rebalance::LatencyFn(std::sync::Arc::new(|g: &nnc_ir::Graph| {
        let p = nnc_analysis::platform::builtin("zen3-2c")?;
        let a = nnc_analysis::analyze(g, &p).ok()?;
        // 1 ms plus a trace of MAC: the best rewrite gains well under 3%
        Some(1.0 + a.totals.cost.mac as f64 * 1e-12)
    }));
    let o = Options {
        latency: Some(flat),
        ..opts()
    };
    let out = run("g1_1_6_stem.nn", &text, &o);
    assert!(out.changes.is_empty());
    assert_eq!(out.new_source, text);
    let g = out.small_gain.expect("a small gain was found and refused");
    assert!(g > 0.0 && g < 0.03, "{g}");
}
