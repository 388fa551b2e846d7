//! The search over width literals: a deterministic local search guided by
//! measured sensitivities.
//!
//! Every round measures, for each free literal, the elasticities of the
//! network's mult-adds and MAC (d ln F / d ln x, d ln MAC / d ln x) by moving
//! it one SIMD width up and down. Those predict, for a move of one literal by
//! k SIMD widths, how far another literal must move the other way to bring
//! the mult-adds back to the original, and how much MAC the pair would save.
//! The candidates (pairs and singles, k up to 32) are compiled in the order
//! of their predicted objective and the first real improvement is taken
//! (large, promising steps first: a backtracking line search). When the
//! model finds nothing, the whole one-step neighbourhood (every single and
//! every compensated pair) is tried before stopping, so the result is a
//! local optimum for one-step moves.
//!
//! The objective is C · (F₀ / F)^β, where the cost C is the MAC (`--objective
//! mac`) or the predicted latency on the platform (the default); below it is
//! called MAC for short. It is MAC · (F₀ / F)^β among candidates whose mult-adds F are
//! within the tolerance of the original F₀, where β = Σ e_MAC / Σ e_F at
//! the start (clamped to [0, 1]) is how MAC grows with mult-adds when every
//! width grows by the same factor. It is MAC normalized to the original
//! mult-adds along the network's own scaling law: merely shrinking (or
//! growing) the network inside the tolerance gains nothing to first order,
//! so what the search finds is a change of shape — the balance of widths.

use crate::eval::{Evaluator, Reject};
use crate::Metrics;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// Step multiples tried by the model-guided moves.
const KS: [i64; 10] = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32];

/// What the search found.
pub(crate) struct Found {
    pub values: Vec<i64>,
    pub metrics: Metrics,
    pub rounds: usize,
    pub hit_budget: bool,
    /// The normalization exponent used.
    pub beta: f64,
}

/// Limits and constants of one search.
pub(crate) struct Setup<'s> {
    pub free: &'s [bool],
    pub steps: &'s [i64],
    pub f0: f64,
    pub tolerance: f64,
    pub max_evals: usize,
    pub max_time: Duration,
}

/// Elasticities of mult-adds and MAC at a point for one literal.
#[derive(Clone, Copy, Debug)]
struct Sens {
    ef: f64,
    em: f64,
}

/// One candidate move with its predicted ln(objective).
struct Cand {
    values: Vec<i64>,
    pred: f64,
}

/// The next multiple of `s` `k` steps above `v` (v itself off the lattice
/// counts as between two multiples).
fn up(v: i64, k: i64, s: i64) -> Option<i64> {
    v.div_euclid(s).checked_add(k)?.checked_mul(s)
}

/// The multiple of `s` `k` steps below `v`.
fn down(v: i64, k: i64, s: i64) -> Option<i64> {
    let c = v.checked_add(s - 1)?.div_euclid(s);
    c.checked_sub(k)?.checked_mul(s)
}

/// `x` rounded to a multiple of `s`, at least `s`.
fn round_to(x: f64, s: i64) -> i64 {
    let q = (x / s as f64).round();
    if !q.is_finite() || q < 1.0 {
        s
    } else if q > (i64::MAX / s / 2) as f64 {
        i64::MAX / 2 / s * s
    } else {
        q as i64 * s
    }
}

struct Searcher<'e, 'a, 's> {
    ev: &'e mut Evaluator<'a>,
    st: &'s Setup<'s>,
    start: Instant,
    /// Exponent of the mult-adds normalization of MAC (see [`search`]).
    beta: f64,
}

impl Searcher<'_, '_, '_> {
    fn out_of_budget(&self) -> bool {
        self.ev.evals >= self.st.max_evals
            || self.ev.out_of_time
            || self.start.elapsed() > self.st.max_time
    }

    fn within(&self, m: &Metrics) -> bool {
        let f = m.mult_adds as f64;
        f >= self.st.f0 * (1.0 - self.st.tolerance) && f <= self.st.f0 * (1.0 + self.st.tolerance)
    }

    /// The objective of a feasible candidate within the tolerance.
    fn objective(&self, m: &Metrics) -> Option<f64> {
        if !self.within(m) {
            return None;
        }
        let f = (m.mult_adds as f64).max(1.0);
        Some(m.cost * (self.st.f0.max(1.0) / f).powf(self.beta))
    }

    /// Elasticities of F and MAC in literal `i` at `cur`, by one-step
    /// moves up and down (one-sided where one side is infeasible).
    fn sensitivity(&mut self, cur: &[i64], cur_m: &Metrics, i: usize) -> Option<Sens> {
        let s = self.st.steps[i];
        let mut pts: Vec<(f64, Metrics)> = Vec::new();
        for v in [down(cur[i], 1, s), up(cur[i], 1, s)].into_iter().flatten() {
            let mut c = cur.to_vec();
            c[i] = v;
            if let Ok(m) = self.ev.try_eval(&c) {
                pts.push((v as f64, m));
            }
        }
        let (a, b) = match pts.as_slice() {
            [] => return None,
            [p] => ((cur[i] as f64, *cur_m), *p),
            [p, q, ..] => (*p, *q),
        };
        let dx = (b.0 / a.0).ln();
        if dx == 0.0 || !dx.is_finite() {
            return None;
        }
        let lf = |m: &Metrics| (m.mult_adds.max(1) as f64).ln();
        let lm = |m: &Metrics| m.cost.max(1e-12).ln();
        Some(Sens {
            ef: (lf(&b.1) - lf(&a.1)) / dx,
            em: (lm(&b.1) - lm(&a.1)) / dx,
        })
    }

    /// Predicted ln(objective) of moving from `cur` to `cand`; candidates
    /// predicted outside the tolerance get a large penalty (they stay in
    /// the list, at the end).
    fn predict(&self, cur: &[i64], cur_m: &Metrics, sens: &[Option<Sens>], cand: &[i64]) -> f64 {
        let (mut dlf, mut dlm) = (0.0, 0.0);
        for i in 0..cur.len() {
            if cand[i] != cur[i] {
                let r = (cand[i] as f64 / cur[i] as f64).ln();
                let s = sens[i].unwrap_or(Sens { ef: 1.0, em: 0.5 });
                dlf += s.ef * r;
                dlm += s.em * r;
            }
        }
        let lf = (cur_m.mult_adds.max(1) as f64).ln() + dlf;
        let lf0 = self.st.f0.max(1.0).ln();
        let mut p = cur_m.cost.max(1e-12).ln() + dlm + self.beta * (lf0 - lf);
        if (lf - lf0).abs() > (1.0 + self.st.tolerance).ln() {
            p += 100.0;
        }
        p
    }

    /// The value of `j` that compensates `i` moving to `ni`, aiming at the
    /// original mult-adds.
    fn compensate(
        &self,
        cur: &[i64],
        cur_m: &Metrics,
        sens: &[Option<Sens>],
        i: usize,
        ni: i64,
        j: usize,
    ) -> Option<i64> {
        let ei = sens[i].map_or(1.0, |s| s.ef);
        let ej = sens[j].map_or(1.0, |s| s.ef);
        if ej.abs() < 1e-6 || !ej.is_finite() || !ei.is_finite() {
            return None;
        }
        let r = (ni as f64 / cur[i] as f64).ln();
        let back = (self.st.f0.max(1.0) / (cur_m.mult_adds.max(1) as f64)).ln();
        let lj = (cur[j] as f64).ln() - r * ei / ej + back / ej;
        Some(round_to(lj.exp(), self.st.steps[j]))
    }

    /// Candidates: singles by `ks` steps and pairs compensated for F.
    fn candidates(
        &self,
        cur: &[i64],
        cur_m: &Metrics,
        sens: &[Option<Sens>],
        ks: &[i64],
        pair_variants: &[i64],
    ) -> Vec<Cand> {
        let n = cur.len();
        let mut seen: BTreeSet<Vec<i64>> = BTreeSet::new();
        let mut out = Vec::new();
        let mut push = |v: Vec<i64>, out: &mut Vec<Cand>| {
            if v.as_slice() != cur && seen.insert(v.clone()) {
                let pred = self.predict(cur, cur_m, sens, &v);
                out.push(Cand { values: v, pred });
            }
        };
        for i in (0..n).filter(|&i| self.st.free[i]) {
            let s = self.st.steps[i];
            for &k in ks {
                for ni in [up(cur[i], k, s), down(cur[i], k, s)].into_iter().flatten() {
                    if ni <= 0 || ni < self.ev.lo[i] || ni > self.ev.hi[i] {
                        continue;
                    }
                    let mut single = cur.to_vec();
                    single[i] = ni;
                    push(single, &mut out);
                    for j in (0..n)
                        .filter(|&j| j != i && self.st.free[j] && self.ev.lo[j] <= self.ev.hi[j])
                    {
                        let Some(base) = self.compensate(cur, cur_m, sens, i, ni, j) else {
                            continue;
                        };
                        for &d in pair_variants {
                            let nj = base.saturating_add(d.saturating_mul(self.st.steps[j]));
                            let nj = nj.clamp(self.ev.lo[j], self.ev.hi[j]);
                            if nj <= 0 || nj == cur[j] {
                                continue;
                            }
                            let mut c = cur.to_vec();
                            c[i] = ni;
                            c[j] = nj;
                            push(c, &mut out);
                        }
                    }
                }
            }
        }
        // best prediction first; ties keep generation order (deterministic)
        out.sort_by(|a, b| a.pred.total_cmp(&b.pred));
        out
    }

    /// Compiles candidates in order and returns the first that improves on
    /// `cur_obj`. At most `cap` new compilations (None: no cap).
    fn first_improvement(
        &mut self,
        cands: Vec<Cand>,
        cur_obj: f64,
        cap: Option<usize>,
        only_predicted_better: bool,
        cur_pred: f64,
    ) -> Option<(Vec<i64>, Metrics, f64)> {
        let mut fresh = 0usize;
        for c in cands {
            if only_predicted_better && c.pred >= cur_pred {
                break;
            }
            if cap.is_some_and(|cap| fresh >= cap) || self.out_of_budget() {
                return None;
            }
            if !self.ev.is_cached(&c.values) {
                fresh += 1;
            }
            let Ok(m) = self.ev.try_eval(&c.values) else {
                continue;
            };
            if let Some(o) = self.objective(&m) {
                if o < cur_obj {
                    return Some((c.values, m, o));
                }
            }
        }
        None
    }
}

/// Runs the search from `start` (whose metrics are `start_m`).
pub(crate) fn search(ev: &mut Evaluator, st: &Setup, start: &[i64], start_m: Metrics) -> Found {
    let mut s = Searcher {
        ev,
        st,
        start: Instant::now(),
        beta: 0.0,
    };
    let mut cur = start.to_vec();
    let mut cur_m = start_m;
    let n = cur.len();
    // the network's own scaling law at the start: d ln MAC / d ln F when
    // every free literal grows by the same factor
    let (mut sum_em, mut sum_ef) = (0.0, 0.0);
    for i in (0..n).filter(|&i| st.free[i]) {
        if let Some(x) = s.sensitivity(&cur, &cur_m, i) {
            sum_em += x.em;
            sum_ef += x.ef;
        }
    }
    if sum_ef > 1e-9 && (sum_em / sum_ef).is_finite() {
        s.beta = (sum_em / sum_ef).clamp(0.0, 1.0);
    }
    let Some(mut cur_obj) = s.objective(&cur_m) else {
        return Found {
            values: cur,
            metrics: cur_m,
            rounds: 0,
            hit_budget: false,
            beta: s.beta,
        };
    };
    let n_free = st.free.iter().filter(|&&f| f).count();
    let mut rounds = 0;
    let mut hit_budget = false;
    loop {
        if n_free == 0 {
            break;
        }
        if s.out_of_budget() {
            hit_budget = true;
            break;
        }
        rounds += 1;
        let sens: Vec<Option<Sens>> = (0..n)
            .map(|i| {
                if st.free[i] {
                    s.sensitivity(&cur, &cur_m, i)
                } else {
                    None
                }
            })
            .collect();
        let cur_pred = (cur_obj.max(1.0)).ln();
        // 1. model-guided: long moves predicted to improve, best first
        let cands = s.candidates(&cur, &cur_m, &sens, &KS, &[0]);
        let mut next = s.first_improvement(cands, cur_obj, Some(2 * n_free + 4), true, cur_pred);
        // 2. the full one-step neighbourhood
        if next.is_none() && !s.out_of_budget() {
            let cands = s.candidates(&cur, &cur_m, &sens, &[1, 2], &[0, -1, 1]);
            next = s.first_improvement(cands, cur_obj, None, false, cur_pred);
        }
        match next {
            Some((v, m, o)) => {
                cur = v;
                cur_m = m;
                cur_obj = o;
            }
            None => {
                hit_budget = s.out_of_budget();
                break;
            }
        }
    }
    Found {
        values: cur,
        metrics: cur_m,
        rounds,
        hit_budget,
        beta: s.beta,
    }
}

/// Probes literal `i` alone, one step up and down from `orig`: Ok if some
/// move is feasible, else the reason of the last rejection.
pub(crate) fn probe(ev: &mut Evaluator, orig: &[i64], i: usize, step: i64) -> Result<(), Reject> {
    let mut reason = Reject::Bound;
    for v in [up(orig[i], 1, step), down(orig[i], 1, step)]
        .into_iter()
        .flatten()
    {
        let mut c = orig.to_vec();
        c[i] = v;
        match ev.try_eval(&c) {
            Ok(_) => return Ok(()),
            Err(Reject::Bound) => {}
            Err(r) => reason = r,
        }
    }
    Err(reason)
}

/// True if some move of `i` and `j` together by one step each (any of the
/// four directions) is feasible.
pub(crate) fn probe_pair(
    ev: &mut Evaluator,
    orig: &[i64],
    i: usize,
    j: usize,
    si: i64,
    sj: i64,
) -> bool {
    for vi in [up(orig[i], 1, si), down(orig[i], 1, si)]
        .into_iter()
        .flatten()
    {
        for vj in [up(orig[j], 1, sj), down(orig[j], 1, sj)]
            .into_iter()
            .flatten()
        {
            let mut c = orig.to_vec();
            c[i] = vi;
            c[j] = vj;
            if ev.try_eval(&c).is_ok() {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lattice_steps() {
        assert_eq!(up(52, 1, 8), Some(56));
        assert_eq!(up(56, 1, 8), Some(64));
        assert_eq!(down(52, 1, 8), Some(48));
        assert_eq!(down(56, 1, 8), Some(48));
        assert_eq!(up(i64::MAX - 3, 1, 8), None);
        assert_eq!(round_to(130.0, 8), 128);
        assert_eq!(round_to(3.0, 8), 8);
        assert_eq!(round_to(f64::NAN, 8), 8);
    }
}
