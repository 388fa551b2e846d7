//! The transformer examples' parameter and mult-add totals (`nnc analyze
//! --format json`) equal torchvision's: `sum(p.numel())` and
//! `torch.utils.flop_counter.FlopCounterMode` / 2, the fvcore convention
//! (convolutions, linears and matrix products; normalizations, softmax,
//! activations and element-wise ops not counted). The torch side is
//! `scripts/check_transformers.py` (opt-in, needs PyTorch); the numbers here
//! are its output.

use std::path::Path;
use std::process::Command;

fn example(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
}

fn totals(example_name: &str) -> (u64, u64) {
    totals_of(&example(example_name))
}

fn totals_of(path: &Path) -> (u64, u64) {
    let o = Command::new(env!("CARGO_BIN_EXE_nnc"))
        .args(["analyze", "--format", "json"])
        .arg(path)
        .output()
        .expect("run nnc");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let t = &v["totals"];
    (
        t["params"].as_u64().expect("params"),
        t["mult_adds"].as_u64().expect("mult_adds"),
    )
}

#[test]
fn swin_t_counts_equal_torchvision() {
    assert_eq!(totals("swin_t.nn"), (28_288_354, 4_490_566_656));
}

#[test]
fn vit_b_16_counts_equal_torchvision() {
    assert_eq!(totals("vit_b_16.nn"), (86_567_656, 17_563_828_224));
}

/// The class token is expanded to the batch of the input: the same file at
/// batch 4 has the same parameters and 4× the mult-adds.
#[test]
fn vit_b_16_works_at_any_batch() {
    let src = std::fs::read_to_string(example("vit_b_16.nn")).expect("read");
    let one = "input image: [1, 3, 224, 224];";
    assert!(src.contains(one), "the example's input changed");
    let dir = std::env::temp_dir().join(format!("nnc-counts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("vit_b_16_batch4.nn");
    std::fs::write(&path, src.replace(one, "input image: [4, 3, 224, 224];")).expect("write");
    let t = totals_of(&path);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(t, (86_567_656, 4 * 17_563_828_224));
}
