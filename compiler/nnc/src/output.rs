//! Printing diagnostics and results: colour choice, formats, and standard
//! output whose write errors (a full disk, `> /dev/full`) end the command
//! with a message and exit 2 instead of a panic.

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
            MessageFormat::Json => {
                if let Err(e) = out.write_all(text.as_bytes()) {
                    record_stdout_error(e);
                }
                Ok(())
            }
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

/// Prints an error about the command line or the environment (exit 2 follows).
pub fn usage_error(msg: impl std::fmt::Display) {
    eprintln!("error: {msg}");
}

/// The first error writing to standard output, if any.
static STDOUT_ERROR: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

fn record_stdout_error(e: std::io::Error) {
    if let Ok(mut g) = STDOUT_ERROR.lock() {
        g.get_or_insert_with(|| e.to_string());
    }
}

/// Writes to standard output; an error is recorded (and later writes are
/// skipped) for [`finish_stdout`]. Used by the [`out!`] and [`outln!`] macros.
pub fn stdout_fmt(args: std::fmt::Arguments) {
    if STDOUT_ERROR.lock().is_ok_and(|g| g.is_some()) {
        return;
    }
    if let Err(e) = std::io::stdout().lock().write_fmt(args) {
        record_stdout_error(e);
    }
}

/// Flushes standard output and returns the first write error, if any.
pub fn finish_stdout() -> Result<(), String> {
    if let Err(e) = std::io::stdout().lock().flush() {
        record_stdout_error(e);
    }
    match STDOUT_ERROR.lock() {
        Ok(g) => g.clone().map_or(Ok(()), Err),
        Err(_) => Ok(()),
    }
}

/// `print!` that reports write errors through [`finish_stdout`] instead of panicking.
macro_rules! out {
    ($($t:tt)*) => { $crate::output::stdout_fmt(format_args!($($t)*)) };
}

/// `println!` that reports write errors through [`finish_stdout`] instead of panicking.
macro_rules! outln {
    () => { $crate::output::stdout_fmt(format_args!("\n")) };
    ($($t:tt)*) => { $crate::output::stdout_fmt(format_args!("{}\n", format_args!($($t)*))) };
}

pub(crate) use {out, outln};
