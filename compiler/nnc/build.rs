//! Builds the runtime (`runtime/src/lib.rs`, std only) into a static library
//! with plain `rustc` calls (first its one dependency, the std-only `.npy`
//! crate `compiler/npy`, as an rlib; then the runtime itself), so that `nnc` can embed it
//! (`src/runtime_lib.rs`) and link executables with nothing but `cc` at
//! `nnc build` time. Also records the native libraries the archive needs
//! (`rustc --print native-static-libs`).

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn rerun_for_dir(dir: &Path) {
    println!("cargo:rerun-if-changed={}", dir.display());
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            if p.is_dir() {
                rerun_for_dir(&p);
            } else {
                println!("cargo:rerun-if-changed={}", p.display());
            }
        }
    }
}

/// FNV-1a over the paths and contents of the files under `dir` (sorted).
fn fingerprint(dir: &Path, h: &mut u64) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            fingerprint(&p, h);
        } else if let Ok(b) = std::fs::read(&p) {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            for &x in name.unwrap_or_default().as_bytes().iter().chain(&b) {
                *h = (*h ^ u64::from(x)).wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
}

/// A rustc command for one of the runtime's crates: edition, crate type and
/// name, the optimization and panic strategy they share, the target.
fn rustc_cmd(rustc: &str, crate_type: &str, name: &str) -> Command {
    let mut cmd = Command::new(rustc);
    cmd.args([
        "--edition",
        "2021",
        "--crate-type",
        crate_type,
        "--crate-name",
        name,
    ]);
    cmd.args([
        "-C",
        "opt-level=3",
        "-C",
        "panic=abort",
        "-C",
        "debuginfo=0",
    ]);
    if let Ok(t) = env::var("TARGET") {
        cmd.args(["--target", &t]);
    }
    cmd
}

/// Runs rustc on the std-only `.npy` crate, giving the rlib the runtime is
/// linked with (same target, optimization and panic strategy).
fn compile_npy(rustc: &str, lib_rs: &Path, out: &Path) -> Result<(), String> {
    let mut cmd = rustc_cmd(rustc, "rlib", "nnc_npy");
    cmd.args(["-C", "embed-bitcode=yes"]);
    cmd.arg("-o").arg(out).arg(lib_rs);
    let o = cmd
        .output()
        .map_err(|e| format!("cannot run `{rustc}`: {e}"))?;
    if o.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{rustc}` failed on the .npy crate ({}):\n{}",
            o.status,
            String::from_utf8_lossy(&o.stderr)
        ))
    }
}

/// Runs rustc on the runtime; returns rustc's stderr on success.
fn compile(
    rustc: &str,
    lib_rs: &Path,
    npy_rlib: &Path,
    out: &Path,
    lto: bool,
) -> Result<String, String> {
    let mut cmd = rustc_cmd(rustc, "staticlib", "nnc_runtime");
    let mut extern_npy = std::ffi::OsString::from("nnc_npy=");
    extern_npy.push(npy_rlib);
    cmd.arg("--extern").arg(extern_npy);
    cmd.args(["--cfg", "nnc_runtime_exe", "--print", "native-static-libs"]);
    if lto {
        // One object with only what `main` and the ABI functions reach:
        // a 3x smaller archive and a faster link.
        cmd.args(["-C", "lto=fat", "-C", "codegen-units=1"]);
    }
    cmd.arg("-o").arg(out).arg(lib_rs);
    cmd.env(
        "NNC_RUNTIME_VERSION",
        env::var("CARGO_PKG_VERSION").unwrap_or_else(|_| "unknown".into()),
    );
    let o = cmd
        .output()
        .map_err(|e| format!("cannot run `{rustc}`: {e}"))?;
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    if o.status.success() {
        Ok(stderr)
    } else {
        Err(format!("`{rustc}` failed ({}):\n{stderr}", o.status))
    }
}

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    let rt_src = manifest.join("../../runtime/src");
    let lib_rs = rt_src.join("lib.rs");
    let npy_src = manifest.join("../npy/src");
    println!("cargo:rerun-if-changed=build.rs");
    rerun_for_dir(&rt_src);
    rerun_for_dir(&npy_src);
    println!("cargo:rerun-if-env-changed=RUSTC");
    // the calibration cache (`nnc calibrate`) is stale when the kernels change
    let cg_src = manifest.join("../codegen/src");
    rerun_for_dir(&cg_src);
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    fingerprint(&cg_src, &mut h);
    fingerprint(&rt_src, &mut h);
    println!("cargo:rustc-env=NNC_KERNELS_FINGERPRINT={h:016x}");

    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let npy_rlib = out_dir.join("libnnc_npy.rlib");
    if let Err(e) = compile_npy(&rustc, &npy_src.join("lib.rs"), &npy_rlib) {
        panic!("building the nnc runtime failed:\n{e}");
    }
    let archive = out_dir.join("libnnc_runtime.a");
    let stderr = match compile(&rustc, &lib_rs, &npy_rlib, &archive, true) {
        Ok(s) => s,
        Err(lto_err) => match compile(&rustc, &lib_rs, &npy_rlib, &archive, false) {
            Ok(s) => {
                println!(
                    "cargo:warning=runtime built without LTO (LTO failed: {})",
                    lto_err.lines().next().unwrap_or("")
                );
                s
            }
            Err(e) => panic!("building the nnc runtime failed:\n{e}"),
        },
    };
    let libs = stderr
        .lines()
        .find_map(|l| {
            l.split_once("native-static-libs:")
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc".to_string());
    println!("cargo:rustc-env=NNC_RUNTIME_NATIVE_LIBS={libs}");
}
