//! `nnc check`: every syntax and elaboration error, then the lints.

use crate::cli::{LintLevels, MessageFormatArg};
use crate::exit;
use crate::frontend::{self, LoadError};
use crate::output;
use nnc_diag::{Diagnostic, Level};
use nnc_lints::{LevelConfig, LintContext};
use std::path::Path;

/// f32 lanes of a SIMD name (`avx2` → 8), or a plain number.
pub fn simd_lanes(name: &str) -> Option<usize> {
    match name.to_ascii_lowercase().as_str() {
        "avx2" | "avx" | "x86-64-v3" => Some(8),
        "avx512" | "avx-512" | "x86-64-v4" => Some(16),
        "neon" | "sse" | "sse2" | "sse4" => Some(4),
        "none" | "scalar" => Some(1),
        other => other
            .parse()
            .ok()
            .filter(|&n: &usize| (1..=64).contains(&n)),
    }
}

/// Runs the lints on a compiled unit without errors; returns their diagnostics.
pub fn lint(compiled: &frontend::Compiled, config: &LevelConfig, lanes: usize) -> Vec<Diagnostic> {
    let Some(g) = compiled.graph.as_ref() else {
        return Vec::new();
    };
    let platform = nnc_analysis::platform::builtin("zen3-2c")
        .or_else(|| nnc_analysis::platform::builtins().into_iter().next());
    let Some(platform) = platform else {
        return Vec::new();
    };
    let Ok(analysis) = nnc_analysis::analyze(g, &platform) else {
        return Vec::new();
    };
    let cx = LintContext {
        graph: g,
        ast: &compiled.ast,
        source: &compiled.file.text,
        analysis: &analysis,
        simd_lanes: lanes,
    };
    let mut out = nnc_lints::levels::check_attributes(&compiled.ast);
    out.extend(nnc_lints::run(&cx, config));
    out
}

pub fn run(
    path: &Path,
    network: Option<&str>,
    levels: &LintLevels,
    format: MessageFormatArg,
    simd: &str,
    color: bool,
) -> u8 {
    let config = match LevelConfig::from_flags(&levels.allow, &levels.warn, &levels.deny) {
        Ok(c) => c,
        Err(e) => {
            output::usage_error(e);
            return exit::USAGE;
        }
    };
    let Some(lanes) = simd_lanes(simd) else {
        output::usage_error(format!(
            "unknown SIMD target `{simd}` (expected avx2, avx512, neon, none, or a lane count)"
        ));
        return exit::USAGE;
    };
    let compiled = match frontend::compile(path, network) {
        Ok(c) => c,
        Err(LoadError::Unreadable(msg)) => {
            output::usage_error(msg);
            return exit::USAGE;
        }
    };
    let mut diags = compiled.diagnostics.clone();
    if !compiled.has_errors() {
        diags.extend(lint(&compiled, &config, lanes));
    }
    // -D warnings / -A warnings apply to every warning, not only lints'
    let warn_level = config.apply_warnings_override(nnc_lints::LintLevel::Warn);
    diags.retain(|d| !(d.level == Level::Warning && warn_level == nnc_lints::LintLevel::Allow));
    if warn_level == nnc_lints::LintLevel::Deny {
        for d in &mut diags {
            if d.level == Level::Warning {
                d.level = Level::Error;
            }
        }
    }
    diags.sort_by_key(|d| d.primary_span().map(|s| (s.start, s.end)).unwrap_or((0, 0)));
    // what is printed is capped like the front end's own diagnostics (E0009:
    // the first 100 errors and 100 warnings by position); `nnc fix` calls
    // [`lint`] and still sees every finding
    if !compiled.has_errors() {
        nnc_diag::cap(&mut diags);
    }
    output::emit(
        &diags,
        &compiled.file,
        output::message_format(format),
        color,
    );
    if diags.iter().any(|d| d.is_error()) {
        exit::INPUT_ERRORS
    } else {
        exit::OK
    }
}
