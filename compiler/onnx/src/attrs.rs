//! Reading a node's attributes.

use crate::error::Error;
use crate::proto::onnx::{AttributeProto, NodeProto};
use nnc_diag::codes::onnx as code;

/// A node with helpers for its attributes and a printable identity.
pub struct NodeRef<'a> {
    pub node: &'a NodeProto,
    pub index: usize,
}

impl<'a> NodeRef<'a> {
    pub fn op(&self) -> &'a str {
        self.node.op_type.as_deref().unwrap_or("")
    }

    /// The node's name, or `#<index>` for unnamed nodes.
    pub fn name(&self) -> String {
        match self.node.name.as_deref() {
            Some(n) if !n.is_empty() => n.to_string(),
            _ => format!("#{}", self.index),
        }
    }

    /// `op `Conv` (node `/conv1/Conv`)`.
    pub fn describe(&self) -> String {
        format!("`{}` node `{}`", self.op(), self.name())
    }

    fn get(&self, key: &str) -> Option<&'a AttributeProto> {
        self.node
            .attribute
            .iter()
            .find(|a| a.name.as_deref() == Some(key))
    }

    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn int(&self, key: &str, default: i64) -> i64 {
        self.get(key).and_then(|a| a.i).unwrap_or(default)
    }

    pub fn float(&self, key: &str, default: f32) -> f32 {
        self.get(key).and_then(|a| a.f).unwrap_or(default)
    }

    pub fn ints(&self, key: &str) -> Option<Vec<i64>> {
        self.get(key).map(|a| a.ints.clone())
    }

    pub fn string(&self, key: &str) -> Option<String> {
        self.get(key)
            .and_then(|a| a.s.as_ref())
            .map(|s| String::from_utf8_lossy(s).into_owned())
    }

    pub fn attr(&self, key: &str) -> Option<&'a AttributeProto> {
        self.get(key)
    }

    /// An `E0503` error: the op is supported but not with these attributes.
    pub fn unsupported(&self, what: impl std::fmt::Display) -> Error {
        Error::new(
            code::UNSUPPORTED_FORM,
            format!("{} cannot be imported: {what}", self.describe()),
        )
    }

    /// The i-th input's name ("" when absent/optional).
    pub fn input(&self, i: usize) -> &'a str {
        self.node.input.get(i).map(String::as_str).unwrap_or("")
    }
}
