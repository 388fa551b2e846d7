//! Recovery of repeated structures: consecutive statements of one module
//! instance (the first K components of their module path, e.g. `layer1.1`)
//! that are closed (one tensor in, one tensor out) and isomorphic to other
//! instances become calls of one `block`. Instances are isomorphic when
//! they have the same ops, attributes, data flow and weight names relative
//! to the instance, up to integer attributes: an integer that differs
//! between instances (a width, a stride) becomes a parameter of the block,
//! or a multiple of one (`out * 4`). Then a run of calls of one block with
//! the same arguments, each taking the previous one's output, whose
//! instance names count up (`layer3.1` … `layer3.5`) becomes a `for` loop
//! (see [`loops`]).
//!
//! The caller keeps the rewrite only if it elaborates to the same graph as
//! the flat source, so a wrong rewrite can never change the network.

mod loops;
pub(crate) mod params;
pub(crate) mod tokens;

use crate::ctx::Stmt;
use crate::naming::{scope_of_node, Idents};
use params::{Param, Source};
use std::collections::{HashMap, HashSet};
use tokens::{defs_of, int_value, is_ident, tokens};

/// One line of the rewritten network body.
#[derive(Clone, Debug, PartialEq)]
pub enum Line {
    /// A statement of the flat source, with the node it came from.
    Stmt { text: String, node: String },
    /// `let output = block(input, args..., name = "key");`
    Call {
        block: String,
        input: String,
        output: String,
        args: Vec<u64>,
        key: String,
        nodes: usize,
    },
    /// Already rendered lines (a loop), with their comment.
    Text { text: String, node: String },
}

impl Line {
    /// The source line and its comment (the ONNX node, or what it stands for).
    pub fn render(&self) -> (String, String) {
        match self {
            Line::Stmt { text, node } | Line::Text { text, node } => (text.clone(), node.clone()),
            Line::Call {
                block,
                input,
                output,
                args,
                key,
                nodes,
            } => (
                format!(
                    "let {output} = {};",
                    call_expr(block, input, args, &format!("\"{key}\""))
                ),
                format!("{nodes} nodes of {key}"),
            ),
        }
    }
}

pub(crate) fn call_expr(block: &str, input: &str, args: &[u64], name: &str) -> String {
    let mut a = vec![input.to_string()];
    a.extend(args.iter().map(|v| v.to_string()));
    a.push(format!("name = {name}"));
    format!("{block}({})", a.join(", "))
}

/// What was recovered (or why nothing was), for the user.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    pub blocks: usize,
    pub instances: usize,
    pub parameters: usize,
    pub loops: usize,
}

/// The rewrite: block definitions, body lines, and what they contain.
pub struct Recovered {
    pub defs: String,
    pub lines: Vec<Line>,
    pub summary: Summary,
}

struct Run {
    start: usize,
    end: usize,
    key: String,
    input: String,
    output: String,
    /// The normalized body, integer literals as `#`.
    sig: String,
    /// The integer literals, in order.
    ints: Vec<u64>,
}

fn analyze_run(
    toks: &[Vec<String>],
    start: usize,
    end: usize,
    key: &str,
    defined: &HashSet<String>,
    used_after: &HashSet<String>,
) -> Option<Run> {
    let mut inner: HashMap<String, String> = HashMap::new();
    let mut input: Option<String> = None;
    let mut sig = String::new();
    let mut ints = Vec::new();
    let mut last = None;
    for t in &toks[start..end] {
        let defs = defs_of(t);
        let eq = t.iter().position(|x| x == "=")?;
        let mut body = String::new();
        for tok in &t[eq..] {
            if let Some(p) = inner.get(tok) {
                body.push_str(p);
            } else if defined.contains(tok) {
                match &input {
                    None => input = Some(tok.clone()),
                    Some(i) if i == tok => {}
                    Some(_) => return None,
                }
                body.push_str("$in");
            } else if let Some(rest) = tok.strip_prefix('"') {
                let inner_name = rest.trim_end_matches('"');
                let rel = inner_name.strip_prefix(key)?.strip_prefix('.')?;
                body.push_str(&format!("\"{rel}\""));
            } else if let Some(v) = int_value(tok) {
                ints.push(v);
                body.push('#');
            } else {
                body.push_str(tok);
            }
        }
        for d in &defs {
            let p = format!("${}", inner.len());
            inner.insert(d.clone(), p);
        }
        sig.push_str(&format!("{}|{body}\n", defs.len()));
        last = defs.last().cloned();
    }
    let output = last?;
    // only the last definition may be used after the run
    if inner.keys().any(|d| d != &output && used_after.contains(d)) {
        return None;
    }
    Some(Run {
        start,
        end,
        key: key.to_string(),
        input: input?,
        output,
        sig,
        ints,
    })
}

/// The module-instance key of each statement at this depth.
fn keys(stmts: &[Stmt], depth: usize) -> Vec<Option<String>> {
    stmts
        .iter()
        .map(|s| {
            let sc = scope_of_node(s.node.split(" + ").next().unwrap_or(""))?;
            let parts: Vec<&str> = sc.split('.').collect();
            (parts.len() >= depth).then(|| parts[..depth].join("."))
        })
        .collect()
}

fn find_runs(
    stmts: &[Stmt],
    toks: &[Vec<String>],
    inputs: &[String],
    output_idents: &[String],
    depth: usize,
) -> Vec<Run> {
    let keys = keys(stmts, depth);
    let mut runs = Vec::new();
    let mut defined: HashSet<String> = inputs.iter().cloned().collect();
    let mut i = 0;
    while i < stmts.len() {
        let Some(k) = keys[i].clone() else {
            defined.extend(defs_of(&toks[i]));
            i += 1;
            continue;
        };
        let mut j = i + 1;
        while j < stmts.len() && keys[j].as_deref() == Some(k.as_str()) {
            j += 1;
        }
        let mut used_after: HashSet<String> = output_idents.iter().cloned().collect();
        for t in &toks[j..] {
            used_after.extend(t.iter().cloned());
        }
        if j - i >= 2 {
            if let Some(r) = analyze_run(toks, i, j, &k, &defined, &used_after) {
                runs.push(r);
            }
        }
        for t in &toks[i..j] {
            defined.extend(defs_of(t));
        }
        i = j;
    }
    runs
}

/// The parameters of a group of isomorphic runs.
fn parameters(runs: &[&Run], toks: &[Vec<String>]) -> (Vec<Source>, Vec<Param>) {
    let first: Vec<String> = toks[runs[0].start..runs[0].end]
        .iter()
        .flatten()
        .cloned()
        .collect();
    let ints: Vec<&[u64]> = runs.iter().map(|r| r.ints.as_slice()).collect();
    params::parameterize(&first, &ints)
}

/// A block name from the instance keys: their letters (`layer1.0` → `layer`).
fn block_name(key: &str, taken: &mut HashSet<String>) -> String {
    let base: String = key
        .split('.')
        .map(|p| p.trim_end_matches(|c: char| c.is_ascii_digit() || c == '_'))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    let base = if base.is_empty() || !is_ident(&base) {
        "block".to_string()
    } else {
        format!("{base}_block")
    };
    let mut cand = base.clone();
    let mut k = 2;
    while !taken.insert(cand.clone()) {
        cand = format!("{base}_{k}");
        k += 1;
    }
    cand
}

/// Renders the definition of a block from its first instance.
fn render_block(
    name: &str,
    members: &[&Run],
    sources: &[Source],
    params: &[Param],
    stmts: &[Stmt],
    toks: &[Vec<String>],
) -> (String, Vec<String>) {
    let r = members[0];
    let mut idents = Idents::default();
    let x = idents.fresh("x");
    let pnames: Vec<String> = params.iter().map(|p| idents.fresh(&p.name)).collect();
    let prefix = format!("{}_", r.key.replace('.', "_"));
    let mut inner: HashMap<String, String> = HashMap::new();
    let mut out = String::new();
    let instances: Vec<&str> = members.iter().map(|m| m.key.as_str()).collect();
    out.push_str(&format!(
        "// `{name}`: the structure of {}",
        instances.join(", ")
    ));
    for (pn, p) in pnames.iter().zip(params) {
        let vs: Vec<String> = p.values.iter().map(|x| x.to_string()).collect();
        out.push_str(&format!("; {pn} = {}", vs.join(", ")));
    }
    out.push_str(".\n");
    out.push_str(&format!(
        "block {name}({}) {{\n",
        std::iter::once(x.clone())
            .chain(pnames.iter().cloned())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let mut lit = 0;
    for k in r.start..r.end {
        let t = &toks[k];
        for d in defs_of(t) {
            let short = d.strip_prefix(&prefix).unwrap_or(&d).to_string();
            let fresh = idents.fresh(&short);
            inner.insert(d, fresh);
        }
        let mut text = String::new();
        for tok in t {
            if tok == &r.input {
                text.push_str(&x);
            } else if let Some(v) = inner.get(tok) {
                text.push_str(v);
            } else if let Some(rest) = tok.strip_prefix('"') {
                let n = rest.trim_end_matches('"');
                match n
                    .strip_prefix(r.key.as_str())
                    .and_then(|x| x.strip_prefix('.'))
                {
                    Some(rel) => text.push_str(&format!("\"{rel}\"")),
                    None => text.push_str(tok),
                }
            } else if int_value(tok).is_some() {
                text.push_str(&sources[lit].render(&pnames));
                lit += 1;
            } else {
                text.push_str(tok);
            }
        }
        out.push_str(&format!("    {text}  // {}\n", stmts[k].node));
    }
    out.push_str(&format!("    return {};\n}}\n\n", inner[&r.output]));
    (out, pnames)
}

/// Rewrites the statements with blocks (and loops of block calls); None
/// when no two instances are isomorphic at this depth.
pub fn recover(
    stmts: &[Stmt],
    inputs: &[String],
    output_idents: &[String],
    depth: usize,
) -> Option<Recovered> {
    let toks: Vec<Vec<String>> = stmts.iter().map(|s| tokens(&s.text)).collect();
    let runs = find_runs(stmts, &toks, inputs, output_idents, depth);
    let mut groups: HashMap<&str, Vec<usize>> = HashMap::new();
    for (n, r) in runs.iter().enumerate() {
        groups.entry(r.sig.as_str()).or_default().push(n);
    }
    let mut sigs: Vec<&Vec<usize>> = groups.values().filter(|v| v.len() >= 2).collect();
    if sigs.is_empty() {
        return None;
    }
    sigs.sort_by_key(|v| v[0]);
    let mut taken: HashSet<String> = toks
        .iter()
        .flatten()
        .filter(|t| is_ident(t))
        .cloned()
        .collect();
    let mut call_of: HashMap<usize, Line> = HashMap::new();
    let mut defs = String::new();
    let mut summary = Summary::default();
    for members in sigs {
        let rs: Vec<&Run> = members.iter().map(|&m| &runs[m]).collect();
        let (sources, params) = parameters(&rs, &toks);
        let name = block_name(&rs[0].key, &mut taken);
        let (text, _) = render_block(&name, &rs, &sources, &params, stmts, &toks);
        defs.push_str(&text);
        summary.blocks += 1;
        summary.instances += rs.len();
        summary.parameters += params.len();
        for (i, r) in rs.iter().enumerate() {
            call_of.insert(
                r.start,
                Line::Call {
                    block: name.clone(),
                    input: r.input.clone(),
                    output: r.output.clone(),
                    args: params.iter().map(|p| p.values[i]).collect(),
                    key: r.key.clone(),
                    nodes: r.end - r.start,
                },
            );
        }
    }
    let mut lines = Vec::new();
    let mut k = 0;
    while k < stmts.len() {
        match call_of.remove(&k) {
            Some(call) => {
                let r = runs
                    .iter()
                    .find(|r| r.start == k)
                    .expect("a run starts here");
                lines.push(call);
                k = r.end;
            }
            None => {
                lines.push(Line::Stmt {
                    text: stmts[k].text.clone(),
                    node: stmts[k].node.clone(),
                });
                k += 1;
            }
        }
    }
    let (lines, n_loops) = loops::fold(lines, output_idents);
    summary.loops = n_loops;
    Some(Recovered {
        defs,
        lines,
        summary,
    })
}
