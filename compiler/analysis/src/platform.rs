//! Platform profiles for the roofline model: a peak fp32 throughput (all
//! cores) and a memory bandwidth. The built-in figures and their sources are
//! listed in `docs/platforms.md`; `host` is measured by [`crate::calibrate`].

use crate::calibrate::{self, Calibration};
use serde::{Deserialize, Serialize};

/// A machine as the roofline model sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Platform {
    /// Short name used on the command line (`zen3-2c`, `host`, ...).
    pub name: String,
    /// One line saying what machine this is.
    pub description: String,
    /// Peak fp32 throughput with all cores, GFLOP/s.
    pub peak_gflops: f64,
    /// Streaming memory bandwidth, GB/s (10⁹ bytes/s).
    pub bandwidth_gbs: f64,
    /// Where the figures come from.
    pub source: String,
}

impl Platform {
    /// The intensity (FLOP/byte) where the roof turns from the bandwidth
    /// slope to the flat peak.
    pub fn ridge_intensity(&self) -> f64 {
        if self.bandwidth_gbs > 0.0 {
            self.peak_gflops / self.bandwidth_gbs
        } else {
            f64::INFINITY
        }
    }

    /// The roofline: attainable GFLOP/s at a given intensity.
    pub fn attainable_gflops(&self, intensity: f64) -> f64 {
        (intensity * self.bandwidth_gbs).min(self.peak_gflops)
    }

    /// A platform built from a calibration run.
    pub fn from_calibration(c: &Calibration) -> Platform {
        Platform {
            name: "host".into(),
            description: format!("this machine: {} ({} threads)", c.cpu, c.threads),
            peak_gflops: c.peak_gflops,
            bandwidth_gbs: c.bandwidth_gbs,
            source: format!(
                "measured by `nnc calibrate`: {} FMA loop {:.1} GFLOP/s, triad {:.1} GB/s",
                c.isa, c.peak_gflops, c.bandwidth_gbs
            ),
        }
    }
}

struct Builtin {
    name: &'static str,
    description: &'static str,
    peak_gflops: f64,
    bandwidth_gbs: f64,
    source: &'static str,
}

const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "zen3-2c",
        description:
            "AMD Zen 3 (EPYC), 2 cores, AVX2+FMA: the project's reference desktop-class x86",
        // 2 cores × 2 FMA pipes × 8 lanes × 2 FLOP × 3.05 GHz.
        peak_gflops: 195.2,
        bandwidth_gbs: 25.0,
        source: "peak: 2 cores × 32 FLOP/cycle (two 256-bit FMA pipes) × 3.05 GHz \
                 (AMD Zen 3 microarchitecture); bandwidth: 2-core triad (25 GB/s) measured with \
                 `nnc calibrate` on the project's 2-core VM",
    },
    Builtin {
        name: "xeon-8380",
        description: "Intel Xeon Platinum 8380 (Ice Lake-SP), 40 cores, AVX-512, 1 socket",
        // 40 cores × 2 AVX-512 FMA units × 16 lanes × 2 FLOP × 2.3 GHz base.
        peak_gflops: 5888.0,
        bandwidth_gbs: 204.8,
        source: "Intel ARK: 40 cores, 2.30 GHz base, 8 channels DDR4-3200 \
                 (8 × 25.6 GB/s); 2 AVX-512 FMA units per core (64 FP32 FLOP/cycle)",
    },
    Builtin {
        name: "cortex-a76",
        description: "One Arm Cortex-A76 core at 2.84 GHz (Snapdragon 855 prime core), NEON",
        // 2 × 128-bit FMA pipes × 4 lanes × 2 FLOP × 2.84 GHz.
        peak_gflops: 45.44,
        bandwidth_gbs: 34.1,
        source: "Arm Cortex-A76 Software Optimization Guide (two 128-bit ASIMD FMA \
                 pipes: 16 FP32 FLOP/cycle); Qualcomm Snapdragon 855: 2.84 GHz prime \
                 core, LPDDR4X-4266 4×16-bit (34.1 GB/s)",
    },
    Builtin {
        name: "rpi5",
        description: "Raspberry Pi 5: 4 × Cortex-A76 at 2.4 GHz, LPDDR4X-4267 32-bit",
        peak_gflops: 153.6,
        bandwidth_gbs: 17.1,
        source: "Raspberry Pi 5 product brief (BCM2712, 4 × A76 @ 2.4 GHz, \
                 LPDDR4X-4267); 16 FP32 FLOP/cycle per A76 core",
    },
    Builtin {
        name: "t4",
        description: "NVIDIA T4 GPU (Turing, 70 W), fp32 CUDA cores",
        peak_gflops: 8100.0,
        bandwidth_gbs: 320.0,
        source: "NVIDIA T4 datasheet: 8.1 TFLOPS FP32, 320 GB/s GDDR6",
    },
    Builtin {
        name: "a100",
        description: "NVIDIA A100 40 GB SXM GPU (Ampere), fp32 without tensor cores",
        peak_gflops: 19500.0,
        bandwidth_gbs: 1555.0,
        source: "NVIDIA A100 datasheet: 19.5 TFLOPS FP32, 1,555 GB/s HBM2 (40 GB)",
    },
];

/// Names of the built-in profiles (not including `host`).
pub fn builtin_names() -> Vec<&'static str> {
    BUILTINS.iter().map(|b| b.name).collect()
}

/// All built-in profiles, in a fixed order.
pub fn builtins() -> Vec<Platform> {
    BUILTINS.iter().map(to_platform).collect()
}

fn to_platform(b: &Builtin) -> Platform {
    Platform {
        name: b.name.into(),
        description: b.description.into(),
        peak_gflops: b.peak_gflops,
        bandwidth_gbs: b.bandwidth_gbs,
        source: b.source.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

/// A built-in profile by name (case-insensitive); None for unknown names and
/// for `host` (use [`host`]).
pub fn builtin(name: &str) -> Option<Platform> {
    BUILTINS
        .iter()
        .find(|b| b.name.eq_ignore_ascii_case(name))
        .map(to_platform)
}

/// The default profile when none is asked for.
pub const DEFAULT: &str = "zen3-2c";

/// The `host` profile from the cached calibration, if there is a valid one.
pub fn cached_host() -> Option<Platform> {
    let p = calibrate::cache_path()?;
    calibrate::load(&p).map(|c| Platform::from_calibration(&c))
}

/// The `host` profile: the cached calibration, or a new calibration run
/// (about 1–3 s) that is then cached. A cache that cannot be written is not
/// an error (the measurement is still returned). `write` writes the cache.
pub fn host(write: calibrate::WriteFile) -> Platform {
    if let Some(p) = cached_host() {
        return p;
    }
    let c = calibrate::calibrate();
    if let Some(path) = calibrate::cache_path() {
        let _ = calibrate::save(&path, &c, write);
    }
    Platform::from_calibration(&c)
}

/// A `--platform` argument that is neither `host` nor a built-in name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownPlatform {
    pub name: String,
}

impl std::fmt::Display for UnknownPlatform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "unknown platform `{}`; expected `host` or one of: {}",
            self.name,
            builtin_names().join(", ")
        )
    }
}

impl std::error::Error for UnknownPlatform {}

/// Resolves a `--platform` argument: `host` or a built-in name. `write`
/// writes the calibration cache when `host` has none yet.
pub fn resolve(name: &str, write: calibrate::WriteFile) -> Result<Platform, UnknownPlatform> {
    if name.eq_ignore_ascii_case("host") {
        return Ok(host(write));
    }
    builtin(name).ok_or_else(|| UnknownPlatform {
        name: name.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_are_sane() {
        let all = builtins();
        assert!(all.len() >= 4);
        for p in &all {
            assert!(p.peak_gflops > 0.0 && p.bandwidth_gbs > 0.0, "{}", p.name);
            assert!(!p.source.is_empty());
            assert_eq!(builtin(&p.name.to_uppercase()).as_ref(), Some(p));
        }
        assert!(builtin("host").is_none());
        assert!(resolve("nope", &|_, _| Ok(()))
            .unwrap_err()
            .to_string()
            .contains("zen3-2c"));
        assert!(builtin(DEFAULT).is_some());
        let z = builtin("zen3-2c").unwrap();
        assert!((z.ridge_intensity() - 195.2 / 25.0).abs() < 1e-9);
        assert_eq!(z.attainable_gflops(1.0), 25.0);
        assert_eq!(z.attainable_gflops(1000.0), 195.2);
    }
}
