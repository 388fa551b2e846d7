//! `nnc analyze`: costs per node and in total, graph figures, roofline prediction.

use crate::cli::{SortArg, TableFormat};
use crate::exit;
use crate::outfile;
use crate::output;
use crate::output::outln;
use nnc_analysis::SortKey;
use std::path::Path;

pub struct Opts<'a> {
    pub file: Option<&'a Path>,
    pub network: Option<&'a str>,
    pub format: TableFormat,
    pub platform: &'a str,
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

pub fn run(o: Opts) -> u8 {
    let file = match (o.list_platforms, o.file) {
        (true, _) => return list_platforms(),
        (false, Some(f)) => f,
        (false, None) => {
            output::usage_error("a FILE is needed (or `--list-platforms`)");
            return exit::USAGE;
        }
    };
    let platform = match nnc_analysis::platform::resolve(o.platform, &super::calibrate::write_cache)
    {
        Ok(p) => p,
        Err(e) => {
            output::usage_error(e);
            return exit::USAGE;
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
    let analysis = match nnc_analysis::analyze(g, &platform) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: internal compiler error: {e}");
            return exit::ICE;
        }
    };
    if let Some(plot) = o.plot {
        let mut outs = outfile::Outputs::new();
        outs.input(file);
        let written = outs.plan(plot).and_then(|()| {
            let svg = nnc_analysis::roofline::roofline_svg(&analysis, g)?;
            outfile::write(plot, svg.as_bytes(), outfile::Mode::Data)
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
            let r = nnc_analysis::write_table(&mut w, &analysis, g, sort, color_out)
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
