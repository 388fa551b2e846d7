//! `nnc analyze` streams its per-node table: on a 300,000-node graph it fits
//! in the same memory as `nnc check` (a 1 GB address-space limit here). The
//! table used to be built in memory first (about 8x the memory of `check`:
//! this run aborted with exit 134).

use std::process::Command;

#[test]
fn analyze_of_a_huge_graph_runs_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("m.nn");
    std::fs::write(
        &f,
        "network big {\n    input x: [1, 4];\n    let y = x;\n    for i in 0..300000 {\n        y = relu(y);\n    }\n    output z = y;\n}\n",
    )
    .unwrap();
    // one malloc arena: glibc reserves 64 MB of address space per thread
    // arena, which would make the limit depend on how many threads (signal
    // handler, elaboration) allocated rather than on what analyze holds
    // no calibration cache: the default platform is the built-in profile
    let out = Command::new("sh")
        .env("MALLOC_ARENA_MAX", "1")
        .env("XDG_CACHE_HOME", dir.path())
        .arg("-c")
        .arg(format!(
            "ulimit -v 1000000 && exec '{}' analyze '{}' | wc -l",
            env!("CARGO_BIN_EXE_nnc"),
            f.display()
        ))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("memory allocation"), "{err}");
    let lines: usize = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert!(lines > 300_000, "{lines} lines");
}
