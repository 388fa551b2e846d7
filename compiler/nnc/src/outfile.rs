//! Writing output files without destroying anything (docs/outputs.md):
//!
//! - a regular file (or a new one) is written to a temporary file beside it
//!   and renamed over it, so a failure never leaves a half-written file; an
//!   existing file keeps its mode, a new one gets 0666 (0777 for an
//!   executable) less the umask;
//! - a symlink is followed: its target is rewritten, the link stays;
//! - a character device or a FIFO (`/dev/null`, `/dev/stdout`, a named pipe)
//!   is opened and written to, never replaced;
//! - a directory, a socket or a block device is refused;
//! - an output that is one of the command's inputs (same device and inode,
//!   whatever the spelling of the path), or the same file as another output
//!   of the command, is refused.

// following symlinks to the path a write replaces: shared with the runtime
use nnc_npy::resolve_links;
use std::fmt;
use std::fs::{File, Metadata, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Why an output cannot be written (or an input read); the messages name
/// the path.
#[derive(Debug)]
pub enum OutfileError {
    /// The output file name is empty.
    EmptyName,
    /// The output's directory does not exist.
    NoDirectory(PathBuf),
    /// The output is the input of the same name.
    OverwritesInput(PathBuf),
    /// The output is the input `input` under another name.
    OverwritesInputAs { input: PathBuf, output: PathBuf },
    /// Two outputs are the same regular file.
    SameOutput(PathBuf, PathBuf),
    /// The output is a directory, a socket or a block device (`what`).
    Kind { path: PathBuf, what: &'static str },
    /// Writing the output failed.
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
    /// Reading a build artifact to copy failed.
    ReadArtifact {
        path: PathBuf,
        error: std::io::Error,
    },
    /// An input (`what`: "weights", ...) does not exist.
    Missing { what: String, path: PathBuf },
    /// An input (`what`) cannot be read: `None` for a directory.
    Unreadable {
        what: String,
        path: PathBuf,
        error: Option<std::io::Error>,
    },
}

impl fmt::Display for OutfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutfileError::EmptyName => f.write_str("empty output file name"),
            OutfileError::NoDirectory(p) => write!(
                f,
                "cannot write `{}`: its directory does not exist",
                p.display()
            ),
            OutfileError::OverwritesInput(p) => write!(
                f,
                "refusing to overwrite the input `{}` with an output",
                p.display()
            ),
            OutfileError::OverwritesInputAs { input, output } => write!(
                f,
                "refusing to overwrite the input `{}` with the output `{}` (the same file)",
                input.display(),
                output.display()
            ),
            OutfileError::SameOutput(a, b) => write!(
                f,
                "two outputs are written to the same file: `{}` and `{}`",
                a.display(),
                b.display()
            ),
            OutfileError::Kind { path, what } => write!(
                f,
                "refusing to write the output `{}`: it is {what} (outputs go to regular files, character devices such as /dev/null, or FIFOs)",
                path.display()
            ),
            OutfileError::Write { path, error } => {
                write!(f, "cannot write `{}`: {error}", path.display())
            }
            OutfileError::ReadArtifact { path, error } => {
                write!(f, "cannot read {}: {error}", path.display())
            }
            OutfileError::Missing { what, path } => {
                write!(f, "cannot read {what} `{}`: no such file", path.display())
            }
            OutfileError::Unreadable { what, path, error } => match error {
                None => write!(f, "cannot read {what} `{}`: is a directory", path.display()),
                Some(e) => write!(f, "cannot read {what} `{}`: {e}", path.display()),
            },
        }
    }
}

impl std::error::Error for OutfileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OutfileError::Write { error, .. } | OutfileError::ReadArtifact { error, .. } => {
                Some(error)
            }
            OutfileError::Unreadable { error, .. } => error
                .as_ref()
                .map(|e| e as &(dyn std::error::Error + 'static)),
            _ => None,
        }
    }
}

/// The messages of the commands whose other failures are still messages.
impl From<OutfileError> for String {
    fn from(e: OutfileError) -> String {
        e.to_string()
    }
}

/// What a path names, for comparing outputs with inputs and each other.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Identity {
    /// An existing file: its device and inode.
    Inode(u64, u64),
    /// A file still to be created: its canonical directory and its name.
    NewPath(PathBuf),
}

fn identity(p: &Path) -> Option<Identity> {
    if let Ok(m) = std::fs::metadata(p) {
        return Some(Identity::Inode(m.dev(), m.ino()));
    }
    let target = resolve_links(p).ok()?;
    let name = target.file_name()?;
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Some(Identity::NewPath(dir.canonicalize().ok()?.join(name)))
}

/// The outputs and inputs of one command: every output is checked against
/// the inputs and the outputs planned before it.
#[derive(Default)]
pub struct Outputs {
    inputs: Vec<(PathBuf, Identity)>,
    outputs: Vec<(PathBuf, Identity)>,
}

impl Outputs {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an input file (the source, weights, `.npy` inputs).
    pub fn input(&mut self, p: &Path) {
        if let Some(id) = identity(p) {
            self.inputs.push((p.to_path_buf(), id));
        }
    }

    /// Checks that `p` may be written: its kind, and that it is neither an
    /// input nor an output planned before. Returns the message to print
    /// (exit 2) otherwise.
    pub fn plan(&mut self, p: &Path) -> Result<(), OutfileError> {
        if p.as_os_str().is_empty() {
            return Err(OutfileError::EmptyName);
        }
        check_kind(p)?;
        let id = identity(p).ok_or_else(|| OutfileError::NoDirectory(p.to_path_buf()))?;
        if let Some((q, _)) = self.inputs.iter().find(|(_, i)| *i == id) {
            return Err(if q == p {
                OutfileError::OverwritesInput(p.to_path_buf())
            } else {
                OutfileError::OverwritesInputAs {
                    input: q.clone(),
                    output: p.to_path_buf(),
                }
            });
        }
        if let Some((q, _)) = self.outputs.iter().find(|(_, i)| *i == id) {
            // a device or FIFO may take several outputs (`/dev/null`)
            if !is_stream(p) {
                return Err(OutfileError::SameOutput(q.clone(), p.to_path_buf()));
            }
        }
        self.outputs.push((p.to_path_buf(), id));
        Ok(())
    }
}

fn is_stream(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| {
        let t = m.file_type();
        t.is_char_device() || t.is_fifo()
    })
}

/// Refuses directories, sockets and block devices.
fn check_kind(p: &Path) -> Result<(), OutfileError> {
    let Ok(m) = std::fs::metadata(p) else {
        return Ok(());
    };
    let t = m.file_type();
    let what = if t.is_dir() {
        "a directory"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() {
        "a block device"
    } else {
        return Ok(());
    };
    Err(OutfileError::Kind {
        path: p.to_path_buf(),
        what,
    })
}

/// Whether the new file is an executable (mode 0777 less the umask).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Data,
    Executable,
}

/// Writes `bytes` to `p` by the rules of the module. Errors are messages
/// naming the path.
pub fn write(p: &Path, bytes: &[u8], mode: Mode) -> Result<(), OutfileError> {
    check_kind(p)?;
    let fail = |error: std::io::Error| OutfileError::Write {
        path: p.to_path_buf(),
        error,
    };
    match std::fs::metadata(p) {
        Ok(m) if !m.is_file() => {
            // character device or FIFO: write through, never replace
            let mut f = OpenOptions::new().write(true).open(p).map_err(fail)?;
            f.write_all(bytes).and_then(|()| f.flush()).map_err(fail)
        }
        existing => {
            let target = resolve_links(p).map_err(fail)?;
            replace(&target, bytes, existing.ok().as_ref(), mode).map_err(fail)
        }
    }
}

/// A temporary file beside `target`, renamed over it.
fn replace(target: &Path, bytes: &[u8], old: Option<&Metadata>, mode: Mode) -> std::io::Result<()> {
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let new_mode = match mode {
        Mode::Data => 0o666,
        Mode::Executable => 0o777,
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".nnc-")
        .permissions(Permissions::from_mode(new_mode))
        .tempfile_in(dir)?;
    // removed if a signal ends nnc before the rename
    let _cleanup = crate::cleanup::register(tmp.path().to_path_buf());
    if let Some(m) = old {
        // keep the existing file's mode (the umask applies only to new files);
        // an executable also gets x wherever the old file had r
        let mut keep = m.mode() & 0o7777;
        if mode == Mode::Executable {
            keep |= (keep & 0o444) >> 2;
        }
        tmp.as_file()
            .set_permissions(Permissions::from_mode(keep))?;
    }
    tmp.write_all(bytes)?;
    tmp.flush()?;
    tmp.as_file().sync_all().or_else(|e| {
        // some file systems cannot sync; the rename is still atomic
        if e.kind() == std::io::ErrorKind::Unsupported {
            Ok(())
        } else {
            Err(e)
        }
    })?;
    tmp.persist(target).map_err(|e| e.error)?;
    Ok(())
}

/// Copies the file `from` (an artifact in a temporary directory) to `to`.
pub fn copy(from: &Path, to: &Path, mode: Mode) -> Result<(), OutfileError> {
    let bytes = std::fs::read(from).map_err(|error| OutfileError::ReadArtifact {
        path: from.to_path_buf(),
        error,
    })?;
    write(to, &bytes, mode)
}

/// Opens `p` for reading, with "is a directory" for a directory.
pub fn check_readable(what: &str, p: &Path) -> Result<(), OutfileError> {
    let unreadable = |error| OutfileError::Unreadable {
        what: what.to_string(),
        path: p.to_path_buf(),
        error,
    };
    match std::fs::metadata(p) {
        Ok(m) if m.is_dir() => Err(unreadable(None)),
        Ok(_) => File::open(p).map(drop).map_err(|e| unreadable(Some(e))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(OutfileError::Missing {
            what: what.to_string(),
            path: p.to_path_buf(),
        }),
        Err(e) => Err(unreadable(Some(e))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_file_by_inode_and_by_new_path() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("a.npy");
        std::fs::write(&a, b"x").unwrap();
        let mut o = Outputs::new();
        o.input(&a);
        let dotted = d.path().join(".").join("a.npy");
        assert!(o.plan(&dotted).unwrap_err().to_string().contains("input"));
        let n = d.path().join("n.npy");
        o.plan(&n).unwrap();
        let n2 = d.path().join(".").join("n.npy");
        assert!(o.plan(&n2).unwrap_err().to_string().contains("same file"));
    }

    #[test]
    fn keeps_mode_and_follows_symlinks() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("f.nn");
        std::fs::write(&f, b"old").unwrap();
        std::fs::set_permissions(&f, Permissions::from_mode(0o640)).unwrap();
        let l = d.path().join("link.nn");
        std::os::unix::fs::symlink("f.nn", &l).unwrap();
        write(&l, b"new", Mode::Data).unwrap();
        assert!(std::fs::symlink_metadata(&l)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&f).unwrap(), b"new");
        assert_eq!(std::fs::metadata(&f).unwrap().mode() & 0o777, 0o640);
    }
}
