//! Measures this machine: fp32 FMA throughput and streaming memory bandwidth
//! on all cores, for the `host` platform. Takes about 1–3 s; the result is
//! cached as JSON (see [`cache_path`]) and reused.
//!
//! - Compute: every core runs a loop of 12 independent fused multiply-adds
//!   on 256-bit vectors (AVX2+FMA, `vfmadd231ps ymm`), enough to hide the
//!   FMA latency on two pipes; SSE (mul + add) on x86-64 without FMA, plain
//!   scalar code elsewhere; on a CPU with AVX-512F the loop runs on 512-bit
//!   vectors (`vfmadd231ps zmm`) instead, because nnc's code generator emits
//!   16-lane kernels for such a host (the default `--target-cpu`), so
//!   `peak_gflops` is the peak of the widest FMA the kernels use
//!   (`avx512_gflops` repeats it).
//! - Memory: a STREAM-style triad `a[i] = b[i] + s·c[i]` over three f32
//!   arrays of 192 MiB each (far larger than any last-level cache), split
//!   over all cores; bytes are counted as STREAM does (12 per element: two
//!   reads and a write, write-allocate traffic not counted).
//!
//! Each figure is the best of several repetitions. Rates are computed from
//! each thread's own CPU time (`CLOCK_THREAD_CPUTIME_ID` on Linux) and summed
//! over threads, so a busy machine (other processes time-sharing the cores)
//! does not make the machine look slower than it is; the plain wall-clock
//! figures are reported beside them (`*_wall`). Elsewhere wall time is used.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Version of the cached JSON layout; a cache with another version is
/// ignored and measured again.
pub const CACHE_VERSION: u32 = 4;

/// The result of a calibration run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Layout version ([`CACHE_VERSION`]).
    pub version: u32,
    /// CPU model name (from `/proc/cpuinfo` where available).
    pub cpu: String,
    /// Threads used for the all-core figures (one per logical CPU).
    pub threads: usize,
    /// Instruction set of the compute loop: `avx512f`, `avx2+fma`, `sse` or
    /// `scalar`.
    pub isa: String,
    /// fp32 GFLOP/s on all cores with `isa` (an FMA counts as 2 FLOPs).
    pub peak_gflops: f64,
    /// fp32 GFLOP/s on one core with `isa`.
    pub peak_gflops_1t: f64,
    /// fp32 GFLOP/s on all cores with 512-bit FMAs, if the CPU has AVX-512F.
    pub avx512_gflops: Option<f64>,
    /// The same all-core compute figure from wall-clock time (lower than
    /// `peak_gflops` when other processes share the cores).
    pub peak_gflops_wall: f64,
    /// Triad bandwidth on all cores, GB/s (10⁹ bytes per second).
    pub bandwidth_gbs: f64,
    /// The same all-core bandwidth figure from wall-clock time.
    pub bandwidth_gbs_wall: f64,
    /// How rates were timed: `thread-cpu-time` or `wall-clock`.
    pub timing: String,
    /// Triad bandwidth on one core, GB/s.
    pub bandwidth_gbs_1t: f64,
    /// Wall time the calibration took, seconds.
    pub seconds: f64,
    /// When it was measured, seconds since the Unix epoch.
    pub timestamp: u64,
    /// Version of the nnc that measured it (with a fingerprint of its
    /// kernels): a model fitted on other kernels is stale.
    #[serde(default)]
    pub nnc_version: String,
    /// When the nnc binary that measured it was built (its modification
    /// time, seconds since the Unix epoch; 0 if unknown): an older binary
    /// never replaces a cache a newer one wrote ([`overwrite_refusal`]).
    #[serde(default)]
    pub nnc_built: u64,
    /// The fitted latency model of nnc's kernels (`nnc calibrate`); None
    /// for the quick peak-and-bandwidth measurement alone.
    #[serde(default)]
    pub model: Option<crate::model::HostModel>,
    /// The last `nnc calibrate --refresh`: the machine's speed re-measured
    /// since the model was fitted (its [`crate::model::HostModel::speed`]).
    #[serde(default)]
    pub refreshed: Option<Refresh>,
}

/// A re-measurement of the one-core FMA peak after the model was fitted
/// (`nnc calibrate --refresh`): a virtual machine's speed drifts as its
/// neighbours come and go, and the model's times scale with it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Refresh {
    /// When it was measured, seconds since the Unix epoch.
    pub timestamp: u64,
    /// One-core fp32 GFLOP/s then ([`probe_gflops_1t`]).
    pub peak_gflops_1t: f64,
    /// That over the peak the model was fitted at.
    pub speed: f64,
}

/// The one-core fp32 FMA rate now, GFLOP/s: the calibration's compute loop,
/// best of three runs of about 50 ms. Cheap enough to run before every
/// measurement that a prediction is compared with.
pub fn probe_gflops_1t() -> f64 {
    let kernel = peak_kernel();
    best(3, || flops_rate(kernel, 1, peak_iters(kernel))).0
}

/// Iterations of `kernel` for about 50 ms at ~100 GFLOP/s per core.
fn peak_iters(kernel: Kernel) -> u64 {
    if kernel.isa == "avx512f" {
        12_500_000
    } else {
        25_000_000
    }
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Why a cached calibration does not fit the running nnc on this machine
/// (empty: it fits): another CPU model, instruction set or nnc version.
pub fn staleness(c: &Calibration, nnc_version: &str) -> Vec<String> {
    let mut why = Vec::new();
    let cpu = cpu_name();
    if c.cpu != cpu {
        why.push(format!("measured on `{}`, this CPU is `{cpu}`", c.cpu));
    }
    let isa = peak_kernel().isa;
    if c.isa != isa {
        why.push(format!("measured with {}, this CPU has {isa}", c.isa));
    }
    if c.model.is_some() && c.nnc_version != nnc_version {
        why.push(format!(
            "kernels measured with nnc {}, this is nnc {nnc_version}",
            if c.nnc_version.is_empty() {
                "?"
            } else {
                &c.nnc_version
            }
        ));
    }
    why
}

/// Runs the calibration (about 1–3 s, uses every core).
pub fn calibrate() -> Calibration {
    let t0 = Instant::now();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .max(1);
    let kernel = peak_kernel();
    let iters = peak_iters(kernel);
    let peak_1t = best(2, || flops_rate(kernel, 1, iters)).0;
    let (peak, peak_wall) = best(3, || flops_rate(kernel, threads, iters));
    let avx512 = (kernel.isa == "avx512f").then_some(peak);
    let (bw, bw_wall, bw_1t) = bandwidth(threads);
    Calibration {
        version: CACHE_VERSION,
        cpu: cpu_name(),
        threads,
        isa: kernel.isa.to_string(),
        peak_gflops: peak,
        peak_gflops_1t: peak_1t,
        peak_gflops_wall: peak_wall,
        avx512_gflops: avx512,
        bandwidth_gbs: bw,
        bandwidth_gbs_wall: bw_wall,
        timing: if thread_cpu_seconds().is_some() {
            "thread-cpu-time"
        } else {
            "wall-clock"
        }
        .to_string(),
        bandwidth_gbs_1t: bw_1t,
        seconds: t0.elapsed().as_secs_f64(),
        timestamp: unix_now(),
        nnc_version: String::new(),
        nnc_built: 0,
        model: None,
        refreshed: None,
    }
}

/// Best (largest) `(per-thread-time rate, wall rate)` of `n` runs.
fn best(n: usize, mut f: impl FnMut() -> (f64, f64)) -> (f64, f64) {
    (0..n)
        .map(|_| f())
        .fold((0.0, 0.0), |a, x| (a.0.max(x.0), a.1.max(x.1)))
}

/// CPU time consumed by the calling thread, seconds (Linux only).
#[cfg(target_os = "linux")]
fn thread_cpu_seconds() -> Option<f64> {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec (two 64-bit fields on
    // 64-bit Linux, the only targets where this is compiled).
    let r = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (r == 0).then_some(ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9)
}

#[cfg(not(target_os = "linux"))]
fn thread_cpu_seconds() -> Option<f64> {
    None
}

/// Runs `work` on `threads` threads at once; returns `(Σ per-thread rate,
/// wall rate)` in units of `amount` per second. A thread's rate is its
/// amount over its own CPU time (its wall time where that is unavailable).
pub(crate) fn parallel_rate(
    threads: usize,
    amount: f64,
    work: impl Fn(usize) + Sync,
) -> (f64, f64) {
    let t = Instant::now();
    let rates: Vec<f64> = std::thread::scope(|s| {
        let work = &work;
        let hs: Vec<_> = (0..threads)
            .map(|i| {
                s.spawn(move || {
                    let (c0, w0) = (thread_cpu_seconds(), Instant::now());
                    work(i);
                    let secs = match (c0, thread_cpu_seconds()) {
                        (Some(a), Some(b)) if b > a => b - a,
                        _ => w0.elapsed().as_secs_f64(),
                    };
                    amount / secs.max(1e-9)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap_or(0.0)).collect()
    });
    let wall = t.elapsed().as_secs_f64().max(1e-9);
    (rates.iter().sum(), amount * threads as f64 / wall)
}

/// One compute loop: `run(iters)` performs `iters · flops_per_iter` FLOPs.
#[derive(Clone, Copy)]
struct Kernel {
    isa: &'static str,
    flops_per_iter: u64,
    run: fn(u64) -> f32,
}

/// `(Σ per-thread GFLOP/s, wall GFLOP/s)` of `k` on `threads` threads.
fn flops_rate(k: Kernel, threads: usize, iters: u64) -> (f64, f64) {
    let flops = (iters * k.flops_per_iter) as f64 / 1e9;
    parallel_rate(threads, flops, |_| {
        std::hint::black_box((k.run)(iters));
    })
}

fn fma_kernel() -> Kernel {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            return Kernel {
                isa: "avx2+fma",
                flops_per_iter: 12 * 8 * 2,
                // SAFETY: the features were detected at run time just above.
                run: |n| unsafe { x86::fma_avx2(n) },
            };
        }
        Kernel {
            isa: "sse",
            flops_per_iter: 12 * 4 * 2,
            // SAFETY: SSE is part of the x86-64 baseline.
            run: |n| unsafe { x86::mul_add_sse(n) },
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        Kernel {
            isa: "scalar",
            flops_per_iter: 12 * 2,
            run: scalar_kernel,
        }
    }
}

/// The FMA loop of the widest vectors nnc's kernels use on this CPU.
fn peak_kernel() -> Kernel {
    avx512_kernel().unwrap_or_else(fma_kernel)
}

fn avx512_kernel() -> Option<Kernel> {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") {
            return Some(Kernel {
                isa: "avx512f",
                flops_per_iter: 12 * 16 * 2,
                // SAFETY: avx512f was detected at run time just above.
                run: |n| unsafe { x86::fma_avx512(n) },
            });
        }
    }
    None
}

#[cfg(not(target_arch = "x86_64"))]
fn scalar_kernel(iters: u64) -> f32 {
    let m = std::hint::black_box(0.999_999f32);
    let c = std::hint::black_box(1e-6f32);
    let mut a = [1.0f32; 12];
    for _ in 0..iters {
        for x in a.iter_mut() {
            *x = *x * m + c;
        }
    }
    a.iter().sum()
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// 12 independent accumulators `acc = acc·m + c` converge to 1: no
    /// overflow, no denormals.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn fma_avx2(iters: u64) -> f32 {
        let m = _mm256_set1_ps(std::hint::black_box(0.999_999));
        let c = _mm256_set1_ps(std::hint::black_box(1e-6));
        let one = _mm256_set1_ps(1.0);
        let (mut a0, mut a1, mut a2, mut a3, mut a4, mut a5) = (one, one, one, one, one, one);
        let (mut a6, mut a7, mut a8, mut a9, mut a10, mut a11) = (one, one, one, one, one, one);
        for _ in 0..iters {
            a0 = _mm256_fmadd_ps(a0, m, c);
            a1 = _mm256_fmadd_ps(a1, m, c);
            a2 = _mm256_fmadd_ps(a2, m, c);
            a3 = _mm256_fmadd_ps(a3, m, c);
            a4 = _mm256_fmadd_ps(a4, m, c);
            a5 = _mm256_fmadd_ps(a5, m, c);
            a6 = _mm256_fmadd_ps(a6, m, c);
            a7 = _mm256_fmadd_ps(a7, m, c);
            a8 = _mm256_fmadd_ps(a8, m, c);
            a9 = _mm256_fmadd_ps(a9, m, c);
            a10 = _mm256_fmadd_ps(a10, m, c);
            a11 = _mm256_fmadd_ps(a11, m, c);
        }
        let s = _mm256_add_ps(
            _mm256_add_ps(
                _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)),
            ),
            _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)),
        );
        let mut out = [0f32; 8];
        _mm256_storeu_ps(out.as_mut_ptr(), s);
        out.iter().sum()
    }

    #[target_feature(enable = "avx512f")]
    pub unsafe fn fma_avx512(iters: u64) -> f32 {
        let m = _mm512_set1_ps(std::hint::black_box(0.999_999));
        let c = _mm512_set1_ps(std::hint::black_box(1e-6));
        let one = _mm512_set1_ps(1.0);
        let (mut a0, mut a1, mut a2, mut a3, mut a4, mut a5) = (one, one, one, one, one, one);
        let (mut a6, mut a7, mut a8, mut a9, mut a10, mut a11) = (one, one, one, one, one, one);
        for _ in 0..iters {
            a0 = _mm512_fmadd_ps(a0, m, c);
            a1 = _mm512_fmadd_ps(a1, m, c);
            a2 = _mm512_fmadd_ps(a2, m, c);
            a3 = _mm512_fmadd_ps(a3, m, c);
            a4 = _mm512_fmadd_ps(a4, m, c);
            a5 = _mm512_fmadd_ps(a5, m, c);
            a6 = _mm512_fmadd_ps(a6, m, c);
            a7 = _mm512_fmadd_ps(a7, m, c);
            a8 = _mm512_fmadd_ps(a8, m, c);
            a9 = _mm512_fmadd_ps(a9, m, c);
            a10 = _mm512_fmadd_ps(a10, m, c);
            a11 = _mm512_fmadd_ps(a11, m, c);
        }
        let s = _mm512_add_ps(
            _mm512_add_ps(
                _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)),
            ),
            _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)),
        );
        _mm512_reduce_add_ps(s)
    }

    /// Fallback without FMA: a multiply and an add per lane (2 FLOPs).
    #[target_feature(enable = "sse")]
    pub unsafe fn mul_add_sse(iters: u64) -> f32 {
        let m = _mm_set1_ps(std::hint::black_box(0.999_999));
        let c = _mm_set1_ps(std::hint::black_box(1e-6));
        let mut a = [_mm_set1_ps(1.0); 12];
        for _ in 0..iters {
            for x in a.iter_mut() {
                *x = _mm_add_ps(_mm_mul_ps(*x, m), c);
            }
        }
        let mut s = _mm_setzero_ps();
        for x in a {
            s = _mm_add_ps(s, x);
        }
        let mut out = [0f32; 4];
        _mm_storeu_ps(out.as_mut_ptr(), s);
        out.iter().sum()
    }
}

/// Elements per triad array (128 MiB of f32 each, 384 MiB in all).
const TRIAD_ELEMS: usize = 32 << 20;

/// One thread's slices `(a, b, c)` of the triad arrays.
type Triad = (Vec<f32>, Vec<f32>, Vec<f32>);

/// `(all cores, all cores by wall clock, one core)` triad bandwidth, GB/s.
fn bandwidth(threads: usize) -> (f64, f64, f64) {
    let n = TRIAD_ELEMS;
    let chunk = n.div_ceil(threads);
    // One (a, b, c) slice triple per thread, first touched by its thread.
    let parts: Vec<std::sync::Mutex<Triad>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|i| {
                let len = chunk.min(n - (i * chunk).min(n));
                s.spawn(move || {
                    std::sync::Mutex::new((vec![0f32; len], vec![1f32; len], vec![2f32; len]))
                })
            })
            .collect();
        hs.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let triad = |i: usize| {
        if let Some(Ok(mut g)) = parts.get(i).map(|m| m.lock()) {
            let (a, b, c) = &mut *g;
            let s3 = std::hint::black_box(3.0f32);
            for ((x, y), z) in a.iter_mut().zip(b.iter()).zip(c.iter()) {
                *x = y + s3 * z;
            }
            std::hint::black_box(&a);
        }
    };
    let gb = (chunk * 12) as f64 / 1e9;
    let (all, all_wall) = best(3, || parallel_rate(threads, gb, triad));
    let (one, _) = best(2, || parallel_rate(1, gb, triad));
    (all, all_wall, one)
}

pub fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// Where the calibration is cached: `$XDG_CACHE_HOME/nnc/host.json`, else
/// `~/.cache/nnc/host.json`; None if neither variable is set.
pub fn cache_path() -> Option<PathBuf> {
    let xdg = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty());
    if let Some(x) = xdg {
        let p = PathBuf::from(x);
        if p.is_absolute() {
            return Some(p.join("nnc").join("host.json"));
        }
    }
    let home = std::env::var_os("HOME").filter(|v| !v.is_empty())?;
    Some(
        PathBuf::from(home)
            .join(".cache")
            .join("nnc")
            .join("host.json"),
    )
}

/// Reads a cached calibration; None if missing, unreadable, of another
/// version, or implausible (non-positive or non-finite figures).
pub fn load(path: &Path) -> Option<Calibration> {
    let text = std::fs::read_to_string(path).ok()?;
    let c: Calibration = serde_json::from_str(&text).ok()?;
    let ok = |x: f64| x.is_finite() && x > 0.0;
    (c.version == CACHE_VERSION && ok(c.peak_gflops) && ok(c.bandwidth_gbs)).then_some(c)
}

/// Who wrote a cache file: its layout version, the nnc version and the
/// build time of the binary, read from any layout (so that a cache of a
/// newer layout is recognized, not mistaken for garbage).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Writer {
    pub version: u32,
    pub nnc_version: String,
    pub nnc_built: u64,
}

/// The writer of the cache at `path`; None if there is no readable JSON
/// object there.
pub fn writer_of(path: &Path) -> Option<Writer> {
    let text = std::fs::read_to_string(path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let o = v.as_object()?;
    Some(Writer {
        version: o.get("version")?.as_u64()?.try_into().ok()?,
        nnc_version: o
            .get("nnc_version")
            .and_then(|x| x.as_str())
            .unwrap_or("")
            .to_string(),
        nnc_built: o.get("nnc_built").and_then(|x| x.as_u64()).unwrap_or(0),
    })
}

/// Why a calibration by `ours` must not replace one by `existing` (None:
/// it may): a newer cache layout, or another nnc whose binary was built
/// later than this one (a stale binary would otherwise overwrite a newer
/// calibration with its own kernels' model).
pub fn overwrite_refusal(existing: &Writer, ours: &Writer) -> Option<String> {
    if existing.version > ours.version {
        return Some(format!(
            "it has cache layout {}, newer than this nnc's {}",
            existing.version, ours.version
        ));
    }
    if existing.nnc_version != ours.nnc_version && existing.nnc_built > ours.nnc_built {
        return Some(format!(
            "it was written by nnc {} built {} s after this binary (nnc {})",
            if existing.nnc_version.is_empty() {
                "?"
            } else {
                &existing.nnc_version
            },
            existing.nnc_built - ours.nnc_built,
            ours.nnc_version
        ));
    }
    None
}

/// Build time of the running binary (its modification time), seconds since
/// the Unix epoch; 0 if unknown.
pub fn binary_built() -> u64 {
    std::env::current_exe()
        .and_then(std::fs::metadata)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs())
}

/// How the cache file is written: the driver passes its output-file writer
/// (atomic replacement, modes kept, devices written through), so that the
/// cache follows the same rules as every other file nnc writes.
pub type WriteFile<'a> = &'a dyn Fn(&Path, &[u8]) -> Result<(), WriteError>;

/// The driver's write error, whatever its type.
pub type WriteError = Box<dyn std::error::Error + Send + Sync>;

/// Why the calibration cache could not be written.
#[derive(Debug)]
pub enum SaveError {
    /// The cache directory could not be created.
    Dir {
        dir: std::path::PathBuf,
        error: std::io::Error,
    },
    /// The calibration could not be serialized.
    Json(serde_json::Error),
    /// The driver's writer ([`WriteFile`]) failed.
    Write(WriteError),
}

impl std::fmt::Display for SaveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SaveError::Dir { dir, error } => write!(f, "{}: {error}", dir.display()),
            SaveError::Json(e) => e.fmt(f),
            SaveError::Write(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for SaveError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SaveError::Dir { error, .. } => Some(error),
            SaveError::Json(e) => Some(e),
            SaveError::Write(e) => Some(e.as_ref()),
        }
    }
}

/// Writes a calibration as pretty JSON with `write`, creating the directory.
pub fn save(path: &Path, c: &Calibration, write: WriteFile) -> Result<(), SaveError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|error| SaveError::Dir {
            dir: dir.to_path_buf(),
            error,
        })?;
    }
    let text = serde_json::to_string_pretty(c).map_err(SaveError::Json)?;
    write(path, (text + "\n").as_bytes()).map_err(SaveError::Write)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_compute_the_recurrence() {
        let k = fma_kernel();
        // 12 · lanes accumulators, each converging towards 1.
        let lanes = k.flops_per_iter / 24;
        let s = (k.run)(1000);
        assert!((s - (12 * lanes) as f32).abs() < 0.1, "{s}");
        if let Some(k) = avx512_kernel() {
            assert!(((k.run)(1000) - 192.0).abs() < 0.1);
        }
    }

    #[test]
    fn staleness_names_what_changed() {
        let here = Calibration {
            version: CACHE_VERSION,
            cpu: cpu_name(),
            threads: 2,
            isa: peak_kernel().isa.into(),
            peak_gflops: 190.0,
            peak_gflops_1t: 95.0,
            peak_gflops_wall: 180.0,
            avx512_gflops: None,
            bandwidth_gbs: 20.0,
            bandwidth_gbs_wall: 18.0,
            timing: "thread-cpu-time".into(),
            bandwidth_gbs_1t: 12.0,
            seconds: 1.5,
            timestamp: 1,
            nnc_version: "1.0+aa".into(),
            nnc_built: 0,
            model: Some(crate::model::HostModel::default()),
            refreshed: None,
        };
        assert!(staleness(&here, "1.0+aa").is_empty());
        let why = staleness(&here, "1.0+bb");
        assert_eq!(why.len(), 1);
        assert!(why[0].contains("nnc 1.0+aa"), "{why:?}");
        let other = Calibration {
            cpu: "Some Other CPU".into(),
            isa: "scalar-x".into(),
            ..here.clone()
        };
        let why = staleness(&other, "1.0+aa");
        assert_eq!(why.len(), 2, "{why:?}");
        assert!(why[0].contains("Some Other CPU"));
        // without a kernel model the version does not matter
        let quick = Calibration {
            model: None,
            ..here
        };
        assert!(staleness(&quick, "2.0").is_empty());
    }

    #[test]
    fn cache_roundtrip_and_rejects_garbage() {
        let dir = std::env::temp_dir().join(format!("nnc-cal-test-{}", std::process::id()));
        let p = dir.join("sub").join("host.json");
        let c = Calibration {
            version: CACHE_VERSION,
            cpu: "test".into(),
            threads: 2,
            isa: "avx2+fma".into(),
            peak_gflops: 190.0,
            peak_gflops_1t: 95.0,
            peak_gflops_wall: 180.0,
            avx512_gflops: None,
            bandwidth_gbs: 20.0,
            bandwidth_gbs_wall: 18.0,
            timing: "thread-cpu-time".into(),
            bandwidth_gbs_1t: 12.0,
            seconds: 1.5,
            timestamp: 1,
            nnc_version: "0.1.0+abc".into(),
            nnc_built: 0,
            model: Some(crate::model::HostModel::default()),
            refreshed: None,
        };
        let write: WriteFile = &|p, b| Ok(std::fs::write(p, b)?);
        save(&p, &c, write).unwrap();
        assert_eq!(load(&p), Some(c.clone()));
        std::fs::write(&p, "{not json").unwrap();
        assert_eq!(load(&p), None);
        let bad = Calibration {
            peak_gflops: 0.0,
            ..c
        };
        save(&p, &bad, write).unwrap();
        assert_eq!(load(&p), None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_older_binary_never_replaces_a_newer_cache() {
        let w = |v: u32, n: &str, t: u64| Writer {
            version: v,
            nnc_version: n.into(),
            nnc_built: t,
        };
        let ours = w(CACHE_VERSION, "0.1.0+new", 2000);
        // same nnc, or an older one: replaced
        assert_eq!(
            overwrite_refusal(&w(CACHE_VERSION, "0.1.0+new", 2000), &ours),
            None
        );
        assert_eq!(
            overwrite_refusal(&w(CACHE_VERSION, "0.1.0+old", 1000), &ours),
            None
        );
        assert_eq!(overwrite_refusal(&w(3, "0.1.0+old", 0), &ours), None);
        // a newer binary's cache, or a newer layout: kept, and said why
        let old = w(CACHE_VERSION, "0.1.0+old", 1000);
        let why = overwrite_refusal(&ours, &old).expect("refused");
        assert!(why.contains("0.1.0+new") && why.contains("1000 s"), "{why}");
        let why = overwrite_refusal(&w(CACHE_VERSION + 1, "x", 0), &ours).expect("refused");
        assert!(why.contains("layout"), "{why}");
        // the writer is read from any layout, and not from garbage
        let dir = std::env::temp_dir().join(format!("nnc-cal-writer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("host.json");
        std::fs::write(
            &p,
            r#"{"version": 99, "nnc_version": "9+z", "nnc_built": 7, "new": []}"#,
        )
        .unwrap();
        assert_eq!(writer_of(&p), Some(w(99, "9+z", 7)));
        std::fs::write(&p, "[1, 2]").unwrap();
        assert_eq!(writer_of(&p), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
