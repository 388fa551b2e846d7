//! The predicted times baked into an executable for `--profile`, and where
//! they come from. By default they come from a built-in platform profile, so
//! the same input builds the same executable on every machine; `--platform
//! host` uses this machine's calibration cache (`nnc calibrate`) and says so.

use nnc_analysis::Platform;
use nnc_ir::Graph;
use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

/// Largest figure (GFLOP/s or GB/s) accepted from a profile: far above any
/// machine nnc targets, far below where predicted times lose all meaning.
const MAX_FIGURE: f64 = 1e7;
/// Smallest accepted figure (1 MFLOP/s, 1 MB/s).
const MIN_FIGURE: f64 = 1e-3;

/// A platform figure outside [`MIN_FIGURE`, `MAX_FIGURE`] (or not normal).
#[derive(Debug, Clone, PartialEq)]
pub struct ImplausibleFigure {
    /// The platform's name.
    pub platform: String,
    /// "peak GFLOP/s" or "bandwidth GB/s".
    pub what: &'static str,
    pub value: f64,
    /// For `host`, the calibration cache the figure came from.
    pub cache: Option<PathBuf>,
}

impl fmt::Display for ImplausibleFigure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ImplausibleFigure {
            platform,
            what,
            value: v,
            cache,
        } = self;
        write!(
            f,
            "platform `{platform}` has an implausible {what} figure ({v:e}, expected {MIN_FIGURE}..{MAX_FIGURE:e})"
        )?;
        if let Some(c) = cache {
            write!(
                f,
                "; the calibration cache `{}` is damaged: run `nnc calibrate` again",
                c.display()
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for ImplausibleFigure {}

/// Checks a profile's figures: finite, normal, within
/// [`MIN_FIGURE`, `MAX_FIGURE`]. A crafted calibration cache fails here.
pub fn validate(p: &Platform) -> Result<(), ImplausibleFigure> {
    for (what, v) in [
        ("peak GFLOP/s", p.peak_gflops),
        ("bandwidth GB/s", p.bandwidth_gbs),
    ] {
        if !(v.is_normal() && (MIN_FIGURE..=MAX_FIGURE).contains(&v)) {
            let cache = if p.name == "host" {
                nnc_analysis::calibrate::cache_path()
            } else {
                None
            };
            return Err(ImplausibleFigure {
                platform: p.name.clone(),
                what,
                value: v,
                cache,
            });
        }
    }
    Ok(())
}

/// Predicted milliseconds per node name on `p`; every figure finite and ≥ 0.
pub fn predicted_ms(g: &Graph, p: &Platform) -> Result<HashMap<String, f64>, ImplausibleFigure> {
    validate(p)?;
    let mut m = HashMap::new();
    if let Ok(a) = nnc_analysis::analyze(g, p) {
        for n in &a.nodes {
            let v = if n.predicted_ms.is_finite() && n.predicted_ms >= 0.0 {
                n.predicted_ms
            } else {
                0.0
            };
            m.insert(g.node(n.id).name.clone(), v);
        }
    }
    Ok(m)
}

/// One line naming the profile: built-in name and source, or the
/// calibration cache's path and a hash of its contents.
pub fn describe(p: &Platform) -> String {
    if p.name != "host" {
        return format!("platform `{}` (built-in profile)", p.name);
    }
    let cache = nnc_analysis::calibrate::cache_path();
    let hash = cache
        .as_ref()
        .and_then(|c| std::fs::read(c).ok())
        .map(|b| format!("{:016x}", fnv1a(&b)));
    match (cache, hash) {
        (Some(c), Some(h)) => format!(
            "platform `host` (calibration cache `{}`, fnv1a {h}: {:.1} GFLOP/s, {:.1} GB/s)",
            c.display(),
            p.peak_gflops,
            p.bandwidth_gbs
        ),
        _ => format!(
            "platform `host` (measured now, not cached: {:.1} GFLOP/s, {:.1} GB/s)",
            p.peak_gflops, p.bandwidth_gbs
        ),
    }
}

/// 64-bit FNV-1a: a short fingerprint of the calibration cache, enough to
/// tell two caches apart in a report (not a security hash).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_implausible_figures() {
        let base = nnc_analysis::platform::builtin("zen3-2c").unwrap();
        assert!(validate(&base).is_ok());
        for bad in [
            f64::MIN_POSITIVE / 2.0,
            f64::NAN,
            0.0,
            -1.0,
            f64::INFINITY,
            1e300,
        ] {
            let mut p = base.clone();
            p.bandwidth_gbs = bad;
            assert!(validate(&p).is_err(), "{bad}");
            let mut p = base.clone();
            p.peak_gflops = bad;
            assert!(validate(&p).is_err(), "{bad}");
        }
    }
}
