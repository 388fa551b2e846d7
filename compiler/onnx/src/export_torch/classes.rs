//! Submodule classes for block instances: each instance's code is rendered
//! with names relative to the instance; instances of one block whose code
//! is the same up to integer literals share a class, and the literals that
//! differ become constructor arguments (see [`crate::blocks::params`]).

use super::node::{self, py_str};
use super::Instance;
use crate::blocks::params::{parameterize, Param, Source};
use crate::blocks::tokens::{int_value, tokens};
use crate::error::Error;
use nnc_ir::{Graph, NodeId};
use std::collections::{HashMap, HashSet};

/// The classes and, per instance, its class and constructor arguments.
pub(crate) struct Classes {
    pub defs: Vec<String>,
    pub of: Vec<(String, Vec<u64>)>,
}

/// An instance's code: the `__init__` body lines and the forward lines.
struct Code {
    init: Vec<String>,
    fwd: Vec<String>,
    args: Vec<String>,
}

fn code(g: &Graph, inst: &Instance) -> Result<Code, Error> {
    let mut var: HashMap<NodeId, String> = HashMap::new();
    let args: Vec<String> = if inst.inputs.len() == 1 {
        vec!["x".into()]
    } else {
        (0..inst.inputs.len()).map(|i| format!("x{i}")).collect()
    };
    for (n, a) in inst.inputs.iter().zip(&args) {
        var.insert(*n, a.clone());
    }
    let prefix = format!("{}.", inst.name);
    let (mut init, mut fwd) = (Vec::new(), Vec::new());
    for (k, &id) in inst.nodes.iter().enumerate() {
        let ins: Vec<String> = g.inputs(id).iter().map(|i| var[i].clone()).collect();
        let full = &g.node(id).name;
        let rel = full.strip_prefix(&prefix).unwrap_or(full);
        let Some((module, expr)) = node::code(g, id, &ins, rel)? else {
            continue;
        };
        if let Some(m) = module {
            init.push(format!("self._add({}, {m})", py_str(rel)));
        }
        let v = format!("t{}", k + 1);
        fwd.push(format!("{v} = {expr}"));
        var.insert(id, v);
    }
    let outs: Vec<String> = inst.outputs.iter().map(|o| var[o].clone()).collect();
    fwd.push(format!("return {}", outs.join(", ")));
    Ok(Code { init, fwd, args })
}

fn camel(name: &str) -> String {
    let c: String = name
        .split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut ch = p.chars();
            match ch.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + ch.as_str(),
                None => String::new(),
            }
        })
        .collect();
    if c.is_empty() || c.starts_with(|x: char| x.is_ascii_digit()) {
        format!("Block{c}")
    } else {
        c
    }
}

/// Python names of the parameters (unique, not keywords, not `self`/`x`).
fn param_names(params: &[Param], args: &[String]) -> Vec<String> {
    let mut used: HashSet<String> = args.iter().cloned().collect();
    for k in [
        "self", "in", "for", "if", "else", "return", "lambda", "class", "def", "nn", "F", "torch",
    ] {
        used.insert(k.into());
    }
    params
        .iter()
        .map(|p| {
            let mut cand = p.name.clone();
            let mut k = 2;
            while !used.insert(cand.clone()) {
                cand = format!("{}_{k}", p.name);
                k += 1;
            }
            cand
        })
        .collect()
}

/// Replaces the integer literals of `line` (from literal number `*lit` on)
/// by their sources.
fn substitute(line: &str, sources: &[Source], names: &[String], lit: &mut usize) -> String {
    tokens(line)
        .into_iter()
        .map(|t| {
            if int_value(&t).is_some() {
                let s = sources[*lit].render(names);
                *lit += 1;
                s
            } else {
                t
            }
        })
        .collect()
}

pub(crate) fn build(g: &Graph, insts: &[Instance]) -> Result<Classes, Error> {
    let codes: Vec<Code> = insts.iter().map(|i| code(g, i)).collect::<Result<_, _>>()?;
    // group by block and code up to integer literals
    let sig = |c: &Code| -> String {
        c.init
            .iter()
            .chain(&c.fwd)
            .flat_map(|l| tokens(l))
            .map(|t| {
                if int_value(&t).is_some() {
                    "#".to_string()
                } else {
                    t
                }
            })
            .collect::<Vec<_>>()
            .join("")
    };
    let mut groups: Vec<(String, String, Vec<usize>)> = Vec::new();
    for (k, (inst, c)) in insts.iter().zip(&codes).enumerate() {
        let s = sig(c);
        match groups
            .iter_mut()
            .find(|(b, gs, _)| *b == inst.block && *gs == s)
        {
            Some(gr) => gr.2.push(k),
            None => groups.push((inst.block.clone(), s, vec![k])),
        }
    }
    let mut taken: HashSet<String> = ["_Module".to_string(), super::class_name(&g.name)].into();
    let mut defs = Vec::new();
    let mut of = vec![(String::new(), Vec::new()); insts.len()];
    for (block, _, members) in &groups {
        let base = camel(block);
        let mut name = base.clone();
        let mut n = 2;
        while !taken.insert(name.clone()) {
            name = format!("{base}{n}");
            n += 1;
        }
        let c0 = &codes[members[0]];
        let first: Vec<String> = c0
            .init
            .iter()
            .chain(&c0.fwd)
            .flat_map(|l| tokens(l))
            .collect();
        let ints: Vec<Vec<u64>> = members
            .iter()
            .map(|&m| {
                let c = &codes[m];
                c.init
                    .iter()
                    .chain(&c.fwd)
                    .flat_map(|l| tokens(l))
                    .filter_map(|t| int_value(&t))
                    .collect()
            })
            .collect();
        let refs: Vec<&[u64]> = ints.iter().map(Vec::as_slice).collect();
        let (sources, params) = parameterize(&first, &refs);
        let names = param_names(&params, &c0.args);
        let stored: Vec<String> = names.iter().map(|n| format!("self._{n}")).collect();
        let instances: Vec<&str> = members.iter().map(|&m| insts[m].name.as_str()).collect();
        let mut d = format!(
            "class {name}(_Module):\n    \"\"\"nnc block `{block}`: {}.\"\"\"\n\n",
            instances.join(", ")
        );
        d.push_str(&format!(
            "    def __init__(self{}):\n        super().__init__()\n",
            names.iter().map(|n| format!(", {n}")).collect::<String>()
        ));
        for n in &names {
            d.push_str(&format!("        self._{n} = {n}\n"));
        }
        let mut lit = 0;
        for l in &c0.init {
            d.push_str(&format!(
                "        {}\n",
                substitute(l, &sources, &names, &mut lit)
            ));
        }
        d.push_str(&format!(
            "\n    def forward(self, {}):\n",
            c0.args.join(", ")
        ));
        for l in &c0.fwd {
            d.push_str(&format!(
                "        {}\n",
                substitute(l, &sources, &stored, &mut lit)
            ));
        }
        defs.push(d);
        for (i, &m) in members.iter().enumerate() {
            of[m] = (name.clone(), params.iter().map(|p| p.values[i]).collect());
        }
    }
    Ok(Classes { defs, of })
}
