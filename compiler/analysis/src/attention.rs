//! Multi-head self-attention priced as its parts: the input projection,
//! `QKᵀ` (scaled), the softmax over the `L×L` scores, `AV` and the output
//! projection. The `L×L` scores are written and read in full by the
//! unfused op, so they appear in its MAC and in the peak activation memory.

/// FLOPs per output element of softmax: the max (1 compare), `x - max`
/// (1), `exp` (1), the running sum (1) and the division (1). Here, beside
/// the attention's softmax, so that `cost` (which prices attention by its
/// parts) depends on this module and not the other way round.
pub const SOFTMAX_FLOPS_PER_ELEM: u64 = 5;

/// One part of an attention op (counts in elements or operations).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttentionPart {
    /// `in_proj`, `qk^T`, `softmax`, `av`, `out_proj`.
    pub name: &'static str,
    pub mult_adds: u64,
    pub flops: u64,
    /// Elements read plus written by this part (weights included).
    pub mac: u64,
}

/// The shape of one self-attention: batch `n`, tokens `l`, embedding `e`,
/// `heads` heads, with or without biases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttentionDims {
    pub n: u64,
    pub l: u64,
    pub e: u64,
    pub heads: u64,
    pub bias: bool,
}

fn m(a: u64, b: u64) -> u64 {
    a.saturating_mul(b)
}

impl AttentionDims {
    /// Elements of the scores `[N, heads, L, L]` (the quadratic intermediate).
    pub fn scores(&self) -> u64 {
        m(m(self.n, self.heads), m(self.l, self.l))
    }

    /// Elements of the packed `q, k, v` `[N, L, 3E]`.
    pub fn qkv(&self) -> u64 {
        m(m(self.n, self.l), m(3, self.e))
    }

    /// The largest set of intermediates alive at once inside the op: `q, k, v`
    /// and the scores of all heads (the unfused schedule).
    pub fn scratch(&self) -> u64 {
        self.qkv().saturating_add(self.scores())
    }

    /// The five parts, in execution order.
    pub fn parts(&self) -> [AttentionPart; 5] {
        let (n, l, e) = (self.n, self.l, self.e);
        let nle = m(m(n, l), e);
        let bias = |x: u64| if self.bias { x } else { 0 };
        let s = self.scores();
        // in_proj: [N·L, E] × [E, 3E] (+ bias)
        let in_ma = m(nle, m(3, e));
        let in_w = m(m(3, e), e).saturating_add(bias(m(3, e)));
        // QKᵀ per head: [L, d] × [d, L], over all heads: N·L·L·E; the
        // 1/√d scale is one multiply per score.
        let qk_ma = m(m(n, m(l, l)), e);
        // AV per head: [L, L] × [L, d]: N·L·L·E.
        let av_ma = qk_ma;
        let out_ma = m(nle, e);
        let out_w = m(e, e).saturating_add(bias(e));
        [
            AttentionPart {
                name: "in_proj",
                mult_adds: in_ma,
                flops: m(2, in_ma).saturating_add(bias(m(3, nle))),
                mac: nle.saturating_add(in_w).saturating_add(self.qkv()),
            },
            AttentionPart {
                name: "qk^T",
                mult_adds: qk_ma,
                flops: m(2, qk_ma).saturating_add(s),
                mac: m(2, nle).saturating_add(s),
            },
            AttentionPart {
                name: "softmax",
                mult_adds: 0,
                flops: m(SOFTMAX_FLOPS_PER_ELEM, s),
                mac: m(2, s),
            },
            AttentionPart {
                name: "av",
                mult_adds: av_ma,
                flops: m(2, av_ma),
                mac: s.saturating_add(nle).saturating_add(nle),
            },
            AttentionPart {
                name: "out_proj",
                mult_adds: out_ma,
                flops: m(2, out_ma).saturating_add(bias(nle)),
                mac: m(2, nle).saturating_add(out_w),
            },
        ]
    }
}

/// The dimensions of an `Op::Attention` on an input of shape `x` (None for
/// other ops or a malformed input).
pub fn attention_dims(op: &nnc_ir::Op, x: &[usize]) -> Option<AttentionDims> {
    match (op, x) {
        (nnc_ir::Op::Attention { heads, bias }, &[n, l, e]) => Some(AttentionDims {
            n: n as u64,
            l: l as u64,
            e: e as u64,
            heads: *heads as u64,
            bias: *bias,
        }),
        _ => None,
    }
}

/// The parts of node `id` if it is an attention, for the JSON report:
/// `[{part, mult_adds, flops, mac, mac_bytes}]` plus the scores' shape and
/// bytes (None for other ops).
pub fn parts_json(g: &nnc_ir::Graph, id: nnc_ir::NodeId) -> Option<serde_json::Value> {
    let d = node_dims(g, id)?;
    let parts: Vec<serde_json::Value> = d
        .parts()
        .iter()
        .map(|p| {
            serde_json::json!({
                "part": p.name,
                "shape": part_shape(&d, p.name),
                "mult_adds": p.mult_adds,
                "flops": p.flops,
                "mac": p.mac,
                "mac_bytes": p.mac.saturating_mul(4),
            })
        })
        .collect();
    Some(serde_json::json!({
        "parts": parts,
        "scores_shape": [d.n, d.heads, d.l, d.l],
        "scores_bytes": d.scores().saturating_mul(4),
        "scratch_bytes": d.scratch().saturating_mul(4),
    }))
}

/// The attention dimensions of node `id` (None unless it is an attention).
pub fn node_dims(g: &nnc_ir::Graph, id: nnc_ir::NodeId) -> Option<AttentionDims> {
    let x = g.inputs(id).first().map(|&i| g.node(i).shape.clone())?;
    attention_dims(&g.node(id).op, &x)
}

/// The output shape of a part (`in_proj`: `[N, L, 3E]`, `qk^T`/`softmax`:
/// the scores `[N, heads, L, L]`, `av`/`out_proj`: `[N, L, E]`).
pub fn part_shape(d: &AttentionDims, part: &str) -> Vec<u64> {
    match part {
        "in_proj" => vec![d.n, d.l, d.e.saturating_mul(3)],
        "qk^T" | "softmax" => vec![d.n, d.heads, d.l, d.l],
        _ => vec![d.n, d.l, d.e],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vit_b_16_layer() {
        let d = AttentionDims {
            n: 1,
            l: 197,
            e: 768,
            heads: 12,
            bias: true,
        };
        let p = d.parts();
        assert_eq!(p[0].mult_adds, 197 * 768 * 2304);
        assert_eq!(p[1].mult_adds, 197 * 197 * 768);
        assert_eq!(p[3].mult_adds, 197 * 197 * 768);
        assert_eq!(p[4].mult_adds, 197 * 768 * 768);
        assert_eq!(d.scores(), 12 * 197 * 197);
        // the scores are written by QKᵀ, read and written by softmax, read by AV
        assert_eq!(p[1].mac - 2 * 197 * 768, d.scores());
        assert_eq!(p[2].mac, 2 * d.scores());
        assert_eq!(p[3].mac - 2 * 197 * 768, d.scores());
    }

    #[test]
    fn peak_memory_and_json_show_the_scores() {
        use nnc_ir::GraphBuilder;
        let mut b = GraphBuilder::new("t");
        let x = b.input("x", &[1, 100, 64]);
        let a = b.node(
            nnc_ir::Op::Attention {
                heads: 4,
                bias: true,
            },
            &[x],
            vec![1, 100, 64],
            "attn",
        );
        b.output("y", a);
        let g = b.finish();
        let platform = crate::platform::builtins().remove(0);
        let an = crate::analyze(&g, &platform).unwrap();
        // input + output + q, k, v + 4 heads of 100×100 scores
        let want = 4 * (2 * 6400 + 3 * 6400 + 4 * 100 * 100);
        assert_eq!(an.totals.peak_activation_bytes, want);
        let j = parts_json(&g, a).unwrap();
        assert_eq!(j["parts"].as_array().unwrap().len(), 5);
        assert_eq!(j["scores_bytes"], 4 * 4 * 100 * 100);
        assert_eq!(j["parts"][1]["shape"], serde_json::json!([1, 4, 100, 100]));
    }
}
