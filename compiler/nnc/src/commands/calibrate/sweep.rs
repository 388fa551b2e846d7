//! The kernel sweep of `nnc calibrate`: small synthetic networks covering
//! nnc's kernel classes over a range of shapes, built with nnc's own code
//! generator, run with `--profile --json` at one thread and at all threads;
//! each profiled kernel, with its description from the executed plan, is
//! one sample of its class. No network of the user is involved.

use nnc_analysis::model::{KernelDesc, Sample};
use std::path::Path;
use std::process::Command;

/// Feature-map sizes and the channel counts swept at each (typical of
/// ImageNet CNNs: wide maps with few channels, narrow maps with many).
const STAGES: &[(usize, &[usize])] = &[
    (112, &[16, 32]),
    (56, &[24, 64]),
    (28, &[40, 128]),
    (14, &[96, 256]),
    (7, &[160, 512]),
];

/// The `.nn` sources of the sweep: (name, text).
pub fn networks() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for &(s, chans) in STAGES {
        out.push((format!("sweep_s{s}"), stride1(s, chans)));
    }
    out.push(("sweep_strided".into(), strided()));
    out.push(("sweep_linear".into(), linear()));
    out.push(("sweep_tokens".into(), tokens()));
    out.push(("sweep_heavy".into(), heavy()));
    out
}

/// Weight-heavy layers whose weights (~70 MB in all) cannot stay in any
/// cache between inferences, as in large networks: wide 1×1 and 3×3
/// convolutions on small maps and large linear layers.
fn heavy() -> String {
    "network sweep_heavy {
    input x: [1, 512, 14, 14];
    let y = relu(conv2d(x, out = 1024, kernel = 1, name = \"h0\"));
    y = relu(conv2d(y, out = 512, kernel = 3, pad = 1, stride = 2, name = \"h1\"));
    y = relu(conv2d(y, out = 2048, kernel = 1, name = \"h2\"));
    y = relu(conv2d(y, out = 512, kernel = 1, name = \"h3\"));
    y = relu(conv2d(y, out = 512, kernel = 3, pad = 1, name = \"h4\"));
    y = relu(conv2d(y, out = 2048, kernel = 1, name = \"h5\"));
    let v = flatten(global_avgpool(y));
    v = relu(linear(v, out = 2048, name = \"f0\"));
    v = relu(linear(v, out = 2048, name = \"f1\"));
    output out = linear(v, out = 1000, name = \"f2\");
}
"
    .to_string()
}

/// Stride-1 blocks at one map size: 1×1 (plain and with a fused residual),
/// 3×3 direct, depthwise, pooling, element-wise, broadcast, copies.
fn stride1(s: usize, chans: &[usize]) -> String {
    let c0 = chans[0];
    let mut t =
        format!("network sweep_s{s} {{\n    input x: [1, {c0}, {s}, {s}];\n    let y = x;\n");
    for (i, &c) in chans.iter().enumerate() {
        let e = c * 4;
        t.push_str(&format!(
            "    y = relu(conv2d(y, out = {c}, kernel = 1, name = \"a{i}\"));
    let r{i} = y;
    y = relu(conv2d(y, out = {c}, kernel = 3, pad = 1, name = \"b{i}\"));
    y = relu(conv2d(y, out = {e}, kernel = 1, name = \"e{i}\"));
    y = relu6(conv2d(y, out = {e}, kernel = 3, pad = 1, groups = {e}, name = \"c{i}\"));
    y = relu(conv2d(y, out = {c}, kernel = 1, name = \"d{i}\") + r{i});
    let p{i} = maxpool(y, kernel = 3, stride = 1, pad = 1);
    y = hardswish(p{i});
    y = relu(y + p{i});
    y = y * sigmoid(global_avgpool(y));
    let (u{i}, v{i}) = split(y, parts = 2);
    y = channel_shuffle(concat([v{i}, u{i}]), 2);
"
        ));
    }
    t.push_str("    output out = y;\n}\n");
    t
}

/// Strided and large kernels: 7×7 and 3×3 stems, 3×3 stride 2, 1×1 stride
/// 2, depthwise stride 2 and 5×5, average pooling.
fn strided() -> String {
    let mut t = String::from(
        "network sweep_strided {
    input x: [1, 3, 224, 224];
    let a = relu(conv2d(x, out = 64, kernel = 7, stride = 2, pad = 3, name = \"stem7\"));
    a = maxpool(a, kernel = 3, stride = 2, pad = 1);
    let b = relu(conv2d(x, out = 32, kernel = 3, stride = 2, pad = 1, name = \"stem3\"));
    b = relu(conv2d(b, out = 64, kernel = 3, stride = 2, pad = 1, name = \"down0\"));
    let y = a + b;
",
    );
    for (i, (c, o)) in [(64, 128), (128, 256), (256, 512)].iter().enumerate() {
        t.push_str(&format!(
            "    let s{i} = conv2d(y, out = {o}, kernel = 1, stride = 2, name = \"proj{i}\");
    y = relu(conv2d(y, out = {o}, kernel = 3, stride = 2, pad = 1, name = \"down{n}\"));
    y = relu(conv2d(y, out = {o}, kernel = 3, pad = 1, name = \"mid{i}\") + s{i});
    let d{i} = relu6(conv2d(y, out = {o}, kernel = 3, stride = 2, pad = 1, groups = {o}, name = \"dws{i}\"));
    d{i} = relu6(conv2d(d{i}, out = {o}, kernel = 5, pad = 2, groups = {o}, name = \"dw5_{i}\"));
    let q{i} = avgpool(y, kernel = 3, stride = 2, pad = 1);
    y = relu(conv2d(q{i} + d{i}, out = {c2}, kernel = 1, name = \"pw{i}\"));
",
            n = i + 1,
            c2 = c * 2,
        ));
    }
    t.push_str("    output out = y;\n}\n");
    t
}

/// Linear layers (classifier heads) and a softmax.
fn linear() -> String {
    "network sweep_linear {
    input x: [1, 2048];
    let y = relu(linear(x, out = 1280, name = \"fc0\"));
    y = relu(linear(y, out = 1024, name = \"fc1\"));
    y = relu(linear(y, out = 512, name = \"fc2\"));
    y = linear(y, out = 1000, name = \"fc3\");
    y = relu(linear(y, out = 256, name = \"fc4\"));
    y = linear(y, out = 1000, name = \"fc5\");
    output out = softmax(y);
}
"
    .to_string()
}

/// Token tensors `[1, L, E]` of transformer blocks at a few sizes: layer
/// norms, the matrix products of attention, linear layers over the last axis,
/// permutes (strided copies) and scalar scaling.
fn tokens() -> String {
    let mut t = String::from("network sweep_tokens {\n    input x: [1, 3, 224, 224];\n");
    for (i, &(patch, e, heads)) in [(16usize, 192usize, 3usize), (8, 128, 4)]
        .iter()
        .enumerate()
    {
        let l = (224 / patch) * (224 / patch);
        t += &format!(
            "    let p{i} = conv2d(x, out = {e}, kernel = {patch}, stride = {patch}, name = \"patch{i}\");
    let t{i} = permute(reshape(p{i}, [1, {e}, {l}]), [0, 2, 1]);
    t{i} = t{i} + attention(layernorm(t{i}, name = \"ln{i}a\"), heads = {heads}, name = \"attn{i}\");
    let h{i} = gelu(linear(layernorm(t{i}, name = \"ln{i}b\"), out = {m}, name = \"fc{i}a\"));
    t{i} = t{i} + linear(h{i}, out = {e}, name = \"fc{i}b\") * 0.5;
    let s{i} = matmul(t{i}, permute(t{i}, [0, 2, 1]));
",
            m = 4 * e
        );
    }
    t += "    output a = global_avgpool(permute(reshape(t0, [1, 14, 14, 192]), [0, 3, 1, 2]));\n";
    t += "    output b = s1;\n}\n";
    t
}

/// One profiled kernel of `--profile --json`.
#[derive(serde::Deserialize)]
struct Profiled {
    name: String,
    measured_ms: f64,
}

#[derive(serde::Deserialize)]
struct Profile {
    kernels: Vec<Profiled>,
}

/// Runs `exe` `reps` times with `threads` threads; per kernel, the median
/// over the runs of its shortest call (min-of-k within a run, median across
/// runs: robust to other processes); None if a run failed.
pub fn profile(
    exe: &Path,
    threads: usize,
    reps: usize,
    iters: usize,
) -> Option<Vec<(String, f64)>> {
    let mut runs: Vec<Vec<Profiled>> = Vec::new();
    for _ in 0..reps {
        let out = Command::new(exe)
            .args([
                "--threads",
                &threads.to_string(),
                "--bench",
                &iters.to_string(),
                "--profile",
                "--profile-min",
                "--json",
            ])
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        let p: Profile = serde_json::from_slice(&out.stdout).ok()?;
        runs.push(p.kernels);
    }
    let first = runs.first()?;
    Some(
        (0..first.len())
            .map(|i| {
                let mut v: Vec<f64> = runs
                    .iter()
                    .filter_map(|r| r.get(i).map(|k| k.measured_ms))
                    .collect();
                (first[i].name.clone(), nnc_analysis::model::median(&mut v))
            })
            .collect(),
    )
}

/// Pairs the executed plan's kernels with their measured times.
pub fn samples(kernels: &[KernelDesc], measured: &[(String, f64)], threads: usize) -> Vec<Sample> {
    kernels
        .iter()
        .zip(measured)
        .filter(|(k, (name, ms))| &k.name == name && *ms > 0.0)
        .map(|(k, (_, ms))| Sample {
            kernel: k.clone(),
            threads,
            measured_ms: *ms,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every sweep network compiles, and together they cover the kernel
    /// classes of the cost model.
    #[test]
    fn sweep_networks_elaborate_and_cover_the_classes() {
        let mut classes = std::collections::BTreeSet::new();
        for (name, text) in networks() {
            let c = crate::frontend::compile_bytes(&name, text.as_bytes(), None);
            let g = c
                .graph
                .unwrap_or_else(|| panic!("{name}: {:?}", c.diagnostics));
            for k in nnc_codegen::executed::describe_graph(&g).expect("plan") {
                classes.insert(k.class);
            }
        }
        for want in [
            "conv1x1",
            "conv_direct",
            "depthwise",
            "linear",
            "pool",
            "global_avgpool",
            "eltwise",
            "eltwise_math",
            "copy",
            "layernorm",
            "matmul",
        ] {
            assert!(classes.contains(want), "{want} not covered: {classes:?}");
        }
    }
}
