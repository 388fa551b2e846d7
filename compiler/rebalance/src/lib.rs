//! `nnc fix --rebalance`: rewrite the integer literals that set channel
//! widths so that the network's memory access cost (MAC) drops while its
//! mult-adds stay within a tolerance — ShuffleNet V2's guideline G1 applied
//! to a whole network.
//!
//! How it works:
//! 1. Elaborate the source; the elaborator's provenance table says, for every
//!    conv2d/linear, which integer literals its `out` width was computed from.
//!    Those literals are the variables. Widths that come from no literal
//!    (e.g. `channels(x)`) are reported as untraced (they follow other widths).
//! 2. A candidate assignment is evaluated by substituting the literals in the
//!    text and compiling again (parse, elaborate, analyze). This makes every
//!    constraint of the graph hold by construction: residual adds, concat and
//!    split, depthwise `groups`, the network's input and output shapes. A
//!    candidate is rejected if elaboration fails, if any output shape
//!    changes, or if the graph changes other than in channel widths (a
//!    literal that is also a loop bound or a kernel size shows up here, and
//!    is left alone), or if a width that was a multiple of the SIMD width no
//!    longer is.
//! 3. Search: deterministic local search from the original values, with
//!    paired multiplicative moves (one literal up by a factor, another down)
//!    that keep mult-adds roughly constant and single additive moves of one
//!    SIMD width, taking the feasible move with the lowest MAC each round,
//!    until no move improves or the evaluation budget is spent.
//! 4. Only the chosen literals are rewritten, byte for byte in place;
//!    comments and formatting are kept.

pub mod diff;

use nnc_analysis::Platform;
use nnc_diag::{Diagnostic, SourceFile, Span};
use nnc_elab::IntProv;
use nnc_ir::{Graph, Op};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Options of the pass.
#[derive(Clone, Debug)]
pub struct Options {
    pub network: Option<String>,
    /// Allowed relative change of total mult-adds (0.05 = 5%).
    pub tolerance: f64,
    /// f32 lanes of the target's vectors; widths are kept multiples of it.
    pub lanes: usize,
    /// Evaluation budget (compilations of candidates).
    pub max_evals: usize,
    /// Wall-clock budget.
    pub max_time: Duration,
    /// Platform for the predicted latency in the report.
    pub platform: Platform,
    /// Each literal stays within [original / max_ratio, original · max_ratio],
    /// so that the search balances widths instead of moving all capacity
    /// to another stage of the network.
    pub max_ratio: f64,
}

/// Whole-network figures of one version of the source.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Metrics {
    pub mult_adds: u64,
    pub mac: u64,
    pub params: u64,
    pub predicted_ms: f64,
}

/// One rewritten literal.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub span: Span,
    pub line: usize,
    pub col: usize,
    pub old: i64,
    pub new: i64,
}

/// A conv/linear width that could not be traced to a literal.
#[derive(Clone, Debug, PartialEq)]
pub struct Untraced {
    /// Weight names of the ops (one entry per source location).
    pub nodes: Vec<String>,
    pub span: Span,
    /// The argument as written.
    pub expr: String,
    pub reason: String,
}

/// The result of the pass.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub network: String,
    pub new_source: String,
    pub changes: Vec<Change>,
    pub before: Metrics,
    pub after: Metrics,
    /// Literals considered as variables (span, value).
    pub variables: Vec<(Span, i64)>,
    /// Literals traced from widths but left alone, with the reason.
    pub frozen: Vec<(Span, i64, String)>,
    pub untraced: Vec<Untraced>,
    pub evaluations: usize,
    pub hit_budget: bool,
}

/// Why the pass could not run: the source has errors (diagnostics to print).
#[derive(Debug)]
pub struct SourceErrors(pub Vec<Diagnostic>);

/// What the evaluator compares between candidates: per node, the op kind and
/// every dimension of its shape except channels; plus the output shapes.
#[derive(PartialEq, Eq, Debug)]
struct Signature {
    nodes: Vec<(&'static str, Vec<usize>)>,
    outputs: Vec<Vec<usize>>,
}

fn signature(g: &Graph) -> Signature {
    let nodes = g
        .node_ids()
        .map(|id| {
            let n = g.node(id);
            let mut dims = n.shape.clone();
            if dims.len() >= 2 {
                dims.remove(1); // channels / features may change
            }
            (n.op.name(), dims)
        })
        .collect();
    let outputs = g
        .outputs
        .iter()
        .map(|o| g.node(o.node).shape.clone())
        .collect();
    Signature { nodes, outputs }
}

/// Widths that must stay multiples of the SIMD width: the conv/linear output
/// widths that were multiples originally, by node position.
fn aligned_mask(g: &Graph, lanes: usize) -> Vec<bool> {
    g.node_ids()
        .map(|id| {
            let n = g.node(id);
            matches!(n.op, Op::Conv2d(_) | Op::Linear { .. })
                && n.shape.get(1).is_some_and(|&c| c % lanes == 0)
        })
        .collect()
}

struct Evaluator<'a> {
    text: &'a str,
    network: Option<&'a str>,
    platform: &'a Platform,
    vars: Vec<Span>,
    sig: Signature,
    aligned: Vec<bool>,
    lanes: usize,
    evals: usize,
    cache: BTreeMap<Vec<i64>, Result<Metrics, Reject>>,
}

/// Why a candidate assignment is infeasible.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reject {
    /// A width is not positive.
    NonPositive,
    /// The program no longer elaborates (a shape constraint such as a
    /// residual add or a split breaks).
    Constraint,
    /// A network output's shape changes.
    OutputShape,
    /// The graph changes other than in channel widths.
    Structure,
    /// A width that was a multiple of the SIMD width is no longer one.
    Alignment,
}

impl Reject {
    fn why(self) -> &'static str {
        match self {
            Reject::NonPositive => "no positive value is feasible",
            Reject::Constraint => "changing it breaks a shape constraint (a residual add, concat or split, groups)",
            Reject::OutputShape => "it sets the shape of a network output",
            Reject::Structure => "it also sets something other than a channel width (a loop bound, a kernel size, ...)",
            Reject::Alignment => "changing it makes a SIMD-aligned width unaligned",
        }
    }
}

/// Substitutes literal values into the text (spans sorted, non-overlapping).
fn substitute(text: &str, vars: &[Span], values: &[i64]) -> String {
    let mut pairs: Vec<(Span, i64)> = vars.iter().copied().zip(values.iter().copied()).collect();
    pairs.sort_by_key(|(s, _)| s.start);
    let mut out = String::with_capacity(text.len() + 16);
    let mut at = 0usize;
    for (s, v) in pairs {
        let (a, b) = (s.start as usize, s.end as usize);
        if a < at || b > text.len() {
            continue;
        }
        out.push_str(&text[at..a]);
        out.push_str(&v.to_string());
        at = b;
    }
    out.push_str(&text[at..]);
    out
}

fn metrics_of(g: &Graph, platform: &Platform) -> Option<Metrics> {
    let a = nnc_analysis::analyze(g, platform).ok()?;
    Some(Metrics {
        mult_adds: a.totals.cost.mult_adds,
        mac: a.totals.cost.mac,
        params: a.totals.cost.params,
        predicted_ms: a.totals.predicted_ms,
    })
}

impl Evaluator<'_> {
    fn eval(&mut self, values: &[i64]) -> Option<Metrics> {
        self.try_eval(values).ok()
    }

    fn try_eval(&mut self, values: &[i64]) -> Result<Metrics, Reject> {
        if let Some(m) = self.cache.get(values) {
            return *m;
        }
        self.evals += 1;
        let m = self.eval_uncached(values);
        self.cache.insert(values.to_vec(), m);
        m
    }

    fn eval_uncached(&self, values: &[i64]) -> Result<Metrics, Reject> {
        if values.iter().any(|&v| v <= 0) {
            return Err(Reject::NonPositive);
        }
        let src = substitute(self.text, &self.vars, values);
        let (file, diags) = nnc_syntax::parse(&src);
        if diags.iter().any(|d| d.is_error()) {
            return Err(Reject::Constraint);
        }
        let el = nnc_elab::elaborate(&file, self.network);
        if el.has_errors() {
            return Err(Reject::Constraint);
        }
        let g = el.graph.ok_or(Reject::Constraint)?;
        let sig = signature(&g);
        if sig.nodes != self.sig.nodes {
            return Err(Reject::Structure);
        }
        if sig.outputs != self.sig.outputs {
            return Err(Reject::OutputShape);
        }
        let mask = aligned_mask(&g, 1);
        for (i, id) in g.node_ids().enumerate() {
            if self.aligned.get(i).copied().unwrap_or(false) && mask[i] {
                let c = g.node(id).shape[1];
                if c % self.lanes != 0 {
                    return Err(Reject::Alignment);
                }
            }
        }
        metrics_of(&g, self.platform).ok_or(Reject::Constraint)
    }
}

fn describe_opaque(expr: &str) -> String {
    if expr.contains("channels(")
        || expr.contains("shape(")
        || expr.contains("width(")
        || expr.contains("height(")
    {
        "depends on a tensor's shape: it follows the widths that set that tensor".into()
    } else if expr.contains("len(") {
        "depends on the length of a list".into()
    } else {
        "not a literal: it comes from a shape query (e.g. `channels(x)`), a loop variable or a list length, so it follows the widths that set it".into()
    }
}

/// Compiles `text` and returns its graph, provenance and metrics, or the errors.
fn compile(text: &str, network: Option<&str>) -> Result<nnc_elab::Elaborated, SourceErrors> {
    let (file, diags) = nnc_syntax::parse(text);
    if diags.iter().any(|d| d.is_error()) {
        return Err(SourceErrors(diags));
    }
    let el = nnc_elab::elaborate(&file, network);
    if el.has_errors() || el.graph.is_none() {
        return Err(SourceErrors(el.diagnostics));
    }
    Ok(el)
}

/// Runs the pass on a source text.
pub fn rebalance(name: &str, text: &str, opts: &Options) -> Result<Outcome, SourceErrors> {
    let src = SourceFile::new(name, text);
    let el = compile(text, opts.network.as_deref())?;
    let g = el.graph.as_ref().expect("checked by compile");
    let network = g.name.clone();
    let before = metrics_of(g, &opts.platform).ok_or_else(|| SourceErrors(Vec::new()))?;
    let lanes = opts.lanes.max(1);

    // 1. variables and untraced widths
    let mut lits: BTreeMap<Span, i64> = BTreeMap::new();
    let mut untraced: BTreeMap<Span, Untraced> = BTreeMap::new();
    let mut in_groups: Vec<Span> = Vec::new();
    for op in &el.provenance.ops {
        let mut found = Vec::new();
        collect_lits(&op.out.prov, &mut found);
        for (s, v) in &found {
            lits.insert(*s, *v);
        }
        if found.is_empty() || op.out.prov.has_opaque() {
            let expr = src.slice(op.out.span).to_string();
            let e = untraced.entry(op.out.span).or_insert_with(|| Untraced {
                nodes: Vec::new(),
                span: op.out.span,
                reason: describe_opaque(&expr),
                expr,
            });
            if g.contains(op.node) {
                e.nodes.push(g.node(op.node).name.clone());
            }
        }
        if let Some(gr) = &op.groups {
            let mut gl = Vec::new();
            collect_lits(&gr.prov, &mut gl);
            in_groups.extend(gl.into_iter().map(|(s, _)| s));
        }
    }
    let mut frozen = Vec::new();
    let mut vars: Vec<(Span, i64)> = Vec::new();
    for (s, v) in lits {
        if is_factor(v, opts.lanes.max(1)) {
            frozen.push((
                s,
                v,
                "a small factor (e.g. an expansion ratio), not a width: an architecture choice"
                    .to_string(),
            ));
        } else if in_groups.contains(&s) {
            frozen.push((s, v, "also sets a `groups` argument".to_string()));
        } else {
            vars.push((s, v));
        }
    }
    let sig = signature(g);
    let aligned = aligned_mask(g, lanes);
    let mut ev = Evaluator {
        text,
        network: opts.network.as_deref(),
        platform: &opts.platform,
        vars: vars.iter().map(|(s, _)| *s).collect(),
        sig,
        aligned,
        lanes,
        evals: 0,
        cache: BTreeMap::new(),
    };
    let orig: Vec<i64> = vars.iter().map(|(_, v)| *v).collect();
    // A variable is frozen if moving it alone changes the graph's structure
    // (it is also a loop bound, a kernel size, ...): probe +step and -step.
    let mut free = vec![true; orig.len()];
    for i in 0..orig.len() {
        let step = step_of(orig[i], lanes);
        let mut ok = false;
        let mut reason = Reject::Constraint;
        for d in [step, -step] {
            let mut v = orig.clone();
            v[i] += d;
            match ev.try_eval(&v) {
                Ok(_) => {
                    ok = true;
                    break;
                }
                Err(r) => reason = r,
            }
        }
        if !ok {
            // it may still be usable in pairs (tied widths): keep it free only
            // if some pair move with another variable is feasible
            let mut pair_ok = false;
            'outer: for j in 0..orig.len() {
                if j == i {
                    continue;
                }
                for (a, b) in [(1, 1), (1, -1), (-1, 1), (-1, -1)] {
                    let mut v = orig.clone();
                    v[i] += a * step;
                    v[j] += b * step_of(orig[j], lanes);
                    if ev.eval(&v).is_some() {
                        pair_ok = true;
                        break 'outer;
                    }
                }
            }
            if !pair_ok {
                free[i] = false;
                frozen.push((vars[i].0, orig[i], reason.why().into()));
            }
        }
    }

    // 2. search
    let start = Instant::now();
    let lo = before.mult_adds as f64 * (1.0 - opts.tolerance);
    let hi = before.mult_adds as f64 * (1.0 + opts.tolerance);
    let within = |m: &Metrics| (m.mult_adds as f64) >= lo && (m.mult_adds as f64) <= hi;
    let mut cur = orig.clone();
    let mut cur_m = before;
    let mut hit_budget = false;
    'search: loop {
        let mut best: Option<(Vec<i64>, Metrics)> = None;
        let consider =
            |cand: Vec<i64>, ev: &mut Evaluator, best: &mut Option<(Vec<i64>, Metrics)>| {
                if cand == cur {
                    return;
                }
                if let Some(m) = ev.eval(&cand) {
                    if within(&m)
                        && m.mac < cur_m.mac
                        && best.as_ref().is_none_or(|(_, b)| m.mac < b.mac)
                    {
                        *best = Some((cand, m));
                    }
                }
            };
        let idx: Vec<usize> = (0..cur.len()).filter(|&i| free[i]).collect();
        // paired moves: one literal a few steps up or down, another scaled to
        // keep the product (and so roughly the mult-adds), and its neighbours
        for &i in &idx {
            let si = step_of(orig[i], lanes);
            for k in [1i64, -1, 2, -2, 4, -4] {
                let ni = cur[i] + k * si;
                if ni <= 0 {
                    continue;
                }
                for &j in &idx {
                    if i == j {
                        continue;
                    }
                    let sj = step_of(orig[j], lanes);
                    let base =
                        round_step(cur[j] as f64 * cur[i] as f64 / ni as f64, orig[j], lanes);
                    for nj in [base, base - sj, base + sj] {
                        if nj <= 0 {
                            continue;
                        }
                        let mut c = cur.clone();
                        c[i] = ni;
                        c[j] = nj;
                        consider(c, &mut ev, &mut best);
                    }
                }
                if ev.evals >= opts.max_evals || start.elapsed() > opts.max_time {
                    hit_budget = true;
                    break 'search;
                }
            }
        }
        // single additive moves
        for &i in &idx {
            let s = step_of(orig[i], lanes);
            for d in [s, -s, 2 * s, -2 * s] {
                let mut c = cur.clone();
                c[i] += d;
                consider(c, &mut ev, &mut best);
            }
            if ev.evals >= opts.max_evals || start.elapsed() > opts.max_time {
                hit_budget = true;
                break 'search;
            }
        }
        match best {
            Some((c, m)) => {
                cur = c;
                cur_m = m;
            }
            None => break,
        }
    }

    // 3. result
    let mut changes = Vec::new();
    for (i, (s, old)) in vars.iter().enumerate() {
        if cur[i] != *old {
            let (line, col) = src.line_col(s.start as usize);
            changes.push(Change {
                span: *s,
                line,
                col,
                old: *old,
                new: cur[i],
            });
        }
    }
    let new_source = substitute(text, &ev.vars, &cur);
    Ok(Outcome {
        network,
        new_source,
        changes,
        before,
        after: cur_m,
        variables: vars,
        frozen,
        untraced: untraced.into_values().collect(),
        evaluations: ev.evals,
        hit_budget,
    })
}

fn collect_lits(p: &IntProv, out: &mut Vec<(Span, i64)>) {
    let mut stack = vec![p];
    while let Some(p) = stack.pop() {
        match p {
            IntProv::Lit { span, value } => out.push((*span, *value)),
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

/// A literal too small to be a channel width: a multiplier such as the
/// expansion ratio of a bottleneck (left alone: changing it changes the
/// architecture, not its balance).
fn is_factor(v: i64, lanes: usize) -> bool {
    v < 2 * lanes as i64 && v % lanes as i64 != 0
}

/// The step of a literal: one SIMD width for widths, 1 for small factors
/// (an expansion ratio like 4 or 6).
fn step_of(v: i64, lanes: usize) -> i64 {
    let lanes = lanes as i64;
    if v >= 2 * lanes || v % lanes == 0 {
        lanes
    } else {
        1
    }
}

/// Rounds a scaled value to the literal's step (at least one step).
fn round_step(x: f64, orig: i64, lanes: usize) -> i64 {
    let s = step_of(orig, lanes) as f64;
    ((x / s).round().max(1.0) * s) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitution_keeps_everything_else() {
        let t = "let a = 52; // c1\nlet b = 312;\n";
        let s = substitute(t, &[Span::new(8, 10), Span::new(26, 29)], &[128, 128]);
        assert_eq!(s, "let a = 128; // c1\nlet b = 128;\n");
    }

    #[test]
    fn rounding() {
        assert_eq!(round_step(130.0, 52, 8), 128);
        assert_eq!(round_step(3.0, 52, 8), 8);
        assert_eq!(round_step(4.4, 4, 8), 4);
        assert_eq!(step_of(6, 8), 1);
        assert_eq!(step_of(64, 8), 8);
    }
}
