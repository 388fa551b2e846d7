//! Weights: a name → tensor store, loading/saving safetensors files with the
//! checks of `docs/weights.md` ("Weights files"), and the documented
//! deterministic initialization used when no weights file is given
//! (`docs/weights.md`).

use crate::tensor::{fmt_shape, numel, Tensor, TensorError};
use nnc_diag::suggest::did_you_mean;
use nnc_diag::{Diagnostic, Level};
use nnc_ir::op::weight_specs;
use nnc_ir::{Graph, NodeId};
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

/// Code: the weights file is not a valid safetensors file.
pub const E_CORRUPT: &str = nnc_diag::codes::build::WEIGHTS_CORRUPT;
/// Code: a weight the network needs is missing from the file.
pub const E_MISSING: &str = nnc_diag::codes::build::WEIGHT_MISSING;
/// Code: a weight in the file has the wrong shape.
pub const E_SHAPE: &str = nnc_diag::codes::build::WEIGHT_SHAPE;
/// Code: a weight in the file has a dtype that is not a float type.
pub const E_DTYPE: &str = nnc_diag::codes::build::WEIGHT_DTYPE;
/// Code: weights or tensors exceed a size limit or cannot be allocated.
pub const E_LIMIT: &str = nnc_diag::codes::build::ALLOC_LIMIT;
/// Code: the file holds keys the network does not use (warning).
pub const W_UNUSED: &str = nnc_diag::codes::build::UNUSED_WEIGHTS;
/// Code: weights were converted to f32 (a note).
pub const W_CONVERTED: &str = nnc_diag::codes::build::WEIGHTS_CONVERTED;
/// Code: weights hold NaN or infinite values (warning).
pub const W_NONFINITE: &str = nnc_diag::codes::build::WEIGHTS_NONFINITE;
/// Code (pre-existing, shared with the driver): a file could not be read.
pub const E_READ: &str = nnc_diag::codes::build::READ_FAILED;

/// Named weight tensors (`conv1.weight`, `bn1.running_var`, ...), ordered by
/// name so that iteration (and saving) is deterministic.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WeightStore {
    map: BTreeMap<String, Tensor>,
}

impl WeightStore {
    /// An empty store.
    pub fn new() -> WeightStore {
        WeightStore::default()
    }

    /// The tensor stored under `key`.
    pub fn get(&self, key: &str) -> Option<&Tensor> {
        self.map.get(key)
    }

    /// Inserts (or replaces) a tensor; returns the previous one.
    pub fn insert(&mut self, key: impl Into<String>, t: Tensor) -> Option<Tensor> {
        self.map.insert(key.into(), t)
    }

    /// Removes a tensor.
    pub fn remove(&mut self, key: &str) -> Option<Tensor> {
        self.map.remove(key)
    }

    /// True if the key is present.
    pub fn contains(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// Number of tensors.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when the store is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// (key, tensor) pairs in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Tensor)> {
        self.map.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(|k| k.as_str())
    }

    /// Total number of f32 elements.
    pub fn total_elements(&self) -> usize {
        self.map.values().map(|t| t.len()).sum()
    }

    /// Removes every weight of the node named `name` (its `<name>.weight`,
    /// `.bias`, `.running_mean` and `.running_var` keys).
    pub fn remove_node_weights(&mut self, name: &str) {
        for suffix in ["weight", "bias", "running_mean", "running_var"] {
            self.map.remove(&format!("{name}.{suffix}"));
        }
    }
}

/// A weight the graph needs: the full key, its PyTorch shape, the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedWeight {
    pub key: String,
    pub shape: Vec<usize>,
    pub node: NodeId,
    /// The suffix (`weight`, `bias`, `running_mean`, `running_var`).
    pub suffix: &'static str,
}

/// Every weight key the graph needs, in topological order (then
/// state_dict order within a node). Uses the shapes recorded in the graph.
pub fn expected_weights(g: &Graph) -> Vec<ExpectedWeight> {
    let order = g
        .topo_order()
        .unwrap_or_else(|| g.node_ids().collect::<Vec<_>>());
    let mut out = Vec::new();
    for id in order {
        let node = g.node(id);
        if !node.op.has_weights() {
            continue;
        }
        let ins = g.inputs(id);
        let shapes: Vec<&[usize]> = ins.iter().map(|&i| g.node(i).shape.as_slice()).collect();
        for spec in weight_specs(&node.op, &shapes) {
            out.push(ExpectedWeight {
                key: spec.key(&node.name),
                shape: spec.shape,
                node: id,
                suffix: spec.suffix,
            });
        }
    }
    out
}

fn dtype_name(d: Dtype) -> String {
    format!("{d:?}")
}

/// Decodes a tensor view to f32 values (F32, or F16/BF16/F64 converted).
/// None for other dtypes or a byte length that does not match the shape.
fn decode(v: &TensorView<'_>) -> Option<Vec<f32>> {
    let n = numel(v.shape())?;
    let b = v.data();
    let width = match v.dtype() {
        Dtype::F32 => 4,
        Dtype::F16 | Dtype::BF16 => 2,
        Dtype::F64 => 8,
        _ => return None,
    };
    if b.len() != n.checked_mul(width)? {
        return None;
    }
    let out = match v.dtype() {
        Dtype::F32 => b
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        Dtype::F16 => b
            .chunks_exact(2)
            .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        Dtype::BF16 => b
            .chunks_exact(2)
            .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        Dtype::F64 => b
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32)
            .collect(),
        _ => return None,
    };
    Some(out)
}

/// Reads a safetensors file and checks it against the graph; see
/// [`load_safetensors`]. A file that cannot be read is an `E0400` error.
pub fn load_safetensors_file(path: &Path, g: &Graph) -> (WeightStore, Vec<Diagnostic>) {
    match std::fs::read(path) {
        Ok(bytes) => {
            let (w, mut diags) = load_safetensors(&bytes, g);
            for d in &mut diags {
                d.notes
                    .push(format!("in weights file `{}`", path.display()));
            }
            (w, diags)
        }
        Err(e) => (
            WeightStore::new(),
            vec![Diagnostic::error(
                E_READ,
                format!("cannot read weights file `{}`: {e}", path.display()),
            )],
        ),
    }
}

/// Loads the weights the graph needs from safetensors bytes.
///
/// Keys are `<weight name>.<suffix>` in PyTorch layouts. F32 is taken as
/// is; F16, BF16 and F64 are converted (one note per dtype). Every missing
/// key and every shape mismatch is an error naming the key with the expected
/// and found shapes (all of them, not just the first); other dtypes are
/// errors; keys the graph does not use are one warning, except
/// `*.num_batches_tracked`, ignored silently. A corrupt or truncated file is
/// a single error, never a panic. The store holds exactly the keys that were
/// found and valid.
pub fn load_safetensors(bytes: &[u8], g: &Graph) -> (WeightStore, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let mut store = WeightStore::new();
    if let Some(key) = crate::st_header::duplicated_key(bytes) {
        diags.push(
            Diagnostic::error(
                E_CORRUPT,
                format!("the weights file is not a valid safetensors file: the key `{key}` appears twice in its header"),
            )
            .with_note(format!("the file is {} bytes long", bytes.len()))
            .with_help("each tensor must be stored under one name only"),
        );
        return (store, diags);
    }
    let st = match SafeTensors::deserialize(bytes) {
        Ok(st) => st,
        Err(e) => {
            diags.push(
                Diagnostic::error(
                    E_CORRUPT,
                    format!("the weights file is not a valid safetensors file: {e}"),
                )
                .with_note(format!("the file is {} bytes long", bytes.len()))
                .with_help(
                    "save the weights with `safetensors.torch.save_file(model.state_dict(), PATH)`",
                ),
            );
            return (store, diags);
        }
    };
    let expected = expected_weights(g);
    let expected_keys: HashMap<&str, ()> = expected.iter().map(|e| (e.key.as_str(), ())).collect();
    let mut file_keys: Vec<&str> = st.names();
    file_keys.sort_unstable();
    let unused: Vec<&str> = file_keys
        .iter()
        .copied()
        .filter(|k| !expected_keys.contains_key(k) && !k.ends_with(".num_batches_tracked"))
        .collect();
    let mut converted: BTreeMap<String, usize> = BTreeMap::new();
    let mut nonfinite: Vec<String> = Vec::new();
    for e in &expected {
        let span = g.span(e.node);
        let view = match st.tensor(&e.key) {
            Ok(v) => v,
            Err(_) => {
                let mut d = Diagnostic::error(
                    E_MISSING,
                    format!(
                        "missing weight `{}` (expected shape {})",
                        e.key,
                        fmt_shape(&e.shape)
                    ),
                )
                .with_primary(span, format!("`{}` needs it", g.node(e.node).name));
                if let Some(s) = did_you_mean(&e.key, unused.iter().copied()) {
                    d = d.with_help(format!("the file has a key `{s}`; is the name right?"));
                }
                diags.push(d);
                continue;
            }
        };
        if view.shape() != e.shape.as_slice() {
            diags.push(
                Diagnostic::error(
                    E_SHAPE,
                    format!(
                        "weight `{}` has shape {}, expected {}",
                        e.key,
                        fmt_shape(view.shape()),
                        fmt_shape(&e.shape)
                    ),
                )
                .with_primary(span, format!("this op expects {}", fmt_shape(&e.shape))),
            );
            continue;
        }
        let Some(data) = decode(&view) else {
            diags.push(
                Diagnostic::error(
                    E_DTYPE,
                    format!(
                        "weight `{}` has dtype {}; expected F32 (or F16, BF16, F64)",
                        e.key,
                        dtype_name(view.dtype())
                    ),
                )
                .with_primary(span, "for this op"),
            );
            continue;
        };
        if view.dtype() != Dtype::F32 {
            *converted.entry(dtype_name(view.dtype())).or_insert(0) += 1;
        }
        if data.iter().any(|v| !v.is_finite()) {
            nonfinite.push(e.key.clone());
        }
        match Tensor::new(e.shape.clone(), data) {
            Ok(t) => {
                store.insert(e.key.clone(), t);
            }
            Err(m) => diags.push(Diagnostic::error(
                E_CORRUPT,
                format!("weight `{}`: {m}", e.key),
            )),
        }
    }
    for (dtype, n) in converted {
        diags.push(Diagnostic::new(
            Level::Note,
            W_CONVERTED,
            format!(
                "{n} weight tensor{} converted from {dtype} to F32",
                if n == 1 { "" } else { "s" }
            ),
        ));
    }
    if !nonfinite.is_empty() {
        diags.push(
            Diagnostic::warning(
                W_NONFINITE,
                format!(
                    "{} weight tensor{} hold NaN or infinite values",
                    nonfinite.len(),
                    if nonfinite.len() == 1 { "" } else { "s" }
                ),
            )
            .with_note(list_keys(&nonfinite)),
        );
    }
    if !unused.is_empty() {
        let names: Vec<String> = unused.iter().map(|s| s.to_string()).collect();
        diags.push(
            Diagnostic::warning(
                W_UNUSED,
                format!(
                    "{} key{} in the weights file {} not used by the network",
                    unused.len(),
                    if unused.len() == 1 { "" } else { "s" },
                    if unused.len() == 1 { "is" } else { "are" },
                ),
            )
            .with_note(list_keys(&names)),
        );
    }
    (store, diags)
}

fn list_keys(keys: &[String]) -> String {
    const MAX: usize = 50;
    let shown: Vec<String> = keys.iter().take(MAX).map(|k| format!("`{k}`")).collect();
    let mut s = format!("keys: {}", shown.join(", "));
    if keys.len() > MAX {
        s.push_str(&format!(" and {} more", keys.len() - MAX));
    }
    s
}

/// Why weights could not be saved, initialized or made.
#[derive(Debug)]
pub enum WeightsError {
    /// The tensor `key` cannot be viewed as safetensors data.
    View {
        key: String,
        error: safetensors::SafeTensorError,
    },
    /// The safetensors serialization failed.
    Serialize(safetensors::SafeTensorError),
    /// The file could not be written.
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The weights a network declares exceed [`MAX_WEIGHT_ELEMENTS`] in
    /// total (`key` of shape `shape` is where the sum crossed it).
    OverLimit { key: String, shape: Vec<usize> },
    /// The weight `key` of `elements` elements could not be allocated.
    Alloc { key: String, elements: usize },
    /// A shape whose element count overflows.
    ShapeTooLarge,
    /// A tensor could not be made.
    Tensor(TensorError),
}

impl fmt::Display for WeightsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WeightsError::View { key, error } => write!(f, "{key}: {error}"),
            WeightsError::Serialize(e) => e.fmt(f),
            WeightsError::Write { path, error } => {
                write!(f, "cannot write `{}`: {error}", path.display())
            }
            WeightsError::OverLimit { key, shape } => write!(
                f,
                "the network's weights hold more than {MAX_WEIGHT_ELEMENTS} elements \
                 (the limit; `{key}` alone has shape {})",
                fmt_shape(shape)
            ),
            WeightsError::Alloc { key, elements } => write!(
                f,
                "cannot allocate {} MB for the weight `{key}`",
                elements.saturating_mul(4) / 1_000_000
            ),
            WeightsError::ShapeTooLarge => f.write_str("shape too large"),
            WeightsError::Tensor(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for WeightsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WeightsError::View { error, .. } | WeightsError::Serialize(error) => Some(error),
            WeightsError::Write { error, .. } => Some(error),
            WeightsError::Tensor(e) => Some(e),
            _ => None,
        }
    }
}

impl From<TensorError> for WeightsError {
    fn from(e: TensorError) -> WeightsError {
        WeightsError::Tensor(e)
    }
}

/// Serializes the store as safetensors bytes (all F32, keys in order).
pub fn save_safetensors(w: &WeightStore) -> Result<Vec<u8>, WeightsError> {
    let bytes: Vec<(String, Vec<u8>, Vec<usize>)> = w
        .iter()
        .map(|(k, t)| {
            let mut b = Vec::with_capacity(t.len() * 4);
            for v in t.data() {
                b.extend_from_slice(&v.to_le_bytes());
            }
            (k.to_string(), b, t.shape().to_vec())
        })
        .collect();
    let mut views = Vec::with_capacity(bytes.len());
    for (k, b, s) in &bytes {
        let v = TensorView::new(Dtype::F32, s.clone(), b).map_err(|error| WeightsError::View {
            key: k.clone(),
            error,
        })?;
        views.push((k.clone(), v));
    }
    safetensors::serialize(views, None).map_err(WeightsError::Serialize)
}

/// Writes the store to a safetensors file.
pub fn save_safetensors_file(w: &WeightStore, path: &Path) -> Result<(), WeightsError> {
    let b = save_safetensors(w)?;
    std::fs::write(path, b).map_err(|error| WeightsError::Write {
        path: path.to_path_buf(),
        error,
    })
}

/// SplitMix64: the generator behind [`init_deterministic`] (and the
/// interpreter tests' random inputs), the same as the runtime's.
pub use nnc_npy::rng::SplitMix64;

/// 64-bit FNV-1a of a string (used to give every weight key its own stream).
pub fn fnv1a64(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The deterministic initialization of every weight the graph needs
/// (documented in `docs/weights.md`):
///
/// - each key `k` draws from its own SplitMix64 stream seeded with
///   `seed ^ fnv1a64(k)`, so values do not depend on the order of keys;
/// - conv2d and linear `weight` and `bias`: uniform in
///   `[-1/sqrt(fan_in), 1/sqrt(fan_in))` (PyTorch's default bounds), with
///   `fan_in = in_channels/groups * kh * kw` for conv2d and `in_features` for
///   linear, elements in C order;
/// - batchnorm: weight 1, bias 0, running_mean 0, running_var 1.
///
/// Keys whose tensors would exceed [`MAX_WEIGHT_ELEMENTS`] (or that cannot
/// be allocated) are left out; use [`try_init_deterministic`] to get an error
/// for them instead.
pub fn init_deterministic(g: &Graph, seed: u64) -> WeightStore {
    init_checked(g, seed, false).unwrap_or_default()
}

/// The most f32 elements the weights of one network may hold in total
/// (2^31, 8 GiB; the same bound as one activation tensor). Checked before
/// anything is allocated: a network declaring more is an error, not an
/// attempt to allocate terabytes.
pub const MAX_WEIGHT_ELEMENTS: usize = 1 << 31;

/// [`init_deterministic`], but an error when the weights the graph declares
/// exceed [`MAX_WEIGHT_ELEMENTS`] in total or cannot be allocated.
pub fn try_init_deterministic(g: &Graph, seed: u64) -> Result<WeightStore, WeightsError> {
    init_checked(g, seed, true)
}

fn init_checked(g: &Graph, seed: u64, strict: bool) -> Result<WeightStore, WeightsError> {
    let mut w = WeightStore::new();
    let expected = expected_weights(g);
    let mut total = 0usize;
    for e in &expected {
        let n = numel(&e.shape).unwrap_or(usize::MAX);
        total = total.saturating_add(n);
        if strict && total > MAX_WEIGHT_ELEMENTS {
            return Err(WeightsError::OverLimit {
                key: e.key.clone(),
                shape: e.shape.clone(),
            });
        }
    }
    // fan_in per node = product of the weight's dims after the first.
    let mut fan_in: HashMap<NodeId, usize> = HashMap::new();
    for e in &expected {
        // `weight`, attention's `in_proj_weight` and `out_proj.weight`
        if e.suffix.ends_with("weight") && e.shape.len() >= 2 {
            let f = e.shape[1..]
                .iter()
                .try_fold(1usize, |a, &d| a.checked_mul(d))
                .unwrap_or(usize::MAX);
            fan_in.insert(e.node, f);
        }
    }
    for e in &expected {
        let n = match numel(&e.shape) {
            Some(n) if n <= MAX_WEIGHT_ELEMENTS => n,
            _ => continue,
        };
        let mut data: Vec<f32> = Vec::new();
        if data.try_reserve_exact(n).is_err() {
            if strict {
                return Err(WeightsError::Alloc {
                    key: e.key.clone(),
                    elements: n,
                });
            }
            continue;
        }
        match (e.suffix, fan_in.get(&e.node)) {
            ("running_var", _) => data.resize(n, 1.0),
            ("running_mean", _) => data.resize(n, 0.0),
            ("weight", None) => data.resize(n, 1.0), // batchnorm/layernorm gamma
            ("", _) => {
                // a standalone `param` (class token, position embedding,
                // layer scale): small values, like timm's trunc_normal(0.02)
                let mut r = SplitMix64(seed ^ fnv1a64(&e.key));
                data.extend((0..n).map(|_| r.uniform(0.02)));
            }
            (_, None) => data.resize(n, 0.0), // batchnorm beta
            (_, Some(&f)) => {
                let bound = 1.0 / (f.max(1) as f64).sqrt();
                let mut r = SplitMix64(seed ^ fnv1a64(&e.key));
                data.extend((0..n).map(|_| r.uniform(bound as f32)));
            }
        }
        if let Ok(t) = Tensor::new(e.shape.clone(), data) {
            w.insert(e.key.clone(), t);
        }
    }
    Ok(w)
}

/// Random values for tests and tools: uniform in [-1, 1) from SplitMix64.
pub fn random_tensor(shape: Vec<usize>, seed: u64) -> Result<Tensor, WeightsError> {
    let n = numel(&shape).ok_or(WeightsError::ShapeTooLarge)?;
    let mut r = SplitMix64(seed);
    Ok(Tensor::new(
        shape,
        (0..n).map(|_| r.uniform(1.0)).collect(),
    )?)
}

/// Checks that the store holds every weight the graph needs with the right
/// shape; returns one message per problem (empty: consistent). Keys the
/// graph does not need are reported too.
pub fn check_store(g: &Graph, w: &WeightStore) -> Vec<String> {
    let mut problems = Vec::new();
    let expected = expected_weights(g);
    for e in &expected {
        match w.get(&e.key) {
            None => problems.push(format!("missing weight `{}`", e.key)),
            Some(t) if t.shape() != e.shape.as_slice() => problems.push(format!(
                "weight `{}` has shape {}, expected {}",
                e.key,
                fmt_shape(t.shape()),
                fmt_shape(&e.shape)
            )),
            Some(_) => {}
        }
    }
    let keys: std::collections::HashSet<&str> = expected.iter().map(|e| e.key.as_str()).collect();
    for k in w.keys() {
        if !keys.contains(k) {
            problems.push(format!("weight `{k}` is not used by the graph"));
        }
    }
    problems
}

/// Random weights for every key the graph needs, for tests: conv/linear
/// tensors uniform in [-1/sqrt(fan_in), 1/sqrt(fan_in)) as in
/// [`init_deterministic`], but batchnorm parameters random too (weight in
/// [0.5, 1.5), bias and running_mean in [-0.5, 0.5), running_var in
/// [0.5, 1.5)) so that batchnorm folding is exercised.
pub fn init_random(g: &Graph, seed: u64) -> WeightStore {
    let mut w = init_deterministic(g, seed);
    for e in expected_weights(g) {
        if !matches!(g.node(e.node).op, nnc_ir::Op::BatchNorm { .. }) {
            continue;
        }
        let Some(n) = numel(&e.shape) else { continue };
        let mut r = SplitMix64(seed ^ fnv1a64(&e.key) ^ 0x5555);
        let data: Vec<f32> = (0..n)
            .map(|_| match e.suffix {
                "weight" | "running_var" => 1.0 + r.uniform(0.5),
                _ => r.uniform(0.5),
            })
            .collect();
        if let Ok(t) = Tensor::new(e.shape.clone(), data) {
            w.insert(e.key.clone(), t);
        }
    }
    w
}
