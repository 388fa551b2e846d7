//! Test helpers: run the lints on a source snippet.

use crate::{run, LevelConfig, LintContext};

/// Parses, elaborates, analyzes and lints `src` with default levels, and
/// returns how many diagnostics `lint` produced (at warn or deny level).
pub fn lint_codes(src: &str, lint: &str) -> usize {
    let (file, diags) = nnc_syntax::parse(src);
    assert!(
        diags.iter().all(|d| !d.is_error()),
        "syntax errors: {diags:#?}"
    );
    let el = nnc_elab::elaborate(&file, None);
    assert!(
        el.diagnostics.iter().all(|d| !d.is_error()),
        "elaboration errors: {:#?}",
        el.diagnostics
    );
    let graph = el.graph.expect("graph");
    let platform = nnc_analysis::platform::builtin("zen3-2c").expect("platform");
    let analysis = nnc_analysis::analyze(&graph, &platform).expect("analysis");
    let cx = LintContext {
        graph: &graph,
        ast: &file,
        source: src,
        analysis: &analysis,
        simd_lanes: 8,
    };
    run(&cx, &LevelConfig::default())
        .iter()
        .filter(|d| d.lint == Some(lint))
        .count()
}
