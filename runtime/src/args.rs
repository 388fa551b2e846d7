//! The executable's command line, parsed (syntax only: names are resolved
//! against the model by [`crate::files`]).

use crate::pool;
use std::ffi::{OsStr, OsString};
use std::fmt;

/// Default number of timed runs of `--bench`.
pub const DEFAULT_BENCH_ITERS: usize = 50;
/// Largest `--bench` count accepted.
pub const MAX_BENCH_ITERS: usize = 10_000_000;
/// Number of profiled runs of `--profile` (without `--bench ITERS`).
pub const DEFAULT_PROFILE_RUNS: usize = 20;

/// The parsed command line, before names are resolved against the model.
#[derive(Debug, Default, PartialEq)]
pub struct Args {
    /// `--input` values, as given.
    pub inputs: Vec<OsString>,
    /// `--output` values, as given.
    pub outputs: Vec<OsString>,
    /// `-o` value.
    pub short_output: Option<OsString>,
    /// `--threads`.
    pub threads: Option<usize>,
    /// `--bench` (with its count or the default).
    pub bench: Option<usize>,
    /// `--profile`.
    pub profile: bool,
    /// `--json` (with `--profile`: the profile as one JSON object, nothing else).
    pub json: bool,
    /// `--profile-min`: per kernel, the shortest run instead of the mean
    /// (robust to other processes; used by `nnc calibrate`).
    pub profile_min: bool,
    /// `--seed`.
    pub seed: Option<u64>,
    /// `-h` / `--help`.
    pub help: bool,
    /// `-V` / `--version`.
    pub version: bool,
}

/// A command line that cannot be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArgError {
    /// A flag without its value (`what` names the value).
    MissingValue { flag: String, what: &'static str },
    /// A count out of `1..=max` (or not a number).
    Count {
        flag: String,
        value: String,
        max: usize,
    },
    /// A `--seed` that is not a `u64`.
    Seed(String),
    /// A value that is not UTF-8 (shown lossily).
    NotUtf8 { flag: String, value: String },
    /// A flag given twice.
    Twice(&'static str),
    /// An unknown flag, or an argument that is not UTF-8.
    Unexpected(String),
    /// A bare argument (a file given without `--input`).
    Stray(String),
    /// `--profile-min` without `--profile`.
    ProfileMinAlone,
    /// `--json` without `--profile`.
    JsonAlone,
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgError::MissingValue { flag, what } => write!(f, "`{flag}` needs a value: {what}"),
            ArgError::Count { flag, value, max } => write!(
                f,
                "invalid value `{value}` for `{flag}`: expected an integer from 1 to {max}"
            ),
            ArgError::Seed(v) => write!(
                f,
                "invalid value `{v}` for `--seed`: expected an integer from 0 to {}",
                u64::MAX
            ),
            ArgError::NotUtf8 { flag, value } => write!(f, "invalid value `{value}` for `{flag}`"),
            ArgError::Twice(flag) => write!(f, "`{flag}` given twice"),
            ArgError::Unexpected(s) => write!(f, "unexpected argument `{s}`"),
            ArgError::Stray(s) => write!(
                f,
                "unexpected argument `{s}` (inputs are given with `--input NAME=FILE.npy`)"
            ),
            ArgError::ProfileMinAlone => {
                f.write_str("`--profile-min` is a statistic of `--profile`: give both")
            }
            ArgError::JsonAlone => {
                f.write_str("`--json` is an output format of `--profile`: give both")
            }
        }
    }
}

impl std::error::Error for ArgError {}

fn parse_count(flag: &str, v: &str, max: usize) -> Result<usize, ArgError> {
    match v.parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(ArgError::Count {
            flag: flag.to_string(),
            value: v.to_string(),
            max,
        }),
    }
}

/// Parses the arguments after the program name (syntax only).
pub fn parse_args(argv: &[OsString]) -> Result<Args, ArgError> {
    let mut a = Args::default();
    let mut i = 0;
    // Takes the value of a flag: `--flag=V` or `--flag V`.
    fn value(
        argv: &[OsString],
        i: &mut usize,
        flag: &str,
        inline: Option<&OsStr>,
        what: &'static str,
    ) -> Result<OsString, ArgError> {
        if let Some(v) = inline {
            return Ok(v.to_os_string());
        }
        *i += 1;
        match argv.get(*i) {
            Some(v) => Ok(v.clone()),
            None => Err(ArgError::MissingValue {
                flag: flag.to_string(),
                what,
            }),
        }
    }
    fn utf8(flag: &str, v: OsString) -> Result<String, ArgError> {
        v.into_string().map_err(|v| ArgError::NotUtf8 {
            flag: flag.to_string(),
            value: v.to_string_lossy().into_owned(),
        })
    }
    while i < argv.len() {
        let raw = &argv[i];
        let Some(s) = raw.to_str() else {
            return Err(ArgError::Unexpected(raw.to_string_lossy().into_owned()));
        };
        let (flag, inline): (&str, Option<&OsStr>) = match s.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(OsStr::new(v))),
            _ => (s, None),
        };
        match flag {
            "-h" | "--help" if inline.is_none() => a.help = true,
            "-V" | "--version" if inline.is_none() => a.version = true,
            "--profile" if inline.is_none() => {
                if a.profile {
                    return Err(ArgError::Twice("--profile"));
                }
                a.profile = true
            }
            "--json" if inline.is_none() => {
                if a.json {
                    return Err(ArgError::Twice("--json"));
                }
                a.json = true
            }
            "--profile-min" if inline.is_none() => a.profile_min = true,
            "--input" => a
                .inputs
                .push(value(argv, &mut i, flag, inline, "NAME=FILE.npy")?),
            "--output" => a
                .outputs
                .push(value(argv, &mut i, flag, inline, "NAME=FILE.npy")?),
            "-o" => {
                if a.short_output.is_some() {
                    return Err(ArgError::Twice("-o"));
                }
                a.short_output = Some(value(argv, &mut i, flag, None, "FILE.npy")?);
            }
            "--threads" => {
                if a.threads.is_some() {
                    return Err(ArgError::Twice("--threads"));
                }
                let v = utf8(flag, value(argv, &mut i, flag, inline, "N")?)?;
                a.threads = Some(parse_count(flag, &v, pool::MAX_THREADS)?);
            }
            "--seed" => {
                if a.seed.is_some() {
                    return Err(ArgError::Twice("--seed"));
                }
                let v = utf8(flag, value(argv, &mut i, flag, inline, "S")?)?;
                a.seed = Some(v.parse::<u64>().map_err(|_| ArgError::Seed(v.clone()))?);
            }
            "--bench" => {
                if a.bench.is_some() {
                    return Err(ArgError::Twice("--bench"));
                }
                let n = match inline {
                    Some(v) => parse_count(flag, &v.to_string_lossy(), MAX_BENCH_ITERS)?,
                    None => match argv.get(i + 1).and_then(|v| v.to_str()) {
                        Some(v) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => {
                            i += 1;
                            parse_count(flag, v, MAX_BENCH_ITERS)?
                        }
                        _ => DEFAULT_BENCH_ITERS,
                    },
                };
                a.bench = Some(n);
            }
            _ => {
                return Err(if s.starts_with('-') {
                    ArgError::Unexpected(s.to_string())
                } else {
                    ArgError::Stray(s.to_string())
                })
            }
        }
        i += 1;
    }
    if a.profile_min && !a.profile {
        return Err(ArgError::ProfileMinAlone);
    }
    if a.json && !a.profile {
        return Err(ArgError::JsonAlone);
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn parses_flags() {
        let a = parse_args(&os(&[
            "--input",
            "x=a.npy",
            "--input=b.npy",
            "-o",
            "y.npy",
            "--threads=3",
            "--bench",
            "--profile",
            "--seed",
            "7",
        ]))
        .expect("ok");
        assert_eq!(a.inputs, os(&["x=a.npy", "b.npy"]));
        assert_eq!(a.short_output, Some(OsString::from("y.npy")));
        assert_eq!(a.threads, Some(3));
        assert_eq!(a.bench, Some(DEFAULT_BENCH_ITERS));
        assert!(a.profile);
        assert_eq!(a.seed, Some(7));
        assert_eq!(
            parse_args(&os(&["--bench", "12"])).expect("ok").bench,
            Some(12)
        );
        assert_eq!(parse_args(&os(&["--bench=5"])).expect("ok").bench, Some(5));
    }

    #[test]
    fn rejects_bad_flags() {
        for bad in [
            &["--threads"][..],
            &["--threads", "0"],
            &["--threads", "x"],
            &["--threads", "1", "--threads", "2"],
            &["--bench", "0"],
            &["--bench=abc"],
            &["--seed", "-1"],
            &["--frobnicate"],
            &["stray.npy"],
            &["-o"],
            &["--profile=1"],
        ] {
            assert!(parse_args(&os(bad)).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn json_needs_profile() {
        assert!(parse_args(&os(&["--json"])).is_err());
        let a = parse_args(&os(&["--profile", "--json"])).expect("ok");
        assert!(a.json && a.profile);
        assert!(parse_args(&os(&["--profile", "--json", "--json"])).is_err());
    }
}
