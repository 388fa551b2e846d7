//! `nnc calibrate`: measure this machine (cached for `--platform host`).

use crate::exit;
use crate::outfile;
use crate::output::outln;
use std::path::Path;

/// Writes the calibration cache by the output-file rules (docs/outputs.md):
/// atomic replacement, the mode kept, a device written to and never replaced.
pub fn write_cache(p: &Path, bytes: &[u8]) -> Result<(), String> {
    outfile::write(p, bytes, outfile::Mode::Data)
}

pub fn run(json: bool) -> u8 {
    eprintln!("measuring FMA throughput and memory bandwidth on all cores...");
    let c = nnc_analysis::calibrate();
    let cached = match nnc_analysis::calibrate::cache_path() {
        Some(p) => match nnc_analysis::calibrate::save(&p, &c, &write_cache) {
            Ok(()) => Some(p),
            Err(e) => {
                eprintln!("warning: could not cache the result: {e}");
                None
            }
        },
        None => {
            eprintln!("warning: no cache directory (set XDG_CACHE_HOME or HOME) — the result is not cached");
            None
        }
    };
    if json {
        outln!("{}", serde_json::to_string_pretty(&c).unwrap_or_default());
    } else {
        outln!("cpu:        {}", c.cpu);
        outln!("isa:        {}", c.isa);
        outln!("threads:    {}", c.threads);
        outln!(
            "peak:       {:.1} GFLOP/s (fp32 FMA, all cores)",
            c.peak_gflops
        );
        outln!(
            "bandwidth:  {:.1} GB/s (streaming, all cores)",
            c.bandwidth_gbs
        );
        outln!("took:       {:.2} s", c.seconds);
        if let Some(p) = cached {
            outln!("cached in:  {} (used by --platform host)", p.display());
        }
    }
    exit::OK
}
