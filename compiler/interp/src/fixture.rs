//! The numeric fixtures of `tests/fixtures/` (layout in
//! `tests/fixtures/README.md`): one directory per case with `net.nn`,
//! `weights.safetensors`, `input_<name>.npy` and `output_<name>.npy`.
//! This module only reads the files; turning `net.nn` into a graph is the
//! caller's business (the elaborator).

use crate::npy::read_npy;
use crate::tensor::Tensor;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The tolerance of the fixture tests: max |out - ref| / max |ref|.
pub const TOLERANCE: f64 = 1e-4;

/// One fixture case.
#[derive(Clone, Debug)]
pub struct Fixture {
    /// The directory name.
    pub name: String,
    pub dir: PathBuf,
    /// The `.nn` source text.
    pub source: String,
    /// Path of `weights.safetensors`.
    pub weights: PathBuf,
    /// Inputs by input name.
    pub inputs: BTreeMap<String, Tensor>,
    /// Expected outputs by output name.
    pub outputs: BTreeMap<String, Tensor>,
}

/// The fixture root of the repository (`<workspace>/tests/fixtures`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

/// Loads one fixture directory.
pub fn load(dir: &Path) -> Result<Fixture, String> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let source = std::fs::read_to_string(dir.join("net.nn"))
        .map_err(|e| format!("{name}: cannot read net.nn: {e}"))?;
    let mut inputs = BTreeMap::new();
    let mut outputs = BTreeMap::new();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{name}: {e}"))?;
    for e in entries {
        let e = e.map_err(|e| format!("{name}: {e}"))?;
        let file = e.file_name().to_string_lossy().into_owned();
        let Some(stem) = file.strip_suffix(".npy") else {
            continue;
        };
        let read = || -> Result<Tensor, String> {
            let b = std::fs::read(e.path()).map_err(|err| format!("{name}/{file}: {err}"))?;
            read_npy(&b).map_err(|err| format!("{name}/{file}: {err}"))
        };
        if let Some(n) = stem.strip_prefix("input_") {
            inputs.insert(n.to_string(), read()?);
        } else if let Some(n) = stem.strip_prefix("output_") {
            outputs.insert(n.to_string(), read()?);
        }
    }
    Ok(Fixture {
        name,
        weights: dir.join("weights.safetensors"),
        dir: dir.to_path_buf(),
        source,
        inputs,
        outputs,
    })
}

/// Loads every fixture under `root` (directories holding a `net.nn`), by name.
pub fn load_all(root: &Path) -> Result<Vec<Fixture>, String> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .map_err(|e| format!("{}: {e}", root.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("net.nn").is_file())
        .collect();
    dirs.sort();
    dirs.iter().map(|d| load(d)).collect()
}
