//! Output files of `nnc` never destroy anything (docs/outputs.md): no device, FIFO or directory replaced, no input overwritten, two
//! outputs never on one file, modes kept, symlinks followed, nothing left
//! behind by a killed build, stdout errors reported with exit 2; and the
//! single defects of `fix`, `--emit asm`, `--list-platforms`, `--weights`.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const NET: &str = "network tiny {\n    input x: [1, 16];\n    let h = relu(linear(x, out = 8, name = \"fc\"));\n    output y = linear(h, out = 4, name = \"head\");\n}\n";

fn nnc(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nnc"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run nnc")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh directory with `tiny.nn` in it.
fn setup() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::Builder::new()
        .prefix("outputs")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let src = d.path().join("tiny.nn");
    std::fs::write(&src, NET).unwrap();
    (d, src)
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn is_root() -> bool {
    // the owner of a file just created is the effective user
    let (d, _) = setup();
    let m = std::fs::metadata(d.path()).unwrap();
    std::os::unix::fs::MetadataExt::uid(&m) == 0
}

#[test]
fn dev_null_stays_a_device() {
    if !is_root() {
        eprintln!("skipped: only root can replace /dev/null");
        return;
    }
    let (d, _) = setup();
    for args in [
        &["build", "tiny.nn", "-o", "/dev/null"][..],
        &["graph", "tiny.nn", "-o", "/dev/null"],
        &["run", "tiny.nn", "-o", "/dev/null"],
        &["analyze", "tiny.nn", "--plot", "/dev/null"],
        &["build", "tiny.nn", "--emit", "obj", "-o", "/dev/null"],
    ] {
        let o = nnc(args, d.path());
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        let m = std::fs::metadata("/dev/null").unwrap();
        assert!(
            m.file_type().is_char_device(),
            "{args:?} replaced /dev/null"
        );
    }
}

#[test]
fn fifo_is_written_through() {
    let (d, _) = setup();
    let fifo = d.path().join("pipe");
    let st = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(st.success());
    // the reader is a process, so a regression (the FIFO replaced) cannot hang the test
    let mut reader = Command::new("cat")
        .arg(&fifo)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let o = nnc(&["graph", "tiny.nn", "-o", "pipe"], d.path());
    let mut done = false;
    for _ in 0..2000 {
        if reader.try_wait().unwrap().is_some() {
            done = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    if !done {
        let _ = reader.kill();
    }
    let text = String::from_utf8_lossy(&reader.wait_with_output().unwrap().stdout).into_owned();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(done, "nothing was written to the FIFO");
    assert!(text.starts_with("digraph"), "{text}");
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
}

#[test]
fn directories_and_sockets_are_refused() {
    let (d, _) = setup();
    std::fs::create_dir(d.path().join("sub")).unwrap();
    let _sock = std::os::unix::net::UnixListener::bind(d.path().join("sock")).unwrap();
    for args in [
        &["graph", "tiny.nn", "-o", "sub"][..],
        &["build", "tiny.nn", "-o", "sub"],
        &["graph", "tiny.nn", "-o", "sock"],
        &["run", "tiny.nn", "-o", "sock"],
    ] {
        let o = nnc(args, d.path());
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let e = stderr(&o);
        assert!(e.contains("a directory") || e.contains("a socket"), "{e}");
    }
    assert!(std::fs::metadata(d.path().join("sock"))
        .unwrap()
        .file_type()
        .is_socket());
}

#[test]
fn never_writes_onto_an_input() {
    let (d, src) = setup();
    for args in [
        &["build", "tiny.nn", "-o", "tiny.nn"][..],
        &["build", "tiny.nn", "-o", "./tiny.nn"],
        &["graph", "tiny.nn", "-o", "tiny.nn"],
        &["analyze", "tiny.nn", "--plot", "tiny.nn"],
        &["run", "tiny.nn", "-o", "tiny.nn"],
    ] {
        let o = nnc(args, d.path());
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("refusing to overwrite the input"));
        assert_eq!(std::fs::read_to_string(&src).unwrap(), NET, "{args:?}");
    }
    // the default output name is the network's name: here the source itself
    std::fs::write(d.path().join("tiny"), NET).unwrap();
    let o = nnc(&["build", "tiny"], d.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("-o"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(d.path().join("tiny")).unwrap(), NET);
}

#[test]
fn run_keeps_its_input_and_both_outputs() {
    let (d, _) = setup();
    let o = nnc(&["run", "tiny.nn", "--seed", "3", "-o", "x.npy"], d.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // tiny's output has the input's shape class only by chance; use it as input
    std::fs::write(
        d.path().join("in.nn"),
        "network id4 {\n    input x: [1, 4];\n    output y = relu(x);\n    output z = relu(x);\n}\n",
    )
    .unwrap();
    let before = std::fs::read(d.path().join("x.npy")).unwrap();
    let o = nnc(
        &["run", "in.nn", "--input", "x.npy", "--output", "y=./x.npy"],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(std::fs::read(d.path().join("x.npy")).unwrap(), before);
    let o = nnc(
        &[
            "run",
            "in.nn",
            "--output",
            "y=o.npy",
            "--output",
            "z=./o.npy",
        ],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("same file"), "{}", stderr(&o));
    assert!(!d.path().join("o.npy").exists());
}

#[test]
fn modes_are_kept_and_new_files_honour_the_umask() {
    let (d, _) = setup();
    let out = d.path().join("g.dot");
    std::fs::write(&out, "old").unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o640)).unwrap();
    let o = nnc(&["graph", "tiny.nn", "-o", "g.dot"], d.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    // a new file: 0666 less the umask (022 here), not tempfile's 0600
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "umask 022 && exec '{}' graph tiny.nn -o new.dot",
            env!("CARGO_BIN_EXE_nnc")
        ))
        .current_dir(d.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mode = std::fs::metadata(d.path().join("new.dot"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o644);
}

#[test]
fn fix_in_place_through_a_symlink_writes_the_target() {
    let (d, _) = setup();
    let ex = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/g1_1_6_stem.nn");
    let target = d.path().join("real.nn");
    std::fs::copy(&ex, &target).unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o664)).unwrap();
    std::os::unix::fs::symlink("real.nn", d.path().join("link.nn")).unwrap();
    // the MAC objective: independent of this machine's calibration
    let o = nnc(
        &["fix", "--rebalance", "link.nn", "--objective", "mac"],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let link = std::fs::symlink_metadata(d.path().join("link.nn")).unwrap();
    assert!(link.file_type().is_symlink(), "the symlink was replaced");
    let new = std::fs::read_to_string(&target).unwrap();
    assert_ne!(
        new,
        std::fs::read_to_string(&ex).unwrap(),
        "target not rewritten"
    );
    let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o664);
}

#[test]
fn fix_diff_shows_and_writes_nothing() {
    let (d, _) = setup();
    let ex = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/g1_1_6_stem.nn");
    let path = d.path().join("g.nn");
    std::fs::copy(&ex, &path).unwrap();
    let before = std::fs::read_to_string(&path).unwrap();
    let o = nnc(
        &["fix", "--rebalance", "g.nn", "--diff", "--objective", "mac"],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("--- a/g.nn"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
    assert!(!stderr(&o).contains("wrote"), "{}", stderr(&o));
}

#[test]
fn fix_output_is_written_with_nothing_to_fix() {
    let (d, _) = setup();
    let o = nnc(&["fix", "tiny.nn", "-o", "out.nn"], d.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(d.path().join("out.nn")).unwrap(),
        NET
    );
}

#[test]
fn stdout_errors_exit_2() {
    let (d, _) = setup();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    for args in [
        &["graph", "tiny.nn"][..],
        &["analyze", "tiny.nn", "--format", "json"],
        &["analyze", "tiny.nn"],
        &["run", "tiny.nn"],
        &["explain", "E0101"],
        &["check", "tiny.nn", "--message-format", "json"],
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_nnc"))
            .args(args)
            .current_dir(d.path())
            .stdout(Stdio::from(full.try_clone().unwrap()))
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let e = stderr(&o);
        assert!(!e.contains("internal compiler error"), "{args:?}: {e}");
        // `check` prints nothing on stdout for a clean file
        if args[0] != "check" {
            assert_eq!(o.status.code(), Some(2), "{args:?}: {e}");
            assert!(e.contains("standard output"), "{e}");
        }
    }
}

#[test]
fn list_platforms_needs_no_file() {
    let (d, _) = setup();
    let o = nnc(&["analyze", "--list-platforms"], d.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("zen3-2c"));
    let o = nnc(&["analyze"], d.path());
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn weights_directory_is_a_directory() {
    let (d, _) = setup();
    std::fs::create_dir(d.path().join("w")).unwrap();
    for cmd in ["build", "run"] {
        let o = nnc(&[cmd, "tiny.nn", "--weights", "w"], d.path());
        assert_eq!(o.status.code(), Some(2));
        assert!(stderr(&o).contains("is a directory"), "{}", stderr(&o));
    }
}

#[test]
fn emit_asm_and_ir_build_from_anywhere_and_keep_other_files() {
    let (d, _) = setup();
    // an unrelated file with the old companion name
    std::fs::write(d.path().join("tiny.weights.bin"), "mine").unwrap();
    for emit in ["asm", "llvm-ir"] {
        let o = nnc(&["build", "tiny.nn", "--emit", emit], d.path());
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    assert_eq!(
        std::fs::read_to_string(d.path().join("tiny.weights.bin")).unwrap(),
        "mine"
    );
    // the IR refers to the kept blob beside it, by absolute path
    let blob = d.path().join("tiny.ll.weights.bin");
    assert!(blob.is_file());
    let ir = std::fs::read_to_string(d.path().join("tiny.ll")).unwrap();
    assert!(ir.contains(blob.canonicalize().unwrap().to_str().unwrap()));
    // both turn into objects from another directory
    let elsewhere = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let o = Command::new(&cc)
        .arg("-c")
        .arg(d.path().join("tiny.s"))
        .arg("-o")
        .arg("s.o")
        .current_dir(elsewhere.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    // the IR is LLVM 19's (opaque pointers): an older default `llc` cannot read it
    match Command::new("llc-19")
        .args(["-filetype=obj", "-o", "ll.o"])
        .arg(d.path().join("tiny.ll"))
        .current_dir(elsewhere.path())
        .output()
    {
        Ok(o) => assert!(o.status.success(), "llc: {}", stderr(&o)),
        Err(_) => eprintln!("skipped: no llc-19 to compile the IR"),
    }
}

#[test]
fn killed_build_leaves_nothing_behind() {
    let (d, _) = setup();
    let tmp = d.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let out = d.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let ex = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/mobilenet_v2.nn");
    let mut child = Command::new(env!("CARGO_BIN_EXE_nnc"))
        .args(["build", ex.to_str().unwrap(), "-O0", "-o"])
        .arg(out.join("net"))
        .env("TMPDIR", &tmp)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // wait until the build's temporary directory exists, then SIGTERM it
    let mut seen = false;
    for _ in 0..6000 {
        if !listing(&tmp).is_empty() {
            seen = true;
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(seen, "the build never created its temporary directory");
    std::thread::sleep(std::time::Duration::from_millis(200));
    let st = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let status = child.wait().unwrap();
    assert!(!status.success());
    assert_eq!(listing(&tmp), Vec::<String>::new(), "left in $TMPDIR");
    assert_eq!(
        listing(&out),
        Vec::<String>::new(),
        "left beside the output"
    );
}

#[test]
fn crafted_calibration_cache_is_rejected() {
    let (d, _) = setup();
    let cache = d.path().join("cache");
    std::fs::create_dir_all(cache.join("nnc")).unwrap();
    // a cache in `nnc calibrate`'s format with a denormal bandwidth
    let text = format!(
        "{{\"version\": {}, \"cpu\": \"x\", \"threads\": 1, \"isa\": \"scalar\", \"peak_gflops\": 10.0, \"peak_gflops_1t\": 10.0, \"avx512_gflops\": null, \"peak_gflops_wall\": 10.0, \"bandwidth_gbs\": 1e-310, \"bandwidth_gbs_wall\": 1e-310, \"timing\": \"x\", \"bandwidth_gbs_1t\": 1e-310, \"seconds\": 1.0, \"timestamp\": 0}}",
        nnc_analysis::calibrate::CACHE_VERSION
    );
    std::fs::write(cache.join("nnc/host.json"), text).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_nnc"))
        .args(["build", "tiny.nn", "--platform", "host"])
        .current_dir(d.path())
        .env("XDG_CACHE_HOME", &cache)
        .output()
        .unwrap();
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("implausible"), "{e}");
    // the default is the built-in profile, whatever the cache says
    let o = Command::new(env!("CARGO_BIN_EXE_nnc"))
        .args(["build", "tiny.nn"])
        .current_dir(d.path())
        .env("XDG_CACHE_HOME", &cache)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("platform `zen3-2c`"), "{}", stderr(&o));
}

#[test]
fn executable_records_its_predictions_and_fails_on_a_full_disk() {
    let (d, _) = setup();
    let o = nnc(&["build", "tiny.nn", "-o", "tiny"], d.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let exe = d.path().join("tiny");
    let o = Command::new(&exe)
        .args(["--profile", "--bench", "3", "--threads", "2"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("predicted times from platform `zen3-2c` (built-in profile)"),
        "{out}"
    );
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let o = Command::new(&exe)
        .stdout(Stdio::from(full))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("standard output"), "{}", stderr(&o));
    // the executable's -o: a device is written through, not replaced
    if is_root() {
        let o = Command::new(&exe)
            .args(["-o", "/dev/null"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device());
    }
}
