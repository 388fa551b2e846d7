//! `nnc fix --rebalance`: rewrite the integer literals that set channel
//! widths so that the network's memory access cost (MAC) drops while its
//! mult-adds stay within a tolerance — ShuffleNet V2's guideline G1 applied
//! to a whole network.
//!
//! How it works:
//! 1. Elaborate the source; the elaborator's provenance table says, for every
//!    conv2d/linear, which integer literals its `out` width was computed from
//!    (through `let`s, lists, block arguments and arithmetic). Those literals
//!    are the variables. Widths that come from no literal (e.g.
//!    `channels(x)`) are reported as untraced (they follow other widths).
//!    Small factors (an expansion ratio of 4 or 6) are left alone.
//! 2. A candidate assignment is evaluated by substituting the literals in the
//!    text and compiling again (parse, elaborate, analyze). This makes every
//!    constraint of the graph hold by construction: residual adds, concat and
//!    split, depthwise `groups`. A candidate is rejected if elaboration
//!    fails, if a network input or output shape changes, if the graph
//!    changes other than in channel widths (node count, names, edges,
//!    kernel sizes, strides, paddings, group counts, spatial sizes), or if
//!    a width that was a multiple of the SIMD width no longer is. A literal
//!    that no one-step move can change (it is also a loop bound, a kernel
//!    size, an input width, ...) is left alone and reported with the reason.
//! 3. Search ([`search`]): deterministic local search from the original
//!    values, guided by measured sensitivities, over multiples of the SIMD
//!    width within `[v / max_ratio, v · max_ratio]` of each original value,
//!    minimizing MAC · (F₀/F)^β with the mult-adds F within the tolerance of
//!    the original F₀ (β: how MAC scales with mult-adds when all widths grow
//!    together, so that only changes of shape pay).
//! 4. Only the chosen literals are rewritten, byte for byte in place;
//!    comments and formatting are kept.

pub mod diff;
mod eval;
mod search;

use eval::{aligned_mask, metrics_of, signature, substitute, Evaluator, Reject};
use nnc_analysis::Platform;
use nnc_diag::{Diagnostic, SourceFile, Span};
use nnc_elab::IntProv;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Options of the pass.
#[derive(Clone, Debug)]
pub struct Options {
    /// The network to rebalance (None: the only or last one of the file,
    /// as for every command).
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
    /// Minimize this predicted latency instead of MAC (`--objective latency`).
    pub latency: Option<LatencyFn>,
    /// With a latency objective, the smallest predicted gain (0.03 = 3%)
    /// worth a rewrite: below it the source is left as it is, since the
    /// model's own error is of that order.
    pub min_gain: f64,
}

impl Options {
    /// The defaults of `nnc fix --rebalance` on a platform: ±5% mult-adds,
    /// 8 lanes (AVX2), ratio bound 2, at most 4000 compilations or 60 s.
    pub fn new(platform: Platform) -> Options {
        Options {
            network: None,
            tolerance: 0.05,
            lanes: 8,
            max_evals: 4000,
            max_time: Duration::from_secs(60),
            platform,
            max_ratio: 2.0,
            latency: None,
            min_gain: 0.03,
        }
    }
}

/// Whole-network figures of one version of the source.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Metrics {
    /// Total multiply-accumulates.
    pub mult_adds: u64,
    /// Total memory access cost, in elements.
    pub mac: u64,
    /// Total parameters.
    pub params: u64,
    /// Predicted latency on the options' platform: the latency function's
    /// (the calibrated model of the executed plan) when there is one, else
    /// the roofline per node.
    pub predicted_ms: f64,
    /// What the search minimizes: `predicted_ms` with a latency function,
    /// else `mac`.
    pub cost: f64,
}

/// The predicted latency of a graph, ms (None: cannot be priced). Given by
/// the driver, which knows the executed plan and the calibrated model.
#[derive(Clone)]
pub struct LatencyFn(pub std::sync::Arc<PriceGraph>);

/// The function behind a [`LatencyFn`].
pub type PriceGraph = dyn Fn(&nnc_ir::Graph) -> Option<f64> + Send + Sync;

impl std::fmt::Debug for LatencyFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LatencyFn")
    }
}

/// One rewritten literal.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// The literal in the original text.
    pub span: Span,
    /// 1-based line and column of the literal.
    pub line: usize,
    pub col: usize,
    /// Original and new value.
    pub old: i64,
    pub new: i64,
    /// True if the new value is at the `max_ratio` bound (one more step in
    /// the direction it moved would leave it).
    pub at_bound: bool,
}

/// A conv/linear width that could not be traced to a literal.
#[derive(Clone, Debug, PartialEq)]
pub struct Untraced {
    /// Weight names of the ops (one entry per source location).
    pub nodes: Vec<String>,
    /// The `out` argument.
    pub span: Span,
    /// The argument as written.
    pub expr: String,
    /// Why it is not a literal.
    pub reason: String,
}

/// The result of the pass.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The network that was rebalanced.
    pub network: String,
    /// The rewritten text (equal to the input when nothing changed).
    pub new_source: String,
    /// The rewritten literals, in source order.
    pub changes: Vec<Change>,
    /// Figures of the original and of the rewritten source.
    pub before: Metrics,
    pub after: Metrics,
    /// Literals considered as variables (span, value).
    pub variables: Vec<(Span, i64)>,
    /// Literals traced from widths but left alone, with the reason.
    pub frozen: Vec<(Span, i64, String)>,
    /// Conv/linear widths that come from no literal.
    pub untraced: Vec<Untraced>,
    /// Candidate networks compiled.
    pub evaluations: usize,
    /// Rounds of the search (moves taken + 1 for the final check).
    pub rounds: usize,
    /// True if the search stopped at its evaluation or time budget.
    pub hit_budget: bool,
    /// β of the objective MAC · (F₀/F)^β: d ln MAC / d ln mult-adds when
    /// every free literal grows by the same factor, measured at the start.
    pub scaling_exponent: f64,
    /// With a latency objective: the predicted relative gain of the best
    /// candidate when it was below `Options::min_gain` (nothing rewritten).
    pub small_gain: Option<f64>,
}

/// Why the pass could not run: the source has errors (diagnostics to print).
#[derive(Debug)]
pub struct SourceErrors(pub Vec<Diagnostic>);

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
    let started = Instant::now();
    let src = SourceFile::new(name, text);
    let el = compile(text, opts.network.as_deref())?;
    let g = el.graph.as_ref().expect("checked by compile");
    let network = g.name.clone();
    let before = metrics_of(g, &opts.platform, opts.latency.as_ref())
        .ok_or_else(|| SourceErrors(Vec::new()))?;
    let lanes = opts.lanes.max(1);

    // 1. variables and untraced widths
    let mut lits: BTreeMap<Span, i64> = BTreeMap::new();
    let mut untraced: BTreeMap<Span, Untraced> = BTreeMap::new();
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
        } else {
            vars.push((s, v));
        }
    }
    let sig = signature(g);
    let aligned = aligned_mask(g, lanes);
    let ratio = if opts.max_ratio.is_finite() && opts.max_ratio >= 1.0 {
        opts.max_ratio
    } else {
        1.0
    };
    let orig: Vec<i64> = vars.iter().map(|(_, v)| *v).collect();
    let steps: Vec<i64> = orig.iter().map(|&v| step_of(v, lanes)).collect();
    let (lo, hi) = bounds(&orig, &steps, ratio);
    let mut ev = Evaluator {
        text,
        network: opts.network.as_deref(),
        platform: &opts.platform,
        latency: opts.latency.as_ref(),
        vars: vars.iter().map(|(s, _)| *s).collect(),
        sig,
        aligned,
        lanes,
        orig: orig.clone(),
        steps: steps.clone(),
        lo: lo.clone(),
        hi: hi.clone(),
        evals: 0,
        cache: BTreeMap::new(),
        deadline: started + opts.max_time,
        out_of_time: false,
    };
    // A literal is left alone if no one-step move of it alone is feasible
    // (it sets an input or output shape, a loop bound, a kernel size, ...)
    // unless some compensated pair move with another literal is (tied
    // widths, e.g. two literals that meet at a residual add).
    let mut free = vec![true; orig.len()];
    let mut stuck: Vec<(usize, Reject)> = Vec::new();
    for (i, f) in free.iter_mut().enumerate() {
        if ev.out_of_time {
            // stopped at the budget: the rest stays as written
            *f = false;
            frozen.push((vars[i].0, orig[i], Reject::Budget.why().to_string()));
            continue;
        }
        if let Err(r) = search::probe(&mut ev, &orig, i, steps[i]) {
            *f = false;
            if r == Reject::Budget {
                frozen.push((vars[i].0, orig[i], r.why().to_string()));
            } else {
                stuck.push((i, r));
            }
        }
    }
    for &(i, r) in &stuck {
        let pair_ok = (0..orig.len()).filter(|&j| j != i).any(|j| {
            !ev.out_of_time && search::probe_pair(&mut ev, &orig, i, j, steps[i], steps[j])
        });
        if pair_ok {
            free[i] = true;
        } else {
            frozen.push((vars[i].0, orig[i], r.why().to_string()));
        }
    }
    frozen.sort_by_key(|(s, _, _)| s.start);

    // 2. search
    let setup = search::Setup {
        free: &free,
        steps: &steps,
        f0: before.mult_adds as f64,
        tolerance: opts.tolerance,
        max_evals: opts.max_evals,
        max_time: opts.max_time,
    };
    let mut found = search::search(&mut ev, &setup, &orig, before);
    // a predicted gain within the model's error is no reason to rewrite
    let mut small_gain = None;
    if opts.latency.is_some() && found.values != orig {
        let gain = 1.0 - found.metrics.predicted_ms / before.predicted_ms.max(1e-12);
        if gain < opts.min_gain {
            small_gain = Some(gain);
            found.values = orig.clone();
            found.metrics = before;
        }
    }

    // 3. result
    let mut changes = Vec::new();
    for (i, (s, old)) in vars.iter().enumerate() {
        let new = found.values[i];
        if new != *old {
            let (line, col) = src.line_col(s.start as usize);
            let next_out = if new > *old {
                new.checked_add(steps[i]).is_none_or(|v| v > hi[i])
            } else {
                new.checked_sub(steps[i]).is_none_or(|v| v < lo[i].max(1))
            };
            changes.push(Change {
                span: *s,
                line,
                col,
                old: *old,
                new,
                at_bound: next_out,
            });
        }
    }
    let new_source = substitute(text, &ev.vars, &found.values);
    Ok(Outcome {
        network,
        new_source,
        changes,
        before,
        after: found.metrics,
        variables: vars,
        frozen,
        untraced: untraced.into_values().collect(),
        evaluations: ev.evals,
        rounds: found.rounds,
        hit_budget: found.hit_budget || ev.out_of_time,
        scaling_exponent: found.beta,
        small_gain,
    })
}

/// Inclusive bounds of each literal: the multiples of its step within
/// `[v / r, v · r]` (the original value itself is always allowed, and may
/// lie outside them when it is not a multiple).
fn bounds(orig: &[i64], steps: &[i64], r: f64) -> (Vec<i64>, Vec<i64>) {
    let lo = orig
        .iter()
        .zip(steps)
        .map(|(&v, &s)| {
            let l = ((v as f64 / r) - 1e-9).ceil().max(1.0) as i64;
            (l + s - 1).div_euclid(s).max(1) * s
        })
        .collect();
    let hi = orig
        .iter()
        .zip(steps)
        .map(|(&v, &s)| {
            let h = (v as f64 * r + 1e-9).floor();
            let h = if h >= (i64::MAX / 4) as f64 {
                i64::MAX / 4
            } else {
                h as i64
            };
            h.div_euclid(s) * s
        })
        .collect();
    (lo, hi)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_and_bounds() {
        assert_eq!(step_of(6, 8), 1);
        assert_eq!(step_of(64, 8), 8);
        assert_eq!(step_of(52, 8), 8);
        assert!(is_factor(4, 8));
        assert!(!is_factor(16, 8));
        assert_eq!(
            bounds(&[64, 52, 116], &[8, 8, 8], 2.0),
            (vec![32, 32, 64], vec![128, 104, 232])
        );
        assert_eq!(bounds(&[64], &[8], 1.0), (vec![64], vec![64]));
        assert_eq!(bounds(&[52], &[8], 1.0), (vec![56], vec![48]));
    }
}
