//! `nnc calibrate`: measure this machine and nnc's kernels on it (cached for
//! `--platform host`): the FMA peak and the triad bandwidth, the bandwidth of
//! each level of the memory hierarchy (working-set sweep, one thread and all
//! threads), and the speed of each kernel class over a sweep of synthetic
//! networks built with nnc's own code generator ([`sweep`]), from which a
//! small model per class is fitted (`nnc_analysis::model`).

mod sweep;

use crate::exit;
use crate::outfile;
use crate::output::outln;
use nnc_analysis::calibrate::Calibration;
use nnc_analysis::model::{fit_class, fit_epilogue, HostModel, Sample};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

/// Writes the calibration cache by the output-file rules (docs/outputs.md):
/// atomic replacement, the mode kept, a device written to and never replaced.
pub fn write_cache(p: &Path, bytes: &[u8]) -> Result<(), nnc_analysis::calibrate::WriteError> {
    Ok(outfile::write(p, bytes, outfile::Mode::Data)?)
}

/// This nnc's version and a fingerprint of its kernels (code generator and
/// runtime sources): a kernel model fitted by another nnc is stale.
pub fn nnc_version() -> String {
    format!(
        "{}+{}",
        env!("CARGO_PKG_VERSION"),
        option_env!("NNC_KERNELS_FINGERPRINT").unwrap_or("unknown")
    )
}

/// The cached calibration with its kernel model, if there is one; says on
/// stderr (once per call) when it is stale, and drops a model measured on
/// another CPU or instruction set.
pub fn host_model() -> Option<HostModel> {
    let path = nnc_analysis::calibrate::cache_path()?;
    let c = nnc_analysis::calibrate::load(&path)?;
    let model = c.model.clone()?;
    let why = nnc_analysis::calibrate::staleness(&c, &nnc_version());
    if why.is_empty() {
        return model.is_calibrated().then_some(model);
    }
    eprintln!(
        "warning: the calibration cache `{}` is stale ({}); run `nnc calibrate` again",
        path.display(),
        why.join("; ")
    );
    let other_machine = c.cpu != nnc_analysis::calibrate::cpu_name();
    (!other_machine && model.is_calibrated()).then_some(model)
}

/// Builds one sweep network into `dir`; the executable's path and the
/// executed plan's kernels.
fn build(
    name: &str,
    text: &str,
    dir: &Path,
) -> Result<(std::path::PathBuf, Vec<nnc_analysis::model::KernelDesc>), String> {
    let c = crate::frontend::compile_bytes(name, text.as_bytes(), None);
    let g = c
        .graph
        .ok_or_else(|| format!("sweep network `{name}` does not compile"))?;
    // timed on deterministic (non-zero) weights, like a network without a weights file
    let w = nnc_interp::weights::try_init_deterministic(&g, 1).map_err(|e| e.to_string())?;
    let kernels = nnc_codegen::executed::describe_graph(&g)?;
    let opts = nnc_codegen::BuildOptions::default();
    let sub = dir.join(name);
    let art = nnc_codegen::compile(&g, &w, &opts, nnc_codegen::Emit::Obj, &sub)?;
    let exe = sub.join(name);
    crate::runtime_lib::link(&art.objects, &exe)?;
    Ok((exe, kernels))
}

/// Measuring rounds per sweep network and thread count (the median is kept).
const ROUNDS: usize = 3;

pub fn run(json: bool, quick: bool, force: bool) -> u8 {
    let t0 = Instant::now();
    eprintln!("measuring FMA throughput and memory bandwidth on all cores...");
    let mut c = nnc_analysis::calibrate();
    if quick {
        return finish(c, json, force);
    }
    eprintln!(
        "measuring the memory hierarchy (16 KiB to 64 MiB, 1 and {} threads)...",
        c.threads
    );
    let bandwidth = nnc_analysis::hierarchy::measure(c.threads);
    let mut model = HostModel {
        cores: c.threads,
        peak_gflops_1t: c.peak_gflops_1t,
        bandwidth,
        classes: BTreeMap::new(),
        gap_ms_1t: 0.0,
        gap_ms_all: 0.0,
        epilogue: 0.0,
        speed: 1.0,
    };
    let thread_counts: Vec<usize> = if c.threads > 1 {
        vec![1, c.threads]
    } else {
        vec![1]
    };
    let nets = sweep::networks();
    eprintln!(
        "building and profiling {} synthetic networks (kernel sweep, {} thread count{})...",
        nets.len(),
        thread_counts.len(),
        if thread_counts.len() == 1 { "" } else { "s" }
    );
    let tmp = match tempfile::Builder::new().prefix("nnc-calibrate-").tempdir() {
        Ok(t) => t,
        Err(e) => {
            crate::output::usage_error(format!("cannot create a temporary directory: {e}"));
            return exit::USAGE;
        }
    };
    let _guard = crate::cleanup::register(tmp.path().to_path_buf());
    let mut samples: BTreeMap<String, Vec<Sample>> = BTreeMap::new();
    let mut gaps: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
    let mut failures = Vec::new();
    let (mut build_s, mut run_s) = (0.0, 0.0);
    let t_sweep = Instant::now();
    for (name, text) in &nets {
        let tb = Instant::now();
        let built = build(name, text, tmp.path());
        build_s += tb.elapsed().as_secs_f64();
        let tr = Instant::now();
        let (exe, kernels) = match built {
            Ok(x) => x,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        for &t in &thread_counts {
            match sweep::profile(&exe, t, ROUNDS, 30) {
                Some(m) => {
                    gaps.entry(t).or_default().push(m.gap_ms);
                    for s in sweep::samples(&kernels, &m, t) {
                        samples.entry(s.kernel.class.clone()).or_default().push(s);
                    }
                }
                None => failures.push(format!("{name}: profiling with {t} threads failed")),
            }
        }
        run_s += tr.elapsed().as_secs_f64();
    }
    eprintln!(
        "  sweep took {:.1} s: building {build_s:.1} s, profiling {run_s:.1} s (machine measurements before it: {:.1} s)",
        t_sweep.elapsed().as_secs_f64(),
        (t_sweep - t0).as_secs_f64()
    );
    // the gap between kernels: the median over the sweep networks
    let mut gap = |t: usize| {
        gaps.get_mut(&t)
            .map_or(0.0, |v| nnc_analysis::model::median(v))
            .max(0.0)
    };
    model.gap_ms_1t = gap(1);
    model.gap_ms_all = gap(c.threads);
    // a class is fitted on its kernels without a transcendental epilogue;
    // the epilogue's multiplier then on the others, on top of their class
    for (class, ss) in &samples {
        let plain: Vec<Sample> = ss
            .iter()
            .filter(|s| s.kernel.epilogue_flops == 0)
            .cloned()
            .collect();
        let fit = fit_class(&model, &plain).or_else(|| fit_class(&model, ss));
        if let Some(f) = fit {
            model.classes.insert(class.clone(), f);
        }
    }
    let all: Vec<Sample> = samples.values().flatten().cloned().collect();
    if let Some((e, _, _)) = fit_epilogue(&model, &all) {
        model.epilogue = e;
    }
    for f in &failures {
        eprintln!("warning: {f}");
    }
    c.nnc_version = nnc_version();
    c.model = Some(model);
    c.seconds = t0.elapsed().as_secs_f64();
    finish(c, json, force)
}

/// `nnc calibrate --refresh` (`write`) and `--probe`: the one-core FMA peak
/// now against the one the cached model was fitted at; `--refresh` stores
/// the ratio as the model's speed, so that later predictions follow the
/// machine.
pub fn refresh(json: bool, write: bool, force: bool) -> u8 {
    let cached = nnc_analysis::calibrate::cache_path()
        .and_then(|p| nnc_analysis::calibrate::load(&p).map(|c| (p, c)));
    let Some((path, mut c)) = cached else {
        crate::output::usage_error(
            "no calibration to refresh: run `nnc calibrate` first (it fits the kernel model that \
             --refresh rescales)",
        );
        return exit::USAGE;
    };
    let Some(fitted_at) = c
        .model
        .as_ref()
        .map(|m| m.peak_gflops_1t)
        .filter(|p| p.is_finite() && *p > 0.0)
    else {
        crate::output::usage_error(format!(
            "the calibration `{}` has no kernel model (it was made with --quick): run `nnc calibrate`",
            path.display()
        ));
        return exit::USAGE;
    };
    let why = nnc_analysis::calibrate::staleness(&c, &nnc_version());
    if !why.is_empty() {
        crate::output::usage_error(format!(
            "the calibration `{}` is stale ({}): run `nnc calibrate`, a refresh only rescales a model that fits",
            path.display(),
            why.join("; ")
        ));
        return exit::USAGE;
    }
    let now = nnc_analysis::calibrate::probe_gflops_1t();
    let speed = now / fitted_at;
    let r = nnc_analysis::calibrate::Refresh {
        timestamp: nnc_analysis::calibrate::unix_now(),
        peak_gflops_1t: now,
        speed,
    };
    if json {
        outln!(
            "{}",
            serde_json::json!({
                "peak_gflops_1t": now,
                "fitted_peak_gflops_1t": fitted_at,
                "speed": speed,
                "cached_speed": c.model.as_ref().map_or(1.0, |m| m.speed_factor()),
                "calibrated": c.timestamp,
                "written": write,
            })
        );
    } else {
        outln!(
            "speed:      {speed:.3}x the calibration's (one-core FMA peak {now:.1} GFLOP/s now, {fitted_at:.1} when the model was fitted)"
        );
    }
    if !write {
        return exit::OK;
    }
    if let Some(m) = c.model.as_mut() {
        m.speed = speed;
    }
    c.refreshed = Some(r);
    let ours = nnc_analysis::calibrate::Writer {
        version: c.version,
        nnc_version: nnc_version(),
        nnc_built: nnc_analysis::calibrate::binary_built(),
    };
    if !force {
        if let Some(why) = nnc_analysis::calibrate::writer_of(&path)
            .and_then(|old| nnc_analysis::calibrate::overwrite_refusal(&old, &ours))
        {
            eprintln!(
                "warning: not refreshing the calibration cache `{}`: {why}; run the newer nnc, or pass --force",
                path.display()
            );
            return exit::OK;
        }
    }
    match nnc_analysis::calibrate::save(&path, &c, &write_cache) {
        Ok(()) => {
            if !json {
                outln!(
                    "cached in:  {} (predictions now divided by {speed:.3})",
                    path.display()
                );
            }
            exit::OK
        }
        Err(e) => {
            eprintln!("error: could not write the calibration cache: {e}");
            exit::INPUT_ERRORS
        }
    }
}

/// Caches and prints a calibration. A cache a newer nnc binary wrote is
/// kept (said on stderr) unless `force`.
fn finish(mut c: Calibration, json: bool, force: bool) -> u8 {
    if c.nnc_version.is_empty() {
        c.nnc_version = nnc_version();
    }
    c.nnc_built = nnc_analysis::calibrate::binary_built();
    let ours = nnc_analysis::calibrate::Writer {
        version: c.version,
        nnc_version: c.nnc_version.clone(),
        nnc_built: c.nnc_built,
    };
    let refusal = nnc_analysis::calibrate::cache_path().and_then(|p| {
        let old = nnc_analysis::calibrate::writer_of(&p)?;
        let why = nnc_analysis::calibrate::overwrite_refusal(&old, &ours)?;
        Some((p, why))
    });
    let cached = match nnc_analysis::calibrate::cache_path() {
        Some(p) if !force && refusal.is_some() => {
            let why = refusal.map(|r| r.1).unwrap_or_default();
            eprintln!(
                "warning: not replacing the calibration cache `{}`: {why}; \
                 run the newer nnc, or pass --force",
                p.display()
            );
            None
        }
        Some(p) => match nnc_analysis::calibrate::save(&p, &c, &write_cache) {
            Ok(()) => Some(p),
            Err(e) => {
                eprintln!("warning: could not cache the result: {e}");
                None
            }
        },
        None => {
            eprintln!("warning: no cache directory (set XDG_CACHE_HOME or HOME) — the result is not cached");
            None
        }
    };
    if json {
        outln!("{}", serde_json::to_string_pretty(&c).unwrap_or_default());
    } else {
        print_text(&c);
        if let Some(p) = cached {
            outln!("cached in:  {} (used by --platform host)", p.display());
        }
    }
    exit::OK
}

fn print_text(c: &Calibration) {
    outln!("cpu:        {}", c.cpu);
    outln!("isa:        {}", c.isa);
    outln!("nnc:        {}", c.nnc_version);
    outln!("threads:    {}", c.threads);
    outln!(
        "peak:       {:.1} GFLOP/s (fp32 FMA, all cores), {:.1} on one core",
        c.peak_gflops,
        c.peak_gflops_1t
    );
    outln!(
        "bandwidth:  {:.1} GB/s (streaming, all cores), {:.1} on one core",
        c.bandwidth_gbs,
        c.bandwidth_gbs_1t
    );
    let Some(m) = &c.model else { return };
    outln!("memory hierarchy (triad GB/s by working set):");
    for p in &m.bandwidth {
        outln!(
            "  {:>9}  {:>7.1} (1 thread)  {:>7.1} ({} threads)",
            human_bytes(p.bytes),
            p.gbs_1t,
            p.gbs_all,
            m.cores
        );
    }
    outln!(
        "between kernels: {:.4} ms per kernel (1 thread), {:.4} ms ({} threads)",
        m.gap_ms_1t,
        m.gap_ms_all,
        m.cores
    );
    outln!("kernel classes (t = a + b·compute + m·memory + s·split; error: median |pred/meas − 1| on the sweep; noise: median (max − min) / median of the {ROUNDS} rounds):");
    for (class, f) in &m.classes {
        let eff = if f.b > 0.0 {
            format!("{:>5.1}% of peak", 100.0 / f.b)
        } else {
            "memory-bound".to_string()
        };
        outln!(
            "  {:<16} a {:>7.4} ms  b {:>6.2} ({eff})  m {:>5.2}  s {:>7.4} ms  n {:>3}  error {:>5.1}%  noise {:>5.1}%",
            class,
            f.a,
            f.b,
            f.m,
            f.s,
            f.samples,
            100.0 * f.median_error,
            100.0 * f.dispersion
        );
    }
    outln!(
        "epilogue:   sigmoid/tanh/SiLU/GELU fused into a kernel cost {:.2}x their flops at one core's peak, on top of the kernel's class",
        m.epilogue
    );
    outln!("took:       {:.1} s", c.seconds);
}

fn human_bytes(b: u64) -> String {
    if b >= 1 << 20 {
        format!("{} MiB", b >> 20)
    } else {
        format!("{} KiB", b >> 10)
    }
}
