//! Runs the reference interpreter on a `.nn` network (a development tool;
//! `nnc run` is the user-facing command):
//!
//! ```text
//! cargo run --release -p nnc-interp --example interp_run -- NET.nn WEIGHTS.safetensors IN.npy OUT.npy
//! ```
//!
//! The network must have one input and one output.

use nnc_interp::npy::{input_error, read_npy_file, write_npy};
use nnc_interp::weights::load_safetensors_file;
use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 4 {
        eprintln!("usage: interp_run NET.nn WEIGHTS.safetensors IN.npy OUT.npy");
        return ExitCode::from(2);
    }
    match go(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn go(args: &[String]) -> Result<(), String> {
    let src = std::fs::read_to_string(&args[0]).map_err(|e| e.to_string())?;
    let (file, _) = nnc_syntax::parse(&src);
    let el = nnc_elab::elaborate(&file, None);
    let g = el
        .graph
        .ok_or_else(|| format!("elaboration failed: {:?}", el.diagnostics))?;
    let (w, diags) = load_safetensors_file(Path::new(&args[1]), &g);
    for d in &diags {
        eprintln!("{}[{}]: {}", d.level, d.code, d.message);
    }
    if diags.iter().any(|d| d.is_error()) {
        return Err("bad weights".into());
    }
    let &[inp] = g.inputs.as_slice() else {
        return Err("the network must have exactly one input".into());
    };
    let name = g.node(inp).name.clone();
    let (path, shape) = (Path::new(&args[2]), &g.node(inp).shape);
    let x = read_npy_file(path, shape).map_err(|e| input_error(&name, path, shape, &e))?;
    let t = std::time::Instant::now();
    let outs = nnc_interp::run(&g, &w, &HashMap::from([(name, x)]))?;
    eprintln!("interpreted in {:.2} s", t.elapsed().as_secs_f64());
    let [o] = g.outputs.as_slice() else {
        return Err("the network must have exactly one output".into());
    };
    std::fs::write(&args[3], write_npy(&outs[&o.name])).map_err(|e| e.to_string())
}
