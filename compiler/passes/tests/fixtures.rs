//! The default pipeline and the memory plan on every fixture network of
//! `tests/fixtures/` (real networks from PyTorch): after the passes, the
//! interpreter must still match PyTorch within 1e-4, the plan must pass its
//! checker, and executing through the arena must give the same outputs.

use nnc_interp::fixture::{self, TOLERANCE};
use nnc_interp::weights::load_safetensors_file;
use nnc_interp::{run, Tensor};
use nnc_ir::Op;
use nnc_passes::memory_plan::{self, PlanOptions};
use nnc_passes::pipeline;
use std::collections::HashMap;

#[test]
fn pipeline_and_memory_plan_on_every_fixture() {
    let all = fixture::load_all(&fixture::root()).unwrap();
    assert!(all.len() >= 25);
    let mut failures = Vec::new();
    let mut fused_total = 0;
    for f in &all {
        let res = (|| -> Result<String, String> {
            let (file, _) = nnc_syntax::parse(&f.source);
            let el = nnc_elab::elaborate(&file, None);
            let mut g = el.graph.ok_or("elaboration failed")?;
            let (mut w, diags) = load_safetensors_file(&f.weights, &g);
            if diags.iter().any(|d| d.is_error()) {
                return Err(format!("{diags:?}"));
            }
            let before = g.len();
            let rep = pipeline::run_default(&mut g, &mut w)?;
            let fused = g
                .node_ids()
                .filter(|&n| matches!(g.node(n).op, Op::Fused { .. }))
                .count();
            fused_total += fused;
            let n_origins: usize = rep.origins.values().map(|v| v.len()).sum();
            if n_origins != before {
                return Err(format!("provenance covers {n_origins} of {before} nodes"));
            }
            let ins: HashMap<String, Tensor> = f.inputs.clone().into_iter().collect();
            let outs = run(&g, &w, &ins)?;
            for (k, r) in &f.outputs {
                let d = outs[k].rel_max_diff(r)?;
                if d.is_nan() || d > TOLERANCE {
                    return Err(format!("after passes, output {k}: {d:e}"));
                }
            }
            let mut arenas = Vec::new();
            for in_place in [false, true] {
                let plan = memory_plan::plan(&g, PlanOptions { in_place })?;
                memory_plan::check(&g, &plan).map_err(|e| e.join("; "))?;
                let sim = memory_plan::simulate(&g, &plan, &ins, |n, a| {
                    nnc_interp::eval::eval_node(&g, n, &w, a)
                })?;
                for (k, v) in &sim {
                    if v != &outs[k] {
                        return Err(format!(
                            "arena execution (in_place {in_place}) changes output {k}"
                        ));
                    }
                }
                arenas.push((plan.arena_bytes, plan.naive_bytes));
            }
            Ok(format!(
                "{before} -> {} nodes, {fused} fused, arena {} B (in place {} B) vs {} B unshared",
                g.len(),
                arenas[0].0,
                arenas[1].0,
                arenas[0].1
            ))
        })();
        match res {
            Ok(s) => eprintln!("{:28} {s}", f.name),
            Err(e) => failures.push(format!("{}: {e}", f.name)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        fused_total >= 20,
        "only {fused_total} fused nodes over all fixtures"
    );
}
