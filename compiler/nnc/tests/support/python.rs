//! Finding a Python for the interop tests (shared by `interop_onnx.rs` and
//! `interop_python.rs`; a subdirectory, so not a test target of its own).

use std::path::PathBuf;
use std::process::Command;

/// `$NNC_PYTHON` when set.
pub fn explicit() -> Option<PathBuf> {
    std::env::var_os("NNC_PYTHON").map(PathBuf::from)
}

/// The interpreter of the venv at `$var`, else at `~/default` (a path below
/// the home directory, e.g. `.cache/nnc/venv`).
pub fn venv(var: &str, default: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(default)))
        .map(|v| v.join("bin/python"))
}

/// The first candidate that imports `modules` (e.g. `"numpy, onnx"`).
pub fn first_importing(
    candidates: impl IntoIterator<Item = PathBuf>,
    modules: &str,
) -> Option<PathBuf> {
    candidates.into_iter().find(|p| {
        Command::new(p)
            .args(["-c", &format!("import {modules}")])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}
