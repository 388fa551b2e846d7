//! `nnc calibrate` writes its cache (`$XDG_CACHE_HOME/nnc/host.json`) by
//! the output-file rules of docs/outputs.md: replaced atomically (a hard
//! link to the old cache keeps the old text), its mode kept, a symlink
//! followed.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

fn calibrate(cache_home: &std::path::Path) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_nnc"))
        .args(["calibrate", "--json", "--quick"])
        .env("XDG_CACHE_HOME", cache_home)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(!err.contains("could not cache"), "{err}");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn the_cache_is_replaced_atomically_and_keeps_its_mode() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("nnc");
    std::fs::create_dir(&dir).unwrap();
    let cache = dir.join("host.json");
    std::fs::write(&cache, "old\n").unwrap();
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o600)).unwrap();
    // a second name for the old cache: an in-place write would change it too
    let other = home.path().join("other.json");
    std::fs::hard_link(&cache, &other).unwrap();

    let printed = calibrate(home.path());
    assert_eq!(std::fs::read_to_string(&other).unwrap(), "old\n");
    let text = std::fs::read_to_string(&cache).unwrap();
    assert_eq!(text.trim(), printed.trim());
    let mode = std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // no temporary file left beside it
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
}

#[test]
fn a_symlinked_cache_is_followed_and_stays_a_link() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("nnc");
    std::fs::create_dir(&dir).unwrap();
    let real = home.path().join("real.json");
    std::fs::write(&real, "old\n").unwrap();
    let cache = dir.join("host.json");
    std::os::unix::fs::symlink(&real, &cache).unwrap();

    let printed = calibrate(home.path());
    assert!(std::fs::symlink_metadata(&cache)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        std::fs::read_to_string(&real).unwrap().trim(),
        printed.trim()
    );
}

/// A cache written by a newer nnc binary (another version, built later) is
/// never replaced by this older one: the measurement is printed, stderr
/// says why the cache was kept, and `--force` replaces it.
#[test]
fn an_older_binary_keeps_a_newer_binarys_cache() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("nnc");
    std::fs::create_dir(&dir).unwrap();
    let cache = dir.join("host.json");
    let newer = "{\"version\": 4, \"nnc_version\": \"9.9.9+future\", \"nnc_built\": 99999999999}\n";
    std::fs::write(&cache, newer).unwrap();
    let run = |force: bool| {
        let mut args = vec!["calibrate", "--json", "--quick"];
        if force {
            args.push("--force");
        }
        Command::new(env!("CARGO_BIN_EXE_nnc"))
            .args(args)
            .env("XDG_CACHE_HOME", home.path())
            .output()
            .unwrap()
    };
    let o = run(false);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("not replacing the calibration cache"), "{err}");
    assert!(
        err.contains("9.9.9+future") && err.contains("--force"),
        "{err}"
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("peak_gflops"));
    assert_eq!(std::fs::read_to_string(&cache).unwrap(), newer);
    // a newer layout is kept too
    let layout = "{\"version\": 999, \"nnc_version\": \"\"}\n";
    std::fs::write(&cache, layout).unwrap();
    let o = run(false);
    assert!(String::from_utf8_lossy(&o.stderr).contains("layout"));
    assert_eq!(std::fs::read_to_string(&cache).unwrap(), layout);
    // --force replaces it
    let o = run(true);
    assert_eq!(o.status.code(), Some(0));
    let text = std::fs::read_to_string(&cache).unwrap();
    assert!(text.contains("nnc_built"), "{text}");
    assert!(!text.contains("future"));
    // and this binary's own cache is replaced without --force
    let o = run(false);
    assert!(!String::from_utf8_lossy(&o.stderr).contains("not replacing"));
}

/// `--refresh` rescales a cached kernel model by the speed measured now and
/// `--probe` only prints it; both refuse to run without a model to rescale
/// (no cache, or a `--quick` one) and then leave the cache as it was.
#[test]
fn refresh_rescales_a_cached_model_and_probe_writes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let cache = home.path().join("nnc").join("host.json");
    let nnc = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_nnc"))
            .args(args)
            .env("XDG_CACHE_HOME", home.path())
            .output()
            .unwrap()
    };
    for flag in ["--refresh", "--probe"] {
        let o = nnc(&["calibrate", flag]);
        assert_eq!(o.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&o.stderr).contains("run `nnc calibrate`"));
        assert!(!cache.exists());
    }
    // a quick calibration has no model: refused, the cache unchanged
    let quick = calibrate(home.path());
    let o = nnc(&["calibrate", "--refresh"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--quick"));
    assert_eq!(
        std::fs::read_to_string(&cache).unwrap().trim(),
        quick.trim()
    );
    // give it a model fitted at 1 GFLOP/s: any CPU is faster than that now
    let mut v: serde_json::Value = serde_json::from_str(&quick).unwrap();
    v["model"] =
        serde_json::json!({"cores": 1, "peak_gflops_1t": 1.0, "bandwidth": [], "classes": {}});
    let with_model = serde_json::to_string(&v).unwrap();
    std::fs::write(&cache, &with_model).unwrap();
    let o = nnc(&["calibrate", "--probe", "--json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let p: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(p["speed"].as_f64().unwrap() > 1.0, "{p}");
    assert_eq!(p["cached_speed"].as_f64(), Some(1.0));
    assert_eq!(std::fs::read_to_string(&cache).unwrap(), with_model);
    let o = nnc(&["calibrate", "--refresh", "--json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let c: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cache).unwrap()).unwrap();
    assert_eq!(c["model"]["speed"], r["speed"]);
    assert_eq!(c["refreshed"]["speed"], r["speed"]);
    assert_eq!(c["peak_gflops"], v["peak_gflops"], "the rest is kept");
}
