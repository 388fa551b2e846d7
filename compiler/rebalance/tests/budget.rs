//! The time budget (`Options::max_time`, `nnc fix --rebalance --time-limit`)
//! covers the whole pass, not only the search: probing every literal of a
//! deep network used to compile one candidate per literal (and pairs of them)
//! before the budget was ever looked at, so 10,000 layers ran for minutes.

use nnc_rebalance::{rebalance, Options};
use std::time::Duration;

fn deep(n: usize) -> String {
    let mut s = String::from("network deep {\n    input x: [1, 16, 8, 8];\n    let r0 = x;\n");
    for i in 0..n {
        s.push_str(&format!(
            "    let r{} = relu(conv2d(r{i}, out = {}, kernel = 3, pad = 1, name = \"l{i}\"));\n",
            i + 1,
            if i + 1 == n { 16 } else { 24 + 8 * (i % 3) }
        ));
    }
    s.push_str(&format!("    output y = r{n};\n}}\n"));
    s
}

fn opts(max_time: Duration) -> Options {
    Options {
        max_time,
        ..Options::new(nnc_analysis::platform::builtin("zen3-2c").expect("builtin platform"))
    }
}

#[test]
fn an_exhausted_budget_compiles_no_candidate_and_says_so() {
    let src = deep(40);
    let out = rebalance("deep.nn", &src, &opts(Duration::ZERO)).expect("rebalance");
    assert!(out.hit_budget);
    assert_eq!(out.evaluations, 0, "candidates compiled past the deadline");
    assert!(out.changes.is_empty());
    assert_eq!(out.new_source, src, "the best result so far is the source");
    assert!(out
        .frozen
        .iter()
        .any(|(_, _, why)| why.contains("time budget")));
}

#[test]
fn a_budget_that_suffices_is_not_reported_as_hit() {
    let src = deep(4);
    let out = rebalance("deep.nn", &src, &opts(Duration::from_secs(3600))).expect("rebalance");
    assert!(
        !out.hit_budget
            || out.evaluations
                >= Options::new(nnc_analysis::platform::builtin("zen3-2c").unwrap()).max_evals
    );
    assert!(out.evaluations > 0);
    assert!(!out
        .frozen
        .iter()
        .any(|(_, _, why)| why.contains("time budget")));
}
