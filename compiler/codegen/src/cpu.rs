//! `--target-cpu` validation against LLVM's own list of CPUs.
//!
//! LLVM accepts any CPU name when a target machine is created, prints
//! "'zzz' is not a recognized processor" and later aborts the process
//! ("64-bit code requested on a subtarget that doesn't support it"). So the
//! name is checked first. The list comes from the linked LLVM itself: a
//! target machine created for the CPU `help` prints "Available CPUs for this
//! target:" and its CPUs on stderr, which is captured once (stderr is
//! pointed at an unlinked temporary file for that call).

use inkwell::targets::{CodeModel, InitializationConfig, RelocMode, Target, TargetMachine};
use inkwell::OptimizationLevel;
use std::io::{Read, Seek};
use std::os::fd::AsRawFd;
use std::sync::OnceLock;

/// The names `--target-cpu` accepts besides LLVM's CPUs.
pub const ALIASES: &[&str] = &["host", "native", "generic"];

/// LLVM's CPU names for the host triple (empty if they cannot be read).
pub fn llvm_cpus() -> &'static [String] {
    static CPUS: OnceLock<Vec<String>> = OnceLock::new();
    CPUS.get_or_init(|| parse_help(&capture_help().unwrap_or_default()))
}

/// Checks a `--target-cpu` value: an alias or a CPU LLVM knows. The error
/// names the value and the closest known name.
pub fn validate_cpu(target_cpu: &str) -> Result<(), crate::CodegenError> {
    if target_cpu.is_empty() || ALIASES.contains(&target_cpu) {
        return Ok(());
    }
    let cpus = llvm_cpus();
    if cpus.is_empty() {
        // the list could not be read: let LLVM decide, as before
        return Ok(());
    }
    if cpus.iter().any(|c| c == target_cpu) {
        return Ok(());
    }
    let mut msg = format!(
        "unknown CPU `{target_cpu}` for {}",
        TargetMachine::get_default_triple()
    );
    let all = ALIASES
        .iter()
        .copied()
        .chain(cpus.iter().map(String::as_str));
    if let Some(s) = nnc_diag::suggest::did_you_mean(target_cpu, all) {
        msg.push_str(&format!("; did you mean `{s}`?"));
    }
    msg.push_str(" (`host`, `generic`, `x86-64-v3` and LLVM's CPU names are accepted; `llc -mcpu=help` lists them)");
    Err(crate::CodegenError::UnknownCpu(msg))
}

/// The CPU names of LLVM's `-mcpu=help` text.
fn parse_help(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_cpus = false;
    for line in text.lines() {
        if line.starts_with("Available CPUs") {
            in_cpus = true;
            continue;
        }
        if line.starts_with("Available features") {
            break;
        }
        if in_cpus {
            if let Some((name, _)) = line.trim().split_once(" - ") {
                let name = name.trim();
                if !name.is_empty() {
                    out.push(name.to_string());
                }
            }
        }
    }
    out
}

/// Runs LLVM's CPU `help` with stderr redirected to a temporary file and
/// returns what it printed.
fn capture_help() -> Option<String> {
    Target::initialize_native(&InitializationConfig::default()).ok()?;
    let triple = TargetMachine::get_default_triple();
    let target = Target::from_triple(&triple).ok()?;
    let mut tmp = tempfile::tempfile().ok()?;
    // SAFETY: plain descriptor calls on valid descriptors; fd 2 is restored
    // before returning.
    let saved = unsafe { libc::dup(2) };
    if saved < 0 {
        return None;
    }
    unsafe { libc::dup2(tmp.as_raw_fd(), 2) };
    let tm = target.create_target_machine(
        &triple,
        "help",
        "",
        OptimizationLevel::None,
        RelocMode::PIC,
        CodeModel::Default,
    );
    drop(tm);
    unsafe {
        libc::dup2(saved, 2);
        libc::close(saved);
    }
    let mut s = String::new();
    tmp.rewind().ok()?;
    tmp.read_to_string(&mut s).ok()?;
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llvm_lists_the_usual_cpus() {
        let cpus = llvm_cpus();
        for c in ["x86-64", "x86-64-v3", "znver3", "skylake-avx512"] {
            assert!(cpus.iter().any(|x| x == c), "{c} missing from {cpus:?}");
        }
        assert!(!cpus.iter().any(|x| x == "help"));
    }

    #[test]
    fn unknown_cpus_are_errors_with_a_suggestion() {
        for ok in ["host", "generic", "native", "x86-64-v3", "znver3"] {
            assert_eq!(validate_cpu(ok), Ok(()), "{ok}");
        }
        let e = validate_cpu("zzz").unwrap_err().to_string();
        assert!(e.contains("unknown CPU `zzz`"), "{e}");
        let e = validate_cpu("znver33").unwrap_err().to_string();
        assert!(e.contains("did you mean `znver3`"), "{e}");
    }
}
