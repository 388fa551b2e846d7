//! The analysis of the example networks (parsed and elaborated by the real
//! front end): torchvision's reference numbers and the G1 table.

use nnc_analysis::{analyze, platform, Analysis};
use nnc_diag::SourceFile;
use nnc_ir::Graph;
use std::path::Path;

fn load(file: &str, network: Option<&str>) -> (Graph, SourceFile) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let (ast, diags) = nnc_syntax::parse(&text);
    assert!(diags.is_empty(), "{file}: {diags:#?}");
    let el = nnc_elab::elaborate(&ast, network);
    assert!(!el.has_errors(), "{file}: {:#?}", el.diagnostics);
    (el.graph.expect("graph"), SourceFile::new(file, text))
}

fn run(file: &str) -> (Graph, SourceFile, Analysis) {
    let (g, src) = load(file, None);
    let a = analyze(&g, &platform::builtin("zen3-2c").unwrap()).unwrap();
    (g, src, a)
}

#[test]
fn resnet18_matches_torchvision() {
    let (g, src, a) = run("resnet18.nn");
    assert_eq!(a.totals.cost.params, 11_689_512);
    assert_eq!(a.totals.cost.mult_adds, 1_814_073_344);
    // The same numbers as the hand-built graph, node for node.
    let h = analyze(&nnc_analysis::testing::resnet18(), &a.platform).unwrap();
    assert_eq!(a.totals.cost, h.totals.cost);
    assert_eq!(
        (a.totals.depth, a.totals.width),
        (h.totals.depth, h.totals.width)
    );
    assert_eq!(
        a.totals.peak_activation_bytes,
        h.totals.peak_activation_bytes
    );
    let j = a.to_json(&g, &src);
    let n0 = &j["nodes"][0];
    assert_eq!(n0["name"], "conv1");
    let (s, e) = (
        n0["span"]["byte_start"].as_u64().unwrap() as usize,
        n0["span"]["byte_end"].as_u64().unwrap() as usize,
    );
    assert!(src.text[s..e].contains("conv2d"), "{}", &src.text[s..e]);
    let blocks = j["blocks"].as_array().unwrap();
    assert_eq!(blocks.len(), 8);
    assert_eq!(blocks[2]["name"], "layer2.0");
    assert_eq!(blocks[2]["block"], "basic");
    assert_eq!(blocks[2]["branches"], 2);
}

#[test]
fn mobilenet_v2_matches_torchvision() {
    let (_, _, a) = run("mobilenet_v2.nn");
    assert_eq!(a.totals.cost.params, 3_504_872);
    assert_eq!(a.totals.cost.mult_adds, 300_774_272);
}

#[test]
fn resnet50_matches_torchvision() {
    let (_, _, a) = run("resnet50.nn");
    assert_eq!(a.totals.cost.params, 25_557_032);
    assert_eq!(a.totals.cost.mult_adds, 4_089_184_256);
}

#[test]
fn g1_stacks_match_shufflenet_v2_table1() {
    for (file, c1, c2, mac) in [
        ("g1_1_1.nn", 128u64, 128u64, 819_200u64),
        ("g1_1_2.nn", 90, 180, 862_920),
        ("g1_1_6.nn", 52, 312, 1_157_728),
        ("g1_1_12.nn", 36, 432, 1_483_200),
    ] {
        let (g, _, a) = run(file);
        assert_eq!(a.nodes.len(), 20, "{file}");
        for n in &a.nodes {
            assert_eq!(n.cost.mac, mac, "{file} {}", g.node(n.id).name);
            assert_eq!(n.cost.mult_adds, 56 * 56 * c1 * c2, "{file}");
        }
        assert_eq!(a.totals.cost.mac, 20 * mac);
        let b = nnc_analysis::g1_bound(56, 56, 56 * 56 * c1 * c2);
        assert!(mac as f64 >= b - 1e-6);
    }
}

#[test]
fn every_example_analyzes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("nn") {
            continue;
        }
        let file = path.file_name().unwrap().to_str().unwrap().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let (ast, _) = nnc_syntax::parse(&text);
        for net in nnc_elab::networks(&ast) {
            let (g, src) = load(&file, Some(&net.name.name));
            for p in platform::builtins() {
                let a = analyze(&g, &p).unwrap();
                assert!(a.totals.ops > 0);
                assert!(a.totals.predicted_ms.is_finite() && a.totals.predicted_ms > 0.0);
                assert!(a.totals.critical_path_ms <= a.totals.predicted_ms + 1e-9);
                assert!(a.totals.peak_activation_bytes > 0);
                let j = a.to_json(&g, &src);
                assert_eq!(j["nodes"].as_array().unwrap().len(), a.nodes.len());
            }
            n += 1;
        }
    }
    assert!(n >= 10, "{n} networks");
}
