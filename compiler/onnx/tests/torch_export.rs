//! `nnc export --format torch` keeps the network's structure: block
//! instances become submodules of shared, parameterized classes, and chains
//! of them `nn.Sequential` containers or loops (the outputs themselves are
//! compared with PyTorch by scripts/interop_check.py).

fn graph(src: &str) -> nnc_ir::Graph {
    let (ast, d) = nnc_syntax::parse(src);
    assert!(d.is_empty(), "{d:?}");
    let el = nnc_elab::elaborate(&ast, None);
    assert!(
        el.diagnostics.iter().all(|d| !d.is_error()),
        "{:?}",
        el.diagnostics
    );
    el.graph.expect("graph")
}

#[test]
fn resnet50_blocks_become_classes_and_stages_sequentials() {
    let src = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/resnet50.nn"
    ))
    .expect("example");
    let py = nnc_onnx::export_torch::export(&graph(&src)).expect("export");
    // two structures of `bottleneck` (with and without the downsample branch)
    assert!(py.contains("class Bottleneck(_Module):"), "{py}");
    assert!(py.contains("class Bottleneck2(_Module):"), "{py}");
    assert!(
        py.contains("def __init__(self, in_channels, out_channels, stride):"),
        "{py}"
    );
    assert!(py.contains("out_channels=out_channels * 4"), "{py}");
    assert!(
        py.contains("self._add(\"layer3\", nn.Sequential(Bottleneck(512, 256, 2), *[Bottleneck2(1024, 256) for _ in range(5)]))"),
        "{py}"
    );
    assert!(py.contains("= self._m[\"layer3\"]("), "{py}");
}

#[test]
fn chains_that_are_not_a_whole_container_become_loops() {
    let src = r#"
block unit(x, c) {
    let y = conv2d(x, out = c, kernel = 3, pad = 1, name = "conv");
    return relu(y) + x;
}
network n {
    input x: [1, 4, 8, 8];
    let y = conv2d(x, out = 4, kernel = 1, name = "stage.stem");
    for i in 1..4 {
        y = unit(y, 4, name = "stage.{i}");
    }
    output out = y;
}
"#;
    let py = nnc_onnx::export_torch::export(&graph(src)).expect("export");
    assert!(py.contains("class Unit(_Module):"), "{py}");
    assert!(
        py.contains("for i in range(1, 4):\n            self._add(f\"stage.{i}\", Unit())"),
        "{py}"
    );
    assert!(py.contains("self._m[f\"stage.{i}\"]("), "{py}");
}
