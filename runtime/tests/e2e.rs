//! End to end: the runtime built as a static library by a plain `rustc`
//! call (as `compiler/nnc/build.rs` does), linked with a tiny C model
//! implementing the ABI (`tests/data/affine_model.c`), run as a process.

use nnc_runtime::npy;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// Builds the archive and the executable once for all tests.
fn exe() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("nnc-runtime-e2e");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let src = Path::new(env!("CARGO_MANIFEST_DIR"));
        let lib = dir.join("libnnc_runtime.a");
        let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
        // Same flags as build.rs, without LTO (faster; build.rs's LTO build
        // is covered by compiler/nnc/tests/runtime_link.rs): first the
        // std-only `.npy` crate as an rlib, then the runtime against it.
        let common = [
            "-C",
            "opt-level=3",
            "-C",
            "panic=abort",
            "-C",
            "debuginfo=0",
        ];
        let npy = dir.join("libnnc_npy.rlib");
        let o = Command::new(&rustc)
            .args([
                "--edition",
                "2021",
                "--crate-type",
                "rlib",
                "--crate-name",
                "nnc_npy",
            ])
            .args(common)
            .arg("-o")
            .arg(&npy)
            .arg(src.join("../compiler/npy/src/lib.rs"))
            .output()
            .expect("run rustc");
        assert!(
            o.status.success(),
            "rustc failed on nnc-npy:\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let mut extern_npy = std::ffi::OsString::from("nnc_npy=");
        extern_npy.push(&npy);
        let o = Command::new(&rustc)
            .args([
                "--edition",
                "2021",
                "--crate-type",
                "staticlib",
                "--crate-name",
                "nnc_runtime",
            ])
            .arg("--extern")
            .arg(extern_npy)
            .args(common)
            .args(["--cfg", "nnc_runtime_exe"])
            .args(["--print", "native-static-libs", "-o"])
            .arg(&lib)
            .arg(src.join("src/lib.rs"))
            .output()
            .expect("run rustc");
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "rustc failed:\n{stderr}");
        let libs: Vec<String> = stderr
            .lines()
            .find_map(|l| l.split_once("native-static-libs:"))
            .map(|(_, v)| {
                v.split_whitespace()
                    .map(|l| {
                        if l == "-lgcc_s" {
                            "-lgcc_eh".into()
                        } else {
                            l.to_string()
                        }
                    })
                    .collect()
            })
            .expect("native-static-libs note");
        let obj = dir.join("affine.o");
        let st = Command::new("cc")
            .args(["-c", "-O2", "-o"])
            .arg(&obj)
            .arg(src.join("tests/data/affine_model.c"))
            .status()
            .expect("run cc");
        assert!(st.success());
        let exe = dir.join("affine");
        let o = Command::new("cc")
            .arg("-o")
            .arg(&exe)
            .arg(&obj)
            .arg(&lib)
            .args(["-Wl,--gc-sections", "-Wl,--as-needed"])
            .args(&libs)
            .output()
            .expect("run cc");
        assert!(
            o.status.success(),
            "link failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        exe
    })
}

fn run(args: &[&str]) -> Output {
    Command::new(exe()).args(args).output().expect("run")
}

fn tmp(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("nnc-runtime-e2e-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("mkdir");
    d
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn good_input_writes_outputs() {
    let d = tmp("good");
    let x = d.join("x.npy");
    std::fs::write(&x, npy::encode(&[1, 4], &[0.5, 1.5, -2.0, 4.0])).unwrap();
    let y = d.join("y.npy");
    let s = d.join("s.npy");
    for threads in ["1", "2", "4"] {
        let o = run(&[
            "--input",
            x.to_str().unwrap(),
            "--output",
            &format!("y={}", y.display()),
            "--output",
            &format!("s={}", s.display()),
            "--threads",
            threads,
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        assert_eq!(text(&o.stdout), "");
        let yv = npy::decode(&std::fs::read(&y).unwrap(), &[1, 4]).expect("y.npy");
        assert_eq!(yv, vec![2.0, 4.0, -3.0, 9.0]);
        let sv = npy::decode(&std::fs::read(&s).unwrap(), &[1]).expect("s.npy");
        assert_eq!(sv, vec![4.0]);
    }
}

#[test]
fn summary_and_random_inputs() {
    let o = run(&["--seed", "3"]);
    assert_eq!(o.status.code(), Some(0));
    let out = text(&o.stdout);
    assert!(out.starts_with("y: shape [1, 4]\n  values: "), "{out}");
    assert!(out.contains("argmax: "), "{out}");
    assert!(out.contains("s: shape [1]\n"), "{out}");
    assert!(
        !out.contains("-12345"),
        "buffers not 64-byte aligned: {out}"
    );
    assert!(text(&o.stderr).contains("random inputs in [-1, 1) (seed 3)"));
    assert_eq!(text(&run(&["--seed", "3"]).stdout), out, "deterministic");
}

#[test]
fn bad_inputs_exit_2() {
    let d = tmp("bad");
    let mut f8 = npy::encode(&[1, 4], &[0.0; 4]);
    let pos = f8.windows(3).position(|w| w == b"<f4").unwrap();
    f8[pos + 2] = b'8';
    f8.extend_from_slice(&[0; 16]);
    let good = npy::encode(&[1, 4], &[0.0; 4]);
    for (name, bytes, needle) in [
        ("f8", f8, "found dtype <f8 (float64) with shape [1, 4]"),
        (
            "shape",
            npy::encode(&[2, 4], &[0.0; 8]),
            "found shape [2, 4]",
        ),
        (
            "trunc",
            good[..good.len() - 1].to_vec(),
            "truncated data: 15 bytes after the header, expected 16",
        ),
        (
            "garbage",
            b"\x93NUMPY\x09\x00".to_vec(),
            "unsupported .npy format version 9.0",
        ),
    ] {
        let p = d.join(format!("{name}.npy"));
        std::fs::write(&p, bytes).unwrap();
        let o = run(&["--input", &format!("x={}", p.display())]);
        assert_eq!(o.status.code(), Some(2), "{name}");
        let e = text(&o.stderr);
        assert!(e.starts_with("error: input `x` ("), "{e}");
        assert!(
            e.contains("expected float32 (<f4, C order) of shape [1, 4]"),
            "{e}"
        );
        assert!(e.contains(needle), "{name}: {e}");
        assert_eq!(text(&o.stdout), "");
    }
    let o = run(&["--threads", "zero"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("invalid value `zero` for `--threads`"));
}

#[test]
fn bench_and_profile_output() {
    let o = run(&["--bench", "10", "--threads", "2"]);
    assert_eq!(o.status.code(), Some(0));
    let out = text(&o.stdout);
    assert!(
        out.contains("bench affine: 2 threads, 10 runs after 2 warm-up\n  min "),
        "{out}"
    );
    assert!(
        out.contains(" ms  median ") && out.contains(" ms  p90 "),
        "{out}"
    );
    let o = run(&["--profile", "--threads", "1"]);
    assert_eq!(o.status.code(), Some(0));
    let out = text(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    let i = lines
        .iter()
        .position(|l| *l == "profile of affine: 2 nodes, 1 thread, average of 20 runs")
        .expect(&out);
    assert!(
        lines[i + 2]
            .split_whitespace()
            .take(3)
            .eq(["0", "affine", "y"]),
        "{out}"
    );
    assert!(
        lines[i + 3]
            .split_whitespace()
            .take(3)
            .eq(["1", "sum", "s"]),
        "{out}"
    );
    assert_eq!(
        lines[i + 2].split_whitespace().nth(4),
        Some("0.0001"),
        "{out}"
    );
}

#[test]
fn help_version_and_only_libc() {
    let o = run(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o.stdout).contains("Inputs (.npy, little-endian float32"));
    let o = run(&["-V"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o.stdout).starts_with("affine (nnc runtime "));
    if let Ok(o) = Command::new("ldd").arg(exe()).output() {
        for l in text(&o.stdout).lines().map(str::trim) {
            assert!(
                l.starts_with("linux-vdso")
                    || l.starts_with("libc.so")
                    || l.contains("ld-linux")
                    || l.starts_with("libm.so"),
                "unexpected dependency {l}"
            );
        }
    }
}

#[test]
fn input_from_a_pipe() {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(exe())
        .args(["--input", "/dev/stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let bytes = npy::encode(&[1, 4], &[1.0, 2.0, 3.0, 4.0]);
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&bytes)
        .expect("write");
    let o = child.wait_with_output().expect("wait");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("values: 3, 5, 7, 9\n"),
        "{}",
        text(&o.stdout)
    );
}

#[test]
fn output_to_a_pipe() {
    let d = tmp("pipe-out");
    let x = d.join("x.npy");
    std::fs::write(&x, npy::encode(&[1, 4], &[1.0, 2.0, 3.0, 4.0])).unwrap();
    let o = run(&["--input", x.to_str().unwrap(), "--output", "y=/dev/stdout"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(
        npy::decode(&o.stdout, &[1, 4]).expect("npy on stdout"),
        vec![3.0, 5.0, 7.0, 9.0]
    );
}
