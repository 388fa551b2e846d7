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

/// Every example exports to PyTorch, each weight registered once under its
/// nnc name; where a `python3` exists, the source parses (`ast.parse`: no
/// torch needed; outputs are compared by scripts/interop_check.py).
#[test]
fn every_example_exports_to_parseable_pytorch() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("examples")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "nn"))
        .collect();
    files.sort();
    let python = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let tmp = std::env::temp_dir().join(format!("nnc_torch_export_{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("tmp");
    let mut n = 0;
    for f in files {
        let src = std::fs::read_to_string(&f).expect("read");
        let nets: Vec<String> = src
            .lines()
            .filter_map(|l| l.trim().strip_prefix("network "))
            .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
            .collect();
        for net in &nets {
            let (ast, _) = nnc_syntax::parse(&src);
            let el = nnc_elab::elaborate(&ast, (nets.len() > 1).then_some(net.as_str()));
            let g = el.graph.expect("graph");
            let py = nnc_onnx::export_torch::export(&g)
                .unwrap_or_else(|e| panic!("{}: {net}: {e}", f.display()));
            if f.ends_with("vit_b_16.nn") {
                assert!(
                    py.contains("nn.MultiheadAttention(768, 12, bias=True, batch_first=True)"),
                    "{py}"
                );
                assert!(
                    py.contains("self._add(\"class_token\", nn.Parameter(torch.zeros(1, 1, 768)))"),
                    "{py}"
                );
            }
            if f.ends_with("convnext_tiny.nn") {
                assert!(py.contains(".movedim(1, -1)).movedim(-1, 1)"), "{py}");
            }
            if python {
                let p = tmp.join(format!("{net}.py"));
                std::fs::write(&p, &py).expect("write");
                let out = std::process::Command::new("python3")
                    .args(["-c", "import ast, sys; ast.parse(open(sys.argv[1]).read())"])
                    .arg(&p)
                    .output()
                    .expect("python3");
                assert!(
                    out.status.success(),
                    "{}: {net}: {}\n{py}",
                    f.display(),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            n += 1;
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(n >= 10, "only {n} networks");
}
