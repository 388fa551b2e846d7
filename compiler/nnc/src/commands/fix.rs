//! `nnc fix`: `--rebalance` rewrites channel widths to cut memory access cost
//! at equal mult-adds; without it, the machine-applicable suggestions of the
//! lints are applied.

use crate::exit;
use crate::frontend;
use crate::outfile;
use crate::output;
use crate::output::{out, outln};
use nnc_diag::render::MessageFormat;
use nnc_diag::{Applicability, Span};
use nnc_rebalance::diff;
use std::path::Path;
use std::time::Duration;

pub struct Opts<'a> {
    pub file: &'a Path,
    pub network: Option<&'a str>,
    pub rebalance: bool,
    pub diff: bool,
    pub dry_run: bool,
    pub output: Option<&'a Path>,
    pub flops_tolerance: &'a str,
    pub simd_lanes: usize,
    pub max_ratio: f64,
    /// `--time-limit` of `--rebalance`, seconds.
    pub time_limit: f64,
    /// `--platform` of `--rebalance`.
    pub platform: &'a str,
    pub objective: crate::cli::ObjectiveArg,
    /// `--threads` of the predicted latency (default: all cores).
    pub threads: Option<usize>,
    pub color: bool,
}

/// `5%`, `0.05` → 0.05.
fn parse_tolerance(s: &str) -> Option<f64> {
    let v = match s.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().ok()? / 100.0,
        None => s.trim().parse::<f64>().ok()?,
    };
    (v.is_finite() && (0.0..1.0).contains(&v)).then_some(v)
}

fn fmt_count(n: u64) -> String {
    let s = n.to_string();
    let head = match s.len() % 3 {
        0 => 3.min(s.len()),
        r => r,
    };
    let mut out = s[..head].to_string();
    for chunk in s.as_bytes()[head..].chunks(3) {
        out.push(',');
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
    }
    out
}

fn pct(a: f64, b: f64) -> String {
    if a == 0.0 {
        "—".into()
    } else {
        format!("{:+.1}%", (b / a - 1.0) * 100.0)
    }
}

/// Writes the result (in place, to `-o`, or nowhere with `--diff` or
/// `--dry-run`). In place, a symlink's target is rewritten and the file keeps
/// its mode.
fn write_result(o: &Opts, new: &str) -> Result<Option<std::path::PathBuf>, u8> {
    if o.dry_run || o.diff {
        return Ok(None);
    }
    let target = o.output.unwrap_or(o.file).to_path_buf();
    if let Err(e) = outfile::write(&target, new.as_bytes(), outfile::Mode::Data) {
        output::usage_error(e);
        return Err(exit::USAGE);
    }
    Ok(Some(target))
}

pub fn run(o: Opts) -> u8 {
    if !(o.max_ratio.is_finite() && o.max_ratio >= 1.0) {
        output::usage_error("--max-ratio must be a number ≥ 1");
        return exit::USAGE;
    }
    if !(o.time_limit.is_finite() && o.time_limit > 0.0 && o.time_limit <= 1e6) {
        output::usage_error("--time-limit must be a number of seconds > 0");
        return exit::USAGE;
    }
    if o.simd_lanes == 0 || o.simd_lanes > 64 {
        output::usage_error("--simd-lanes must be between 1 and 64");
        return exit::USAGE;
    }
    let Some(tolerance) = parse_tolerance(o.flops_tolerance) else {
        output::usage_error(format!(
            "invalid --flops-tolerance `{}` (expected a percentage like 5% or a fraction like 0.05)",
            o.flops_tolerance
        ));
        return exit::USAGE;
    };
    let compiled = match super::load_graph(o.file, o.network, o.color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let name = compiled.file.name.clone();
    let text = compiled.file.text.clone();
    if o.rebalance {
        rebalance(&o, &name, &text, tolerance)
    } else {
        apply_suggestions(&o, &compiled, &name, &text)
    }
}

fn rebalance(o: &Opts, name: &str, text: &str, tolerance: f64) -> u8 {
    let platform = match nnc_analysis::platform::resolve(o.platform, &super::calibrate::write_cache)
    {
        Ok(p) => p,
        Err(e) => {
            output::usage_error(e);
            return exit::USAGE;
        }
    };
    let threads = o.threads.unwrap_or_else(super::analyze::cores);
    let latency_objective = o.objective == crate::cli::ObjectiveArg::Latency;
    // on the host with a calibration: the model of the executed plan;
    // elsewhere the roofline of the source graph on the platform
    let model = if platform.name == "host" {
        super::calibrate::host_model()
    } else {
        None
    };
    if platform.name == "host" && model.is_none() {
        eprintln!(
            "note: no kernel calibration for this machine: the host latency is the roofline of \
             the source graph; run `nnc calibrate` for the calibrated model of the executed plan"
        );
    }
    let latency = match (&model, latency_objective) {
        (Some(m), _) => {
            let m = m.clone();
            Some(nnc_rebalance::LatencyFn(std::sync::Arc::new(
                move |g: &nnc_ir::Graph| {
                    let kernels = nnc_codegen::executed::describe_graph(g).ok()?;
                    Some(m.plan_ms(&kernels, threads))
                },
            )))
        }
        (None, true) => {
            let p = platform.clone();
            Some(nnc_rebalance::LatencyFn(std::sync::Arc::new(
                move |g: &nnc_ir::Graph| {
                    nnc_analysis::analyze(g, &p)
                        .ok()
                        .map(|a| a.totals.predicted_ms)
                },
            )))
        }
        (None, false) => None,
    };
    // the MAC objective keeps the report's latency but minimizes MAC
    let (latency, report_latency) = if latency_objective {
        (latency, None)
    } else {
        (None, latency)
    };
    let opts = nnc_rebalance::Options {
        latency,
        network: o.network.map(String::from),
        tolerance,
        lanes: o.simd_lanes,
        max_ratio: o.max_ratio,
        max_time: Duration::from_secs_f64(o.time_limit),
        ..nnc_rebalance::Options::new(platform)
    };
    let out = match nnc_rebalance::rebalance(name, text, &opts) {
        Ok(r) => r,
        Err(nnc_rebalance::SourceErrors(d)) => {
            output::emit(
                &d,
                &nnc_diag::SourceFile::new(name, text),
                MessageFormat::Human,
                o.color,
            );
            return exit::INPUT_ERRORS;
        }
    };
    let (mut b, mut a) = (out.before, out.after);
    if let Some(f) = &report_latency {
        let ms = |t: &str| {
            frontend::compile_bytes(name, t.as_bytes(), o.network)
                .graph
                .and_then(|g| (f.0)(&g))
        };
        if let (Some(x), Some(y)) = (ms(text), ms(&out.new_source)) {
            b.predicted_ms = x;
            a.predicted_ms = y;
        }
    }
    let where_ = if model.is_some() {
        format!(
            "host, {threads} thread{}",
            if threads == 1 { "" } else { "s" }
        )
    } else {
        opts.platform.name.clone()
    };
    let what = if latency_objective {
        "predicted latency"
    } else {
        "MAC"
    };
    outln!(
        "rebalancing `{}` (mult-adds within ±{:.1}%, widths multiples of {}):",
        out.network,
        tolerance * 100.0,
        o.simd_lanes
    );
    outln!();
    outln!(
        "{:<26} {:>18} {:>18} {:>9}",
        "",
        "before",
        "after",
        "change"
    );
    outln!(
        "{:<26} {:>18} {:>18} {:>9}",
        "mult-adds",
        fmt_count(b.mult_adds),
        fmt_count(a.mult_adds),
        pct(b.mult_adds as f64, a.mult_adds as f64)
    );
    outln!(
        "{:<26} {:>18} {:>18} {:>9}",
        "MAC (elements)",
        fmt_count(b.mac),
        fmt_count(a.mac),
        pct(b.mac as f64, a.mac as f64)
    );
    outln!(
        "{:<26} {:>18} {:>18} {:>9}",
        "params",
        fmt_count(b.params),
        fmt_count(a.params),
        pct(b.params as f64, a.params as f64)
    );
    outln!(
        "{:<26} {:>18} {:>18} {:>9}",
        format!("predicted ms ({where_})"),
        format!("{:.3}", b.predicted_ms),
        format!("{:.3}", a.predicted_ms),
        pct(b.predicted_ms, a.predicted_ms)
    );
    outln!();
    if let Some(g) = out.small_gain {
        outln!(
            "the best candidate was predicted only {:.1}% faster, within the model's error (< {:.0}%): nothing rewritten",
            g * 100.0,
            opts.min_gain * 100.0
        );
    } else if out.changes.is_empty() {
        outln!("no change lowers {what} within the tolerance: the widths are already balanced");
    } else {
        outln!("rewritten width literals:");
        for c in &out.changes {
            outln!(
                "  {}:{}:{}: {} → {} (×{:.2}){}",
                name,
                c.line,
                c.col,
                c.old,
                c.new,
                c.new as f64 / c.old as f64,
                if c.at_bound {
                    format!(" at the --max-ratio {} bound", o.max_ratio)
                } else {
                    String::new()
                }
            );
        }
    }
    let src = nnc_diag::SourceFile::new(name, text);
    if !out.frozen.is_empty() {
        outln!("width literals left alone:");
        for (s, v, why) in &out.frozen {
            let (l, c) = src.line_col(s.start as usize);
            outln!("  {name}:{l}:{c}: {v}: {why}");
        }
    }
    if !out.untraced.is_empty() {
        outln!("widths not traced to a literal:");
        for u in &out.untraced {
            let (l, c) = src.line_col(u.span.start as usize);
            let nodes = match u.nodes.len() {
                0 => String::new(),
                1 => format!("`{}`", u.nodes[0]),
                n => format!("`{}` and {} more", u.nodes[0], n - 1),
            };
            outln!("  {name}:{l}:{c}: {nodes}: out = {} — {}", u.expr, u.reason);
        }
    }
    outln!(
        "({} candidate networks compiled in {} rounds; minimized {}·(F₀/F)^{:.2}{})",
        out.evaluations,
        out.rounds,
        if latency_objective {
            format!("predicted latency on {where_}")
        } else {
            "MAC".to_string()
        },
        out.scaling_exponent,
        if out.hit_budget {
            "; stopped at the budget: this is the best result found so far"
        } else {
            ""
        }
    );
    if out.hit_budget {
        eprintln!(
            "note: `--rebalance` stopped at its budget (--time-limit {} s, or {} compilations); \
             the best result so far is reported; a larger --time-limit may find more",
            o.time_limit, opts.max_evals
        );
    }
    if o.diff {
        out!("{}", diff::unified(name, text, &out.new_source, 3));
    }
    // nothing to rewrite in place; `-o OUT` still gets the (unchanged) text
    if out.changes.is_empty() && o.output.is_none() {
        return exit::OK;
    }
    // every candidate was compiled by the search; check the final text anyway
    if frontend::compile_bytes(name, out.new_source.as_bytes(), o.network).has_errors() {
        eprintln!(
            "error: internal compiler error: the rebalanced file does not compile; nothing written"
        );
        return exit::ICE;
    }
    match write_result(o, &out.new_source) {
        Ok(Some(p)) => {
            eprintln!("wrote {}", p.display());
            exit::OK
        }
        Ok(None) => exit::OK,
        Err(code) => code,
    }
}

fn apply_suggestions(o: &Opts, compiled: &frontend::Compiled, name: &str, text: &str) -> u8 {
    let config = nnc_lints::LevelConfig::default();
    let diags = super::check::lint(compiled, &config, o.simd_lanes);
    let mut edits: Vec<(Span, String, String)> = Vec::new();
    for d in &diags {
        for s in &d.suggestions {
            if s.applicability != Applicability::MachineApplicable {
                continue;
            }
            for (sp, r) in &s.edits {
                edits.push((*sp, r.clone(), s.message.clone()));
            }
        }
    }
    edits.sort_by_key(|(s, _, _)| (s.start, s.end));
    // drop overlapping edits (keep the first)
    let mut kept: Vec<(Span, String, String)> = Vec::new();
    for e in edits {
        if kept.last().is_none_or(|(s, _, _)| s.end <= e.0.start) {
            kept.push(e);
        }
    }
    if kept.is_empty() {
        let maybe = diags.iter().filter(|d| !d.suggestions.is_empty()).count();
        outln!("nothing to fix automatically ({} lint findings; {} with suggestions that need a person; see `nnc check`, or `nnc fix --rebalance` for channel widths)", diags.len(), maybe);
        // `-o OUT` still gets the (unchanged) text
        if o.output.is_none() {
            return exit::OK;
        }
        return match write_result(o, text) {
            Ok(_) => exit::OK,
            Err(code) => code,
        };
    }
    let mut new = String::with_capacity(text.len());
    let mut at = 0;
    for (s, r, msg) in &kept {
        let (a, b) = (s.start as usize, s.end as usize);
        if a < at || b > text.len() || !text.is_char_boundary(a) || !text.is_char_boundary(b) {
            continue;
        }
        new.push_str(&text[at..a]);
        new.push_str(r);
        at = b;
        let (l, c) = compiled.file.line_col(a);
        outln!("{name}:{l}:{c}: {msg}");
    }
    new.push_str(&text[at..]);
    // the result must still compile
    let check = frontend::compile_bytes(name, new.as_bytes(), o.network);
    if check.has_errors() {
        eprintln!(
            "error: internal compiler error: the fixes would break the file; nothing written"
        );
        return exit::ICE;
    }
    if o.diff {
        out!("{}", diff::unified(name, text, &new, 3));
    }
    match write_result(o, &new) {
        Ok(_) => exit::OK,
        Err(code) => code,
    }
}
