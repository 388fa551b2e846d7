//! Hand-built graphs for tests and benchmarks, independent of the
//! elaborator: layer conveniences ([`Layers`]) over [`nnc_ir::GraphBuilder`]
//! (shapes from [`nnc_ir::shape::infer`], PyTorch's formulas) and reference
//! networks built with them (ResNet-18/50, MobileNetV2 as in torchvision).

use nnc_ir::{Activation, BinaryKind, Conv2d, Graph, GraphBuilder, NodeId, Op, Pool};

/// Layers on a [`GraphBuilder`], each one node whose shape is inferred (a
/// shape error panics: these build known-good test graphs). Named layers
/// take a name scoped by the current block; the others get generated names.
pub trait Layers {
    /// A conv2d with square kernel/stride/pad, dilation 1.
    #[allow(clippy::too_many_arguments)]
    fn conv(
        &mut self,
        x: NodeId,
        name: &str,
        cout: usize,
        k: usize,
        s: usize,
        p: usize,
        groups: usize,
        bias: bool,
    ) -> NodeId;
    /// A batchnorm (eps 1e-5).
    fn bn(&mut self, x: NodeId, name: &str) -> NodeId;
    /// An activation.
    fn act(&mut self, x: NodeId, a: Activation) -> NodeId;
    /// A relu.
    fn relu(&mut self, x: NodeId) -> NodeId;
    /// `a + b` (same shapes).
    fn add(&mut self, a: NodeId, b: NodeId) -> NodeId;
    /// A max pool with square kernel/stride/pad, floor mode.
    fn maxpool(&mut self, x: NodeId, k: usize, s: usize, p: usize) -> NodeId;
    /// Global average pooling to `[N, C, 1, 1]`.
    fn gap(&mut self, x: NodeId) -> NodeId;
    /// Flatten to `[N, rest]`.
    fn flatten(&mut self, x: NodeId) -> NodeId;
    /// A linear layer on `[N, in]`.
    fn linear(&mut self, x: NodeId, name: &str, out: usize, bias: bool) -> NodeId;
    /// `split(x, parts)` along channels: one node per part.
    fn split(&mut self, x: NodeId, parts: usize) -> Vec<NodeId>;
    /// Concatenation along channels.
    fn concat(&mut self, xs: &[NodeId]) -> NodeId;
    /// Channel shuffle.
    fn shuffle(&mut self, x: NodeId, groups: usize) -> NodeId;
}

fn auto(b: &mut GraphBuilder, op: Op, inputs: &[NodeId]) -> NodeId {
    b.op(op, inputs).unwrap_or_else(|e| panic!("{e}"))
}

fn named(b: &mut GraphBuilder, op: Op, inputs: &[NodeId], name: &str) -> NodeId {
    b.named(op, inputs, name)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

impl Layers for GraphBuilder {
    fn conv(
        &mut self,
        x: NodeId,
        name: &str,
        cout: usize,
        k: usize,
        s: usize,
        p: usize,
        groups: usize,
        bias: bool,
    ) -> NodeId {
        let op = Op::Conv2d(Conv2d {
            out_channels: cout,
            kernel: [k, k],
            stride: [s, s],
            pad: [p, p],
            dilation: [1, 1],
            groups,
            bias,
        });
        named(self, op, &[x], name)
    }

    fn bn(&mut self, x: NodeId, name: &str) -> NodeId {
        named(self, Op::BatchNorm { eps: 1e-5 }, &[x], name)
    }

    fn act(&mut self, x: NodeId, a: Activation) -> NodeId {
        auto(self, Op::Act(a), &[x])
    }

    fn relu(&mut self, x: NodeId) -> NodeId {
        self.act(x, Activation::Relu)
    }

    fn add(&mut self, a: NodeId, b: NodeId) -> NodeId {
        auto(self, Op::Binary(BinaryKind::Add), &[a, b])
    }

    fn maxpool(&mut self, x: NodeId, k: usize, s: usize, p: usize) -> NodeId {
        let pool = Pool {
            kernel: [k, k],
            stride: [s, s],
            pad: [p, p],
            ceil: false,
        };
        auto(self, Op::MaxPool(pool), &[x])
    }

    fn gap(&mut self, x: NodeId) -> NodeId {
        auto(self, Op::GlobalAvgPool, &[x])
    }

    fn flatten(&mut self, x: NodeId) -> NodeId {
        auto(self, Op::Flatten, &[x])
    }

    fn linear(&mut self, x: NodeId, name: &str, out: usize, bias: bool) -> NodeId {
        let op = Op::Linear {
            out_features: out,
            bias,
        };
        named(self, op, &[x], name)
    }

    fn split(&mut self, x: NodeId, parts: usize) -> Vec<NodeId> {
        let len = self.shape(x)[1] / parts;
        (0..parts)
            .map(|part| {
                let op = Op::Split {
                    axis: 1,
                    start: part * len,
                    len,
                    part,
                    parts,
                };
                auto(self, op, &[x])
            })
            .collect()
    }

    fn concat(&mut self, xs: &[NodeId]) -> NodeId {
        auto(self, Op::Concat { axis: 1 }, xs)
    }

    fn shuffle(&mut self, x: NodeId, groups: usize) -> NodeId {
        auto(self, Op::ChannelShuffle { groups }, &[x])
    }
}

#[allow(clippy::too_many_arguments)]
fn conv_bn(
    b: &mut GraphBuilder,
    x: NodeId,
    name: &str,
    bn: &str,
    cout: usize,
    k: usize,
    s: usize,
    groups: usize,
) -> NodeId {
    let c = b.conv(x, name, cout, k, s, k / 2, groups, false);
    b.bn(c, bn)
}

/// torchvision's ResNet with basic (`bottleneck = false`, layers `[2,2,2,2]`
/// for ResNet-18) or bottleneck blocks (`[3,4,6,3]` for ResNet-50), on a
/// 1×3×224×224 input, 1000 classes.
pub fn resnet(name: &str, layers: [usize; 4], bottleneck: bool) -> Graph {
    let mut b = GraphBuilder::new(name);
    let x = b.input("x", &[1, 3, 224, 224]);
    let c = b.conv(x, "conv1", 64, 7, 2, 3, 1, false);
    let c = b.bn(c, "bn1");
    let c = b.relu(c);
    let mut x = b.maxpool(c, 3, 2, 1);
    let mut cin = 64;
    let exp = if bottleneck { 4 } else { 1 };
    for (li, &n) in layers.iter().enumerate() {
        let planes = 64 << li;
        for i in 0..n {
            let stride = if li > 0 && i == 0 { 2 } else { 1 };
            b.enter(
                &format!("layer{}.{i}", li + 1),
                if bottleneck { "bottleneck" } else { "basic" },
            );
            let y = if bottleneck {
                let y = conv_bn(&mut b, x, "conv1", "bn1", planes, 1, 1, 1);
                let y = b.relu(y);
                let y = conv_bn(&mut b, y, "conv2", "bn2", planes, 3, stride, 1);
                let y = b.relu(y);
                conv_bn(&mut b, y, "conv3", "bn3", planes * 4, 1, 1, 1)
            } else {
                let y = conv_bn(&mut b, x, "conv1", "bn1", planes, 3, stride, 1);
                let y = b.relu(y);
                conv_bn(&mut b, y, "conv2", "bn2", planes, 3, 1, 1)
            };
            let short = if stride != 1 || cin != planes * exp {
                conv_bn(
                    &mut b,
                    x,
                    "downsample.0",
                    "downsample.1",
                    planes * exp,
                    1,
                    stride,
                    1,
                )
            } else {
                x
            };
            let s = b.add(y, short);
            x = b.relu(s);
            cin = planes * exp;
            b.exit();
        }
    }
    let p = b.gap(x);
    let f = b.flatten(p);
    let y = b.linear(f, "fc", 1000, true);
    b.output("y", y);
    b.finish()
}

/// torchvision's ResNet-18.
pub fn resnet18() -> Graph {
    resnet("resnet18", [2, 2, 2, 2], false)
}

/// torchvision's ResNet-50.
pub fn resnet50() -> Graph {
    resnet("resnet50", [3, 4, 6, 3], true)
}

/// torchvision's MobileNetV2 (width 1.0) on 1×3×224×224, 1000 classes
/// (classifier dropout omitted: it has no cost at inference).
pub fn mobilenet_v2() -> Graph {
    let mut b = GraphBuilder::new("mobilenet_v2");
    let x = b.input("x", &[1, 3, 224, 224]);
    let y = conv_bn(&mut b, x, "features.0.0", "features.0.1", 32, 3, 2, 1);
    let mut x = b.act(y, Activation::Relu6);
    let mut cin = 32;
    let cfg = [
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ];
    let mut idx = 1;
    for (t, c, n, s) in cfg {
        for i in 0..n {
            let stride = if i == 0 { s } else { 1 };
            let hidden = cin * t;
            b.enter(&format!("features.{idx}"), "inverted_residual");
            let mut y = x;
            let mut k = 0;
            if t != 1 {
                y = conv_bn(&mut b, y, "conv.0.0", "conv.0.1", hidden, 1, 1, 1);
                y = b.act(y, Activation::Relu6);
                k = 1;
            }
            y = conv_bn(
                &mut b,
                y,
                &format!("conv.{k}.0"),
                &format!("conv.{k}.1"),
                hidden,
                3,
                stride,
                hidden,
            );
            y = b.act(y, Activation::Relu6);
            y = conv_bn(
                &mut b,
                y,
                &format!("conv.{}", k + 1),
                &format!("conv.{}", k + 2),
                c,
                1,
                1,
                1,
            );
            if stride == 1 && cin == c {
                y = b.add(x, y);
            }
            b.exit();
            x = y;
            cin = c;
            idx += 1;
        }
    }
    let y = conv_bn(&mut b, x, "features.18.0", "features.18.1", 1280, 1, 1, 1);
    let y = b.act(y, Activation::Relu6);
    let p = b.gap(y);
    let f = b.flatten(p);
    let y = b.linear(f, "classifier.1", 1000, true);
    b.output("y", y);
    b.finish()
}

/// A chain of `n` relus on a `[1, c, h, w]` input.
pub fn chain(n: usize, shape: &[usize]) -> Graph {
    let mut b = GraphBuilder::new("chain");
    let mut x = b.input("x", shape);
    for _ in 0..n {
        x = b.relu(x);
    }
    b.output("y", x);
    b.finish()
}

/// A large layered graph for benchmarks: `n` ops in residual-style units
/// (conv → bn → relu → add with a skip) on a small map.
pub fn generated(n: usize) -> Graph {
    let mut b = GraphBuilder::new("generated");
    let mut x = b.input("x", &[1, 16, 8, 8]);
    let mut made = 0;
    let mut unit = 0;
    while made + 4 <= n {
        b.enter(&format!("u{unit}"), "unit");
        let c = b.conv(x, "conv", 16, 3, 1, 1, 1, false);
        let c = b.bn(c, "bn");
        let c = b.relu(c);
        x = b.add(c, x);
        b.exit();
        made += 4;
        unit += 1;
    }
    while made < n {
        x = b.relu(x);
        made += 1;
    }
    b.output("y", x);
    b.finish()
}
