//! `nnc build`: the graph through the passes and the LLVM backend, linked with
//! the runtime into one executable.

use crate::cli::EmitArg;
use crate::exit;
use std::path::Path;

pub struct Opts<'a> {
    pub file: &'a Path,
    pub output: Option<&'a Path>,
    pub network: Option<&'a str>,
    pub weights: Option<&'a Path>,
    pub emit: EmitArg,
    pub target_cpu: &'a str,
    pub opt_level: u8,
    pub seed: u64,
    pub color: bool,
}

pub fn run(o: Opts) -> u8 {
    let _ = (o.output, o.weights, o.emit, o.target_cpu, o.opt_level, o.seed);
    let compiled = match super::load_graph(o.file, o.network, o.color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let _ = compiled;
    eprintln!("error: the backend is not wired in yet");
    exit::ICE
}
