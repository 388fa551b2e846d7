//! Kernel emission: the shared [`Kcx`] toolbox (types, constants, vector
//! helpers, a loop builder) and the per-op kernels.
//!
//! # How a kernel is organized
//!
//! Every kernel node becomes (or shares, see `llvm::KernelKey`) one internal
//! `noinline` LLVM function
//! `void @nk<i>(ptr noalias out, ptr noalias in0, ..., ptr weights, i64 lo, i64 hi)` that
//! computes the *work items* `lo..hi` of the node (what an item is — a row, an
//! output-channel tile × row, a chunk of elements — is the kernel's choice,
//! see [`KernelPlan::items`]). The forward function splits `0..items` into
//! `ntasks` contiguous ranges and runs them with `nnc_parallel_for` (or calls
//! the function once with `0..items` when one task is enough).
//!
//! Kernels address memory through `out`/`in*` (f32, C order, the node's
//! shape) and the weights through [`Kcx::weights`] (a pointer parameter: the
//! step's first weight in the blob, 64-byte aligned; plan offsets are relative
//! to it, and the weights are laid out however the kernel packed them at
//! build time).
//!
//! # Contract for kernel modules (`gemm`, `conv_fast`, `dwconv`, ...)
//!
//! A kernel module offers a plan type with:
//! - a constructor deciding, from constant shapes/attributes, whether it
//!   applies (returning `None` otherwise);
//! - `pack(&self, raw weights) -> Vec<f32>`: the weights in its layout;
//! - `items(&self) -> u64` and an `emit(&self, k: &Kcx, w_off: u64, out,
//!   ins, lo, hi) -> R<()>` that emits the code for items `lo..hi` at the
//!   builder's current position (leaving the builder at the end of the
//!   emitted code).
//!
//! Use the helpers here (`for_range`, `fma`, `splat`, `load_vec`, ...), do not
//! panic (return [`CgError`]), and keep generated IR small: rolled loops,
//! unrolled register tiles only.

use inkwell::attributes::{Attribute, AttributeLoc};
use inkwell::basic_block::BasicBlock;
use inkwell::builder::{Builder, BuilderError};
use inkwell::context::Context;
use inkwell::intrinsics::Intrinsic;
use inkwell::module::Module;
use inkwell::types::{BasicTypeEnum, FloatType, IntType, PointerType, VectorType};
use inkwell::values::{
    BasicMetadataValueEnum, BasicValue, BasicValueEnum, FloatValue, FunctionValue,
    InstructionValue, IntValue, PointerValue, VectorValue,
};
use inkwell::{FloatPredicate, IntPredicate};

pub mod affine;
pub mod conv;
pub mod conv_common;
pub mod conv_fast;
pub mod conv_wide;
pub mod dwconv;
pub mod elementwise;
pub mod error;
pub mod fast;
pub mod gemm;
pub mod isa;
pub mod layernorm;
pub mod matmul;
pub mod misc;
pub mod pointwise;
pub mod softmax;
pub mod strided;
pub mod vmath;
pub mod winograd;
pub mod winograd_xform;

/// An error while emitting code (always a compiler bug or an unsupported
/// case, never a panic).
#[derive(Debug, Clone)]
pub struct CgError(pub String);

impl From<BuilderError> for CgError {
    fn from(e: BuilderError) -> Self {
        CgError(format!("LLVM builder error: {e}"))
    }
}

/// A kernel error's message, without `kernel emission: ` (as the
/// vectorized maths reported it when its errors were plain messages).
impl From<gemm::KernelError> for CgError {
    fn from(e: gemm::KernelError) -> Self {
        CgError(e.message)
    }
}

impl From<String> for CgError {
    fn from(e: String) -> Self {
        CgError(e)
    }
}

impl From<&str> for CgError {
    fn from(e: &str) -> Self {
        CgError(e.to_string())
    }
}

impl std::fmt::Display for CgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CgError {}

/// Result of code emission.
pub type R<T> = Result<T, CgError>;

/// The vector width (f32 lanes of one ymm register).
pub const VW: u32 = 8;

/// The emission toolbox shared by every kernel: the LLVM context, module and
/// builder, common types, the weights global and the function being built.
pub struct Kcx<'ctx, 'a> {
    pub ctx: &'ctx Context,
    pub module: &'a Module<'ctx>,
    pub b: &'a Builder<'ctx>,
    pub f32t: FloatType<'ctx>,
    pub i64t: IntType<'ctx>,
    pub i32t: IntType<'ctx>,
    pub ptrt: PointerType<'ctx>,
    /// Where this kernel's weights start (64-byte aligned): a parameter of
    /// the kernel function, so that kernels differing only in where their
    /// weights are share one function. [`KernelPlan`](crate::plan::KernelPlan)
    /// offsets are relative to it.
    pub weights: PointerValue<'ctx>,
    /// The function whose body is being emitted.
    pub func: FunctionValue<'ctx>,
    /// Attributes to put on every function (target-cpu, target-features, ...).
    pub fn_attrs: &'a [Attribute],
    /// The target CPU name and feature string (for functions made elsewhere).
    pub cpu: &'a str,
    pub features: &'a str,
}

impl<'ctx, 'a> Kcx<'ctx, 'a> {
    /// `<w x float>`.
    pub fn vty(&self, w: u32) -> VectorType<'ctx> {
        self.f32t.vec_type(w)
    }

    /// An i64 constant.
    pub fn i64c(&self, v: i64) -> IntValue<'ctx> {
        self.i64t.const_int(v as u64, true)
    }

    /// An f32 constant.
    pub fn f32c(&self, v: f32) -> FloatValue<'ctx> {
        self.f32t.const_float(v as f64)
    }

    /// A constant `<w x float>` with all lanes `v`.
    pub fn vconst(&self, v: f32, w: u32) -> VectorValue<'ctx> {
        let c = self.f32c(v);
        VectorType::const_vector(&vec![c; w as usize])
    }

    /// Broadcast a scalar to `<w x float>`.
    pub fn splat(&self, x: FloatValue<'ctx>, w: u32) -> R<VectorValue<'ctx>> {
        let vt = self.vty(w);
        let v = self
            .b
            .build_insert_element(vt.get_undef(), x, self.i32t.const_zero(), "")?;
        if w == 1 {
            return Ok(v);
        }
        let mask = VectorType::const_vector(&vec![self.i32t.const_zero(); w as usize]);
        Ok(self.b.build_shuffle_vector(v, vt.get_undef(), mask, "")?)
    }

    /// `&base[idx]` for f32 elements (inbounds).
    pub fn gep(&self, base: PointerValue<'ctx>, idx: IntValue<'ctx>) -> R<PointerValue<'ctx>> {
        Ok(unsafe { self.b.build_in_bounds_gep(self.f32t, base, &[idx], "")? })
    }

    /// `&base[c]` for a constant element index.
    pub fn gepc(&self, base: PointerValue<'ctx>, c: i64) -> R<PointerValue<'ctx>> {
        if c == 0 {
            return Ok(base);
        }
        self.gep(base, self.i64c(c))
    }

    /// Pointer to weight element `off` (in f32 elements) of the blob.
    pub fn wptr(&self, off: u64) -> R<PointerValue<'ctx>> {
        self.gepc(self.weights, off as i64)
    }

    fn set_align(inst: Option<InstructionValue<'ctx>>, align: u32) {
        if let Some(i) = inst {
            let _ = i.set_alignment(align);
        }
    }

    /// Loads `<w x float>` from `p` (element alignment only).
    pub fn load_vec(&self, p: PointerValue<'ctx>, w: u32) -> R<VectorValue<'ctx>> {
        let v = self.b.build_load(self.vty(w), p, "")?;
        Self::set_align(v.as_instruction_value(), 4);
        Ok(v.into_vector_value())
    }

    /// Loads `<w x float>` from `p`, which is aligned to `align` bytes.
    pub fn load_vec_aligned(
        &self,
        p: PointerValue<'ctx>,
        w: u32,
        align: u32,
    ) -> R<VectorValue<'ctx>> {
        let v = self.b.build_load(self.vty(w), p, "")?;
        Self::set_align(v.as_instruction_value(), align);
        Ok(v.into_vector_value())
    }

    /// Stores a vector (element alignment only).
    pub fn store_vec(&self, p: PointerValue<'ctx>, v: VectorValue<'ctx>) -> R<()> {
        let s = self.b.build_store(p, v)?;
        let _ = s.set_alignment(4);
        Ok(())
    }

    /// Loads one f32.
    pub fn load_f(&self, p: PointerValue<'ctx>) -> R<FloatValue<'ctx>> {
        let v = self.b.build_load(self.f32t, p, "")?;
        Self::set_align(v.as_instruction_value(), 4);
        Ok(v.into_float_value())
    }

    /// Stores one f32.
    pub fn store_f(&self, p: PointerValue<'ctx>, v: FloatValue<'ctx>) -> R<()> {
        let s = self.b.build_store(p, v)?;
        let _ = s.set_alignment(4);
        Ok(())
    }

    /// Calls an overloaded LLVM intrinsic (e.g. `llvm.fma` on `<8 x float>`).
    pub fn intrinsic(
        &self,
        name: &str,
        tys: &[BasicTypeEnum<'ctx>],
        args: &[BasicMetadataValueEnum<'ctx>],
    ) -> R<BasicValueEnum<'ctx>> {
        let i = Intrinsic::find(name).ok_or_else(|| CgError(format!("no intrinsic {name}")))?;
        let f = i
            .get_declaration(self.module, tys)
            .ok_or_else(|| CgError(format!("no declaration for {name}")))?;
        let c = self.b.build_call(f, args, "")?;
        c.try_as_basic_value()
            .basic()
            .ok_or_else(|| CgError(format!("{name} returned void")))
    }

    /// `a * b + c` with one rounding (`llvm.fma`), on vectors of any width.
    pub fn fma(
        &self,
        a: VectorValue<'ctx>,
        b: VectorValue<'ctx>,
        c: VectorValue<'ctx>,
    ) -> R<VectorValue<'ctx>> {
        let t = a.get_type().into();
        Ok(self
            .intrinsic("llvm.fma", &[t], &[a.into(), b.into(), c.into()])?
            .into_vector_value())
    }

    /// Calls a scalar libm function `float name(float)` (declared on demand).
    pub fn libm1(&self, name: &str, x: FloatValue<'ctx>) -> R<FloatValue<'ctx>> {
        let f = match self.module.get_function(name) {
            Some(f) => f,
            None => {
                let ft = self.f32t.fn_type(&[self.f32t.into()], false);
                self.module.add_function(name, ft, None)
            }
        };
        let c = self.b.build_call(f, &[x.into()], "")?;
        c.try_as_basic_value()
            .basic()
            .map(|v| v.into_float_value())
            .ok_or_else(|| CgError(format!("{name} returned void")))
    }

    /// Lane `l` of a vector.
    pub fn lane(&self, v: VectorValue<'ctx>, l: u32) -> R<FloatValue<'ctx>> {
        Ok(self
            .b
            .build_extract_element(v, self.i32t.const_int(l as u64, false), "")?
            .into_float_value())
    }

    /// Vector float compare.
    pub fn fcmp(
        &self,
        p: FloatPredicate,
        a: VectorValue<'ctx>,
        b: VectorValue<'ctx>,
    ) -> R<VectorValue<'ctx>> {
        Ok(self.b.build_float_compare(p, a, b, "")?)
    }

    /// Lane-wise select.
    pub fn select(
        &self,
        c: VectorValue<'ctx>,
        a: VectorValue<'ctx>,
        b: VectorValue<'ctx>,
    ) -> R<VectorValue<'ctx>> {
        Ok(self.b.build_select(c, a, b, "")?.into_vector_value())
    }

    /// Horizontal sum of a vector (in lane order pairs; the tolerance allows
    /// any order).
    pub fn hsum(&self, v: VectorValue<'ctx>) -> R<FloatValue<'ctx>> {
        let w = v.get_type().get_size();
        let mut acc = self.lane(v, 0)?;
        for l in 1..w {
            let x = self.lane(v, l)?;
            acc = self.b.build_float_add(acc, x, "")?;
        }
        Ok(acc)
    }

    /// Appends a basic block to the current function.
    pub fn block(&self, name: &str) -> BasicBlock<'ctx> {
        self.ctx.append_basic_block(self.func, name)
    }

    /// The block the builder is in.
    pub fn cur_block(&self) -> R<BasicBlock<'ctx>> {
        self.b
            .get_insert_block()
            .ok_or_else(|| CgError("builder not positioned".into()))
    }

    /// `for i in (lo..hi).step_by(step) { body(i) }` with a phi induction
    /// variable (signed compare; runs zero times when `hi <= lo`).
    pub fn for_range(
        &self,
        lo: IntValue<'ctx>,
        hi: IntValue<'ctx>,
        step: i64,
        mut body: impl FnMut(IntValue<'ctx>) -> R<()>,
    ) -> R<()> {
        let pre = self.cur_block()?;
        let head = self.block("loop");
        let bodyb = self.block("body");
        let exit = self.block("exit");
        self.b.build_unconditional_branch(head)?;
        self.b.position_at_end(head);
        let phi = self.b.build_phi(self.i64t, "i")?;
        phi.add_incoming(&[(&lo, pre)]);
        let i = phi.as_basic_value().into_int_value();
        let c = self.b.build_int_compare(IntPredicate::SLT, i, hi, "")?;
        self.b.build_conditional_branch(c, bodyb, exit)?;
        self.b.position_at_end(bodyb);
        body(i)?;
        let next = self.b.build_int_nsw_add(i, self.i64c(step), "")?;
        let latch = self.cur_block()?;
        self.b.build_unconditional_branch(head)?;
        phi.add_incoming(&[(&next, latch)]);
        self.b.position_at_end(exit);
        Ok(())
    }

    /// [`Kcx::for_range`] with constant bounds; emits the body once, without a
    /// loop, when there is exactly one iteration, and nothing for zero.
    pub fn for_const(
        &self,
        lo: i64,
        hi: i64,
        step: i64,
        mut body: impl FnMut(IntValue<'ctx>) -> R<()>,
    ) -> R<()> {
        if hi <= lo {
            return Ok(());
        }
        if lo + step >= hi {
            return body(self.i64c(lo));
        }
        self.for_range(self.i64c(lo), self.i64c(hi), step, body)
    }

    /// `if cond { then() }`.
    pub fn if_then(&self, cond: IntValue<'ctx>, then: impl FnOnce() -> R<()>) -> R<()> {
        let tb = self.block("then");
        let done = self.block("endif");
        self.b.build_conditional_branch(cond, tb, done)?;
        self.b.position_at_end(tb);
        then()?;
        self.b.build_unconditional_branch(done)?;
        self.b.position_at_end(done);
        Ok(())
    }

    /// `if cond { a() } else { b() }`.
    pub fn if_else(
        &self,
        cond: IntValue<'ctx>,
        a: impl FnOnce() -> R<()>,
        b: impl FnOnce() -> R<()>,
    ) -> R<()> {
        let tb = self.block("then");
        let eb = self.block("else");
        let done = self.block("endif");
        self.b.build_conditional_branch(cond, tb, eb)?;
        self.b.position_at_end(tb);
        a()?;
        self.b.build_unconditional_branch(done)?;
        self.b.position_at_end(eb);
        b()?;
        self.b.build_unconditional_branch(done)?;
        self.b.position_at_end(done);
        Ok(())
    }

    /// An alloca in the entry block (so that mem2reg/SROA promote it).
    pub fn entry_alloca(&self, ty: BasicTypeEnum<'ctx>) -> R<PointerValue<'ctx>> {
        let entry = self
            .func
            .get_first_basic_block()
            .ok_or_else(|| CgError("function without entry".into()))?;
        let tmp = self.ctx.create_builder();
        match entry.get_first_instruction() {
            Some(i) => tmp.position_before(&i),
            None => tmp.position_at_end(entry),
        }
        Ok(tmp.build_alloca(ty, "")?)
    }

    /// Integer helpers (i64, signed).
    pub fn add(&self, a: IntValue<'ctx>, b: IntValue<'ctx>) -> R<IntValue<'ctx>> {
        Ok(self.b.build_int_nsw_add(a, b, "")?)
    }
    /// `a - b`.
    pub fn sub(&self, a: IntValue<'ctx>, b: IntValue<'ctx>) -> R<IntValue<'ctx>> {
        Ok(self.b.build_int_nsw_sub(a, b, "")?)
    }
    /// `a * b`.
    pub fn mul(&self, a: IntValue<'ctx>, b: IntValue<'ctx>) -> R<IntValue<'ctx>> {
        Ok(self.b.build_int_nsw_mul(a, b, "")?)
    }
    /// `a * c` for a constant.
    pub fn mulc(&self, a: IntValue<'ctx>, c: i64) -> R<IntValue<'ctx>> {
        if c == 1 {
            return Ok(a);
        }
        self.mul(a, self.i64c(c))
    }
    /// `a + c` for a constant.
    pub fn addc(&self, a: IntValue<'ctx>, c: i64) -> R<IntValue<'ctx>> {
        if c == 0 {
            return Ok(a);
        }
        self.add(a, self.i64c(c))
    }
    /// `a / c` (signed, toward zero) for a constant.
    pub fn divc(&self, a: IntValue<'ctx>, c: i64) -> R<IntValue<'ctx>> {
        if c == 1 {
            return Ok(a);
        }
        Ok(self.b.build_int_signed_div(a, self.i64c(c), "")?)
    }
    /// `a % c` (signed) for a constant.
    pub fn remc(&self, a: IntValue<'ctx>, c: i64) -> R<IntValue<'ctx>> {
        if c == 1 {
            return Ok(self.i64c(0));
        }
        Ok(self.b.build_int_signed_rem(a, self.i64c(c), "")?)
    }
    /// Signed max.
    pub fn smax(&self, a: IntValue<'ctx>, b: IntValue<'ctx>) -> R<IntValue<'ctx>> {
        let c = self.b.build_int_compare(IntPredicate::SGT, a, b, "")?;
        Ok(self.b.build_select(c, a, b, "")?.into_int_value())
    }
    /// Signed min.
    pub fn smin(&self, a: IntValue<'ctx>, b: IntValue<'ctx>) -> R<IntValue<'ctx>> {
        let c = self.b.build_int_compare(IntPredicate::SLT, a, b, "")?;
        Ok(self.b.build_select(c, a, b, "")?.into_int_value())
    }
    /// Integer compare.
    pub fn icmp(&self, p: IntPredicate, a: IntValue<'ctx>, b: IntValue<'ctx>) -> R<IntValue<'ctx>> {
        Ok(self.b.build_int_compare(p, a, b, "")?)
    }

    /// Items `lo..hi` of `total` split evenly into the task's range: returns
    /// `(t * total / nt, (t + 1) * total / nt)`.
    pub fn task_range(
        &self,
        t: IntValue<'ctx>,
        nt: IntValue<'ctx>,
        total: u64,
    ) -> R<(IntValue<'ctx>, IntValue<'ctx>)> {
        let tot = self.i64c(total as i64);
        let a = self.b.build_int_mul(t, tot, "")?;
        let lo = self.b.build_int_signed_div(a, nt, "")?;
        let t1 = self.b.build_int_add(t, self.i64c(1), "")?;
        let b2 = self.b.build_int_mul(t1, tot, "")?;
        let hi = self.b.build_int_signed_div(b2, nt, "")?;
        Ok((lo, hi))
    }

    /// The target's vector ISA (lanes, registers).
    pub fn isa(&self) -> isa::Isa {
        isa::Isa::of(self.cpu, self.features)
    }

    /// Adds the per-function attributes (target cpu/features, nounwind, ...).
    pub fn add_fn_attrs(&self, f: FunctionValue<'ctx>) {
        for a in self.fn_attrs {
            f.add_attribute(AttributeLoc::Function, *a);
        }
    }
}

/// A `<w x i1>` constant mask with lanes `0..n` set.
pub fn prefix_mask<'ctx>(ctx: &'ctx Context, n: u32, w: u32) -> VectorValue<'ctx> {
    let b = ctx.bool_type();
    let lanes: Vec<IntValue> = (0..w)
        .map(|l| b.const_int(u64::from(l < n), false))
        .collect();
    VectorType::const_vector(&lanes)
}

#[cfg(test)]
mod error_tests {
    use super::CgError;

    #[test]
    fn cg_error_is_a_std_error() {
        let e: Box<dyn std::error::Error + Send + Sync> = Box::new(CgError("no kernel".into()));
        assert_eq!(e.to_string(), "no kernel");
    }
}
