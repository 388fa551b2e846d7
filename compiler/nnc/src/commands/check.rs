//! `nnc check`: every syntax and elaboration error, then the lints.

use crate::cli::{LintLevels, MessageFormatArg};
use crate::exit;
use crate::frontend::{self, LoadError};
use crate::output;
use std::path::Path;

pub fn run(
    path: &Path,
    network: Option<&str>,
    levels: &LintLevels,
    format: MessageFormatArg,
    simd: &str,
    color: bool,
) -> u8 {
    let _ = (levels, simd);
    let compiled = match frontend::compile(path, network) {
        Ok(c) => c,
        Err(LoadError::Unreadable(msg)) => {
            output::usage_error(msg);
            return exit::USAGE;
        }
    };
    let diags = compiled.diagnostics.clone();
    output::emit(&diags, &compiled.file, output::message_format(format), color);
    if diags.iter().any(|d| d.is_error()) {
        exit::INPUT_ERRORS
    } else {
        exit::OK
    }
}
