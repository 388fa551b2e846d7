//! The model description (`nnc_model_meta`, see `runtime/ABI.md`), parsed
//! strictly: any deviation from the format is an error, because the text is
//! produced by nnc itself and a bad one means a compiler bug.

use std::fmt;

/// Largest tensor rank accepted in the meta.
pub const MAX_RANK: usize = 16;

/// One network input or output: its name and shape (C order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorMeta {
    /// Name as written in the `.nn` source (no whitespace).
    pub name: String,
    /// Dimensions; empty for a scalar.
    pub shape: Vec<usize>,
    /// Number of elements (product of `shape`, checked not to overflow).
    pub elems: usize,
}

impl TensorMeta {
    /// Size of the tensor's f32 buffer in bytes.
    pub fn bytes(&self) -> usize {
        // Checked at parse time to fit.
        self.elems * 4
    }
}

/// One kernel, in execution order.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeMeta {
    /// Operation name (`conv2d`, `relu`, ...).
    pub op: String,
    /// Node name from the source.
    pub name: String,
    /// The analysis' predicted time in milliseconds.
    pub predicted_ms: f64,
    /// FLOPs of the executed kernel (`cost` record; 0 if unknown).
    pub flops: u64,
    /// Predicted ms with 1, 2, ... threads (`cost` record; empty if none).
    pub predicted_by_threads: Vec<f64>,
}

impl NodeMeta {
    /// The predicted time with `threads` threads: from the `cost` record
    /// (its last figure beyond its length), else `predicted_ms`.
    pub fn predicted_for(&self, threads: usize) -> f64 {
        let v = &self.predicted_by_threads;
        if v.is_empty() {
            return self.predicted_ms;
        }
        v[threads.clamp(1, v.len()) - 1]
    }
}

/// The parsed meta text.
#[derive(Clone, Debug, PartialEq)]
pub struct Meta {
    /// Network name.
    pub network: String,
    /// Inputs in the order of `nnc_model_forward`'s `inputs` array.
    pub inputs: Vec<TensorMeta>,
    /// Outputs in the order of `nnc_model_forward`'s `outputs` array.
    pub outputs: Vec<TensorMeta>,
    /// Activation arena size in bytes.
    pub arena: usize,
    /// Optional thread-count hint from the compiler.
    pub threads_hint: Option<usize>,
    /// Where the predicted times come from (`predictions` line: platform
    /// profile, and for a calibration cache its path and hash).
    pub predictions: Option<String>,
    /// fp32 GFLOP/s of one core (`peak` record), for `--profile`'s % of peak.
    pub peak_gflops_per_thread: Option<f64>,
    /// Kernels, index = position.
    pub nodes: Vec<NodeMeta>,
}

/// A malformed meta text: which line (1-based) and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetaError {
    /// 1-based line number (0 for whole-text problems).
    pub line: usize,
    /// Description.
    pub message: String,
}

impl fmt::Display for MetaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "malformed model meta: {}", self.message)
        } else {
            write!(
                f,
                "malformed model meta, line {}: {}",
                self.line, self.message
            )
        }
    }
}

impl std::error::Error for MetaError {}

fn err(line: usize, message: impl Into<String>) -> MetaError {
    MetaError {
        line,
        message: message.into(),
    }
}

fn parse_usize(line: usize, what: &str, s: &str) -> Result<usize, MetaError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return Err(err(
            line,
            format!("{what}: expected a decimal integer, found `{s}`"),
        ));
    }
    s.parse::<usize>()
        .map_err(|_| err(line, format!("{what}: `{s}` is too large")))
}

fn check_name(line: usize, what: &str, s: &str) -> Result<(), MetaError> {
    if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(err(line, format!("invalid {what} `{s}`")));
    }
    Ok(())
}

fn parse_tensor(line: usize, fields: &[&str]) -> Result<TensorMeta, MetaError> {
    // fields: kind name rank d0 d1 ...
    if fields.len() < 3 {
        return Err(err(
            line,
            format!("`{}` needs a name and a rank", fields[0]),
        ));
    }
    let name = fields[1];
    check_name(line, "tensor name", name)?;
    let rank = parse_usize(line, "rank", fields[2])?;
    if rank > MAX_RANK {
        return Err(err(
            line,
            format!("rank {rank} exceeds the maximum {MAX_RANK}"),
        ));
    }
    let dims = &fields[3..];
    if dims.len() != rank {
        return Err(err(
            line,
            format!("`{name}` has rank {rank} but {} dimensions", dims.len()),
        ));
    }
    let mut shape = Vec::with_capacity(rank);
    let mut elems: usize = 1;
    for d in dims {
        let v = parse_usize(line, "dimension", d)?;
        if v == 0 {
            return Err(err(line, format!("`{name}` has a zero dimension")));
        }
        elems = elems
            .checked_mul(v)
            .ok_or_else(|| err(line, format!("`{name}` is too large")))?;
        shape.push(v);
    }
    if elems.checked_mul(4).is_none_or(|b| b > isize::MAX as usize) {
        return Err(err(line, format!("`{name}` is too large")));
    }
    Ok(TensorMeta {
        name: name.to_string(),
        shape,
        elems,
    })
}

impl Meta {
    /// Parses the meta text. Lines are separated by `\n` (one final newline
    /// allowed), fields by exactly one space.
    pub fn parse(text: &str) -> Result<Meta, MetaError> {
        let body = text.strip_suffix('\n').unwrap_or(text);
        if body.is_empty() {
            return Err(err(0, "empty"));
        }
        let mut lines = body.split('\n').enumerate().map(|(i, l)| (i + 1, l));
        match lines.next() {
            Some((_, "nnc-meta 1")) => {}
            Some((n, l)) => {
                return Err(err(
                    n,
                    format!("expected `nnc-meta 1`, found `{}`", l.escape_debug()),
                ))
            }
            None => return Err(err(0, "empty")),
        }
        let mut network: Option<String> = None;
        let mut inputs: Vec<TensorMeta> = Vec::new();
        let mut outputs: Vec<TensorMeta> = Vec::new();
        let mut arena: Option<usize> = None;
        let mut threads_hint: Option<usize> = None;
        let mut predictions: Option<String> = None;
        let mut peak: Option<f64> = None;
        let mut nodes: Vec<NodeMeta> = Vec::new();
        for (n, line) in lines {
            if line.is_empty() {
                return Err(err(n, "empty line"));
            }
            if line
                .chars()
                .any(|c| c != ' ' && (c.is_whitespace() || c.is_control()))
            {
                return Err(err(n, "fields must be separated by single spaces"));
            }
            let fields: Vec<&str> = line.split(' ').collect();
            if fields.iter().any(|f| f.is_empty()) {
                return Err(err(n, "fields must be separated by single spaces"));
            }
            match fields[0] {
                "network" => {
                    if fields.len() != 2 {
                        return Err(err(n, "`network` takes one name"));
                    }
                    if network.is_some() {
                        return Err(err(n, "`network` given twice"));
                    }
                    check_name(n, "network name", fields[1])?;
                    network = Some(fields[1].to_string());
                }
                "input" | "output" => {
                    let t = parse_tensor(n, &fields)?;
                    let list = if fields[0] == "input" {
                        &mut inputs
                    } else {
                        &mut outputs
                    };
                    if list.iter().any(|o| o.name == t.name) {
                        return Err(err(n, format!("{} `{}` given twice", fields[0], t.name)));
                    }
                    list.push(t);
                }
                "arena" => {
                    if fields.len() != 2 {
                        return Err(err(n, "`arena` takes one size"));
                    }
                    if arena.is_some() {
                        return Err(err(n, "`arena` given twice"));
                    }
                    let a = parse_usize(n, "arena", fields[1])?;
                    if a > isize::MAX as usize - 64 {
                        return Err(err(n, "arena too large"));
                    }
                    arena = Some(a);
                }
                "predictions" => {
                    if predictions.is_some() {
                        return Err(err(n, "`predictions` given twice"));
                    }
                    predictions = Some(fields[1..].join(" "));
                }
                "peak" => {
                    if fields.len() != 2 || peak.is_some() {
                        return Err(err(n, "`peak` takes one figure, once"));
                    }
                    let v: f64 = fields[1]
                        .parse()
                        .map_err(|_| err(n, "`peak`: expected a number"))?;
                    // advice, like a prediction: an implausible one is dropped
                    peak = (v.is_finite() && v > 0.0).then_some(v);
                }
                "cost" => {
                    // cost <index> <flops> <ms with 1 thread> <ms with 2> ...
                    if fields.len() < 4 {
                        return Err(err(n, "`cost` takes an index, FLOPs and predicted times"));
                    }
                    let idx = parse_usize(n, "cost index", fields[1])?;
                    let flops = fields[2]
                        .parse::<u64>()
                        .map_err(|_| err(n, "`cost`: FLOPs must be an integer"))?;
                    let mut ms = Vec::with_capacity(fields.len() - 3);
                    for f in &fields[3..] {
                        let p: f64 = f.parse().map_err(|_| {
                            err(n, format!("`cost`: expected a number, found `{f}`"))
                        })?;
                        ms.push(if p.is_finite() && p >= 0.0 { p } else { 0.0 });
                    }
                    let Some(node) = nodes.get_mut(idx) else {
                        return Err(err(n, format!("`cost` of unknown node {idx}")));
                    };
                    if !node.predicted_by_threads.is_empty() {
                        return Err(err(n, format!("`cost` of node {idx} given twice")));
                    }
                    node.flops = flops;
                    node.predicted_by_threads = ms;
                }
                "threads-hint" => {
                    if fields.len() != 2 {
                        return Err(err(n, "`threads-hint` takes one count"));
                    }
                    if threads_hint.is_some() {
                        return Err(err(n, "`threads-hint` given twice"));
                    }
                    let t = parse_usize(n, "threads-hint", fields[1])?;
                    if t == 0 {
                        return Err(err(n, "`threads-hint` must be at least 1"));
                    }
                    threads_hint = Some(t);
                }
                "node" => {
                    if fields.len() != 5 {
                        return Err(err(
                            n,
                            "`node` takes an index, an op, a name and a predicted time",
                        ));
                    }
                    let idx = parse_usize(n, "node index", fields[1])?;
                    if idx != nodes.len() {
                        return Err(err(
                            n,
                            format!("node index {idx}, expected {}", nodes.len()),
                        ));
                    }
                    if nodes.len() >= i32::MAX as usize {
                        return Err(err(n, "too many nodes"));
                    }
                    check_name(n, "op", fields[2])?;
                    check_name(n, "node name", fields[3])?;
                    let p: f64 = fields[4].parse().map_err(|_| {
                        err(
                            n,
                            format!("predicted time: expected a number, found `{}`", fields[4]),
                        )
                    })?;
                    // a prediction is advice, not structure: one out of
                    // range (an implausible calibration) means "no prediction"
                    let p = if p.is_finite() && p >= 0.0 { p } else { 0.0 };
                    nodes.push(NodeMeta {
                        op: fields[2].to_string(),
                        name: fields[3].to_string(),
                        predicted_ms: p,
                        flops: 0,
                        predicted_by_threads: Vec::new(),
                    });
                }
                other => {
                    return Err(err(n, format!("unknown record `{}`", other.escape_debug())));
                }
            }
        }
        let network = network.ok_or_else(|| err(0, "no `network` line"))?;
        let arena = arena.ok_or_else(|| err(0, "no `arena` line"))?;
        if outputs.is_empty() {
            return Err(err(0, "no `output` line"));
        }
        Ok(Meta {
            network,
            inputs,
            outputs,
            arena,
            threads_hint,
            predictions,
            peak_gflops_per_thread: peak,
            nodes,
        })
    }
}

/// Formats a shape as `[1, 3, 224, 224]`.
pub use nnc_npy::fmt_shape as shape_str;

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "nnc-meta 1\nnetwork tiny\ninput x 2 1 4\noutput y 2 1 4\narena 128\nthreads-hint 2\nnode 0 affine y 0.001\n";

    #[test]
    fn parses_good_meta() {
        let m = Meta::parse(GOOD).expect("good meta");
        assert_eq!(m.network, "tiny");
        assert_eq!(m.inputs[0].shape, vec![1, 4]);
        assert_eq!(m.inputs[0].elems, 4);
        assert_eq!(m.outputs[0].name, "y");
        assert_eq!(m.arena, 128);
        assert_eq!(m.threads_hint, Some(2));
        assert_eq!(m.nodes.len(), 1);
        assert_eq!(m.nodes[0].op, "affine");
        assert!((m.nodes[0].predicted_ms - 0.001).abs() < 1e-12);
        // No trailing newline is fine too.
        assert_eq!(Meta::parse(GOOD.trim_end()).ok(), Some(m));
    }

    #[test]
    fn scalar_tensor() {
        let m = Meta::parse("nnc-meta 1\nnetwork s\ninput x 0\noutput y 0\narena 0\n").expect("ok");
        assert!(m.inputs[0].shape.is_empty());
        assert_eq!(m.inputs[0].elems, 1);
        assert!(m.nodes.is_empty());
    }

    #[test]
    fn cost_records_give_predictions_per_thread_count() {
        let t = "nnc-meta 1\nnetwork a\noutput y 1 1\narena 0\npeak 50\nnode 0 relu r 0.5\nnode 1 relu s 0.25\ncost 0 1000 2 1.5\n";
        let m = Meta::parse(t).expect("parses");
        assert_eq!(m.peak_gflops_per_thread, Some(50.0));
        assert_eq!(m.nodes[0].flops, 1000);
        assert_eq!(m.nodes[0].predicted_for(1), 2.0);
        assert_eq!(m.nodes[0].predicted_for(2), 1.5);
        assert_eq!(m.nodes[0].predicted_for(8), 1.5);
        assert_eq!(m.nodes[1].predicted_for(2), 0.25);
        for bad in [
            "cost 5 1 1",
            "cost 0 x 1",
            "cost 0 1",
            "cost 0 1 1\ncost 0 1 1",
        ] {
            let t =
                format!("nnc-meta 1\nnetwork a\noutput y 1 1\narena 0\nnode 0 relu r 0.5\n{bad}");
            assert!(Meta::parse(&t).is_err(), "{bad}");
        }
    }

    #[test]
    fn out_of_range_predictions_mean_no_prediction() {
        // a crafted calibration used to make these fatal (exit 101)
        for p in ["nan", "-1", "inf", "1e400"] {
            let text =
                format!("nnc-meta 1\nnetwork a\noutput y 1 1\narena 0\nnode 0 relu r {p}\npredictions platform `host` (x)");
            let m = Meta::parse(&text).unwrap_or_else(|e| panic!("{p}: {e}"));
            assert_eq!(m.nodes[0].predicted_ms, 0.0);
            assert_eq!(m.predictions.as_deref(), Some("platform `host` (x)"));
        }
    }

    #[test]
    fn rejects_bad_meta() {
        let bad = [
            "",
            "nnc-meta 2\nnetwork a\noutput y 1 1\narena 0",
            "network a\noutput y 1 1\narena 0",
            "nnc-meta 1\nnetwork a\noutput y 1 1",
            "nnc-meta 1\nnetwork a\narena 0",
            "nnc-meta 1\noutput y 1 1\narena 0",
            "nnc-meta 1\nnetwork a\noutput y 2 1\narena 0",
            "nnc-meta 1\nnetwork a\noutput y 1 0\narena 0",
            "nnc-meta 1\nnetwork a\noutput y 1 01\narena 0",
            "nnc-meta 1\nnetwork a\noutput y 1 -1\narena 0",
            "nnc-meta 1\nnetwork a\noutput  y 1 1\narena 0",
            "nnc-meta 1\nnetwork a\noutput\ty 1 1\narena 0",
            "nnc-meta 1\nnetwork a\noutput y 1 1\narena 0\n\n",
            "nnc-meta 1\nnetwork a\noutput y 1 1\noutput y 1 1\narena 0",
            "nnc-meta 1\nnetwork a\noutput y 1 1\narena 0\nnode 1 relu r 0.1",
            "nnc-meta 1\nnetwork a\noutput y 1 1\narena 0\nnode 0 relu r",
            "nnc-meta 1\nnetwork a\noutput y 1 1\narena 0\nbogus 1",
            "nnc-meta 1\nnetwork a\noutput y 1 1\narena 0\narena 1",
            "nnc-meta 1\nnetwork a\noutput y 1 1\narena 0\nthreads-hint 0",
            "nnc-meta 1\nnetwork a\noutput y 2 4294967296 4294967296\narena 0",
            "nnc-meta 1\nnetwork a\noutput y 1 99999999999999999999999\narena 0",
            "nnc-meta 1\nnetwork a\noutput y 17 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1\narena 0",
        ];
        for b in bad {
            assert!(Meta::parse(b).is_err(), "accepted: {b:?}");
        }
    }

    #[test]
    fn error_names_line() {
        let e = Meta::parse("nnc-meta 1\nnetwork a\noutput y 2 1\narena 0").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.to_string().contains("line 3"));
    }

    #[test]
    fn never_panics_on_mutations() {
        // Deterministic mutations of a good meta: truncations and byte edits.
        let base = GOOD.as_bytes();
        for cut in 0..base.len() {
            let _ = Meta::parse(&String::from_utf8_lossy(&base[..cut]));
        }
        let mut state = 0x1234_5678_9abc_def0u64;
        for _ in 0..5000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut v = base.to_vec();
            let pos = (state % v.len() as u64) as usize;
            v[pos] = (state >> 32) as u8;
            let _ = Meta::parse(&String::from_utf8_lossy(&v));
        }
    }

    #[test]
    fn shape_formatting() {
        assert_eq!(shape_str(&[]), "[]");
        assert_eq!(shape_str(&[1, 4]), "[1, 4]");
    }
}
