//! The numeric fixtures of `tests/fixtures/` (layout in
//! `tests/fixtures/README.md`): one directory per case with `net.nn`,
//! `weights.safetensors`, `input_<name>.npy` and `output_<name>.npy`.
//! This module only reads the files; turning `net.nn` into a graph is the
//! caller's business (the elaborator).

use crate::npy::{read_npy, NpyError};
use crate::tensor::Tensor;
use std::collections::BTreeMap;
use std::fmt;
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

/// Why a fixture could not be read.
#[derive(Debug)]
pub enum FixtureError {
    /// A directory or file could not be read; `at` is the fixture's name,
    /// `name/file` or the root's path, `what` what was being read, if said.
    Io {
        at: String,
        what: Option<&'static str>,
        error: std::io::Error,
    },
    /// An `.npy` file (`at` = `name/file`) is not a valid array.
    Npy { at: String, error: NpyError },
}

impl fmt::Display for FixtureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FixtureError::Io {
                at,
                what: Some(what),
                error,
            } => write!(f, "{at}: cannot read {what}: {error}"),
            FixtureError::Io {
                at,
                what: None,
                error,
            } => write!(f, "{at}: {error}"),
            FixtureError::Npy { at, error } => write!(f, "{at}: {error}"),
        }
    }
}

impl std::error::Error for FixtureError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FixtureError::Io { error, .. } => Some(error),
            FixtureError::Npy { error, .. } => Some(error),
        }
    }
}

fn io_err(at: &str) -> impl Fn(std::io::Error) -> FixtureError + '_ {
    move |error| FixtureError::Io {
        at: at.to_string(),
        what: None,
        error,
    }
}

/// The fixture root of the repository (`<workspace>/tests/fixtures`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

/// Loads one fixture directory.
pub fn load(dir: &Path) -> Result<Fixture, FixtureError> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let source = std::fs::read_to_string(dir.join("net.nn")).map_err(|error| FixtureError::Io {
        at: name.clone(),
        what: Some("net.nn"),
        error,
    })?;
    let mut inputs = BTreeMap::new();
    let mut outputs = BTreeMap::new();
    let entries = std::fs::read_dir(dir).map_err(io_err(&name))?;
    for e in entries {
        let e = e.map_err(io_err(&name))?;
        let file = e.file_name().to_string_lossy().into_owned();
        let Some(stem) = file.strip_suffix(".npy") else {
            continue;
        };
        let read = || -> Result<Tensor, FixtureError> {
            let at = format!("{name}/{file}");
            let b = std::fs::read(e.path()).map_err(io_err(&at))?;
            read_npy(&b).map_err(|error| FixtureError::Npy { at, error })
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
pub fn load_all(root: &Path) -> Result<Vec<Fixture>, FixtureError> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .map_err(io_err(&root.display().to_string()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("net.nn").is_file())
        .collect();
    dirs.sort();
    dirs.iter().map(|d| load(d)).collect()
}
