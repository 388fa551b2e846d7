//! Element-wise share inside transformer blocks.

use crate::rules::fusion_saving;
use crate::{Finding, Lint, LintContext, LintLevel, LintMeta};
use nnc_analysis::cost::numel;
use nnc_diag::Diagnostic;
use nnc_ir::{BlockId, Graph, NodeId, Op};
use std::collections::BTreeMap;

pub struct TransformerElementwise;

/// Share of a transformer block's MAC in element-wise work above which the
/// lint fires.
pub const SHARE_THRESHOLD: f64 = 0.50;

/// Blocks with fewer element-wise ops than this are not reported.
pub const MIN_OPS: usize = 4;

static META: LintMeta = LintMeta {
    name: "transformer_elementwise",
    code: "L0011",
    groups: &["guidelines", "perf"],
    default: LintLevel::Warn,
    summary: "a transformer block whose memory traffic is mostly element-wise work (layernorm, softmax, adds, activations, copies)",
    docs: "\
Inside a transformer block the matrix products (projections, `q kᵀ`, `· v`,
the MLP) do the arithmetic, but layernorms, the softmax, residual adds,
scalings, activations and layout copies (`permute`, `roll`, `slice`,
`select`, `take`, `concat`) each read and write a whole activation tensor
with almost no arithmetic. Guideline G4 (ShuffleNet V2) says they cost
time in proportion to that memory access cost (MAC), not to their FLOPs;
in a transformer they are the part a compiler can fuse away.

The lint looks at transformer blocks: the outermost block instances whose
ops include attention-like work (`attention`, `softmax` or `matmul`) and
no convolution (in a hybrid network, the transformer blocks inside a
convolutional stage, not the stage). For each it sums the MAC (elements
read and written, weights included) of its ops and of the element-wise
part of it: the element-wise ops, the softmax (the softmax part of an
`attention` op included) and the copies (`reshape` and `flatten` are
views, not counted). It fires when the element-wise part is more than
half of the block's MAC (at least 4 such ops), once per block definition,
with the instance of the largest share: the share, the top contributors
and the share of the block's predicted time (analysis platform) they take.

Why half: a block past it moves more data for normalizations, copies and
activations than for its matrix products. On the example networks,
ViT-B/16's encoder blocks spend 24.9% of their MAC element-wise (GELU,
softmax, residual adds, layernorms); MobileViT's transformers 40.0% and
47.6% (many tokens of a narrow embedding: the `L×L` softmax weighs); Swin-T's
blocks 52.6–55.9% in stages 1 and 2, 43.4–46.3% in stage 3 and 19.1% in
stage 4, where the window partition and merge permutes, the `q, k, v`
selects, the rolls of the shifted windows, the bias and mask adds grow
with the map. Only Swin-T's first two stages cross half; convolutional
networks have no transformer blocks and are never reported.

The note says what fusion saves: `nnc build` already applies residual adds
and activations (e.g. bias + GELU) in the epilogue of the preceding
`linear`, and fusing each layernorm into the `linear` that reads it would
avoid writing and re-reading its output; the remaining copies and the
softmax run as separate kernels.

Fix: keep element-wise work adjacent to the products that can absorb it
(linear → activation → residual add), avoid layout copies between
attention and the MLP (e.g. keep the channels-last layout, partition
windows once per stage rather than per block), or allow it:
`#[allow(transformer_elementwise)]`.",
};

/// How much of an op's MAC is element-wise work, and under which name it
/// is reported.
fn elementwise_part(g: &Graph, id: NodeId, mac: u64) -> Option<(&'static str, u64)> {
    let op = &g.node(id).op;
    match op {
        Op::Attention { .. } => {
            let d = nnc_analysis::attention::node_dims(g, id)?;
            let sm = d.parts().iter().find(|p| p.name == "softmax")?.mac;
            Some(("softmax", sm))
        }
        Op::Softmax { .. }
        | Op::Permute { .. }
        | Op::Roll { .. }
        | Op::Slice { .. }
        | Op::Select { .. }
        | Op::Take { .. }
        | Op::Concat { .. }
        | Op::Split { .. } => Some((op.name(), mac)),
        _ if op.is_elementwise() => Some((op.name(), mac)),
        _ => None,
    }
}

/// MAC a fusion of a layernorm into the one `linear` reading it would save:
/// the layernorm's output is neither written nor read back.
fn layernorm_saving(g: &Graph, id: NodeId) -> u64 {
    if !matches!(g.node(id).op, Op::LayerNorm { .. }) || g.is_output(id) {
        return 0;
    }
    match g.users(id)[..] {
        [u] if matches!(g.node(u).op, Op::Linear { .. }) => {
            numel(&g.node(id).shape).saturating_mul(2)
        }
        _ => 0,
    }
}

/// The figures of one transformer block instance.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct BlockShare {
    pub id: Option<BlockId>,
    /// MAC of all its ops, elements.
    pub total: u64,
    /// MAC of its element-wise work, elements.
    pub elementwise: u64,
    /// Number of ops with element-wise work.
    pub ops: usize,
    /// Element-wise MAC by op name, largest first.
    pub by_op: Vec<(&'static str, u64)>,
    /// MAC saved by the epilogue fusion `nnc build` does.
    pub fused: u64,
    /// MAC a layernorm → linear fusion would save.
    pub layernorm_fusable: u64,
    /// Predicted time of its ops and of the element-wise ones, ms.
    pub ms: f64,
    pub elementwise_ms: f64,
    /// A node of the instance (for attributes on enclosing calls).
    pub first: Option<NodeId>,
}

impl BlockShare {
    pub fn share(&self) -> f64 {
        self.elementwise as f64 / self.total.max(1) as f64
    }
}

/// The transformer block instances of the graph and their element-wise
/// figures, in instance order.
pub(crate) fn transformer_blocks(g: &Graph, a: &nnc_analysis::Analysis) -> Vec<BlockShare> {
    let nb = g.blocks.len();
    let mut attention_like = vec![false; nb];
    let mut conv = vec![false; nb];
    for na in &a.nodes {
        let op = &g.node(na.id).op;
        let att = matches!(op, Op::Attention { .. } | Op::Softmax { .. } | Op::MatMul);
        let cv = matches!(op, Op::Conv2d(_))
            || matches!(op, Op::Fused { base, .. } if matches!(**base, Op::Conv2d(_)));
        for b in g.block_path(na.id) {
            let i = b.0 as usize;
            if i < nb {
                attention_like[i] |= att;
                conv[i] |= cv;
            }
        }
    }
    let is_tb = |i: usize| attention_like[i] && !conv[i];
    // the outermost transformer block enclosing each node
    let mut out: Vec<BlockShare> = vec![BlockShare::default(); nb];
    let mut by_op: Vec<BTreeMap<&'static str, u64>> = vec![BTreeMap::new(); nb];
    for na in &a.nodes {
        let Some(b) = g
            .block_path(na.id)
            .into_iter()
            .find(|b| (b.0 as usize) < nb && is_tb(b.0 as usize))
        else {
            continue;
        };
        let i = b.0 as usize;
        let s = &mut out[i];
        s.id = Some(b);
        s.first.get_or_insert(na.id);
        s.total = s.total.saturating_add(na.cost.mac);
        s.ms += na.predicted_ms;
        if let Some((name, mac)) = elementwise_part(g, na.id, na.cost.mac) {
            s.elementwise = s.elementwise.saturating_add(mac);
            s.ops += 1;
            if na.cost.mac > 0 {
                s.elementwise_ms += na.predicted_ms * (mac as f64 / na.cost.mac as f64);
            }
            *by_op[i].entry(name).or_insert(0) += mac;
            s.fused = s.fused.saturating_add(fusion_saving(g, na.cost.mac, na.id));
            s.layernorm_fusable = s
                .layernorm_fusable
                .saturating_add(layernorm_saving(g, na.id));
        }
    }
    out.into_iter()
        .zip(by_op)
        .filter(|(s, _)| s.id.is_some())
        .map(|(mut s, m)| {
            let mut v: Vec<(&'static str, u64)> = m.into_iter().collect();
            v.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(y.0)));
            s.by_op = v;
            s
        })
        .collect()
}

fn pct(part: u64, total: u64) -> f64 {
    part as f64 / total.max(1) as f64 * 100.0
}

/// What fusion does and would save on this block.
fn fusion_note(s: &BlockShare) -> String {
    let done = if s.fused > 0 {
        format!(
            "`nnc build` applies residual adds and activations in the preceding linear's epilogue, saving {:.1}% of the block's MAC",
            pct(s.fused, s.total)
        )
    } else {
        "no residual add or activation here follows a linear, so `nnc build`'s epilogue fusion saves nothing".to_string()
    };
    let ln = if s.layernorm_fusable > 0 {
        format!(
            "; fusing each layernorm into the linear that reads it would save {:.1}% more",
            pct(s.layernorm_fusable, s.total)
        )
    } else {
        String::new()
    };
    format!("{done}{ln}; the softmax, the copies and the other layernorms run as separate kernels")
}

impl Lint for TransformerElementwise {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, cx: &LintContext, out: &mut Vec<Finding>) {
        let g = cx.graph;
        // one finding per block definition: its instance of largest share
        let mut by_block: BTreeMap<&str, (usize, usize, BlockShare)> = BTreeMap::new();
        for s in transformer_blocks(g, cx.analysis) {
            let Some(id) = s.id else { continue };
            let over = s.share() > SHARE_THRESHOLD && s.ops >= MIN_OPS;
            let e =
                by_block
                    .entry(g.block(id).block.as_str())
                    .or_insert((0, 0, BlockShare::default()));
            e.0 += 1;
            if over {
                e.1 += 1;
                if e.2.id.is_none() || s.share() > e.2.share() {
                    e.2 = s;
                }
            }
        }
        for (block, (instances, over, s)) in by_block {
            let (Some(id), Some(node)) = (s.id, s.first) else {
                continue;
            };
            let inst = g.block(id);
            let top: Vec<String> = s
                .by_op
                .iter()
                .take(4)
                .map(|(n, m)| format!("{n} {:.1}%", pct(*m, s.total)))
                .collect();
            let d = Diagnostic::warning(
                META.code,
                format!(
                    "element-wise work holds {:.1}% of the memory access cost of transformer block `{block}`",
                    s.share() * 100.0
                ),
            )
            .with_primary(
                inst.call_span,
                format!(
                    "`{}`: {} element-wise ops, {:.1}% of its predicted time",
                    inst.name,
                    s.ops,
                    s.elementwise_ms / s.ms.max(f64::MIN_POSITIVE) * 100.0
                ),
            )
            .with_note(format!(
                "{over} of {instances} instance{} above {:.0}%; the top contributors (share of the block's MAC): {}",
                if instances == 1 { "" } else { "s" },
                SHARE_THRESHOLD * 100.0,
                top.join(", ")
            ))
            .with_note(fusion_note(&s))
            .with_help("keep element-wise work next to the products that absorb it and avoid layout copies inside the block (G4)");
            out.push(Finding::at_node(d, node));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::lint_codes;

    /// The figures of the transformer blocks of `src`.
    fn shares(src: &str) -> Vec<BlockShare> {
        let (file, _) = nnc_syntax::parse(src);
        let el = nnc_elab::elaborate(&file, None);
        let g = el.graph.expect("graph");
        let p = nnc_analysis::platform::builtin("zen3-2c").expect("platform");
        let a = nnc_analysis::analyze(&g, &p).expect("analysis");
        transformer_blocks(&g, &a)
    }

    const PRE_NORM: &str = "block tb(x) {\n  let y = layernorm(x, name = \"ln\");\n  y = attention(y, heads = 2, name = \"attn\");\n  return x + y;\n}\nnetwork n {\n  input x: [1, 4, 8];\n  output o = tb(x, name = \"b\");\n}\n";

    #[test]
    fn share_of_an_attention_block_counted_by_hand() {
        // N = 1, L = 4, E = 8, 2 heads; MAC in elements read + written:
        // layernorm: 32 in + 32 out + 16 weights = 80
        // attention: in_proj 32 + 192 + 24 + 96 = 344, q kᵀ 2·32 + 32
        //   scores = 96, softmax 2·32 = 64, av 32 + 32 + 32 = 96,
        //   out_proj 2·32 + 64 + 8 = 136: 736
        // add: 32 + 32 + 32 = 96
        // element-wise: 80 + 64 + 96 = 240 of 912 (26.3%)
        let s = shares(PRE_NORM);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].total, 912);
        assert_eq!(s[0].elementwise, 240);
        assert_eq!(s[0].ops, 3);
        assert_eq!(
            s[0].by_op,
            vec![("add", 96), ("layernorm", 80), ("softmax", 64)]
        );
        assert!((s[0].share() - 240.0 / 912.0).abs() < 1e-12);
        assert_eq!(lint_codes(PRE_NORM, "transformer_elementwise"), 0);
    }

    /// A windowed block in small: copies, a scaling, a bias, a softmax
    /// around two matmuls.
    const COPIES: &str = "block wb(x) {\n  let y = layernorm(x, name = \"ln\");\n  let t = permute(y, [0, 2, 1]);\n  let s = matmul(y, t) * 0.5;\n  s = softmax(s + constant([[0.0, 1.0, 0.0, 1.0]]), axis = -1);\n  let o = permute(permute(matmul(s, y), [0, 2, 1]), [0, 2, 1]);\n  return roll(x + o, 1, axis = 1);\n}\nnetwork n {\n  input x: [1, 4, 8];\n  output o = wb(x, name = \"w\");\n}\n";

    #[test]
    fn fires_on_copy_heavy_block_counted_by_hand() {
        // [1, 4, 8] = 32 elements, scores [1, 4, 4] = 16:
        // layernorm 32 + 32 + 16 = 80; permute 64; matmul 32 + 32 + 16 = 80;
        // affine 16 + 16 = 32; constant 4; add 16 + 4 + 16 = 36;
        // softmax 32; matmul 16 + 32 + 32 = 80; permute ×2 128; add 96;
        // roll 64. Total 80+64+80+32+4+36+32+80+128+96+64 = 696;
        // element-wise: 696 - 80 - 80 - 4 = 532 (76.4%), 9 ops.
        let s = shares(COPIES);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].total, 696);
        assert_eq!(s[0].elementwise, 532);
        assert_eq!(s[0].ops, 9);
        assert_eq!(s[0].by_op[0], ("permute", 192));
        assert_eq!(lint_codes(COPIES, "transformer_elementwise"), 1);
    }

    #[test]
    fn quiet_without_attention_or_blocks() {
        // element-wise heavy, but no attention-like work
        let cnn = "block c(x) {\n  let y = relu(batchnorm(conv2d(x, out = 8, kernel = 1)));\n  return sigmoid(y) * y + x;\n}\nnetwork n {\n  input x: [1, 8, 8, 8];\n  output o = c(x);\n}\n";
        assert!(shares(cnn).is_empty());
        assert_eq!(lint_codes(cnn, "transformer_elementwise"), 0);
        // attention in the network body, not in a block
        let body = "network n {\n  input x: [1, 4, 8];\n  output o = roll(x + softmax(x, axis = -1), 1, axis = 1) * 2.0;\n}\n";
        assert!(shares(body).is_empty());
    }

    /// The example networks: the shares the threshold was chosen from.
    #[test]
    fn example_networks() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
        let mut fired = Vec::new();
        for name in [
            "vit_b_16",
            "swin_t",
            "convnext_tiny",
            "mobilevit_hybrid",
            "resnet18",
            "mobilenet_v2",
            "mlp",
            "small_cnn",
        ] {
            let Ok(src) = std::fs::read_to_string(dir.join(format!("{name}.nn"))) else {
                return; // no examples checked out
            };
            let s = shares(&src);
            let (lo, hi) = s.iter().fold((f64::MAX, 0f64), |(lo, hi), b| {
                (lo.min(b.share()), hi.max(b.share()))
            });
            eprintln!(
                "{name:18} {} transformer blocks, element-wise share {:.1}%..{:.1}%",
                s.len(),
                if s.is_empty() { 0.0 } else { lo * 100.0 },
                hi * 100.0
            );
            for b in &s {
                eprintln!(
                    "    {:.1}% ({:.1}% of time) {:?}",
                    b.share() * 100.0,
                    b.elementwise_ms / b.ms * 100.0,
                    &b.by_op[..b.by_op.len().min(5)]
                );
            }
            if lint_codes(&src, "transformer_elementwise") > 0 {
                fired.push(name);
            }
        }
        assert_eq!(fired, ["swin_t"]);
    }
}
