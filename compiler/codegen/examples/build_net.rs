//! Developer tool: compiles a `.nn` network (deterministic weights) to an
//! object file and reports the build time.
//!
//! `cargo run --release -p nnc-codegen --example build_net -- NET.nn OUT_DIR [obj|asm|ir] [cpu]`

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: build_net NET.nn OUT_DIR [obj|asm|ir] [cpu]");
        std::process::exit(2);
    }
    let src = std::fs::read_to_string(&args[1]).expect("read");
    let t0 = Instant::now();
    let (file, diags) = nnc_syntax::parse(&src);
    assert!(diags.iter().all(|d| !d.is_error()), "parse errors");
    let el = nnc_elab::elaborate(&file, None);
    let g = el.graph.expect("elaboration failed");
    let w = nnc_interp::weights::init_deterministic(&g, 0);
    let t1 = Instant::now();
    let emit = match args.get(3).map(String::as_str) {
        Some("asm") => nnc_codegen::Emit::Asm,
        Some("ir") => nnc_codegen::Emit::LlvmIr,
        _ => nnc_codegen::Emit::Obj,
    };
    let opts = nnc_codegen::BuildOptions {
        target_cpu: args.get(4).cloned().unwrap_or_else(|| "host".into()),
        ..Default::default()
    };
    let art = nnc_codegen::compile(&g, &w, &opts, emit, std::path::Path::new(&args[2]))
        .unwrap_or_else(|e| panic!("compile: {e}"));
    let t2 = Instant::now();
    eprintln!(
        "{}: {} kernels, arena {:.1} MB; frontend {:.2} s, backend {:.2} s",
        g.name,
        art.kernels,
        art.arena_bytes as f64 / 1e6,
        (t1 - t0).as_secs_f64(),
        (t2 - t1).as_secs_f64()
    );
}
