//! What a plan is made of: the buffers a kernel reads and writes ([`Buf`]),
//! the kernel plans ([`KernelPlan`]), one invocation ([`Step`]) and the whole
//! execution plan ([`Plan`]). [`crate::plan`] builds them, with the
//! transformer ops lowered by [`crate::lower`]; both use these types, so
//! neither imports the other's.

use crate::kernels::affine::{AffinePlan, ConstPlan};
use crate::kernels::conv::ConvPlan;
use crate::kernels::elementwise::{BatchNormPlan, BinaryPlan, UnaryPlan};
use crate::kernels::fast::FastPlan;
use crate::kernels::layernorm::LayerNormPlan;
use crate::kernels::matmul::MatMulPlan;
use crate::kernels::misc::{CopyPlan, GlobalAvgPlan, PoolPlan, ShufflePlan, UpsamplePlan};
use crate::kernels::softmax::SoftmaxPlan;
use crate::kernels::strided::StridedPlan;
use nnc_ir::{Activation, NodeId};

/// Where a tensor lives at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Buf {
    /// The caller's input buffer `i`.
    Input(usize),
    /// The caller's output buffer `i`.
    Output(usize),
    /// The activation arena at a byte offset.
    Arena(u64),
}

/// The kernel of one step.
#[derive(Clone, Debug)]
pub enum KernelPlan {
    Unary(UnaryPlan),
    BatchNorm(BatchNormPlan),
    Binary(BinaryPlan),
    Conv(ConvPlan),
    Fast(FastPlan),
    Pool(PoolPlan),
    GlobalAvg(GlobalAvgPlan),
    Softmax(SoftmaxPlan),
    Copy(CopyPlan),
    Shuffle(ShufflePlan),
    Upsample(UpsamplePlan),
    LayerNorm(LayerNormPlan),
    MatMul(MatMulPlan),
    Strided(StridedPlan),
    Affine(AffinePlan),
    Const(ConstPlan),
}

impl KernelPlan {
    /// Number of work items.
    pub fn items(&self) -> u64 {
        match self {
            KernelPlan::Unary(p) => p.sp.items(),
            KernelPlan::BatchNorm(p) => p.sp.items(),
            KernelPlan::Binary(p) => p.sp.items(),
            KernelPlan::Conv(p) => p.items(),
            KernelPlan::Fast(p) => p.num_tasks,
            KernelPlan::Pool(p) => p.items(),
            KernelPlan::GlobalAvg(p) => p.nc,
            KernelPlan::Softmax(p) => p.items(),
            KernelPlan::Copy(p) => p.outer,
            KernelPlan::Shuffle(p) => p.n * p.c,
            KernelPlan::Upsample(p) => p.items(),
            KernelPlan::LayerNorm(p) => p.items(),
            KernelPlan::MatMul(p) => p.items(),
            KernelPlan::Strided(p) => p.items(),
            KernelPlan::Affine(p) => p.sp.items(),
            KernelPlan::Const(_) => 1,
        }
    }

    /// Element operations counted for one output of an exp-based function
    /// (the activations other than the ReLU family, softmax).
    pub const MATH_OPS_PER_ELEMENT: u64 = 20;

    /// A rough cost in "element operations", to size the task split.
    pub fn cost(&self, out_elems: u64) -> u64 {
        match self {
            KernelPlan::Conv(p) => p.macs(),
            KernelPlan::Fast(p) => p.macs,
            KernelPlan::Pool(p) => out_elems * p.kernel[0] * p.kernel[1],
            KernelPlan::Unary(u) => match u.act {
                Activation::Relu | Activation::Relu6 | Activation::LeakyRelu { .. } => out_elems,
                _ => out_elems * Self::MATH_OPS_PER_ELEMENT,
            },
            KernelPlan::Softmax(_) => out_elems * Self::MATH_OPS_PER_ELEMENT,
            KernelPlan::MatMul(p) => p.macs(),
            KernelPlan::LayerNorm(_) => out_elems * 4,
            _ => out_elems,
        }
    }
}

/// One kernel invocation.
#[derive(Clone, Debug)]
pub struct Step {
    pub node: NodeId,
    pub name: String,
    pub op: String,
    pub kernel: KernelPlan,
    pub out: Buf,
    pub ins: Vec<Buf>,
    pub out_bytes: u64,
    pub ntasks: u64,
}

/// The whole execution plan.
#[derive(Clone, Debug)]
pub struct Plan {
    pub steps: Vec<Step>,
    pub arena_bytes: u64,
    /// Outputs whose value is not produced into their buffer by a step:
    /// (output index, source buffer, bytes).
    pub copies: Vec<(usize, Buf, u64)>,
    /// The packed weights.
    pub blob: Vec<f32>,
    pub input_shapes: Vec<(String, Vec<usize>)>,
    pub output_shapes: Vec<(String, Vec<usize>)>,
}
