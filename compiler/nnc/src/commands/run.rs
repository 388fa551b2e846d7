//! `nnc run`: the reference interpreter on `.npy` inputs.

use crate::exit;
use std::path::Path;

pub struct Opts<'a> {
    pub file: &'a Path,
    pub network: Option<&'a str>,
    pub weights: Option<&'a Path>,
    pub inputs: &'a [String],
    pub outputs: &'a [String],
    pub out: Option<&'a Path>,
    pub seed: u64,
    pub color: bool,
}

pub fn run(o: Opts) -> u8 {
    let _ = (o.weights, o.inputs, o.outputs, o.out, o.seed);
    let compiled = match super::load_graph(o.file, o.network, o.color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let _ = compiled;
    eprintln!("error: the interpreter is not wired in yet");
    exit::ICE
}
