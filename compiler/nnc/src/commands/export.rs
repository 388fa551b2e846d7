//! `nnc export net.nn --format onnx|torch -o OUT [--weights W]`: the
//! elaborated network as an ONNX model (weights embedded as initializers)
//! or as PyTorch module source (weights stay in the safetensors file).

use crate::cli::{ExportArgs, ExportFormat};
use crate::exit;
use crate::output;

pub fn run(a: &ExportArgs, color: bool) -> u8 {
    // the output never replaces the source, the weights, a directory or a device
    let mut files = crate::outfile::Outputs::new();
    files.input(&a.file);
    if let Some(w) = &a.weights {
        files.input(w);
    }
    if let Err(e) = files.plan(&a.output) {
        output::usage_error(e);
        return exit::USAGE;
    }
    if !(13..=21).contains(&a.opset) {
        output::usage_error(format!("--opset {} is not supported (13 to 21)", a.opset));
        return exit::USAGE;
    }
    let compiled = match super::load_graph(&a.file, a.network.as_deref(), color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let Some(g) = compiled.graph.as_ref() else {
        return exit::INPUT_ERRORS;
    };
    let bytes = match a.format {
        ExportFormat::Torch => match nnc_onnx::export_torch::export(g) {
            Ok(s) => s.into_bytes(),
            Err(e) => {
                eprintln!("{e}");
                return exit::INPUT_ERRORS;
            }
        },
        ExportFormat::Onnx => {
            let weights = match super::load_weights(
                &a.file,
                a.weights.as_deref(),
                a.seed,
                &compiled,
                g,
                color,
            ) {
                Ok(w) => w,
                Err(code) => return code,
            };
            match nnc_onnx::export_onnx::export(g, &weights, a.opset) {
                Ok(b) => b,
                Err(e) => {
                    eprintln!("{e}");
                    return exit::INPUT_ERRORS;
                }
            }
        }
    };
    if let Err(e) = crate::outfile::write(&a.output, &bytes, crate::outfile::Mode::Data) {
        output::usage_error(e);
        return exit::USAGE;
    }
    exit::OK
}
