//! One module per subcommand. Each returns the process exit code.

mod analyze;
mod build;
mod calibrate;
pub(crate) mod check;
mod explain;
mod export;
mod fix;
mod graph;
mod import;
mod run;

use crate::cli::{Cli, Command};
use crate::exit;
use crate::frontend::{self, Compiled, LoadError};
use crate::output;
use std::path::Path;

/// Runs the command, then reports a failed write to standard output
/// (`nnc graph > /dev/full`) as exit 2 with a message.
pub fn run(cli: Cli) -> u8 {
    let code = dispatch(cli);
    match output::finish_stdout() {
        Ok(()) => code,
        Err(e) => {
            output::usage_error(format!("cannot write to standard output: {e}"));
            if code == exit::OK {
                exit::USAGE
            } else {
                code
            }
        }
    }
}

fn dispatch(cli: Cli) -> u8 {
    let color = output::use_color(cli.color);
    frontend::set_import_options(nnc_onnx::Options {
        input_shapes: cli.input_shape,
    });
    match cli.command {
        Command::Check {
            file,
            network,
            levels,
            message_format,
            simd,
        } => check::run(
            &file,
            network.as_deref(),
            &levels,
            message_format,
            &simd,
            color,
        ),
        Command::Analyze {
            file,
            network,
            format,
            platform,
            threads,
            plot,
            sort,
            list_platforms,
        } => analyze::run(analyze::Opts {
            file: file.as_deref(),
            network: network.as_deref(),
            format,
            platform: platform.as_deref(),
            threads: threads.map(|t| t as usize),
            plot: plot.as_deref(),
            sort,
            list_platforms,
            color,
        }),
        Command::Build {
            file,
            output,
            network,
            weights,
            emit,
            target_cpu,
            opt_level,
            seed,
            platform,
        } => build::run(build::Opts {
            file: &file,
            output: output.as_deref(),
            network: network.as_deref(),
            weights: weights.as_deref(),
            emit,
            target_cpu: &target_cpu,
            opt_level,
            seed,
            platform: &platform,
            color,
        }),
        Command::Run {
            file,
            network,
            weights,
            inputs,
            outputs,
            out,
            seed,
        } => run::run(run::Opts {
            file: &file,
            network: network.as_deref(),
            weights: weights.as_deref(),
            inputs: &inputs,
            outputs: &outputs,
            out: out.as_deref(),
            seed,
            color,
        }),
        Command::Fix {
            file,
            network,
            rebalance,
            diff,
            dry_run,
            output,
            flops_tolerance,
            simd_lanes,
            max_ratio,
            time_limit,
            platform,
            objective,
            threads,
        } => fix::run(fix::Opts {
            file: &file,
            network: network.as_deref(),
            rebalance,
            diff,
            dry_run,
            output: output.as_deref(),
            flops_tolerance: &flops_tolerance,
            simd_lanes,
            max_ratio,
            time_limit,
            platform: &platform,
            objective,
            threads: threads.map(|t| t as usize),
            color,
        }),
        Command::Graph {
            file,
            network,
            format,
            output,
        } => graph::run(&file, network.as_deref(), format, output.as_deref(), color),
        Command::Explain { code } => explain::run(&code),
        Command::Import(a) => import::run(&a, color),
        Command::Export(a) => export::run(&a, color),
        Command::Calibrate {
            json,
            quick,
            force,
            refresh,
            probe,
        } => {
            if refresh || probe {
                calibrate::refresh(json, refresh, force)
            } else {
                calibrate::run(json, quick, force)
            }
        }
    }
}

/// Compiles a file to a graph for commands that need one, printing the
/// diagnostics. Returns the compiled unit, or the exit code to stop with.
pub(crate) fn load_graph(path: &Path, network: Option<&str>, color: bool) -> Result<Compiled, u8> {
    let compiled = match frontend::compile(path, network) {
        Ok(c) => c,
        Err(LoadError::Unreadable(msg)) => {
            output::usage_error(msg);
            return Err(exit::USAGE);
        }
    };
    if compiled.has_errors() || compiled.graph.is_none() {
        output::emit(
            &compiled.diagnostics,
            &compiled.file,
            nnc_diag::render::MessageFormat::Human,
            color,
        );
        return Err(exit::INPUT_ERRORS);
    }
    Ok(compiled)
}

/// The weights of an imported `.onnx` file (its initializers), checked
/// against the graph; or the exit code to stop with.
pub(crate) fn onnx_weights(
    path: &Path,
    g: &nnc_ir::Graph,
) -> Result<nnc_interp::weights::WeightStore, u8> {
    match frontend::compile_onnx(path, None) {
        Ok((_, Some(w))) => {
            let problems = nnc_interp::weights::check_store(g, &w);
            if let Some(p) = problems.first() {
                output::usage_error(format!(
                    "the weights imported from `{}` do not fit: {p}",
                    path.display()
                ));
                return Err(exit::INPUT_ERRORS);
            }
            Ok(w)
        }
        Ok((_, None)) => Err(exit::INPUT_ERRORS),
        Err(LoadError::Unreadable(msg)) => {
            output::usage_error(msg);
            Err(exit::USAGE)
        }
    }
}

/// The weights of `file`'s graph `g`: from `--weights W.safetensors`, else
/// from an `.onnx` file's initializers, else the deterministic
/// initialization with `seed`. Diagnostics are printed; `Err` is the exit
/// code (2 for an unreadable file, 1 for weights that do not fit).
pub(crate) fn load_weights(
    file: &Path,
    weights: Option<&Path>,
    seed: u64,
    compiled: &Compiled,
    g: &nnc_ir::Graph,
    color: bool,
) -> Result<nnc_interp::weights::WeightStore, u8> {
    let emit = |diags: &[nnc_diag::Diagnostic]| {
        output::emit(
            diags,
            &compiled.file,
            nnc_diag::render::MessageFormat::Human,
            color,
        )
    };
    match weights {
        Some(p) => {
            if let Err(e) = crate::outfile::check_readable("weights", p) {
                output::usage_error(e);
                return Err(exit::USAGE);
            }
            let (w, diags) = nnc_interp::weights::load_safetensors_file(p, g);
            emit(&diags);
            if diags.iter().any(|d| d.is_error()) {
                return Err(exit::INPUT_ERRORS);
            }
            Ok(w)
        }
        None if frontend::is_onnx(file) => onnx_weights(file, g),
        None => nnc_interp::weights::try_init_deterministic(g, seed).map_err(|e| {
            emit(&[nnc_diag::Diagnostic::error(
                nnc_interp::weights::E_LIMIT,
                e.to_string(),
            )]);
            exit::INPUT_ERRORS
        }),
    }
}
