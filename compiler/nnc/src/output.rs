//! Printing diagnostics and files: colour choice, formats, atomic writes.

use crate::cli::{ColorChoice, MessageFormatArg};
use nnc_diag::render::{self, MessageFormat};
use nnc_diag::{Diagnostic, SourceFile};
use std::io::{IsTerminal, Write};
use std::path::Path;

/// Whether to colour stderr output: `always`, `never`, or on a terminal when
/// `NO_COLOR` is unset or empty.
pub fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
            !no_color && std::io::stderr().is_terminal()
        }
    }
}

pub fn message_format(f: MessageFormatArg) -> MessageFormat {
    match f {
        MessageFormatArg::Human => MessageFormat::Human,
        MessageFormatArg::Short => MessageFormat::Short,
        MessageFormatArg::Json => MessageFormat::Json,
    }
}

/// Prints diagnostics: human/short to stderr, JSON lines to stdout (cli.md).
/// Human output ends with a summary line.
pub fn emit(diags: &[Diagnostic], file: &SourceFile, format: MessageFormat, color: bool) {
    let mut err = std::io::stderr().lock();
    let mut out = std::io::stdout().lock();
    for d in diags {
        let text = render::render(d, file, format, color);
        let _ = match format {
            MessageFormat::Json => out.write_all(text.as_bytes()),
            _ => err.write_all(text.as_bytes()),
        };
    }
    if format != MessageFormat::Json {
        let stem = Path::new(&file.name)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| file.name.clone());
        if let Some(s) = render::summary(diags, &stem) {
            let _ = writeln!(err, "{s}");
        }
    }
}

/// Writes a file atomically: a temporary file in the same directory, then a
/// rename, so a failure never leaves a half-written or truncated file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.flush()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Prints an error about the command line or the environment (exit 2 follows).
pub fn usage_error(msg: impl std::fmt::Display) {
    eprintln!("error: {msg}");
}
