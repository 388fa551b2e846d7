//! The interop round trips with the real ecosystem: `scripts/interop_check.py
//! --quick` (torchvision models → torch.onnx.export → `nnc import` → build →
//! compared with ONNX Runtime, one with a dynamic batch and `--input-shape`;
//! examples → `nnc export` → onnx.checker, ONNX Runtime and PyTorch compared
//! with the executable). It needs a Python with torch, torchvision, onnx and
//! onnxruntime: `$NNC_PYTHON`, else the venv `tools/setup.sh` makes
//! (`$NNC_VENV`, default `~/.cache/nnc/venv`) when run with
//! `NNC_PYTHON_INTEROP=1`. Without one the test is skipped with a message,
//! except under `NNC_PYTHON_INTEROP=1`, where it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "support/python.rs"]
mod python_env;

/// `$NNC_PYTHON` if set (and only it), else the interop venv.
fn python() -> Option<PathBuf> {
    let candidates =
        python_env::explicit().or_else(|| python_env::venv("NNC_VENV", ".cache/nnc/venv"));
    python_env::first_importing(candidates, "torch, torchvision, onnx, onnxruntime")
}

#[test]
fn torchvision_and_examples_round_trip_through_onnx_and_pytorch() {
    let Some(py) = python() else {
        let msg = "no Python with torch, torchvision, onnx and onnxruntime (set NNC_PYTHON, or run tools/setup.sh)";
        if std::env::var("NNC_PYTHON_INTEROP").is_ok_and(|v| v == "1") {
            panic!("{msg}");
        }
        eprintln!("skipped: {msg}");
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(&py)
        .arg(root.join("scripts/interop_check.py"))
        .args(["--quick", "--nnc", env!("CARGO_BIN_EXE_nnc")])
        .current_dir(&root)
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}");
    assert!(
        out.status.success(),
        "interop_check.py failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // it checked something of each kind
    assert!(stdout.contains("torchvision resnet18"), "{stdout}");
    assert!(stdout.contains("--input-shape"), "{stdout}");
    assert!(stdout.contains("examples/"), "{stdout}");
    assert!(stdout.contains("examples/vit_b_16.nn: ok"), "{stdout}");
}
