//! The weight names and shapes of the example networks equal the keys of
//! torchvision's `state_dict()` (without `num_batches_tracked`), read from
//! `tests/data/*_keys.txt` (exported from torchvision by `scripts/`).

use nnc_ir::op::weight_specs;
use nnc_ir::Graph;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn elaborate(src: &str) -> Graph {
    let (ast, diags) = nnc_syntax::parse(src);
    assert!(diags.is_empty(), "{diags:#?}");
    let el = nnc_elab::elaborate(&ast, None);
    assert!(el.diagnostics.is_empty(), "{:#?}", el.diagnostics);
    el.graph.unwrap()
}

/// `name.suffix shape` lines, sorted, and the trainable parameter count.
fn keys(g: &Graph) -> (Vec<String>, usize) {
    let mut out = Vec::new();
    let mut params = 0;
    for id in g.node_ids() {
        let n = g.node(id);
        let ins: Vec<Vec<usize>> = g
            .inputs(id)
            .iter()
            .map(|&i| g.node(i).shape.clone())
            .collect();
        let ins: Vec<&[usize]> = ins.iter().map(|s| s.as_slice()).collect();
        for w in weight_specs(&n.op, &ins) {
            let shape: Vec<String> = w.shape.iter().map(|d| d.to_string()).collect();
            out.push(format!("{}.{} {}", n.name, w.suffix, shape.join("x")));
            if w.trainable {
                params += w.shape.iter().product::<usize>();
            }
        }
    }
    out.sort();
    (out, params)
}

fn expected(net: &str) -> Vec<String> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/data/{net}_keys.txt"));
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn check_example(file: &str, net: &str, params: Option<usize>) {
    let src = std::fs::read_to_string(root().join("examples").join(file)).unwrap();
    let g = elaborate(&src);
    let (got, p) = keys(&g);
    let want = expected(net);
    let missing: Vec<_> = want.iter().filter(|k| !got.contains(k)).collect();
    let extra: Vec<_> = got.iter().filter(|k| !want.contains(k)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{net}: missing {missing:?}\nextra {extra:?}"
    );
    if let Some(want) = params {
        assert_eq!(p, want, "{net} params");
    }
}

/// The example of the language spec (§8), verbatim.
pub const SPEC_RESNET18: &str = r#"
block basic(x, planes, stride = 1) {
    let out = conv2d(x, out = planes, kernel = 3, stride = stride, pad = 1, bias = false, name = "conv1");
    out = relu(batchnorm(out, name = "bn1"));
    out = conv2d(out, out = planes, kernel = 3, pad = 1, bias = false, name = "conv2");
    out = batchnorm(out, name = "bn2");
    let identity = x;
    if stride != 1 || channels(x) != planes {
        identity = conv2d(x, out = planes, kernel = 1, stride = stride, bias = false, name = "downsample.0");
        identity = batchnorm(identity, name = "downsample.1");
    }
    return relu(out + identity);
}

network resnet18 {
    input image: [1, 3, 224, 224];
    let x = conv2d(image, out = 64, kernel = 7, stride = 2, pad = 3, bias = false, name = "conv1");
    x = relu(batchnorm(x, name = "bn1"));
    x = maxpool(x, kernel = 3, stride = 2, pad = 1);
    let widths = [64, 128, 256, 512];
    for s in 0..4 {
        for b in 0..2 {
            let stride = if s > 0 && b == 0 { 2 } else { 1 };
            x = basic(x, widths[s], stride, name = "layer{s + 1}.{b}");
        }
    }
    output logits = linear(flatten(global_avgpool(x)), out = 1000, name = "fc");
}
"#;

#[test]
fn spec_resnet18_has_torchvision_keys() {
    let g = elaborate(SPEC_RESNET18);
    let (got, params) = keys(&g);
    assert_eq!(got, expected("resnet18"));
    assert_eq!(params, 11_689_512);
    // the names of the ops with weights, in program order
    let names: Vec<&str> = g
        .node_ids()
        .filter(|&i| g.node(i).op.has_weights())
        .map(|i| g.node(i).name.as_str())
        .collect();
    let mut want = vec!["conv1", "bn1"];
    let mut owned = Vec::new();
    for l in 1..=4 {
        for b in 0..2 {
            let p = format!("layer{l}.{b}");
            for s in ["conv1", "bn1", "conv2", "bn2"] {
                owned.push(format!("{p}.{s}"));
            }
            if l > 1 && b == 0 {
                owned.push(format!("{p}.downsample.0"));
                owned.push(format!("{p}.downsample.1"));
            }
        }
    }
    want.extend(owned.iter().map(|s| s.as_str()));
    want.push("fc");
    assert_eq!(names, want);
    // block instances: one per call, named by the scope
    let blocks: Vec<&str> = g.blocks.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(blocks.len(), 8);
    assert_eq!(blocks[0], "layer1.0");
    assert_eq!(blocks[7], "layer4.1");
    assert!(g
        .blocks
        .iter()
        .all(|b| b.block == "basic" && b.parent.is_none()));
    // output shape
    assert_eq!(g.node(g.outputs[0].node).shape, vec![1, 1000]);
}

#[test]
fn resnet18_example_matches_torchvision() {
    check_example("resnet18.nn", "resnet18", Some(11_689_512));
}

#[test]
fn resnet50_example_matches_torchvision() {
    check_example("resnet50.nn", "resnet50", None);
}

#[test]
fn mobilenet_v2_example_matches_torchvision() {
    check_example("mobilenet_v2.nn", "mobilenet_v2", Some(3_504_872));
}

#[test]
fn shufflenet_v2_example_matches_torchvision() {
    check_example(
        "shufflenet_v2_x1_0.nn",
        "shufflenet_v2_x1_0",
        Some(2_278_604),
    );
}

#[test]
fn efficientnet_b0_example_matches_torchvision() {
    check_example("efficientnet_b0.nn", "efficientnet_b0", Some(5_288_548));
}

#[test]
fn shufflenet_v2_x0_5_example_matches_torchvision() {
    check_example(
        "shufflenet_v2_x0_5.nn",
        "shufflenet_v2_x0_5",
        Some(1_366_792),
    );
}

#[test]
fn mobilenet_v3_large_example_matches_torchvision() {
    check_example(
        "mobilenet_v3_large.nn",
        "mobilenet_v3_large",
        Some(5_483_032),
    );
}

#[test]
fn resnext50_32x4d_example_matches_torchvision() {
    check_example("resnext50_32x4d.nn", "resnext50_32x4d", Some(25_028_904));
}

#[test]
fn wide_resnet50_2_example_matches_torchvision() {
    check_example("wide_resnet50_2.nn", "wide_resnet50_2", Some(68_883_240));
}

#[test]
fn mnasnet1_0_example_matches_torchvision() {
    check_example("mnasnet1_0.nn", "mnasnet1_0", Some(4_383_312));
}

#[test]
fn regnet_x_400mf_example_matches_torchvision() {
    check_example("regnet_x_400mf.nn", "regnet_x_400mf", Some(5_495_976));
}

#[test]
fn regnet_y_400mf_example_matches_torchvision() {
    check_example("regnet_y_400mf.nn", "regnet_y_400mf", Some(4_344_144));
}

#[test]
fn alexnet_example_matches_torchvision() {
    check_example("alexnet.nn", "alexnet", Some(61_100_840));
}

#[test]
fn squeezenet1_0_example_matches_torchvision() {
    check_example("squeezenet1_0.nn", "squeezenet1_0", Some(1_248_424));
}

#[test]
fn squeezenet1_1_example_matches_torchvision() {
    check_example("squeezenet1_1.nn", "squeezenet1_1", Some(1_235_496));
}

#[test]
fn densenet121_example_matches_torchvision() {
    check_example("densenet121.nn", "densenet121", Some(7_978_856));
}

#[test]
fn googlenet_example_matches_torchvision() {
    check_example("googlenet.nn", "googlenet", Some(6_624_904));
}

#[test]
fn inception_v3_example_matches_torchvision() {
    check_example("inception_v3.nn", "inception_v3", Some(23_834_568));
}
