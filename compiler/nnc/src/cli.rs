//! The command line of `nnc`, declared with clap. Output files follow
//! docs/outputs.md.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "nnc",
    version,
    about = "Compiler for the .nn neural-network definition language: checks, analysis, lints, native executables",
    propagate_version = true
)]
pub struct Cli {
    /// When to colour diagnostics: auto (only on a terminal, and not when NO_COLOR is set), always, never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Shape of an input of an .onnx model whose dimensions are dynamic: NAME=D0,D1,...
    /// (e.g. input=1,3,224,224; the name may be left out for a one-input model). Repeatable.
    #[arg(long = "input-shape", global = true, value_name = "NAME=D0,D1,...")]
    pub input_shape: Vec<nnc_onnx::InputShape>,

    #[command(subcommand)]
    pub command: Command,
}

/// `nnc fix --objective`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ObjectiveArg {
    Latency,
    Mac,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MessageFormatArg {
    Human,
    Short,
    Json,
}

#[derive(Args, Debug, Clone)]
pub struct LintLevels {
    /// Allow a lint (or lint group) — may be repeated.
    #[arg(short = 'A', long = "allow", value_name = "LINT")]
    pub allow: Vec<String>,
    /// Warn on a lint (or group) — may be repeated.
    #[arg(short = 'W', long = "warn", value_name = "LINT")]
    pub warn: Vec<String>,
    /// Deny a lint (or group; `warnings` makes every warning an error) — may be repeated.
    #[arg(short = 'D', long = "deny", value_name = "LINT")]
    pub deny: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check a file: syntax, elaboration, shapes and architecture lints.
    Check {
        file: PathBuf,
        /// The network to check when the file has several.
        #[arg(long)]
        network: Option<String>,
        #[command(flatten)]
        levels: LintLevels,
        /// How diagnostics are printed.
        #[arg(long, value_enum, default_value_t = MessageFormatArg::Human)]
        message_format: MessageFormatArg,
        /// Target whose SIMD width the lints assume (e.g. avx2, avx512, neon).
        #[arg(long, default_value = "avx2")]
        simd: String,
    },
    /// Per-layer and total cost: params, mult-adds, FLOPs, memory access cost, depth, parallelism, latency prediction.
    Analyze {
        #[arg(required_unless_present = "list_platforms")]
        file: Option<PathBuf>,
        #[arg(long)]
        network: Option<String>,
        #[arg(long, value_enum, default_value_t = TableFormat::Table)]
        format: TableFormat,
        /// Platform of the prediction: `host` (this machine's `nnc calibrate` model of the
        /// executed plan; the default when a calibration exists), a built-in profile
        /// (`--list-platforms`; roofline of the source graph), or `all` to rank them.
        #[arg(long)]
        platform: Option<String>,
        /// Threads of the prediction (host; default: all cores).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
        threads: Option<u64>,
        /// Write a roofline chart (SVG).
        #[arg(long, value_name = "FILE.svg")]
        plot: Option<PathBuf>,
        /// Row order of the table.
        #[arg(long, value_enum, default_value_t = SortArg::Order)]
        sort: SortArg,
        /// List the built-in platforms and exit.
        #[arg(long)]
        list_platforms: bool,
    },
    /// Compile a network to a native executable (or object, assembly, LLVM IR).
    Build {
        file: PathBuf,
        /// Output path (default: the network's name, or NAME.o/.s/.ll). A device or FIFO
        /// (/dev/null) is written to, never replaced; a directory or an input is refused.
        #[arg(short = 'o')]
        output: Option<PathBuf>,
        #[arg(long)]
        network: Option<String>,
        /// Weights in safetensors format, keyed by weight names (PyTorch layouts).
        #[arg(long)]
        weights: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = EmitArg::Exe)]
        emit: EmitArg,
        /// CPU to generate code for: host, generic, x86-64-v3, or an LLVM CPU name.
        #[arg(long, default_value = "host")]
        target_cpu: String,
        /// Optimization level 0..3 (-O0 .. -O3).
        #[arg(short = 'O', default_value = "3", value_parser = clap::value_parser!(u8).range(0..=3))]
        opt_level: u8,
        /// Seed of the deterministic weight initialization used without --weights.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Platform profile of the predicted times baked in for `--profile`: a built-in
        /// name (the default keeps builds identical across machines), or `host` for this
        /// machine's `nnc calibrate` cache.
        #[arg(long, default_value = "zen3-2c")]
        platform: String,
    },
    /// Run a network with the reference interpreter (no compilation).
    Run {
        file: PathBuf,
        #[arg(long)]
        network: Option<String>,
        #[arg(long)]
        weights: Option<PathBuf>,
        /// NAME=FILE.npy, or FILE.npy for a network with one input.
        #[arg(long = "input", value_name = "NAME=FILE.npy")]
        inputs: Vec<String>,
        /// NAME=FILE.npy
        #[arg(long = "output", value_name = "NAME=FILE.npy")]
        outputs: Vec<String>,
        /// Write the single output here.
        #[arg(short = 'o')]
        out: Option<PathBuf>,
        /// Seed for the random input (when no input is given) and the weights (without --weights).
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Apply fixes: machine-applicable lint suggestions, or `--rebalance` channel widths.
    Fix {
        file: PathBuf,
        #[arg(long)]
        network: Option<String>,
        /// Rewrite channel widths to cut memory access cost at equal mult-adds.
        #[arg(long)]
        rebalance: bool,
        /// Print a unified diff of the changes instead of writing them (nothing is written).
        #[arg(long, conflicts_with = "output")]
        diff: bool,
        /// Do not write anything (print the report only).
        #[arg(long)]
        dry_run: bool,
        /// Write the result here instead of in place (written even when nothing changes).
        #[arg(short = 'o')]
        output: Option<PathBuf>,
        /// Allowed change of total mult-adds, e.g. 5%.
        #[arg(long, default_value = "5%")]
        flops_tolerance: String,
        /// SIMD width to round widths to (lanes of f32), e.g. 8 for AVX2.
        #[arg(long, default_value_t = 8)]
        simd_lanes: usize,
        /// Each rewritten width stays within [original / R, original · R].
        #[arg(long, default_value_t = 2.0, value_name = "R")]
        max_ratio: f64,
        /// Time budget of `--rebalance`: past it, the best result so far is reported.
        #[arg(long, default_value_t = 60.0, value_name = "SECONDS")]
        time_limit: f64,
        /// Platform whose predicted latency `--rebalance` minimizes and reports: `host`
        /// (the default; needs `nnc calibrate`) or a built-in profile.
        #[arg(long, default_value = "host")]
        platform: String,
        /// What `--rebalance` minimizes: predicted latency on the platform, or memory
        /// access cost (`mac`, platform-neutral).
        #[arg(long, value_enum, default_value_t = ObjectiveArg::Latency)]
        objective: ObjectiveArg,
        /// Threads of the predicted latency (default: all cores).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
        threads: Option<u64>,
    },
    /// Print the graph as Graphviz DOT or JSON.
    Graph {
        file: PathBuf,
        #[arg(long)]
        network: Option<String>,
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
        /// Write here instead of stdout (a device or FIFO is written to, never replaced).
        #[arg(short = 'o')]
        output: Option<PathBuf>,
    },
    /// Explain a diagnostic code (E0101) or a lint (unbalanced_channels).
    Explain { code: String },
    /// Import an ONNX model as readable .nn source (and its weights as safetensors).
    Import(ImportArgs),
    /// Export a network to ONNX or to a PyTorch module.
    Export(ExportArgs),
    /// Measure this machine's peak FLOP/s and memory bandwidth (cached for `--platform host`).
    Calibrate {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Measure only the FMA peak and the bandwidth (1–4 s): no memory-hierarchy
        /// sweep, no kernel model (`--platform host` then prices the source graph).
        #[arg(long)]
        quick: bool,
        /// Replace the cache even when a newer nnc binary wrote it.
        #[arg(long)]
        force: bool,
        /// Re-measure only the one-core FMA peak (under a second) and rescale the cached
        /// kernel model by how much faster or slower the machine is now than when the model
        /// was fitted (a virtual machine's speed drifts with its neighbours).
        #[arg(long, conflicts_with_all = ["quick", "probe"])]
        refresh: bool,
        /// Like --refresh, but only print the speed now against the cached model's; write
        /// nothing.
        #[arg(long, conflicts_with_all = ["quick", "refresh"])]
        probe: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TableFormat {
    Table,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Dot,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EmitArg {
    Exe,
    Obj,
    Asm,
    #[value(name = "llvm-ir")]
    LlvmIr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SortArg {
    Order,
    Time,
    Mac,
    Flops,
    Params,
}

// The arguments of `nnc import`.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The ONNX model.
    pub file: PathBuf,
    /// Where to write the .nn source (default: standard output).
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
    /// Also write the initializers as safetensors, keyed by the source's weight names.
    #[arg(long, value_name = "W.safetensors")]
    pub weights_out: Option<PathBuf>,
}

// The arguments of `nnc export`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Onnx,
    Torch,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The network (.nn, or .onnx).
    pub file: PathBuf,
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// The output file.
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    #[arg(long)]
    pub network: Option<String>,
    /// Weights (safetensors) for the ONNX initializers; default: nnc's deterministic initialization.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Seed of the deterministic initialization when no --weights is given.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// ONNX opset version.
    #[arg(long, default_value_t = nnc_onnx::export_onnx::DEFAULT_OPSET)]
    pub opset: i64,
}
