//! Building the LLVM module of a plan: one internal function per kernel
//! step, the parallel task wrappers, `nnc_model_forward` and
//! `nnc_model_meta` (runtime/ABI.md), and the target machine.

use crate::kernels::{CgError, Kcx, R};
use crate::plan::{Buf, KernelPlan, Plan, Step};
use inkwell::attributes::{Attribute, AttributeLoc};
use inkwell::context::Context;
use inkwell::module::{Linkage, Module};
use inkwell::targets::{
    CodeModel, InitializationConfig, RelocMode, Target, TargetMachine, TargetTriple,
};
use inkwell::types::BasicMetadataTypeEnum;
use inkwell::values::{BasicMetadataValueEnum, FunctionValue, GlobalValue, PointerValue};
use inkwell::{AddressSpace, GlobalVisibility, OptimizationLevel};
use std::collections::HashMap;
use std::path::Path;

/// How the weight blob gets into the module.
pub enum WeightsEmbed<'p> {
    /// `.incbin` of the blob file in module-level assembly (object files).
    Incbin(&'p Path),
    /// An LLVM constant array (in-process JIT; small models only).
    Constant,
    /// An external `nnc_weights` symbol the caller maps to the blob in memory
    /// (in-process JIT of large models).
    Extern,
}

/// The CPU name and feature string for a `--target-cpu` value.
pub fn cpu_and_features(target_cpu: &str) -> (String, String) {
    match target_cpu {
        "" | "host" | "native" => (
            TargetMachine::get_host_cpu_name().to_string(),
            TargetMachine::get_host_cpu_features().to_string(),
        ),
        "generic" => ("x86-64".to_string(), String::new()),
        other => (other.to_string(), String::new()),
    }
}

/// Creates the target machine for the host triple.
pub fn target_machine(
    target_cpu: &str,
    opt_level: u8,
) -> Result<TargetMachine, crate::CodegenError> {
    use crate::CodegenError::Llvm;
    crate::cpu::validate_cpu(target_cpu)?;
    Target::initialize_native(&InitializationConfig::default()).map_err(Llvm)?;
    let triple = TargetMachine::get_default_triple();
    let target = Target::from_triple(&triple).map_err(|e| Llvm(e.to_string()))?;
    let (cpu, features) = cpu_and_features(target_cpu);
    let opt = match opt_level {
        0 => OptimizationLevel::None,
        1 => OptimizationLevel::Less,
        2 => OptimizationLevel::Default,
        _ => OptimizationLevel::Aggressive,
    };
    target
        .create_target_machine(
            &triple,
            &cpu,
            &features,
            opt,
            RelocMode::PIC,
            CodeModel::Default,
        )
        .ok_or_else(|| Llvm(format!("LLVM does not know the CPU `{cpu}` for {triple}")))
}

/// Runs the optimization pipeline for `-O<opt_level>`.
pub fn optimize(
    module: &Module,
    tm: &TargetMachine,
    opt_level: u8,
) -> Result<(), crate::CodegenError> {
    let pipeline = format!("default<O{}>", opt_level.min(3));
    let opts = inkwell::passes::PassBuilderOptions::create();
    // Kernels unroll their register tiles explicitly; LLVM's unroller would
    // also unroll the rolled tap loops and then share loads between taps,
    // which spills accumulators (and costs compile time).
    opts.set_loop_unrolling(false);
    module
        .run_passes(&pipeline, tm, opts)
        .map_err(|e| crate::CodegenError::Llvm(e.to_string()))
}

/// The meta text of runtime/ABI.md.
pub fn meta_text(name: &str, plan: &Plan, predicted: &dyn Fn(&Step) -> f64) -> String {
    let mut s = String::from("nnc-meta 1\n");
    s.push_str(&format!("network {}\n", sanitize(name)));
    for (n, shape) in &plan.input_shapes {
        s.push_str(&format!("input {} {}", sanitize(n), shape.len()));
        for d in shape {
            s.push_str(&format!(" {d}"));
        }
        s.push('\n');
    }
    for (n, shape) in &plan.output_shapes {
        s.push_str(&format!("output {} {}", sanitize(n), shape.len()));
        for d in shape {
            s.push_str(&format!(" {d}"));
        }
        s.push('\n');
    }
    s.push_str(&format!("arena {}\n", plan.arena_bytes));
    for (i, st) in plan.steps.iter().enumerate() {
        s.push_str(&format!(
            "node {i} {} {} {:.6}\n",
            sanitize(&st.op),
            sanitize(&st.name),
            predicted(st)
        ));
    }
    s
}

fn sanitize(s: &str) -> String {
    let t: String = s
        .chars()
        .map(|c| if c.is_whitespace() { '_' } else { c })
        .collect();
    if t.is_empty() {
        "_".into()
    } else {
        t
    }
}

fn overlaps(a: Buf, asz: u64, b: Buf, bsz: u64) -> bool {
    match (a, b) {
        (Buf::Arena(x), Buf::Arena(y)) => x < y + bsz && y < x + asz,
        (x, y) => x == y,
    }
}

/// Builds the whole module.
pub fn build_module<'ctx>(
    ctx: &'ctx Context,
    plan: &Plan,
    meta: &str,
    tm: &TargetMachine,
    target_cpu: &str,
    embed: WeightsEmbed,
) -> R<Module<'ctx>> {
    let module = ctx.create_module("nnc_model");
    module.set_triple(&tm.get_triple());
    module.set_data_layout(&tm.get_target_data().get_data_layout());
    let (cpu, features) = cpu_and_features(target_cpu);
    let fn_attrs = vec![
        ctx.create_string_attribute("target-cpu", &cpu),
        ctx.create_string_attribute("target-features", &features),
        ctx.create_enum_attribute(Attribute::get_named_enum_kind_id("nounwind"), 0),
    ];
    let f32t = ctx.f32_type();
    let i64t = ctx.i64_type();
    let i32t = ctx.i32_type();
    let ptrt = ctx.ptr_type(AddressSpace::default());
    let void = ctx.void_type();

    // weights
    let weights: GlobalValue = match embed {
        WeightsEmbed::Incbin(path) => {
            let ps = path.to_str().ok_or("weights path is not UTF-8")?;
            if ps.contains('"') || ps.contains('\n') || ps.contains('\\') {
                return Err(CgError(format!("unsupported weights path {ps}")));
            }
            let g = module.add_global(f32t.array_type(0), None, "nnc_weights");
            g.set_linkage(Linkage::External);
            g.set_visibility(GlobalVisibility::Hidden);
            g.set_alignment(64);
            let body = if plan.blob.is_empty() {
                ".zero 64".to_string()
            } else {
                format!(".incbin \"{ps}\"")
            };
            module.set_inline_assembly(&format!(
                ".pushsection .rodata.nnc_weights,\"a\",@progbits\n.balign 64\n.globl nnc_weights\n.hidden nnc_weights\nnnc_weights:\n{body}\n.popsection\n"
            ));
            g
        }
        WeightsEmbed::Constant => {
            let vals: Vec<_> = plan
                .blob
                .iter()
                .map(|&v| f32t.const_float(v as f64))
                .collect();
            let arr = f32t.const_array(&vals);
            let g = module.add_global(arr.get_type(), None, "nnc_weights");
            g.set_initializer(&arr);
            g.set_constant(true);
            g.set_linkage(Linkage::Internal);
            g.set_alignment(64);
            g
        }
        WeightsEmbed::Extern => {
            let g = module.add_global(f32t.array_type(0), None, "nnc_weights");
            g.set_linkage(Linkage::External);
            g.set_alignment(64);
            g
        }
    };

    // meta
    let meta_c = ctx.const_string(meta.as_bytes(), true);
    let mg = module.add_global(meta_c.get_type(), None, "nnc_model_meta");
    mg.set_initializer(&meta_c);
    mg.set_constant(true);
    mg.set_linkage(Linkage::External);

    // runtime functions
    let node_ft = void.fn_type(&[i32t.into()], false);
    let begin = module.add_function("nnc_node_begin", node_ft, Some(Linkage::External));
    let end = module.add_function("nnc_node_end", node_ft, Some(Linkage::External));
    let pf_ft = void.fn_type(&[ptrt.into(), ptrt.into(), i64t.into()], false);
    let pfor = module.add_function("nnc_parallel_for", pf_ft, Some(Linkage::External));

    let builder = ctx.create_builder();
    let fwd_ft = void.fn_type(&[ptrt.into(), ptrt.into(), ptrt.into()], false);
    let fwd = module.add_function("nnc_model_forward", fwd_ft, Some(Linkage::External));
    for a in &fn_attrs {
        fwd.add_attribute(AttributeLoc::Function, *a);
    }
    let weights_ptr = weights.as_pointer_value();
    let mk = |func: FunctionValue<'ctx>, wbase: PointerValue<'ctx>| Kcx {
        ctx,
        module: &module,
        b: &builder,
        f32t,
        i64t,
        i32t,
        ptrt,
        weights: wbase,
        func,
        fn_attrs: &fn_attrs,
        cpu: &cpu,
        features: &features,
    };

    // Kernels first (each with its own builder position). Steps whose
    // kernels differ only in where their weights are share one function
    // (and one task wrapper): a network of N identical layers costs LLVM
    // one kernel, not N, so that build time follows the number of distinct
    // kernels (see `KernelKey`).
    let mut shared: HashMap<String, (FunctionValue<'ctx>, Option<FunctionValue<'ctx>>)> =
        HashMap::new();
    let mut kernel_fns = Vec::with_capacity(plan.steps.len());
    for (i, st) in plan.steps.iter().enumerate() {
        let key = KernelKey::of(st);
        let fns = match shared.get(&key.text) {
            Some(&fns) => fns,
            None => {
                let f = emit_kernel_fn(ctx, &module, &mk, i, st, &key)?;
                let task = if st.ntasks > 1 {
                    Some(emit_task_fn(ctx, &module, &mk, i, st, f)?)
                } else {
                    None
                };
                shared.insert(key.text.clone(), (f, task));
                (f, task)
            }
        };
        kernel_fns.push((fns.0, fns.1, key.base));
    }

    // forward
    let entry = ctx.append_basic_block(fwd, "entry");
    builder.position_at_end(entry);
    let k = mk(fwd, weights_ptr);
    let p_in = fwd.get_nth_param(0).ok_or("param")?.into_pointer_value();
    let p_out = fwd.get_nth_param(1).ok_or("param")?.into_pointer_value();
    let arena = fwd.get_nth_param(2).ok_or("param")?.into_pointer_value();
    let mut in_ptrs = Vec::new();
    for i in 0..plan.input_shapes.len() {
        let p = unsafe { builder.build_in_bounds_gep(ptrt, p_in, &[k.i64c(i as i64)], "")? };
        in_ptrs.push(builder.build_load(ptrt, p, "in")?.into_pointer_value());
    }
    let mut out_ptrs = Vec::new();
    for i in 0..plan.output_shapes.len() {
        let p = unsafe { builder.build_in_bounds_gep(ptrt, p_out, &[k.i64c(i as i64)], "")? };
        out_ptrs.push(builder.build_load(ptrt, p, "out")?.into_pointer_value());
    }
    let bufptr = |b: Buf| -> R<PointerValue<'ctx>> {
        Ok(match b {
            Buf::Input(i) => *in_ptrs.get(i).ok_or("bad input index")?,
            Buf::Output(i) => *out_ptrs.get(i).ok_or("bad output index")?,
            Buf::Arena(off) => unsafe {
                builder.build_in_bounds_gep(ctx.i8_type(), arena, &[k.i64c(off as i64)], "")?
            },
        })
    };
    let max_args = plan
        .steps
        .iter()
        .map(|s| s.ins.len() + 2)
        .max()
        .unwrap_or(1);
    let ctx_arr = builder.build_alloca(ptrt.array_type(max_args as u32), "taskctx")?;
    for (i, (st, (f, task, wbase))) in plan.steps.iter().zip(&kernel_fns).enumerate() {
        let idx = i32t.const_int(i as u64, false);
        builder.build_call(begin, &[idx.into()], "")?;
        let mut ptrs = vec![bufptr(st.out)?];
        for &b in &st.ins {
            ptrs.push(bufptr(b)?);
        }
        ptrs.push(k.gepc(weights_ptr, *wbase as i64)?);
        match task {
            None => {
                let mut args: Vec<BasicMetadataValueEnum> =
                    ptrs.iter().map(|p| (*p).into()).collect();
                args.push(k.i64c(0).into());
                args.push(k.i64c(st.kernel.items() as i64).into());
                builder.build_call(*f, &args, "")?;
            }
            Some(tf) => {
                for (j, p) in ptrs.iter().enumerate() {
                    let slot = unsafe {
                        builder.build_in_bounds_gep(ptrt, ctx_arr, &[k.i64c(j as i64)], "")?
                    };
                    builder.build_store(slot, *p)?;
                }
                builder.build_call(
                    pfor,
                    &[
                        tf.as_global_value().as_pointer_value().into(),
                        ctx_arr.into(),
                        k.i64c(st.ntasks as i64).into(),
                    ],
                    "",
                )?;
            }
        }
        builder.build_call(end, &[idx.into()], "")?;
    }
    for &(o, src, bytes) in &plan.copies {
        let d = bufptr(Buf::Output(o))?;
        let s = bufptr(src)?;
        builder
            .build_memcpy(d, 4, s, 4, k.i64c(bytes as i64))
            .map_err(|e| CgError(e.to_string()))?;
    }
    builder.build_return(None)?;
    module
        .verify()
        .map_err(|e| CgError(format!("LLVM module does not verify: {e}")))?;
    Ok(module)
}

/// What makes two steps' kernel functions interchangeable: the kernel plan
/// with its weight offsets made relative to the first of them (`base`,
/// passed to the function as its weights pointer), the number of buffers and
/// whether they may alias. Two steps with equal `text` get one function.
pub struct KernelKey {
    /// The plan, rebased, as text (`Debug` prints every field).
    pub text: String,
    /// The rebased plan.
    pub kernel: KernelPlan,
    /// Offset (f32 elements) of the step's weights in the blob.
    pub base: u64,
    /// Whether the buffers get `noalias`.
    pub noalias: bool,
}

impl KernelKey {
    /// The key of a step.
    pub fn of(st: &Step) -> KernelKey {
        let mut kernel = st.kernel.clone();
        let base = match &mut kernel {
            KernelPlan::Conv(p) => std::mem::take(&mut p.w_off),
            KernelPlan::BatchNorm(p) => std::mem::take(&mut p.w_off),
            KernelPlan::LayerNorm(p) => std::mem::take(&mut p.w_off),
            KernelPlan::Const(p) => std::mem::take(&mut p.w_off),
            KernelPlan::Fast(p) => {
                let base = p.b_off.map_or(p.w_off, |b| b.min(p.w_off));
                p.w_off -= base;
                if let Some(b) = &mut p.b_off {
                    *b -= base;
                }
                base
            }
            _ => 0,
        };
        // noalias only when the output overlaps no input
        let noalias = !st
            .ins
            .iter()
            .any(|&b| overlaps(st.out, st.out_bytes, b, u64::MAX / 4));
        let text = format!("{kernel:?} ins={} noalias={noalias}", st.ins.len());
        KernelKey {
            text,
            kernel,
            base,
            noalias,
        }
    }
}

fn emit_kernel_fn<'ctx, 'a>(
    ctx: &'ctx Context,
    module: &Module<'ctx>,
    mk: &dyn Fn(FunctionValue<'ctx>, PointerValue<'ctx>) -> Kcx<'ctx, 'a>,
    i: usize,
    st: &Step,
    key: &KernelKey,
) -> R<FunctionValue<'ctx>> {
    let ptrt = ctx.ptr_type(AddressSpace::default());
    let nptr = st.ins.len() + 1;
    // out, ins..., weights, lo, hi
    let mut params: Vec<BasicMetadataTypeEnum> = vec![ptrt.into(); nptr + 1];
    params.push(ctx.i64_type().into());
    params.push(ctx.i64_type().into());
    let ft = ctx.void_type().fn_type(&params, false);
    let f = module.add_function(&format!("nk{i}_{}", st.op), ft, Some(Linkage::Internal));
    let param = |n: usize| -> R<_> { Ok(f.get_nth_param(n as u32).ok_or("param")?) };
    let wbase = param(nptr)?.into_pointer_value();
    let k = mk(f, wbase);
    k.add_fn_attrs(f);
    let attr = |name: &str, v: u64| {
        k.ctx
            .create_enum_attribute(Attribute::get_named_enum_kind_id(name), v)
    };
    if key.noalias {
        for p in 0..nptr {
            f.add_attribute(AttributeLoc::Param(p as u32), attr("noalias", 0));
        }
    }
    // Never inlined into `nnc_model_forward`: with thousands of steps the
    // inlined loops make LLVM's loop analyses superlinear in the number of
    // layers (a chain of 20,000 relus spent minutes in ScalarEvolution),
    // while a call per step costs nothing measurable.
    f.add_attribute(AttributeLoc::Function, attr("noinline", 0));
    // the weights are read-only and 64-byte aligned (plan::push_weights)
    let wp = AttributeLoc::Param(nptr as u32);
    f.add_attribute(wp, attr("noalias", 0));
    f.add_attribute(wp, attr("readonly", 0));
    f.add_attribute(wp, attr("align", 64));
    let entry = k.ctx.append_basic_block(f, "entry");
    k.b.position_at_end(entry);
    let out = param(0)?.into_pointer_value();
    let ins: Vec<PointerValue> = (1..nptr)
        .map(|n| Ok(param(n)?.into_pointer_value()))
        .collect::<R<_>>()?;
    let lo = param(nptr + 1)?.into_int_value();
    let hi = param(nptr + 2)?.into_int_value();
    let in0 = || -> R<PointerValue> { Ok(*ins.first().ok_or("kernel without input")?) };
    match &key.kernel {
        KernelPlan::Unary(p) => p.emit(&k, out, in0()?, lo, hi)?,
        KernelPlan::BatchNorm(p) => p.emit(&k, out, in0()?, lo, hi)?,
        KernelPlan::Binary(p) => {
            let b = *ins.get(1).ok_or("binary op needs two inputs")?;
            p.emit(&k, out, in0()?, b, lo, hi)?
        }
        KernelPlan::Conv(p) => p.emit(&k, out, in0()?, ins.get(1).copied(), lo, hi)?,
        KernelPlan::Fast(p) => p.emit(
            &k,
            &format!("nk{i}_fast"),
            out,
            in0()?,
            ins.get(1).copied(),
            lo,
            hi,
        )?,
        KernelPlan::Pool(p) => p.emit(&k, out, in0()?, lo, hi)?,
        KernelPlan::GlobalAvg(p) => p.emit(&k, out, in0()?, lo, hi)?,
        KernelPlan::Softmax(p) => p.emit(&k, out, in0()?, lo, hi)?,
        KernelPlan::Copy(p) => p.emit(&k, out, &ins, lo, hi)?,
        KernelPlan::Shuffle(p) => p.emit(&k, out, in0()?, lo, hi)?,
        KernelPlan::Upsample(p) => p.emit(&k, out, in0()?, lo, hi)?,
        KernelPlan::LayerNorm(p) => p.emit(&k, out, in0()?, lo, hi)?,
        KernelPlan::MatMul(p) => {
            let b = *ins.get(1).ok_or("matmul needs two inputs")?;
            p.emit(&k, &format!("nk{i}_mm_tiles"), out, in0()?, b, lo, hi)?
        }
        KernelPlan::Strided(p) => p.emit(&k, out, &ins, lo, hi)?,
        KernelPlan::Affine(p) => p.emit(&k, out, in0()?, lo, hi)?,
        KernelPlan::Const(p) => p.emit(&k, out, lo, hi)?,
    }
    k.b.build_return(None)?;
    Ok(f)
}

fn emit_task_fn<'ctx, 'a>(
    ctx: &'ctx Context,
    module: &Module<'ctx>,
    mk: &dyn Fn(FunctionValue<'ctx>, PointerValue<'ctx>) -> Kcx<'ctx, 'a>,
    i: usize,
    st: &Step,
    kernel: FunctionValue<'ctx>,
) -> R<FunctionValue<'ctx>> {
    let ptrt = ctx.ptr_type(AddressSpace::default());
    let i64t = ctx.i64_type();
    let ft = ctx
        .void_type()
        .fn_type(&[ptrt.into(), i64t.into(), i64t.into()], false);
    let f = module.add_function(&format!("nk{i}_task"), ft, Some(Linkage::Internal));
    let k = mk(f, ptrt.const_null());
    k.add_fn_attrs(f);
    let entry = k.ctx.append_basic_block(f, "entry");
    k.b.position_at_end(entry);
    let c = f.get_nth_param(0).ok_or("param")?.into_pointer_value();
    let t = f.get_nth_param(1).ok_or("param")?.into_int_value();
    let nt = f.get_nth_param(2).ok_or("param")?.into_int_value();
    let mut args: Vec<BasicMetadataValueEnum> = Vec::new();
    // the context slots: out, ins..., weights
    for j in 0..st.ins.len() + 2 {
        let slot = unsafe {
            k.b.build_in_bounds_gep(k.ptrt, c, &[k.i64c(j as i64)], "")?
        };
        args.push(k.b.build_load(k.ptrt, slot, "")?.into());
    }
    let (lo, hi) = k.task_range(t, nt, st.kernel.items())?;
    args.push(lo.into());
    args.push(hi.into());
    k.b.build_call(kernel, &args, "")?;
    k.b.build_return(None)?;
    Ok(f)
}

/// The default target triple (for reports).
pub fn host_triple() -> TargetTriple {
    TargetMachine::get_default_triple()
}
