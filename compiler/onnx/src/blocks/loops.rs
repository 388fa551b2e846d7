//! `for` loops from runs of block calls: calls of one block with the same
//! arguments, each taking the previous call's output (used nowhere else),
//! whose instance names differ only in one number that counts up by one
//! (`layer3.1`, `layer3.2`, …), become
//!
//! ```text
//! let out = in;
//! for i in 1..6 {
//!     out = block(out, 256, name = "layer3.{i}");
//! }
//! ```

use super::tokens::tokens;
use super::{call_expr, Line};
use std::collections::HashMap;

/// A key split into runs of digits and of other characters.
fn segments(key: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in key.chars() {
        match out.last_mut() {
            Some(s) if s.chars().last().map(|l| l.is_ascii_digit()) == Some(c.is_ascii_digit()) => {
                s.push(c)
            }
            _ => out.push(c.to_string()),
        }
    }
    out
}

/// The name template (`layer3.{i}`) and first index when the keys differ
/// only in one number counting up by one.
fn counting(keys: &[&str]) -> Option<(String, u64)> {
    let segs: Vec<Vec<String>> = keys.iter().map(|k| segments(k)).collect();
    let n = segs[0].len();
    if segs.iter().any(|s| s.len() != n) {
        return None;
    }
    let varying: Vec<usize> = (0..n)
        .filter(|&f| segs.iter().any(|s| s[f] != segs[0][f]))
        .collect();
    let [f] = varying[..] else {
        return None;
    };
    let first: u64 = segs[0][f].parse().ok()?;
    for (i, s) in segs.iter().enumerate() {
        // no leading zeros: `{i}` prints none
        if s[f] != (first + i as u64).to_string() {
            return None;
        }
    }
    let mut t = segs[0].clone();
    t[f] = "{i}".into();
    Some((t.concat(), first))
}

/// How often each identifier is used by the lines (not counting definitions
/// by calls) and the network outputs.
fn uses(lines: &[Line], outputs: &[String]) -> HashMap<String, usize> {
    let mut u: HashMap<String, usize> = HashMap::new();
    for o in outputs {
        *u.entry(o.clone()).or_default() += 1;
    }
    for l in lines {
        match l {
            Line::Call { input, .. } => *u.entry(input.clone()).or_default() += 1,
            Line::Stmt { text, .. } | Line::Text { text, .. } => {
                let t = tokens(text);
                let eq = t.iter().position(|x| x == "=").unwrap_or(0);
                for tok in &t[eq..] {
                    *u.entry(tok.clone()).or_default() += 1;
                }
            }
        }
    }
    u
}

fn defines(l: &Line, v: &str) -> bool {
    match l {
        Line::Call { output, .. } => output == v,
        Line::Stmt { text, .. } | Line::Text { text, .. } => {
            super::tokens::defs_of(&tokens(text)).iter().any(|d| d == v)
        }
    }
}

/// Folds runs of two or more chained calls into loops; returns the new
/// lines and the number of loops.
pub fn fold(lines: Vec<Line>, outputs: &[String]) -> (Vec<Line>, usize) {
    let u = uses(&lines, outputs);
    // a loop variable no statement uses (`i` unless a binding has that name)
    let var = ["i", "k", "j", "n"]
        .into_iter()
        .map(String::from)
        .chain((2..).map(|k| format!("i{k}")))
        .find(|v| !u.contains_key(v) && !lines.iter().any(|l| defines(l, v)))
        .expect("an unused name");
    let mut out = Vec::new();
    let mut loops = 0;
    let mut i = 0;
    while i < lines.len() {
        let mut j = i + 1;
        if let Line::Call { block, args, .. } = &lines[i] {
            while let (
                Some(Line::Call {
                    block: b,
                    args: a,
                    input,
                    ..
                }),
                Line::Call { output: prev, .. },
            ) = (lines.get(j), &lines[j - 1])
            {
                if b != block || a != args || input != prev || u.get(prev) != Some(&1) {
                    break;
                }
                j += 1;
            }
        }
        // the longest prefix of the chain whose names count up
        while j - i >= 2 {
            let keys: Vec<&str> = lines[i..j]
                .iter()
                .map(|l| match l {
                    Line::Call { key, .. } => key.as_str(),
                    _ => "",
                })
                .collect();
            if let Some((template, first)) = counting(&keys) {
                let (
                    Line::Call {
                        block,
                        args,
                        input,
                        nodes,
                        ..
                    },
                    Line::Call { output, .. },
                ) = (&lines[i], &lines[j - 1])
                else {
                    unreachable!("a chain of calls")
                };
                let n = (j - i) as u64;
                out.push(Line::Text {
                    text: format!("let {output} = {input};"),
                    node: format!(
                        "{n} instances of `{block}` ({nodes} nodes each): {} … {}",
                        keys[0],
                        keys[keys.len() - 1]
                    ),
                });
                out.push(Line::Text {
                    text: format!(
                        "for {var} in {first}..{} {{\n        {output} = {};\n    }}",
                        first + n,
                        call_expr(
                            block,
                            output,
                            args,
                            &format!("\"{}\"", template.replace("{i}", &format!("{{{var}}}")))
                        )
                    ),
                    node: String::new(),
                });
                loops += 1;
                break;
            }
            j -= 1;
        }
        if j - i < 2 {
            out.push(lines[i].clone());
            i += 1;
        } else {
            i = j;
        }
    }
    (out, loops)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_names_that_count_up() {
        assert_eq!(
            counting(&["layer3.1", "layer3.2", "layer3.3"]),
            Some(("layer3.{i}".to_string(), 1))
        );
        assert_eq!(
            counting(&["features.9", "features.10"]),
            Some(("features.{i}".to_string(), 9))
        );
        assert_eq!(counting(&["layer3.1", "layer3.3"]), None);
        assert_eq!(counting(&["layer1.1", "layer2.2"]), None);
        assert_eq!(counting(&["a.01", "a.02"]), None);
    }

    fn call(input: &str, output: &str, key: &str, args: Vec<u64>) -> Line {
        Line::Call {
            block: "b".into(),
            input: input.into(),
            output: output.into(),
            args,
            key: key.into(),
            nodes: 3,
        }
    }

    #[test]
    fn chained_calls_become_a_loop() {
        let lines = vec![
            call("x", "a", "l.1", vec![8]),
            call("a", "b", "l.2", vec![8]),
            call("b", "c", "l.3", vec![8]),
            call("c", "d", "l.4", vec![16]),
        ];
        let (out, n) = fold(lines, &["d".into()]);
        assert_eq!(n, 1);
        let text: Vec<String> = out.iter().map(|l| l.render().0).collect();
        assert_eq!(text[0], "let c = x;");
        assert_eq!(
            text[1],
            "for i in 1..4 {\n        c = b(c, 8, name = \"l.{i}\");\n    }"
        );
        assert!(text[2].starts_with("let d = b(c, 16"), "{}", text[2]);
    }

    #[test]
    fn an_intermediate_used_elsewhere_stops_the_loop() {
        let lines = vec![
            call("x", "a", "l.1", vec![8]),
            call("a", "b", "l.2", vec![8]),
            Line::Stmt {
                text: "let y = a + b;".into(),
                node: "/add".into(),
            },
        ];
        let (out, n) = fold(lines.clone(), &["y".into()]);
        assert_eq!(n, 0);
        assert_eq!(out, lines);
    }
}
