//! `nnc import model.onnx -o model.nn [--weights-out W.safetensors]`: an
//! ONNX model to readable `.nn` source and its weights. The source is
//! compiled before anything is written; outputs are written atomically.

use crate::cli::ImportArgs;
use crate::exit;
use crate::frontend;
use crate::outfile;
use crate::output;
use nnc_diag::codes::onnx as onnx_code;

pub fn run(a: &ImportArgs, color: bool) -> u8 {
    // outputs never replace the model, each other, a directory or a device
    let mut files = outfile::Outputs::new();
    files.input(&a.file);
    for p in a.output.iter().chain(a.weights_out.iter()) {
        if let Err(e) = files.plan(p) {
            output::usage_error(e);
            return exit::USAGE;
        }
    }
    let imp = match nnc_onnx::import_file_with(&a.file, frontend::import_options()) {
        Ok(i) => i,
        Err(e) if frontend::is_usage_import_error(&e) => {
            output::usage_error(e.message);
            return exit::USAGE;
        }
        Err(e) => {
            eprintln!("{e}");
            return exit::INPUT_ERRORS;
        }
    };
    // the generated source must compile, with the imported weights
    let name = a.file.display().to_string();
    let compiled = frontend::compile_bytes(&name, imp.text.as_bytes(), None);
    let Some(g) = compiled.graph.as_ref().filter(|_| !compiled.has_errors()) else {
        output::emit(
            &compiled.diagnostics,
            &compiled.file,
            nnc_diag::render::MessageFormat::Human,
            color,
        );
        eprintln!(
            "error[{}]: the source imported from `{name}` does not compile (a bug in the importer)",
            onnx_code::IMPORT_BUG
        );
        return exit::INPUT_ERRORS;
    };
    let problems = nnc_interp::weights::check_store(g, &imp.weights);
    if !problems.is_empty() {
        eprintln!(
            "error[{}]: the imported weights do not fit the imported source: {}",
            onnx_code::IMPORT_BUG,
            problems.join("; ")
        );
        return exit::INPUT_ERRORS;
    }
    let weights = match &a.weights_out {
        Some(_) => match nnc_interp::weights::save_safetensors(&imp.weights) {
            Ok(b) => Some(b),
            Err(e) => {
                eprintln!(
                    "error[{}]: cannot serialize the weights: {e}",
                    onnx_code::IMPORT_BUG
                );
                return exit::INPUT_ERRORS;
            }
        },
        None => None,
    };
    match &a.output {
        Some(p) => {
            if let Err(e) = outfile::write(p, imp.text.as_bytes(), outfile::Mode::Data) {
                output::usage_error(e);
                return exit::USAGE;
            }
        }
        None => crate::output::out!("{}", imp.text),
    }
    if let (Some(p), Some(b)) = (&a.weights_out, weights) {
        if let Err(e) = outfile::write(p, &b, outfile::Mode::Data) {
            output::usage_error(e);
            return exit::USAGE;
        }
    }
    if a.output.is_some() {
        eprintln!(
            "imported `{}` as network `{}` ({} nodes, {} weight tensors; {})",
            a.file.display(),
            imp.network,
            g.len(),
            imp.weights.len(),
            imp.structure
        );
    }
    exit::OK
}
