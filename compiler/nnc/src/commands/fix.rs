//! `nnc fix`: machine-applicable lint fixes, and `--rebalance`.

use crate::exit;
use std::path::Path;

pub struct Opts<'a> {
    pub file: &'a Path,
    pub network: Option<&'a str>,
    pub rebalance: bool,
    pub diff: bool,
    pub dry_run: bool,
    pub output: Option<&'a Path>,
    pub flops_tolerance: &'a str,
    pub simd_lanes: usize,
    pub color: bool,
}

pub fn run(o: Opts) -> u8 {
    let _ = (
        o.rebalance,
        o.diff,
        o.dry_run,
        o.output,
        o.flops_tolerance,
        o.simd_lanes,
    );
    let compiled = match super::load_graph(o.file, o.network, o.color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let _ = compiled;
    eprintln!("error: fixes are not wired in yet");
    exit::ICE
}
