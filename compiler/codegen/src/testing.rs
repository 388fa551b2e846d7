//! In-process execution of compiled graphs (LLVM MCJIT), for differential
//! tests against the reference interpreter without linking executables.
//! The runtime's functions are provided here: `nnc_parallel_for` runs the
//! tasks on two scoped threads (so task splitting and races are exercised),
//! `nnc_node_begin/end` count calls.

use crate::kernels::CgError;
use crate::{llvm, plan, plan_graph, prepare, CodegenError};
use inkwell::context::Context;
use inkwell::OptimizationLevel;
use nnc_ir::Graph;
use nnc_tensor::WeightStore;
use std::fmt;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

/// Why an in-process run failed.
#[derive(Debug)]
pub enum JitError {
    /// Preparing, planning, the target machine or the optimizer failed.
    Codegen(CodegenError),
    /// The number of input buffers is not the plan's.
    Inputs { expected: usize, got: usize },
    /// The input buffer `name` does not have its shape's size.
    InputSize { name: String },
    /// Emitting the module failed.
    Emit(CgError),
    /// The JIT engine could not be made or has no `nnc_model_forward`.
    Jit(String),
}

impl fmt::Display for JitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JitError::Codegen(e) => e.fmt(f),
            JitError::Inputs { expected, got } => {
                write!(f, "expected {expected} inputs, got {got}")
            }
            JitError::InputSize { name } => write!(f, "input {name}: wrong size"),
            JitError::Emit(e) => e.fmt(f),
            JitError::Jit(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for JitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            JitError::Codegen(e) => Some(e),
            JitError::Emit(e) => Some(e),
            _ => None,
        }
    }
}

impl From<CodegenError> for JitError {
    fn from(e: CodegenError) -> JitError {
        JitError::Codegen(e)
    }
}

/// For tests that report errors as text.
impl From<JitError> for String {
    fn from(e: JitError) -> String {
        e.to_string()
    }
}

type Body = extern "C" fn(*mut u8, i64, i64);

static NODE_CALLS: AtomicUsize = AtomicUsize::new(0);

extern "C" fn test_parallel_for(body: Body, ctx: *mut u8, ntasks: i64) {
    let next = AtomicI64::new(0);
    let ctx_addr = ctx as usize;
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let t = next.fetch_add(1, Ordering::Relaxed);
                if t >= ntasks {
                    break;
                }
                body(ctx_addr as *mut u8, t, ntasks);
            });
        }
    });
}

extern "C" fn test_node_begin(_i: i32) {
    NODE_CALLS.fetch_add(1, Ordering::Relaxed);
}

extern "C" fn test_node_end(_i: i32) {}

extern "C" {
    fn expf(x: f32) -> f32;
    fn tanhf(x: f32) -> f32;
    fn erff(x: f32) -> f32;
}

/// Weight blobs larger than this (f32) are mapped from memory rather than
/// compiled in as a constant.
const LARGE_BLOB: usize = 1 << 20;

/// Compiles `graph` in memory and runs it once on `inputs` (one buffer per
/// network input, in declaration order). Returns one buffer per output.
pub fn run_jit(
    graph: &Graph,
    weights: &WeightStore,
    inputs: &[Vec<f32>],
    target_cpu: &str,
    opt_level: u8,
) -> Result<Vec<Vec<f32>>, JitError> {
    run_jit_with(
        graph,
        weights,
        inputs,
        target_cpu,
        opt_level,
        crate::fast_kernels_enabled(),
    )
}

/// [`run_jit`] choosing the fast kernels (`fast`) or the general direct
/// convolution for conv/linear nodes.
pub fn run_jit_with(
    graph: &Graph,
    weights: &WeightStore,
    inputs: &[Vec<f32>],
    target_cpu: &str,
    opt_level: u8,
    fast: bool,
) -> Result<Vec<Vec<f32>>, JitError> {
    let prep = prepare(graph, weights)?;
    let plan = plan_graph(&prep, fast)?;
    run_plan(&plan, &graph.name, inputs, target_cpu, opt_level)
}

/// Runs an already planned graph in memory.
pub fn run_plan(
    plan: &plan::Plan,
    name: &str,
    inputs: &[Vec<f32>],
    target_cpu: &str,
    opt_level: u8,
) -> Result<Vec<Vec<f32>>, JitError> {
    if inputs.len() != plan.input_shapes.len() {
        return Err(JitError::Inputs {
            expected: plan.input_shapes.len(),
            got: inputs.len(),
        });
    }
    for ((n, s), b) in plan.input_shapes.iter().zip(inputs) {
        if s.iter().product::<usize>() != b.len() {
            return Err(JitError::InputSize { name: n.clone() });
        }
    }
    let meta = llvm::meta_text(name, plan, &|_| 0.0);
    let tm = llvm::target_machine(target_cpu, opt_level)?;
    let ctx = Context::create();
    // Large blobs are mapped from memory: a constant array of millions of
    // floats takes LLVM minutes.
    let large = plan.blob.len() > LARGE_BLOB;
    let embed = if large {
        llvm::WeightsEmbed::Extern
    } else {
        llvm::WeightsEmbed::Constant
    };
    let module =
        llvm::build_module(&ctx, plan, &meta, &tm, target_cpu, embed).map_err(JitError::Emit)?;
    llvm::optimize(&module, &tm, opt_level)?;
    let ee = module
        .create_jit_execution_engine(OptimizationLevel::Aggressive)
        .map_err(|e| JitError::Jit(e.to_string()))?;
    let map = |fname: &str, addr: usize| {
        if let Some(f) = module.get_function(fname) {
            ee.add_global_mapping(&f, addr);
        }
    };
    map("nnc_parallel_for", test_parallel_for as *const () as usize);
    map("nnc_node_begin", test_node_begin as *const () as usize);
    map("nnc_node_end", test_node_end as *const () as usize);
    map("expf", expf as *const () as usize);
    map("tanhf", tanhf as *const () as usize);
    map("erff", erff as *const () as usize);
    // the blob, 64-byte aligned, alive until the run is over
    let mut blob = vec![0f32; if large { plan.blob.len() + 16 } else { 0 }];
    if large {
        let shift = blob.as_ptr().align_offset(64);
        blob[shift..shift + plan.blob.len()].copy_from_slice(&plan.blob);
        if let Some(g) = module.get_global("nnc_weights") {
            ee.add_global_mapping(&g, unsafe { blob.as_ptr().add(shift) } as usize);
        }
    }
    let addr = ee
        .get_function_address("nnc_model_forward")
        .map_err(|e| JitError::Jit(e.to_string()))?;
    let fwd: extern "C" fn(*const *const f32, *const *mut f32, *mut u8) =
        unsafe { std::mem::transmute(addr) };
    let mut outs: Vec<Vec<f32>> = plan
        .output_shapes
        .iter()
        .map(|(_, s)| vec![f32::NAN; s.iter().product()])
        .collect();
    let in_ptrs: Vec<*const f32> = inputs.iter().map(|b| b.as_ptr()).collect();
    let out_ptrs: Vec<*mut f32> = outs.iter_mut().map(|b| b.as_mut_ptr()).collect();
    let mut arena = vec![0u8; plan.arena_bytes as usize + 64];
    let shift = arena.as_ptr().align_offset(64);
    // poison the arena so that reads of unwritten memory show up
    for b in arena.iter_mut() {
        *b = 0xff;
    }
    let ap = unsafe { arena.as_mut_ptr().add(shift) };
    fwd(in_ptrs.as_ptr(), out_ptrs.as_ptr(), ap);
    Ok(outs)
}

/// Number of `nnc_node_begin` calls so far (all JIT runs of the process).
pub fn node_calls() -> usize {
    NODE_CALLS.load(Ordering::Relaxed)
}

/// Runs one kernel plan in memory, as the only step of a plan: `inputs` are
/// its input buffers (in the step's input order), `blob` its weights (at
/// offset 0), and the result is its output buffer of `out_len` floats
/// (initialized to NaN, so that unwritten elements show). `ntasks` > 1 runs
/// the items as that many tasks on two threads.
pub fn run_kernel(
    kernel: plan::KernelPlan,
    inputs: &[Vec<f32>],
    blob: Vec<f32>,
    out_len: usize,
    ntasks: u64,
    target_cpu: &str,
) -> Result<Vec<f32>, JitError> {
    let items = kernel.items();
    let step = plan::Step {
        node: nnc_ir::NodeId(0),
        name: "k".into(),
        op: "kernel".into(),
        kernel,
        out: plan::Buf::Output(0),
        ins: (0..inputs.len()).map(plan::Buf::Input).collect(),
        out_bytes: out_len as u64 * 4,
        ntasks: ntasks.clamp(1, items.max(1)),
    };
    let p = plan::Plan {
        steps: vec![step],
        arena_bytes: 64,
        copies: Vec::new(),
        blob,
        input_shapes: inputs
            .iter()
            .enumerate()
            .map(|(i, b)| (format!("x{i}"), vec![b.len()]))
            .collect(),
        output_shapes: vec![("y".into(), vec![out_len])],
    };
    Ok(run_plan(&p, "kernel", inputs, target_cpu, 3)?.remove(0))
}
