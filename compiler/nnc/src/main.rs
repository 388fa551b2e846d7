//! `nnc`: the driver. Parses the command line, runs the pipeline
//! (syntax → elaboration → graph → analyses → lints → passes → codegen) as far
//! as the command needs, renders diagnostics and maps outcomes to exit codes:
//! 0 success (warnings allowed), 1 errors in the input, 2 bad usage or an
//! unreadable file, 101 an internal compiler error.

mod cleanup;
mod cli;
mod commands;
mod frontend;
mod outfile;
mod output;
mod runtime_lib;

use clap::Parser;
use std::process::ExitCode;

/// Exit statuses of cli.md.
pub mod exit {
    pub const OK: u8 = 0;
    pub const INPUT_ERRORS: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const ICE: u8 = 101;
}

extern "C" {
    fn signal(signum: i32, handler: usize) -> usize;
}

fn main() -> ExitCode {
    // Like other Unix tools, end quietly when stdout is a closed pipe
    // (`nnc analyze x.nn | head`) instead of failing to print.
    // SAFETY: SIGPIPE (13) back to its default action (SIG_DFL = 0) before any
    // thread starts.
    unsafe {
        signal(13, 0);
    }
    std::panic::set_hook(Box::new(|info| {
        eprintln!("error: internal compiler error: {info}");
        eprintln!(
            "note: nnc {} crashed; this is a bug, please report it with the input that caused it",
            env!("CARGO_PKG_VERSION")
        );
    }));
    // Temporary files are removed on SIGINT/SIGTERM/SIGHUP.
    cleanup::install();
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    // The front end recurses over the syntax tree; give it a generous stack
    // (its nesting limits keep it far below this).
    let worker = std::thread::Builder::new()
        .name("nnc-main".into())
        .stack_size(256 << 20)
        .spawn(move || commands::run(cli));
    match worker {
        Ok(handle) => match handle.join() {
            Ok(code) => ExitCode::from(code),
            Err(_) => ExitCode::from(exit::ICE),
        },
        Err(e) => {
            eprintln!("error: could not start the compiler thread: {e}");
            ExitCode::from(exit::ICE)
        }
    }
}
