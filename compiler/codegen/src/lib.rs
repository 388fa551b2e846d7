//! nnc-codegen: compiles an elaborated graph to native code with LLVM.
//!
//! The entry point is [`compile`]: it runs the graph passes, plans the
//! kernels and buffers ([`plan`]), packs the weights into one blob, builds an
//! LLVM module (one specialized function per kernel node, `nnc_model_forward`,
//! `nnc_model_meta` — see `runtime/ABI.md`), optimizes it and writes an
//! object file (with the weights embedded by `.incbin`), assembly or IR.

pub mod cpu;
mod error;
pub mod executed;
pub mod kernels;
pub mod layout;
pub mod llvm;
pub mod lower;
pub mod plan;
pub mod steps;
pub mod support;
#[doc(hidden)]
pub mod testing;

pub use error::{CodegenError, PlanError};
use inkwell::context::Context;
use inkwell::targets::FileType;
use nnc_ir::{Graph, NodeId};
use nnc_passes::{MemoryPlan, PlanOptions};
use nnc_tensor::WeightStore;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Options of one build.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// `host` (default), `generic`, or an LLVM CPU name (`x86-64-v3`, `znver3`).
    pub target_cpu: String,
    /// 0..=3 (`-O0`..`-O3`).
    pub opt_level: u8,
    /// Predicted time per node name, written into the meta for `--profile`.
    pub predicted_ms: HashMap<String, f64>,
    /// Where the predictions come from (meta `predictions` line; empty: none).
    pub predictions_from: String,
    /// A calibrated cost model: when given, each kernel's predicted time is
    /// priced on the executed plan for 1..=`model_threads` threads (meta
    /// `cost` records) and replaces `predicted_ms`; `peak` is recorded too.
    pub model: Option<nnc_analysis::model::HostModel>,
    /// Largest thread count priced with `model`.
    pub model_threads: usize,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            target_cpu: "host".into(),
            opt_level: 3,
            predicted_ms: HashMap::new(),
            predictions_from: String::new(),
            model: None,
            model_threads: 1,
        }
    }
}

/// What [`compile`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Emit {
    /// `model.o` (kernels, forward, meta and the embedded weights).
    Obj,
    /// `model.s` (the weights are `.incbin`-ed from `weights.bin`).
    Asm,
    /// `model.ll` (the weights are referenced, not included).
    LlvmIr,
}

/// The files [`compile`] produced.
#[derive(Clone, Debug)]
pub struct Artifacts {
    /// Object files to link with the runtime (empty unless `Emit::Obj`).
    pub objects: Vec<PathBuf>,
    /// The assembly or IR file (for `Emit::Asm` / `Emit::LlvmIr`).
    pub text: Option<PathBuf>,
    /// The packed weight blob (`weights.bin`).
    pub weights_blob: PathBuf,
    /// Activation arena size in bytes.
    pub arena_bytes: u64,
    /// Number of kernel steps.
    pub kernels: usize,
    /// The `nnc_model_meta` text.
    pub meta: String,
}

/// Access to weight tensors by full key (`layer1.0.conv1.weight`): shape and
/// f32 data in PyTorch layout.
pub trait WeightSource {
    /// The tensor for `key`, if present.
    fn tensor(&self, key: &str) -> Option<(&[usize], &[f32])>;
}

impl WeightSource for HashMap<String, (Vec<usize>, Vec<f32>)> {
    fn tensor(&self, key: &str) -> Option<(&[usize], &[f32])> {
        self.get(key).map(|(s, d)| (s.as_slice(), d.as_slice()))
    }
}

impl WeightSource for WeightStore {
    fn tensor(&self, key: &str) -> Option<(&[usize], &[f32])> {
        self.get(key).map(|t| (t.shape(), t.data()))
    }
}

/// The graph after the backend's passes, ready to plan.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// The rewritten graph (constants folded, batchnorm folded, epilogues
    /// fused, dead code gone).
    pub graph: Graph,
    /// The weights matching `graph`.
    pub weights: WeightStore,
    /// Execution order and arena offsets.
    pub memory: MemoryPlan,
    /// For each surviving node, the names of the original nodes it stands for.
    pub origins: HashMap<NodeId, Vec<String>>,
}

/// Runs the graph passes (dead code, constant folding, batchnorm folding,
/// fusion; the IR verifier after each) and the memory planner (with in-place
/// element-wise ops, and views for reshapes and the permutes [`layout`] folds
/// into their matmuls).
pub fn prepare(graph: &Graph, weights: &WeightStore) -> Result<Prepared, CodegenError> {
    let mut g = graph.clone();
    let mut w = weights.clone();
    let report = nnc_passes::run_default(&mut g, &mut w)?;
    // permutes that only matmuls read become views (see `layout`)
    let views = layout::foldable_permutes(&g);
    let memory =
        nnc_passes::memory_plan::plan_with_views(&g, PlanOptions { in_place: true }, &views)?;
    nnc_passes::memory_plan::check(&g, &memory).map_err(CodegenError::MemoryPlan)?;
    Ok(Prepared {
        graph: g,
        weights: w,
        memory,
        origins: report.origins,
    })
}

/// Plans a prepared graph: kernels, buffers and packed weights. With
/// `fast`, convolutions and linear layers use the fast micro-kernels
/// (`kernels::conv_fast`, `dwconv`, `gemm`) where they apply, otherwise the
/// general direct convolution (`kernels::conv`).
pub fn plan_graph(p: &Prepared, fast: bool) -> Result<plan::Plan, CodegenError> {
    Ok(plan::build(&p.graph, &p.memory, &p.weights, fast)?)
}

/// Whether [`compile`] uses the fast kernels: yes unless the environment
/// variable `NNC_FAST_KERNELS` is `0` (a debugging switch).
pub fn fast_kernels_enabled() -> bool {
    std::env::var("NNC_FAST_KERNELS").map_or(true, |v| v != "0")
}

/// Compiles `graph` into `out_dir` (created if needed).
pub fn compile(
    graph: &Graph,
    weights: &WeightStore,
    opts: &BuildOptions,
    emit: Emit,
    out_dir: &Path,
) -> Result<Artifacts, CodegenError> {
    cpu::validate_cpu(&opts.target_cpu)?;
    let io = |p: &Path, what: &str, e: std::io::Error| CodegenError::Io {
        path: p.to_path_buf(),
        message: format!("{what}: {e}"),
    };
    std::fs::create_dir_all(out_dir).map_err(|e| io(out_dir, "cannot create", e))?;
    let prep = prepare(graph, weights)?;
    let plan = plan_graph(&prep, fast_kernels_enabled())?;
    let out_dir = out_dir
        .canonicalize()
        .map_err(|e| io(out_dir, "cannot resolve", e))?;
    let blob_path = out_dir.join("weights.bin");
    let bytes: Vec<u8> = plan.blob.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&blob_path, bytes).map_err(|e| io(&blob_path, "cannot write", e))?;
    let predicted = |step: &plan::Step| -> f64 {
        let names = prep.origins.get(&step.node);
        match names {
            Some(ns) => ns
                .iter()
                .map(|n| opts.predicted_ms.get(n).copied().unwrap_or(0.0))
                .sum(),
            None => opts.predicted_ms.get(&step.name).copied().unwrap_or(0.0),
        }
    };
    let mut meta = match &opts.model {
        Some(m) => {
            let kernels = executed::describe(&prep, &plan);
            let by_threads: Vec<Vec<f64>> = (1..=opts.model_threads.max(1))
                .map(|t| nnc_analysis::model::predict_plan(m, &kernels, t))
                .collect();
            let index: HashMap<NodeId, usize> = plan
                .steps
                .iter()
                .enumerate()
                .map(|(i, s)| (s.node, i))
                .collect();
            let one = |step: &plan::Step| index.get(&step.node).map_or(0.0, |&i| by_threads[0][i]);
            let mut text = llvm::meta_text(&graph.name, &plan, &one);
            text.push_str(&format!("peak {:.3}\n", m.peak_gflops_1t));
            for (i, k) in kernels.iter().enumerate() {
                text.push_str(&format!("cost {i} {}", k.flops));
                for t in &by_threads {
                    text.push_str(&format!(" {:.6}", t[i]));
                }
                text.push('\n');
            }
            text
        }
        None => llvm::meta_text(&graph.name, &plan, &predicted),
    };
    let from: Vec<&str> = opts.predictions_from.split_whitespace().collect();
    if !from.is_empty() {
        meta.push_str(&format!("predictions {}\n", from.join(" ")));
    }
    let tm = llvm::target_machine(&opts.target_cpu, opts.opt_level)?;
    let ctx = Context::create();
    let module = llvm::build_module(
        &ctx,
        &plan,
        &meta,
        &tm,
        &opts.target_cpu,
        llvm::WeightsEmbed::Incbin(&blob_path),
    )
    .map_err(|e| CodegenError::Llvm(e.0))?;
    llvm::optimize(&module, &tm, opts.opt_level)?;
    let mut art = Artifacts {
        objects: Vec::new(),
        text: None,
        weights_blob: blob_path,
        arena_bytes: plan.arena_bytes,
        kernels: plan.steps.len(),
        meta,
    };
    match emit {
        Emit::Obj => {
            let p = out_dir.join("model.o");
            tm.write_to_file(&module, FileType::Object, &p)
                .map_err(|e| CodegenError::Llvm(e.to_string()))?;
            art.objects.push(p);
        }
        Emit::Asm => {
            let p = out_dir.join("model.s");
            tm.write_to_file(&module, FileType::Assembly, &p)
                .map_err(|e| CodegenError::Llvm(e.to_string()))?;
            art.text = Some(p);
        }
        Emit::LlvmIr => {
            let p = out_dir.join("model.ll");
            module
                .print_to_file(&p)
                .map_err(|e| CodegenError::Llvm(e.to_string()))?;
            art.text = Some(p);
        }
    }
    Ok(art)
}
