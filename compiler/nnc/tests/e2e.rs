//! End-to-end tests of compiled executables: `nnc build` → run the
//! executable → compare its `.npy` outputs.
//!
//! - Every case of `tests/fixtures/` is built with its PyTorch weights and
//!   run on the fixture inputs; every output must be within
//!   `max|d| / max|ref| <= 1e-4` of PyTorch's (`tests/fixtures/README.md`).
//! - Small examples (`examples/*.nn`) are built without weights (`--seed 3`)
//!   and run on the seeded random input, then compared with the reference
//!   interpreter (`nnc run --seed 3`): same deterministic weights and input.
//! - Every executable runs with `--threads 1` and `--threads 2`, which must
//!   agree (within the same tolerance; bitwise equality is reported).
//!
//! Builds run on a small pool of threads (`NNC_E2E_JOBS`, default: the
//! number of cores). The interpreter is unoptimized in debug builds of nnc,
//! so the default example set leaves out the big networks; `NNC_E2E_ALL=1`
//! takes every example (several minutes), and `NNC_E2E_INTERP=path/to/nnc`
//! runs the reference interpreter from another (e.g. release) nnc binary.
//! Timings are printed (`cargo test -p nnc --test e2e -- --nocapture`).

use nnc_interp::fixture::TOLERANCE;
use nnc_interp::npy::read_npy;
use nnc_interp::tensor::Tensor;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

fn nnc() -> &'static str {
    env!("CARGO_BIN_EXE_nnc")
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The nnc binary that runs the reference interpreter.
fn interp_nnc() -> PathBuf {
    match std::env::var_os("NNC_E2E_INTERP") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(nnc()),
    }
}

fn stderr_of(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn run_cmd(cmd: &mut Command) -> Result<(Output, Duration), String> {
    let t = Instant::now();
    let o = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    Ok((o, t.elapsed()))
}

fn check_ok(what: &str, o: &Output) -> Result<(), String> {
    if o.status.code() == Some(0) {
        Ok(())
    } else {
        Err(format!(
            "{what}: exit status {:?}\n--- stderr\n{}--- stdout\n{}",
            o.status.code(),
            stderr_of(o),
            String::from_utf8_lossy(&o.stdout)
        ))
    }
}

fn read_tensor(p: &Path) -> Result<Tensor, String> {
    let b = std::fs::read(p).map_err(|e| format!("cannot read `{}`: {e}", p.display()))?;
    read_npy(&b).map_err(|e| format!("`{}`: {e}", p.display()))
}

/// `max|out - ref| / max|ref|`, an error when beyond the tolerance or when
/// the shapes differ.
fn compare(what: &str, out: &Tensor, reference: &Tensor) -> Result<f64, String> {
    let r = out
        .rel_max_diff(reference)
        .map_err(|e| format!("{what}: {e}"))?;
    if r.is_nan() || r > TOLERANCE {
        return Err(format!(
            "{what}: max|d|/max|ref| = {r:.3e} > {TOLERANCE:e} (max|ref| = {})",
            reference.max_abs()
        ));
    }
    Ok(r)
}

/// The inputs and outputs an executable lists in its `--help`:
/// `(inputs, outputs)`, each `(name, shape)`.
type Slots = (Vec<(String, Vec<usize>)>, Vec<(String, Vec<usize>)>);

fn parse_help(help: &str) -> Result<Slots, String> {
    let mut ins = Vec::new();
    let mut outs = Vec::new();
    let mut section = 0;
    for line in help.lines() {
        if line.starts_with("Inputs") {
            section = 1;
            continue;
        }
        if line.starts_with("Outputs") {
            section = 2;
            continue;
        }
        if !line.starts_with("  ") || line.trim().is_empty() {
            section = 0;
            continue;
        }
        if section == 0 {
            continue;
        }
        let l = line.trim();
        let (name, rest) = l
            .split_once(char::is_whitespace)
            .ok_or_else(|| format!("cannot parse --help line `{line}`"))?;
        let dims = rest
            .trim()
            .strip_prefix('[')
            .and_then(|s| s.strip_suffix(']'))
            .ok_or_else(|| format!("cannot parse the shape in --help line `{line}`"))?;
        let shape = dims
            .split(',')
            .map(|d| d.trim().parse::<usize>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("--help line `{line}`: {e}"))?;
        if section == 1 {
            ins.push((name.to_string(), shape));
        } else {
            outs.push((name.to_string(), shape));
        }
    }
    if outs.is_empty() {
        return Err(format!("no outputs listed by --help:\n{help}"));
    }
    Ok((ins, outs))
}

/// Runs `exe` with `args` plus one `--output NAME=dir/prefix_NAME.npy` per
/// output and returns the outputs read back, with the run time.
fn run_exe(
    exe: &Path,
    args: &[String],
    outputs: &[String],
    dir: &Path,
    prefix: &str,
) -> Result<(Vec<Tensor>, Duration), String> {
    let mut cmd = Command::new(exe);
    cmd.args(args);
    let mut paths = Vec::new();
    for n in outputs {
        let p = dir.join(format!("{prefix}_{n}.npy"));
        cmd.arg("--output").arg(format!("{n}={}", p.display()));
        paths.push(p);
    }
    let (o, t) = run_cmd(&mut cmd)?;
    check_ok(&format!("{} {}", exe.display(), args.join(" ")), &o)?;
    let ts = paths
        .iter()
        .map(|p| read_tensor(p))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((ts, t))
}

/// Compares the `--threads 1` and `--threads 2` outputs; returns whether they
/// are bitwise equal.
fn compare_threads(names: &[String], t1: &[Tensor], t2: &[Tensor]) -> Result<bool, String> {
    let mut bitwise = true;
    for ((n, a), b) in names.iter().zip(t1).zip(t2) {
        compare(&format!("output `{n}`: --threads 2 vs --threads 1"), b, a)?;
        bitwise &= a.shape() == b.shape()
            && a.data()
                .iter()
                .zip(b.data())
                .all(|(x, y)| x.to_bits() == y.to_bits());
    }
    Ok(bitwise)
}

/// Runs `job` over `items` on `NNC_E2E_JOBS` threads; returns the reports
/// and the failures, in item order.
fn parallel<T: Sync, F>(items: &[T], job: F) -> Vec<Result<String, String>>
where
    F: Fn(&T) -> Result<String, String> + Sync,
{
    let workers = std::env::var("NNC_E2E_JOBS")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        })
        .min(items.len().max(1));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<String, String>>>> =
        Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= items.len() {
                    break;
                }
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&items[i])))
                    .unwrap_or_else(|_| Err("the test job panicked".into()));
                eprintln!("{}", r.as_ref().unwrap_or_else(|e| e));
                results.lock().unwrap()[i] = Some(r);
            });
        }
    });
    results
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("not run".into())))
        .collect()
}

fn finish(kind: &str, names: &[String], results: Vec<Result<String, String>>, t: Instant) {
    let failures: Vec<String> = names
        .iter()
        .zip(&results)
        .filter_map(|(n, r)| r.as_ref().err().map(|e| format!("== {n}\n{e}")))
        .collect();
    eprintln!(
        "{kind}: {} cases, {} failed, {:.1} s wall",
        names.len(),
        failures.len(),
        t.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} of {} {kind} failed:\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------- fixtures

fn fixture_case(dir: &Path) -> Result<String, String> {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let exe = tmp.path().join(&name);
    let (o, t_build) = run_cmd(
        Command::new(nnc())
            .arg("build")
            .arg(dir.join("net.nn"))
            .arg("--weights")
            .arg(dir.join("weights.safetensors"))
            .arg("-o")
            .arg(&exe),
    )?;
    check_ok(&format!("{name}: nnc build"), &o)?;
    // Loading the fixture's weights must give no diagnostic at all.
    let err = stderr_of(&o);
    if let Some(l) = err
        .lines()
        .find(|l| l.starts_with("warning") || l.starts_with("error") || l.starts_with("note"))
    {
        return Err(format!(
            "{name}: nnc build printed a diagnostic: {l}\n{err}"
        ));
    }
    let fx = nnc_interp::fixture::load(dir).map_err(|e| e.to_string())?;
    let mut args: Vec<String> = Vec::new();
    for n in fx.inputs.keys() {
        args.push("--input".into());
        args.push(format!(
            "{n}={}",
            dir.join(format!("input_{n}.npy")).display()
        ));
    }
    let names: Vec<String> = fx.outputs.keys().cloned().collect();
    let mut by_threads = Vec::new();
    let mut worst = 0.0f64;
    let mut t_run = Duration::ZERO;
    for threads in [1, 2] {
        let mut a = args.clone();
        a.push("--threads".into());
        a.push(threads.to_string());
        let (outs, t) = run_exe(&exe, &a, &names, tmp.path(), &format!("t{threads}"))?;
        t_run += t;
        for (n, out) in names.iter().zip(&outs) {
            let r = compare(
                &format!("{name}: output `{n}` (--threads {threads}) vs PyTorch"),
                out,
                &fx.outputs[n],
            )?;
            worst = worst.max(r);
        }
        by_threads.push(outs);
    }
    let bitwise = compare_threads(&names, &by_threads[0], &by_threads[1])
        .map_err(|e| format!("{name}: {e}"))?;
    Ok(format!(
        "{name:<28} build {:>6.2} s  run {:>6.3} s  max rel {worst:.1e}  threads 1/2 {}",
        t_build.as_secs_f64(),
        t_run.as_secs_f64(),
        if bitwise {
            "bitwise equal"
        } else {
            "within tolerance"
        }
    ))
}

#[test]
fn fixtures_match_pytorch() {
    let t = Instant::now();
    let root = nnc_interp::fixture::root();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/fixtures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("net.nn").is_file())
        .collect();
    dirs.sort();
    assert!(
        dirs.len() >= 20,
        "expected the fixture cases under {}",
        root.display()
    );
    let names: Vec<String> = dirs
        .iter()
        .map(|d| d.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let results = parallel(&dirs, |d| fixture_case(d));
    finish("fixtures", &names, results, t);
}

// ---------------------------------------------------------------- examples

/// One example network to build and check.
struct Example {
    file: &'static str,
    network: Option<&'static str>,
    /// Compare with the interpreter (else only threads 1 vs 2).
    interp: bool,
}

const fn ex(file: &'static str, network: Option<&'static str>, interp: bool) -> Example {
    Example {
        file,
        network,
        interp,
    }
}

/// The default set: quick to build in a debug nnc (≤ ~7 s each, measured on
/// the 2-core CI machine). The G1 stacks build quickly, but the debug
/// interpreter needs minutes for their 56×56×128 activations, so they are
/// only checked threads-vs-threads by default.
const DEFAULT_EXAMPLES: &[Example] = &[
    ex("mlp.nn", None, true),
    ex("small_cnn.nn", None, true),
    ex("unet_tiny.nn", None, true),
    ex("mobilenet_v3_small.nn", None, true),
    ex("teacher_student.nn", Some("student"), true),
    ex("g1_1_1.nn", None, false),
    ex("g1_1_2.nn", None, false),
    ex("g1_1_6.nn", None, false),
    ex("g1_1_12.nn", None, false),
    ex("g1_1_6_stem.nn", None, false),
];

/// Added with `NNC_E2E_ALL=1` (and the G1 stacks then go to the interpreter too).
const LARGE_EXAMPLES: &[Example] = &[
    ex("teacher_student.nn", Some("teacher"), true),
    ex("shufflenet_v2_x1_0.nn", None, true),
    ex("mobilenet_v2.nn", None, true),
    ex("resnet18.nn", None, true),
    ex("resnet50.nn", None, true),
    ex("swin_t.nn", None, true),
];

const SEED: &str = "3";

fn example_case(e: &Example) -> Result<String, String> {
    let label = match e.network {
        Some(n) => format!("{}:{n}", e.file),
        None => e.file.to_string(),
    };
    let src = workspace().join("examples").join(e.file);
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let exe = tmp.path().join("net");
    let mut build = Command::new(nnc());
    build
        .arg("build")
        .arg(&src)
        .arg("--seed")
        .arg(SEED)
        .arg("-o")
        .arg(&exe);
    if let Some(n) = e.network {
        build.arg("--network").arg(n);
    }
    let (o, t_build) = run_cmd(&mut build)?;
    check_ok(&format!("{label}: nnc build"), &o)?;
    let (o, _) = run_cmd(Command::new(&exe).arg("--help"))?;
    check_ok(&format!("{label}: --help"), &o)?;
    let (_, outs) = parse_help(&String::from_utf8_lossy(&o.stdout))?;
    let names: Vec<String> = outs.iter().map(|(n, _)| n.clone()).collect();
    let mut by_threads = Vec::new();
    let mut t_run = Duration::ZERO;
    for threads in [1, 2] {
        let args: Vec<String> = vec![
            "--seed".into(),
            SEED.into(),
            "--threads".into(),
            threads.to_string(),
        ];
        let (ts, t) = run_exe(&exe, &args, &names, tmp.path(), &format!("t{threads}"))?;
        for ((n, shape), t) in outs.iter().zip(&ts) {
            if t.shape() != shape.as_slice() {
                return Err(format!(
                    "{label}: output `{n}` has shape {:?}, --help says {shape:?}",
                    t.shape()
                ));
            }
        }
        t_run += t;
        by_threads.push(ts);
    }
    let bitwise = compare_threads(&names, &by_threads[0], &by_threads[1])
        .map_err(|e| format!("{label}: {e}"))?;
    let all = std::env::var_os("NNC_E2E_ALL").is_some_and(|v| v == "1");
    let mut interp = String::from("interp skipped");
    if e.interp || all {
        let mut cmd = Command::new(interp_nnc());
        cmd.arg("run").arg(&src).arg("--seed").arg(SEED);
        if let Some(n) = e.network {
            cmd.arg("--network").arg(n);
        }
        let mut paths = Vec::new();
        for n in &names {
            let p = tmp.path().join(format!("ref_{n}.npy"));
            cmd.arg("--output").arg(format!("{n}={}", p.display()));
            paths.push(p);
        }
        let (o, t_interp) = run_cmd(&mut cmd)?;
        check_ok(&format!("{label}: nnc run"), &o)?;
        let mut worst = 0.0f64;
        for ((n, p), out) in names.iter().zip(&paths).zip(&by_threads[0]) {
            let reference = read_tensor(p)?;
            worst = worst.max(compare(
                &format!("{label}: output `{n}` vs the interpreter"),
                out,
                &reference,
            )?);
        }
        interp = format!(
            "interp {:>6.2} s  max rel {worst:.1e}",
            t_interp.as_secs_f64()
        );
    }
    Ok(format!(
        "{label:<28} build {:>6.2} s  run {:>6.3} s  {interp}  threads 1/2 {}",
        t_build.as_secs_f64(),
        t_run.as_secs_f64(),
        if bitwise {
            "bitwise equal"
        } else {
            "within tolerance"
        }
    ))
}

#[test]
fn examples_match_interpreter() {
    let t = Instant::now();
    let all = std::env::var_os("NNC_E2E_ALL").is_some_and(|v| v == "1");
    let mut list: Vec<&Example> = Vec::new();
    // The large ones first, so that they do not end up alone at the end.
    if all {
        list.extend(LARGE_EXAMPLES.iter().rev());
    }
    list.extend(DEFAULT_EXAMPLES.iter());
    let names: Vec<String> = list
        .iter()
        .map(|e| match e.network {
            Some(n) => format!("{}:{n}", e.file),
            None => e.file.to_string(),
        })
        .collect();
    let results = parallel(&list, |e| example_case(e));
    finish("examples", &names, results, t);
}

#[test]
fn help_parser() {
    let help = "Usage: x\n\nInputs (.npy, ...):\n  image  [1, 3, 32, 32]\nOutputs:\n  logits  [1, 10]\n  probs  [1, 10]\n\nOptions:\n  --input NAME=FILE.npy  read\n";
    let (i, o) = parse_help(help).unwrap();
    assert_eq!(i, vec![("image".to_string(), vec![1, 3, 32, 32])]);
    assert_eq!(
        o,
        vec![
            ("logits".to_string(), vec![1, 10]),
            ("probs".to_string(), vec![1, 10])
        ]
    );
    assert!(parse_help("Usage: x\n").is_err());
}

#[test]
fn compare_rejects_beyond_tolerance() {
    let r = Tensor::new(vec![4], vec![1.0, -2.0, 0.5, 0.0]).unwrap();
    let close = Tensor::new(vec![4], vec![1.0, -2.0, 0.5 + 1e-5, 0.0]).unwrap();
    let far = Tensor::new(vec![4], vec![1.0, -2.0, 0.5 + 1e-3, 0.0]).unwrap();
    let nan = Tensor::new(vec![4], vec![1.0, f32::NAN, 0.5, 0.0]).unwrap();
    let other_shape = Tensor::new(vec![2, 2], vec![1.0, -2.0, 0.5, 0.0]).unwrap();
    assert!(compare("close", &close, &r).is_ok());
    assert!(compare("far", &far, &r).is_err());
    assert!(compare("nan", &nan, &r).is_err());
    assert!(compare("shape", &other_shape, &r).is_err());
}
