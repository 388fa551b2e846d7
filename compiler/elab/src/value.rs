//! Compile-time values, and the provenance of integers (which literals of the
//! source an int was computed from), used by `nnc fix --rebalance`.

use nnc_diag::Span;
use nnc_ir::NodeId;
use std::rc::Rc;
use std::sync::Arc;

/// Where a compile-time int came from: a tree over the integer literals of
/// the source. Shared (`Arc`), so passing values around is cheap.
#[derive(Clone, Debug, PartialEq)]
pub enum IntProv {
    /// An integer literal: its span and value.
    Lit { span: Span, value: i64 },
    /// `-a`
    Neg(Arc<IntProv>),
    /// `a + b`
    Add(Arc<IntProv>, Arc<IntProv>),
    /// `a - b`
    Sub(Arc<IntProv>, Arc<IntProv>),
    /// `a * b`
    Mul(Arc<IntProv>, Arc<IntProv>),
    /// `a / b`
    Div(Arc<IntProv>, Arc<IntProv>),
    /// `a % b`
    Rem(Arc<IntProv>, Arc<IntProv>),
    /// Computed by something that cannot be traced to literals: a loop
    /// variable, `len`, `channels(x)` and the other shape queries.
    Opaque,
}

impl IntProv {
    /// The literal spans this value depends on, in tree order.
    pub fn literals(&self) -> Vec<Span> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect(&self, out: &mut Vec<Span>) {
        // Iterative to stay safe on deep trees.
        let mut stack = vec![self];
        while let Some(p) = stack.pop() {
            match p {
                IntProv::Lit { span, .. } => out.push(*span),
                IntProv::Neg(a) => stack.push(a),
                IntProv::Add(a, b)
                | IntProv::Sub(a, b)
                | IntProv::Mul(a, b)
                | IntProv::Div(a, b)
                | IntProv::Rem(a, b) => {
                    stack.push(b);
                    stack.push(a);
                }
                IntProv::Opaque => {}
            }
        }
    }

    /// True if the value is exactly one literal (the easy case to rewrite).
    pub fn as_literal(&self) -> Option<(Span, i64)> {
        match self {
            IntProv::Lit { span, value } => Some((*span, *value)),
            _ => None,
        }
    }

    /// True if some part of the value could not be traced.
    pub fn has_opaque(&self) -> bool {
        let mut stack = vec![self];
        while let Some(p) = stack.pop() {
            match p {
                IntProv::Lit { .. } => {}
                IntProv::Opaque => return true,
                IntProv::Neg(a) => stack.push(a),
                IntProv::Add(a, b)
                | IntProv::Sub(a, b)
                | IntProv::Mul(a, b)
                | IntProv::Div(a, b)
                | IntProv::Rem(a, b) => {
                    stack.push(a);
                    stack.push(b);
                }
            }
        }
        false
    }
}

/// An int argument of an op with its provenance and the span of the argument
/// expression as written at the call.
#[derive(Clone, Debug, PartialEq)]
pub struct ProvArg {
    pub value: i64,
    pub prov: Arc<IntProv>,
    pub span: Span,
}

/// Provenance of the sizes of one conv2d or linear node.
#[derive(Clone, Debug, PartialEq)]
pub struct OpProvenance {
    pub node: NodeId,
    /// `out` (output channels / features).
    pub out: ProvArg,
    /// `groups` of a conv2d when written (None: default 1, or a linear).
    pub groups: Option<ProvArg>,
}

/// The side table of provenance for every conv2d/linear node of a graph,
/// in node order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Provenance {
    pub ops: Vec<OpProvenance>,
}

impl Provenance {
    /// The entry of a node, if it is a conv2d or linear.
    pub fn get(&self, node: NodeId) -> Option<&OpProvenance> {
        self.ops
            .binary_search_by_key(&node, |o| o.node)
            .ok()
            .map(|i| &self.ops[i])
    }
}

/// Provenance trees deeper than this collapse to [`IntProv::Opaque`]: it keeps
/// them cheap, and their (recursive) drop and comparison shallow.
pub(crate) const MAX_PROV_DEPTH: u16 = 64;

/// Lists and tuples nested deeper than this are an error (E0185): it keeps
/// their (recursive) drop shallow.
pub(crate) const MAX_NESTING: u32 = 256;

/// The elements of a list or tuple, with the nesting depth of the value.
#[derive(Clone, Debug)]
pub(crate) struct Seq {
    items: Vec<Value>,
    pub(crate) depth: u32,
}

impl Seq {
    /// A shared sequence; its depth is one more than its deepest element.
    pub(crate) fn new(items: Vec<Value>) -> Rc<Seq> {
        let depth = 1 + items.iter().map(Value::nesting).max().unwrap_or(0);
        Rc::new(Seq { items, depth })
    }
}

impl Seq {
    /// Appends `other`'s elements, in place when `this` is not shared (so
    /// that `xs = xs + [x]` in a loop is linear, not quadratic).
    pub(crate) fn append(this: &mut Rc<Seq>, other: &Seq) {
        let s = Rc::make_mut(this);
        s.items.extend(other.items.iter().cloned());
        s.depth = s.depth.max(other.depth);
    }
}

impl std::ops::Deref for Seq {
    type Target = Vec<Value>;
    fn deref(&self) -> &Vec<Value> {
        &self.items
    }
}

/// A compile-time value or a tensor, during elaboration.
#[derive(Clone, Debug)]
pub(crate) enum Value {
    /// An int, its provenance and the depth of that provenance tree.
    Int(i64, Arc<IntProv>, u16),
    Float(f64),
    Bool(bool),
    /// A string; an `Rc<String>` so that appending to an unshared one is in place.
    Str(Rc<String>),
    List(Rc<Seq>),
    Tuple(Rc<Seq>),
    Tensor(NodeId),
    /// The "result" of a block that has no `return`: an error when used.
    Unit {
        block: Rc<str>,
        def: Span,
    },
    /// A value whose computation failed (already reported): silences
    /// follow-up errors.
    Error,
}

impl Value {
    /// A short description of the kind, for messages (`int`, `tensor`, ...).
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Value::Int(..) => "int",
            Value::Float(_) => "float",
            Value::Bool(_) => "bool",
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Tuple(_) => "tuple",
            Value::Tensor(_) => "tensor",
            Value::Unit { .. } => "no value",
            Value::Error => "error",
        }
    }

    pub(crate) fn opaque_int(v: i64) -> Value {
        Value::Int(v, Arc::new(IntProv::Opaque), 1)
    }

    /// An int computed from operands of provenance depths `depths`: the
    /// tree `prov`, or Opaque when it would be too deep.
    pub(crate) fn derived_int(v: i64, prov: IntProv, depths: &[u16]) -> Value {
        let d = depths.iter().copied().max().unwrap_or(0).saturating_add(1);
        if d > MAX_PROV_DEPTH {
            Value::opaque_int(v)
        } else {
            Value::Int(v, Arc::new(prov), d)
        }
    }

    /// Nesting depth of lists/tuples (0 for other values).
    pub(crate) fn nesting(&self) -> u32 {
        match self {
            Value::List(s) | Value::Tuple(s) => s.depth,
            _ => 0,
        }
    }

    /// A short rendering of a compile-time value for messages (lists are
    /// cut after a few elements).
    pub(crate) fn describe(&self) -> String {
        match self {
            Value::Int(v, ..) => format!("int `{v}`"),
            Value::Float(f) => format!("float `{f}`"),
            Value::Bool(b) => format!("bool `{b}`"),
            Value::Str(s) => {
                let short: String = s.chars().take(40).collect();
                format!("string \"{short}\"")
            }
            Value::List(xs) => format!("a list of {} element(s)", xs.len()),
            Value::Tuple(xs) => format!("a tuple of {} element(s)", xs.len()),
            Value::Tensor(_) => "a tensor".into(),
            Value::Unit { block, .. } => format!("no value (block `{block}` has no return)"),
            Value::Error => "an erroneous value".into(),
        }
    }
}
