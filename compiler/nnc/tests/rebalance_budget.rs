//! `nnc fix --rebalance --time-limit SECONDS`: a bad value is a usage error;
//! a budget that runs out is reported with the best result so far.

use std::process::Command;

#[test]
fn time_limit_is_checked_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("n.nn");
    let mut src = String::from("network n {\n    input x: [1, 8, 8, 8];\n    let r0 = x;\n");
    for i in 0..30 {
        src.push_str(&format!(
            "    let r{} = relu(conv2d(r{i}, out = 24, kernel = 3, pad = 1, name = \"l{i}\"));\n",
            i + 1
        ));
    }
    src.push_str("    output y = r30;\n}\n");
    std::fs::write(&f, &src).unwrap();
    let nnc = env!("CARGO_BIN_EXE_nnc");
    for bad in ["0", "-1", "nan", "abc"] {
        let out = Command::new(nnc)
            .args(["fix", "--rebalance", "--dry-run", "--time-limit", bad])
            .arg(&f)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "--time-limit {bad}");
    }
    let out = Command::new(nnc)
        .args([
            "fix",
            "--rebalance",
            "--dry-run",
            "--time-limit",
            "0.000001",
        ])
        .arg(&f)
        .output()
        .unwrap();
    let (so, se) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{so}{se}");
    assert!(so.contains("stopped at the budget"), "{so}");
    assert!(se.contains("--time-limit"), "{se}");
    assert_eq!(std::fs::read_to_string(&f).unwrap(), src);
}
