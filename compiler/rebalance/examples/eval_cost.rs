//! Times the stages of one candidate evaluation (parse, elaborate, analyze)
//! on a file: `cargo run --release -p nnc-rebalance --example eval_cost FILE`.
use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).expect("usage: eval_cost FILE");
    let text = std::fs::read_to_string(&path).expect("readable file");
    let platform = nnc_analysis::platform::builtin("zen3-2c").expect("builtin platform");
    let n = 50;
    let (mut tp, mut te, mut ta) = (0.0, 0.0, 0.0);
    for _ in 0..n {
        let t = Instant::now();
        let (file, _) = nnc_syntax::parse(&text);
        tp += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let el = nnc_elab::elaborate(&file, None);
        te += t.elapsed().as_secs_f64();
        let g = el.graph.expect("elaborates");
        let t = Instant::now();
        let a = nnc_analysis::analyze(&g, &platform).expect("analyzes");
        ta += t.elapsed().as_secs_f64();
        std::hint::black_box(a.totals.cost.mac);
    }
    let ms = |x: f64| x * 1e3 / n as f64;
    println!(
        "parse {:.3} ms, elaborate {:.3} ms, analyze {:.3} ms",
        ms(tp),
        ms(te),
        ms(ta)
    );
}
