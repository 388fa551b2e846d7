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
use crate::meta::{shape_str, Meta, TensorMeta};
use crate::{npy, pool, profile};
use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::{Path, PathBuf};
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

/// Default number of timed runs of `--bench`.
pub const DEFAULT_BENCH_ITERS: usize = 50;
/// Largest `--bench` count accepted.
pub const MAX_BENCH_ITERS: usize = 10_000_000;
/// Number of profiled runs of `--profile` (without `--bench ITERS`).
pub const DEFAULT_PROFILE_RUNS: usize = 20;
/// Values shown per output in the summary.
pub const SUMMARY_VALUES: usize = 8;

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

/// The parsed command line, before names are resolved against the model.
#[derive(Debug, Default, PartialEq)]
pub struct Args {
    /// `--input` values, as given.
    pub inputs: Vec<OsString>,
    /// `--output` values, as given.
    pub outputs: Vec<OsString>,
    /// `-o` value.
    pub short_output: Option<OsString>,
    /// `--threads`.
    pub threads: Option<usize>,
    /// `--bench` (with its count or the default).
    pub bench: Option<usize>,
    /// `--profile`.
    pub profile: bool,
    /// `--json` (with `--profile`: the profile as one JSON object, nothing else).
    pub json: bool,
    /// `--profile-min`: per kernel, the shortest run instead of the mean
    /// (robust to other processes; used by `nnc calibrate`).
    pub profile_min: bool,
    /// `--seed`.
    pub seed: Option<u64>,
    /// `-h` / `--help`.
    pub help: bool,
    /// `-V` / `--version`.
    pub version: bool,
}

fn parse_count(flag: &str, v: &str, max: usize) -> Result<usize, String> {
    match v.parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "invalid value `{v}` for `{flag}`: expected an integer from 1 to {max}"
        )),
    }
}

/// Parses the arguments after the program name (syntax only).
pub fn parse_args(argv: &[OsString]) -> Result<Args, String> {
    let mut a = Args::default();
    let mut i = 0;
    // Takes the value of a flag: `--flag=V` or `--flag V`.
    fn value(
        argv: &[OsString],
        i: &mut usize,
        flag: &str,
        inline: Option<&OsStr>,
        what: &str,
    ) -> Result<OsString, String> {
        if let Some(v) = inline {
            return Ok(v.to_os_string());
        }
        *i += 1;
        match argv.get(*i) {
            Some(v) => Ok(v.clone()),
            None => Err(format!("`{flag}` needs a value: {what}")),
        }
    }
    fn utf8(flag: &str, v: OsString) -> Result<String, String> {
        v.into_string()
            .map_err(|v| format!("invalid value `{}` for `{flag}`", v.to_string_lossy()))
    }
    while i < argv.len() {
        let raw = &argv[i];
        let Some(s) = raw.to_str() else {
            return Err(format!("unexpected argument `{}`", raw.to_string_lossy()));
        };
        let (flag, inline): (&str, Option<&OsStr>) = match s.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(OsStr::new(v))),
            _ => (s, None),
        };
        match flag {
            "-h" | "--help" if inline.is_none() => a.help = true,
            "-V" | "--version" if inline.is_none() => a.version = true,
            "--profile" if inline.is_none() => {
                if a.profile {
                    return Err("`--profile` given twice".into());
                }
                a.profile = true
            }
            "--json" if inline.is_none() => {
                if a.json {
                    return Err("`--json` given twice".into());
                }
                a.json = true
            }
            "--profile-min" if inline.is_none() => a.profile_min = true,
            "--input" => a
                .inputs
                .push(value(argv, &mut i, flag, inline, "NAME=FILE.npy")?),
            "--output" => a
                .outputs
                .push(value(argv, &mut i, flag, inline, "NAME=FILE.npy")?),
            "-o" => {
                if a.short_output.is_some() {
                    return Err("`-o` given twice".into());
                }
                a.short_output = Some(value(argv, &mut i, flag, None, "FILE.npy")?);
            }
            "--threads" => {
                if a.threads.is_some() {
                    return Err("`--threads` given twice".into());
                }
                let v = utf8(flag, value(argv, &mut i, flag, inline, "N")?)?;
                a.threads = Some(parse_count(flag, &v, pool::MAX_THREADS)?);
            }
            "--seed" => {
                if a.seed.is_some() {
                    return Err("`--seed` given twice".into());
                }
                let v = utf8(flag, value(argv, &mut i, flag, inline, "S")?)?;
                a.seed = Some(v.parse::<u64>().map_err(|_| {
                    format!(
                        "invalid value `{v}` for `--seed`: expected an integer from 0 to {}",
                        u64::MAX
                    )
                })?);
            }
            "--bench" => {
                if a.bench.is_some() {
                    return Err("`--bench` given twice".into());
                }
                let n = match inline {
                    Some(v) => parse_count(flag, &v.to_string_lossy(), MAX_BENCH_ITERS)?,
                    None => match argv.get(i + 1).and_then(|v| v.to_str()) {
                        Some(v) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => {
                            i += 1;
                            parse_count(flag, v, MAX_BENCH_ITERS)?
                        }
                        _ => DEFAULT_BENCH_ITERS,
                    },
                };
                a.bench = Some(n);
            }
            _ => {
                return Err(if s.starts_with('-') {
                    format!("unexpected argument `{s}`")
                } else {
                    format!(
                        "unexpected argument `{s}` (inputs are given with `--input NAME=FILE.npy`)"
                    )
                })
            }
        }
        i += 1;
    }
    if a.profile_min && !a.profile {
        return Err("`--profile-min` is a statistic of `--profile`: give both".into());
    }
    if a.json && !a.profile {
        return Err("`--json` is an output format of `--profile`: give both".into());
    }
    Ok(a)
}

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
struct Plan {
    /// Input file per input (None: random).
    input_files: Vec<Option<PathBuf>>,
    /// Output file per output (None: not written).
    output_files: Vec<Option<PathBuf>>,
}

fn plan(meta: &Meta, a: &Args) -> Result<Plan, String> {
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

/// Statistics of a list of latencies (ms).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    /// Fastest.
    pub min: f64,
    /// Median (mean of the two middle values for an even count).
    pub median: f64,
    /// 90th percentile (nearest rank).
    pub p90: f64,
    /// Mean.
    pub mean: f64,
    /// Slowest.
    pub max: f64,
}

/// Computes [`Stats`]; `None` for an empty list.
pub fn stats(times: &[f64]) -> Option<Stats> {
    if times.is_empty() {
        return None;
    }
    let mut v = times.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    // Nearest rank: ceil(0.9 n), 1-based.
    let rank = (9 * n).div_ceil(10).max(1);
    Some(Stats {
        min: v[0],
        median,
        p90: v[rank - 1],
        mean: v.iter().sum::<f64>() / n as f64,
        max: v[n - 1],
    })
}

/// Number of warm-up runs before `iters` timed ones.
pub fn warmup_runs(iters: usize) -> usize {
    (iters / 10).clamp(2, 10)
}

fn fmt_values(v: &[f32]) -> String {
    v.iter()
        .map(|x| format!("{x}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The summary printed for one output when no `--output` is given.
pub fn summary(t: &TensorMeta, data: &[f32]) -> String {
    let mut s = format!("{}: shape {}\n", t.name, shape_str(&t.shape));
    let k = data.len().min(SUMMARY_VALUES);
    if data.len() > k {
        s.push_str(&format!(
            "  first {k} of {}: {}\n",
            data.len(),
            fmt_values(&data[..k])
        ));
    } else {
        s.push_str(&format!("  values: {}\n", fmt_values(data)));
    }
    let finite: Vec<f32> = data.iter().copied().filter(|x| !x.is_nan()).collect();
    if let (Some(mn), Some(mx)) = (
        finite.iter().copied().reduce(f32::min),
        finite.iter().copied().reduce(f32::max),
    ) {
        let mean = finite.iter().map(|&x| x as f64).sum::<f64>() / finite.len() as f64;
        s.push_str(&format!("  min {mn}  max {mx}  mean {mean:.6}"));
        let nans = data.len() - finite.len();
        if nans > 0 {
            s.push_str(&format!("  ({nans} NaN)"));
        }
        s.push('\n');
    } else {
        s.push_str("  all NaN\n");
    }
    let is_vector = t.shape.len() == 1 || (t.shape.len() == 2 && t.shape[0] == 1);
    if is_vector && data.len() > 1 {
        let mut best: Option<(usize, f32)> = None;
        for (i, &x) in data.iter().enumerate() {
            if x.is_nan() {
                continue;
            }
            if best.is_none_or(|(_, b)| x > b) {
                best = Some((i, x));
            }
        }
        if let Some((i, x)) = best {
            s.push_str(&format!("  argmax: {i} (value {x})\n"));
        }
    }
    s
}

fn profile_report(meta: &Meta, runs: usize, threads: usize, wall: &[f64], min: bool) -> String {
    let (times, bad) = profile::snapshot();
    let mut s = String::new();
    s.push_str(&format!(
        "profile of {}: {} nodes, {threads} thread{}, {} of {runs} runs\n",
        meta.network,
        meta.nodes.len(),
        if threads == 1 { "" } else { "s" },
        if min { "shortest" } else { "average" }
    ));
    let opw = meta
        .nodes
        .iter()
        .map(|n| n.op.chars().count())
        .max()
        .unwrap_or(2)
        .clamp(2, 24);
    let namew = meta
        .nodes
        .iter()
        .map(|n| n.name.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(14, 40);
    let idxw = meta.nodes.len().saturating_sub(1).to_string().len().max(1);
    let runs_f = runs.max(1) as f64;
    let measured: Vec<f64> = (0..meta.nodes.len())
        .map(|i| {
            times.get(i).map_or(0.0, |t| {
                if min {
                    t.min_ns as f64 / 1e6
                } else {
                    t.total_ns as f64 / 1e6 / runs_f
                }
            })
        })
        .collect();
    let total_measured: f64 = measured.iter().sum();
    let predicted: Vec<f64> = meta
        .nodes
        .iter()
        .map(|n| n.predicted_for(threads))
        .collect();
    let total_predicted: f64 = predicted.iter().sum();
    let peak = meta
        .peak_gflops_per_thread
        .map(|p| p * threads.max(1) as f64);
    let gflops = |i: usize| {
        let f = meta.nodes[i].flops;
        if f > 0 && measured[i] > 0.0 {
            format!("{:.1}", f as f64 / (measured[i] * 1e6))
        } else {
            "-".to_string()
        }
    };
    let of_peak = |i: usize| match peak {
        Some(p) if meta.nodes[i].flops > 0 && measured[i] > 0.0 => {
            format!(
                "{:.0}%",
                100.0 * meta.nodes[i].flops as f64 / (measured[i] * 1e6) / p
            )
        }
        _ => "-".to_string(),
    };
    let ratio = |m: f64, p: f64| {
        if p > 0.0 {
            format!("{:.2}", m / p)
        } else {
            "-".to_string()
        }
    };
    let share = |m: f64| {
        if total_measured > 0.0 {
            format!("{:.1}%", 100.0 * m / total_measured)
        } else {
            "-".to_string()
        }
    };
    if let Some(from) = &meta.predictions {
        s.push_str(&format!("predicted times from {from}\n"));
    }
    s.push_str(&format!(
        "{:>idxw$}  {:<opw$}  {:<namew$}  {:>11}  {:>12}  {:>6}  {:>6}  {:>8}  {:>6}\n",
        "#", "op", "name", "measured ms", "predicted ms", "ratio", "share", "GFLOP/s", "% peak"
    ));
    let mut odd_calls = 0usize;
    for (i, n) in meta.nodes.iter().enumerate() {
        let calls = times.get(i).map_or(0, |t| t.calls);
        let mark = if calls != runs as u64 {
            odd_calls += 1;
            format!("  ({calls} calls)")
        } else {
            String::new()
        };
        s.push_str(&format!(
            "{:>idxw$}  {:<opw$}  {:<namew$}  {:>11.4}  {:>12.4}  {:>6}  {:>6}  {:>8}  {:>6}{mark}\n",
            i,
            n.op,
            n.name,
            measured[i],
            predicted[i],
            ratio(measured[i], predicted[i]),
            share(measured[i]),
            gflops(i),
            of_peak(i)
        ));
    }
    let lead = idxw + 2 + opw + 2;
    s.push_str(&format!(
        "{:lead$}{:<namew$}  {:>11.4}  {:>12.4}  {:>6}  {:>6}\n",
        "",
        "total",
        total_measured,
        total_predicted,
        ratio(total_measured, total_predicted),
        share(total_measured)
    ));
    if let Some(st) = stats(wall) {
        s.push_str(&format!(
            "{:lead$}{:<namew$}  {:>11.4}  (median {:.4}; outside kernels {:.4})\n",
            "",
            "forward (wall)",
            st.mean,
            st.median,
            (st.mean - total_measured).max(0.0)
        ));
    }
    if odd_calls > 0 {
        s.push_str(&format!(
            "note: {odd_calls} node(s) were not timed exactly once per run (calls shown)\n"
        ));
    }
    if bad > 0 {
        s.push_str(&format!(
            "note: {bad} malformed nnc_node_begin/end call(s) (unknown node index or end without begin)\n"
        ));
    }
    s
}

/// A string as a JSON string literal.
fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// A number as JSON (non-finite numbers, which JSON lacks, as 0).
fn json_num(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        "0".to_string()
    }
}

/// `--profile --json`: `{"network", "threads", "kernels": [{"name", "op",
/// "measured_ms", "predicted_ms"}], "total_measured_ms",
/// "total_predicted_ms"}` on one line.
fn profile_json(meta: &Meta, runs: usize, threads: usize, wall: &[f64], min: bool) -> String {
    let (times, _) = profile::snapshot();
    let runs_f = runs.max(1) as f64;
    let mut tm = 0.0;
    let mut tp = 0.0;
    let kernels: Vec<String> = meta
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let m = times.get(i).map_or(0.0, |t| {
                if min {
                    t.min_ns as f64 / 1e6
                } else {
                    t.total_ns as f64 / 1e6 / runs_f
                }
            });
            let p = n.predicted_for(threads);
            tm += m;
            tp += p;
            format!(
                "{{\"name\":{},\"op\":{},\"measured_ms\":{},\"predicted_ms\":{}}}",
                json_str(&n.name),
                json_str(&n.op),
                json_num(m),
                json_num(p)
            )
        })
        .collect();
    format!(
        "{{\"network\":{},\"threads\":{threads},\"kernels\":[{}],\"total_measured_ms\":{},\"total_predicted_ms\":{},\"wall_mean_ms\":{}}}\n",
        json_str(&meta.network),
        kernels.join(","),
        json_num(tm),
        json_num(tp),
        json_num(stats(wall).map_or(0.0, |s| s.mean))
    )
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
    let usage = |err: &mut dyn Write, e: String| {
        let _ = writeln!(
            err,
            "error: {e}\n\nFor more information, try `{prog} --help`."
        );
        EXIT_USAGE
    };
    let args = parse_args(argv.get(1..).unwrap_or(&[])).map_err(|e| usage(err, e))?;
    if args.help {
        let _ = write!(out, "{}", help(&prog, &meta));
        return Ok(Setup::Done);
    }
    if args.version {
        let _ = writeln!(out, "{} (nnc runtime {VERSION}, meta v1)", meta.network);
        return Ok(Setup::Done);
    }
    let plan = plan(&meta, &args).map_err(|e| usage(err, e))?;
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
fn write_outputs(meta: &Meta, plan: &Plan, runner: &Runner) -> Result<(), String> {
    let mut temps: Vec<(PathBuf, PathBuf, usize)> = Vec::new();
    let mut direct: Vec<(PathBuf, Vec<u8>, usize)> = Vec::new();
    let result = stage_outputs(meta, plan, runner, &mut temps, &mut direct)
        .and_then(|()| {
            for (tmp, path, i) in &temps {
                npy::commit_temp(tmp, path).map_err(|e| {
                    format!(
                        "cannot write output `{}` to `{}`: {e}",
                        meta.outputs[*i].name,
                        path.display()
                    )
                })?;
            }
            Ok(())
        })
        .and_then(|()| {
            for (path, bytes, i) in &direct {
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .and_then(|mut f| f.write_all(bytes).and_then(|_| f.flush()))
                    .map_err(|e| {
                        format!(
                            "cannot write output `{}` to `{}`: {e}",
                            meta.outputs[*i].name,
                            path.display()
                        )
                    })?;
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
) -> Result<(), String> {
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
        let tmp = npy::write_temp(&target, &bytes).map_err(|e| {
            format!(
                "cannot write output `{}` to `{}`: {e}",
                t.name,
                path.display()
            )
        })?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn parses_flags() {
        let a = parse_args(&os(&[
            "--input",
            "x=a.npy",
            "--input=b.npy",
            "-o",
            "y.npy",
            "--threads=3",
            "--bench",
            "--profile",
            "--seed",
            "7",
        ]))
        .expect("ok");
        assert_eq!(a.inputs, os(&["x=a.npy", "b.npy"]));
        assert_eq!(a.short_output, Some(OsString::from("y.npy")));
        assert_eq!(a.threads, Some(3));
        assert_eq!(a.bench, Some(DEFAULT_BENCH_ITERS));
        assert!(a.profile);
        assert_eq!(a.seed, Some(7));
        assert_eq!(
            parse_args(&os(&["--bench", "12"])).expect("ok").bench,
            Some(12)
        );
        assert_eq!(parse_args(&os(&["--bench=5"])).expect("ok").bench, Some(5));
    }

    #[test]
    fn rejects_bad_flags() {
        for bad in [
            &["--threads"][..],
            &["--threads", "0"],
            &["--threads", "x"],
            &["--threads", "1", "--threads", "2"],
            &["--bench", "0"],
            &["--bench=abc"],
            &["--seed", "-1"],
            &["--frobnicate"],
            &["stray.npy"],
            &["-o"],
            &["--profile=1"],
        ] {
            assert!(parse_args(&os(bad)).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn stats_nearest_rank() {
        let v: Vec<f64> = (1..=10).map(|x| x as f64).collect();
        let s = stats(&v).expect("stats");
        assert_eq!(s.min, 1.0);
        assert_eq!(s.median, 5.5);
        assert_eq!(s.p90, 9.0);
        assert_eq!(s.max, 10.0);
        let s = stats(&[3.0]).expect("stats");
        assert_eq!((s.min, s.median, s.p90), (3.0, 3.0, 3.0));
        assert!(stats(&[]).is_none());
    }

    #[test]
    fn json_needs_profile_and_escapes() {
        assert!(parse_args(&os(&["--json"])).is_err());
        let a = parse_args(&os(&["--profile", "--json"])).expect("ok");
        assert!(a.json && a.profile);
        assert!(parse_args(&os(&["--profile", "--json", "--json"])).is_err());
        assert_eq!(json_str("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
        assert_eq!(json_num(f64::NAN), "0");
        assert_eq!(json_num(1.5), "1.5");
    }

    #[test]
    fn summary_argmax() {
        let t = TensorMeta {
            name: "y".into(),
            shape: vec![1, 4],
            elems: 4,
        };
        let s = summary(&t, &[0.5, f32::NAN, 2.5, -1.0]);
        assert!(s.contains("argmax: 2 (value 2.5)"), "{s}");
        assert!(s.contains("values: 0.5, NaN, 2.5, -1"), "{s}");
    }
}
