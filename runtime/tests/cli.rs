//! In-process tests of the executable's command line (`cli::run`) with
//! models written in Rust against the ABI.

use nnc_runtime::cli::{run, ForwardFn};
use nnc_runtime::npy;
use nnc_runtime::pool::nnc_parallel_for;
use nnc_runtime::profile::{nnc_node_begin, nnc_node_end};
use std::ffi::{c_void, OsString};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The runtime's pool and profile table are process-wide: run one program
/// at a time.
static SERIAL: Mutex<()> = Mutex::new(());

const AFFINE_META: &str =
    "nnc-meta 1\nnetwork affine\ninput x 2 1 4\noutput y 2 1 4\narena 64\nnode 0 affine y 0.001\n";

struct Ctx {
    x: *const f32,
    y: *mut f32,
}

unsafe extern "C" fn affine_body(ctx: *mut c_void, t: i64, _n: i64) {
    let c = unsafe { &*(ctx as *const Ctx) };
    unsafe { *c.y.add(t as usize) = 2.0 * *c.x.add(t as usize) + 1.0 };
}

/// y = 2x + 1 over [1, 4], 4 tasks.
unsafe extern "C" fn affine(inputs: *const *const f32, outputs: *const *mut f32, arena: *mut u8) {
    assert_eq!(arena as usize % 64, 0);
    let mut c = Ctx {
        x: unsafe { *inputs },
        y: unsafe { *outputs },
    };
    nnc_node_begin(0);
    unsafe { nnc_parallel_for(Some(affine_body), &mut c as *mut Ctx as *mut c_void, 4) };
    nnc_node_end(0);
}

const ADD_META: &str = "nnc-meta 1\nnetwork add\ninput a 1 3\ninput b 1 3\noutput sum 1 3\noutput diff 1 3\narena 0\nnode 0 add sum 0.001\nnode 1 sub diff 0\n";

/// sum = a + b, diff = a - b.
unsafe extern "C" fn add(inputs: *const *const f32, outputs: *const *mut f32, _arena: *mut u8) {
    let (a, b) = unsafe {
        (
            std::slice::from_raw_parts(*inputs, 3),
            std::slice::from_raw_parts(*inputs.add(1), 3),
        )
    };
    let (s, d) = unsafe {
        (
            std::slice::from_raw_parts_mut(*outputs, 3),
            std::slice::from_raw_parts_mut(*outputs.add(1), 3),
        )
    };
    nnc_node_begin(0);
    for i in 0..3 {
        s[i] = a[i] + b[i];
    }
    nnc_node_end(0);
    nnc_node_begin(1);
    for i in 0..3 {
        d[i] = a[i] - b[i];
    }
    nnc_node_end(1);
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn exec(meta: &str, f: ForwardFn, args: &[&str]) -> Out {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut argv: Vec<OsString> = vec!["net".into()];
    argv.extend(args.iter().map(OsString::from));
    let mut o = Vec::new();
    let mut e = Vec::new();
    let code = run(Ok(meta), f, &argv, &mut o, &mut e);
    Out {
        code,
        stdout: String::from_utf8_lossy(&o).into_owned(),
        stderr: String::from_utf8_lossy(&e).into_owned(),
    }
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("nnc-rt-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("mkdir");
    d
}

fn write(p: &Path, bytes: &[u8]) -> String {
    std::fs::write(p, bytes).expect("write");
    p.to_string_lossy().into_owned()
}

fn read_npy(p: &Path, shape: &[usize]) -> Vec<f32> {
    npy::decode(&std::fs::read(p).expect("read"), shape).expect("valid npy")
}

#[test]
fn input_file_to_output_file() {
    let d = tmpdir("io");
    let x = write(
        &d.join("x.npy"),
        &npy::encode(&[1, 4], &[0.0, 1.0, -2.0, 0.5]),
    );
    let y = d.join("y.npy");
    let ys = y.to_string_lossy().into_owned();
    let variants: [Vec<String>; 3] = [
        vec!["--input".into(), x.clone(), "-o".into(), ys.clone()],
        vec![
            "--input".into(),
            format!("x={x}"),
            "--output".into(),
            format!("y={ys}"),
        ],
        vec![
            format!("--input=x={x}"),
            "--output".into(),
            ys.clone(),
            "--threads".into(),
            "2".into(),
        ],
    ];
    for args in &variants {
        let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        let _ = std::fs::remove_file(&y);
        let r = exec(AFFINE_META, affine, &args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(r.stdout, "");
        assert_eq!(read_npy(&y, &[1, 4]), vec![1.0, 3.0, -3.0, 2.0]);
    }
    // No temporary files left behind.
    let names: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn summary_without_output() {
    let d = tmpdir("summary");
    let x = write(
        &d.join("x.npy"),
        &npy::encode(&[1, 4], &[0.0, 1.0, 4.0, 0.5]),
    );
    let r = exec(AFFINE_META, affine, &["--input", &x]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "y: shape [1, 4]\n  values: 1, 3, 9, 2\n  min 1  max 9  mean 3.750000\n  argmax: 2 (value 9)\n"
    );
    assert_eq!(r.stderr, "");
}

#[test]
fn random_inputs_are_seeded() {
    let a = exec(AFFINE_META, affine, &[]);
    let b = exec(AFFINE_META, affine, &["--seed", "0"]);
    let c = exec(AFFINE_META, affine, &["--seed", "1"]);
    assert_eq!(a.code, 0);
    assert!(a.stderr.contains("random inputs"), "{}", a.stderr);
    assert_eq!(a.stdout, b.stdout);
    assert_ne!(a.stdout, c.stdout);
    // SplitMix64(0): first value (0xE220A8397B1DCDAF >> 40) * 2^-23 - 1.
    let v0 = ((0xE220_A839_7B1D_CDAFu64 >> 40) as f32) / 8_388_608.0 - 1.0;
    assert!(
        a.stdout.contains(&format!("values: {}", 2.0 * v0 + 1.0)),
        "{}",
        a.stdout
    );
}

#[test]
fn bad_inputs_exit_2_with_clear_messages() {
    let d = tmpdir("bad");
    let mut f8 = npy::encode(&[1, 4], &[0.0; 4]);
    // Patch the dtype in place: '<f4' -> '<f8' (data size now wrong, but the
    // dtype is reported first).
    let pos = f8.windows(3).position(|w| w == b"<f4").unwrap();
    f8[pos + 2] = b'8';
    let mut be = npy::encode(&[1, 4], &[0.0; 4]);
    be[pos] = b'>';
    let mut fortran = npy::encode(&[1, 4], &[0.0; 4]);
    let fp = fortran.windows(5).position(|w| w == b"False").unwrap();
    fortran[fp..fp + 5].copy_from_slice(b"True ");
    let good = npy::encode(&[1, 4], &[0.0; 4]);
    let mut trailing = good.clone();
    trailing.extend_from_slice(&[0, 0, 0, 0]);
    let cases: Vec<(&str, Vec<u8>, &[&str])> = vec![
        ("f8", f8, &["<f8 (float64)", "shape [1, 4]"]),
        ("be", be, &[">f4 (big-endian float32)"]),
        ("fortran", fortran, &["fortran_order True"]),
        (
            "shape",
            npy::encode(&[1, 5], &[0.0; 5]),
            &["found shape [1, 5]"],
        ),
        ("rank", npy::encode(&[4], &[0.0; 4]), &["found shape [4]"]),
        (
            "trunc",
            good[..good.len() - 3].to_vec(),
            &["truncated data", "13 bytes", "expected 16"],
        ),
        ("trailing", trailing, &["4 unexpected bytes after the data"]),
        (
            "magic",
            b"hello world, not numpy".to_vec(),
            &["not a .npy file"],
        ),
        ("empty", Vec::new(), &["empty file"]),
        ("header", good[..40].to_vec(), &["truncated .npy header"]),
    ];
    for (name, bytes, needles) in cases {
        let p = write(&d.join(format!("{name}.npy")), &bytes);
        let r = exec(AFFINE_META, affine, &["--input", &p]);
        assert_eq!(r.code, 2, "{name}: {}", r.stderr);
        assert!(r.stderr.contains("input `x`"), "{name}: {}", r.stderr);
        assert!(
            r.stderr
                .contains("expected float32 (<f4, C order) of shape [1, 4]"),
            "{name}: {}",
            r.stderr
        );
        for n in needles {
            assert!(
                r.stderr.contains(n),
                "{name}: missing {n:?} in {}",
                r.stderr
            );
        }
        assert_eq!(r.stdout, "");
    }
    let r = exec(
        AFFINE_META,
        affine,
        &["--input", d.join("nope.npy").to_str().unwrap()],
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("cannot open"), "{}", r.stderr);
}

#[test]
fn several_inputs_need_names() {
    let d = tmpdir("multi");
    let a = write(&d.join("a.npy"), &npy::encode(&[3], &[1.0, 2.0, 3.0]));
    let b = write(&d.join("b.npy"), &npy::encode(&[3], &[10.0, 20.0, 30.0]));
    let r = exec(ADD_META, add, &["--input", &a]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("2 inputs (`a` [3], `b` [3])"),
        "{}",
        r.stderr
    );
    let r = exec(ADD_META, add, &["--input", &format!("a={a}")]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("missing input `b` [3]"), "{}", r.stderr);
    let r = exec(ADD_META, add, &["--input", &format!("c={a}")]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("unknown input `c`"), "{}", r.stderr);
    let r = exec(
        ADD_META,
        add,
        &["--input", &format!("a={a}"), "--input", &format!("a={b}")],
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("given twice"), "{}", r.stderr);
    // -o needs a single output.
    let r = exec(ADD_META, add, &["-o", d.join("o.npy").to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("`-o` needs a network with one output"),
        "{}",
        r.stderr
    );
    // Both named: works; one output written, the other not.
    let s = d.join("s.npy");
    let r = exec(
        ADD_META,
        add,
        &[
            "--input",
            &format!("b={b}"),
            "--input",
            &format!("a={a}"),
            "--output",
            &format!("sum={}", s.display()),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(read_npy(&s, &[3]), vec![11.0, 22.0, 33.0]);
    assert_eq!(r.stdout, "");
    // Without outputs: a summary of both; no argmax for... [3] is a vector.
    let r = exec(
        ADD_META,
        add,
        &["--input", &format!("b={b}"), "--input", &format!("a={a}")],
    );
    assert!(
        r.stdout.contains("sum: shape [3]\n  values: 11, 22, 33\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("diff: shape [3]\n  values: -9, -18, -27\n"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("argmax: 2 (value 33)"), "{}", r.stdout);
}

#[test]
fn outputs_never_clobber_inputs_or_each_other() {
    let d = tmpdir("clobber");
    let xb = npy::encode(&[1, 4], &[0.0, 1.0, 2.0, 3.0]);
    let x = write(&d.join("x.npy"), &xb);
    let r = exec(AFFINE_META, affine, &["--input", &x, "-o", &x]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("refusing to overwrite input file"),
        "{}",
        r.stderr
    );
    // Same file through another path.
    let other = format!("{}/./x.npy", d.display());
    let r = exec(AFFINE_META, affine, &["--input", &x, "-o", &other]);
    assert_eq!(r.code, 2);
    assert_eq!(std::fs::read(&x).unwrap(), xb);
    let o = d.join("o.npy");
    let r = exec(
        ADD_META,
        add,
        &[
            "--output",
            &format!("sum={}", o.display()),
            "--output",
            &format!("diff={}", o.display()),
        ],
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("both written to"), "{}", r.stderr);
    // An output into a missing directory fails cleanly, exit 2.
    let r = exec(
        AFFINE_META,
        affine,
        &["-o", d.join("no/such/dir.npy").to_str().unwrap()],
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("cannot write output `y`"), "{}", r.stderr);
    // A pre-existing output file is replaced atomically.
    let y = d.join("y.npy");
    std::fs::write(&y, b"old").unwrap();
    let r = exec(
        AFFINE_META,
        affine,
        &["--input", &x, "-o", y.to_str().unwrap()],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(read_npy(&y, &[1, 4]), vec![1.0, 3.0, 5.0, 7.0]);
}

#[test]
fn usage_errors() {
    for (args, needle) in [
        (&["--threads", "0"][..], "invalid value `0` for `--threads`"),
        (&["--bogus"], "unexpected argument `--bogus`"),
        (&["x.npy"], "unexpected argument `x.npy`"),
        (&["--input"], "`--input` needs a value"),
        (&["--seed", "abc"], "invalid value `abc` for `--seed`"),
    ] {
        let r = exec(AFFINE_META, affine, args);
        assert_eq!(r.code, 2, "{args:?}");
        assert!(r.stderr.contains(needle), "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains("--help"), "{}", r.stderr);
    }
}

#[test]
fn help_and_version() {
    let r = exec(ADD_META, add, &["--help"]);
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.contains("Usage: net [--input NAME=FILE.npy]..."),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("  a  [3]\n  b  [3]\n"), "{}", r.stdout);
    let r = exec(ADD_META, add, &["--version"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.starts_with("add (nnc runtime "), "{}", r.stdout);
}

#[test]
fn bad_meta_is_internal_error() {
    let r = exec("nnc-meta 1\nnetwork broken\n", affine, &[]);
    assert_eq!(r.code, 101);
    assert!(
        r.stderr.contains("internal error: malformed model meta"),
        "{}",
        r.stderr
    );
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut o = Vec::new();
    let mut e = Vec::new();
    let code = run(
        Err("the model meta is not UTF-8".into()),
        affine,
        &["net".into()],
        &mut o,
        &mut e,
    );
    assert_eq!(code, 101);
}

#[test]
fn bench_format() {
    let r = exec(AFFINE_META, affine, &["--bench", "7", "--threads", "2"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    let i = lines
        .iter()
        .position(|l| l.starts_with("bench affine: "))
        .expect("bench line");
    assert_eq!(lines[i], "bench affine: 2 threads, 7 runs after 2 warm-up");
    let nums: Vec<&str> = lines[i + 1].split_whitespace().collect();
    assert_eq!(nums[0], "min");
    assert_eq!(nums[3], "median");
    assert_eq!(nums[6], "p90");
    let min: f64 = nums[1].parse().unwrap();
    let med: f64 = nums[4].parse().unwrap();
    let p90: f64 = nums[7].parse().unwrap();
    assert!(min <= med && med <= p90, "{}", lines[i + 1]);
}

#[test]
fn profile_format() {
    let r = exec(ADD_META, add, &["--profile", "--threads", "1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    let i = lines
        .iter()
        .position(|l| l.starts_with("profile of add: 2 nodes, 1 thread, average of 20 runs"))
        .expect("profile header");
    assert!(
        lines[i + 1].contains("measured ms") && lines[i + 1].contains("predicted ms"),
        "{}",
        r.stdout
    );
    let n0: Vec<&str> = lines[i + 2].split_whitespace().collect();
    assert_eq!(&n0[..3], &["0", "add", "sum"]);
    assert_eq!(n0[4], "0.0010");
    let n1: Vec<&str> = lines[i + 3].split_whitespace().collect();
    assert_eq!(&n1[..3], &["1", "sub", "diff"]);
    assert_eq!(n1[5], "-", "zero prediction has no ratio");
    assert!(
        lines[i + 4].trim_start().starts_with("total"),
        "{}",
        r.stdout
    );
    assert!(
        lines[i + 5].trim_start().starts_with("forward (wall)"),
        "{}",
        r.stdout
    );
    assert!(
        !r.stdout.contains("note:"),
        "every node timed once per run: {}",
        r.stdout
    );
    // With --bench, the profile averages ITERS runs.
    let r = exec(AFFINE_META, affine, &["--profile", "--bench", "5"]);
    assert!(r.stdout.contains("average of 5 runs"), "{}", r.stdout);
}

#[test]
fn new_outputs_are_compared_by_canonical_path() {
    let d = tmpdir("newsame");
    let a = format!("sum={}/o.npy", d.display());
    let b = format!("diff={}/./o.npy", d.display());
    let r = exec(ADD_META, add, &["--output", &a, "--output", &b]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("both written to"), "{}", r.stderr);
    assert!(!d.join("o.npy").exists());
}

/// A standard output on a full disk.
struct Full;

impl std::io::Write for Full {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(std::io::Error::from_raw_os_error(28))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Err(std::io::Error::from_raw_os_error(28))
    }
}

#[test]
fn summary_on_a_full_disk_fails() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for args in [&[][..], &["--help"], &["--profile", "--bench", "2"]] {
        let mut argv: Vec<OsString> = vec!["net".into()];
        argv.extend(args.iter().map(OsString::from));
        let mut e = Vec::new();
        let code = run(Ok(AFFINE_META), affine, &argv, &mut Full, &mut e);
        let e = String::from_utf8_lossy(&e);
        assert_eq!(code, 1, "{args:?}: {e}");
        assert!(e.contains("cannot write to standard output"), "{e}");
    }
}

#[test]
fn outputs_refuse_sockets_and_follow_symlinks() {
    use std::os::unix::fs::PermissionsExt;
    let d = tmpdir("kinds");
    let sock = d.join("s.npy");
    let _l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let r = exec(AFFINE_META, affine, &["-o", sock.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("is a socket"), "{}", r.stderr);
    let target = d.join("t.npy");
    std::fs::write(&target, b"old").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
    let link = d.join("l.npy");
    std::os::unix::fs::symlink("t.npy", &link).unwrap();
    let r = exec(AFFINE_META, affine, &["-o", link.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(read_npy(&target, &[1, 4]).len(), 4);
    let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
}
