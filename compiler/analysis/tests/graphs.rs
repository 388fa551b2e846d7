//! Graph analyses on hand-drawn graphs with known answers, and the reference
//! networks built by hand (torchvision's numbers).

use nnc_analysis::testing::{self, Layers};
use nnc_analysis::{analyze, platform, Bound, Platform};
use nnc_diag::SourceFile;
use nnc_ir::Activation;
use nnc_ir::GraphBuilder;

fn plat() -> Platform {
    // 100 GFLOP/s, 10 GB/s: ridge at 10 FLOP/B, easy numbers.
    Platform {
        name: "test".into(),
        description: "test".into(),
        peak_gflops: 100.0,
        bandwidth_gbs: 10.0,
        source: "test".into(),
    }
}

#[test]
fn chain_depth_width_peak() {
    // x → relu → relu → relu, 1000 elements each (4000 bytes).
    let g = testing::chain(3, &[1, 10, 10, 10]);
    let a = analyze(&g, &plat()).unwrap();
    let t = &a.totals;
    assert_eq!((t.ops, t.depth, t.width), (3, 3, 1));
    assert_eq!(t.parallelism, 1.0);
    let depths: Vec<u32> = a.nodes.iter().map(|n| n.depth).collect();
    assert_eq!(depths, vec![1, 2, 3]);
    // Each step holds its input and its output.
    assert_eq!(t.peak_activation_bytes, 8000);
    assert_eq!(t.cost.flops, 3000);
    assert_eq!(t.cost.mac, 6000);
    assert_eq!(t.elementwise_share, 1.0);
    // Memory-bound: 8000 bytes / 10 GB/s = 0.8 µs each.
    for n in &a.nodes {
        assert_eq!(n.bound, Bound::Memory);
        assert!((n.predicted_ms - 8000.0 / 10e9 * 1e3).abs() < 1e-12);
    }
    assert!((t.predicted_ms - 3.0 * 8e-4).abs() < 1e-12);
    assert!((t.critical_path_ms - t.predicted_ms).abs() < 1e-12);
    assert_eq!(a.critical_path.len(), 3);
}

#[test]
fn diamond() {
    // x → a → {b, c → d} → add: depth 4 (a, c, d, add), width 2.
    let mut b = GraphBuilder::new("diamond");
    let x = b.input("x", &[1, 250]); // 1000 bytes
    let a = b.relu(x);
    let l = b.act(a, Activation::Sigmoid);
    let r1 = b.relu(a);
    let r2 = b.act(r1, Activation::Tanh);
    let s = b.add(l, r2);
    b.output("y", s);
    let g = b.finish();
    let an = analyze(&g, &plat()).unwrap();
    let t = &an.totals;
    assert_eq!((t.ops, t.depth, t.width), (5, 4, 2));
    assert_eq!(t.parallelism, 5.0 / 4.0);
    assert_eq!(an.node(s).unwrap().depth, 4);
    assert_eq!(an.node(l).unwrap().depth, 2);
    assert!(an.node(x).is_none());
    // Execution order x, a, l, r1, r2, s. Live sets (×1000 bytes):
    // a: {x,a}=2; l: {a,l}=2 (x died at a); r1: {a,l,r1}=3;
    // r2: {l,r1,r2}=3; s: {l,r2,s}=3.
    assert_eq!(t.peak_activation_bytes, 3000);
    // Critical path by time: the right branch is longer (2 ops).
    assert_eq!(an.critical_path, vec![a, r1, r2, s]);
}

#[test]
fn residual_with_output_and_input_lifetimes() {
    // x (big) → conv → relu → add(relu, x): x lives until the add.
    let mut b = GraphBuilder::new("res");
    let x = b.input("x", &[1, 4, 8, 8]); // 256 elems = 1024 B
    let c = b.conv(x, "conv", 4, 3, 1, 1, 1, false);
    let r = b.relu(c);
    let s = b.add(r, x);
    b.output("y", s);
    // A second output early in the order stays live until the end.
    b.output("c", c);
    let g = b.finish();
    let a = analyze(&g, &plat()).unwrap();
    assert_eq!((a.totals.depth, a.totals.width), (3, 1));
    // At the add: x, c (an output), r, s are live: 4 × 1024.
    assert_eq!(a.totals.peak_activation_bytes, 4096);
    // elementwise: relu (512) + add (768) of total conv (256+256+144) + 1280.
    let conv_mac = 256 + 256 + 144;
    let ew = 512 + 768;
    assert!((a.totals.elementwise_share - ew as f64 / (ew + conv_mac) as f64).abs() < 1e-12);
}

#[test]
fn parallel_branches_of_blocks() {
    // A ShuffleNet V2 unit: split → (identity | 1×1 → dw 3×3 → 1×1) → concat → shuffle,
    // and an inception-like block with 3 parallel convs, nested in a stage.
    let mut b = GraphBuilder::new("frag");
    let x = b.input("x", &[1, 8, 4, 4]);
    let stage = b.enter("stage", "stage");
    let unit = b.enter("stage.0", "shuffle_unit");
    let parts = b.split(x, 2);
    let y = b.conv(parts[1], "c1", 4, 1, 1, 0, 1, false);
    let y = b.conv(y, "dw", 4, 3, 1, 1, 4, false);
    let y = b.conv(y, "c2", 4, 1, 1, 0, 1, false);
    let cat = b.concat(&[parts[0], y]);
    let sh = b.shuffle(cat, 2);
    b.exit();
    let inc = b.enter("stage.1", "inception");
    let p: Vec<_> = (0..3)
        .map(|i| b.conv(sh, &format!("b{i}"), 2, 1, 1, 0, 1, false))
        .collect();
    let deep = b.relu(p[2]);
    let cat2 = b.concat(&[p[0], p[1], deep]);
    b.exit();
    b.exit();
    b.output("y", cat2);
    let g = b.finish();
    let a = analyze(&g, &plat()).unwrap();
    let get = |id: nnc_ir::BlockId| a.blocks.iter().find(|x| x.id == id).unwrap();
    // unit: split×2, c1, dw, c2, concat, shuffle = 7 ops; level 1 has both split parts.
    assert_eq!(
        (get(unit).ops, get(unit).branches, get(unit).depth),
        (7, 2, 6)
    );
    assert_eq!((get(inc).ops, get(inc).branches, get(inc).depth), (5, 3, 3));
    // The stage holds both, levels continue across the instances.
    assert_eq!(get(stage).ops, 12);
    assert_eq!(get(stage).depth, 6 + 3);
    assert_eq!(get(stage).branches, 3);
    assert_eq!(a.totals.width, 3);
}

#[test]
fn resnet18_reference_numbers() {
    let g = testing::resnet18();
    let a = analyze(&g, &platform::builtin("zen3-2c").unwrap()).unwrap();
    assert_eq!(a.totals.cost.params, 11_689_512);
    assert_eq!(a.totals.cost.mult_adds, 1_814_073_344);
    // conv1 → bn → relu → maxpool, 8 blocks of (conv bn relu conv bn add relu), gap, flatten, fc.
    assert_eq!(a.totals.depth, 4 + 8 * 7 + 3);
    assert_eq!(a.totals.width, 2);
    assert_eq!(a.blocks.len(), 8);
    let l2 = a.blocks.iter().find(|b| b.name == "layer2.0").unwrap();
    assert_eq!((l2.ops, l2.branches), (9, 2));
    let l1 = a.blocks.iter().find(|b| b.name == "layer1.0").unwrap();
    assert_eq!((l1.ops, l1.branches), (7, 1));
    // FLOPs: 2×mult-adds + fc bias + the documented element-wise counts.
    assert!(a.totals.cost.flops > 2 * 1_814_073_344);
    assert!(a.totals.predicted_ms > 0.0);
}

#[test]
fn mobilenet_v2_reference_numbers() {
    let g = testing::mobilenet_v2();
    let a = analyze(&g, &platform::builtin("zen3-2c").unwrap()).unwrap();
    assert_eq!(a.totals.cost.params, 3_504_872);
    assert_eq!(a.totals.cost.mult_adds, 300_774_272);
    assert_eq!(a.blocks.len(), 17);
}

#[test]
fn resnet50_reference_numbers() {
    let g = testing::resnet50();
    let a = analyze(&g, &platform::builtin("zen3-2c").unwrap()).unwrap();
    // torchvision: 25,557,032 params, 4.09 G mult-adds.
    assert_eq!(a.totals.cost.params, 25_557_032);
    assert_eq!(a.totals.cost.mult_adds, 4_089_184_256);
}

#[test]
fn json_has_every_field_of_the_contract() {
    let g = testing::resnet18();
    let a = analyze(&g, &platform::builtin("zen3-2c").unwrap()).unwrap();
    let src = SourceFile::new("resnet18.nn", "x".repeat(2000));
    let j = a.to_json(&g, &src);
    assert_eq!(j["network"], "resnet18");
    for k in [
        "params",
        "mult_adds",
        "flops",
        "mac",
        "mac_bytes",
        "depth",
        "width",
        "parallelism",
        "elementwise_share",
        "peak_activation_bytes",
        "predicted_ms",
    ] {
        assert!(!j["totals"][k].is_null(), "totals.{k}");
    }
    assert_eq!(j["totals"]["params"], 11_689_512);
    for k in ["name", "peak_gflops", "bandwidth_gbs"] {
        assert!(!j["platform"][k].is_null(), "platform.{k}");
    }
    let nodes = j["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), a.nodes.len());
    let n0 = &nodes[0];
    for k in [
        "id",
        "op",
        "name",
        "inputs",
        "shape",
        "params",
        "mult_adds",
        "flops",
        "mac",
        "intensity",
        "depth",
        "bound",
        "predicted_ms",
        "span",
    ] {
        assert!(!n0[k].is_null(), "nodes[0].{k}");
    }
    assert_eq!(n0["op"], "conv2d");
    assert_eq!(n0["name"], "conv1");
    assert_eq!(n0["shape"], serde_json::json!([1, 64, 112, 112]));
    assert_eq!(n0["inputs"], serde_json::json!([0]));
    assert_eq!(n0["depth"], 1);
    assert_eq!(n0["span"]["file"], "resnet18.nn");
    assert_eq!(n0["span"]["byte_start"], 10);
    assert_eq!(n0["span"]["byte_end"], 15);
    assert!(n0["bound"] == "compute" || n0["bound"] == "memory");
    let blocks = j["blocks"].as_array().unwrap();
    assert_eq!(blocks.len(), 8);
    assert_eq!(blocks[0]["name"], "layer1.0");
    assert_eq!(blocks[0]["block"], "basic");
    assert_eq!(blocks[0]["ops"], 7);
    assert_eq!(blocks[0]["branches"], 1);
}

#[test]
fn empty_graph() {
    let g = nnc_ir::Graph::new("empty");
    let a = analyze(&g, &plat()).unwrap();
    assert_eq!(a.totals.ops, 0);
    assert_eq!(a.totals.parallelism, 0.0);
    assert_eq!(a.totals.peak_activation_bytes, 0);
    // Only data movement (the table and chart: nnc-report's tests).
    let mut b = GraphBuilder::new("moves");
    let x = b.input("x", &[1, 4, 2, 2]);
    let f = b.flatten(x);
    b.output("y", f);
    let g = b.finish();
    let a = analyze(&g, &plat()).unwrap();
    assert_eq!(a.totals.cost.flops, 0);
}
