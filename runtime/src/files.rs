//! The files of a run: `--input`/`--output` values resolved against the
//! model's tensors, and the checks that keep an output from replacing an
//! input, another output, a directory or a device.

use crate::args::Args;
use crate::meta::{shape_str, Meta, TensorMeta};
use crate::npy;
use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};

/// Why the `--input`/`--output`/`-o` files do not fit the model (`kind` is
/// "input" or "output"; `list` the network's tensors of that kind, as
/// shown).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileError {
    /// `--{kind} NAME=` with nothing after `=`.
    MissingFileName { kind: &'static str, name: String },
    /// `--{kind} NAME=FILE` with an unknown NAME.
    UnknownName {
        kind: &'static str,
        name: String,
        raw: String,
        list: String,
    },
    /// The network has no tensors of this kind.
    NoTensors(&'static str),
    /// A bare FILE but the network has `n` tensors of this kind.
    Ambiguous {
        kind: &'static str,
        n: usize,
        list: String,
    },
    /// An input given twice.
    InputTwice(String),
    /// Some inputs given, these (shown with shapes) not.
    MissingInputs { names: Vec<String>, list: String },
    /// `-o` with a network of `n` outputs.
    ShortOutput { n: usize, list: String },
    /// An output given twice.
    OutputTwice(String),
    /// An output with an empty file name.
    EmptyOutputName(String),
    /// An output to a directory, socket or block device (`why`).
    Unwritable {
        output: String,
        path: PathBuf,
        why: &'static str,
    },
    /// Two outputs to the same regular file.
    SameOutput {
        first: String,
        second: String,
        path: PathBuf,
    },
    /// An output to the file of an input.
    OverwritesInput {
        path: PathBuf,
        input: String,
        output: String,
    },
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::MissingFileName { kind, name } => {
                write!(f, "`--{kind} {name}=`: missing file name")
            }
            FileError::UnknownName {
                kind,
                name,
                raw,
                list,
            } => write!(
                f,
                "unknown {kind} `{name}` in `--{kind} {raw}`; the network's {kind}s are: {list}"
            ),
            FileError::NoTensors(kind) => write!(f, "the network has no {kind}s"),
            FileError::Ambiguous { kind, n, list } => write!(
                f,
                "the network has {n} {kind}s ({list}); name one with `--{kind} NAME=FILE.npy`"
            ),
            FileError::InputTwice(name) => write!(f, "input `{name}` given twice"),
            FileError::MissingInputs { names, list } => write!(
                f,
                "missing input{} {}; the network's inputs are: {list} (give each with `--input NAME=FILE.npy`, or none for random inputs)",
                if names.len() > 1 { "s" } else { "" },
                names.join(", ")
            ),
            FileError::ShortOutput { n, list } => write!(
                f,
                "`-o` needs a network with one output; this one has {n} ({list}): use `--output NAME=FILE.npy`"
            ),
            FileError::OutputTwice(name) => write!(f, "output `{name}` given twice"),
            FileError::EmptyOutputName(name) => write!(f, "output `{name}`: empty file name"),
            FileError::Unwritable { output, path, why } => write!(
                f,
                "output `{output}`: `{}` {why} (outputs go to regular files, character devices or FIFOs)",
                path.display()
            ),
            FileError::SameOutput {
                first,
                second,
                path,
            } => write!(
                f,
                "outputs `{first}` and `{second}` are both written to `{}`",
                path.display()
            ),
            FileError::OverwritesInput {
                path,
                input,
                output,
            } => write!(
                f,
                "refusing to overwrite input file `{}` (input `{input}`) with output `{output}`",
                path.display()
            ),
        }
    }
}

impl std::error::Error for FileError {}

fn list(ts: &[TensorMeta]) -> String {
    ts.iter()
        .map(|t| format!("`{}` {}", t.name, shape_str(&t.shape)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Resolves a `--input`/`--output` value (`NAME=FILE` or `FILE`) to a
/// tensor index and a path.
fn resolve(
    kind: &'static str,
    raw: &OsStr,
    ts: &[TensorMeta],
    must_exist: bool,
) -> Result<(usize, PathBuf), FileError> {
    if let Some((name, file)) = raw.to_str().and_then(|s| s.split_once('=')) {
        if let Some(i) = ts.iter().position(|t| t.name == name) {
            if file.is_empty() {
                return Err(FileError::MissingFileName {
                    kind,
                    name: name.to_string(),
                });
            }
            return Ok((i, PathBuf::from(file)));
        }
        let whole_is_file = must_exist && Path::new(raw).is_file();
        let name_like = !name.is_empty() && !name.contains('/') && !name.contains('\\');
        if name_like && !whole_is_file {
            return Err(FileError::UnknownName {
                kind,
                name: name.to_string(),
                raw: raw.to_string_lossy().into_owned(),
                list: list(ts),
            });
        }
    }
    match ts.len() {
        1 => Ok((0, PathBuf::from(raw))),
        0 => Err(FileError::NoTensors(kind)),
        n => Err(FileError::Ambiguous {
            kind,
            n,
            list: list(ts),
        }),
    }
}

/// What a path names: device and inode of an existing file, or the
/// canonical directory and name of a file still to be created. So `o.npy`
/// and `./o.npy` (or a symlink to it) are the same file.
#[derive(PartialEq, Eq)]
enum FileId {
    Inode(u64, u64),
    New(PathBuf),
}

fn file_id(p: &Path) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    if let Ok(m) = std::fs::metadata(p) {
        return Some(FileId::Inode(m.dev(), m.ino()));
    }
    let target = npy::resolve_links(p).ok()?;
    let name = target.file_name()?;
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Some(FileId::New(dir.canonicalize().ok()?.join(name)))
}

fn same_file(a: &Path, b: &Path) -> bool {
    if a == b {
        return true;
    }
    match (file_id(a), file_id(b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// Why `p` cannot take an output: a directory, socket or block device
/// (character devices and FIFOs are written to, regular files replaced).
fn unwritable_kind(p: &Path) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    let t = std::fs::metadata(p).ok()?.file_type();
    if t.is_dir() {
        Some("is a directory")
    } else if t.is_socket() {
        Some("is a socket")
    } else if t.is_block_device() {
        Some("is a block device")
    } else {
        None
    }
}

fn is_stream(p: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(p).is_ok_and(|m| m.file_type().is_char_device() || m.file_type().is_fifo())
}

/// Everything needed to run: resolved inputs and outputs.
pub(crate) struct Plan {
    /// Input file per input (None: random).
    pub(crate) input_files: Vec<Option<PathBuf>>,
    /// Output file per output (None: not written).
    pub(crate) output_files: Vec<Option<PathBuf>>,
}

pub(crate) fn plan(meta: &Meta, a: &Args) -> Result<Plan, FileError> {
    let mut input_files: Vec<Option<PathBuf>> = vec![None; meta.inputs.len()];
    for raw in &a.inputs {
        let (i, p) = resolve("input", raw, &meta.inputs, true)?;
        if input_files[i].is_some() {
            return Err(FileError::InputTwice(meta.inputs[i].name.clone()));
        }
        input_files[i] = Some(p);
    }
    if !a.inputs.is_empty() {
        let missing: Vec<&TensorMeta> = meta
            .inputs
            .iter()
            .zip(&input_files)
            .filter(|(_, f)| f.is_none())
            .map(|(t, _)| t)
            .collect();
        if !missing.is_empty() {
            let names: Vec<String> = missing
                .iter()
                .map(|t| format!("`{}` {}", t.name, shape_str(&t.shape)))
                .collect();
            return Err(FileError::MissingInputs {
                names,
                list: list(&meta.inputs),
            });
        }
    }
    let mut output_files: Vec<Option<PathBuf>> = vec![None; meta.outputs.len()];
    let mut outs: Vec<(usize, PathBuf)> = Vec::new();
    for raw in &a.outputs {
        outs.push(resolve("output", raw, &meta.outputs, false)?);
    }
    if let Some(o) = &a.short_output {
        if meta.outputs.len() != 1 {
            return Err(FileError::ShortOutput {
                n: meta.outputs.len(),
                list: list(&meta.outputs),
            });
        }
        outs.push((0, PathBuf::from(o)));
    }
    for (i, p) in outs {
        if output_files[i].is_some() {
            return Err(FileError::OutputTwice(meta.outputs[i].name.clone()));
        }
        if p.as_os_str().is_empty() {
            return Err(FileError::EmptyOutputName(meta.outputs[i].name.clone()));
        }
        if let Some(why) = unwritable_kind(&p) {
            return Err(FileError::Unwritable {
                output: meta.outputs[i].name.clone(),
                path: p,
                why,
            });
        }
        for (j, q) in output_files.iter().enumerate() {
            if let Some(q) = q {
                if same_file(&p, q) && !is_stream(&p) {
                    return Err(FileError::SameOutput {
                        first: meta.outputs[j].name.clone(),
                        second: meta.outputs[i].name.clone(),
                        path: p,
                    });
                }
            }
        }
        for (j, q) in input_files.iter().enumerate() {
            if let Some(q) = q {
                if same_file(&p, q) {
                    return Err(FileError::OverwritesInput {
                        path: p,
                        input: meta.inputs[j].name.clone(),
                        output: meta.outputs[i].name.clone(),
                    });
                }
            }
        }
        output_files[i] = Some(p);
    }
    Ok(Plan {
        input_files,
        output_files,
    })
}
