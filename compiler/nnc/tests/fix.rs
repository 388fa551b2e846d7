//! End-to-end tests of `nnc fix` (the binary, on temporary copies of files):
//! what is written where, exit codes, the diff, and that the rebalanced G1
//! stack passes `nnc check` without the `unbalanced_channels` lint. Also the
//! golden cases `tests/ui/fix/*.nn`: the result of `nnc fix --rebalance`
//! (with the flags of a `// fix-flags:` header line) must equal the `.fixed`
//! file beside each; `NNC_BLESS=1` rewrites them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Runs nnc. `--rebalance` runs get `--objective mac --platform zen3-2c`
/// unless they choose: these tests check the rewriting against golden
/// files, which must not depend on this machine's calibration.
fn nnc(args: &[&str], dir: &Path) -> Output {
    let mut args: Vec<&str> = args.to_vec();
    if args.contains(&"--rebalance") && !args.contains(&"--objective") {
        args.extend(["--objective", "mac", "--platform", "zen3-2c"]);
    }
    Command::new(env!("CARGO_BIN_EXE_nnc"))
        .current_dir(dir)
        .args(&args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run nnc")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A temporary directory holding a copy of `examples/NAME` as `NAME`.
fn copy_example(name: &str) -> (tempfile::TempDir, PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo_root().join("examples").join(name)).unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, &text).unwrap();
    (dir, path, text)
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The lint codes of `nnc check --message-format json` on a file.
fn lints(path: &Path, dir: &Path) -> (i32, Vec<String>) {
    let o = nnc(
        &["check", path.to_str().unwrap(), "--message-format", "json"],
        dir,
    );
    let mut names = Vec::new();
    for line in stdout(&o).lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        if let Some(l) = v["lint"].as_str() {
            names.push(l.to_string());
        }
    }
    (o.status.code().unwrap_or(-1), names)
}

#[test]
fn dry_run_writes_nothing() {
    let (dir, path, text) = copy_example("g1_1_6_stem.nn");
    let before = listing(dir.path());
    let o = nnc(
        &["fix", "--rebalance", "--dry-run", "g1_1_6_stem.nn"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    assert_eq!(listing(dir.path()), before);
    let out = stdout(&o);
    assert!(out.contains("rewritten width literals:"), "{out}");
    assert!(out.contains("52 → "), "{out}");
}

#[test]
fn output_flag_writes_there_and_leaves_the_input() {
    let (dir, path, text) = copy_example("g1_1_6_stem.nn");
    let o = nnc(
        &["fix", "--rebalance", "g1_1_6_stem.nn", "-o", "out.nn"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    let new = std::fs::read_to_string(dir.path().join("out.nn")).unwrap();
    assert_ne!(new, text);
    assert!(!new.contains("let c1 = 52;"), "{new}");
    assert_eq!(listing(dir.path()), vec!["g1_1_6_stem.nn", "out.nn"]);
    // the comments are all still there
    let comments = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| l.trim_start().starts_with("//"))
            .map(String::from)
            .collect()
    };
    assert_eq!(comments(&new), comments(&text));
}

#[test]
fn in_place_rewrite_checks_clean_and_silences_the_lint() {
    let (dir, path, text) = copy_example("g1_1_6_stem.nn");
    let (code, before) = lints(&path, dir.path());
    assert_eq!(code, 0);
    assert!(
        before.iter().any(|l| l == "unbalanced_channels"),
        "{before:?}"
    );
    let o = nnc(&["fix", "--rebalance", "g1_1_6_stem.nn"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("wrote"), "{}", stderr(&o));
    let new = std::fs::read_to_string(&path).unwrap();
    assert_ne!(new, text);
    // atomic: written through a temporary file in the same directory,
    // which is gone afterwards
    assert_eq!(listing(dir.path()), vec!["g1_1_6_stem.nn"]);
    let (code, after) = lints(&path, dir.path());
    assert_eq!(code, 0, "nnc check fails on the rebalanced file");
    assert!(
        !after.iter().any(|l| l == "unbalanced_channels"),
        "{after:?}"
    );
    let o = nnc(&["check", "g1_1_6_stem.nn", "-D", "warnings"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // a second run finds (almost) nothing left to do
    let o = nnc(
        &["fix", "--rebalance", "--dry-run", "g1_1_6_stem.nn"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn diff_is_unified() {
    let (dir, _, _) = copy_example("g1_1_6_stem.nn");
    let o = nnc(
        &[
            "fix",
            "--rebalance",
            "--dry-run",
            "--diff",
            "g1_1_6_stem.nn",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    let d = &out[out.find("--- a/").expect("diff header")..];
    let mut lines = d.lines();
    assert_eq!(lines.next(), Some("--- a/g1_1_6_stem.nn"));
    assert_eq!(lines.next(), Some("+++ b/g1_1_6_stem.nn"));
    assert!(lines.next().unwrap().starts_with("@@ -13,8 +13,8 @@"));
    let minus: Vec<&str> = d.lines().filter(|l| l.starts_with("-    ")).collect();
    let plus: Vec<&str> = d.lines().filter(|l| l.starts_with("+    ")).collect();
    assert_eq!(minus, vec!["-    let c1 = 52;", "-    let c2 = 312;"]);
    assert_eq!(plus.len(), 2);
    assert!(plus[0].starts_with("+    let c1 = "));
}

#[test]
fn bad_options_exit_2() {
    let (dir, path, text) = copy_example("g1_1_6_stem.nn");
    for bad in [
        &["--flops-tolerance", "abc"][..],
        &["--flops-tolerance", "150%"],
        &["--flops-tolerance", "-1%"],
        &["--flops-tolerance", "5"],
        &["--max-ratio", "0.5"],
        &["--simd-lanes", "0"],
    ] {
        let mut args = vec!["fix", "--rebalance", "g1_1_6_stem.nn"];
        args.extend_from_slice(bad);
        let o = nnc(&args, dir.path());
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("error"), "{bad:?}");
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    // good spellings of the tolerance
    for good in ["1%", "0.02", " 3 %"] {
        let o = nnc(
            &[
                "fix",
                "--rebalance",
                "--dry-run",
                "g1_1_6_stem.nn",
                "--flops-tolerance",
                good,
            ],
            dir.path(),
        );
        assert_eq!(o.status.code(), Some(0), "{good}: {}", stderr(&o));
    }
}

#[test]
fn file_with_errors_exits_1_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let text = "network bad {\n    input x: [1, 3, 8, 8];\n    let y = conv2d(x, out = 16, kernel = 1, bogus = 2);\n    output y = y;\n}\n";
    let path = dir.path().join("bad.nn");
    std::fs::write(&path, text).unwrap();
    for rebalance in [true, false] {
        let mut args = vec!["fix", "bad.nn"];
        if rebalance {
            args.push("--rebalance");
        }
        let o = nnc(&args, dir.path());
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(stderr(&o).contains("rror"), "{}", stderr(&o));
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    assert_eq!(listing(dir.path()), vec!["bad.nn"]);
}

#[test]
fn missing_file_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let o = nnc(&["fix", "--rebalance", "nope.nn"], dir.path());
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn fix_without_rebalance_on_a_clean_file() {
    let (dir, path, text) = copy_example("resnet18.nn");
    let o = nnc(&["fix", "resnet18.nn"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("nothing to fix"), "{}", stdout(&o));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    assert_eq!(listing(dir.path()), vec!["resnet18.nn"]);
}

#[test]
fn balanced_file_is_not_rewritten_in_place() {
    let (dir, path, text) = copy_example("g1_1_1.nn");
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    let o = nnc(&["fix", "--rebalance", "g1_1_1.nn"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("already balanced"), "{}", stdout(&o));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), mtime);
    assert!(!stderr(&o).contains("wrote"));
}

/// `// fix-flags: ...` from the header comments of a case.
fn fix_flags(src: &str) -> Vec<String> {
    let mut flags = Vec::new();
    for line in src.lines() {
        let Some(c) = line.trim().strip_prefix("//") else {
            break;
        };
        if let Some(f) = c.trim().strip_prefix("fix-flags:") {
            flags.extend(f.split_whitespace().map(String::from));
        }
    }
    flags
}

#[test]
fn golden_fixed_files() {
    let root = repo_root();
    let dir = root.join("tests/ui/fix");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "nn"))
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no cases in {}", dir.display());
    let bless = nnc_diag::bless::enabled();
    let tmp = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for case in &cases {
        let src = std::fs::read_to_string(case).unwrap();
        let name = case.file_name().unwrap().to_str().unwrap();
        let input = tmp.path().join(name);
        std::fs::write(&input, &src).unwrap();
        let out = tmp.path().join("out.nn");
        let _ = std::fs::remove_file(&out);
        let mut args: Vec<String> = vec![
            "fix".into(),
            "--rebalance".into(),
            name.into(),
            "-o".into(),
            "out.nn".into(),
        ];
        args.extend(fix_flags(&src));
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = nnc(&argv, tmp.path());
        if o.status.code() != Some(0) {
            failures.push(format!(
                "{name}: exit {:?}\n{}",
                o.status.code(),
                stderr(&o)
            ));
            continue;
        }
        assert_eq!(
            std::fs::read_to_string(&input).unwrap(),
            src,
            "{name}: input changed"
        );
        let got = std::fs::read_to_string(&out).unwrap();
        let fixed = case.with_extension("fixed");
        if bless {
            nnc_diag::bless::compare(&fixed, &got);
            continue;
        }
        if let Some(expected) = nnc_diag::bless::compare(&fixed, &got) {
            failures.push(format!(
                "{name}: result differs from {} (NNC_BLESS=1 to update)\n--- expected\n{expected}\n--- actual\n{got}",
                fixed.display()
            ));
        }
        // the result is clean for `nnc check`
        let o = nnc(&["check", "out.nn"], tmp.path());
        if o.status.code() != Some(0) {
            failures.push(format!("{name}: nnc check on the result: {}", stderr(&o)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
