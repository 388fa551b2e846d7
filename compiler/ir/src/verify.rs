//! The IR verifier: run after elaboration and after every pass.

use crate::graph::{Graph, NodeId};
use crate::op::Op;
use crate::shape::{self, fmt_shape};
use petgraph::Direction;
use std::collections::{HashMap, HashSet};

/// Checks the invariants listed in [`crate::graph`]. Returns every violation found.
///
/// Checked: the graph is acyclic; every node's input slots are exactly
/// `0..n` (no gap, no duplicate) with `n` allowed by its op; every node's
/// shape equals [`shape::infer`] of its inputs' shapes (inputs: a declared
/// shape of positive dims); weight names of ops with weights are non-empty
/// and unique; outputs name live nodes and have unique names; the `inputs`
/// list holds exactly the live `Op::Input` nodes, once each; block ids and
/// block parents are in range (parents created before their children).
pub fn verify(g: &Graph) -> Result<(), Vec<String>> {
    let mut errs = Vec::new();
    if !g.is_acyclic() {
        errs.push("the graph has a cycle".to_string());
    }
    let pg = g.petgraph();
    let mut weight_names: HashMap<&str, NodeId> = HashMap::new();
    let ids: Vec<NodeId> = g.node_ids().collect();
    for &id in &ids {
        let node = g.node(id);
        let tag = format!("{id} `{}` ({})", node.name, node.op.name());
        // input slots
        let mut slots: Vec<u32> = pg
            .edges_directed(
                petgraph::stable_graph::NodeIndex::new(id.index()),
                Direction::Incoming,
            )
            .map(|e| *e.weight())
            .collect();
        slots.sort_unstable();
        let n = slots.len();
        if slots.iter().enumerate().any(|(i, &s)| s as usize != i) {
            errs.push(format!(
                "{tag}: input slots are {slots:?}, expected 0..{n} each once"
            ));
        }
        let (lo, hi) = shape::arity_range(&node.op);
        if n < lo || hi.is_some_and(|h| n > h) {
            errs.push(format!(
                "{tag}: has {n} inputs, the op takes {lo}{}",
                match hi {
                    Some(h) if h == lo => String::new(),
                    Some(h) => format!("..={h}"),
                    None => " or more".into(),
                }
            ));
        }
        // shape
        if let Op::Input { .. } = node.op {
            if node.shape.is_empty() || node.shape.contains(&0) {
                errs.push(format!(
                    "{tag}: input shape {} must have positive dimensions",
                    fmt_shape(&node.shape)
                ));
            }
        } else if n >= lo && hi.is_none_or(|h| n <= h) {
            let ins = g.inputs(id);
            let shapes: Vec<&[usize]> = ins.iter().map(|&i| g.node(i).shape.as_slice()).collect();
            match shape::infer(&node.op, &shapes) {
                Ok(s) if s == node.shape => {}
                Ok(s) => errs.push(format!(
                    "{tag}: shape is {}, but its inputs give {}",
                    fmt_shape(&node.shape),
                    fmt_shape(&s)
                )),
                Err(e) => errs.push(format!("{tag}: invalid for its inputs: {}", e.message)),
            }
        }
        // weight names
        if node.op.has_weights() {
            if node.name.is_empty() {
                errs.push(format!("{tag}: an op with weights has an empty name"));
            } else if let Some(prev) = weight_names.insert(node.name.as_str(), id) {
                errs.push(format!(
                    "{tag}: weight name `{}` is also used by {prev}",
                    node.name
                ));
            }
        }
        if let Some(b) = node.block {
            if b.0 as usize >= g.blocks.len() {
                errs.push(format!("{tag}: block id {} out of range", b.0));
            }
        }
    }
    // outputs
    let mut out_names = HashSet::new();
    for o in &g.outputs {
        if !g.contains(o.node) {
            errs.push(format!(
                "output `{}` names a missing node {}",
                o.name, o.node
            ));
        }
        if !out_names.insert(o.name.as_str()) {
            errs.push(format!("output name `{}` is used twice", o.name));
        }
    }
    // inputs list
    let mut seen = HashSet::new();
    for &i in &g.inputs {
        if !g.contains(i) {
            errs.push(format!("inputs list names a missing node {i}"));
        } else if !matches!(g.node(i).op, Op::Input { .. }) {
            errs.push(format!("inputs list names {i}, which is not an input node"));
        }
        if !seen.insert(i) {
            errs.push(format!("inputs list names {i} twice"));
        }
    }
    for &id in &ids {
        if matches!(g.node(id).op, Op::Input { .. }) && !seen.contains(&id) {
            errs.push(format!("input node {id} is missing from the inputs list"));
        }
    }
    // blocks
    for (i, b) in g.blocks.iter().enumerate() {
        if let Some(p) = b.parent {
            if p.0 as usize >= i {
                errs.push(format!(
                    "block instance {i} `{}` has parent {} that is not an earlier instance",
                    b.name, p.0
                ));
            }
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{BlockId, BlockInstance, Node};
    use crate::op::{Activation, BinaryKind, Conv2d};
    use nnc_diag::Span;

    fn node(op: Op, shape: &[usize], name: &str) -> Node {
        Node {
            op,
            shape: shape.to_vec(),
            name: name.into(),
            block: None,
        }
    }

    fn conv(out: usize) -> Op {
        Op::Conv2d(Conv2d {
            out_channels: out,
            kernel: [3, 3],
            stride: [1, 1],
            pad: [1, 1],
            dilation: [1, 1],
            groups: 1,
            bias: true,
        })
    }

    fn good() -> (Graph, NodeId, NodeId, NodeId) {
        let mut g = Graph::new("t");
        let x = g.add_node(
            node(Op::Input { name: "x".into() }, &[1, 3, 8, 8], "x"),
            &[],
            Span::DUMMY,
        );
        let c = g.add_node(node(conv(4), &[1, 4, 8, 8], "conv"), &[x], Span::DUMMY);
        let r = g.add_node(
            node(Op::Act(Activation::Relu), &[1, 4, 8, 8], "relu_0"),
            &[c],
            Span::DUMMY,
        );
        g.add_output("y", r, Span::DUMMY);
        (g, x, c, r)
    }

    fn errors(g: &Graph) -> Vec<String> {
        verify(g).err().unwrap_or_default()
    }

    #[test]
    fn good_graph_passes() {
        let (g, ..) = good();
        assert_eq!(verify(&g), Ok(()));
    }

    #[test]
    fn wrong_shape() {
        let (mut g, _, c, _) = good();
        g.node_mut(c).shape = vec![1, 4, 7, 7];
        let e = errors(&g);
        assert_eq!(e.len(), 2, "{e:?}"); // conv itself and relu after it
        assert!(e[0].contains("shape is [1, 4, 7, 7], but its inputs give [1, 4, 8, 8]"));
    }

    #[test]
    fn cycle_and_arity() {
        let (mut g, x, c, r) = good();
        g.set_input(c, 0, r);
        let e = errors(&g);
        assert!(e.iter().any(|m| m.contains("cycle")), "{e:?}");
        let _ = x;
        let (mut g, x, _, r) = good();
        g.set_input(r, 1, x);
        let e = errors(&g);
        assert!(e.iter().any(|m| m.contains("has 2 inputs")), "{e:?}");
        let (mut g, x, ..) = good();
        let a = g.add_node(
            node(Op::Binary(BinaryKind::Add), &[1, 3, 8, 8], "add"),
            &[x],
            Span::DUMMY,
        );
        g.set_input(a, 2, x);
        let e = errors(&g);
        assert!(
            e.iter().any(|m| m.contains("input slots are [0, 2]")),
            "{e:?}"
        );
    }

    #[test]
    fn duplicate_weights_outputs_and_inputs() {
        let (mut g, x, _, r) = good();
        g.add_node(node(conv(4), &[1, 4, 8, 8], "conv"), &[x], Span::DUMMY);
        g.add_output("y", r, Span::DUMMY);
        g.add_output("z", NodeId(99), Span::DUMMY);
        g.inputs.push(x);
        g.inputs.push(r);
        let e = errors(&g);
        assert!(e.iter().any(|m| m.contains("weight name `conv`")), "{e:?}");
        assert!(e.iter().any(|m| m.contains("output name `y`")), "{e:?}");
        assert!(e.iter().any(|m| m.contains("missing node %99")), "{e:?}");
        assert!(e.iter().any(|m| m.contains("twice")), "{e:?}");
        assert!(e.iter().any(|m| m.contains("not an input node")), "{e:?}");
    }

    #[test]
    fn bad_inputs_and_blocks() {
        let (mut g, x, c, _) = good();
        g.node_mut(x).shape = vec![1, 0, 8, 8];
        g.node_mut(c).block = Some(BlockId(5));
        g.add_block(BlockInstance {
            name: "a".into(),
            block: "b".into(),
            parent: Some(BlockId(0)),
            call_span: Span::DUMMY,
        });
        g.inputs.clear();
        let e = errors(&g);
        assert!(e.iter().any(|m| m.contains("positive dimensions")), "{e:?}");
        assert!(e.iter().any(|m| m.contains("block id 5")), "{e:?}");
        assert!(
            e.iter().any(|m| m.contains("not an earlier instance")),
            "{e:?}"
        );
        assert!(
            e.iter().any(|m| m.contains("missing from the inputs list")),
            "{e:?}"
        );
    }
}
