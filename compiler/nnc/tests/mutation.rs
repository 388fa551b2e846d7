//! Mutation test: truncations and random byte edits of every example must
//! give exit 0 (still valid) or 1 (diagnosed) from `nnc check` — never a
//! panic (101), a crash by signal, or a hang.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == "nn"));
    v.sort();
    v
}

/// splitmix64: a tiny deterministic generator (no dependency needed).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn check(bin: &str, bytes: &[u8], dir: &Path, what: &str) -> Result<(), String> {
    let path = dir.join("mutant.nn");
    std::fs::write(&path, bytes).unwrap();
    let start = Instant::now();
    let mut child = Command::new(bin)
        .arg("check")
        .arg(&path)
        .args(["--color", "never", "--message-format", "short"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return match status.code() {
                Some(0) | Some(1) => Ok(()),
                other => {
                    let mut err = String::new();
                    if let Some(mut e) = child.stderr.take() {
                        use std::io::Read;
                        let _ = e.read_to_string(&mut err);
                    }
                    let keep = dir.join(format!("crash-{}.nn", what.replace(['/', ' '], "_")));
                    let _ = std::fs::write(&keep, bytes);
                    Err(format!("{what}: exit {other:?}\n{err}"))
                }
            };
        }
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            return Err(format!("{what}: hung for 20 s"));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn mutated_examples_never_crash() {
    let bin = env!("CARGO_BIN_EXE_nnc");
    let dir = tempfile::tempdir().unwrap();
    let exs = examples();
    assert!(!exs.is_empty(), "no examples found");
    let mut failures = Vec::new();
    let mut rng = Rng(0x5eed);
    let mut runs = 0;
    for ex in &exs {
        let src = std::fs::read(ex).unwrap();
        let name = ex.file_name().unwrap().to_string_lossy().into_owned();
        // truncations at evenly spaced points
        for k in 1..12 {
            let at = src.len() * k / 12;
            runs += 1;
            if let Err(e) = check(
                bin,
                &src[..at],
                dir.path(),
                &format!("{name} truncated at {at}"),
            ) {
                failures.push(e);
            }
        }
        // random byte edits: replace, insert, delete, 1 to 3 at a time
        let interesting = b"(){}[];,.=+-*/%<>!&|\"#0123456789_ \nxyz";
        for i in 0..30 {
            let mut m = src.clone();
            for _ in 0..=rng.below(3) {
                if m.is_empty() {
                    break;
                }
                let at = rng.below(m.len());
                let byte = if rng.below(4) == 0 {
                    rng.next() as u8
                } else {
                    interesting[rng.below(interesting.len())]
                };
                match rng.below(3) {
                    0 => m[at] = byte,
                    1 => m.insert(at, byte),
                    _ => {
                        m.remove(at);
                    }
                }
            }
            runs += 1;
            if let Err(e) = check(bin, &m, dir.path(), &format!("{name} edit {i}")) {
                failures.push(e);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {runs} mutants failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
