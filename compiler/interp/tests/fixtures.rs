//! The reference interpreter on every fixture of `tests/fixtures/` (made by
//! PyTorch, see `tests/fixtures/gen.py`): max |out - ref| / max |ref| must be
//! at most 1e-4 for every output. Needs the elaborator (`nnc_elab`) to turn
//! each `net.nn` into a graph.

use nnc_interp::fixture::{self, Fixture, TOLERANCE};
use nnc_interp::weights::load_safetensors_file;
use nnc_interp::{run, Tensor};
use std::collections::HashMap;

fn graph_of(f: &Fixture) -> Result<nnc_ir::Graph, String> {
    let (file, diags) = nnc_syntax::parse(&f.source);
    if diags.iter().any(|d| d.is_error()) {
        return Err(format!("parse errors: {:#?}", diags));
    }
    let el = nnc_elab::elaborate(&file, None);
    if el.has_errors() {
        let msgs: Vec<String> = el
            .diagnostics
            .iter()
            .map(|d| format!("{} {}", d.code, d.message))
            .collect();
        return Err(format!("elaboration errors: {msgs:?}"));
    }
    el.graph.ok_or_else(|| "no graph".to_string())
}

fn check(f: &Fixture) -> Result<f64, String> {
    let g = graph_of(f)?;
    let (w, diags) = load_safetensors_file(&f.weights, &g);
    if !diags.is_empty() {
        let msgs: Vec<String> = diags
            .iter()
            .map(|d| format!("{} {}", d.code, d.message))
            .collect();
        return Err(format!("weights: {msgs:?}"));
    }
    let ins: HashMap<String, Tensor> = f.inputs.clone().into_iter().collect();
    let outs = run(&g, &w, &ins)?;
    let mut names: Vec<&String> = outs.keys().collect();
    names.sort();
    let want: Vec<&String> = f.outputs.keys().collect();
    if names != want {
        return Err(format!("outputs {names:?}, fixture has {want:?}"));
    }
    let mut worst = 0.0f64;
    for (k, r) in &f.outputs {
        let d = outs[k]
            .rel_max_diff(r)
            .map_err(|e| format!("output {k}: {e}"))?;
        if d.is_nan() || d > TOLERANCE {
            return Err(format!(
                "output {k}: relative difference {d:e} > {TOLERANCE:e}"
            ));
        }
        worst = worst.max(d);
    }
    Ok(worst)
}

#[test]
fn interpreter_matches_pytorch_on_every_fixture() {
    let all = fixture::load_all(&fixture::root()).unwrap();
    assert!(all.len() >= 25, "only {} fixtures found", all.len());
    let mut failures = Vec::new();
    for f in &all {
        match check(f) {
            Ok(d) => eprintln!("{:28} ok  max rel diff {d:.1e}", f.name),
            Err(e) => failures.push(format!("{}: {e}", f.name)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures failed:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}
