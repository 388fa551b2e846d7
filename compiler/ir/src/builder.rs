//! The graph builder of tests, benchmarks and tools: adds nodes one by one,
//! either with an explicit shape ([`GraphBuilder::node`]) or with the shape
//! from [`shape::infer`](crate::shape::infer) ([`GraphBuilder::op`],
//! [`GraphBuilder::named`]), inside nested block scopes
//! ([`GraphBuilder::enter`], [`GraphBuilder::exit`]). It does not go through
//! the elaborator. Layer conveniences (conv + bn, reference networks) are in
//! `nnc_analysis::testing`.

use crate::graph::{BlockId, BlockInstance, Graph, Node, NodeId};
use crate::op::Op;
use crate::shape::{infer, ShapeError};
use nnc_diag::Span;
use std::collections::HashMap;

/// Builds a [`Graph`] node by node. Names are scoped by the current block
/// (`<block>.<name>`); a node added without a name is called `<op>_<k>`, `k`
/// counting the nodes of that op. Every node gets its own dummy span, so
/// diagnostics can be told apart.
#[derive(Debug)]
pub struct GraphBuilder {
    /// The graph built so far.
    pub g: Graph,
    scope: Vec<BlockId>,
    counts: HashMap<&'static str, usize>,
    next_span: usize,
}

impl GraphBuilder {
    /// A builder of an empty graph called `name`.
    pub fn new(name: &str) -> GraphBuilder {
        GraphBuilder {
            g: Graph::new(name),
            scope: Vec::new(),
            counts: HashMap::new(),
            next_span: 0,
        }
    }

    /// The `k`-th node added gets the dummy span `10k..10k + 5`.
    fn span(&mut self) -> Span {
        let start = self.next_span;
        self.next_span += 10;
        Span::new(start, start + 5)
    }

    fn full_name(&self, name: &str) -> String {
        match self.scope.last() {
            Some(&b) => format!("{}.{name}", self.g.block(b).name),
            None => name.to_string(),
        }
    }

    /// The next generated name for `op`: `<op>_<k>`.
    pub fn auto_name(&mut self, op: &Op) -> String {
        let k = self.counts.entry(op.name()).or_insert(0);
        let name = format!("{}_{}", op.name(), *k);
        *k += 1;
        name
    }

    /// The shape of a node.
    pub fn shape(&self, id: NodeId) -> Vec<usize> {
        self.g.node(id).shape.clone()
    }

    /// Adds `op` on `inputs` with an explicit output shape; `name` is scoped.
    pub fn node(&mut self, op: Op, inputs: &[NodeId], shape: Vec<usize>, name: &str) -> NodeId {
        let node = Node {
            op,
            shape,
            name: self.full_name(name),
            block: self.scope.last().copied(),
        };
        let span = self.span();
        self.g.add_node(node, inputs, span)
    }

    /// Adds a network input of this shape.
    pub fn input(&mut self, name: &str, shape: &[usize]) -> NodeId {
        self.node(Op::Input { name: name.into() }, &[], shape.to_vec(), name)
    }

    /// Adds `op` on `inputs` with a generated name and the inferred shape.
    pub fn op(&mut self, op: Op, inputs: &[NodeId]) -> Result<NodeId, ShapeError> {
        let shape = self.infer(&op, inputs)?;
        let name = self.auto_name(&op);
        Ok(self.node(op, inputs, shape, &name))
    }

    /// Adds `op` on `inputs` under the given (scoped) name, with the
    /// inferred shape.
    pub fn named(&mut self, op: Op, inputs: &[NodeId], name: &str) -> Result<NodeId, ShapeError> {
        let shape = self.infer(&op, inputs)?;
        Ok(self.node(op, inputs, shape, name))
    }

    /// The output shape of `op` on these nodes ([`shape::infer`](infer)).
    pub fn infer(&self, op: &Op, inputs: &[NodeId]) -> Result<Vec<usize>, ShapeError> {
        let shapes: Vec<&[usize]> = inputs
            .iter()
            .map(|&i| self.g.node(i).shape.as_slice())
            .collect();
        infer(op, &shapes)
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

    /// Marks a node as the network output `name`.
    pub fn output(&mut self, name: &str, node: NodeId) {
        self.g.add_output(name, node, Span::DUMMY);
    }

    /// The finished graph.
    pub fn finish(self) -> Graph {
        self.g
    }
}
