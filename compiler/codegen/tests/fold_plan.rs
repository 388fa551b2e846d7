//! Constant folding seen from the plan: Swin-T's relative position bias
//! (`permute(take(table, index), ..)` of a weight, once per block) is
//! computed at build time, so the executable has no per-run gather.

use nnc_codegen::{plan_graph, prepare, Prepared};
use nnc_passes::memory_plan::{self, PlanOptions};
use nnc_passes::pipeline::{self, run_passes};
use std::path::Path;

fn count(p: &nnc_codegen::plan::Plan, op: &str) -> usize {
    p.steps.iter().filter(|s| s.op == op).count()
}

#[test]
fn swin_t_plan_has_no_gather() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/swin_t.nn");
    let Ok(src) = std::fs::read_to_string(&path) else {
        return; // no examples checked out
    };
    let (file, _) = nnc_syntax::parse(&src);
    let g = nnc_elab::elaborate(&file, None)
        .graph
        .expect("swin_t elaborates");
    let w = nnc_interp::weights::init_deterministic(&g, 0);

    // the default pipeline (with fold_constants)
    let folded = plan_graph(&prepare(&g, &w).unwrap(), true).unwrap();

    // the same pipeline without it
    let passes: Vec<_> = pipeline::DEFAULT
        .iter()
        .filter(|(n, _)| *n != "fold_constants")
        .copied()
        .collect();
    let (mut g2, mut w2) = (g.clone(), w.clone());
    let rep = run_passes(&mut g2, &mut w2, &passes).unwrap();
    let memory = memory_plan::plan(&g2, PlanOptions { in_place: true }).unwrap();
    let unfolded = plan_graph(
        &Prepared {
            graph: g2,
            weights: w2,
            memory,
            origins: rep.origins,
        },
        true,
    )
    .unwrap();

    eprintln!(
        "swin_t steps: {} -> {} (take {} -> {}, permute {} -> {}, param {} -> {}, constant {} -> {})",
        unfolded.steps.len(),
        folded.steps.len(),
        count(&unfolded, "take"),
        count(&folded, "take"),
        count(&unfolded, "permute"),
        count(&folded, "permute"),
        count(&unfolded, "param"),
        count(&folded, "param"),
        count(&unfolded, "constant"),
        count(&folded, "constant"),
    );
    assert_eq!(count(&unfolded, "take"), 12, "one gather per block");
    assert_eq!(count(&folded, "take"), 0);
    // per block, the table (param), the gather and its permute become one
    // constant; with the bias a constant, the layout planning may fold more
    // permutes into their matmuls, so at least that many steps go
    assert_eq!(count(&unfolded, "param") - count(&folded, "param"), 12);
    assert!(
        unfolded.steps.len() - folded.steps.len() >= 24,
        "{} -> {}",
        unfolded.steps.len(),
        folded.steps.len()
    );
}
