//! End-to-end test of `runtime_lib`: the runtime archive built by `build.rs`
//! is linked with a small C model implementing the ABI
//! (`runtime/tests/data/affine_model.c`) and with an assembled `.incbin`
//! weights file, and the executables are run.

#[path = "../src/runtime_lib.rs"]
mod runtime_lib;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn cc_c(src: &Path, out: &Path) {
    let st = Command::new("cc")
        .arg("-c")
        .arg("-O2")
        .arg("-o")
        .arg(out)
        .arg(src)
        .status()
        .expect("run cc");
    assert!(st.success(), "cc -c {}", src.display());
}

fn npy_f32(shape: &[usize], data: &[f32]) -> Vec<u8> {
    // A minimal .npy v1 writer, independent of the runtime's.
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let tuple = if shape.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut h = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {tuple}, }}");
    while (10 + h.len() + 1) % 64 != 0 {
        h.push(' ');
    }
    h.push('\n');
    let mut v = b"\x93NUMPY\x01\x00".to_vec();
    v.extend_from_slice(&(h.len() as u16).to_le_bytes());
    v.extend_from_slice(h.as_bytes());
    for x in data {
        v.extend_from_slice(&x.to_le_bytes());
    }
    v
}

fn read_npy_f32(p: &Path) -> Vec<f32> {
    let b = std::fs::read(p).expect("output written");
    assert_eq!(&b[..6], b"\x93NUMPY");
    let hlen = u16::from_le_bytes([b[8], b[9]]) as usize;
    b[10 + hlen..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn run(exe: &Path, args: &[&str]) -> Output {
    Command::new(exe)
        .args(args)
        .output()
        .expect("run the executable")
}

fn model_source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../runtime/tests/data/affine_model.c")
}

#[test]
fn link_and_run_affine_model() {
    let dir = tempfile::tempdir().expect("tempdir");
    let obj = dir.path().join("affine.o");
    cc_c(&model_source(), &obj);
    let exe = dir.path().join("affine");
    runtime_lib::link(std::slice::from_ref(&obj), &exe).expect("link");

    // Needs nothing but the C library.
    if let Ok(o) = Command::new("ldd").arg(&exe).output() {
        let text = String::from_utf8_lossy(&o.stdout);
        for line in text.lines() {
            let l = line.trim();
            assert!(
                l.starts_with("linux-vdso")
                    || l.starts_with("libc.so")
                    || l.contains("ld-linux")
                    || l.starts_with("libm.so"),
                "unexpected dependency: {l}\n{text}"
            );
        }
    }

    // Good input → output file.
    let x = dir.path().join("x.npy");
    std::fs::write(&x, npy_f32(&[1, 4], &[1.0, -1.0, 0.25, 3.0])).unwrap();
    let y = dir.path().join("y.npy");
    let s = dir.path().join("s.npy");
    let o = run(
        &exe,
        &[
            "--input",
            x.to_str().unwrap(),
            "--output",
            &format!("y={}", y.display()),
            "--output",
            &format!("s={}", s.display()),
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(read_npy_f32(&y), vec![3.0, -1.0, 1.5, 7.0]);
    assert_eq!(read_npy_f32(&s), vec![3.25]);

    // Summary on stdout, with threads.
    let o = run(
        &exe,
        &["--input", &format!("x={}", x.display()), "--threads", "3"],
    );
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("y: shape [1, 4]\n  values: 3, -1, 1.5, 7\n"),
        "{out}"
    );
    assert!(out.contains("argmax: 3 (value 7)"), "{out}");
    assert!(out.contains("s: shape [1]\n  values: 3.25\n"), "{out}");

    // Wrong shape → exit 2 with the input named.
    let bad = dir.path().join("bad.npy");
    std::fs::write(&bad, npy_f32(&[1, 3], &[1.0, 2.0, 3.0])).unwrap();
    let o = run(&exe, &["--input", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("input `x`")
            && err.contains("shape [1, 4]")
            && err.contains("found shape [1, 3]"),
        "{err}"
    );

    // --bench and --profile.
    let o = run(&exe, &["--bench", "5", "--profile", "--threads", "2"]);
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("bench affine: 2 threads, 5 runs after 2 warm-up"),
        "{out}"
    );
    assert!(
        out.contains("profile of affine: 2 nodes, 2 threads, average of 5 runs"),
        "{out}"
    );
    assert!(!out.contains("note:"), "{out}");
}

#[test]
fn link_failure_keeps_old_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let junk = dir.path().join("junk.o");
    std::fs::write(&junk, b"not an object").unwrap();
    let exe = dir.path().join("net");
    std::fs::write(&exe, b"old").unwrap();
    let e = runtime_lib::link(&[junk], &exe)
        .expect_err("must fail")
        .to_string();
    assert!(e.contains("linking failed"), "{e}");
    assert_eq!(std::fs::read(&exe).unwrap(), b"old");
    // No temporary left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    // A missing symbol (no model object at all) is a link error too.
    let e = runtime_lib::link(&[], &exe)
        .expect_err("must fail")
        .to_string();
    assert!(
        e.contains("nnc_model_forward") || e.contains("nnc_model_meta"),
        "{e}"
    );
}

#[test]
fn assemble_incbin_weights() {
    let dir = tempfile::tempdir().expect("tempdir");
    let w: Vec<u8> = [10.0f32, 20.0, 30.0, 40.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    std::fs::write(dir.path().join("weights.bin"), w).unwrap();
    let s = dir.path().join("weights.S");
    std::fs::write(
        &s,
        "\t.section .rodata\n\t.globl nnc_test_weights\n\t.balign 64\nnnc_test_weights:\n\t.incbin \"weights.bin\"\n\t.section .note.GNU-stack,\"\",@progbits\n",
    )
    .unwrap();
    let wobj = dir.path().join("weights.o");
    runtime_lib::assemble(&s, &wobj).expect("assemble");
    let c = dir.path().join("model.c");
    std::fs::write(
        &c,
        r#"#include <stdint.h>
extern const float nnc_test_weights[4];
void nnc_node_begin(int32_t); void nnc_node_end(int32_t);
const char nnc_model_meta[] = "nnc-meta 1\nnetwork addw\ninput x 2 1 4\noutput y 2 1 4\narena 0\nnode 0 add y 0.0001\n";
void nnc_model_forward(const float *const *in, float *const *out, uint8_t *arena) {
    (void)arena;
    nnc_node_begin(0);
    for (int i = 0; i < 4; i++) out[0][i] = in[0][i] + nnc_test_weights[i];
    nnc_node_end(0);
}
"#,
    )
    .unwrap();
    let cobj = dir.path().join("model.o");
    cc_c(&c, &cobj);
    let exe = dir.path().join("addw");
    runtime_lib::link(&[cobj, wobj], &exe).expect("link");
    let x = dir.path().join("x.npy");
    std::fs::write(&x, npy_f32(&[1, 4], &[1.0, 2.0, 3.0, 4.0])).unwrap();
    let y = dir.path().join("y.npy");
    let o = run(
        &exe,
        &["--input", x.to_str().unwrap(), "-o", y.to_str().unwrap()],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(read_npy_f32(&y), vec![11.0, 22.0, 33.0, 44.0]);
    // A broken assembly file is an error with the assembler's message.
    std::fs::write(&s, "\t.incbin \"missing.bin\"\n").unwrap();
    let e = runtime_lib::assemble(&s, &dir.path().join("w2.o"))
        .expect_err("must fail")
        .to_string();
    assert!(e.contains("missing.bin"), "{e}");
}

#[test]
fn native_libs_are_static_unwinder() {
    let libs = runtime_lib::native_libs();
    assert!(!libs.iter().any(|l| l == "-lgcc_s"), "{libs:?}");
    assert!(libs.iter().any(|l| l == "-lc"), "{libs:?}");
    assert!(runtime_lib::RUNTIME_LIB.starts_with(b"!<arch>\n"));
}
