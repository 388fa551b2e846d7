//! `nnc run` and a built executable read `.npy` inputs with the same code
//! (`nnc-npy`): fed the same corpus of good and bad files, they accept the
//! same files, reject the same files with exit 2 and the same message, and
//! compute the same outputs for the accepted ones.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn nnc() -> &'static str {
    env!("CARGO_BIN_EXE_nnc")
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

/// A `.npy` file from its preamble version, header text and data bytes.
fn file(version: (u8, u8), header: &str, data: &[u8]) -> Vec<u8> {
    let mut v = b"\x93NUMPY".to_vec();
    v.extend_from_slice(&[version.0, version.1]);
    if version.0 == 1 {
        v.extend_from_slice(&(header.len() as u16).to_le_bytes());
    } else {
        v.extend_from_slice(&(header.len() as u32).to_le_bytes());
    }
    v.extend_from_slice(header.as_bytes());
    v.extend_from_slice(data);
    v
}

fn data(n: usize) -> Vec<u8> {
    (0..n)
        .flat_map(|i| (i as f32 * 0.01 - 0.1).to_le_bytes())
        .collect()
}

const H: &str = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 20), }\n";

/// The corpus: (name, bytes, accepted). The input is `x` of shape [2, 20].
fn corpus() -> Vec<(&'static str, Vec<u8>, bool)> {
    let d = data(40);
    let h = |s: &str| file((1, 0), s, &d);
    let mut trailing = h(H);
    trailing.push(0);
    let mut truncated = h(H);
    truncated.pop();
    vec![
        ("v1", h(H), true),
        ("v2", file((2, 0), H, &d), true),
        ("v3", file((3, 0), H, &d), true),
        (
            "double_quotes_reordered",
            h("{\"shape\": (2,20), \"fortran_order\": False, \"descr\": \"<f4\"}  \n"),
            true,
        ),
        (
            "long_dims_no_comma",
            h("{'descr':'<f4','fortran_order':False,'shape':(2L, 20L)}"),
            true,
        ),
        ("empty", Vec::new(), false),
        ("not_npy", b"hello, not numpy\n".to_vec(), false),
        ("short_magic", b"\x93NUM".to_vec(), false),
        ("version_1_1", file((1, 1), H, &d), false),
        ("version_4", file((4, 0), H, &d), false),
        (
            "header_past_end",
            file((1, 0), H, &[])[..40].to_vec(),
            false,
        ),
        (
            "f8",
            file(
                (1, 0),
                "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 20), }",
                &data(80),
            ),
            false,
        ),
        (
            "big_endian",
            h("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 20), }"),
            false,
        ),
        (
            "fortran",
            h("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 20), }"),
            false,
        ),
        (
            "shape",
            h("{'descr': '<f4', 'fortran_order': False, 'shape': (4, 10), }"),
            false,
        ),
        (
            "rank",
            h("{'descr': '<f4', 'fortran_order': False, 'shape': (40,), }"),
            false,
        ),
        (
            "not_a_tuple",
            h("{'descr': '<f4', 'fortran_order': False, 'shape': (40), }"),
            false,
        ),
        (
            "list_shape",
            h("{'descr': '<f4', 'fortran_order': False, 'shape': [2, 20], }"),
            false,
        ),
        (
            "negative_dim",
            h("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -20), }"),
            false,
        ),
        (
            "huge_dims",
            h("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }"),
            false,
        ),
        (
            "duplicate_key",
            h("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 20), }"),
            false,
        ),
        (
            "unknown_key",
            h("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 20), 'x': 1, }"),
            false,
        ),
        (
            "missing_key",
            h("{'descr': '<f4', 'fortran_order': False, }"),
            false,
        ),
        (
            "text_after_dict",
            h("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 20), } x"),
            false,
        ),
        (
            "fortran_order_int",
            h("{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 20), }"),
            false,
        ),
        (
            "escape_in_string",
            h("{'descr': '<f\\4', 'fortran_order': False, 'shape': (2, 20), }"),
            false,
        ),
        (
            "non_ascii_v1",
            h("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 20), } \u{e9}"),
            false,
        ),
        (
            "unclosed",
            h("{'descr': '<f4', 'fortran_order': False"),
            false,
        ),
        ("truncated_data", truncated, false),
        ("trailing_data", trailing, false),
    ]
}

fn scratch() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("npy_agreement");
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

/// The first `error:` line of stderr, with the file's path.
fn error_line(o: &Output) -> String {
    text(&o.stderr)
        .lines()
        .find(|l| l.starts_with("error"))
        .unwrap_or("")
        .to_string()
}

#[test]
fn nnc_run_and_executables_agree_on_every_npy_file() {
    let fx = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/linear");
    let (src, weights) = (fx.join("net.nn"), fx.join("weights.safetensors"));
    let d = scratch();
    let exe = d.join("linear");
    let o = Command::new(nnc())
        .arg("build")
        .arg(&src)
        .arg("--weights")
        .arg(&weights)
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("run nnc build");
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    for (name, bytes, accepted) in corpus() {
        let p = d.join(format!("{name}.npy"));
        std::fs::write(&p, &bytes).unwrap();
        let input = format!("x={}", p.display());
        let (run_y, exe_y) = (
            d.join(format!("{name}_run.npy")),
            d.join(format!("{name}_exe.npy")),
        );
        let run = Command::new(nnc())
            .arg("run")
            .arg(&src)
            .arg("--weights")
            .arg(&weights)
            .arg("--input")
            .arg(&input)
            .arg("--output")
            .arg(format!("y={}", run_y.display()))
            .output()
            .expect("run nnc run");
        let built = Command::new(&exe)
            .arg("--input")
            .arg(&input)
            .arg("--output")
            .arg(format!("y={}", exe_y.display()))
            .output()
            .expect("run the executable");
        let code = if accepted { 0 } else { 2 };
        assert_eq!(
            run.status.code(),
            Some(code),
            "{name}: nnc run: {}",
            describe(&run)
        );
        assert_eq!(
            built.status.code(),
            Some(code),
            "{name}: executable: {}",
            describe(&built)
        );
        if accepted {
            let read = |p: &Path| nnc_interp::npy::read_npy(&std::fs::read(p).unwrap()).unwrap();
            let (a, b) = (read(&run_y), read(&exe_y));
            assert_eq!(a.shape(), b.shape(), "{name}");
            let rel = a.rel_max_diff(&b).unwrap();
            assert!(
                rel <= 1e-4,
                "{name}: nnc run and the executable differ by {rel:e}"
            );
        } else {
            let (e1, e2) = (error_line(&run), error_line(&built));
            assert!(e1.contains("input `x`"), "{name}: {e1}");
            assert_eq!(e1, e2, "{name}: the messages differ");
        }
    }
}
