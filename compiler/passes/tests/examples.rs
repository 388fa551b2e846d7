//! The default pipeline and both memory plans on every network of
//! `examples/` (full-size networks: no interpretation here, only the passes'
//! structural guarantees: verifier, weight store in step, plan checker).

use nnc_interp::weights::{check_store, init_deterministic};
use nnc_ir::Op;
use nnc_passes::memory_plan::{self, PlanOptions};
use nnc_passes::pipeline;
use std::path::Path;

#[test]
fn pipeline_and_plans_on_examples() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return; // no examples checked out
    };
    let mut files: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "nn"))
        .collect();
    files.sort();
    let mut failures = Vec::new();
    let mut checked = 0;
    for f in &files {
        let src = std::fs::read_to_string(f).unwrap();
        let (file, _) = nnc_syntax::parse(&src);
        let names: Vec<String> = nnc_elab::networks(&file)
            .iter()
            .map(|n| n.name.name.to_string())
            .collect();
        for net in names {
            let el = nnc_elab::elaborate(&file, Some(&net));
            let Some(mut g) = el.graph else {
                eprintln!("{} {net}: does not elaborate (skipped)", f.display());
                continue;
            };
            let mut w = init_deterministic(&g, 0);
            let before = g.len();
            let bns = g
                .node_ids()
                .filter(|&n| matches!(g.node(n).op, Op::BatchNorm { .. }))
                .count();
            let takes = g
                .node_ids()
                .filter(|&n| matches!(g.node(n).op, Op::Take { .. }))
                .count();
            let res = (|| -> Result<String, String> {
                let rep = pipeline::run_default(&mut g, &mut w)?;
                // every `take` of a weight or constant (Swin's relative
                // position bias) is folded at build time
                let is_const = |n| matches!(g.node(n).op, Op::Param { .. } | Op::Constant { .. });
                let takes_after = g
                    .node_ids()
                    .filter(|&n| matches!(g.node(n).op, Op::Take { .. }))
                    .collect::<Vec<_>>();
                if let Some(&t) = takes_after
                    .iter()
                    .find(|&&t| g.inputs(t).into_iter().all(is_const))
                {
                    return Err(format!(
                        "`{}` takes from a constant and was not folded",
                        g.node(t).name
                    ));
                }
                let folded = rep
                    .stats
                    .iter()
                    .find(|s| s.pass == "fold_constants")
                    .map_or(0, |s| s.rewrites);
                let p = check_store(&g, &w);
                if !p.is_empty() {
                    return Err(p.join("; "));
                }
                let bns_after = g
                    .node_ids()
                    .filter(|&n| matches!(g.node(n).op, Op::BatchNorm { .. }))
                    .count();
                let fused = g
                    .node_ids()
                    .filter(|&n| matches!(g.node(n).op, Op::Fused { .. }))
                    .count();
                let origins: usize = rep.origins.values().map(|v| v.len()).sum();
                if origins != before {
                    return Err(format!("provenance covers {origins} of {before} nodes"));
                }
                let mut s = format!(
                    "{before} -> {} nodes, batchnorms {bns} -> {bns_after}, {fused} fused, {folded} folded, takes {takes} -> {}",
                    g.len(),
                    takes_after.len()
                );
                for in_place in [false, true] {
                    let plan = memory_plan::plan(&g, PlanOptions { in_place })?;
                    memory_plan::check(&g, &plan).map_err(|e| e.join("; "))?;
                    s += &format!(
                        "; arena{} {:.2} MB (unshared {:.2} MB)",
                        if in_place { " in place" } else { "" },
                        plan.arena_bytes as f64 / 1e6,
                        plan.naive_bytes as f64 / 1e6
                    );
                }
                Ok(s)
            })();
            checked += 1;
            match res {
                Ok(s) => eprintln!("{:28} {s}", net),
                Err(e) => failures.push(format!("{} {net}: {e}", f.display())),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!("{checked} examples checked");
}
