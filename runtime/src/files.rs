//! The files of a run: `--input`/`--output` values resolved against the
//! model's tensors, and the checks that keep an output from replacing an
//! input, another output, a directory or a device.

use crate::args::Args;
use crate::meta::{shape_str, Meta, TensorMeta};
use crate::npy;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

fn list(ts: &[TensorMeta]) -> String {
    ts.iter()
        .map(|t| format!("`{}` {}", t.name, shape_str(&t.shape)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Resolves a `--input`/`--output` value (`NAME=FILE` or `FILE`) to a
/// tensor index and a path.
fn resolve(
    kind: &str,
    raw: &OsStr,
    ts: &[TensorMeta],
    must_exist: bool,
) -> Result<(usize, PathBuf), String> {
    let flag = format!("--{kind}");
    if let Some((name, file)) = raw.to_str().and_then(|s| s.split_once('=')) {
        if let Some(i) = ts.iter().position(|t| t.name == name) {
            if file.is_empty() {
                return Err(format!("`{flag} {name}=`: missing file name"));
            }
            return Ok((i, PathBuf::from(file)));
        }
        let whole_is_file = must_exist && Path::new(raw).is_file();
        let name_like = !name.is_empty() && !name.contains('/') && !name.contains('\\');
        if name_like && !whole_is_file {
            return Err(format!(
                "unknown {kind} `{name}` in `{flag} {}`; the network's {kind}s are: {}",
                raw.to_string_lossy(),
                list(ts)
            ));
        }
    }
    match ts.len() {
        1 => Ok((0, PathBuf::from(raw))),
        0 => Err(format!("the network has no {kind}s")),
        n => Err(format!(
            "the network has {n} {kind}s ({}); name one with `{flag} NAME=FILE.npy`",
            list(ts)
        )),
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

pub(crate) fn plan(meta: &Meta, a: &Args) -> Result<Plan, String> {
    let mut input_files: Vec<Option<PathBuf>> = vec![None; meta.inputs.len()];
    for raw in &a.inputs {
        let (i, p) = resolve("input", raw, &meta.inputs, true)?;
        if input_files[i].is_some() {
            return Err(format!("input `{}` given twice", meta.inputs[i].name));
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
            return Err(format!(
                "missing input{} {}; the network's inputs are: {} (give each with `--input NAME=FILE.npy`, or none for random inputs)",
                if missing.len() > 1 { "s" } else { "" },
                names.join(", "),
                list(&meta.inputs)
            ));
        }
    }
    let mut output_files: Vec<Option<PathBuf>> = vec![None; meta.outputs.len()];
    let mut outs: Vec<(usize, PathBuf)> = Vec::new();
    for raw in &a.outputs {
        outs.push(resolve("output", raw, &meta.outputs, false)?);
    }
    if let Some(o) = &a.short_output {
        if meta.outputs.len() != 1 {
            return Err(format!(
                "`-o` needs a network with one output; this one has {} ({}): use `--output NAME=FILE.npy`",
                meta.outputs.len(),
                list(&meta.outputs)
            ));
        }
        outs.push((0, PathBuf::from(o)));
    }
    for (i, p) in outs {
        if output_files[i].is_some() {
            return Err(format!("output `{}` given twice", meta.outputs[i].name));
        }
        if p.as_os_str().is_empty() {
            return Err(format!(
                "output `{}`: empty file name",
                meta.outputs[i].name
            ));
        }
        if let Some(why) = unwritable_kind(&p) {
            return Err(format!(
                "output `{}`: `{}` {why} (outputs go to regular files, character devices or FIFOs)",
                meta.outputs[i].name,
                p.display()
            ));
        }
        for (j, q) in output_files.iter().enumerate() {
            if let Some(q) = q {
                if same_file(&p, q) && !is_stream(&p) {
                    return Err(format!(
                        "outputs `{}` and `{}` are both written to `{}`",
                        meta.outputs[j].name,
                        meta.outputs[i].name,
                        p.display()
                    ));
                }
            }
        }
        for (j, q) in input_files.iter().enumerate() {
            if let Some(q) = q {
                if same_file(&p, q) {
                    return Err(format!(
                        "refusing to overwrite input file `{}` (input `{}`) with output `{}`",
                        p.display(),
                        meta.inputs[j].name,
                        meta.outputs[i].name
                    ));
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
