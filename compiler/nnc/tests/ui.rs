//! UI tests, compiletest-style: every `tests/ui/**/*.nn` is checked with
//! `nnc check --color never`, and its stderr is compared with the `.stderr`
//! file beside it. `NNC_BLESS=1 cargo test -p nnc --test ui` rewrites the
//! expected files.
//!
//! Header comments in a case (first lines only):
//! - `// check-pass`: expect exit 0 (the default is exit 1);
//! - `// exit: N`: expect exit code N;
//! - `// compile-flags: -D warnings ...`: extra arguments for `nnc check`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn cases(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            cases(&p, out);
        } else if p.extension().is_some_and(|e| e == "nn") {
            out.push(p);
        }
    }
}

struct Header {
    exit: i32,
    flags: Vec<String>,
}

fn header(src: &str) -> Header {
    let mut h = Header {
        exit: 1,
        flags: Vec::new(),
    };
    for line in src.lines() {
        let Some(c) = line.trim().strip_prefix("//") else {
            break;
        };
        let c = c.trim();
        if c == "check-pass" {
            h.exit = 0;
        } else if let Some(n) = c.strip_prefix("exit:") {
            h.exit = n.trim().parse().expect("bad exit header");
        } else if let Some(f) = c.strip_prefix("compile-flags:") {
            h.flags.extend(f.split_whitespace().map(String::from));
        }
    }
    h
}

#[test]
fn ui() {
    let root = repo_root();
    let mut all = Vec::new();
    cases(&root.join("tests/ui"), &mut all);
    assert!(!all.is_empty(), "no UI tests found under tests/ui");
    let bless = nnc_diag::bless::enabled();
    let bin = env!("CARGO_BIN_EXE_nnc");
    let mut failures = Vec::new();
    for case in &all {
        let rel = case.strip_prefix(&root).unwrap();
        let src = String::from_utf8_lossy(&std::fs::read(case).unwrap()).into_owned();
        let h = header(&src);
        let out = Command::new(bin)
            .current_dir(&root)
            .arg("check")
            .arg(rel)
            .args(["--color", "never"])
            .args(&h.flags)
            .env_remove("NO_COLOR")
            .output()
            .expect("run nnc");
        let code = out.status.code().unwrap_or(-1);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let expected_path = case.with_extension("stderr");
        if code != h.exit {
            failures.push(format!(
                "{}: exit code {code}, expected {}\n{stderr}",
                rel.display(),
                h.exit
            ));
            continue;
        }
        if bless {
            if stderr.is_empty() {
                let _ = std::fs::remove_file(&expected_path);
            } else {
                nnc_diag::bless::compare(&expected_path, &stderr);
            }
            continue;
        }
        if let Some(expected) = nnc_diag::bless::compare(&expected_path, &stderr) {
            failures.push(format!(
                "{}: stderr differs (NNC_BLESS=1 to update)\n--- expected\n{expected}\n--- actual\n{stderr}",
                rel.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} UI tests failed:\n\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}
