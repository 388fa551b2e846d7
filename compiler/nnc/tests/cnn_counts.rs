//! The torchvision CNN examples' parameter and mult-add totals (`nnc analyze
//! --format json`) equal torchvision's: `sum(p.numel())` and the mult-adds
//! of its convolutions and linears counted by forward hooks
//! (`scripts/torchvision_counts.py NAME`, opt-in, needs PyTorch; the numbers
//! here are its output). Each example's header comment says which
//! torchvision constructor it mirrors and at which input size.

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

/// (example, params, mult-adds), from `scripts/torchvision_counts.py`.
const COUNTS: &[(&str, u64, u64)] = &[
    ("shufflenet_v2_x0_5.nn", 1_366_792, 40_476_448),
    ("mobilenet_v3_large.nn", 5_483_032, 216_589_760),
    ("resnext50_32x4d.nn", 25_028_904, 4_230_479_872),
    ("wide_resnet50_2.nn", 68_883_240, 11_398_021_120),
    ("mnasnet1_0.nn", 4_383_312, 314_415_872),
    ("regnet_x_400mf.nn", 5_495_976, 413_812_608),
    ("regnet_y_400mf.nn", 4_344_144, 401_842_848),
    ("alexnet.nn", 61_100_840, 714_188_480),
    ("squeezenet1_0.nn", 1_248_424, 818_924_576),
    ("squeezenet1_1.nn", 1_235_496, 349_151_936),
    ("densenet121.nn", 7_978_856, 2_834_161_664),
    ("googlenet.nn", 6_624_904, 1_498_376_192),
    ("inception_v3.nn", 23_834_568, 5_713_216_096),
];

#[test]
fn torchvision_cnn_counts_equal_torchvision() {
    let mut bad = Vec::new();
    for &(file, params, mult_adds) in COUNTS {
        let got = totals(file);
        if got != (params, mult_adds) {
            bad.push(format!(
                "{file}: nnc {got:?}, torchvision {:?}",
                (params, mult_adds)
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
