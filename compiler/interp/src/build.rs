//! A small graph builder for tests and tools: adds nodes by op and computes
//! each node's shape by running the reference interpreter's op on zero
//! tensors (so it does not depend on the elaborator's shape inference).
//! Meant for small graphs only.

use crate::eval::eval_op;
use crate::tensor::Tensor;
use crate::EvalError;
use nnc_diag::Span;
use nnc_ir::op::weight_specs;
use nnc_ir::{Graph, Node, NodeId, Op};
use std::collections::HashMap;

/// Builds a [`Graph`] node by node, naming nodes `<op>_<k>` unless a name is
/// given.
#[derive(Debug)]
pub struct GraphBuilder {
    /// The graph built so far.
    pub g: Graph,
    counts: HashMap<&'static str, usize>,
    next_span: usize,
}

impl GraphBuilder {
    /// A builder of an empty graph called `name`.
    pub fn new(name: &str) -> GraphBuilder {
        GraphBuilder {
            g: Graph::new(name),
            counts: HashMap::new(),
            next_span: 0,
        }
    }

    fn span(&mut self) -> Span {
        // distinct dummy spans so diagnostics can be told apart
        self.next_span += 10;
        Span::new(self.next_span, self.next_span + 5)
    }

    /// Adds an input of this shape.
    pub fn input(&mut self, name: &str, shape: &[usize]) -> NodeId {
        let span = self.span();
        self.g.add_node(
            Node {
                op: Op::Input { name: name.into() },
                shape: shape.to_vec(),
                name: name.into(),
                block: None,
            },
            &[],
            span,
        )
    }

    /// Adds `op` applied to `inputs`, with a generated name.
    pub fn op(&mut self, op: Op, inputs: &[NodeId]) -> Result<NodeId, EvalError> {
        let k = self.counts.entry(op.name()).or_insert(0);
        let name = format!("{}_{}", op.name(), *k);
        *k += 1;
        self.named(op, inputs, &name)
    }

    /// Adds `op` applied to `inputs` under the given name.
    pub fn named(&mut self, op: Op, inputs: &[NodeId], name: &str) -> Result<NodeId, EvalError> {
        let shape = self.infer(&op, inputs)?;
        let span = self.span();
        Ok(self.g.add_node(
            Node {
                op,
                shape,
                name: name.into(),
                block: None,
            },
            inputs,
            span,
        ))
    }

    /// The output shape of `op` on these nodes (computed by evaluation on
    /// zeros).
    pub fn infer(&self, op: &Op, inputs: &[NodeId]) -> Result<Vec<usize>, EvalError> {
        let args: Vec<Tensor> = inputs
            .iter()
            .map(|&i| Tensor::zeros(self.g.node(i).shape.clone()))
            .collect::<Result<_, _>>()?;
        let shapes: Vec<&[usize]> = args.iter().map(|t| t.shape()).collect();
        let ws: Vec<Tensor> = weight_specs(op, &shapes)
            .into_iter()
            .map(|s| Tensor::zeros(s.shape))
            .collect::<Result<_, _>>()?;
        let argr: Vec<&Tensor> = args.iter().collect();
        let wr: Vec<&Tensor> = ws.iter().collect();
        Ok(eval_op(op, &argr, &wr)?.shape().to_vec())
    }

    /// Marks a node as the output `name`.
    pub fn output(&mut self, name: &str, node: NodeId) {
        self.g.add_output(name, node, Span::DUMMY);
    }

    /// The finished graph.
    pub fn finish(self) -> Graph {
        self.g
    }
}
