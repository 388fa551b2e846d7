//! Fuzz target: the whole front end (decode, parse, elaborate) and the
//! consumers of its graph (verifier, analysis) never panic, and agree:
//!
//! - elaboration yields a graph exactly when it reports no error;
//! - a graph from elaboration passes `nnc_ir::verify::verify`;
//! - `nnc_analysis::analyze` accepts it (it is acyclic) on `zen3-2c` and
//!   gives finite, non-negative times;
//! - every diagnostic span lies inside the source, and rendering them does
//!   not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = nnc_syntax::decode(data) else {
        return;
    };
    let (ast, diags) = nnc_syntax::parse(src);
    common::check_diagnostics(src, &diags);
    let el = nnc_elab::elaborate(&ast, None);
    common::check_diagnostics(src, &el.diagnostics);
    assert_eq!(
        el.graph.is_some(),
        !el.has_errors(),
        "a graph must come exactly when there is no error"
    );
    let Some(g) = el.graph else {
        return;
    };
    if let Err(errs) = nnc_ir::verify::verify(&g) {
        panic!("elaborated graph fails verification: {errs:?}");
    }
    let platform = nnc_analysis::platform::builtin("zen3-2c").expect("builtin platform");
    let a = match nnc_analysis::analyze(&g, &platform) {
        Ok(a) => a,
        Err(e) => panic!("analysis rejected an elaborated graph: {e}"),
    };
    let t = &a.totals;
    for (what, v) in [
        ("predicted_ms", t.predicted_ms),
        ("critical_path_ms", t.critical_path_ms),
        ("parallelism", t.parallelism),
        ("elementwise_share", t.elementwise_share),
    ] {
        assert!(v.is_finite() && v >= 0.0, "{what} = {v}");
    }
    assert!(t.critical_path_ms <= t.predicted_ms * (1.0 + 1e-9) + 1e-12);
});
