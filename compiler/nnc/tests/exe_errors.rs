//! Error handling of the generated executables and of `nnc build`
//! (`runtime/ABI.md`, docs/outputs.md): every bad input is exit 2 with
//! a message naming the input and the expected and found shape/dtype;
//! outputs are written atomically; a failed build never touches an existing
//! output file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn nnc() -> &'static str {
    env!("CARGO_BIN_EXE_nnc")
}

fn fixture(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(case)
}

/// A scratch directory shared by the tests of this binary (under cargo's
/// target tmpdir, so nothing is left in /tmp).
fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("exe_errors");
        std::fs::create_dir_all(&d).expect("scratch dir");
        d
    })
}

/// A fresh, empty directory for one test.
fn test_dir(name: &str) -> PathBuf {
    let d = scratch().join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("test dir");
    d
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn describe(o: &Output) -> String {
    format!(
        "status {:?}\n--- stderr\n{}--- stdout\n{}",
        o.status.code(),
        text(&o.stderr),
        text(&o.stdout)
    )
}

fn build(src: &Path, weights: Option<&Path>, out: &Path) -> Output {
    let mut c = Command::new(nnc());
    c.arg("build").arg(src).arg("-o").arg(out);
    if let Some(w) = weights {
        c.arg("--weights").arg(w);
    }
    c.output().expect("run nnc build")
}

/// `linear` fixture: input `x` [2, 20]; outputs `y` [2, 7], `z` [2, 3].
fn linear_exe() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        let exe = scratch().join("linear");
        let f = fixture("linear");
        let o = build(
            &f.join("net.nn"),
            Some(&f.join("weights.safetensors")),
            &exe,
        );
        assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
        exe
    })
}

/// `add_mul_broadcast` fixture: inputs `x` [2, 4, 3, 5], `s` [1, 4, 1, 1],
/// `r` [5]; four outputs.
fn multi_input_exe() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        let exe = scratch().join("add_mul_broadcast");
        let o = build(&fixture("add_mul_broadcast").join("net.nn"), None, &exe);
        assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
        exe
    })
}

/// A `.npy` v1 file with any descr / order / shape and raw data bytes.
fn npy(descr: &str, fortran: bool, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let tuple = if shape.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let fo = if fortran { "True" } else { "False" };
    let mut h = format!("{{'descr': '{descr}', 'fortran_order': {fo}, 'shape': {tuple}, }}");
    while (10 + h.len() + 1) % 64 != 0 {
        h.push(' ');
    }
    h.push('\n');
    let mut v = b"\x93NUMPY\x01\x00".to_vec();
    v.extend_from_slice(&(h.len() as u16).to_le_bytes());
    v.extend_from_slice(h.as_bytes());
    v.extend_from_slice(data);
    v
}

fn f32_le(n: usize) -> Vec<u8> {
    (0..n)
        .flat_map(|i| (i as f32 * 0.01 - 0.1).to_le_bytes())
        .collect()
}

fn run(exe: &Path, args: &[&str]) -> Output {
    Command::new(exe)
        .args(args)
        .output()
        .expect("run the executable")
}

fn assert_exit(o: &Output, code: i32, what: &str) {
    assert_eq!(o.status.code(), Some(code), "{what}: {}", describe(o));
}

fn assert_mentions(o: &Output, needles: &[&str], what: &str) {
    let e = text(&o.stderr);
    for n in needles {
        assert!(
            e.contains(n),
            "{what}: stderr does not mention `{n}`:\n{}",
            describe(o)
        );
    }
}

/// Every file in `dir` (names), sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

// ---------------------------------------------------------------- inputs

#[test]
fn bad_input_files_are_exit_2_naming_input_and_shapes() {
    let exe = linear_exe();
    let d = test_dir("bad_inputs");
    let good = npy("<f4", false, &[2, 20], &f32_le(40));
    let mut truncated = good.clone();
    truncated.truncate(good.len() - 7);
    let cases: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
        (
            "shape",
            npy("<f4", false, &[2, 21], &f32_le(42)),
            vec!["[2, 20]", "[2, 21]"],
        ),
        (
            "rank",
            npy("<f4", false, &[40], &f32_le(40)),
            vec!["[2, 20]", "[40]"],
        ),
        (
            "f8",
            npy("<f8", false, &[2, 20], &[0u8; 320]),
            vec!["[2, 20]", "<f8"],
        ),
        (
            "big_endian",
            npy(">f4", false, &[2, 20], &[0u8; 160]),
            vec!["[2, 20]", ">f4"],
        ),
        (
            "int32",
            npy("<i4", false, &[2, 20], &[0u8; 160]),
            vec!["[2, 20]", "<i4"],
        ),
        (
            "fortran",
            npy("<f4", true, &[2, 20], &f32_le(40)),
            vec!["[2, 20]", "fortran"],
        ),
        ("truncated", truncated, vec!["[2, 20]", "truncated"]),
        (
            "not_npy",
            b"hello, this is not a numpy file\n".to_vec(),
            vec!["[2, 20]", ".npy"],
        ),
        ("empty", Vec::new(), vec!["[2, 20]"]),
        (
            "bad_header",
            {
                let mut v = b"\x93NUMPY\x01\x00".to_vec();
                v.extend_from_slice(&200u16.to_le_bytes());
                v.extend_from_slice(b"{'descr': '<f4'");
                v
            },
            vec!["[2, 20]"],
        ),
    ];
    for (name, bytes, needles) in cases {
        let p = d.join(format!("{name}.npy"));
        std::fs::write(&p, bytes).unwrap();
        let out = d.join(format!("{name}_y.npy"));
        for form in [
            format!("x={}", p.display()),
            p.display().to_string(), // one input: NAME= may be omitted
        ] {
            let o = run(
                exe,
                &[
                    "--input",
                    &form,
                    "--output",
                    &format!("y={}", out.display()),
                ],
            );
            assert_exit(&o, 2, name);
            let mut all = vec!["input `x`", p.to_str().unwrap()];
            all.extend(&needles);
            assert_mentions(&o, &all, name);
            assert!(!out.exists(), "{name}: an output was written");
        }
    }
    // The good file works, so the failures above are about the files.
    let p = d.join("good.npy");
    std::fs::write(&p, &good).unwrap();
    let o = run(exe, &["--input", p.to_str().unwrap()]);
    assert_exit(&o, 0, "good input");
}

#[test]
fn missing_input_file_and_unknown_input_name() {
    let exe = linear_exe();
    let d = test_dir("missing_unknown");
    let missing = d.join("does_not_exist.npy");
    let o = run(exe, &["--input", &format!("x={}", missing.display())]);
    assert_exit(&o, 2, "missing file");
    assert_mentions(&o, &["input `x`", "does_not_exist.npy"], "missing file");

    let good = d.join("x.npy");
    std::fs::write(&good, npy("<f4", false, &[2, 20], &f32_le(40))).unwrap();
    let o = run(exe, &["--input", &format!("q={}", good.display())]);
    assert_exit(&o, 2, "unknown input");
    assert_mentions(&o, &["`q`", "`x`", "[2, 20]"], "unknown input");

    // Several inputs: NAME= is required, and all or none must be given.
    let exe = multi_input_exe();
    let x = d.join("mx.npy");
    std::fs::write(&x, npy("<f4", false, &[2, 4, 3, 5], &f32_le(120))).unwrap();
    let o = run(exe, &["--input", x.to_str().unwrap()]);
    assert_exit(&o, 2, "bare file with several inputs");
    let o = run(exe, &["--input", &format!("x={}", x.display())]);
    assert_exit(&o, 2, "some inputs missing");
    assert_mentions(&o, &["`s`", "`r`"], "some inputs missing");
    // The wrong file for another input names that input and both shapes.
    let s = d.join("ms.npy");
    std::fs::write(&s, npy("<f4", false, &[1, 4, 1, 1], &f32_le(4))).unwrap();
    let o = run(
        exe,
        &[
            "--input",
            &format!("x={}", x.display()),
            "--input",
            &format!("s={}", s.display()),
            "--input",
            &format!("r={}", x.display()),
        ],
    );
    assert_exit(&o, 2, "wrong file for r");
    assert_mentions(
        &o,
        &["input `r`", "[5]", "[2, 4, 3, 5]"],
        "wrong file for r",
    );
}

// ---------------------------------------------------------------- options

#[test]
fn bad_options_are_exit_2() {
    let exe = linear_exe();
    for args in [
        &["--threads", "0"][..],
        &["--threads", "-1"],
        &["--threads", "abc"],
        &["--threads", "100000"],
        &["--threads"],
        &["--bench", "abc"],
        &["--bench=abc"],
        &["--bench=0"],
        &["--seed", "x"],
        &["--frobnicate"],
        &["-o"],
        &["-o", "y.npy"], // two outputs: -o is ambiguous
    ] {
        let o = run(exe, args);
        assert_exit(&o, 2, &format!("{args:?}"));
        assert!(
            text(&o.stderr).contains("error"),
            "{args:?}: no error message\n{}",
            describe(&o)
        );
        assert!(o.stdout.is_empty(), "{args:?}: wrote to stdout");
    }
    let o = run(exe, &["--threads", "0"]);
    assert_mentions(&o, &["--threads"], "--threads 0");
}

#[test]
fn help_and_version() {
    let exe = linear_exe();
    for h in ["--help", "-h"] {
        let o = run(exe, &[h]);
        assert_exit(&o, 0, h);
        let out = text(&o.stdout);
        for needle in [
            "x  [2, 20]",
            "y  [2, 7]",
            "z  [2, 3]",
            "--threads",
            "--bench",
        ] {
            assert!(out.contains(needle), "{h}: no `{needle}` in\n{out}");
        }
    }
    let o = run(exe, &["--version"]);
    assert_exit(&o, 0, "--version");
    assert!(!o.stdout.is_empty());
}

/// The three latency figures of a `--bench` report.
fn bench_figures(out: &str) -> Option<(f64, f64, f64)> {
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with("min ") && l.contains(" median "))?;
    let w: Vec<&str> = line.split_whitespace().collect();
    let num = |key: &str| -> Option<f64> {
        let i = w.iter().position(|x| *x == key)?;
        w.get(i + 1)?.parse().ok()
    };
    Some((num("min")?, num("median")?, num("p90")?))
}

#[test]
fn bench_prints_min_median_p90() {
    let exe = linear_exe();
    for args in [&["--bench", "5"][..], &["--bench=5", "--threads", "1"]] {
        let o = run(exe, args);
        assert_exit(&o, 0, "--bench 5");
        let out = text(&o.stdout);
        assert!(out.contains("5 runs"), "{args:?}: {out}");
        let (min, median, p90) =
            bench_figures(&out).unwrap_or_else(|| panic!("no min/median/p90 in\n{out}"));
        assert!(
            min >= 0.0 && min <= median && median <= p90,
            "{min} {median} {p90}\n{out}"
        );
    }
    // Default iteration count.
    let o = run(exe, &["--bench"]);
    assert_exit(&o, 0, "--bench");
    assert!(text(&o.stdout).contains("50 runs"), "{}", describe(&o));
}

#[test]
fn profile_prints_measured_and_predicted_per_node() {
    let exe = linear_exe();
    let o = run(exe, &["--profile"]);
    assert_exit(&o, 0, "--profile");
    let out = text(&o.stdout);
    assert!(
        out.contains("measured") && out.contains("predicted"),
        "{out}"
    );
    for node in ["fc", "fc2"] {
        let line = out
            .lines()
            .find(|l| l.split_whitespace().nth(2) == Some(node))
            .unwrap_or_else(|| panic!("no profile row for `{node}`:\n{out}"));
        let w: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(w[1], "linear", "{line}");
        let measured: f64 = w[3].parse().expect("measured ms");
        let predicted: f64 = w[4].parse().expect("predicted ms");
        assert!(measured >= 0.0 && predicted >= 0.0, "{line}");
    }
    assert!(out.contains("total"), "{out}");
}

// ---------------------------------------------------------------- outputs

#[test]
fn outputs_are_written_atomically_or_not_at_all() {
    let exe = linear_exe();
    let d = test_dir("outputs");
    let afile = d.join("afile");
    std::fs::write(&afile, b"not a directory").unwrap();
    let adir = d.join("adir");
    std::fs::create_dir(&adir).unwrap();
    let good = d.join("good_y.npy");
    let cases: Vec<(&str, Vec<String>)> = vec![
        (
            "missing directory",
            vec![format!("y={}", d.join("nodir/y.npy").display())],
        ),
        (
            "parent is a file",
            vec![format!("y={}", afile.join("y.npy").display())],
        ),
        ("onto a directory", vec![format!("y={}", adir.display())]),
        (
            "second output unwritable",
            vec![
                format!("y={}", good.display()),
                format!("z={}", d.join("nodir/z.npy").display()),
            ],
        ),
        (
            "two outputs to one path",
            vec![
                format!("y={}", good.display()),
                format!("z={}", good.display()),
            ],
        ),
        ("unknown output", vec![format!("w={}", good.display())]),
    ];
    let before = listing(&d);
    for (what, outs) in cases {
        let mut args: Vec<&str> = Vec::new();
        for o in &outs {
            args.push("--output");
            args.push(o);
        }
        let o = run(exe, &args);
        assert_exit(&o, 2, what);
        assert_eq!(
            listing(&d),
            before,
            "{what}: files appeared or vanished\n{}",
            describe(&o)
        );
        assert!(listing(&adir).is_empty(), "{what}: wrote into adir");
        assert_eq!(std::fs::read(&afile).unwrap(), b"not a directory");
    }
    // An output that is an input file is refused, and the input survives.
    let x = d.join("x.npy");
    let xb = npy("<f4", false, &[2, 20], &f32_le(40));
    std::fs::write(&x, &xb).unwrap();
    let o = run(
        exe,
        &[
            "--input",
            x.to_str().unwrap(),
            "--output",
            &format!("y={}", x.display()),
        ],
    );
    assert_exit(&o, 2, "output onto an input");
    assert_eq!(std::fs::read(&x).unwrap(), xb);

    // A successful run replaces an existing file with a complete .npy.
    std::fs::write(&good, b"old contents").unwrap();
    let o = run(exe, &["--output", &format!("y={}", good.display())]);
    assert_exit(&o, 0, "overwrite");
    let b = std::fs::read(&good).unwrap();
    let t = nnc_interp::npy::read_npy(&b).expect("a valid .npy");
    assert_eq!(t.shape(), &[2, 7]);
    assert_eq!(
        listing(&d),
        {
            let mut v = before.clone();
            v.push("good_y.npy".into());
            v.push("x.npy".into());
            v.sort();
            v
        },
        "temporary files left behind"
    );
}

// ---------------------------------------------------------------- nnc build

/// A safetensors file of F32 tensors (zeros) with the given names and shapes.
fn safetensors(tensors: &[(&str, &[usize])]) -> Vec<u8> {
    let mut header = String::from("{");
    let mut offset = 0usize;
    for (i, (name, shape)) in tensors.iter().enumerate() {
        let n: usize = shape.iter().product::<usize>() * 4;
        let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
        if i > 0 {
            header.push(',');
        }
        header.push_str(&format!(
            "\"{name}\":{{\"dtype\":\"F32\",\"shape\":[{}],\"data_offsets\":[{offset},{}]}}",
            dims.join(","),
            offset + n
        ));
        offset += n;
    }
    header.push('}');
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut v = (header.len() as u64).to_le_bytes().to_vec();
    v.extend_from_slice(header.as_bytes());
    v.resize(v.len() + offset, 0);
    v
}

/// Runs a failing `nnc build` onto an existing file and checks the exit
/// code, the messages and that the file (and its directory) is untouched.
fn failing_build(
    d: &Path,
    what: &str,
    src: &Path,
    weights: Option<&Path>,
    code: i32,
    needles: &[&str],
) {
    let out = d.join("existing_exe");
    std::fs::write(&out, b"sentinel").unwrap();
    let before = listing(d);
    let o = build(src, weights, &out);
    assert_exit(&o, code, what);
    assert_mentions(&o, needles, what);
    assert_eq!(
        std::fs::read(&out).unwrap(),
        b"sentinel",
        "{what}: a failed build overwrote the output"
    );
    assert_eq!(listing(d), before, "{what}: files left behind");
}

#[test]
fn build_errors() {
    let d = test_dir("build_errors");
    let src = fixture("linear").join("net.nn");

    failing_build(
        &d,
        "missing weights file",
        &src,
        Some(&d.join("nope.safetensors")),
        2,
        &["nope.safetensors"],
    );

    let missing_key = d.join("missing_key.safetensors");
    std::fs::write(
        &missing_key,
        safetensors(&[("fc.weight", &[7, 20]), ("fc2.weight", &[3, 20])]),
    )
    .unwrap();
    failing_build(
        &d,
        "missing key",
        &src,
        Some(&missing_key),
        1,
        &["fc.bias", "[7]"],
    );

    let wrong_shape = d.join("wrong_shape.safetensors");
    std::fs::write(
        &wrong_shape,
        safetensors(&[
            ("fc.weight", &[7, 21]),
            ("fc.bias", &[7]),
            ("fc2.weight", &[3, 20]),
        ]),
    )
    .unwrap();
    failing_build(
        &d,
        "wrong shape",
        &src,
        Some(&wrong_shape),
        1,
        &["fc.weight", "[7, 20]", "[7, 21]"],
    );

    let garbage = d.join("garbage.safetensors");
    std::fs::write(&garbage, b"\xff\xff\xff\xff\xff\xff\xff\x7fnot safetensors").unwrap();
    let o = build(&src, Some(&garbage), &d.join("g_exe"));
    assert!(
        matches!(o.status.code(), Some(1) | Some(2)),
        "garbage weights: {}",
        describe(&o)
    );

    let bad_src = d.join("bad.nn");
    std::fs::write(
        &bad_src,
        "network bad {\n    input a: [1, 2];\n    output b = frobnicate(a);\n}\n",
    )
    .unwrap();
    failing_build(&d, "source with errors", &bad_src, None, 1, &["frobnicate"]);

    failing_build(
        &d,
        "missing source",
        &d.join("no_such.nn"),
        None,
        2,
        &["no_such.nn"],
    );

    // -o into a missing directory: exit 2, nothing created.
    let o = build(&src, None, &d.join("nodir/exe"));
    assert_exit(&o, 2, "-o into a missing directory");
    assert!(!d.join("nodir").exists());

    // The correct weights of the same shapes build (so the failures above
    // are about the files), and replace the existing output.
    let right = d.join("right.safetensors");
    std::fs::write(
        &right,
        safetensors(&[
            ("fc.weight", &[7, 20]),
            ("fc.bias", &[7]),
            ("fc2.weight", &[3, 20]),
        ]),
    )
    .unwrap();
    let out = d.join("existing_exe");
    let o = build(&src, Some(&right), &out);
    assert_exit(&o, 0, "good weights");
    let o = run(
        &out,
        &["--output", &format!("y={}", d.join("y.npy").display())],
    );
    assert_exit(&o, 0, "run");
    let t = nnc_interp::npy::read_npy(&std::fs::read(d.join("y.npy")).unwrap()).unwrap();
    assert!(
        t.data().iter().all(|&v| v == 0.0),
        "zero weights give zeros"
    );
}
