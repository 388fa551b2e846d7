//! `nnc run`: the reference interpreter on `.npy` inputs — an answer without
//! compiling, with the same command-line conventions as the executables.

use crate::exit;
use crate::outfile;
use crate::output;
use crate::output::outln;
use nnc_interp::tensor::{fmt_shape, Tensor};
use nnc_interp::weights::SplitMix64;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

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

/// Splits `NAME=FILE` (or a bare `FILE` when `single` names the only slot).
fn name_file(arg: &str, single: Option<&str>) -> Result<(String, PathBuf), String> {
    match arg.split_once('=') {
        Some((n, f)) if !n.is_empty() && !f.is_empty() => Ok((n.to_string(), PathBuf::from(f))),
        _ => match single {
            Some(n) => Ok((n.to_string(), PathBuf::from(arg))),
            None => Err(format!(
                "`{arg}`: expected NAME=FILE.npy (the network has several inputs or outputs)"
            )),
        },
    }
}

pub fn run(o: Opts) -> u8 {
    let compiled = match super::load_graph(o.file, o.network, o.color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let Some(g) = compiled.graph.as_ref() else {
        return exit::INPUT_ERRORS;
    };
    // weights
    let weights = match super::load_weights(o.file, o.weights, o.seed, &compiled, g, o.color) {
        Ok(w) => w,
        Err(code) => return code,
    };
    // inputs
    let input_names: Vec<(String, Vec<usize>)> = g
        .inputs
        .iter()
        .map(|&i| (g.node(i).name.clone(), g.node(i).shape.clone()))
        .collect();
    let single_in = (input_names.len() == 1).then(|| input_names[0].0.as_str());
    let mut given: HashMap<String, PathBuf> = HashMap::new();
    for a in o.inputs {
        match name_file(a, single_in) {
            Ok((n, f)) => {
                if !input_names.iter().any(|(m, _)| *m == n) {
                    let names: Vec<&str> = input_names.iter().map(|(m, _)| m.as_str()).collect();
                    output::usage_error(format!(
                        "the network has no input `{n}` (inputs: {})",
                        names.join(", ")
                    ));
                    return exit::USAGE;
                }
                if given.insert(n.clone(), f).is_some() {
                    output::usage_error(format!("input `{n}` given twice"));
                    return exit::USAGE;
                }
            }
            Err(e) => {
                output::usage_error(e);
                return exit::USAGE;
            }
        }
    }
    if !given.is_empty() && given.len() != input_names.len() {
        let missing: Vec<&str> = input_names
            .iter()
            .filter(|(n, _)| !given.contains_key(n))
            .map(|(n, _)| n.as_str())
            .collect();
        output::usage_error(format!("missing input(s): {}", missing.join(", ")));
        return exit::USAGE;
    }
    let mut values: HashMap<String, Tensor> = HashMap::new();
    let mut rng = SplitMix64(o.seed);
    for (name, shape) in &input_names {
        let t = match given.get(name) {
            // the executables' reader and messages (`nnc-npy`)
            Some(path) => match nnc_interp::npy::read_npy_file(path, shape) {
                Ok(t) => t,
                Err(e) => {
                    output::usage_error(nnc_interp::npy::input_error(name, path, shape, &e));
                    return exit::USAGE;
                }
            },
            None => {
                let n: usize = shape.iter().product();
                let data = nnc_interp::tensor::try_vec(n).map(|mut d| {
                    d.extend((0..n).map(|_| rng.uniform(1.0)));
                    d
                });
                match data.and_then(|d| Tensor::new(shape.clone(), d)) {
                    Ok(t) => t,
                    // the same coded error as an allocation in the interpreter
                    Err(e) if e.is_alloc() => {
                        eprintln!(
                            "error[{}]: input `{name}`: {e}",
                            nnc_interp::weights::E_LIMIT
                        );
                        return exit::INPUT_ERRORS;
                    }
                    Err(e) => {
                        output::usage_error(format!("input `{name}`: {e}"));
                        return exit::USAGE;
                    }
                }
            }
        };
        values.insert(name.clone(), t);
    }
    if given.is_empty() && !input_names.is_empty() {
        eprintln!(
            "note: no --input given: using random inputs in [-1, 1) (seed {})",
            o.seed
        );
    }
    // outputs
    let out_names: Vec<&str> = g.outputs.iter().map(|o| o.name.as_str()).collect();
    let single_out = (out_names.len() == 1).then(|| out_names[0]);
    let mut writes: Vec<(String, PathBuf)> = Vec::new();
    for a in o.outputs {
        match name_file(a, single_out) {
            Ok((n, f)) if out_names.contains(&n.as_str()) => writes.push((n, f)),
            Ok((n, _)) => {
                output::usage_error(format!(
                    "the network has no output `{n}` (outputs: {})",
                    out_names.join(", ")
                ));
                return exit::USAGE;
            }
            Err(e) => {
                output::usage_error(e);
                return exit::USAGE;
            }
        }
    }
    if let Some(p) = o.out {
        match single_out {
            Some(n) => writes.push((n.to_string(), p.to_path_buf())),
            None => {
                output::usage_error(
                    "-o needs a network with one output; use --output NAME=FILE.npy",
                );
                return exit::USAGE;
            }
        }
    }
    // no output may replace an input or another output (checked before
    // the possibly long evaluation)
    let mut files = outfile::Outputs::new();
    files.input(o.file);
    if let Some(w) = o.weights {
        files.input(w);
    }
    for p in given.values() {
        files.input(p);
    }
    for (_, p) in &writes {
        if let Err(e) = files.plan(p) {
            output::usage_error(e);
            return exit::USAGE;
        }
    }
    let outs = match nnc_interp::eval::run(g, &weights, &values) {
        Ok(v) => v,
        Err(e) if e.is_alloc() => {
            eprintln!("error[{}]: {e}", nnc_interp::weights::E_LIMIT);
            return exit::INPUT_ERRORS;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return exit::INPUT_ERRORS;
        }
    };
    if writes.is_empty() {
        for o in &g.outputs {
            if let Some(t) = outs.get(&o.name) {
                print_summary(&o.name, t);
            }
        }
    }
    for (n, p) in writes {
        let Some(t) = outs.get(&n) else { continue };
        let bytes = nnc_interp::npy::write_npy(t);
        if let Err(e) = outfile::write(&p, &bytes, outfile::Mode::Data) {
            output::usage_error(e);
            return exit::USAGE;
        }
    }
    exit::OK
}

fn print_summary(name: &str, t: &Tensor) {
    let d = t.data();
    let first: Vec<String> = d.iter().take(8).map(|v| format!("{v:.6}")).collect();
    outln!(
        "{name}: shape {}, first values [{}{}]",
        fmt_shape(t.shape()),
        first.join(", "),
        if d.len() > 8 { ", ..." } else { "" }
    );
    let shape = t.shape();
    if shape.len() == 2 && shape[0] == 1 && !d.is_empty() {
        let (i, v) = d
            .iter()
            .enumerate()
            .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &v)| {
                if v > bv {
                    (i, v)
                } else {
                    (bi, bv)
                }
            });
        outln!("{name}: argmax {i} (value {v:.6})");
    }
}
