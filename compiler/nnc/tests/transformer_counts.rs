//! The transformer examples' parameter and mult-add totals (`nnc analyze
//! --format json`) equal torchvision's: `sum(p.numel())` and
//! `torch.utils.flop_counter.FlopCounterMode` / 2, the fvcore convention
//! (convolutions, linears and matrix products; normalizations, softmax,
//! activations and element-wise ops not counted). The torch side is
//! `scripts/check_transformers.py` (opt-in, needs PyTorch); the numbers here
//! are its output.

use std::path::Path;
use std::process::Command;

fn totals(example: &str) -> (u64, u64) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(example);
    let o = Command::new(env!("CARGO_BIN_EXE_nnc"))
        .args(["analyze", "--format", "json"])
        .arg(&path)
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
