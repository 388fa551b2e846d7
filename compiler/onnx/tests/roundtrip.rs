//! Every example network (and small networks of the transformer examples'
//! blocks) → ONNX export → import → the same parameters, mult-adds and (for
//! the small ones, in the reference interpreter) outputs.

use nnc_interp::weights::{init_deterministic, random_tensor};
use std::collections::HashMap;
use std::path::Path;

fn elaborate(src: &str, network: Option<&str>) -> nnc_ir::Graph {
    let (ast, d) = nnc_syntax::parse(src);
    assert!(!d.iter().any(|d| d.is_error()), "{d:?}");
    let el = nnc_elab::elaborate(&ast, network);
    assert!(
        !el.diagnostics.iter().any(|d| d.is_error()),
        "{:?}",
        el.diagnostics
    );
    el.graph.expect("graph")
}

fn totals(g: &nnc_ir::Graph) -> (u64, u64, u32) {
    let p = nnc_analysis::platform::builtin("zen3-2c").expect("platform");
    let a = nnc_analysis::analyze(g, &p).expect("analysis");
    (a.totals.cost.params, a.totals.cost.mult_adds, a.totals.ops)
}

fn networks() -> Vec<(String, String, Option<String>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("examples")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "nn"))
        .collect();
    files.sort();
    for f in files {
        let src = std::fs::read_to_string(&f).expect("read");
        let nets: Vec<String> = src
            .lines()
            .filter_map(|l| l.trim().strip_prefix("network "))
            .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
            .collect();
        for n in &nets {
            let sel = if nets.len() > 1 {
                Some(n.clone())
            } else {
                None
            };
            out.push((f.display().to_string(), src.clone(), sel));
        }
    }
    out
}

#[test]
fn every_example_survives_export_and_import() {
    let nets = networks();
    assert!(
        nets.len() >= 10,
        "found only {} example networks",
        nets.len()
    );
    for (file, src, sel) in nets.into_iter().chain(small_transformers()) {
        let g = elaborate(&src, sel.as_deref());
        let w = init_deterministic(&g, 7);
        let bytes = nnc_onnx::export_onnx::export(&g, &w, 17)
            .unwrap_or_else(|e| panic!("{file}: export: {e}"));
        let imp = nnc_onnx::import_bytes(&bytes, None, "model")
            .unwrap_or_else(|e| panic!("{file}: import: {e}"));
        let g2 = elaborate(&imp.text, None);
        if file.ends_with("resnet50.nn") {
            // repeated bottlenecks come back as parameterized blocks (one
            // with the downsample branch, one without; widths as a
            // parameter, the expansion as `* 4`) and runs of them as loops
            let defs = imp.text.lines().filter(|l| l.starts_with("block ")).count();
            assert_eq!(defs, 2, "{}", imp.text);
            assert!(imp.text.contains("out = out * 4"), "{}", imp.text);
            assert!(imp.text.contains("for i in 1..6 {"), "{}", imp.text);
            assert!(imp.text.contains("name = \"layer3.{i}\")"), "{}", imp.text);
            assert!(imp.structure.contains("4 loops"), "{}", imp.structure);
        }
        // the tensor and transformer ops come back as themselves
        let want: &[&str] = match sel.as_deref().unwrap_or(&file) {
            // (at batch 1 the class token's expand is no op)
            f if f.ends_with("vit_b_16.nn") => &[
                "attention(",
                "layernorm(",
                "select(",
                "param([",
                "name = \"class_token\"",
                "permute(",
                "reshape(",
            ],
            "<tiny_vit>" => &["attention(", "param([", "name = \"class_token\"", "expand("],
            f if f.ends_with("convnext_tiny.nn") || f == "<tiny_convnext>" => {
                &["channels_first = true", "layer_scale\")"]
            }
            f if f.ends_with("swin_t.nn") || f == "<tiny_swin>" => &[
                "take(",
                "constant([",
                "roll(",
                "relative_position_bias_table\"",
            ],
            "<misc_ops>" => &[
                "roll(",
                "expand(",
                "step = 2",
                "matmul(",
                "1.0 - ",
                "layernorm(",
                "dims = 2",
                "bias = false",
            ],
            _ => &[],
        };
        for w in want {
            assert!(imp.text.contains(w), "{file}: no `{w}` in\n{}", imp.text);
        }
        let (t1, t2) = (totals(&g), totals(&g2));
        if !want.is_empty() {
            // (a one-part split comes back as a split with its unused parts,
            // so only the networks of the tensor ops compare op counts)
            assert_eq!(t1.2, t2.2, "{file} {sel:?}: op counts differ\n{}", imp.text);
        }
        assert_eq!(t1.0, t2.0, "{file} {sel:?}: params differ");
        assert_eq!(t1.1, t2.1, "{file} {sel:?}: mult-adds differ");
        let problems = nnc_interp::weights::check_store(&g2, &imp.weights);
        assert!(problems.is_empty(), "{file}: {problems:?}");
        // outputs, for the networks cheap enough for the unoptimized interpreter
        if t1.1 > 150_000_000 {
            continue;
        }
        let mut inputs = HashMap::new();
        let mut inputs2 = HashMap::new();
        for (k, &id) in g.inputs.iter().enumerate() {
            let n = g.node(id);
            let t = random_tensor(n.shape.clone(), 100 + k as u64).expect("input");
            let name2 = g2.node(g2.inputs[k]).name.clone();
            if let nnc_ir::op::Op::Input { name } = &n.op {
                inputs.insert(name.clone(), t.clone());
            }
            inputs2.insert(name2, t);
        }
        let o1 = nnc_interp::eval::run(&g, &w, &inputs).expect("run original");
        let o2 = nnc_interp::eval::run(&g2, &imp.weights, &inputs2).expect("run imported");
        for (k, out) in g.outputs.iter().enumerate() {
            let a = &o1[&out.name];
            let b = &o2[&g2.outputs[k].name];
            assert_eq!(a.shape(), b.shape(), "{file}: output {}", out.name);
            let diff = a
                .data()
                .iter()
                .zip(b.data())
                .map(|(x, y)| (x - y).abs())
                .fold(0.0f32, f32::max);
            let scale = a.data().iter().map(|x| x.abs()).fold(0.0f32, f32::max);
            assert!(
                diff <= 1e-5 * scale.max(1e-30),
                "{file} {sel:?}: output {} differs by {diff} (max |ref| {scale})",
                out.name
            );
        }
    }
}

/// Small networks with every tensor and transformer op (the ViT and
/// ConvNeXt examples are too costly for the interpreter's output check):
/// a ViT and a ConvNeXt of the examples' structure at toy sizes, and the
/// ops no example uses (`roll`, strided `slice`, `matmul`, `expand` with a
/// new leading axis, scalar
/// arithmetic, a multi-axis layernorm, attention without bias).
fn small_transformers() -> Vec<(String, String, Option<String>)> {
    let vit = r#"
block encoder_block(x, heads, mlp_dim) {
    let y = layernorm(x, eps = 1e-6, name = "ln_1");
    y = attention(y, heads = heads, name = "self_attention");
    x = x + y;
    let z = layernorm(x, eps = 1e-6, name = "ln_2");
    z = linear(z, out = mlp_dim, name = "mlp.0");
    z = gelu(z);
    z = linear(z, out = shape(x)[2], name = "mlp.3");
    return x + z;
}
network tiny_vit {
    input image: [2, 3, 16, 16];
    let x = conv2d(image, out = 16, kernel = 4, stride = 4, name = "conv_proj");
    x = permute(reshape(x, [batch(image), 16, 16]), [0, 2, 1]);
    let cls = expand(param([1, 1, 16], name = "class_token"), [batch(x), -1, -1]);
    x = concat([cls, x], axis = 1);
    x = x + param([1, 17, 16], name = "encoder.pos_embedding");
    for i in 0..2 {
        x = encoder_block(x, 4, 32, name = "encoder.layers.encoder_layer_{i}");
    }
    x = layernorm(x, eps = 1e-6, name = "encoder.ln");
    output logits = linear(select(x, axis = 1, index = 0), out = 10, name = "heads.head");
}
"#;
    let convnext = r#"
block cn_block(x, dim) {
    let y = conv2d(x, out = dim, kernel = 7, pad = 3, groups = dim, name = "block.0");
    y = permute(y, [0, 2, 3, 1]);
    y = layernorm(y, eps = 1e-6, name = "block.2");
    y = linear(y, out = 4 * dim, name = "block.3");
    y = gelu(y);
    y = linear(y, out = dim, name = "block.5");
    y = permute(y, [0, 3, 1, 2]);
    y = param([dim, 1, 1], name = "layer_scale") * y;
    return x + y;
}
network tiny_convnext {
    input image: [1, 3, 32, 32];
    let x = conv2d(image, out = 8, kernel = 4, stride = 4, name = "features.0.0");
    x = layernorm(x, eps = 1e-6, channels_first = true, name = "features.0.1");
    for b in 0..2 {
        x = cn_block(x, 8, name = "features.1.{b}");
    }
    x = layernorm(x, eps = 1e-6, channels_first = true, name = "features.2.0");
    x = conv2d(x, out = 16, kernel = 2, stride = 2, name = "features.2.1");
    x = cn_block(x, 16, name = "features.3.0");
    x = global_avgpool(x);
    x = layernorm(x, eps = 1e-6, channels_first = true, name = "classifier.0");
    output logits = linear(flatten(x), out = 10, name = "classifier.2");
}
"#;
    let misc = r#"
network misc_ops {
    input x: [2, 6, 8];
    input y: [2, 8, 5];
    let a = roll(x, 3, 2);
    let b = slice(a, axis = 2, start = 1, stop = 8, step = 2);
    let c = matmul(x, y);
    let d = 1.0 - c;
    let e = d * 0.25;
    let f = e / 8.0;
    let g = f - 2.0;
    let h = -g;
    let i = layernorm(h, dims = 2, name = "ln2d");
    let j = attention(permute(x, [0, 2, 1]), heads = 3, bias = false, name = "attn");
    output o1 = i;
    output o2 = b;
    output o3 = select(j, axis = 2, index = 1);
    output o4 = expand(slice(x, axis = 2, start = 0, stop = 2, step = 2), [3, 2, 6, 4]);
}
"#;
    // a Swin of swin_t's blocks at toy sizes (the PyTorch fixture's
    // network): take, constant masks, rolls and window permutes
    let swin = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tiny_swin/net.nn"),
    )
    .expect("tiny_swin fixture");
    [
        ("tiny_vit", vit),
        ("tiny_convnext", convnext),
        ("misc_ops", misc),
        ("tiny_swin", swin.as_str()),
    ]
    .into_iter()
    .map(|(n, s)| (format!("<{n}>"), s.to_string(), None))
    .collect()
}

#[test]
fn layernorm_below_opset_17_is_e0520() {
    let g = elaborate(
        "network n { input x: [1, 4, 8]; output y = layernorm(x, name = \"ln\"); }",
        None,
    );
    let w = init_deterministic(&g, 1);
    let e = nnc_onnx::export_onnx::export(&g, &w, 16).expect_err("opset 16");
    assert!(
        e.to_string().contains("E0520") && e.to_string().contains("opset 17"),
        "{e}"
    );
    assert!(nnc_onnx::export_onnx::export(&g, &w, 17).is_ok());
}
