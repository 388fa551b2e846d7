//! Packed-panel SGEMM micro-kernel (AVX2 + FMA) and the linear-layer kernel.
//!
//! This module holds the pieces shared by all fast fp32 kernels:
//!
//! * the epilogue [`Activation`] (the language's), [`KernelError`] and the emission context `Em` (IR helpers for
//!   `<8 x float>` loads, broadcasts, `llvm.fma`, masked loads/stores, counted loops);
//! * the register-tile micro-kernel `emit_tile`: an `mr × (nv·8)` tile of
//!   accumulators (default 6 × 16 = 12 ymm accumulators), a *rolled* loop over K whose
//!   body is a list of compile-time "taps" (unrolled k steps / conv kernel positions),
//!   each doing `nv` vector loads of B, `mr` broadcasts of A and `mr·nv` FMAs;
//! * [`emit_linear`]: a fully-connected layer `y[M×N] = x[M×K]·Wᵀ + b` (+ residual,
//!   activation) on pre-packed weights ([`pack_linear_weights`]).
//!
//! 1×1 convolutions (stride 1, no padding) are GEMMs `[Cout×Cin]·[Cin×H·W]`; they are
//! emitted by [`super::conv_fast::emit_conv`], which uses the same micro-kernel with the
//! activations as the vector operand (see `docs/kernels.md`).
//!
//! All emitted kernels share one calling convention:
//!
//! ```c
//! void kernel(const float *input, const float *weights_packed, const float *bias,
//!             const float *residual, float *output, int64_t task_begin, int64_t task_end);
//! ```
//!
//! and compute the tasks `task_begin..task_end` (each task writes a disjoint part of
//! `output`), so a caller can split `0..num_tasks` over threads. `bias`/`residual` are
//! only read when the spec asks for them (pass null otherwise). `input`, `weights` and
//! `bias` are `noalias readonly`; `output` must not overlap `input`, but may be the
//! same buffer as `residual` (in-place residual add): every element of `residual` is
//! read before the same element of `output` is written and never after.

use inkwell::attributes::{Attribute, AttributeLoc};
use inkwell::basic_block::BasicBlock;
use inkwell::builder::Builder;
use inkwell::context::ContextRef;
use inkwell::intrinsics::Intrinsic;
use inkwell::module::Module;
use inkwell::targets::TargetMachine;
use inkwell::types::{FloatType, IntType, VectorType};
use inkwell::values::{
    BasicValue, BasicValueEnum, FloatValue, FunctionValue, IntValue, PointerValue, VectorValue,
};
use inkwell::{AddressSpace, IntPredicate};

/// The activation fused into a kernel's epilogue (applied after bias and residual add)
/// is the language's own [`Activation`] (`None` = identity), emitted in registers by
/// [`super::vmath::VMath::act`] with the interpreter's semantics.
pub use nnc_ir::Activation;

/// The scalar semantics of an epilogue activation (`None` = identity), as the
/// reference interpreter computes it.
pub fn apply_act(act: Option<Activation>, x: f32) -> f32 {
    match act {
        None => x,
        Some(a) => a.apply(x),
    }
}

pub use super::error::{KernelError, KernelResult};

pub(crate) fn err<T>(msg: impl Into<String>) -> KernelResult<T> {
    Err(KernelError::new(msg))
}

/// Checked product of sizes (errors on overflow) — shapes come from user programs.
pub(crate) fn mul(parts: &[usize]) -> KernelResult<usize> {
    parts.iter().try_fold(1usize, |acc, &x| {
        acc.checked_mul(x)
            .ok_or_else(|| KernelError::new("size overflow"))
    })
}

/// Converts a size to `i64` (errors if it does not fit).
pub(crate) fn i64_of(x: usize) -> KernelResult<i64> {
    i64::try_from(x).map_err(|_| KernelError::new("size does not fit in i64"))
}

/// Largest size of any tensor a kernel accepts, in elements (keeps every index
/// computation far from `i64` overflow).
pub(crate) const MAX_ELEMS: usize = 1 << 40;

/// Sets `target-cpu` / `target-features` (host CPU), `nounwind` and inline stack
/// probing on a kernel function. Call [`set_target_attrs`] afterwards to retarget.
pub fn set_host_attrs(f: FunctionValue<'_>) {
    let cpu = TargetMachine::get_host_cpu_name().to_string();
    let features = TargetMachine::get_host_cpu_features().to_string();
    set_target_attrs(f, &cpu, &features);
}

/// Replaces the `target-cpu` / `target-features` attributes of a kernel function (for
/// callers that compile for another CPU than the host). Kernels need AVX2 + FMA.
pub fn set_target_attrs(f: FunctionValue<'_>, cpu: &str, features: &str) {
    let ctx = f.get_type().get_context();
    f.remove_string_attribute(AttributeLoc::Function, "target-cpu");
    f.remove_string_attribute(AttributeLoc::Function, "target-features");
    f.add_attribute(
        AttributeLoc::Function,
        ctx.create_string_attribute("target-cpu", cpu),
    );
    f.add_attribute(
        AttributeLoc::Function,
        ctx.create_string_attribute("target-features", features),
    );
}

fn enum_attr(ctx: ContextRef<'_>, name: &str) -> Attribute {
    ctx.create_enum_attribute(Attribute::get_named_enum_kind_id(name), 0)
}

/// Emission context: one kernel function being built.
pub(crate) struct Em<'a, 'ctx> {
    pub ctx: ContextRef<'ctx>,
    /// The module being emitted into (for emitters that declare helpers).
    pub module: &'a Module<'ctx>,
    pub b: Builder<'ctx>,
    pub func: FunctionValue<'ctx>,
    pub i64t: IntType<'ctx>,
    pub i32t: IntType<'ctx>,
    pub f32t: FloatType<'ctx>,
    /// `<lanes x float>`, the vector type of this kernel.
    pub vt: VectorType<'ctx>,
    /// f32 lanes per vector (8 = AVX2, 16 = AVX-512).
    pub lanes: u32,
    fma: FunctionValue<'ctx>,
    mload: FunctionValue<'ctx>,
    mstore: FunctionValue<'ctx>,
    entry: BasicBlock<'ctx>,
}

impl<'a, 'ctx> Em<'a, 'ctx> {
    /// Declares `void name(ptr input, ptr weights, ptr bias, ptr residual, ptr output,
    /// i64 task_begin, i64 task_end)` with the documented attributes, and positions the
    /// builder in its entry block.
    pub fn new(module: &'a Module<'ctx>, name: &str) -> KernelResult<Self> {
        Self::with_lanes(module, name, 8)
    }

    /// [`Em::new`] for vectors of `lanes` f32 (8 or 16).
    pub fn with_lanes(module: &'a Module<'ctx>, name: &str, lanes: u32) -> KernelResult<Self> {
        let ctx = module.get_context();
        if module.get_function(name).is_some() {
            return err(format!("function `{name}` already exists in the module"));
        }
        let ptr = ctx.ptr_type(AddressSpace::default());
        let i64t = ctx.i64_type();
        let f32t = ctx.f32_type();
        let vt = f32t.vec_type(lanes);
        let fn_ty = ctx.void_type().fn_type(
            &[
                ptr.into(),
                ptr.into(),
                ptr.into(),
                ptr.into(),
                ptr.into(),
                i64t.into(),
                i64t.into(),
            ],
            false,
        );
        let func = module.add_function(name, fn_ty, None);
        set_host_attrs(func);
        func.add_attribute(AttributeLoc::Function, enum_attr(ctx, "nounwind"));
        func.add_attribute(
            AttributeLoc::Function,
            ctx.create_string_attribute("probe-stack", "inline-asm"),
        );
        for p in 0..5u32 {
            let loc = AttributeLoc::Param(p);
            func.add_attribute(loc, enum_attr(ctx, "nocapture"));
            if p < 3 {
                func.add_attribute(loc, enum_attr(ctx, "noalias"));
                func.add_attribute(loc, enum_attr(ctx, "readonly"));
            }
        }
        let fma = intrinsic(module, "llvm.fma", &[vt.into()])?;
        let mload = intrinsic(module, "llvm.masked.load", &[vt.into(), ptr.into()])?;
        let mstore = intrinsic(module, "llvm.masked.store", &[vt.into(), ptr.into()])?;
        let b = ctx.create_builder();
        let entry = ctx.append_basic_block(func, "entry");
        b.position_at_end(entry);
        Ok(Em {
            ctx,
            module,
            b,
            func,
            i64t,
            i32t: ctx.i32_type(),
            f32t,
            vt,
            lanes,
            fma,
            mload,
            mstore,
            entry,
        })
    }

    /// The n-th pointer parameter.
    pub fn param_ptr(&self, n: u32) -> KernelResult<PointerValue<'ctx>> {
        match self.func.get_nth_param(n) {
            Some(BasicValueEnum::PointerValue(p)) => Ok(p),
            _ => err("missing pointer parameter"),
        }
    }

    /// The n-th integer parameter.
    pub fn param_int(&self, n: u32) -> KernelResult<IntValue<'ctx>> {
        match self.func.get_nth_param(n) {
            Some(BasicValueEnum::IntValue(p)) => Ok(p),
            _ => err("missing integer parameter"),
        }
    }

    /// Static stack buffer of `floats` f32 (32-byte aligned) in the entry block.
    pub fn scratch(&self, floats: usize) -> KernelResult<PointerValue<'ctx>> {
        let cur = self.b.get_insert_block();
        let tmp = self.ctx.create_builder();
        match self.entry.get_first_instruction() {
            Some(i) => tmp.position_before(&i),
            None => tmp.position_at_end(self.entry),
        }
        let n = u32::try_from(floats).map_err(|_| KernelError::new("scratch too large"))?;
        let arr = self.f32t.array_type(n);
        let p = tmp.build_alloca(arr, "scratch")?;
        if let Some(inst) = p.as_instruction_value() {
            inst.set_alignment(32)
                .map_err(|e| KernelError::new(format!("{e:?}")))?;
        }
        if let Some(bb) = cur {
            self.b.position_at_end(bb);
        }
        Ok(p)
    }

    pub fn c64(&self, v: i64) -> IntValue<'ctx> {
        self.i64t.const_int(v as u64, true)
    }

    pub fn add(&self, a: IntValue<'ctx>, b: IntValue<'ctx>) -> KernelResult<IntValue<'ctx>> {
        Ok(self.b.build_int_nsw_add(a, b, "")?)
    }

    pub fn mul(&self, a: IntValue<'ctx>, b: IntValue<'ctx>) -> KernelResult<IntValue<'ctx>> {
        Ok(self.b.build_int_nsw_mul(a, b, "")?)
    }

    pub fn mulc(&self, a: IntValue<'ctx>, c: i64) -> KernelResult<IntValue<'ctx>> {
        self.mul(a, self.c64(c))
    }

    pub fn addc(&self, a: IntValue<'ctx>, c: i64) -> KernelResult<IntValue<'ctx>> {
        self.add(a, self.c64(c))
    }

    /// `&base[idx]` for an f32 array.
    pub fn gep(
        &self,
        base: PointerValue<'ctx>,
        idx: IntValue<'ctx>,
    ) -> KernelResult<PointerValue<'ctx>> {
        // SAFETY: plain in-bounds f32 indexing; the callers keep indices in range.
        Ok(unsafe { self.b.build_in_bounds_gep(self.f32t, base, &[idx], "")? })
    }

    /// `&base[c]` for a constant offset.
    pub fn gepc(&self, base: PointerValue<'ctx>, c: i64) -> KernelResult<PointerValue<'ctx>> {
        if c == 0 {
            return Ok(base);
        }
        self.gep(base, self.c64(c))
    }

    pub fn load_f32(&self, p: PointerValue<'ctx>) -> KernelResult<FloatValue<'ctx>> {
        let v = self.b.build_load(self.f32t, p, "")?;
        set_align(v, 4)?;
        Ok(v.into_float_value())
    }

    pub fn store_f32(&self, p: PointerValue<'ctx>, v: FloatValue<'ctx>) -> KernelResult<()> {
        let s = self.b.build_store(p, v)?;
        s.set_alignment(4)
            .map_err(|e| KernelError::new(format!("{e:?}")))?;
        Ok(())
    }

    /// Unaligned vector load, masked when `mask` is given (masked-off lanes are 0
    /// and are not read from memory).
    pub fn load_v(
        &self,
        p: PointerValue<'ctx>,
        mask: Option<VectorValue<'ctx>>,
    ) -> KernelResult<VectorValue<'ctx>> {
        match mask {
            None => {
                let v = self.b.build_load(self.vt, p, "")?;
                set_align(v, 4)?;
                Ok(v.into_vector_value())
            }
            Some(m) => {
                let call = self.b.build_call(
                    self.mload,
                    &[
                        p.into(),
                        self.i32t.const_int(4, false).into(),
                        m.into(),
                        self.vt.const_zero().into(),
                    ],
                    "",
                )?;
                basic(call.try_as_basic_value()).map(|v| v.into_vector_value())
            }
        }
    }

    /// Unaligned vector store, masked when `mask` is given.
    pub fn store_v(
        &self,
        p: PointerValue<'ctx>,
        v: VectorValue<'ctx>,
        mask: Option<VectorValue<'ctx>>,
    ) -> KernelResult<()> {
        match mask {
            None => {
                let s = self.b.build_store(p, v)?;
                s.set_alignment(4)
                    .map_err(|e| KernelError::new(format!("{e:?}")))?;
            }
            Some(m) => {
                self.b.build_call(
                    self.mstore,
                    &[
                        v.into(),
                        p.into(),
                        self.i32t.const_int(4, false).into(),
                        m.into(),
                    ],
                    "",
                )?;
            }
        }
        Ok(())
    }

    /// Splats a scalar into all lanes.
    pub fn splat(&self, x: FloatValue<'ctx>) -> KernelResult<VectorValue<'ctx>> {
        let undef = self.vt.get_poison();
        let v = self
            .b
            .build_insert_element(undef, x, self.i32t.const_zero(), "")?;
        let zeros = self.i32t.vec_type(self.lanes).const_zero();
        Ok(self.b.build_shuffle_vector(v, undef, zeros, "")?)
    }

    /// Broadcast-load one f32 (`vbroadcastss`).
    pub fn bcast(&self, p: PointerValue<'ctx>) -> KernelResult<VectorValue<'ctx>> {
        let x = self.load_f32(p)?;
        self.splat(x)
    }

    /// `a * b + c` (fused, single rounding).
    pub fn fma(
        &self,
        a: VectorValue<'ctx>,
        b: VectorValue<'ctx>,
        c: VectorValue<'ctx>,
    ) -> KernelResult<VectorValue<'ctx>> {
        let call = self
            .b
            .build_call(self.fma, &[a.into(), b.into(), c.into()], "")?;
        basic(call.try_as_basic_value()).map(|v| v.into_vector_value())
    }

    pub fn fadd(
        &self,
        a: VectorValue<'ctx>,
        b: VectorValue<'ctx>,
    ) -> KernelResult<VectorValue<'ctx>> {
        Ok(self.b.build_float_add(a, b, "")?)
    }

    /// Constant lane mask `[lane < count]`.
    pub fn const_mask(&self, count: usize) -> VectorValue<'ctx> {
        let i1 = self.ctx.bool_type();
        let lanes: Vec<IntValue<'ctx>> = (0..self.lanes as usize)
            .map(|l| i1.const_int(u64::from(l < count), false))
            .collect();
        VectorType::const_vector(&lanes)
    }

    /// Runtime lane mask `[lane < count]` (`count` an i64).
    pub fn runtime_mask(&self, count: IntValue<'ctx>) -> KernelResult<VectorValue<'ctx>> {
        let w = self.lanes;
        let iota: Vec<IntValue<'ctx>> = (0..w as u64)
            .map(|l| self.i64t.const_int(l, false))
            .collect();
        let iota = VectorType::const_vector(&iota);
        let undef = self.i64t.vec_type(w).get_poison();
        let v = self
            .b
            .build_insert_element(undef, count, self.i32t.const_zero(), "")?;
        let zeros = self.i32t.vec_type(w).const_zero();
        let cnt = self.b.build_shuffle_vector(v, undef, zeros, "")?;
        Ok(self.b.build_int_compare(IntPredicate::SLT, iota, cnt, "")?)
    }

    /// Applies an epilogue activation in registers (any of the language's, see
    /// [`super::vmath`]).
    pub fn act(
        &self,
        v: VectorValue<'ctx>,
        act: Option<Activation>,
    ) -> KernelResult<VectorValue<'ctx>> {
        super::vmath::VMath::new(&self.b, self.module).act(act, v)
    }

    /// Emits `for i in start..end { body(i) }` (i64, step 1; no iteration when
    /// `start >= end`). The body may create blocks of its own.
    pub fn for_loop(
        &self,
        start: IntValue<'ctx>,
        end: IntValue<'ctx>,
        mut body: impl FnMut(IntValue<'ctx>) -> KernelResult<()>,
    ) -> KernelResult<()> {
        let pre = self.cur_block()?;
        let head = self.ctx.append_basic_block(self.func, "loop");
        let exit = self.ctx.append_basic_block(self.func, "loop.exit");
        let any = self
            .b
            .build_int_compare(IntPredicate::SLT, start, end, "")?;
        self.b.build_conditional_branch(any, head, exit)?;
        self.b.position_at_end(head);
        let phi = self.b.build_phi(self.i64t, "i")?;
        phi.add_incoming(&[(&start as &dyn BasicValue, pre)]);
        let i = phi.as_basic_value().into_int_value();
        body(i)?;
        let next = self.addc(i, 1)?;
        let latch = self.cur_block()?;
        phi.add_incoming(&[(&next as &dyn BasicValue, latch)]);
        let more = self.b.build_int_compare(IntPredicate::SLT, next, end, "")?;
        self.b.build_conditional_branch(more, head, exit)?;
        self.b.position_at_end(exit);
        Ok(())
    }

    /// Emits `if cond { then() }`.
    pub fn if_then(
        &self,
        cond: IntValue<'ctx>,
        then: impl FnOnce() -> KernelResult<()>,
    ) -> KernelResult<()> {
        let t = self.ctx.append_basic_block(self.func, "then");
        let j = self.ctx.append_basic_block(self.func, "endif");
        self.b.build_conditional_branch(cond, t, j)?;
        self.b.position_at_end(t);
        then()?;
        self.b.build_unconditional_branch(j)?;
        self.b.position_at_end(j);
        Ok(())
    }

    pub fn cur_block(&self) -> KernelResult<BasicBlock<'ctx>> {
        self.b
            .get_insert_block()
            .ok_or_else(|| KernelError::new("builder not positioned"))
    }

    pub fn icmp(
        &self,
        p: IntPredicate,
        a: IntValue<'ctx>,
        b: IntValue<'ctx>,
    ) -> KernelResult<IntValue<'ctx>> {
        Ok(self.b.build_int_compare(p, a, b, "")?)
    }

    pub fn udivc(&self, a: IntValue<'ctx>, c: i64) -> KernelResult<IntValue<'ctx>> {
        Ok(self.b.build_int_unsigned_div(a, self.c64(c), "")?)
    }

    pub fn uremc(&self, a: IntValue<'ctx>, c: i64) -> KernelResult<IntValue<'ctx>> {
        Ok(self.b.build_int_unsigned_rem(a, self.c64(c), "")?)
    }

    pub fn min(&self, a: IntValue<'ctx>, b: IntValue<'ctx>) -> KernelResult<IntValue<'ctx>> {
        let lt = self.icmp(IntPredicate::SLT, a, b)?;
        Ok(self.b.build_select(lt, a, b, "")?.into_int_value())
    }

    pub fn ret(&self) -> KernelResult<()> {
        self.b.build_return(None)?;
        Ok(())
    }

    /// Clamps the task range `[begin, end)` to `[0, ntasks)`.
    pub fn task_range(&self, ntasks: usize) -> KernelResult<(IntValue<'ctx>, IntValue<'ctx>)> {
        let begin = self.param_int(5)?;
        let end = self.param_int(6)?;
        let zero = self.c64(0);
        let nt = self.c64(i64_of(ntasks)?);
        let lt0 = self.icmp(IntPredicate::SLT, begin, zero)?;
        let begin = self.b.build_select(lt0, zero, begin, "")?.into_int_value();
        let end = self.min(end, nt)?;
        Ok((begin, end))
    }
}

fn set_align(v: BasicValueEnum<'_>, a: u32) -> KernelResult<()> {
    if let Some(i) = v.as_instruction_value() {
        i.set_alignment(a)
            .map_err(|e| KernelError::new(format!("{e:?}")))?;
    }
    Ok(())
}

fn basic(v: inkwell::values::ValueKind<'_>) -> KernelResult<BasicValueEnum<'_>> {
    match v {
        inkwell::values::ValueKind::Basic(b) => Ok(b),
        _ => err("intrinsic returned void"),
    }
}

fn intrinsic<'ctx>(
    module: &Module<'ctx>,
    name: &str,
    tys: &[inkwell::types::BasicTypeEnum<'ctx>],
) -> KernelResult<FunctionValue<'ctx>> {
    Intrinsic::find(name)
        .and_then(|i| i.get_declaration(module, tys))
        .ok_or_else(|| KernelError::new(format!("intrinsic {name} not found")))
}

/// Shape of one register tile computation (the micro-kernel), all in f32 elements.
///
/// Computes `acc[i][j] = Σ_{kk < iters} Σ_{(ao, bo) ∈ taps}
///     bcast(A[kk·a_k_stride + ao + i·a_row_stride]) · B_j[kk·b_k_stride + bo .. +8]`
/// for `i < mr`, `j < nv`, where `B_j` is the j-th vector base pointer.
pub(crate) struct TileShape<'ctx> {
    pub mr: usize,
    pub nv: usize,
    pub a_row_stride: i64,
    pub a_k_stride: i64,
    pub b_k_stride: i64,
    pub taps: Vec<(i64, i64)>,
    pub iters: u64,
    /// Per vector slot: load mask (only for tails that may not be read past).
    pub b_masks: Vec<Option<VectorValue<'ctx>>>,
}

/// Emits the micro-kernel loop for `shape` at the current position; returns the
/// accumulators `acc[i][j]` (valid after the loop, in the exit block, where the
/// builder is left positioned).
pub(crate) fn emit_tile<'ctx>(
    em: &Em<'_, 'ctx>,
    shape: &TileShape<'ctx>,
    a_base: PointerValue<'ctx>,
    b_bases: &[PointerValue<'ctx>],
) -> KernelResult<Vec<Vec<VectorValue<'ctx>>>> {
    let (mr, nv) = (shape.mr, shape.nv);
    if mr == 0 || nv == 0 || b_bases.len() != nv || shape.iters == 0 || shape.taps.is_empty() {
        return err("bad tile shape");
    }
    let pre = em.cur_block()?;
    let body = em.ctx.append_basic_block(em.func, "k.loop");
    let exit = em.ctx.append_basic_block(em.func, "k.exit");
    em.b.build_unconditional_branch(body)?;
    em.b.position_at_end(body);
    let kphi = em.b.build_phi(em.i64t, "k")?;
    let zero = em.c64(0);
    kphi.add_incoming(&[(&zero as &dyn BasicValue, pre)]);
    let vzero = em.vt.const_zero();
    let mut phis = Vec::with_capacity(mr * nv);
    let mut acc: Vec<Vec<VectorValue<'ctx>>> = Vec::with_capacity(mr);
    for _ in 0..mr {
        let mut row = Vec::with_capacity(nv);
        for _ in 0..nv {
            let p = em.b.build_phi(em.vt, "acc")?;
            p.add_incoming(&[(&vzero as &dyn BasicValue, pre)]);
            row.push(p.as_basic_value().into_vector_value());
            phis.push(p);
        }
        acc.push(row);
    }
    let k = kphi.as_basic_value().into_int_value();
    let a_k = em.mulc(k, shape.a_k_stride)?;
    let b_k = em.mulc(k, shape.b_k_stride)?;
    let a_ptr = em.gep(a_base, a_k)?;
    let b_ptrs: Vec<PointerValue<'ctx>> = b_bases
        .iter()
        .map(|&bb| em.gep(bb, b_k))
        .collect::<KernelResult<_>>()?;
    for &(ao, bo) in &shape.taps {
        let mut bv = Vec::with_capacity(nv);
        for (j, &bp) in b_ptrs.iter().enumerate() {
            let p = em.gepc(bp, bo)?;
            bv.push(em.load_v(p, shape.b_masks.get(j).copied().flatten())?);
        }
        for (i, row) in acc.iter_mut().enumerate() {
            let ap = em.gepc(a_ptr, ao + i as i64 * shape.a_row_stride)?;
            let a = em.bcast(ap)?;
            for (j, slot) in row.iter_mut().enumerate() {
                *slot = em.fma(a, bv[j], *slot)?;
            }
        }
    }
    let next = em.addc(k, 1)?;
    let latch = em.cur_block()?;
    kphi.add_incoming(&[(&next as &dyn BasicValue, latch)]);
    for (n, p) in phis.iter().enumerate() {
        let v = acc[n / nv][n % nv];
        p.add_incoming(&[(&v as &dyn BasicValue, latch)]);
    }
    let iters = em.c64(i64::try_from(shape.iters).map_err(|_| KernelError::new("K too large"))?);
    let more = em.icmp(IntPredicate::SLT, next, iters)?;
    em.b.build_conditional_branch(more, body, exit)?;
    em.b.position_at_end(exit);
    Ok(acc)
}

/// Largest `u ≤ max` dividing `k` (≥ 1).
pub(crate) fn unroll_for(k: usize, max: usize) -> usize {
    (1..=max.max(1))
        .rev()
        .find(|u| k.is_multiple_of(*u))
        .unwrap_or(1)
}

/// A fully connected layer `y[m][n] = act(Σ_k x[m][k]·W[n][k] + bias[n] + residual[m][n])`.
///
/// `x` is row-major `[m][k]`, `W` is PyTorch's `[n][k]`, `y`/`residual` row-major
/// `[m][n]`.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearSpec {
    /// Rows of `x` (batch).
    pub m: usize,
    /// Input features.
    pub k: usize,
    /// Output features.
    pub n: usize,
    /// Whether `bias[n]` is added.
    pub bias: bool,
    /// Whether `residual[m][n]` is added.
    pub residual: bool,
    /// Activation applied last (`None` = identity).
    pub act: Option<Activation>,
}

/// Tiling of a linear layer (derived from the spec; the same in packing and emission).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinearPlan {
    /// Rows per register tile.
    pub mr: usize,
    /// Vectors (of 8 outputs) per weight panel.
    pub nv: usize,
    /// Number of weight panels (`ceil(n / (8·nv))`).
    pub panels: usize,
    /// Tasks: `panels × row_chunks` (panel-major).
    pub num_tasks: usize,
    /// Length of the packed weight buffer in f32.
    pub packed_len: usize,
    /// Input features per K block (`k` when the layer is not K-blocked).
    pub kc: usize,
    /// Chunks the rows are split into (1 unless there are too few panels to
    /// keep two threads evenly busy).
    pub row_chunks: usize,
    /// Full `mr`-row tiles per row chunk (the row remainder goes to the last chunk).
    pub tiles_per_chunk: usize,
}

/// Rows from which a linear layer is a real GEMM (every weight panel reused by
/// many row tiles): wide 64-output panels and K blocks that keep a panel's block
/// in L1.
const GEMM_ROWS: usize = 5;
/// Largest K block of a GEMM-shaped linear layer: a `KC_LINEAR × 64` block of the
/// weight panel is 32 KiB.
const KC_LINEAR: usize = 128;
/// Tasks a GEMM-shaped linear layer is cut into at least (row chunks are added when
/// there are fewer panels), so that a static split over two threads is even.
const MIN_LINEAR_TASKS: usize = 16;
/// Fewest row tiles per row chunk (each chunk reloads the weight panel's blocks).
const MIN_CHUNK_TILES: usize = 8;

impl LinearSpec {
    /// Checks the spec and derives the tiling.
    pub fn plan(&self) -> KernelResult<LinearPlan> {
        if self.m == 0 || self.k == 0 || self.n == 0 {
            return err("linear: zero-sized dimension");
        }
        if mul(&[self.m, self.k])? > MAX_ELEMS
            || mul(&[self.n, self.k])? > MAX_ELEMS
            || mul(&[self.m, self.n])? > MAX_ELEMS
        {
            return err("linear: tensor too large");
        }
        // With few rows (a GEMV, bound by streaming the weights) the tile is wide so
        // that ≥ 8 accumulators stay independent. With many rows the panels are 64
        // outputs wide (the emitter cuts them into register tiles per ISA) and K is
        // blocked so that each panel block is reused from L1 by every row tile.
        let mr = self.m.min(6);
        let gemm = self.m >= GEMM_ROWS;
        let nv = match mr {
            1 => 8,
            2 => 4,
            3 | 4 => 3,
            _ => 8,
        }
        .min(self.n.div_ceil(8));
        let kc = if gemm && self.k > KC_LINEAR {
            let nb = self.k.div_ceil(KC_LINEAR);
            (self.k.div_ceil(nb).div_ceil(8) * 8).min(self.k)
        } else {
            self.k
        };
        let pw = 8 * nv;
        let panels = self.n.div_ceil(pw);
        let packed_len = mul(&[panels, pw, self.k])?;
        let full_tiles = self.m / mr;
        let row_chunks = if gemm {
            MIN_LINEAR_TASKS
                .div_ceil(panels)
                .min(full_tiles / MIN_CHUNK_TILES)
                .max(1)
        } else {
            1
        };
        let tiles_per_chunk = full_tiles.div_ceil(row_chunks);
        // Every chunk but the last is whole tiles; none is empty.
        let row_chunks = full_tiles.div_ceil(tiles_per_chunk.max(1)).max(1);
        Ok(LinearPlan {
            mr,
            nv,
            panels,
            num_tasks: mul(&[panels, row_chunks])?,
            packed_len,
            kc,
            row_chunks,
            tiles_per_chunk,
        })
    }
}

/// Packs PyTorch linear weights `W[n][k]` for [`emit_linear`]: panels of `8·nv` output
/// features, each stored `[k][8·nv]` (zero-padded past `n`).
pub fn pack_linear_weights(w: &[f32], spec: &LinearSpec) -> KernelResult<Vec<f32>> {
    let plan = spec.plan()?;
    if w.len() != mul(&[spec.n, spec.k])? {
        return err("linear: weight length mismatch");
    }
    let pw = 8 * plan.nv;
    let mut out = vec![0.0f32; plan.packed_len];
    for p in 0..plan.panels {
        for kk in 0..spec.k {
            for c in 0..pw {
                let n = p * pw + c;
                if n < spec.n {
                    out[(p * spec.k + kk) * pw + c] = w[n * spec.k + kk];
                }
            }
        }
    }
    Ok(out)
}

/// Emits a linear layer kernel (see [`LinearSpec`]) named `name` with the common
/// signature `(x, w_packed, bias, residual, y, task_begin, task_end)`.
///
/// Tasks: `spec.plan()?.num_tasks`, one per panel of `8·nv` output features (all rows).
pub fn emit_linear<'ctx>(
    module: &Module<'ctx>,
    spec: &LinearSpec,
    name: &str,
) -> KernelResult<FunctionValue<'ctx>> {
    emit_linear_for(module, spec, name, super::isa::AVX2)
}

/// The vector width of the linear kernel for `isa`: 16 lanes on AVX-512 when a
/// weight panel is whole 16-float vectors (`8·nv` a multiple of 16: batch 1 and 2),
/// else 8. The packed layout is the same for every width.
pub fn linear_lanes(plan: &LinearPlan, isa: super::isa::Isa) -> u32 {
    if isa.lanes >= 16 && (8 * plan.nv).is_multiple_of(16) {
        16
    } else {
        8
    }
}

/// How a K block of a linear layer starts its sums (see [`emit_linear_for`]).
#[derive(Clone, Copy)]
enum Start<'ctx> {
    /// The first block: bias and residual.
    Init,
    /// A later block: the partial sums stored in the output.
    Partial,
    /// Decided at run time (the loop over the non-last blocks): `Init` when true.
    Runtime(IntValue<'ctx>),
}

/// [`emit_linear`] for a target ISA (see [`linear_lanes`]).
///
/// * At batch 1 (a GEMV, bound by streaming the weights) each K step is one
///   broadcast and four zmm loads and FMAs on AVX-512 instead of eight ymm ones.
/// * With many rows (a GEMM: ViT's token-wise linears, ConvNeXt's channels-last
///   MLPs) a task owns one 64-output weight panel and runs, for each K block of
///   `plan.kc` inputs, every row tile over it, so the panel's block (32 KiB) stays
///   in L1 while all rows reuse it. The register tile is `6 × 4` zmm (24
///   accumulators) on AVX-512 and `6 × 2` ymm (12) on AVX2: one panel is cut into
///   as many tiles as the ISA's register file needs. Partial sums of a block go
///   through the output: the first block adds bias and residual, the later ones
///   reload the output, the last one applies the activation. (The residual is read
///   in the first block, before that element of the output is written, so an
///   in-place residual stays correct.)
pub fn emit_linear_for<'ctx>(
    module: &Module<'ctx>,
    spec: &LinearSpec,
    name: &str,
    isa: super::isa::Isa,
) -> KernelResult<FunctionValue<'ctx>> {
    let plan = spec.plan()?;
    let lanes = linear_lanes(&plan, isa);
    let l = lanes as usize;
    let em = Em::with_lanes(module, name, lanes)?;
    let x = em.param_ptr(0)?;
    let w = em.param_ptr(1)?;
    let bias = em.param_ptr(2)?;
    let res = em.param_ptr(3)?;
    let y = em.param_ptr(4)?;
    let (begin, end) = em.task_range(plan.num_tasks)?;
    let pw = 8 * plan.nv;
    let k = spec.k;
    let kc = plan.kc;
    let blocks = k.div_ceil(kc);
    let k_last = k - (blocks - 1) * kc;
    let tail = spec.n % l;
    // Vectors of `l` floats per panel.
    let vpp = pw / l;
    // Accumulators a register tile may hold (the rest hold B vectors and A broadcasts).
    let acc_budget = if isa.vregs >= 32 { 24 } else { 12 };
    let sub = (acc_budget / plan.mr).max(1);
    let rc = i64_of(plan.row_chunks)?;
    em.for_loop(begin, end, |task| {
        let p = em.udivc(task, rc)?;
        let chunk = em.uremc(task, rc)?;
        let wp = em.gep(w, em.mulc(p, i64_of(pw * k)?)?)?;
        let n0 = em.mulc(p, i64_of(pw)?)?;
        // Full row tiles of this chunk: `t0..t1`; the row remainder (fewer than
        // `mr` rows) belongs to the last chunk.
        let full_tiles = spec.m / plan.mr;
        let t0 = em.mulc(chunk, i64_of(plan.tiles_per_chunk)?)?;
        let t1 = em.min(
            em.addc(t0, i64_of(plan.tiles_per_chunk)?)?,
            em.c64(i64_of(full_tiles)?),
        )?;
        let last_chunk = em.icmp(IntPredicate::EQ, chunk, em.c64(rc - 1))?;
        // Number of vectors of this panel that are inside n (the last panel may be short).
        let last_panel = plan.panels - 1;
        let vecs_last = (spec.n - last_panel * pw).div_ceil(l);
        let is_last = em.icmp(IntPredicate::EQ, p, em.c64(i64_of(last_panel)?))?;
        // One K block (`kb`, `kl` inputs) over all rows of the panel's `nv` vectors.
        let block = |nv: usize,
                     last: bool,
                     kb: IntValue<'ctx>,
                     kl: usize,
                     start: Start<'ctx>,
                     fin: bool|
         -> KernelResult<()> {
            let u = unroll_for(kl, 4);
            let k0 = em.mulc(kb, i64_of(kc)?)?;
            let wb = em.gep(wp, em.mulc(k0, i64_of(pw)?)?)?;
            let tile = |m0: IntValue<'ctx>, mr: usize| -> KernelResult<()> {
                let a_base = em.gep(x, em.add(em.mulc(m0, i64_of(k)?)?, k0)?)?;
                let mut j0 = 0;
                while j0 < nv {
                    let tv = sub.min(nv - j0);
                    let shape = TileShape {
                        mr,
                        nv: tv,
                        a_row_stride: i64_of(k)?,
                        a_k_stride: i64_of(u)?,
                        b_k_stride: i64_of(u * pw)?,
                        taps: (0..u).map(|t| (t as i64, (t * pw) as i64)).collect(),
                        iters: (kl / u) as u64,
                        b_masks: vec![None; tv],
                    };
                    let b_bases: Vec<PointerValue<'ctx>> = (j0..j0 + tv)
                        .map(|j| em.gepc(wb, (j * l) as i64))
                        .collect::<KernelResult<_>>()?;
                    let acc = emit_tile(&em, &shape, a_base, &b_bases)?;
                    for (i, row) in acc.iter().enumerate() {
                        let m = em.addc(m0, i as i64)?;
                        for (jj, &v) in row.iter().enumerate() {
                            let j = j0 + jj;
                            let col = em.addc(n0, (j * l) as i64)?;
                            // Only the very last vector of the layer can be partial.
                            let mask = if tail != 0 && last && j == nv - 1 {
                                Some(em.const_mask(tail))
                            } else {
                                None
                            };
                            let off = em.add(em.mulc(m, i64_of(spec.n)?)?, col)?;
                            let yp = em.gep(y, off)?;
                            let init = |em: &Em<'_, 'ctx>| -> KernelResult<_> {
                                let mut s: Option<VectorValue<'ctx>> = None;
                                if spec.bias {
                                    s = Some(em.load_v(em.gep(bias, col)?, mask)?);
                                }
                                if spec.residual {
                                    let rv = em.load_v(em.gep(res, off)?, mask)?;
                                    s = Some(match s {
                                        Some(b) => em.fadd(b, rv)?,
                                        None => rv,
                                    });
                                }
                                Ok(s)
                            };
                            let mut v = v;
                            match start {
                                Start::Init => {
                                    if let Some(s) = init(&em)? {
                                        v = em.fadd(v, s)?;
                                    }
                                }
                                Start::Partial => {
                                    v = em.fadd(v, em.load_v(yp, mask)?)?;
                                }
                                Start::Runtime(first) => {
                                    let s = init(&em)?.unwrap_or(em.vt.const_zero());
                                    let part = em.load_v(yp, mask)?;
                                    let prev = em.b.build_select(first, s, part, "")?;
                                    v = em.fadd(v, prev.into_vector_value())?;
                                }
                            }
                            if fin {
                                v = em.act(v, spec.act)?;
                            }
                            em.store_v(yp, v, mask)?;
                        }
                    }
                    j0 += tv;
                }
                Ok(())
            };
            em.for_loop(t0, t1, |t| tile(em.mulc(t, i64_of(plan.mr)?)?, plan.mr))?;
            let rem = spec.m - full_tiles * plan.mr;
            if rem > 0 {
                em.if_then(last_chunk, || {
                    tile(em.c64(i64_of(full_tiles * plan.mr)?), rem)
                })?;
            }
            Ok(())
        };
        let body = |nv: usize, last: bool| -> KernelResult<()> {
            if blocks > 1 {
                em.for_loop(em.c64(0), em.c64(i64_of(blocks - 1)?), |kb| {
                    let first = em.icmp(IntPredicate::EQ, kb, em.c64(0))?;
                    block(nv, last, kb, kc, Start::Runtime(first), false)
                })?;
            }
            let kb = em.c64(i64_of(blocks - 1)?);
            let start = if blocks == 1 {
                Start::Init
            } else {
                Start::Partial
            };
            block(nv, last, kb, k_last, start, true)
        };
        if plan.panels == 1 {
            body(vecs_last, true)
        } else if vecs_last == vpp && tail == 0 {
            body(vpp, false)
        } else {
            let t = em.ctx.append_basic_block(em.func, "panel.last");
            let f = em.ctx.append_basic_block(em.func, "panel.full");
            let j = em.ctx.append_basic_block(em.func, "panel.join");
            em.b.build_conditional_branch(is_last, t, f)?;
            em.b.position_at_end(t);
            body(vecs_last, true)?;
            em.b.build_unconditional_branch(j)?;
            em.b.position_at_end(f);
            body(vpp, false)?;
            em.b.build_unconditional_branch(j)?;
            em.b.position_at_end(j);
            Ok(())
        }
    })?;
    em.ret()?;
    Ok(em.func)
}
