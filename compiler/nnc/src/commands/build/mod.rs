//! `nnc build`: the graph through the passes and the LLVM backend, linked with
//! the runtime into one executable (or stopped at object, assembly or IR).

use crate::cli::EmitArg;
mod predictions;

use crate::cleanup;
use crate::exit;
use crate::outfile;
use crate::output;
use crate::runtime_lib;
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
    pub platform: &'a str,
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
    if let Some((id, what)) = nnc_codegen::support::unsupported(g) {
        let d = nnc_diag::Diagnostic::error(
            nnc_diag::codes::build::UNSUPPORTED_OP,
            format!("{what} is not supported by the backend yet"),
        )
        .with_primary(
            g.span(id),
            format!("`{}` needs the interpreter", g.node(id).name),
        )
        .with_help("`nnc run` interprets the network; `nnc check` and `nnc analyze` work too");
        output::emit(
            &[d],
            &compiled.file,
            nnc_diag::render::MessageFormat::Human,
            o.color,
        );
        return exit::INPUT_ERRORS;
    }
    // weights
    let weights = match super::load_weights(o.file, o.weights, o.seed, &compiled, g, o.color) {
        Ok(w) => w,
        Err(code) => return code,
    };
    if let Err(e) = nnc_codegen::cpu::validate_cpu(o.target_cpu) {
        output::usage_error(e);
        return exit::USAGE;
    }
    // outputs: never an input, a directory or a device replaced
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
    // the weight blob that `.incbin` of `--emit llvm-ir` refers to (LLVM's
    // assembly printer expands the `.incbin` itself: a `.s` is self-contained)
    let blob_out = matches!(o.emit, EmitArg::LlvmIr).then(|| companion_blob(&out));
    let mut files = outfile::Outputs::new();
    files.input(o.file);
    if let Some(w) = o.weights {
        files.input(w);
    }
    for p in std::iter::once(&out).chain(blob_out.as_ref()) {
        if let Err(e) = files.plan(p) {
            let hint = if o.output.is_none() {
                " (the default output name is the network's name; choose another with `-o`)"
            } else {
                ""
            };
            output::usage_error(format!("{e}{hint}"));
            return exit::USAGE;
        }
    }
    let platform =
        match nnc_analysis::platform::resolve(o.platform, &crate::commands::calibrate::write_cache)
        {
            Ok(p) => p,
            Err(e) => {
                output::usage_error(e);
                return exit::USAGE;
            }
        };
    let predicted_ms = match predictions::predicted_ms(g, &platform) {
        Ok(m) => m,
        Err(e) => {
            output::usage_error(e);
            return exit::USAGE;
        }
    };
    // host: the calibrated model prices the executed plan per thread count
    let model = if platform.name == "host" {
        crate::commands::calibrate::host_model()
    } else {
        None
    };
    let has_model = model.is_some();
    let opts = nnc_codegen::BuildOptions {
        target_cpu: o.target_cpu.to_string(),
        opt_level: o.opt_level,
        model_threads: crate::commands::analyze::cores(),
        model,
        predicted_ms,
        predictions_from: (predictions::describe(&platform)
            + if has_model {
                " with the calibrated kernel model of the executed plan, per thread count"
            } else {
                ""
            })
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect(),
    };
    let emit = match o.emit {
        EmitArg::Exe | EmitArg::Obj => nnc_codegen::Emit::Obj,
        EmitArg::Asm => nnc_codegen::Emit::Asm,
        EmitArg::LlvmIr => nnc_codegen::Emit::LlvmIr,
    };
    let tmp = match tempfile::Builder::new().prefix("nnc-build-").tempdir() {
        Ok(t) => t,
        Err(e) => {
            output::usage_error(format!("cannot create a temporary directory: {e}"));
            return exit::USAGE;
        }
    };
    // removed on SIGINT/SIGTERM too (the weight blob can be hundreds of MB)
    let _guard = cleanup::register(tmp.path().to_path_buf());
    let art = match nnc_codegen::compile(g, &weights, &opts, emit, tmp.path()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: internal compiler error in the backend: {e}");
            return exit::ICE;
        }
    };
    let result = match o.emit {
        EmitArg::Exe => {
            let linked = tmp.path().join("a.out");
            runtime_lib::link(&art.objects, &linked)
                .map_err(String::from)
                .and_then(|()| {
                    outfile::copy(&linked, &out, outfile::Mode::Executable).map_err(String::from)
                })
        }
        // one object: the kernels with the weights embedded by `.incbin`
        EmitArg::Obj => match art.objects.as_slice() {
            [obj] => outfile::copy(obj, &out, outfile::Mode::Data).map_err(String::from),
            objs => Err(format!(
                "internal compiler error: the backend produced {} objects, expected one",
                objs.len()
            )),
        },
        EmitArg::Asm | EmitArg::LlvmIr => match &art.text {
            Some(t) => write_text(t, &art.weights_blob, &out, blob_out.as_deref()),
            None => Err("internal compiler error: the backend produced no text output".into()),
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
    if let Some(b) = &blob_out {
        eprintln!(
            "  with the weights in `{}` (referenced by `.incbin`)",
            b.display()
        );
    }
    eprintln!(
        "  predicted times from {}",
        predictions::describe(&platform)
    );
    exit::OK
}

/// `net.s` → `net.s.weights.bin`: named after the whole output file name, so
/// it never is an unrelated `net.weights.bin`.
fn companion_blob(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".weights.bin");
    out.with_file_name(name)
}

/// Writes the assembly or IR text with its `.incbin` pointed at the kept
/// copy of the weight blob (by absolute path, so the text assembles from any
/// directory), and the blob itself.
fn write_text(text: &Path, tmp_blob: &Path, out: &Path, blob: Option<&Path>) -> Result<(), String> {
    let src = std::fs::read_to_string(text)
        .map_err(|e| format!("cannot read {}: {e}", text.display()))?;
    let tmp_s = tmp_blob.to_string_lossy();
    let Some(blob) = blob.filter(|_| src.contains(tmp_s.as_ref())) else {
        if src.contains(tmp_s.as_ref()) {
            return Err(format!(
                "internal compiler error: `{}` refers to a temporary file",
                out.display()
            ));
        }
        return outfile::write(out, src.as_bytes(), outfile::Mode::Data).map_err(String::from);
    };
    outfile::copy(tmp_blob, blob, outfile::Mode::Data)?;
    let kept = absolute_file(blob)?;
    let kept_s = kept
        .to_str()
        .filter(|s| !s.contains(['"', '\\', '\n']))
        .ok_or_else(|| {
            format!(
                "cannot refer to `{}` from `.incbin`: the path must be UTF-8 without quotes, backslashes or newlines",
                kept.display()
            )
        })?;
    let fixed = src.replace(tmp_s.as_ref(), kept_s);
    outfile::write(out, fixed.as_bytes(), outfile::Mode::Data).map_err(String::from)
}

/// The absolute path of an existing file (its directory canonicalized,
/// its name kept: a symlinked blob stays referred to by its link).
fn absolute_file(p: &Path) -> Result<PathBuf, String> {
    let dir = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let dir = dir
        .canonicalize()
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir.join(p.file_name().unwrap_or_default()))
}
