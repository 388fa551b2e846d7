//! The data movement of the transformer examples' executed plans: every
//! strided copy (permute, slice, roll) and reshape that is not a view, with
//! its bytes and its consumers. Ignored by default (it plans the full
//! networks); run with
//! `cargo test -p nnc-codegen --test copy_inventory -- --ignored --nocapture`.

use nnc_codegen::executed::zero_weights;
use nnc_codegen::plan::KernelPlan;
use std::path::Path;

fn inventory(example: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(example);
    let src = std::fs::read_to_string(&path).expect("example");
    let (file, _) = nnc_syntax::parse(&src);
    let g = nnc_elab::elaborate(&file, None).graph.expect("elaborates");
    let w = zero_weights(&g).expect("weights");
    let prep = nnc_codegen::prepare(&g, &w).expect("prepare");
    let plan = nnc_codegen::plan_graph(&prep, true).expect("plan");
    let pg = &prep.graph;
    println!("== {example}: {} steps", plan.steps.len());
    let (mut count, mut bytes) = (0u64, 0u64);
    for (i, s) in plan.steps.iter().enumerate() {
        if !matches!(s.kernel, KernelPlan::Strided(_)) {
            continue;
        }
        // consumers: later steps reading this step's buffer
        let users: Vec<String> = plan.steps[i + 1..]
            .iter()
            .filter(|t| t.ins.contains(&s.out))
            .map(|t| format!("{}({})", t.op, t.name))
            .collect();
        let first_user = users.first().cloned().unwrap_or_else(|| "<output>".into());
        let in_shape = pg
            .inputs(s.node)
            .first()
            .map(|&n| pg.node(n).shape.clone())
            .unwrap_or_default();
        let moved = 2 * s.out_bytes;
        count += 1;
        bytes += moved;
        println!(
            "  {:<10} {:<40} {:?} -> {:?}  moved {:>9} B  consumer {}",
            s.op,
            s.name,
            in_shape,
            pg.node(s.node).shape,
            moved,
            first_user
        );
    }
    println!("  total: {count} copies, {bytes} bytes moved (read + write)");
}

#[test]
#[ignore]
fn transformer_examples() {
    for e in [
        "vit_b_16.nn",
        "swin_t.nn",
        "convnext_tiny.nn",
        "mobilevit_hybrid.nn",
    ] {
        inventory(e);
    }
}
