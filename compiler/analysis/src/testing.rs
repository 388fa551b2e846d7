//! Hand-built graphs for tests and benchmarks, independent of the
//! elaborator: a small [`GraphBuilder`] (it computes output shapes with
//! PyTorch's formulas for the ops it knows) and reference networks built
//! with it (ResNet-18/50, MobileNetV2 as in torchvision).

use nnc_diag::Span;
use nnc_ir::{
    Activation, BinaryKind, BlockId, BlockInstance, Conv2d, Graph, Node, NodeId, Op, Pool,
};

/// Builds a [`Graph`] node by node, naming nodes in the current block scope.
pub struct GraphBuilder {
    g: Graph,
    scope: Vec<BlockId>,
    counter: usize,
}

fn out_size(i: usize, k: usize, s: usize, p: usize, d: usize) -> usize {
    let eff = d * (k - 1) + 1;
    (i + 2 * p).saturating_sub(eff) / s.max(1) + 1
}

impl GraphBuilder {
    /// An empty graph called `name`.
    pub fn new(name: &str) -> GraphBuilder {
        GraphBuilder {
            g: Graph::new(name),
            scope: Vec::new(),
            counter: 0,
        }
    }

    fn full_name(&self, name: &str) -> String {
        match self.scope.last() {
            Some(&b) => format!("{}.{name}", self.g.block(b).name),
            None => name.to_string(),
        }
    }

    /// The shape of a node.
    pub fn shape(&self, id: NodeId) -> Vec<usize> {
        self.g.node(id).shape.clone()
    }

    /// Adds any node with an explicit output shape; `name` is scoped.
    pub fn node(&mut self, op: Op, inputs: &[NodeId], shape: Vec<usize>, name: &str) -> NodeId {
        let node = Node {
            op,
            shape,
            name: self.full_name(name),
            block: self.scope.last().copied(),
        };
        let start = self.counter * 10;
        self.counter += 1;
        self.g.add_node(node, inputs, Span::new(start, start + 5))
    }

    fn auto(&mut self, op: Op, inputs: &[NodeId], shape: Vec<usize>) -> NodeId {
        let name = format!("{}_{}", op.name(), self.counter);
        self.node(op, inputs, shape, &name)
    }

    /// A network input.
    pub fn input(&mut self, name: &str, shape: &[usize]) -> NodeId {
        self.node(Op::Input { name: name.into() }, &[], shape.to_vec(), name)
    }

    /// A conv2d with square kernel/stride/pad, dilation 1.
    #[allow(clippy::too_many_arguments)]
    pub fn conv(
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
        let sh = self.shape(x);
        let shape = vec![
            sh[0],
            cout,
            out_size(sh[2], k, s, p, 1),
            out_size(sh[3], k, s, p, 1),
        ];
        let op = Op::Conv2d(Conv2d {
            out_channels: cout,
            kernel: [k, k],
            stride: [s, s],
            pad: [p, p],
            dilation: [1, 1],
            groups,
            bias,
        });
        self.node(op, &[x], shape, name)
    }

    /// A batchnorm (eps 1e-5).
    pub fn bn(&mut self, x: NodeId, name: &str) -> NodeId {
        let s = self.shape(x);
        self.node(Op::BatchNorm { eps: 1e-5 }, &[x], s, name)
    }

    /// An activation.
    pub fn act(&mut self, x: NodeId, a: Activation) -> NodeId {
        let s = self.shape(x);
        self.auto(Op::Act(a), &[x], s)
    }

    /// A relu.
    pub fn relu(&mut self, x: NodeId) -> NodeId {
        self.act(x, Activation::Relu)
    }

    /// `a + b` (same shapes).
    pub fn add(&mut self, a: NodeId, b: NodeId) -> NodeId {
        let s = self.shape(a);
        self.auto(Op::Binary(BinaryKind::Add), &[a, b], s)
    }

    /// A max pool with square kernel/stride/pad, floor mode.
    pub fn maxpool(&mut self, x: NodeId, k: usize, s: usize, p: usize) -> NodeId {
        let sh = self.shape(x);
        let shape = vec![
            sh[0],
            sh[1],
            out_size(sh[2], k, s, p, 1),
            out_size(sh[3], k, s, p, 1),
        ];
        let pool = Pool {
            kernel: [k, k],
            stride: [s, s],
            pad: [p, p],
            ceil: false,
        };
        self.auto(Op::MaxPool(pool), &[x], shape)
    }

    /// Global average pooling to `[N, C, 1, 1]`.
    pub fn gap(&mut self, x: NodeId) -> NodeId {
        let s = self.shape(x);
        self.auto(Op::GlobalAvgPool, &[x], vec![s[0], s[1], 1, 1])
    }

    /// Flatten to `[N, rest]`.
    pub fn flatten(&mut self, x: NodeId) -> NodeId {
        let s = self.shape(x);
        let rest = s[1..].iter().product();
        self.auto(Op::Flatten, &[x], vec![s[0], rest])
    }

    /// A linear layer on `[N, in]`.
    pub fn linear(&mut self, x: NodeId, name: &str, out: usize, bias: bool) -> NodeId {
        let s = self.shape(x);
        let op = Op::Linear {
            out_features: out,
            bias,
        };
        self.node(op, &[x], vec![s[0], out], name)
    }

    /// `split(x, parts)` along channels: one node per part.
    pub fn split(&mut self, x: NodeId, parts: usize) -> Vec<NodeId> {
        let s = self.shape(x);
        let len = s[1] / parts;
        (0..parts)
            .map(|part| {
                let mut shape = s.clone();
                shape[1] = len;
                let op = Op::Split {
                    axis: 1,
                    start: part * len,
                    len,
                    part,
                    parts,
                };
                self.auto(op, &[x], shape)
            })
            .collect()
    }

    /// Concatenation along channels.
    pub fn concat(&mut self, xs: &[NodeId]) -> NodeId {
        let mut s = self.shape(xs[0]);
        s[1] = xs.iter().map(|&x| self.g.node(x).shape[1]).sum();
        self.auto(Op::Concat { axis: 1 }, xs, s)
    }

    /// Channel shuffle.
    pub fn shuffle(&mut self, x: NodeId, groups: usize) -> NodeId {
        let s = self.shape(x);
        self.auto(Op::ChannelShuffle { groups }, &[x], s)
    }

    /// Enters a block instance `name` (a full scope name) of block `block`.
    pub fn enter(&mut self, name: &str, block: &str) -> BlockId {
        let b = self.g.add_block(BlockInstance {
            name: name.into(),
            block: block.into(),
            parent: self.scope.last().copied(),
            call_span: Span::DUMMY,
        });
        self.scope.push(b);
        b
    }

    /// Leaves the current block instance.
    pub fn exit(&mut self) {
        self.scope.pop();
    }

    /// Marks a node as a network output.
    pub fn output(&mut self, name: &str, x: NodeId) {
        self.g.add_output(name, x, Span::DUMMY);
    }

    /// The finished graph.
    pub fn finish(self) -> Graph {
        self.g
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
