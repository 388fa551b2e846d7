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
/// 3×3 direct, depthwise, pooling, element-wise, broadcast, copies, and a
/// 1×1 and a depthwise conv with SiLU epilogues (the epilogue's cost).
fn stride1(s: usize, chans: &[usize]) -> String {
    let c0 = chans[0];
    let mut t =
        format!("network sweep_s{s} {{\n    input x: [1, {c0}, {s}, {s}];\n    let y = x;\n");
    for (i, &c) in chans.iter().enumerate() {
        let e = c * 4;
        // the SiLU epilogues, at the first width of each size
        let silu = if i == 0 {
            format!(
                "    let z{i} = silu(conv2d(y, out = {e}, kernel = 1, name = \"se{i}\"));
    z{i} = silu(conv2d(z{i}, out = {e}, kernel = 3, pad = 1, groups = {e}, name = \"sd{i}\"));
    y = y + conv2d(z{i}, out = {c}, kernel = 1, name = \"sp{i}\");
"
            )
        } else {
            String::new()
        };
        t.push_str(&format!(
            "    y = relu(conv2d(y, out = {c}, kernel = 1, name = \"a{i}\"));
    let r{i} = y;
    y = relu(conv2d(y, out = {c}, kernel = 3, pad = 1, name = \"b{i}\"));
    y = relu(conv2d(y, out = {e}, kernel = 1, name = \"e{i}\"));
    y = relu6(conv2d(y, out = {e}, kernel = 3, pad = 1, groups = {e}, name = \"c{i}\"));
    y = relu(conv2d(y, out = {c}, kernel = 1, name = \"d{i}\") + r{i});
{silu}    let p{i} = maxpool(y, kernel = 3, stride = 1, pad = 1);
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
    #[serde(default)]
    wall_mean_ms: f64,
}

/// The measured times of one sweep network at one thread count.
pub struct Measured {
    /// Per kernel: name, time (ms) and dispersion across the rounds
    /// ((max − min) / median).
    pub kernels: Vec<(String, f64, f64)>,
    /// Wall time of an inference beyond its kernels' own times (mean wall
    /// time minus the sum of the kernels' mean calls), per kernel, ms
    /// (median over the rounds).
    pub gap_ms: f64,
}

/// Runs `exe` for `rounds` rounds of `iters` inferences with `threads`
/// threads. Per kernel, its mean call in a round (the typical call, as an
/// inference meets it: the minimum would price every kernel at its luckiest
/// and the whole network low), then the median over the rounds (robust to a
/// round disturbed by other processes), with the rounds' dispersion. None if
/// a run failed.
pub fn profile(exe: &Path, threads: usize, rounds: usize, iters: usize) -> Option<Measured> {
    let mut runs: Vec<Profile> = Vec::new();
    for _ in 0..rounds {
        let out = Command::new(exe)
            .args([
                "--threads",
                &threads.to_string(),
                "--bench",
                &iters.to_string(),
                "--profile",
                "--json",
            ])
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        runs.push(serde_json::from_slice(&out.stdout).ok()?);
    }
    Some(combine(&runs))
}

/// Combines rounds of one network (see [`profile`]).
fn combine(runs: &[Profile]) -> Measured {
    use nnc_analysis::model::median;
    let Some(first) = runs.first() else {
        return Measured {
            kernels: Vec::new(),
            gap_ms: 0.0,
        };
    };
    let kernels = (0..first.kernels.len())
        .map(|i| {
            let mut v: Vec<f64> = runs
                .iter()
                .filter_map(|r| r.kernels.get(i).map(|k| k.measured_ms))
                .collect();
            let med = median(&mut v);
            let spread = match (v.first(), v.last()) {
                (Some(lo), Some(hi)) if med > 0.0 => (hi - lo) / med,
                _ => 0.0,
            };
            (first.kernels[i].name.clone(), med, spread)
        })
        .collect();
    let mut gaps: Vec<f64> = runs
        .iter()
        .filter(|r| r.wall_mean_ms > 0.0 && !r.kernels.is_empty())
        .map(|r| {
            let sum: f64 = r.kernels.iter().map(|k| k.measured_ms).sum();
            ((r.wall_mean_ms - sum) / r.kernels.len() as f64).max(0.0)
        })
        .collect();
    let gap_ms = if gaps.is_empty() {
        0.0
    } else {
        median(&mut gaps)
    };
    Measured { kernels, gap_ms }
}

/// Pairs the executed plan's kernels with their measured times.
pub fn samples(kernels: &[KernelDesc], measured: &Measured, threads: usize) -> Vec<Sample> {
    kernels
        .iter()
        .zip(&measured.kernels)
        .filter(|(k, (name, ms, _))| &k.name == name && *ms > 0.0)
        .map(|(k, (_, ms, spread))| Sample {
            kernel: k.clone(),
            threads,
            measured_ms: *ms,
            spread: *spread,
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

    fn round(times: &[f64], wall: f64) -> Profile {
        Profile {
            kernels: times
                .iter()
                .enumerate()
                .map(|(i, &t)| Profiled {
                    name: format!("k{i}"),
                    measured_ms: t,
                })
                .collect(),
            wall_mean_ms: wall,
        }
    }

    /// Per kernel the median round and the rounds' spread; the gap between
    /// kernels is the wall time beyond them, per kernel, median over rounds.
    #[test]
    fn rounds_combine_by_median_with_their_spread() {
        let runs = [
            round(&[1.0, 2.0], 3.2),
            round(&[1.2, 2.0], 3.6),
            round(&[3.0, 2.0], 5.1),
        ];
        let m = combine(&runs);
        assert_eq!(m.kernels.len(), 2);
        assert_eq!(m.kernels[0].0, "k0");
        assert!((m.kernels[0].1 - 1.2).abs() < 1e-12);
        assert!((m.kernels[0].2 - 2.0 / 1.2).abs() < 1e-12);
        assert_eq!(m.kernels[1].2, 0.0);
        // gaps per kernel: 0.1, 0.2, 0.05
        assert!((m.gap_ms - 0.1).abs() < 1e-12, "{}", m.gap_ms);
        // an old runtime without the wall figure: no gap
        let m = combine(&[round(&[1.0], 0.0)]);
        assert_eq!(m.gap_ms, 0.0);
        assert_eq!(combine(&[]).kernels.len(), 0);
    }
}
