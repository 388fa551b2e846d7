//! What a run prints: the summary of each output, the `--bench` statistics
//! and the `--profile` report (as a table or one JSON object).

use crate::meta::{shape_str, Meta, TensorMeta};
use crate::profile;

/// Values shown per output in the summary.
pub const SUMMARY_VALUES: usize = 8;

/// Statistics of a list of latencies (ms).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    /// Fastest.
    pub min: f64,
    /// Median (mean of the two middle values for an even count).
    pub median: f64,
    /// 90th percentile (nearest rank).
    pub p90: f64,
    /// Mean.
    pub mean: f64,
    /// Slowest.
    pub max: f64,
}

/// Computes [`Stats`]; `None` for an empty list.
pub fn stats(times: &[f64]) -> Option<Stats> {
    if times.is_empty() {
        return None;
    }
    let mut v = times.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    // Nearest rank: ceil(0.9 n), 1-based.
    let rank = (9 * n).div_ceil(10).max(1);
    Some(Stats {
        min: v[0],
        median,
        p90: v[rank - 1],
        mean: v.iter().sum::<f64>() / n as f64,
        max: v[n - 1],
    })
}

/// Number of warm-up runs before `iters` timed ones.
pub fn warmup_runs(iters: usize) -> usize {
    (iters / 10).clamp(2, 10)
}

fn fmt_values(v: &[f32]) -> String {
    v.iter()
        .map(|x| format!("{x}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The summary printed for one output when no `--output` is given.
pub fn summary(t: &TensorMeta, data: &[f32]) -> String {
    let mut s = format!("{}: shape {}\n", t.name, shape_str(&t.shape));
    let k = data.len().min(SUMMARY_VALUES);
    if data.len() > k {
        s.push_str(&format!(
            "  first {k} of {}: {}\n",
            data.len(),
            fmt_values(&data[..k])
        ));
    } else {
        s.push_str(&format!("  values: {}\n", fmt_values(data)));
    }
    let finite: Vec<f32> = data.iter().copied().filter(|x| !x.is_nan()).collect();
    if let (Some(mn), Some(mx)) = (
        finite.iter().copied().reduce(f32::min),
        finite.iter().copied().reduce(f32::max),
    ) {
        let mean = finite.iter().map(|&x| x as f64).sum::<f64>() / finite.len() as f64;
        s.push_str(&format!("  min {mn}  max {mx}  mean {mean:.6}"));
        let nans = data.len() - finite.len();
        if nans > 0 {
            s.push_str(&format!("  ({nans} NaN)"));
        }
        s.push('\n');
    } else {
        s.push_str("  all NaN\n");
    }
    let is_vector = t.shape.len() == 1 || (t.shape.len() == 2 && t.shape[0] == 1);
    if is_vector && data.len() > 1 {
        let mut best: Option<(usize, f32)> = None;
        for (i, &x) in data.iter().enumerate() {
            if x.is_nan() {
                continue;
            }
            if best.is_none_or(|(_, b)| x > b) {
                best = Some((i, x));
            }
        }
        if let Some((i, x)) = best {
            s.push_str(&format!("  argmax: {i} (value {x})\n"));
        }
    }
    s
}

pub(crate) fn profile_report(
    meta: &Meta,
    runs: usize,
    threads: usize,
    wall: &[f64],
    min: bool,
) -> String {
    let (times, bad) = profile::snapshot();
    let mut s = String::new();
    s.push_str(&format!(
        "profile of {}: {} nodes, {threads} thread{}, {} of {runs} runs\n",
        meta.network,
        meta.nodes.len(),
        if threads == 1 { "" } else { "s" },
        if min { "shortest" } else { "average" }
    ));
    let opw = meta
        .nodes
        .iter()
        .map(|n| n.op.chars().count())
        .max()
        .unwrap_or(2)
        .clamp(2, 24);
    let namew = meta
        .nodes
        .iter()
        .map(|n| n.name.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(14, 40);
    let idxw = meta.nodes.len().saturating_sub(1).to_string().len().max(1);
    let runs_f = runs.max(1) as f64;
    let measured: Vec<f64> = (0..meta.nodes.len())
        .map(|i| {
            times.get(i).map_or(0.0, |t| {
                if min {
                    t.min_ns as f64 / 1e6
                } else {
                    t.total_ns as f64 / 1e6 / runs_f
                }
            })
        })
        .collect();
    let total_measured: f64 = measured.iter().sum();
    let predicted: Vec<f64> = meta
        .nodes
        .iter()
        .map(|n| n.predicted_for(threads))
        .collect();
    let total_predicted: f64 = predicted.iter().sum();
    let peak = meta
        .peak_gflops_per_thread
        .map(|p| p * threads.max(1) as f64);
    let gflops = |i: usize| {
        let f = meta.nodes[i].flops;
        if f > 0 && measured[i] > 0.0 {
            format!("{:.1}", f as f64 / (measured[i] * 1e6))
        } else {
            "-".to_string()
        }
    };
    let of_peak = |i: usize| match peak {
        Some(p) if meta.nodes[i].flops > 0 && measured[i] > 0.0 => {
            format!(
                "{:.0}%",
                100.0 * meta.nodes[i].flops as f64 / (measured[i] * 1e6) / p
            )
        }
        _ => "-".to_string(),
    };
    let ratio = |m: f64, p: f64| {
        if p > 0.0 {
            format!("{:.2}", m / p)
        } else {
            "-".to_string()
        }
    };
    let share = |m: f64| {
        if total_measured > 0.0 {
            format!("{:.1}%", 100.0 * m / total_measured)
        } else {
            "-".to_string()
        }
    };
    if let Some(from) = &meta.predictions {
        s.push_str(&format!("predicted times from {from}\n"));
    }
    s.push_str(&format!(
        "{:>idxw$}  {:<opw$}  {:<namew$}  {:>11}  {:>12}  {:>6}  {:>6}  {:>8}  {:>6}\n",
        "#", "op", "name", "measured ms", "predicted ms", "ratio", "share", "GFLOP/s", "% peak"
    ));
    let mut odd_calls = 0usize;
    for (i, n) in meta.nodes.iter().enumerate() {
        let calls = times.get(i).map_or(0, |t| t.calls);
        let mark = if calls != runs as u64 {
            odd_calls += 1;
            format!("  ({calls} calls)")
        } else {
            String::new()
        };
        s.push_str(&format!(
            "{:>idxw$}  {:<opw$}  {:<namew$}  {:>11.4}  {:>12.4}  {:>6}  {:>6}  {:>8}  {:>6}{mark}\n",
            i,
            n.op,
            n.name,
            measured[i],
            predicted[i],
            ratio(measured[i], predicted[i]),
            share(measured[i]),
            gflops(i),
            of_peak(i)
        ));
    }
    let lead = idxw + 2 + opw + 2;
    s.push_str(&format!(
        "{:lead$}{:<namew$}  {:>11.4}  {:>12.4}  {:>6}  {:>6}\n",
        "",
        "total",
        total_measured,
        total_predicted,
        ratio(total_measured, total_predicted),
        share(total_measured)
    ));
    if let Some(st) = stats(wall) {
        s.push_str(&format!(
            "{:lead$}{:<namew$}  {:>11.4}  (median {:.4}; outside kernels {:.4})\n",
            "",
            "forward (wall)",
            st.mean,
            st.median,
            (st.mean - total_measured).max(0.0)
        ));
    }
    if odd_calls > 0 {
        s.push_str(&format!(
            "note: {odd_calls} node(s) were not timed exactly once per run (calls shown)\n"
        ));
    }
    if bad > 0 {
        s.push_str(&format!(
            "note: {bad} malformed nnc_node_begin/end call(s) (unknown node index or end without begin)\n"
        ));
    }
    s
}

/// A string as a JSON string literal.
fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// A number as JSON (non-finite numbers, which JSON lacks, as 0).
fn json_num(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        "0".to_string()
    }
}

/// `--profile --json`: `{"network", "threads", "kernels": [{"name", "op",
/// "measured_ms", "predicted_ms"}], "total_measured_ms",
/// "total_predicted_ms"}` on one line.
pub(crate) fn profile_json(
    meta: &Meta,
    runs: usize,
    threads: usize,
    wall: &[f64],
    min: bool,
) -> String {
    let (times, _) = profile::snapshot();
    let runs_f = runs.max(1) as f64;
    let mut tm = 0.0;
    let mut tp = 0.0;
    let kernels: Vec<String> = meta
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let m = times.get(i).map_or(0.0, |t| {
                if min {
                    t.min_ns as f64 / 1e6
                } else {
                    t.total_ns as f64 / 1e6 / runs_f
                }
            });
            let p = n.predicted_for(threads);
            tm += m;
            tp += p;
            format!(
                "{{\"name\":{},\"op\":{},\"measured_ms\":{},\"predicted_ms\":{}}}",
                json_str(&n.name),
                json_str(&n.op),
                json_num(m),
                json_num(p)
            )
        })
        .collect();
    format!(
        "{{\"network\":{},\"threads\":{threads},\"kernels\":[{}],\"total_measured_ms\":{},\"total_predicted_ms\":{},\"wall_mean_ms\":{}}}\n",
        json_str(&meta.network),
        kernels.join(","),
        json_num(tm),
        json_num(tp),
        json_num(stats(wall).map_or(0.0, |s| s.mean))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_nearest_rank() {
        let v: Vec<f64> = (1..=10).map(|x| x as f64).collect();
        let s = stats(&v).expect("stats");
        assert_eq!(s.min, 1.0);
        assert_eq!(s.median, 5.5);
        assert_eq!(s.p90, 9.0);
        assert_eq!(s.max, 10.0);
        let s = stats(&[3.0]).expect("stats");
        assert_eq!((s.min, s.median, s.p90), (3.0, 3.0, 3.0));
        assert!(stats(&[]).is_none());
    }

    #[test]
    fn json_escapes() {
        assert_eq!(json_str("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
        assert_eq!(json_num(f64::NAN), "0");
        assert_eq!(json_num(1.5), "1.5");
    }

    #[test]
    fn summary_argmax() {
        let t = TensorMeta {
            name: "y".into(),
            shape: vec![1, 4],
            elems: 4,
        };
        let s = summary(&t, &[0.5, f32::NAN, 2.5, -1.0]);
        assert!(s.contains("argmax: 2 (value 2.5)"), "{s}");
        assert!(s.contains("values: 0.5, NaN, 2.5, -1"), "{s}");
    }
}
