//! torchvision's vit_b_16 and convnext_tiny, built op for op with the graph
//! builder under torchvision's state_dict names, compiled in memory and
//! compared with PyTorch's output on the exports of `bench/run.py`
//! (`scripts/export_torchvision.py bench/.cache/export vit_b_16
//! convnext_tiny`). Ignored by default (they need the ~450 MB of exports and
//! a minute each); run with
//! `cargo test -p nnc-codegen --test torchvision_transformers -- --ignored --nocapture`.

use nnc_codegen::testing::run_jit;
use nnc_interp::npy::read_npy;
use nnc_interp::weights::load_safetensors_file;
use nnc_ir::GraphBuilder;
use nnc_ir::{Activation, BinaryKind, Conv2d, Graph, NodeId, NormAxes, Op};
use std::path::PathBuf;

fn export_dir() -> PathBuf {
    std::env::var_os("NNC_TV_EXPORT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../bench/.cache/export")
        })
}

fn conv(out: usize, k: usize, s: usize, p: usize, groups: usize) -> Op {
    Op::Conv2d(Conv2d {
        out_channels: out,
        kernel: [k, k],
        stride: [s, s],
        pad: [p, p],
        dilation: [1, 1],
        groups,
        bias: true,
    })
}

struct B(GraphBuilder);

impl B {
    fn op(&mut self, op: Op, ins: &[NodeId]) -> NodeId {
        self.0.op(op, ins).unwrap()
    }
    fn named(&mut self, op: Op, ins: &[NodeId], name: &str) -> NodeId {
        self.0.named(op, ins, name).unwrap()
    }
    fn ln(&mut self, x: NodeId, axes: NormAxes, name: &str) -> NodeId {
        self.named(Op::LayerNorm { axes, eps: 1e-6 }, &[x], name)
    }
    fn linear(&mut self, x: NodeId, out: usize, name: &str) -> NodeId {
        self.named(
            Op::Linear {
                out_features: out,
                bias: true,
            },
            &[x],
            name,
        )
    }
    fn add(&mut self, a: NodeId, b: NodeId) -> NodeId {
        self.op(Op::Binary(BinaryKind::Add), &[a, b])
    }
}

fn vit_b_16() -> Graph {
    let mut b = B(GraphBuilder::new("vit_b_16"));
    let x = b.0.input("image", &[1, 3, 224, 224]);
    let x = b.named(conv(768, 16, 16, 0, 1), &[x], "conv_proj");
    let x = b.op(
        Op::Reshape {
            shape: vec![1, 768, 196],
        },
        &[x],
    );
    let x = b.op(
        Op::Permute {
            perm: vec![0, 2, 1],
        },
        &[x],
    );
    let cls = b.named(
        Op::Param {
            shape: vec![1, 1, 768],
        },
        &[],
        "class_token",
    );
    let x = b.op(Op::Concat { axis: 1 }, &[cls, x]);
    let pos = b.named(
        Op::Param {
            shape: vec![1, 197, 768],
        },
        &[],
        "encoder.pos_embedding",
    );
    let mut x = b.add(x, pos);
    for i in 0..12 {
        let p = format!("encoder.layers.encoder_layer_{i}");
        let h = b.ln(x, NormAxes::Last(1), &format!("{p}.ln_1"));
        let h = b.named(
            Op::Attention {
                heads: 12,
                bias: true,
            },
            &[h],
            &format!("{p}.self_attention"),
        );
        let x1 = b.add(h, x);
        let h = b.ln(x1, NormAxes::Last(1), &format!("{p}.ln_2"));
        let h = b.linear(h, 3072, &format!("{p}.mlp.0"));
        let h = b.op(Op::Act(Activation::Gelu), &[h]);
        let h = b.linear(h, 768, &format!("{p}.mlp.3"));
        x = b.add(h, x1);
    }
    let x = b.ln(x, NormAxes::Last(1), "encoder.ln");
    let x = b.op(Op::Select { axis: 1, index: 0 }, &[x]);
    let y = b.linear(x, 1000, "heads.head");
    b.0.output("logits", y);
    b.0.finish()
}

fn convnext_tiny() -> Graph {
    let mut b = B(GraphBuilder::new("convnext_tiny"));
    let x = b.0.input("image", &[1, 3, 224, 224]);
    let x = b.named(conv(96, 4, 4, 0, 1), &[x], "features.0.0");
    let mut x = b.ln(x, NormAxes::Channels, "features.0.1");
    let dims = [96usize, 192, 384, 768];
    let depths = [3usize, 3, 9, 3];
    for s in 0..4 {
        let d = dims[s];
        if s > 0 {
            let f = 2 * s;
            x = b.ln(x, NormAxes::Channels, &format!("features.{f}.0"));
            x = b.named(conv(d, 2, 2, 0, 1), &[x], &format!("features.{f}.1"));
        }
        for j in 0..depths[s] {
            let p = format!("features.{}.{j}", 2 * s + 1);
            let h = b.named(conv(d, 7, 1, 3, d), &[x], &format!("{p}.block.0"));
            let h = b.op(
                Op::Permute {
                    perm: vec![0, 2, 3, 1],
                },
                &[h],
            );
            let h = b.ln(h, NormAxes::Last(1), &format!("{p}.block.2"));
            let h = b.linear(h, 4 * d, &format!("{p}.block.3"));
            let h = b.op(Op::Act(Activation::Gelu), &[h]);
            let h = b.linear(h, d, &format!("{p}.block.5"));
            let h = b.op(
                Op::Permute {
                    perm: vec![0, 3, 1, 2],
                },
                &[h],
            );
            let ls = b.named(
                Op::Param {
                    shape: vec![d, 1, 1],
                },
                &[],
                &format!("{p}.layer_scale"),
            );
            let h = b.op(Op::Binary(BinaryKind::Mul), &[ls, h]);
            x = b.add(h, x);
        }
    }
    let x = b.op(Op::GlobalAvgPool, &[x]);
    let x = b.ln(x, NormAxes::Channels, "classifier.0");
    let x = b.op(Op::Flatten, &[x]);
    let y = b.linear(x, 1000, "classifier.2");
    b.0.output("logits", y);
    b.0.finish()
}

fn check(g: Graph) {
    let dir = export_dir();
    let name = g.name.clone();
    let (w, diags) = load_safetensors_file(&dir.join(format!("{name}.safetensors")), &g);
    assert!(diags.is_empty(), "{name}: weights: {diags:?}");
    let rd = |f: String| read_npy(&std::fs::read(dir.join(f)).unwrap()).unwrap();
    let x = rd(format!("{name}.in.image.npy"));
    let want = rd(format!("{name}.out.logits.npy"));
    let t = std::time::Instant::now();
    let got = run_jit(&g, &w, &[x.data().to_vec()], "host", 3).unwrap();
    let secs = t.elapsed().as_secs_f64();
    let (mut md, mut mr) = (0f64, 0f64);
    for (&a, &b) in got[0].iter().zip(want.data()) {
        md = md.max((a as f64 - b as f64).abs());
        mr = mr.max((b as f64).abs());
    }
    let rel = md / mr;
    println!("{name}: max|d| = {md:.3e}, max|ref| = {mr:.3}, max|d|/max|ref| = {rel:.3e} (compile + run {secs:.1} s)");
    assert!(rel <= 1e-4, "{name}: {rel:e}");
}

#[test]
#[ignore]
fn vit_b_16_matches_pytorch() {
    check(vit_b_16());
}

#[test]
#[ignore]
fn convnext_tiny_matches_pytorch() {
    check(convnext_tiny());
}
