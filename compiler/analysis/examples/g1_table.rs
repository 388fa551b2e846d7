//! Prints the ShuffleNet V2 G1 table of docs/analysis.md from the example
//! networks `examples/g1_1_*.nn`, as the analysis computes it.
//! `cargo run -p nnc-analysis --example g1_table`
use nnc_analysis::{analyze, g1_bound, platform};

fn main() {
    let p = platform::builtin("zen3-2c").unwrap();
    let t4 = platform::builtin("t4").unwrap();
    println!("| c1:c2 | c1 | c2 | mult-adds per conv | MAC per conv (elements) | G1 bound `2·sqrt(h·w·B) + B/(h·w)` | MAC / bound | FLOP/B | predicted ms, 20 convs, zen3-2c | predicted ms, t4 |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (ratio, file) in [
        ("1:1", "g1_1_1"),
        ("1:2", "g1_1_2"),
        ("1:6", "g1_1_6"),
        ("1:12", "g1_1_12"),
    ] {
        let path = format!("{}/../../examples/{file}.nn", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap();
        let (ast, _) = nnc_syntax::parse(&text);
        let g = nnc_elab::elaborate(&ast, None).graph.unwrap();
        let a = analyze(&g, &p).unwrap();
        let at4 = analyze(&g, &t4).unwrap();
        let first = &a.nodes[0];
        let x = &g.node(g.inputs[0]).shape;
        let (c1, h, w) = (x[1], x[2], x[3]);
        let c2 = g.node(first.id).shape[1];
        let b = first.cost.mult_adds;
        let bound = g1_bound(h as u64, w as u64, b);
        println!(
            "| {ratio} | {c1} | {c2} | {b} | {} | {bound:.0} | {:.3} | {:.1} | {:.3} ({}) | {:.4} ({}) |",
            first.cost.mac,
            first.cost.mac as f64 / bound,
            first.cost.intensity(),
            a.totals.predicted_ms,
            first.bound.as_str(),
            at4.totals.predicted_ms,
            at4.nodes[0].bound.as_str(),
        );
    }
}
