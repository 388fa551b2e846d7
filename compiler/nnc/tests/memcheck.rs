//! Generated executables under valgrind memcheck, as part of the suite: a
//! set of fixtures covering every kernel family (direct and fast convs,
//! grouped and depthwise, linear, pools with ceil/padding, concat/split/
//! shuffle, softmax, upsample, and the small ResNet/MobileNetV2/ShuffleNet)
//! built for `x86-64-v3` (AVX2: valgrind cannot decode AVX-512) and run with
//! `--threads 1` and `2` by `scripts/check_memory.sh`. Any invalid read or
//! write, or a run that fails, fails the test (the results themselves are
//! compared with PyTorch by `e2e.rs`).
//!
//! Needs valgrind (`tools/setup.sh` installs it). Without it the test fails
//! unless `NNC_SKIP_MEMCHECK=1` says to skip it on purpose.

use std::path::Path;
use std::process::Command;

const CASES: &[&str] = &[
    "conv_3x3",
    "conv_groups",
    "conv_depthwise_s2",
    "conv_5x5_s2_nopad",
    "linear",
    "maxpool_ceil_pad",
    "avgpool_ceil_pad",
    "concat_split_shuffle",
    "softmax",
    "upsample",
    "tiny_resnet",
    "tiny_mobilenetv2",
    "tiny_shufflenet",
];

#[test]
fn fixture_executables_are_clean_under_memcheck() {
    if std::env::var("NNC_SKIP_MEMCHECK").is_ok_and(|v| v == "1") {
        eprintln!("memcheck skipped (NNC_SKIP_MEMCHECK=1)");
        return;
    }
    let have = Command::new("valgrind").arg("--version").output();
    assert!(
        have.is_ok_and(|o| o.status.success()),
        "valgrind is needed (tools/setup.sh installs it; NNC_SKIP_MEMCHECK=1 skips)"
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new("bash")
        .arg(root.join("scripts/check_memory.sh"))
        .args(["--cpus", "x86-64-v3"])
        .args(CASES)
        .env("NNC", env!("CARGO_BIN_EXE_nnc"))
        .output()
        .expect("run scripts/check_memory.sh");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "memcheck failed:\n{text}");
    let oks = text
        .lines()
        .filter(|l| l.trim_end().contains(" ok ("))
        .count();
    assert_eq!(
        oks,
        CASES.len() * 2,
        "expected one clean run per case and thread count:\n{text}"
    );
}
