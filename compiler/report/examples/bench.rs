//! Times `analyze` (and the reports) on ResNet-50 and on a generated
//! 10,000-node graph. `cargo run --release -p nnc-analysis --example bench`
use nnc_analysis::{analyze, platform, testing};
use nnc_diag::SourceFile;
use nnc_report::{render_table, SortKey};
use std::time::Instant;

fn time<T>(label: &str, reps: u32, mut f: impl FnMut() -> T) -> T {
    let mut best = f64::INFINITY;
    let mut out = None;
    for _ in 0..reps {
        let t = Instant::now();
        out = Some(f());
        best = best.min(t.elapsed().as_secs_f64() * 1e3);
    }
    println!("{label:<40} {best:9.3} ms (best of {reps})");
    out.unwrap()
}

fn main() {
    let p = platform::builtin("zen3-2c").unwrap();
    let src = SourceFile::new("bench.nn", "");
    for (name, g) in [
        ("resnet50", testing::resnet50()),
        ("generated-10k", testing::generated(10_000)),
        ("generated-100k", testing::generated(100_000)),
    ] {
        println!(
            "{name}: {} nodes, {} block instances",
            g.len(),
            g.blocks.len()
        );
        let a = time(&format!("  analyze {name}"), 5, || analyze(&g, &p).unwrap());
        time(&format!("  to_json {name}"), 3, || {
            a.to_json(&g, &src).to_string().len()
        });
        time(&format!("  render_table {name}"), 3, || {
            render_table(&a, &g, SortKey::Time, false).len()
        });
        time(&format!("  roofline_svg {name}"), 1, || {
            nnc_report::roofline::roofline_svg(&a, &g).unwrap().len()
        });
    }
}
