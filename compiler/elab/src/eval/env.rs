//! Lexical environments: a stack of frames of bindings.

use crate::value::Value;
use std::collections::HashMap;
use std::rc::Rc;

/// Lexical environment of one network body or block call: a stack of frames
/// (the body, then one per enclosing `for`/`if` body).
pub(crate) struct Env {
    frames: Vec<HashMap<Rc<str>, Value>>,
}

impl Env {
    pub(crate) fn new() -> Env {
        Env {
            frames: vec![HashMap::new()],
        }
    }

    pub(crate) fn lookup(&self, name: &str) -> Option<&Value> {
        self.frames.iter().rev().find_map(|f| f.get(name))
    }

    pub(crate) fn define(&mut self, name: &str, v: Value) {
        if let Some(f) = self.frames.last_mut() {
            if let Some(slot) = f.get_mut(name) {
                *slot = v;
            } else {
                f.insert(Rc::from(name), v);
            }
        }
    }

    /// Moves the value of the innermost binding of `name` out (leaving an
    /// error value, rebound right after by the caller).
    pub(crate) fn take(&mut self, name: &str) -> Option<Value> {
        self.frames
            .iter_mut()
            .rev()
            .find_map(|f| f.get_mut(name))
            .map(|slot| std::mem::replace(slot, Value::Error))
    }

    /// Rebinds the innermost binding of `name`; false if there is none.
    pub(crate) fn assign(&mut self, name: &str, v: Value) -> bool {
        for f in self.frames.iter_mut().rev() {
            if let Some(slot) = f.get_mut(name) {
                *slot = v;
                return true;
            }
        }
        false
    }

    pub(crate) fn names(&self) -> Vec<&str> {
        self.frames
            .iter()
            .flat_map(|f| f.keys().map(|k| &**k))
            .collect()
    }

    pub(crate) fn push(&mut self) {
        self.frames.push(HashMap::new());
    }

    pub(crate) fn pop(&mut self) {
        if self.frames.len() > 1 {
            self.frames.pop();
        }
    }
}
