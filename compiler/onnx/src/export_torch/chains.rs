//! How block instances are created and called: a chain of instances (each
//! taking the previous one's only output, used nowhere else) named
//! `P.0` … `P.n-1` that is all of `P` becomes one `nn.Sequential`
//! registered as `P` (its state_dict keys are `P.0.…`, unchanged); a chain
//! of instances of one class with the same arguments whose names count up
//! becomes a `for` loop; other instances are created and called one by one.

use super::classes::Classes;
use super::node::py_str;
use super::{Instance, Unit};
use nnc_ir::{Graph, NodeId};

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Step {
    Node(NodeId),
    Call {
        inst: usize,
    },
    /// Instances `members` (a chain), as `nn.Sequential` named `container`
    /// or as a loop over `template` (`layer1.{i}`) from `start`.
    Chain {
        first: usize,
        last: usize,
        members: Vec<usize>,
        container: Option<String>,
        template: String,
        start: u64,
    },
}

/// `P` and `k` of an instance named `P.k`.
fn split_index(name: &str) -> Option<(&str, u64)> {
    let (p, k) = name.rsplit_once('.')?;
    if k.is_empty() || !k.chars().all(|c| c.is_ascii_digit()) || (k.len() > 1 && k.starts_with('0'))
    {
        return None;
    }
    Some((p, k.parse().ok()?))
}

/// True when instance `b` takes exactly the single output of `a`, which
/// nothing else uses.
fn chained(g: &Graph, a: &Instance, b: &Instance) -> bool {
    let [out] = a.outputs[..] else { return false };
    b.inputs == [out]
        && b.outputs.len() == 1
        && !g.outputs.iter().any(|o| o.node == out)
        && g.users(out).iter().all(|u| b.nodes.contains(u))
}

pub(crate) fn plan(g: &Graph, units: &[Unit], insts: &[Instance], classes: &Classes) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut i = 0;
    while i < units.len() {
        let Unit::Inst(a) = units[i] else {
            if let Unit::Node(n) = units[i] {
                steps.push(Step::Node(n));
            }
            i += 1;
            continue;
        };
        // the maximal chain P.k, P.k+1, ... from here
        let mut members = vec![a];
        if let Some((p, k0)) = split_index(&insts[a].name) {
            if insts[a].inputs.len() == 1 && insts[a].outputs.len() == 1 {
                while let Some(Unit::Inst(b)) = units.get(i + members.len()) {
                    let prev = *members.last().expect("non-empty");
                    if split_index(&insts[*b].name) != Some((p, k0 + members.len() as u64))
                        || !chained(g, &insts[prev], &insts[*b])
                    {
                        break;
                    }
                    members.push(*b);
                }
            }
            if members.len() >= 2 {
                let whole = k0 == 0 && {
                    let under = format!("{p}.");
                    g.node_ids().all(|n| {
                        let nm = &g.node(n).name;
                        (!nm.starts_with(&under) && nm != p)
                            || members.iter().any(|&m| insts[m].nodes.contains(&n))
                    })
                };
                let same = members.iter().all(|&m| classes.of[m] == classes.of[a]);
                if whole || same {
                    steps.push(Step::Chain {
                        first: a,
                        last: *members.last().expect("non-empty"),
                        members: members.clone(),
                        container: whole.then(|| p.to_string()),
                        template: format!("{p}.{{i}}"),
                        start: k0,
                    });
                    i += members.len();
                    continue;
                }
            }
        }
        steps.push(Step::Call { inst: a });
        i += 1;
    }
    steps
}

fn ctor(classes: &Classes, m: usize) -> String {
    let (c, args) = &classes.of[m];
    let a: Vec<String> = args.iter().map(|v| v.to_string()).collect();
    format!("{c}({})", a.join(", "))
}

/// The `__init__` and forward lines of an instance step; `ins` are the
/// input expressions, `outs` the variables of its outputs.
pub(crate) fn render(
    step: &Step,
    insts: &[Instance],
    classes: &Classes,
    ins: &[String],
    outs: &[String],
) -> (Vec<String>, Vec<String>) {
    match step {
        Step::Node(_) => (Vec::new(), Vec::new()),
        Step::Call { inst } => {
            let i = &insts[*inst];
            (
                vec![format!(
                    "self._add({}, {})",
                    py_str(&i.name),
                    ctor(classes, *inst)
                )],
                vec![format!(
                    "{} = self._m[{}]({})  # block {}",
                    outs.join(", "),
                    py_str(&i.name),
                    ins.join(", "),
                    i.block
                )],
            )
        }
        Step::Chain {
            members,
            container: Some(p),
            ..
        } => {
            // runs of equal constructors as list comprehensions
            let mut items = Vec::new();
            let mut k = 0;
            while k < members.len() {
                let c = ctor(classes, members[k]);
                let mut n = 1;
                while k + n < members.len() && ctor(classes, members[k + n]) == c {
                    n += 1;
                }
                items.push(if n >= 2 {
                    format!("*[{c} for _ in range({n})]")
                } else {
                    c
                });
                k += n;
            }
            (
                vec![format!(
                    "self._add({}, nn.Sequential({}))",
                    py_str(p),
                    items.join(", ")
                )],
                vec![format!(
                    "{} = self._m[{}]({})  # {} blocks {}.0 … {}.{}",
                    outs[0],
                    py_str(p),
                    ins[0],
                    members.len(),
                    p,
                    p,
                    members.len() - 1
                )],
            )
        }
        Step::Chain {
            first,
            members,
            template,
            start,
            ..
        } => {
            let end = start + members.len() as u64;
            let name = format!("f{}", py_str(template));
            (
                vec![
                    format!("for i in range({start}, {end}):"),
                    format!("    self._add({name}, {})", ctor(classes, *first)),
                ],
                vec![
                    format!("{} = {}", outs[0], ins[0]),
                    format!(
                        "for i in range({start}, {end}):  # block {}",
                        insts[*first].block
                    ),
                    format!("    {} = self._m[{name}]({})", outs[0], outs[0]),
                ],
            )
        }
    }
}
