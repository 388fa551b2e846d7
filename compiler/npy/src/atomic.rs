//! Writing a file so that it is never seen half-written: to a fresh
//! temporary file in the same directory, then renamed over the target.

use crate::NpyError;
use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically: to a temporary file in the same
/// directory, then renamed over `path`, so `path` is never half-written. To
/// commit several files together use [`write_temp`] then [`commit_temp`].
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), NpyError> {
    let tmp = write_temp(path, bytes)?;
    commit_temp(&tmp, path)
}

/// Follows symlinks from `p` (dangling ones too) to the path a write must
/// replace, so writing through a symlink rewrites its target.
pub fn resolve_links(p: &Path) -> std::io::Result<std::path::PathBuf> {
    let mut cur = p.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&cur) {
            Ok(m) if m.file_type().is_symlink() => {
                let to = std::fs::read_link(&cur)?;
                cur = match cur.parent() {
                    Some(d) if to.is_relative() => d.join(to),
                    _ => to,
                };
            }
            _ => return Ok(cur),
        }
    }
    Err(std::io::Error::other("too many levels of symbolic links"))
}

/// Writes `bytes` to a fresh temporary file beside `path` and returns its
/// path. The file has the mode of an existing `path` (a new one: 0666 less
/// the umask).
pub fn write_temp(path: &Path, bytes: &[u8]) -> Result<std::path::PathBuf, NpyError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let base = path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .ok_or_else(|| NpyError::Io("not a file name".into()))?;
    let pid = std::process::id();
    for attempt in 0..100u32 {
        let tmp = dir.join(format!(".{base}.{pid}.{attempt}.tmp"));
        let mut f = match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(NpyError::Io(format!(
                    "cannot create a file in {}: {e}",
                    dir.display()
                )))
            }
        };
        if let Ok(m) = std::fs::metadata(path) {
            if m.is_file() {
                let _ = f.set_permissions(m.permissions());
            }
        }
        if let Err(e) = f.write_all(bytes).and_then(|_| f.flush()) {
            drop(f);
            let _ = std::fs::remove_file(&tmp);
            return Err(NpyError::Io(format!("cannot write: {e}")));
        }
        return Ok(tmp);
    }
    Err(NpyError::Io("cannot create a temporary file".into()))
}

/// Renames a temporary file from [`write_temp`] onto its final path
/// (removing the temporary on failure).
pub fn commit_temp(tmp: &Path, path: &Path) -> Result<(), NpyError> {
    std::fs::rename(tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(tmp);
        NpyError::Io(format!("cannot write: {e}"))
    })
}
