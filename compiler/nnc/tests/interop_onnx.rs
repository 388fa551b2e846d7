//! The ONNX half of the interop round trips, with the real ONNX tools and
//! no torch: `scripts/interop_check.py --onnx-only` takes every example →
//! `nnc export --format onnx` → `onnx.checker` (full check) → ONNX Runtime
//! vs the executable `nnc build` makes → the exported model built again by
//! `nnc build model.onnx` (imported) vs ONNX Runtime. It needs a Python with
//! numpy, onnx and onnxruntime: `$NNC_PYTHON`, else the venv `tools/setup.sh`
//! makes at `$NNC_ONNX_VENV` (default `~/.cache/nnc/onnx-venv`, what the
//! default `tools/test.sh` uses), else the full interop venv. Without one
//! the test is skipped with a message, except under `NNC_ONNX_CHECKS=1`
//! (set by `tools/test.sh`), where it fails. Networks above 1.5·10⁹ mult-adds
//! are skipped (small networks of the transformer examples' blocks, the
//! PyTorch fixtures, take their place) unless `NNC_E2E_ALL=1`.

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "support/python.rs"]
mod python_env;

/// `$NNC_PYTHON`, else the ONNX check venv, else the full interop venv.
fn python() -> Option<PathBuf> {
    let candidates = python_env::explicit()
        .into_iter()
        .chain(python_env::venv("NNC_ONNX_VENV", ".cache/nnc/onnx-venv"))
        .chain(python_env::venv("NNC_VENV", ".cache/nnc/venv"));
    python_env::first_importing(candidates, "numpy, onnx, onnxruntime")
}

#[test]
fn every_example_through_onnx_checker_onnxruntime_and_import() {
    let Some(py) = python() else {
        let msg =
            "no Python with numpy, onnx and onnxruntime (set NNC_PYTHON, or run tools/setup.sh)";
        if std::env::var("NNC_ONNX_CHECKS").is_ok_and(|v| v == "1") {
            panic!("{msg}");
        }
        eprintln!("skipped: {msg}");
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut args: Vec<String> = vec![
        "--onnx-only".into(),
        "--nnc".into(),
        env!("CARGO_BIN_EXE_nnc").into(),
    ];
    let all = std::env::var_os("NNC_E2E_ALL").is_some_and(|v| v == "1");
    if !all {
        // the big examples (ResNet, GoogLeNet, AlexNet, ViT, ConvNeXt, Swin) take most of the
        // time with a debug nnc; small networks of the transformer examples'
        // blocks (the PyTorch fixtures) stand in for them
        args.extend(["--max-mult-adds".into(), "500000000".into()]);
        let mut files: Vec<String> = std::fs::read_dir(root.join("examples"))
            .expect("examples")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "nn"))
            .map(|p| p.display().to_string())
            .collect();
        files.sort();
        for f in ["tiny_vit", "tiny_convnext", "tiny_swin"] {
            files.push(
                root.join("tests/fixtures")
                    .join(f)
                    .join("net.nn")
                    .display()
                    .to_string(),
            );
        }
        args.extend(files);
    }
    let out = Command::new(&py)
        .arg(root.join("scripts/interop_check.py"))
        .args(&args)
        .current_dir(&root)
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}");
    assert!(
        out.status.success(),
        "interop_check.py --onnx-only failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let must: &[&str] = if all {
        &[
            "examples/vit_b_16.nn",
            "examples/convnext_tiny.nn",
            "examples/swin_t.nn",
            "examples/resnet50.nn",
        ]
    } else {
        &[
            "tests/fixtures/tiny_vit/net.nn",
            "tests/fixtures/tiny_convnext/net.nn",
            "tests/fixtures/tiny_swin/net.nn",
            "examples/mobilevit_hybrid.nn",
            "examples/mobilenet_v2.nn",
        ]
    };
    for ex in must {
        assert!(
            stdout.contains(&format!("{ex}: ok")),
            "{ex} not checked:\n{stdout}"
        );
    }
}
