//! The runtime static library embedded in `nnc` (built by `build.rs` from
//! `runtime/src/lib.rs`) and the system-C-compiler steps of `nnc build`:
//! [`assemble`] for the weights' `.S` file and [`link`] for the executable.
//! Only `cc` (or `$CC`) is needed at `nnc build` time; the executables need
//! only the C library at run time.

// Not every item is used by every crate that includes this module (the
// `nnc` binary and `tests/runtime_link.rs`).
#![allow(dead_code)]

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The runtime archive (`libnnc_runtime.a`): `main`, `nnc_parallel_for`,
/// `nnc_node_begin`, `nnc_node_end` (see `runtime/ABI.md`).
pub static RUNTIME_LIB: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/libnnc_runtime.a"));

/// The native libraries rustc says the archive needs, as printed by
/// `rustc --print native-static-libs` when it was built.
pub const RUSTC_NATIVE_LIBS: &str = env!("NNC_RUNTIME_NATIVE_LIBS");

/// The link flags for the native libraries: rustc's list, with the shared
/// unwinder `-lgcc_s` replaced by the static `-lgcc_eh` (the runtime is built
/// with `panic=abort`; only std's backtrace code refers to the unwinder), so
/// that the executable depends on nothing but the C library.
pub fn native_libs() -> Vec<String> {
    RUSTC_NATIVE_LIBS
        .split_whitespace()
        .map(|l| {
            if l == "-lgcc_s" {
                "-lgcc_eh".to_string()
            } else {
                l.to_string()
            }
        })
        .collect()
}

/// The C compiler command: `$CC` (split on whitespace, so `ccache gcc`
/// works) or `cc`.
fn cc_command() -> (OsString, Vec<OsString>) {
    if let Some(cc) = std::env::var_os("CC") {
        if let Some(s) = cc.to_str() {
            let mut parts = s.split_whitespace().map(OsString::from);
            if let Some(prog) = parts.next() {
                return (prog, parts.collect());
            }
        } else if !cc.is_empty() {
            return (cc, Vec::new());
        }
    }
    (OsString::from("cc"), Vec::new())
}

/// Why linking or assembling failed.
#[derive(Debug)]
pub enum LinkError {
    /// The output path has no file name.
    NotAFileName(PathBuf),
    /// No free temporary name in this directory.
    NoTempName(PathBuf),
    /// The temporary directory for the runtime archive cannot be created.
    TempDir(std::io::Error),
    /// A file cannot be written (the archive, or the renamed output).
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The C compiler `program` cannot be started to do `what`.
    CannotRun {
        program: String,
        what: &'static str,
        error: std::io::Error,
    },
    /// The C compiler (`command`, as shown) failed at `what`.
    Failed {
        what: &'static str,
        command: String,
        status: std::process::ExitStatus,
        stderr: String,
    },
    /// Nothing was tried (no list of native libraries).
    NoAttempt,
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::NotAFileName(p) => write!(f, "`{}` is not a file name", p.display()),
            LinkError::NoTempName(d) => {
                write!(f, "cannot find a temporary name in `{}`", d.display())
            }
            LinkError::TempDir(e) => write!(f, "cannot create a temporary directory: {e}"),
            LinkError::Write { path, error } => {
                write!(f, "cannot write `{}`: {error}", path.display())
            }
            LinkError::CannotRun {
                program,
                what,
                error,
            } => write!(
                f,
                "cannot run the C compiler `{program}` to {what}: {error} (install a C compiler, or set CC)"
            ),
            LinkError::Failed {
                what,
                command,
                status,
                stderr,
            } => write!(f, "{what} failed: {command} exited with {status}:\n{stderr}"),
            LinkError::NoAttempt => f.write_str("linking failed"),
        }
    }
}

impl std::error::Error for LinkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LinkError::TempDir(error)
            | LinkError::Write { error, .. }
            | LinkError::CannotRun { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// The messages of the commands whose other failures are still messages.
impl From<LinkError> for String {
    fn from(e: LinkError) -> String {
        e.to_string()
    }
}

/// A fresh path beside `out` for writing before an atomic rename.
fn temp_beside(out: &Path) -> Result<PathBuf, LinkError> {
    let name = out
        .file_name()
        .ok_or_else(|| LinkError::NotAFileName(out.to_path_buf()))?
        .to_string_lossy()
        .into_owned();
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let pid = std::process::id();
    for i in 0..1000u32 {
        let p = dir.join(format!(".{name}.{pid}.{i}.tmp"));
        if !p.exists() {
            return Ok(p);
        }
    }
    Err(LinkError::NoTempName(dir))
}

/// Runs `cmd`, writing to `tmp`, then renames `tmp` to `out`. On failure,
/// removes `tmp` and returns a message with the command line and its
/// stderr.
fn run_to(mut cmd: Command, what: &'static str, tmp: &Path, out: &Path) -> Result<(), LinkError> {
    let shown = format!("{cmd:?}");
    let res = cmd.output();
    let o = match res {
        Ok(o) => o,
        Err(error) => {
            let _ = std::fs::remove_file(tmp);
            return Err(LinkError::CannotRun {
                program: cmd.get_program().to_string_lossy().into_owned(),
                what,
                error,
            });
        }
    };
    if !o.status.success() {
        let _ = std::fs::remove_file(tmp);
        return Err(LinkError::Failed {
            what,
            command: shown,
            status: o.status,
            stderr: String::from_utf8_lossy(&o.stderr).trim_end().to_string(),
        });
    }
    std::fs::rename(tmp, out).map_err(|error| {
        let _ = std::fs::remove_file(tmp);
        LinkError::Write {
            path: out.to_path_buf(),
            error,
        }
    })
}

/// Links `objects` (the generated model and its weights) with the embedded
/// runtime into the executable `out`, with the system C compiler. `out` is
/// written atomically (linked to a temporary name beside it, then renamed),
/// so it is never left half-written. Returns the C compiler's stderr on
/// failure.
pub fn link(objects: &[PathBuf], out: &Path) -> Result<(), LinkError> {
    let dir = tempfile::Builder::new()
        .prefix("nnc-link-")
        .tempdir()
        .map_err(LinkError::TempDir)?;
    let lib = dir.path().join("libnnc_runtime.a");
    std::fs::write(&lib, RUNTIME_LIB).map_err(|error| LinkError::Write {
        path: lib.clone(),
        error,
    })?;
    let static_unwinder = native_libs();
    let rustc_libs: Vec<String> = RUSTC_NATIVE_LIBS
        .split_whitespace()
        .map(String::from)
        .collect();
    let mut attempts = vec![static_unwinder];
    if attempts[0] != rustc_libs {
        // A toolchain without libgcc_eh.a: fall back to rustc's own list.
        attempts.push(rustc_libs);
    }
    let mut first_err: Option<LinkError> = None;
    for libs in &attempts {
        let tmp = temp_beside(out)?;
        let (prog, pre) = cc_command();
        let mut cmd = Command::new(prog);
        cmd.args(pre)
            .arg("-o")
            .arg(&tmp)
            .args(objects)
            .arg(&lib)
            .args(["-Wl,--gc-sections", "-Wl,--as-needed", "-Wl,--strip-debug"])
            .args(libs);
        match run_to(cmd, "linking", &tmp, out) {
            Ok(()) => return Ok(()),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    Err(first_err.unwrap_or(LinkError::NoAttempt))
}

/// Assembles (or compiles) `src` — typically the `.S` file that embeds the
/// weights with `.incbin` — into the object file `out` with `cc -c`,
/// atomically. Relative `.incbin` paths are resolved by the assembler from
/// its working directory and the `-I` paths; this passes `-I` with `src`'s
/// directory.
pub fn assemble(src: &Path, out: &Path) -> Result<(), LinkError> {
    let tmp = temp_beside(out)?;
    let (prog, pre) = cc_command();
    let mut cmd = Command::new(prog);
    cmd.args(pre).arg("-c");
    if let Some(d) = src
        .parent()
        .and_then(|d| d.to_str())
        .filter(|d| !d.is_empty() && !d.contains(','))
    {
        // (`-Wa,` splits its argument on commas.)
        cmd.arg(format!("-Wa,-I{d}"));
    }
    cmd.arg("-o").arg(&tmp).arg(src);
    run_to(cmd, "assembling", &tmp, out)
}
