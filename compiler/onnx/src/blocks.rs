//! Recovery of repeated structures as `block`s: consecutive statements of
//! one module instance (the first K components of their module path, e.g.
//! `layer1.1`) that are closed (one tensor in, one tensor out) and are
//! textually isomorphic to another instance (same ops and attributes, names
//! relative to the instance) become calls of one block. The rewritten
//! source is kept only if it elaborates to a graph with the same nodes and
//! weight names as the flat one; otherwise the flat source stays.

use crate::import::Stmt;
use crate::naming::scope_of_node;
use std::collections::{HashMap, HashSet};

/// Splits a statement into tokens: identifiers, strings and other text.
fn tokens(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == '"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != '"' {
                j += 1;
            }
            out.push(b[i..(j + 1).min(b.len())].iter().collect());
            i = j + 1;
        } else if c.is_ascii_alphabetic() || c == '_' {
            let mut j = i;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == '_') {
                j += 1;
            }
            out.push(b[i..j].iter().collect());
            i = j;
        } else {
            out.push(c.to_string());
            i += 1;
        }
    }
    out
}

struct Run {
    start: usize,
    end: usize,
    key: String,
    input: String,
    output: String,
    sig: String,
}

fn defs_of(toks: &[String]) -> Vec<String> {
    // `let a = ...` or `let (a, b) = ...`
    let mut d = Vec::new();
    let Some(eq) = toks.iter().position(|t| t == "=") else {
        return d;
    };
    for t in &toks[1..eq] {
        if t.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        {
            d.push(t.clone());
        }
    }
    d
}

fn analyze_run(
    stmts: &[Stmt],
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
    let mut last = None;
    for k in start..end {
        let t = &toks[k];
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
        let _ = &stmts[k];
    }
    let output = last?;
    // only the last definition may be used after the run
    for (d, _) in inner.iter() {
        if d != &output && used_after.contains(d) {
            return None;
        }
    }
    Some(Run {
        start,
        end,
        key: key.to_string(),
        input: input?,
        output,
        sig,
    })
}

/// Rewrites the statements with blocks; returns the block definitions and
/// the new statement lines (without the network's inputs/outputs), or None
/// when nothing repeats.
pub fn recover(
    stmts: &[Stmt],
    inputs: &[String],
    output_idents: &[String],
    depth: usize,
) -> Option<(String, Vec<(String, String)>)> {
    let toks: Vec<Vec<String>> = stmts.iter().map(|s| tokens(&s.text)).collect();
    let keys: Vec<Option<String>> = stmts
        .iter()
        .map(|s| {
            let sc = scope_of_node(s.node.split(" + ").next().unwrap_or(""))?;
            let parts: Vec<&str> = sc.split('.').collect();
            (parts.len() >= depth).then(|| parts[..depth].join("."))
        })
        .collect();
    let mut runs = Vec::new();
    let mut i = 0;
    while i < stmts.len() {
        let Some(k) = keys[i].clone() else {
            i += 1;
            continue;
        };
        let mut j = i + 1;
        while j < stmts.len() && keys[j].as_deref() == Some(k.as_str()) {
            j += 1;
        }
        // identifiers defined before the run (possible inputs) and used after it
        let mut defined: HashSet<String> = inputs.iter().cloned().collect();
        for t in &toks[..i] {
            defined.extend(defs_of(t));
        }
        let mut used_after: HashSet<String> = output_idents.iter().cloned().collect();
        for t in &toks[j..] {
            used_after.extend(t.iter().cloned());
        }
        if j - i >= 2 {
            if let Some(r) = analyze_run(stmts, &toks, i, j, &k, &defined, &used_after) {
                runs.push(r);
            }
        }
        i = j;
    }
    let mut groups: HashMap<String, Vec<usize>> = HashMap::new();
    for (n, r) in runs.iter().enumerate() {
        groups.entry(r.sig.clone()).or_default().push(n);
    }
    let mut block_of: HashMap<usize, String> = HashMap::new();
    let mut defs = String::new();
    let mut sigs: Vec<(&String, &Vec<usize>)> =
        groups.iter().filter(|(_, v)| v.len() >= 2).collect();
    sigs.sort_by_key(|(_, v)| v[0]);
    for (b, (_, members)) in sigs.iter().enumerate() {
        let name = format!("block{}", b + 1);
        let r = &runs[members[0]];
        let instances: Vec<&str> = members.iter().map(|&m| runs[m].key.as_str()).collect();
        defs.push_str(&format!(
            "// `{}`: the structure of {}.\nblock {name}(x) {{\n",
            name,
            instances.join(", ")
        ));
        for k in r.start..r.end {
            let t = &toks[k];
            let text: String = t
                .iter()
                .map(|tok| {
                    if tok == &r.input {
                        "x".to_string()
                    } else if let Some(rest) = tok.strip_prefix('"') {
                        let n = rest.trim_end_matches('"');
                        match n
                            .strip_prefix(r.key.as_str())
                            .and_then(|x| x.strip_prefix('.'))
                        {
                            Some(rel) => format!("\"{rel}\""),
                            None => tok.clone(),
                        }
                    } else {
                        tok.clone()
                    }
                })
                .collect();
            defs.push_str(&format!("    {text}  // {}\n", stmts[k].node));
        }
        defs.push_str(&format!("    return {};\n}}\n\n", r.output));
        for &m in members.iter() {
            block_of.insert(runs[m].start, name.clone());
        }
    }
    if block_of.is_empty() {
        return None;
    }
    let mut lines = Vec::new();
    let mut k = 0;
    while k < stmts.len() {
        if let Some(b) = block_of.get(&k) {
            let r = runs.iter().find(|r| r.start == k).expect("run");
            lines.push((
                format!("let {} = {b}({}, name = \"{}\");", r.output, r.input, r.key),
                format!("{} nodes of {}", r.end - r.start, r.key),
            ));
            k = r.end;
        } else {
            lines.push((stmts[k].text.clone(), stmts[k].node.clone()));
            k += 1;
        }
    }
    Some((defs, lines))
}
