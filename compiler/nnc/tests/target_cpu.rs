//! `--target-cpu` is checked against LLVM's CPU list before any target
//! machine exists: an unknown name is a usage error (exit 2) with a
//! suggestion, not an LLVM abort (exit 134).

use std::process::Command;

#[test]
fn unknown_target_cpu_is_a_usage_error_with_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("n.nn");
    std::fs::write(
        &src,
        "network n {\n    input x: [1, 4];\n    output y = relu(x);\n}\n",
    )
    .unwrap();
    for (cpu, hint) in [
        ("zzz", None),
        ("znver33", Some("znver3")),
        ("x86-64-v9", Some("x86-64-v")),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_nnc"))
            .arg("build")
            .arg(&src)
            .arg("-o")
            .arg(dir.path().join("n"))
            .args(["--target-cpu", cpu])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cpu}: {err}");
        assert!(err.contains(&format!("unknown CPU `{cpu}`")), "{err}");
        assert!(
            !err.contains("LLVM ERROR") && !err.contains("not a recognized processor"),
            "{err}"
        );
        if let Some(h) = hint {
            assert!(err.contains(&format!("did you mean `{h}")), "{err}");
        }
        assert!(!dir.path().join("n").exists());
    }
}
