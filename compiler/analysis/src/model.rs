//! The latency model of the executed plan: what each kernel nnc emits costs
//! on this machine with T threads.
//!
//! The input is the executed plan, one [`KernelDesc`] per kernel (after
//! batchnorm folding and fusion; the code generator describes its own plan,
//! see `nnc_codegen::executed`). Kernels fall into classes by the code that
//! runs them (`conv1x1`, `conv_direct`, `depthwise`, `linear`, `pool`,
//! `eltwise`, ...). For a kernel of class `c` on `T` threads:
//!
//! ```text
//! T' = min(T, tasks, cores)                 threads that get work
//! f  = ceil(tasks / T') / tasks             share of the busiest thread
//! x₁ = f · flops / peak₁                    compute time at the FMA peak of one core
//! x₂ = act / bw(bytes, T')                  memory time of the activations at the
//!    + w / bw(reuse, T')                    bandwidth of the level the kernel's working
//!                                           set fits in, of the weights at the level the
//!                                           whole inference's footprint fits in
//! p  = 1 if T' > 1 else 0                   the call is split between threads
//! t  = a + b · x₁ + m · x₂ + s · p          a, b, m, s ≥ 0 fitted per class
//! ```
//!
//! `a` is the fixed cost of a call (dispatch, tails), `1/b` the fraction of
//! the peak the class reaches, `m` how far it is from streaming its bytes,
//! `s` the cost of splitting a call between threads (wake-up, join). One fit
//! per class covers every thread count: the samples at one thread and at all
//! threads are fitted together, the thread count entering only through the
//! busiest thread's share and the bandwidth, so that the few noisy
//! all-thread samples cannot give a class a different efficiency.
//!
//! A whole inference takes longer than the sum of its kernels: between two
//! kernels the runtime dispatches the next call and the thread pool wakes
//! and joins. The calibration measures that gap per kernel on the sweep
//! networks (wall time of an inference minus the sum of its kernels' own
//! times, over the kernels), at one thread and at all threads; the network's
//! prediction is the sum of its kernels plus one gap per kernel
//! ([`HostModel::plan_ms`]).
//!
//! The coefficients are fitted by `nnc calibrate` on synthetic sweeps
//! ([`fit_class`]), never on a network. A class without a fit is priced with
//! [`ClassFit::fallback`].

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One executed kernel, as the cost model sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KernelDesc {
    /// Name of the executed node (a fused node keeps its conv's name).
    pub name: String,
    /// Op of the executed node (`fused`, `conv2d`, `relu`, ...).
    pub op: String,
    /// Kernel class (see the module documentation).
    pub class: String,
    /// Floating-point operations (a multiply-add counts 2); for a Winograd
    /// convolution, the direct conv's scaled by the code generator's cycle
    /// estimate of Winograd over direct (the work that runs).
    pub flops: u64,
    /// Multiply-adds of the executed kernel (0 for data movement).
    pub mult_adds: u64,
    /// Bytes the kernel reads and writes once each: inputs, packed weights,
    /// output (its memory access cost as executed).
    pub bytes: u64,
    /// Of `bytes`, the packed weights (and bias).
    #[serde(default)]
    pub weight_bytes: u64,
    /// Bytes the whole plan touches between two uses of these weights (all
    /// weights and the activation arena: one inference). Weights are read
    /// once per inference, so they come from the level that holds this
    /// footprint, not from the kernel's own working set.
    #[serde(default)]
    pub reuse_bytes: u64,
    /// Tasks the kernel is split into (`nnc_parallel_for`).
    pub tasks: u64,
    /// Floating-point operations of a transcendental activation (sigmoid,
    /// tanh, SiLU, GELU) applied in the kernel's epilogue, counted as a
    /// stand-alone activation kernel counts them (20 per element); 0 when
    /// the epilogue has none. Priced by [`HostModel::epilogue`].
    #[serde(default)]
    pub epilogue_flops: u64,
    /// Names of the source-graph nodes this kernel stands for.
    pub origins: Vec<String>,
}

/// The bandwidth of one working-set size.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BandwidthPoint {
    /// Working set, bytes.
    pub bytes: u64,
    /// GB/s with one thread.
    pub gbs_1t: f64,
    /// GB/s with all threads (the working set split between them).
    pub gbs_all: f64,
}

/// Fitted coefficients of one class.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassFit {
    /// Fixed cost per call, ms.
    pub a: f64,
    /// Multiplier of the compute time at one core's peak.
    pub b: f64,
    /// Multiplier of the memory time.
    pub m: f64,
    /// Extra cost of a call split between threads, ms.
    pub s: f64,
    /// Samples the fit used.
    pub samples: usize,
    /// Median |predicted / measured − 1| over those samples.
    pub median_error: f64,
    /// Median dispersion of those samples over their measuring rounds,
    /// (max − min) / median: how much of the error is the machine's noise.
    #[serde(default)]
    pub dispersion: f64,
}

impl ClassFit {
    /// The time for features `(x₁, x₂, p)`, ms.
    pub fn eval(&self, (x1, x2, p): (f64, f64, f64)) -> f64 {
        self.a + self.b * x1 + self.m * x2 + self.s * p
    }

    /// The coefficients of a class without calibration: 3 µs per call, half
    /// the FMA peak, streaming bandwidth.
    pub fn fallback() -> ClassFit {
        ClassFit {
            a: 0.003,
            b: 2.0,
            m: 1.0,
            s: 0.005,
            samples: 0,
            median_error: f64::NAN,
            dispersion: f64::NAN,
        }
    }
}

/// The calibrated model of one machine.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HostModel {
    /// Cores (threads) of the all-thread figures.
    pub cores: usize,
    /// fp32 GFLOP/s of one core (FMA loop).
    pub peak_gflops_1t: f64,
    /// Bandwidth by working-set size, ascending.
    pub bandwidth: Vec<BandwidthPoint>,
    /// Fits per class.
    pub classes: BTreeMap<String, ClassFit>,
    /// Time between kernels of an inference, per kernel, with one thread, ms.
    #[serde(default)]
    pub gap_ms_1t: f64,
    /// The same with all threads, ms.
    #[serde(default)]
    pub gap_ms_all: f64,
    /// Multiplier of the compute time, at one core's peak, of a kernel's
    /// transcendental epilogue ([`KernelDesc::epilogue_flops`]): fitted on
    /// the sweep's convolutions with SiLU epilogues, on top of their class
    /// ([`fit_epilogue`]); 0 without a fit.
    #[serde(default)]
    pub epilogue: f64,
    /// The machine's speed now relative to when the model was fitted: the
    /// one-core FMA peak re-measured by `nnc calibrate --refresh` over
    /// [`HostModel::peak_gflops_1t`]. Every predicted time is divided by it.
    /// 1 after a calibration; a value that is not finite and positive
    /// counts as 1.
    #[serde(default = "unit_speed")]
    pub speed: f64,
}

fn unit_speed() -> f64 {
    1.0
}

/// The threads that get work, `T'`, and the busiest one's share of the
/// kernel's tasks, `f`.
fn busiest_share(m: &HostModel, k: &KernelDesc, threads: usize) -> (u64, f64) {
    let tasks = k.tasks.max(1);
    let t = (threads.max(1) as u64)
        .min(tasks)
        .min(m.cores.max(1) as u64);
    (t, tasks.div_ceil(t) as f64 / tasks as f64)
}

/// Milliseconds of `flops` at one core's FMA peak.
fn at_peak_ms(m: &HostModel, flops: u64) -> f64 {
    flops as f64 / (m.peak_gflops_1t.max(1e-3) * 1e6)
}

/// A figure read from a cache or computed from one: finite and ≥ 0, else 0.
fn non_negative(v: f64) -> f64 {
    if v.is_finite() {
        v.max(0.0)
    } else {
        0.0
    }
}

/// The features of a kernel at a thread count: `(x₁, x₂, p)` (ms, ms, 0/1).
pub fn features(m: &HostModel, k: &KernelDesc, threads: usize) -> (f64, f64, f64) {
    let (t, f) = busiest_share(m, k, threads);
    let x1 = f * at_peak_ms(m, k.flops);
    let bw = m.bandwidth_at(k.bytes, t as usize).max(1e-3);
    let w = k.weight_bytes.min(k.bytes);
    let bw_w = m
        .bandwidth_at(k.reuse_bytes.max(k.bytes), t as usize)
        .max(1e-3);
    let x2 = (k.bytes - w) as f64 / (bw * 1e6) + w as f64 / (bw_w * 1e6);
    (x1, x2, if t > 1 { 1.0 } else { 0.0 })
}

/// The compute time, at one core's peak, of a kernel's transcendental
/// epilogue on the busiest of `threads` threads, ms (before
/// [`HostModel::epilogue`]).
pub fn epilogue_x(m: &HostModel, k: &KernelDesc, threads: usize) -> f64 {
    busiest_share(m, k, threads).1 * at_peak_ms(m, k.epilogue_flops)
}

impl HostModel {
    /// GB/s for a working set of `bytes` with `threads` threads:
    /// interpolated in log(bytes) between the measured points, linearly in
    /// threads between one and all.
    pub fn bandwidth_at(&self, bytes: u64, threads: usize) -> f64 {
        let pts = &self.bandwidth;
        if pts.is_empty() {
            return 10.0;
        }
        let at = |p: &BandwidthPoint| {
            let c = self.cores.max(1);
            if threads <= 1 || c <= 1 {
                p.gbs_1t
            } else {
                let s = ((threads.min(c) - 1) as f64) / ((c - 1) as f64);
                p.gbs_1t + s * (p.gbs_all - p.gbs_1t)
            }
        };
        let x = (bytes.max(1) as f64).ln();
        let first = &pts[0];
        if bytes <= first.bytes {
            return at(first);
        }
        for w in pts.windows(2) {
            let (p, q) = (&w[0], &w[1]);
            if bytes <= q.bytes {
                let (xp, xq) = ((p.bytes as f64).ln(), (q.bytes as f64).ln());
                let s = if xq > xp { (x - xp) / (xq - xp) } else { 1.0 };
                return at(p) + s * (at(q) - at(p));
            }
        }
        at(&pts[pts.len() - 1])
    }

    /// The fit of `class`, or the fallback.
    pub fn fit(&self, class: &str) -> ClassFit {
        self.classes
            .get(class)
            .copied()
            .unwrap_or_else(ClassFit::fallback)
    }

    /// Predicted time of one kernel on `threads` threads, ms.
    pub fn predict(&self, k: &KernelDesc, threads: usize) -> f64 {
        let f = self.fit(&k.class);
        let e = non_negative(self.epilogue);
        non_negative(f.eval(features(self, k, threads)) + e * epilogue_x(self, k, threads))
            / self.speed_factor()
    }

    /// [`HostModel::speed`] where it is usable, else 1.
    pub fn speed_factor(&self) -> f64 {
        if self.speed.is_finite() && self.speed > 0.0 {
            self.speed
        } else {
            1.0
        }
    }

    /// The time between two kernels on `threads` threads, ms: the measured
    /// gap at one thread, or at all threads for more.
    pub fn gap_ms(&self, threads: usize) -> f64 {
        non_negative(if threads > 1 && self.cores > 1 {
            self.gap_ms_all
        } else {
            self.gap_ms_1t
        }) / self.speed_factor()
    }

    /// Predicted time of a whole plan on `threads` threads, ms: its kernels
    /// and the gap after each.
    pub fn plan_ms(&self, kernels: &[KernelDesc], threads: usize) -> f64 {
        predict_plan(self, kernels, threads).iter().sum::<f64>()
            + kernels.len() as f64 * self.gap_ms(threads)
    }

    /// Whether the model has any calibrated class.
    pub fn is_calibrated(&self) -> bool {
        !self.classes.is_empty() && self.peak_gflops_1t > 0.0
    }
}

/// One measured sample of a class: the kernel and its measured time, ms.
#[derive(Clone, Debug)]
pub struct Sample {
    pub kernel: KernelDesc,
    pub threads: usize,
    pub measured_ms: f64,
    /// Dispersion of the measurement over its rounds, (max − min) / median.
    pub spread: f64,
}

/// Smallest number of samples a class is fitted from.
pub const MIN_SAMPLES: usize = 4;

/// Fits `a, b, m, s ≥ 0` of one class from its samples (any thread
/// counts), minimizing the squared *relative* error (each row divided by
/// its measured time), so that small kernels count as much as large ones.
/// Non-negative least squares by enumeration of the 2⁴ active sets.
pub fn fit_class(m: &HostModel, samples: &[Sample]) -> Option<ClassFit> {
    let good: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.measured_ms > 0.0 && s.measured_ms.is_finite())
        .collect();
    if good.len() < MIN_SAMPLES {
        return None;
    }
    let rows: Vec<([f64; 4], f64)> = good
        .iter()
        .map(|s| {
            let (x1, x2, p) = features(m, &s.kernel, s.threads);
            let w = 1.0 / s.measured_ms;
            ([w, x1 * w, x2 * w, p * w], 1.0)
        })
        .collect();
    // nothing runs faster than the FMA peak: b < 1 is refitted with b = 1
    let mut best = nnls(&rows, None);
    if best.is_some_and(|c| c[1] < 1.0) && rows.iter().any(|(x, _)| x[1] > 0.0) {
        best = nnls(&rows, Some((1, 1.0))).or(best);
    }
    let c = best?;
    let fit = ClassFit {
        a: c[0],
        b: c[1],
        m: c[2],
        s: c[3],
        samples: rows.len(),
        median_error: 0.0,
        dispersion: 0.0,
    };
    let mut errs: Vec<f64> = good
        .iter()
        .map(|s| (fit.eval(features(m, &s.kernel, s.threads)) / s.measured_ms - 1.0).abs())
        .collect();
    let mut spreads: Vec<f64> = good.iter().map(|s| s.spread).collect();
    Some(ClassFit {
        median_error: median(&mut errs),
        dispersion: median(&mut spreads),
        ..fit
    })
}

/// Fits [`HostModel::epilogue`] (≥ 0) from the samples whose kernels have a
/// transcendental epilogue, on top of their classes' fits already in `m`:
/// the least-squares multiplier of [`epilogue_x`] for the time the class
/// leaves unexplained, rows weighted by 1 / measured as in [`fit_class`].
/// Returns the multiplier, the samples used and their median
/// |predicted / measured − 1| with it. None with fewer than
/// [`MIN_SAMPLES`] such samples.
pub fn fit_epilogue(m: &HostModel, samples: &[Sample]) -> Option<(f64, usize, f64)> {
    let good: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.kernel.epilogue_flops > 0 && s.measured_ms > 0.0 && s.measured_ms.is_finite())
        .collect();
    if good.len() < MIN_SAMPLES {
        return None;
    }
    let (mut num, mut den) = (0.0, 0.0);
    for s in &good {
        let base = m
            .fit(&s.kernel.class)
            .eval(features(m, &s.kernel, s.threads));
        let x = epilogue_x(m, &s.kernel, s.threads) / s.measured_ms;
        let r = (s.measured_ms - base) / s.measured_ms;
        num += x * r;
        den += x * x;
    }
    if den <= 0.0 || !num.is_finite() {
        return None;
    }
    let e = (num / den).max(0.0);
    let with = HostModel {
        epilogue: e,
        ..m.clone()
    };
    let mut errs: Vec<f64> = good
        .iter()
        .map(|s| (with.predict(&s.kernel, s.threads) / s.measured_ms - 1.0).abs())
        .collect();
    Some((e, good.len(), median(&mut errs)))
}

/// Non-negative least squares on `rows` by enumeration of the active sets,
/// with column `fixed.0` held at `fixed.1` if given.
fn nnls(rows: &[([f64; 4], f64)], fixed: Option<(usize, f64)>) -> Option<[f64; 4]> {
    let rows: Vec<([f64; 4], f64)> = match fixed {
        Some((i, v)) => rows.iter().map(|(x, y)| (*x, y - x[i] * v)).collect(),
        None => rows.to_vec(),
    };
    // with a fixed column, all other coefficients 0 is a candidate too
    let mut best: Option<([f64; 4], f64)> =
        fixed.map(|_| ([0.0; 4], rows.iter().map(|(_, y)| y * y).sum()));
    for mask in 1u32..16 {
        if fixed.is_some_and(|(i, _)| mask & (1 << i) != 0) {
            continue;
        }
        let idx: Vec<usize> = (0..4).filter(|i| mask & (1 << i) != 0).collect();
        let Some(sol) = least_squares(&rows, &idx) else {
            continue;
        };
        if sol.iter().any(|&v| v < 0.0 || !v.is_finite()) {
            continue;
        }
        let mut coef = [0.0; 4];
        for (j, &i) in idx.iter().enumerate() {
            coef[i] = sol[j];
        }
        let sse: f64 = rows
            .iter()
            .map(|(x, y)| {
                let p: f64 = (0..4).map(|i| x[i] * coef[i]).sum();
                (p - y) * (p - y)
            })
            .sum();
        if best.as_ref().is_none_or(|b| sse < b.1 * (1.0 - 1e-12)) {
            best = Some((coef, sse));
        }
    }
    let mut c = best?.0;
    if let Some((i, v)) = fixed {
        c[i] = v;
    }
    Some(c)
}

/// The median of `v` (sorted in place); NaN when empty.
pub fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// Least squares on the columns `idx` of `rows` (normal equations, Gaussian
/// elimination with partial pivoting); None if singular.
fn least_squares(rows: &[([f64; 4], f64)], idx: &[usize]) -> Option<Vec<f64>> {
    let k = idx.len();
    let mut a = vec![vec![0.0; k + 1]; k];
    for (x, y) in rows {
        for r in 0..k {
            for c in 0..k {
                a[r][c] += x[idx[r]] * x[idx[c]];
            }
            a[r][k] += x[idx[r]] * y;
        }
    }
    for col in 0..k {
        let piv = (col..k).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[piv][col].abs() < 1e-300 {
            return None;
        }
        a.swap(col, piv);
        let pivot_row = a[col].clone();
        for (r, row) in a.iter_mut().enumerate() {
            if r != col {
                let f = row[col] / pivot_row[col];
                for (v, p) in row.iter_mut().zip(&pivot_row).skip(col) {
                    *v -= f * p;
                }
            }
        }
    }
    Some((0..k).map(|i| a[i][k] / a[i][i]).collect())
}

/// The predicted times of an executed plan: per kernel, ms.
pub fn predict_plan(m: &HostModel, kernels: &[KernelDesc], threads: usize) -> Vec<f64> {
    kernels.iter().map(|k| m.predict(k, threads)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> HostModel {
        HostModel {
            cores: 2,
            peak_gflops_1t: 100.0,
            bandwidth: vec![
                BandwidthPoint {
                    bytes: 1 << 15,
                    gbs_1t: 200.0,
                    gbs_all: 400.0,
                },
                BandwidthPoint {
                    bytes: 1 << 25,
                    gbs_1t: 20.0,
                    gbs_all: 30.0,
                },
            ],
            classes: BTreeMap::new(),
            gap_ms_1t: 0.0,
            gap_ms_all: 0.0,
            epilogue: 0.0,
            speed: 1.0,
        }
    }

    fn kernel(flops: u64, bytes: u64, tasks: u64) -> KernelDesc {
        KernelDesc {
            name: "k".into(),
            op: "conv2d".into(),
            class: "conv1x1".into(),
            flops,
            mult_adds: flops / 2,
            bytes,
            weight_bytes: 0,
            reuse_bytes: 0,
            tasks,
            epilogue_flops: 0,
            origins: vec!["k".into()],
        }
    }

    #[test]
    fn bandwidth_interpolates_by_size_and_threads() {
        let m = model();
        assert_eq!(m.bandwidth_at(1000, 1), 200.0);
        assert_eq!(m.bandwidth_at(1000, 2), 400.0);
        assert_eq!(m.bandwidth_at(1 << 30, 1), 20.0);
        assert_eq!(m.bandwidth_at(1 << 30, 8), 30.0);
        let mid = m.bandwidth_at(1 << 20, 1);
        assert!(mid < 200.0 && mid > 20.0, "{mid}");
    }

    #[test]
    fn weights_come_from_the_level_of_the_whole_inference() {
        let m = model();
        // 1 MB of weights: from L1-speed when the inference fits there, from
        // DRAM speed when it is 1 GB
        let hot = KernelDesc {
            weight_bytes: 1 << 20,
            reuse_bytes: 1 << 14,
            ..kernel(0, 1 << 20, 1)
        };
        let cold = KernelDesc {
            reuse_bytes: 1 << 30,
            ..hot.clone()
        };
        let (_, xh, _) = features(&m, &hot, 1);
        let (_, xc, _) = features(&m, &cold, 1);
        assert!((xc - (1u64 << 20) as f64 / 20e6).abs() < 1e-12, "{xc}");
        assert!(xh < xc, "{xh} {xc}");
    }

    #[test]
    fn speed_divides_every_predicted_time() {
        let mut m = model();
        m.gap_ms_1t = 0.002;
        let k = kernel(100_000_000, 1 << 20, 4);
        let (p, gap) = (m.predict(&k, 1), m.gap_ms(1));
        assert!(p > 0.0 && gap > 0.0);
        m.speed = 1.25;
        assert!((m.predict(&k, 1) - p / 1.25).abs() < 1e-12);
        assert!((m.gap_ms(1) - gap / 1.25).abs() < 1e-12);
        assert!((m.plan_ms(std::slice::from_ref(&k), 1) - (p + gap) / 1.25).abs() < 1e-12);
        // unusable figures (a default model, a corrupt cache) count as 1
        for bad in [0.0, -2.0, f64::NAN, f64::INFINITY] {
            m.speed = bad;
            assert_eq!(m.predict(&k, 1), p);
        }
        // a cache written before the field existed reads as 1
        let mut v = serde_json::to_value(model()).unwrap();
        v.as_object_mut().unwrap().remove("speed");
        let old: HostModel = serde_json::from_value(v).unwrap();
        assert_eq!(old.speed, 1.0);
    }

    #[test]
    fn threads_split_compute_by_tasks() {
        let m = model();
        // 1e8 FLOPs at 100 GFLOP/s = 1 ms on one core.
        let k = kernel(100_000_000, 0, 4);
        assert!((features(&m, &k, 1).0 - 1.0).abs() < 1e-9);
        assert!((features(&m, &k, 2).0 - 0.5).abs() < 1e-9);
        assert_eq!(features(&m, &k, 1).2, 0.0);
        assert_eq!(features(&m, &k, 2).2, 1.0);
        // 3 tasks on 2 threads: the busiest thread runs 2 of 3.
        let k3 = kernel(100_000_000, 0, 3);
        assert!((features(&m, &k3, 2).0 - 2.0 / 3.0).abs() < 1e-9);
        // one task: no speed-up, and the more threads than cores ask, the same
        let k1 = kernel(100_000_000, 0, 1);
        assert!((features(&m, &k1, 2).0 - 1.0).abs() < 1e-9);
        assert_eq!(features(&m, &k1, 2).2, 0.0);
        assert_eq!(features(&m, &k, 16), features(&m, &k, 2));
    }

    #[test]
    fn fit_recovers_known_coefficients() {
        let mut m = model();
        let truth = ClassFit {
            a: 0.01,
            b: 1.7,
            m: 1.2,
            s: 0.004,
            samples: 0,
            median_error: 0.0,
            dispersion: 0.0,
        };
        // both thread counts, tasks 1..8: the split cost only when split
        let samples: Vec<Sample> = (1..12u64)
            .flat_map(|i| [1usize, 2].map(|t| (i, t)))
            .map(|(i, t)| {
                let k = kernel(i * i * 3_000_000, i * 400_000 + i * i * 9_000, 1 + i % 8);
                Sample {
                    measured_ms: truth.eval(features(&m, &k, t)),
                    kernel: k,
                    threads: t,
                    spread: 0.01 * i as f64,
                }
            })
            .collect();
        let f = fit_class(&m, &samples).unwrap();
        assert!((f.a - truth.a).abs() < 1e-6, "{f:?}");
        assert!((f.b - truth.b).abs() < 1e-6, "{f:?}");
        assert!((f.m - truth.m).abs() < 1e-6, "{f:?}");
        assert!((f.s - truth.s).abs() < 1e-6, "{f:?}");
        assert!(f.median_error < 1e-6);
        assert!((f.dispersion - 0.06).abs() < 1e-12, "{f:?}");
        m.classes.insert("conv1x1".into(), f);
        for s in &samples {
            let p = m.predict(&s.kernel, s.threads);
            assert!((p / s.measured_ms - 1.0).abs() < 1e-6);
        }
        // too few samples: no fit
        assert!(fit_class(&m, &samples[..MIN_SAMPLES - 1]).is_none());
        // faster than the peak (b = 0.5 in truth): held at the peak, b = 1
        let fast = ClassFit { b: 0.5, ..truth };
        let quick: Vec<Sample> = samples
            .iter()
            .map(|s| Sample {
                measured_ms: fast.eval(features(&m, &s.kernel, s.threads)),
                ..s.clone()
            })
            .collect();
        let f = fit_class(&m, &quick).unwrap();
        assert_eq!(f.b, 1.0, "{f:?}");
    }

    #[test]
    fn fit_never_goes_negative() {
        let m = model();
        // times that fall with FLOPs: an unconstrained fit gives b < 0
        let samples: Vec<Sample> = (1..6u64)
            .map(|i| Sample {
                kernel: kernel(i * 10_000_000, 1000, 1),
                threads: 1,
                measured_ms: 1.0 / i as f64,
                spread: 0.0,
            })
            .collect();
        let f = fit_class(&m, &samples).unwrap();
        assert!(
            f.a >= 0.0 && f.b >= 0.0 && f.m >= 0.0 && f.s >= 0.0,
            "{f:?}"
        );
    }

    #[test]
    fn a_plan_costs_its_kernels_and_a_gap_after_each() {
        let mut m = model();
        let ks: Vec<KernelDesc> = (1..4).map(|i| kernel(i * 1_000_000, 4096, 4)).collect();
        let sum = |m: &HostModel, t| predict_plan(m, &ks, t).iter().sum::<f64>();
        assert_eq!(m.plan_ms(&ks, 1), sum(&m, 1));
        m.gap_ms_1t = 0.01;
        m.gap_ms_all = 0.03;
        assert!((m.plan_ms(&ks, 1) - sum(&m, 1) - 0.03).abs() < 1e-12);
        assert!((m.plan_ms(&ks, 2) - sum(&m, 2) - 0.09).abs() < 1e-12);
        // a damaged figure counts as no gap
        m.gap_ms_all = f64::NAN;
        assert_eq!(m.plan_ms(&ks, 2), sum(&m, 2));
    }

    #[test]
    fn epilogue_is_fitted_on_what_the_class_leaves_and_priced_per_thread() {
        let mut m = model();
        m.classes.insert(
            "conv1x1".into(),
            ClassFit {
                a: 0.01,
                b: 1.0,
                m: 0.0,
                s: 0.0,
                samples: 4,
                median_error: 0.0,
                dispersion: 0.0,
            },
        );
        // kernels whose epilogue costs 3x its flops at the peak (100 GFLOP/s
        // one core: 10 MFLOP = 0.1 ms)
        let samples: Vec<Sample> = (1..=5u64)
            .map(|i| {
                let k = KernelDesc {
                    epilogue_flops: i * 10_000_000,
                    ..kernel(i * 100_000_000, 0, 1)
                };
                let base = 0.01 + i as f64;
                Sample {
                    kernel: k,
                    threads: 1,
                    measured_ms: base + 3.0 * i as f64 * 0.1,
                    spread: 0.0,
                }
            })
            .collect();
        let (e, n, err) = fit_epilogue(&m, &samples).expect("fit");
        assert_eq!(n, 5);
        assert!((e - 3.0).abs() < 1e-9, "{e}");
        assert!(err < 1e-9, "{err}");
        m.epilogue = e;
        // split over 2 threads: the busiest thread's share of the epilogue
        let k = KernelDesc {
            epilogue_flops: 10_000_000,
            ..kernel(0, 0, 4)
        };
        let p1 = m.predict(&k, 1);
        let p2 = m.predict(&k, 2);
        assert!((p1 - (0.01 + 0.3)).abs() < 1e-9, "{p1}");
        assert!((p2 - (0.01 + 0.15)).abs() < 1e-9, "{p2}");
        // kernels without an epilogue do not take part
        let none: Vec<Sample> = samples
            .iter()
            .map(|s| Sample {
                kernel: KernelDesc {
                    epilogue_flops: 0,
                    ..s.kernel.clone()
                },
                ..s.clone()
            })
            .collect();
        assert!(fit_epilogue(&m, &none).is_none());
    }

    #[test]
    fn uncalibrated_class_uses_the_fallback() {
        let m = model();
        let k = KernelDesc {
            class: "winograd_unknown".into(),
            ..kernel(100_000_000, 0, 1)
        };
        let p = m.predict(&k, 1);
        assert!((p - (0.003 + 2.0)).abs() < 1e-9, "{p}");
        // split between 2 threads: half the compute and the split cost
        let k4 = KernelDesc { tasks: 4, ..k };
        let p2 = m.predict(&k4, 2);
        assert!((p2 - (0.003 + 1.0 + 0.005)).abs() < 1e-9, "{p2}");
    }
}
