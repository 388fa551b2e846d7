//! Allocations sized by the input are checked first: weights past the
//! documented element limit and tensors the system cannot provide (under a
//! `ulimit -v` memory limit) are coded errors (E0414, exit 1), never an
//! abort (exit 134 / a signal).

use std::process::Command;

fn nnc() -> &'static str {
    env!("CARGO_BIN_EXE_nnc")
}

fn write(dir: &std::path::Path, name: &str, src: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, src).unwrap();
    p
}

#[test]
fn weights_of_2_pow_40_elements_are_an_error_in_run_and_build() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "hw.nn",
        "network hw {\n    input x: [1, 1048576];\n    output y = linear(x, out = 1048576, name = \"fc\");\n}\n",
    );
    for args in [
        vec!["run".to_string(), f.display().to_string()],
        vec![
            "build".into(),
            f.display().to_string(),
            "-o".into(),
            dir.path().join("hw").display().to_string(),
        ],
    ] {
        let out = Command::new(nnc()).args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        // the front end refuses the weight (E0182) before build or run
        // would allocate it (E0414 is the backstop behind it)
        assert!(
            (err.contains("E0182") || err.contains("E0414")) && err.contains("fc.weight"),
            "{err}"
        );
    }
}

#[test]
fn a_tensor_beyond_the_memory_limit_is_an_error_not_an_abort() {
    let dir = tempfile::tempdir().unwrap();
    // 2^31 elements (8 GiB), within the element limit, under a 3 GB
    // address-space limit.
    let f = write(
        dir.path(),
        "big.nn",
        "network big {\n    input x: [2, 1073741824];\n    output y = relu(x);\n}\n",
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v 3000000 && exec '{}' run '{}'",
            nnc(),
            f.display()
        ))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    // the random fill of `x` is the first allocation that fails: the same
    // coded error (E0414, exit 1) as one in the interpreter
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("E0414") && err.contains("cannot allocate"),
        "{err}"
    );
    assert!(err.contains("input `x`"), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("memory allocation of"),
        "{err}"
    );
}
