//! `nnc build`: the graph through the passes and the LLVM backend, linked with
//! the runtime into one executable (or stopped at object, assembly or IR).

use crate::cli::EmitArg;
use crate::exit;
use crate::output;
use crate::runtime_lib;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

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
    let t0 = Instant::now();
    let compiled = match super::load_graph(o.file, o.network, o.color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let Some(g) = compiled.graph.as_ref() else {
        return exit::INPUT_ERRORS;
    };
    output::emit(
        &compiled.diagnostics,
        &compiled.file,
        nnc_diag::render::MessageFormat::Human,
        o.color,
    );
    // weights
    let weights = match o.weights {
        Some(p) => {
            if !p.is_file() {
                output::usage_error(format!(
                    "cannot read weights `{}`: no such file",
                    p.display()
                ));
                return exit::USAGE;
            }
            let (w, diags) = nnc_interp::weights::load_safetensors_file(p, g);
            output::emit(
                &diags,
                &compiled.file,
                nnc_diag::render::MessageFormat::Human,
                o.color,
            );
            if diags.iter().any(|d| d.is_error()) {
                return exit::INPUT_ERRORS;
            }
            w
        }
        None if crate::frontend::is_onnx(o.file) => match super::onnx_weights(o.file, g) {
            Ok(w) => w,
            Err(code) => return code,
        },
        None => nnc_interp::weights::init_deterministic(g, o.seed),
    };
    // predicted times for --profile
    let mut predicted_ms = HashMap::new();
    if let Some(p) = nnc_analysis::platform::builtin("zen3-2c") {
        let p = nnc_analysis::platform::cached_host().unwrap_or(p);
        if let Ok(a) = nnc_analysis::analyze(g, &p) {
            for n in &a.nodes {
                predicted_ms.insert(g.node(n.id).name.clone(), n.predicted_ms);
            }
        }
    }
    let opts = nnc_codegen::BuildOptions {
        target_cpu: o.target_cpu.to_string(),
        opt_level: o.opt_level,
        predicted_ms,
    };
    let emit = match o.emit {
        EmitArg::Exe | EmitArg::Obj => nnc_codegen::Emit::Obj,
        EmitArg::Asm => nnc_codegen::Emit::Asm,
        EmitArg::LlvmIr => nnc_codegen::Emit::LlvmIr,
    };
    let default_name = match o.emit {
        EmitArg::Exe => g.name.clone(),
        EmitArg::Obj => format!("{}.o", g.name),
        EmitArg::Asm => format!("{}.s", g.name),
        EmitArg::LlvmIr => format!("{}.ll", g.name),
    };
    let out: PathBuf = o
        .output
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(default_name));
    if out.is_dir() {
        output::usage_error(format!("output `{}` is a directory", out.display()));
        return exit::USAGE;
    }
    let tmp = match tempfile::tempdir() {
        Ok(t) => t,
        Err(e) => {
            output::usage_error(format!("cannot create a temporary directory: {e}"));
            return exit::USAGE;
        }
    };
    let art = match nnc_codegen::compile(g, &weights, &opts, emit, tmp.path()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: internal compiler error in the backend: {e}");
            return exit::ICE;
        }
    };
    let result = match o.emit {
        EmitArg::Exe => runtime_lib::link(&art.objects, &out),
        EmitArg::Obj => {
            // one object: the kernels (the weights object is linked in by `exe`)
            if art.objects.len() == 1 {
                copy_atomic(&art.objects[0], &out)
            } else {
                link_relocatable(&art.objects, &out)
            }
        }
        EmitArg::Asm | EmitArg::LlvmIr => match &art.text {
            Some(t) => copy_atomic(t, &out).and_then(|()| {
                // the text refers to the weight blob by path: keep it beside the output
                let blob = out.with_extension("weights.bin");
                copy_atomic(&art.weights_blob, &blob)
            }),
            None => Err("the backend produced no text output".into()),
        },
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        return exit::USAGE;
    }
    eprintln!(
        "built `{}` ({} kernels, {:.1} MB weights, {:.1} MB arena) in {:.2} s",
        out.display(),
        art.kernels,
        weights.total_elements() as f64 * 4.0 / 1e6,
        art.arena_bytes as f64 / 1e6,
        t0.elapsed().as_secs_f64()
    );
    exit::OK
}

fn copy_atomic(from: &Path, to: &Path) -> Result<(), String> {
    let bytes = std::fs::read(from).map_err(|e| format!("cannot read {}: {e}", from.display()))?;
    output::write_atomic(to, &bytes).map_err(|e| format!("cannot write `{}`: {e}", to.display()))
}

/// Several objects into one relocatable object (`cc -r`).
fn link_relocatable(objects: &[PathBuf], out: &Path) -> Result<(), String> {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let tmp = out.with_extension("o.tmp");
    let st = std::process::Command::new(&cc)
        .arg("-r")
        .arg("-nostdlib")
        .args(objects)
        .arg("-o")
        .arg(&tmp)
        .output()
        .map_err(|e| format!("cannot run `{cc}`: {e}"))?;
    if !st.status.success() {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!(
            "`{cc} -r` failed: {}",
            String::from_utf8_lossy(&st.stderr)
        ));
    }
    std::fs::rename(&tmp, out).map_err(|e| format!("cannot write `{}`: {e}", out.display()))
}
