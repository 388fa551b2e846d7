//! `nnc analyze`: costs per node and in total, graph figures, roofline prediction.

use crate::cli::{SortArg, TableFormat};
use crate::exit;
use std::path::Path;

pub struct Opts<'a> {
    pub file: &'a Path,
    pub network: Option<&'a str>,
    pub format: TableFormat,
    pub platform: &'a str,
    pub plot: Option<&'a Path>,
    pub sort: SortArg,
    pub list_platforms: bool,
    pub color: bool,
}

pub fn run(o: Opts) -> u8 {
    let _ = (o.format, o.platform, o.plot, o.sort, o.list_platforms);
    let compiled = match super::load_graph(o.file, o.network, o.color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let _ = compiled;
    eprintln!("error: analysis is not wired in yet");
    exit::ICE
}
