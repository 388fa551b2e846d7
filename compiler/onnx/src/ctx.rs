//! The state of one import: the ONNX values seen so far (constants, or
//! tensors bound to identifiers of the generated source), the statements
//! generated, the weights, and the helpers the op translations use. Apart
//! from `import.rs` so that the translations (`ops`) and the block
//! recovery (`blocks`) use it without depending on the importer's driver.

use crate::attrs::NodeRef;
use crate::error::Error;
use crate::naming::{Idents, WeightNames};
use crate::tensor::Const;
use nnc_diag::codes::onnx as code;
use nnc_interp::weights::WeightStore;
use std::collections::{HashMap, HashSet};

/// A value of the ONNX graph during import.
#[derive(Clone, Debug)]
pub enum Val {
    Const(Const),
    /// A tensor bound to `ident` in the generated source.
    T {
        ident: String,
        shape: Vec<usize>,
    },
}

/// One generated statement.
pub struct Stmt {
    pub text: String,
    pub node: String,
}

pub struct Ctx<'m> {
    pub vals: HashMap<String, Val>,
    pub idents: Idents,
    pub wnames: WeightNames,
    pub weights: WeightStore,
    pub stmts: Vec<Stmt>,
    /// For each value name, the indices of the nodes that consume it.
    pub users: HashMap<String, Vec<usize>>,
    pub nodes: &'m [crate::proto::onnx::NodeProto],
    /// Nodes already translated as part of a pattern.
    pub done: HashSet<usize>,
    pub graph_outputs: HashSet<String>,
    pub initializer_names: HashSet<String>,
    /// For a constant computed by folding a `Transpose` of an initializer
    /// (how nnc exports an N-D linear's weight), that initializer's name.
    pub origin: HashMap<String, String>,
    /// Constants that come from `Constant` nodes (and what folding made of
    /// them alone), not from initializers: values, not weights, imported as
    /// `constant(...)` rather than `param`.
    pub literals: HashSet<String>,
}

impl Ctx<'_> {
    pub fn tensor(&self, n: &NodeRef, i: usize) -> Result<(String, Vec<usize>), Error> {
        let name = n.input(i);
        match self.vals.get(name) {
            Some(Val::T { ident, shape }) => Ok((ident.clone(), shape.clone())),
            Some(Val::Const(_)) => Err(Error::new(
                code::UNSUPPORTED_FORM,
                format!(
                    "{} cannot be imported: its input {i} (`{name}`) is a constant tensor where nnc needs a computed one (the language has no constant tensors)",
                    n.describe()
                ),
            )),
            None => Err(Error::new(
                code::MALFORMED_GRAPH,
                format!("{} uses the undefined value `{name}`", n.describe()),
            )),
        }
    }

    pub fn constant(&self, n: &NodeRef, i: usize) -> Option<&Const> {
        match self.vals.get(n.input(i)) {
            Some(Val::Const(c)) => Some(c),
            _ => None,
        }
    }

    /// The single consumer of a value, if it has exactly one and is not a
    /// graph output.
    pub fn sole_user(&self, value: &str) -> Option<usize> {
        if self.graph_outputs.contains(value) {
            return None;
        }
        match self.users.get(value).map(Vec::as_slice) {
            Some([u]) => Some(*u),
            _ => None,
        }
    }

    /// When `value`'s sole consumer is a two-input `Add` whose other
    /// operand is a constant: that node's index and the constant (how a
    /// bias or an added scalar follows the op that made `value`).
    pub fn sole_add_of_const(&self, value: &str) -> Option<(usize, &Const)> {
        let u = self.sole_user(value)?;
        let a = &self.nodes[u];
        if a.op_type.as_deref() != Some("Add") || a.input.len() != 2 {
            return None;
        }
        let other = if a.input[0] == value {
            &a.input[1]
        } else {
            &a.input[0]
        };
        match self.vals.get(other) {
            Some(Val::Const(c)) => Some((u, c)),
            _ => None,
        }
    }

    pub fn push(&mut self, n: &NodeRef, text: String) {
        self.stmts.push(Stmt {
            text,
            node: n.name(),
        });
    }

    /// Binds an output value to a fresh identifier with this shape.
    pub fn bind(&mut self, value: &str, hint: &str, shape: Vec<usize>) -> String {
        let ident = self.idents.fresh(hint);
        self.vals.insert(
            value.to_string(),
            Val::T {
                ident: ident.clone(),
                shape,
            },
        );
        ident
    }

    /// Binds `value` as an alias of an existing tensor value (Identity, Dropout).
    pub fn alias(&mut self, value: &str, of: (String, Vec<usize>)) {
        self.vals.insert(
            value.to_string(),
            Val::T {
                ident: of.0,
                shape: of.1,
            },
        );
    }
}
