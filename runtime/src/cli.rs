//! The command line of a compiled network (runtime/ABI.md, "The
//! executable's command line"):
//!
//! ```text
//! ./net [--input NAME=FILE.npy]... [--output NAME=FILE.npy]... [-o FILE.npy]
//!       [--threads N] [--bench [ITERS]] [--profile] [--seed S]
//! ```
//!
//! [`run`] is the whole program behind `main`, parameterised by the model so
//! that it can be tested in-process.

use crate::buf::{AlignedBuf, SplitMix64};
use crate::files::{plan, Plan};
use crate::meta::{shape_str, Meta};
use crate::report::{profile_json, profile_report};
use crate::{npy, pool, profile};
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

/// Exit status: success.
pub const EXIT_OK: i32 = 0;
/// Exit status: the run failed for a reason other than usage (out of
/// memory).
pub const EXIT_FAILURE: i32 = 1;
/// Exit status: bad usage or an unreadable/unwritable file.
pub const EXIT_USAGE: i32 = 2;
/// Exit status: internal error (a malformed model; a bug in nnc).
pub const EXIT_INTERNAL: i32 = 101;

pub use crate::args::{
    parse_args, ArgError, Args, DEFAULT_BENCH_ITERS, DEFAULT_PROFILE_RUNS, MAX_BENCH_ITERS,
};
pub use crate::report::{stats, summary, warmup_runs, Stats, SUMMARY_VALUES};

/// `nnc_model_forward` of the ABI.
pub type ForwardFn =
    unsafe extern "C" fn(inputs: *const *const f32, outputs: *const *mut f32, arena: *mut u8);

/// Version string of the runtime.
pub const VERSION: &str = match option_env!("NNC_RUNTIME_VERSION") {
    Some(v) => v,
    None => match option_env!("CARGO_PKG_VERSION") {
        Some(v) => v,
        None => "unknown",
    },
};

fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

fn help(prog: &str, meta: &Meta) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "{}: the network `{}` compiled by nnc (runtime {VERSION})\n\n",
        prog, meta.network
    ));
    s.push_str(&format!(
        "Usage: {prog} [--input NAME=FILE.npy]... [--output NAME=FILE.npy]... [-o FILE.npy]\n       [--threads N] [--bench [ITERS]] [--profile [--json]] [--seed S]\n\n"
    ));
    s.push_str("Inputs (.npy, little-endian float32 '<f4', C order, exactly this shape):\n");
    if meta.inputs.is_empty() {
        s.push_str("  (none)\n");
    }
    for t in &meta.inputs {
        s.push_str(&format!("  {}  {}\n", t.name, shape_str(&t.shape)));
    }
    s.push_str("Outputs:\n");
    for t in &meta.outputs {
        s.push_str(&format!("  {}  {}\n", t.name, shape_str(&t.shape)));
    }
    s.push_str(&format!(
        "
Options:
  --input NAME=FILE.npy   read input NAME from FILE.npy (`NAME=` may be omitted when
                          the network has one input); with no --input at all, every
                          input is random (see --seed)
  --output NAME=FILE.npy  write output NAME to FILE.npy (`NAME=` may be omitted when
                          the network has one output); without any output option, a
                          summary of each output is printed
  -o FILE.npy             write the single output to FILE.npy
  --threads N             number of threads (default: the number of cores, here {})
  --bench [ITERS]         time ITERS inferences (default {DEFAULT_BENCH_ITERS}) after a warm-up and
                          print min, median and p90 latency in ms
  --profile               time every kernel (average of {DEFAULT_PROFILE_RUNS} runs, or ITERS with
                          --bench) and print it beside the compiler's prediction for
                          this thread count, with GFLOP/s and % of the FMA peak
  --profile-min           with --profile: per kernel, the shortest run instead of the mean
  --json                  with --profile: print only the profile, as one JSON object
                          {{network, threads, kernels: [{{name, op, measured_ms,
                          predicted_ms}}], total_measured_ms, total_predicted_ms}}
  --seed S                seed of the random inputs (default 0): SplitMix64, top 24
                          bits mapped to [-1, 1), inputs filled in order, C order
  -h, --help              print this help
  -V, --version           print the version

Exit status: 0 success, 2 bad usage or an unreadable input, 101 internal error.
",
        default_threads()
    ));
    s
}

/// Runs the model; the buffers match the meta and stay alive (and unmoved)
/// while the runner exists.
struct Runner<'a> {
    forward: ForwardFn,
    outputs: &'a [AlignedBuf],
    ins: Vec<*const f32>,
    outs: Vec<*mut f32>,
    arena: *mut u8,
}

impl<'a> Runner<'a> {
    fn new(
        forward: ForwardFn,
        inputs: &'a [AlignedBuf],
        outputs: &'a mut [AlignedBuf],
        arena: &'a mut AlignedBuf,
    ) -> Runner<'a> {
        let ins = inputs.iter().map(|b| b.as_ptr() as *const f32).collect();
        let outs = outputs
            .iter_mut()
            .map(|b| b.as_mut_ptr() as *mut f32)
            .collect();
        let arena = arena.as_mut_ptr();
        Runner {
            forward,
            outputs,
            ins,
            outs,
            arena,
        }
    }

    fn run(&mut self) {
        // SAFETY: the buffers have the sizes of the meta, are 64-byte
        // aligned, and are borrowed for the runner's lifetime (ABI.md).
        unsafe { (self.forward)(self.ins.as_ptr(), self.outs.as_ptr(), self.arena) };
    }

    /// The output `i` after the last run.
    fn output(&self, i: usize) -> &[f32] {
        // The buffer was reborrowed as a raw pointer for the generated code;
        // reading it between runs is fine.
        self.outputs[i].as_f32()
    }

    /// Runs `n` times, returning each run's wall time in ms.
    fn timed(&mut self, n: usize) -> Vec<f64> {
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            self.run();
            v.push(t.elapsed().as_secs_f64() * 1e3);
        }
        v
    }
}

/// The whole program: `meta` is the model's meta text (or why it could not
/// be read), `forward` its entry point, `argv` the full argument list
/// (program name first). Writes results to `out` and diagnostics to `err`;
/// returns the exit status.
pub fn run(
    meta: Result<&str, String>,
    forward: ForwardFn,
    argv: &[OsString],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let mut checked = Checked {
        inner: out,
        error: None,
    };
    let mut code = run_inner(meta, forward, argv, &mut checked, err);
    let _ = checked.flush();
    if let Some(e) = checked.error {
        // a summary, report or help that did not reach its destination (a
        // full disk) is a failure, never a silent exit 0
        let _ = writeln!(err, "error: cannot write to standard output: {e}");
        if code == EXIT_OK {
            code = EXIT_FAILURE;
        }
    }
    let _ = err.flush();
    code
}

/// Standard output that remembers its first write error (then drops the
/// rest), so [`run`] can report it.
struct Checked<'a> {
    inner: &'a mut dyn Write,
    error: Option<std::io::Error>,
}

impl Write for Checked<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.error.is_some() {
            return Ok(buf.len());
        }
        match self.inner.write_all(buf) {
            Ok(()) => Ok(buf.len()),
            Err(e) => {
                self.error = Some(e);
                Ok(buf.len())
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.error.is_none() {
            if let Err(e) = self.inner.flush() {
                self.error = Some(e);
            }
        }
        Ok(())
    }
}

/// The program in stages: set-up (meta, arguments, plan), inputs, buffers
/// and threads, the first run, its results, then `--bench` and `--profile`.
fn run_inner(
    meta: Result<&str, String>,
    forward: ForwardFn,
    argv: &[OsString],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let (meta, args, plan) = match setup(meta, argv, out, err) {
        Ok(Setup::Run(run)) => *run,
        Ok(Setup::Done) => return EXIT_OK,
        Err(code) => return code,
    };
    let inputs = match read_inputs(&meta, &args, &plan, err) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let (mut outputs, mut arena) = match allocate(&meta, err) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let threads = start_threads(&args, err);
    let mut runner = Runner::new(forward, &inputs, &mut outputs, &mut arena);
    runner.run();
    if plan.output_files.iter().any(|f| f.is_some()) {
        if let Err(f) = write_outputs(&meta, &plan, &runner) {
            let _ = writeln!(err, "error: {f}");
            return EXIT_USAGE;
        }
    } else if !args.json {
        for (i, t) in meta.outputs.iter().enumerate() {
            let _ = write!(out, "{}", summary(t, runner.output(i)));
        }
    }
    measure(&meta, &args, threads, &mut runner, out);
    EXIT_OK
}

/// What [`setup`] leaves to do.
enum Setup {
    /// `--help` or `--version` was answered.
    Done,
    /// Run with this meta, these arguments and this plan.
    Run(Box<(Meta, Args, Plan)>),
}

/// Parses the meta and the arguments, answers `--help`/`--version`, and
/// resolves the input and output files. `Err` is the exit status.
fn setup(
    meta: Result<&str, String>,
    argv: &[OsString],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Setup, i32> {
    let prog = argv
        .first()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|| "net".to_string());
    let meta = match meta.and_then(|m| Meta::parse(m).map_err(|e| e.to_string())) {
        Ok(m) => m,
        Err(e) => {
            let _ = writeln!(err, "error: internal error: {e}");
            let _ = writeln!(err, "note: this executable was built incorrectly; this is a bug in nnc, please report it");
            return Err(EXIT_INTERNAL);
        }
    };
    let usage = |err: &mut dyn Write, e: &dyn std::fmt::Display| {
        let _ = writeln!(
            err,
            "error: {e}\n\nFor more information, try `{prog} --help`."
        );
        EXIT_USAGE
    };
    let args = parse_args(argv.get(1..).unwrap_or(&[])).map_err(|e| usage(err, &e))?;
    if args.help {
        let _ = write!(out, "{}", help(&prog, &meta));
        return Ok(Setup::Done);
    }
    if args.version {
        let _ = writeln!(out, "{} (nnc runtime {VERSION}, meta v1)", meta.network);
        return Ok(Setup::Done);
    }
    let plan = plan(&meta, &args).map_err(|e| usage(err, &e))?;
    Ok(Setup::Run(Box::new((meta, args, plan))))
}

/// Reads (or generates) every input before anything runs.
fn read_inputs(
    meta: &Meta,
    args: &Args,
    plan: &Plan,
    err: &mut dyn Write,
) -> Result<Vec<AlignedBuf>, i32> {
    let mut inputs: Vec<AlignedBuf> = Vec::with_capacity(meta.inputs.len());
    let random = plan.input_files.iter().all(|f| f.is_none()) && !meta.inputs.is_empty();
    let mut rng = SplitMix64(args.seed.unwrap_or(0));
    for (t, file) in meta.inputs.iter().zip(&plan.input_files) {
        let mut b = match AlignedBuf::zeroed_f32(t.elems) {
            Ok(b) => b,
            Err(e) => {
                let _ = writeln!(err, "error: input `{}`: {e}", t.name);
                return Err(EXIT_FAILURE);
            }
        };
        match file {
            Some(path) => {
                if let Err(e) = npy::read_into(path, &t.shape, b.as_f32_mut()) {
                    let _ = writeln!(
                        err,
                        "error: {}",
                        npy::input_error(&t.name, path, &t.shape, &e)
                    );
                    return Err(EXIT_USAGE);
                }
            }
            None => {
                for v in b.as_f32_mut() {
                    *v = rng.next_f32();
                }
            }
        }
        inputs.push(b);
    }
    if random {
        let _ = writeln!(
            err,
            "note: no --input given: using random inputs in [-1, 1) (seed {})",
            args.seed.unwrap_or(0)
        );
    } else if args.seed.is_some() && !meta.inputs.is_empty() {
        let _ = writeln!(err, "warning: --seed has no effect when inputs are given");
    }
    Ok(inputs)
}

/// The output buffers and the activation arena.
fn allocate(meta: &Meta, err: &mut dyn Write) -> Result<(Vec<AlignedBuf>, AlignedBuf), i32> {
    let mut outputs: Vec<AlignedBuf> = Vec::with_capacity(meta.outputs.len());
    for t in &meta.outputs {
        match AlignedBuf::zeroed_f32(t.elems) {
            Ok(b) => outputs.push(b),
            Err(e) => {
                let _ = writeln!(err, "error: output `{}`: {e}", t.name);
                return Err(EXIT_FAILURE);
            }
        }
    }
    match AlignedBuf::zeroed(meta.arena) {
        Ok(a) => Ok((outputs, a)),
        Err(e) => {
            let _ = writeln!(err, "error: activation arena: {e}");
            Err(EXIT_FAILURE)
        }
    }
}

/// Starts the pool; returns the number of threads running.
fn start_threads(args: &Args, err: &mut dyn Write) -> usize {
    let want_threads = args.threads.unwrap_or_else(default_threads);
    let threads = pool::set_global(want_threads);
    if threads < want_threads {
        let _ = writeln!(
            err,
            "warning: could only start {threads} of {want_threads} threads"
        );
    }
    threads
}

/// Writes the first run's outputs: regular files through temporary files
/// committed together (a failure leaves every old file alone), devices and
/// FIFOs (`/dev/stdout`) directly, last.
/// An output that cannot be written: the output's name, the file and why.
#[derive(Debug)]
pub struct OutputWriteError {
    pub output: String,
    pub path: PathBuf,
    pub error: Box<dyn std::error::Error + Send + Sync>,
}

impl OutputWriteError {
    fn new(
        meta: &Meta,
        i: usize,
        path: &std::path::Path,
        error: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> OutputWriteError {
        OutputWriteError {
            output: meta.outputs[i].name.clone(),
            path: path.to_path_buf(),
            error: error.into(),
        }
    }
}

impl std::fmt::Display for OutputWriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cannot write output `{}` to `{}`: {}",
            self.output,
            self.path.display(),
            self.error
        )
    }
}

impl std::error::Error for OutputWriteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.error.as_ref())
    }
}

fn write_outputs(meta: &Meta, plan: &Plan, runner: &Runner) -> Result<(), OutputWriteError> {
    let mut temps: Vec<(PathBuf, PathBuf, usize)> = Vec::new();
    let mut direct: Vec<(PathBuf, Vec<u8>, usize)> = Vec::new();
    let result = stage_outputs(meta, plan, runner, &mut temps, &mut direct)
        .and_then(|()| {
            for (tmp, path, i) in &temps {
                npy::commit_temp(tmp, path)
                    .map_err(|e| OutputWriteError::new(meta, *i, path, e))?;
            }
            Ok(())
        })
        .and_then(|()| {
            for (path, bytes, i) in &direct {
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .and_then(|mut f| f.write_all(bytes).and_then(|_| f.flush()))
                    .map_err(|e| OutputWriteError::new(meta, *i, path, e))?;
            }
            Ok(())
        });
    if result.is_err() {
        for (tmp, _, _) in &temps {
            let _ = std::fs::remove_file(tmp);
        }
    }
    result
}

/// Encodes each output and writes the regular files' temporaries.
fn stage_outputs(
    meta: &Meta,
    plan: &Plan,
    runner: &Runner,
    temps: &mut Vec<(PathBuf, PathBuf, usize)>,
    direct: &mut Vec<(PathBuf, Vec<u8>, usize)>,
) -> Result<(), OutputWriteError> {
    for (i, (t, file)) in meta.outputs.iter().zip(&plan.output_files).enumerate() {
        let Some(path) = file else { continue };
        let bytes = npy::encode(&t.shape, runner.output(i));
        let special = std::fs::metadata(path)
            .map(|m| !m.is_file())
            .unwrap_or(false);
        if special {
            direct.push((path.clone(), bytes, i));
            continue;
        }
        // a symlink's target is replaced, the link stays
        let target = npy::resolve_links(path).unwrap_or_else(|_| path.clone());
        let tmp = npy::write_temp(&target, &bytes)
            .map_err(|e| OutputWriteError::new(meta, i, path, e))?;
        temps.push((tmp, target, i));
    }
    Ok(())
}

/// `--bench` and `--profile` after the first run.
fn measure(meta: &Meta, args: &Args, threads: usize, runner: &mut Runner, out: &mut dyn Write) {
    if let Some(iters) = args.bench {
        let warm = warmup_runs(iters);
        runner.timed(warm);
        let times = runner.timed(iters);
        if let (Some(st), false) = (stats(&times), args.json) {
            let _ = writeln!(
                out,
                "bench {}: {threads} thread{}, {iters} runs after {warm} warm-up",
                meta.network,
                if threads == 1 { "" } else { "s" }
            );
            let _ = writeln!(
                out,
                "  min {:.4} ms  median {:.4} ms  p90 {:.4} ms  mean {:.4} ms  max {:.4} ms",
                st.min, st.median, st.p90, st.mean, st.max
            );
        }
    }
    if args.profile {
        let runs = args.bench.unwrap_or(DEFAULT_PROFILE_RUNS);
        if args.bench.is_none() {
            runner.timed(warmup_runs(runs));
        }
        profile::enable(meta.nodes.len());
        let wall = runner.timed(runs);
        profile::disable();
        let report = if args.json {
            profile_json(meta, runs, threads, &wall, args.profile_min)
        } else {
            profile_report(meta, runs, threads, &wall, args.profile_min)
        };
        let _ = write!(out, "{report}");
    }
}
