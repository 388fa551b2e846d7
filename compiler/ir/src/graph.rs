//! The graph IR: a DAG of [`Node`]s on petgraph, behind a small API.
//!
//! Invariants (checked by [`crate::verify`]):
//! - acyclic; each node's inputs are exactly its incoming edges, ordered by
//!   the edge weight (the input slot);
//! - every node's `shape` equals [`crate::shape::infer`] of its op and its
//!   inputs' shapes;
//! - weight names of ops with weights are unique;
//! - outputs name existing nodes.
//!
//! Source spans and block-instance membership are side tables (as in naga):
//! passes that create nodes give them the span of the node they replace.

use crate::op::Op;
use nnc_diag::Span;
use petgraph::stable_graph::{NodeIndex, StableDiGraph};
use petgraph::visit::{EdgeRef, IntoEdgeReferences, NodeIndexable};
use petgraph::Direction;
use std::fmt;

/// A node's identity. Stable across removals of other nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u32);

impl NodeId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
    fn ix(self) -> NodeIndex<u32> {
        NodeIndex::new(self.0 as usize)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "%{}", self.0)
    }
}

/// Identity of a block instance (one inlined block call).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockId(pub u32);

/// One inlined block call: its full scope name (`layer1.0`), the block's name
/// (`basic`), the enclosing instance, and where it was called.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockInstance {
    pub name: String,
    pub block: String,
    pub parent: Option<BlockId>,
    pub call_span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub op: Op,
    /// The output shape (every node has exactly one output tensor).
    pub shape: Vec<usize>,
    /// Full name: the weight name for ops with weights (`layer1.0.conv1`),
    /// a generated one (`relu_3`, scoped) otherwise, the input's name for inputs.
    pub name: String,
    /// The innermost block instance this node was created in (None: the
    /// network body itself).
    pub block: Option<BlockId>,
}

/// A named network output.
#[derive(Clone, Debug, PartialEq)]
pub struct Output {
    pub name: String,
    pub node: NodeId,
    pub span: Span,
}

#[derive(Clone, Debug, Default)]
pub struct Graph {
    /// The network's name.
    pub name: String,
    g: StableDiGraph<Node, u32, u32>,
    /// Side table: the source span of each node, by node index.
    spans: Vec<Span>,
    /// Input nodes in declaration order.
    pub inputs: Vec<NodeId>,
    pub outputs: Vec<Output>,
    pub blocks: Vec<BlockInstance>,
}

impl Graph {
    pub fn new(name: impl Into<String>) -> Graph {
        Graph {
            name: name.into(),
            ..Graph::default()
        }
    }

    /// Adds a node whose inputs are `inputs` in slot order. The caller is
    /// responsible for `shape` being right (the verifier checks it).
    pub fn add_node(&mut self, node: Node, inputs: &[NodeId], span: Span) -> NodeId {
        let is_input = matches!(node.op, Op::Input { .. });
        let ix = self.g.add_node(node);
        for (slot, &src) in inputs.iter().enumerate() {
            self.g.add_edge(src.ix(), ix, slot as u32);
        }
        let id = NodeId(ix.index() as u32);
        if self.spans.len() <= id.index() {
            self.spans.resize(id.index() + 1, Span::DUMMY);
        }
        self.spans[id.index()] = span;
        if is_input {
            self.inputs.push(id);
        }
        id
    }

    pub fn add_block(&mut self, b: BlockInstance) -> BlockId {
        self.blocks.push(b);
        BlockId(self.blocks.len() as u32 - 1)
    }

    pub fn block(&self, id: BlockId) -> &BlockInstance {
        &self.blocks[id.0 as usize]
    }

    pub fn add_output(&mut self, name: impl Into<String>, node: NodeId, span: Span) {
        self.outputs.push(Output {
            name: name.into(),
            node,
            span,
        });
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.g[id.ix()]
    }

    pub fn node_mut(&mut self, id: NodeId) -> &mut Node {
        &mut self.g[id.ix()]
    }

    pub fn contains(&self, id: NodeId) -> bool {
        self.g.contains_node(id.ix())
    }

    pub fn span(&self, id: NodeId) -> Span {
        self.spans.get(id.index()).copied().unwrap_or(Span::DUMMY)
    }

    pub fn set_span(&mut self, id: NodeId, span: Span) {
        if self.spans.len() <= id.index() {
            self.spans.resize(id.index() + 1, Span::DUMMY);
        }
        self.spans[id.index()] = span;
    }

    /// Number of live nodes (including inputs).
    pub fn len(&self) -> usize {
        self.g.node_count()
    }

    pub fn is_empty(&self) -> bool {
        self.g.node_count() == 0
    }

    /// Live node ids in ascending id order (creation order; for graphs made by
    /// the elaborator this is a topological order, but use [`Graph::topo_order`]).
    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.g.node_indices().map(|i| NodeId(i.index() as u32))
    }

    /// The node's inputs in slot order.
    pub fn inputs(&self, id: NodeId) -> Vec<NodeId> {
        let mut v: Vec<(u32, NodeId)> = self
            .g
            .edges_directed(id.ix(), Direction::Incoming)
            .map(|e| (*e.weight(), NodeId(e.source().index() as u32)))
            .collect();
        v.sort_unstable();
        v.into_iter().map(|(_, n)| n).collect()
    }

    /// The nodes that read this node's output (each once, ascending).
    pub fn users(&self, id: NodeId) -> Vec<NodeId> {
        let mut v: Vec<NodeId> = self
            .g
            .neighbors_directed(id.ix(), Direction::Outgoing)
            .map(|n| NodeId(n.index() as u32))
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// True if the node's value is a network output.
    pub fn is_output(&self, id: NodeId) -> bool {
        self.outputs.iter().any(|o| o.node == id)
    }

    /// A topological order, deterministic: among ready nodes the smallest id
    /// first (Kahn's algorithm with a min-heap). Returns None on a cycle.
    pub fn topo_order(&self) -> Option<Vec<NodeId>> {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        let bound = self.g.node_bound();
        let mut indeg = vec![0usize; bound];
        for e in self.g.edge_references() {
            indeg[e.target().index()] += 1;
        }
        let mut heap: BinaryHeap<Reverse<u32>> = self
            .g
            .node_indices()
            .filter(|i| indeg[i.index()] == 0)
            .map(|i| Reverse(i.index() as u32))
            .collect();
        let mut order = Vec::with_capacity(self.g.node_count());
        while let Some(Reverse(n)) = heap.pop() {
            order.push(NodeId(n));
            for e in self
                .g
                .edges_directed(NodeIndex::new(n as usize), Direction::Outgoing)
            {
                let t = e.target().index();
                indeg[t] -= 1;
                if indeg[t] == 0 {
                    heap.push(Reverse(t as u32));
                }
            }
        }
        (order.len() == self.g.node_count()).then_some(order)
    }

    /// True if the graph has no cycle (petgraph's check).
    pub fn is_acyclic(&self) -> bool {
        petgraph::algo::toposort(&self.g, None).is_ok()
    }

    /// Replaces every use of `old` (as an input or an output) by `new`.
    pub fn replace_uses(&mut self, old: NodeId, new: NodeId) {
        let edges: Vec<(NodeIndex<u32>, u32)> = self
            .g
            .edges_directed(old.ix(), Direction::Outgoing)
            .map(|e| (e.target(), *e.weight()))
            .collect();
        for (t, slot) in edges {
            if t == new.ix() {
                continue;
            }
            if let Some(e) = self.g.find_edge(old.ix(), t) {
                self.g.remove_edge(e);
            }
            self.g.add_edge(new.ix(), t, slot);
        }
        for o in &mut self.outputs {
            if o.node == old {
                o.node = new;
            }
        }
    }

    /// Replaces input slot `slot` of `node` by `src`.
    pub fn set_input(&mut self, node: NodeId, slot: usize, src: NodeId) {
        let e = self
            .g
            .edges_directed(node.ix(), Direction::Incoming)
            .find(|e| *e.weight() == slot as u32)
            .map(|e| e.id());
        if let Some(e) = e {
            self.g.remove_edge(e);
        }
        self.g.add_edge(src.ix(), node.ix(), slot as u32);
    }

    /// Removes every input edge of `id` (the node keeps its id, users and
    /// outputs): for a pass that turns a node into a source, e.g. a computed
    /// constant.
    pub fn detach_inputs(&mut self, id: NodeId) {
        let edges: Vec<_> = self
            .g
            .edges_directed(id.ix(), Direction::Incoming)
            .map(|e| e.id())
            .collect();
        for e in edges {
            self.g.remove_edge(e);
        }
    }

    /// Removes a node and its edges. Its users must have been rewired first.
    pub fn remove_node(&mut self, id: NodeId) -> Option<Node> {
        self.inputs.retain(|&i| i != id);
        self.g.remove_node(id.ix())
    }

    /// The underlying petgraph graph, for algorithms (read only).
    pub fn petgraph(&self) -> &StableDiGraph<Node, u32, u32> {
        &self.g
    }

    /// The full path of block instances enclosing a node, outermost first.
    pub fn block_path(&self, id: NodeId) -> Vec<BlockId> {
        let mut path = Vec::new();
        let mut cur = self.node(id).block;
        while let Some(b) = cur {
            path.push(b);
            cur = self.block(b).parent;
        }
        path.reverse();
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::Activation;

    fn node(op: Op, shape: &[usize], name: &str) -> Node {
        Node {
            op,
            shape: shape.to_vec(),
            name: name.into(),
            block: None,
        }
    }

    #[test]
    fn build_and_rewire() {
        let mut g = Graph::new("t");
        let x = g.add_node(
            node(Op::Input { name: "x".into() }, &[1, 4], "x"),
            &[],
            Span::DUMMY,
        );
        let a = g.add_node(
            node(Op::Act(Activation::Relu), &[1, 4], "relu_0"),
            &[x],
            Span::new(1, 2),
        );
        let b = g.add_node(
            node(Op::Binary(crate::op::BinaryKind::Add), &[1, 4], "add_0"),
            &[a, x],
            Span::DUMMY,
        );
        g.add_output("y", b, Span::DUMMY);
        assert_eq!(g.inputs(b), vec![a, x]);
        assert_eq!(g.users(x), vec![a, b]);
        assert_eq!(g.topo_order().unwrap(), vec![x, a, b]);
        assert_eq!(g.span(a), Span::new(1, 2));
        g.replace_uses(a, x);
        g.remove_node(a);
        assert_eq!(g.inputs(b), vec![x, x]);
        assert_eq!(g.len(), 2);
        assert!(g.is_acyclic());
    }
}
