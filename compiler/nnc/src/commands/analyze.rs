//! `nnc analyze`: costs per node and in total, graph figures, roofline prediction.

use crate::cli::{SortArg, TableFormat};
use crate::exit;
use crate::outfile;
use crate::output;
use crate::output::outln;
use nnc_report::SortKey;
use std::path::Path;

pub struct Opts<'a> {
    pub file: Option<&'a Path>,
    pub network: Option<&'a str>,
    pub format: TableFormat,
    /// `--platform`; None: `host` when calibrated, else the default profile.
    pub platform: Option<&'a str>,
    pub threads: Option<usize>,
    pub plot: Option<&'a Path>,
    pub sort: SortArg,
    pub list_platforms: bool,
    pub color: bool,
}

fn list_platforms() -> u8 {
    for p in nnc_analysis::platform::builtins() {
        outln!(
            "{:<14} {:>8.1} GFLOP/s {:>7.1} GB/s  {}",
            p.name,
            p.peak_gflops,
            p.bandwidth_gbs,
            p.description
        );
        outln!("{:<14} source: {}", "", p.source);
    }
    outln!(
        "{:<14} measured on this machine by `nnc calibrate` (cached)",
        "host"
    );
    exit::OK
}

/// Cores of this machine (the default thread count).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The executed plan of `g` priced by the host model.
pub fn price_executed(
    g: &nnc_ir::Graph,
    a: &nnc_analysis::Analysis,
    m: &nnc_analysis::model::HostModel,
    threads: usize,
) -> Result<nnc_analysis::executed::Executed, String> {
    let kernels = nnc_codegen::executed::describe_graph(g)?;
    Ok(nnc_analysis::executed::Executed::price(
        a, g, kernels, m, threads,
    ))
}

/// `--platform all`: every platform's predicted latency for `g`, fastest
/// first (host: the calibrated model of the executed plan when there is
/// one; built-in profiles: the roofline of the source graph).
fn rank(
    g: &nnc_ir::Graph,
    model: Option<&nnc_analysis::model::HostModel>,
    threads: usize,
    format: TableFormat,
) -> u8 {
    let mut rows: Vec<(String, f64, String)> = Vec::new();
    for p in nnc_analysis::platform::builtins() {
        if let Ok(a) = nnc_analysis::analyze(g, &p) {
            rows.push((
                p.name.clone(),
                a.totals.predicted_ms,
                "roofline of the source graph".into(),
            ));
        }
    }
    if let Some(m) = model {
        let host = nnc_analysis::platform::cached_host();
        if let Some(a) = host.and_then(|p| nnc_analysis::analyze(g, &p).ok()) {
            match price_executed(g, &a, m, threads) {
                Ok(ex) => rows.push((
                    "host".into(),
                    ex.total_ms(),
                    if (m.speed_factor() - 1.0).abs() > 1e-9 {
                        format!(
                            "calibrated model of the executed plan, {threads} threads, \
                             refreshed speed {:.3}x",
                            m.speed_factor()
                        )
                    } else {
                        format!("calibrated model of the executed plan, {threads} threads")
                    },
                )),
                Err(e) => eprintln!("warning: host not ranked: {e}"),
            }
        }
    }
    rows.sort_by(|a, b| a.1.total_cmp(&b.1));
    match format {
        TableFormat::Json => {
            let v: Vec<serde_json::Value> = rows
                .iter()
                .enumerate()
                .map(|(i, (n, ms, basis))| {
                    serde_json::json!({"rank": i + 1, "platform": n, "predicted_ms": ms, "basis": basis})
                })
                .collect();
            outln!(
                "{}",
                serde_json::to_string_pretty(
                    &serde_json::json!({"network": g.name, "platforms": v})
                )
                .unwrap_or_default()
            );
        }
        TableFormat::Table => {
            outln!("platforms ranked for `{}` (fastest first):", g.name);
            outln!(
                "{:>4}  {:<12} {:>14}  basis",
                "rank",
                "platform",
                "predicted"
            );
            for (i, (n, ms, basis)) in rows.iter().enumerate() {
                outln!("{:>4}  {:<12} {:>11.3} ms  {basis}", i + 1, n, ms);
            }
        }
    }
    exit::OK
}

pub fn run(o: Opts) -> u8 {
    let file = match (o.list_platforms, o.file) {
        (true, _) => return list_platforms(),
        (false, Some(f)) => f,
        (false, None) => {
            output::usage_error("a FILE is needed (or `--list-platforms`)");
            return exit::USAGE;
        }
    };
    let model = super::calibrate::host_model();
    let name = o.platform.unwrap_or(if model.is_some() {
        "host"
    } else {
        nnc_analysis::platform::DEFAULT
    });
    let threads = o.threads.unwrap_or_else(cores);
    let ranking = name.eq_ignore_ascii_case("all");
    let platform = if ranking {
        None
    } else {
        match nnc_analysis::platform::resolve(name, &super::calibrate::write_cache) {
            Ok(p) => Some(p),
            Err(e) => {
                output::usage_error(format!("{e}, or `all`"));
                return exit::USAGE;
            }
        }
    };
    let compiled = match super::load_graph(file, o.network, o.color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let Some(g) = compiled.graph.as_ref() else {
        return exit::INPUT_ERRORS;
    };
    // warnings of the front end still go to stderr
    output::emit(
        &compiled.diagnostics,
        &compiled.file,
        nnc_diag::render::MessageFormat::Human,
        o.color,
    );
    let Some(platform) = platform else {
        return rank(g, model.as_ref(), threads, o.format);
    };
    let mut analysis = match nnc_analysis::analyze(g, &platform) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: internal compiler error: {e}");
            return exit::ICE;
        }
    };
    if platform.name == "host" {
        match &model {
            Some(m) => match price_executed(g, &analysis, m, threads) {
                Ok(ex) => nnc_analysis::executed::attach(&mut analysis, g, &ex),
                Err(e) => eprintln!(
                    "warning: the executed plan could not be priced ({e}); roofline of the source graph"
                ),
            },
            None => eprintln!(
                "note: no kernel calibration for this machine: host figures are the roofline of \
                 the source graph; run `nnc calibrate` for the calibrated model of the executed plan"
            ),
        }
    }
    if let Some(plot) = o.plot {
        let mut outs = outfile::Outputs::new();
        outs.input(file);
        let written = outs.plan(plot).map_err(String::from).and_then(|()| {
            let svg =
                nnc_report::roofline::roofline_svg(&analysis, g).map_err(|e| e.to_string())?;
            outfile::write(plot, svg.as_bytes(), outfile::Mode::Data).map_err(String::from)
        });
        if let Err(e) = written {
            output::usage_error(e);
            return exit::USAGE;
        }
        eprintln!("wrote roofline chart to {}", plot.display());
    }
    match o.format {
        TableFormat::Json => {
            let v = analysis.to_json(g, &compiled.file);
            outln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
        TableFormat::Table => {
            let sort = match o.sort {
                SortArg::Order => SortKey::Order,
                SortArg::Time => SortKey::Time,
                SortArg::Mac => SortKey::Mac,
                SortArg::Flops => SortKey::Flops,
                SortArg::Params => SortKey::Params,
            };
            let color_out = o.color && std::io::IsTerminal::is_terminal(&std::io::stdout());
            // streamed: a million-node table is never held in memory
            let stdout = std::io::stdout();
            let mut w = std::io::BufWriter::new(stdout.lock());
            let r = nnc_report::write_table(&mut w, &analysis, g, sort, color_out)
                .and_then(|()| std::io::Write::flush(&mut w));
            if let Err(e) = r {
                drop(w);
                eprintln!("error: cannot write to standard output: {e}");
                return exit::USAGE;
            }
        }
    }
    exit::OK
}
