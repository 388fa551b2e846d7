//! Shared helpers of the `kernels_*` tests: JIT compilation of emitted kernels,
//! random data and naive reference implementations.
//!
//! The kernel sources are included by path so that these tests depend only on the
//! kernel modules (and inkwell), not on the rest of the crate.
#![allow(dead_code)]

#[path = "../../src/kernels/conv_common.rs"]
pub mod conv_common;
#[path = "../../src/kernels/conv_fast.rs"]
pub mod conv_fast;
#[path = "../../src/kernels/conv_wide.rs"]
pub mod conv_wide;
#[path = "../../src/kernels/dwconv.rs"]
pub mod dwconv;
#[path = "../../src/kernels/error.rs"]
pub mod error;
#[path = "../../src/kernels/gemm.rs"]
pub mod gemm;
#[path = "../../src/kernels/isa.rs"]
pub mod isa;
#[path = "../../src/kernels/pointwise.rs"]
pub mod pointwise;
#[path = "../../src/kernels/vmath.rs"]
pub mod vmath;
#[path = "../../src/kernels/winograd.rs"]
pub mod winograd;
#[path = "../../src/kernels/winograd_xform.rs"]
pub mod winograd_xform;

/// The kernel modules under the names the crate gives them.
pub mod kernels {
    #[allow(unused_imports)]
    pub use super::{
        conv_fast, conv_wide, dwconv, gemm, isa, pointwise, vmath, winograd, winograd_xform,
    };
}

use inkwell::context::Context;
use inkwell::module::Module;
use inkwell::passes::PassBuilderOptions;
use inkwell::targets::{
    CodeModel, FileType, InitializationConfig, RelocMode, Target, TargetMachine,
};
use inkwell::values::FunctionValue;
use inkwell::OptimizationLevel;

use kernels::conv_fast::ConvSpec;
use kernels::gemm::{apply_act, Activation, KernelResult, LinearSpec};

/// The common kernel signature.
pub type KernelFn =
    unsafe extern "C" fn(*const f32, *const f32, *const f32, *const f32, *mut f32, i64, i64);

/// The target machine for `cpu` (`""` = the host CPU and its features).
fn target_machine_for(cpu: &str) -> TargetMachine {
    Target::initialize_native(&InitializationConfig::default()).expect("native target");
    let triple = TargetMachine::get_default_triple();
    let target = Target::from_triple(&triple).expect("target");
    let (name, features) = if cpu.is_empty() {
        (
            TargetMachine::get_host_cpu_name().to_string(),
            TargetMachine::get_host_cpu_features().to_string(),
        )
    } else {
        (cpu.to_string(), String::new())
    };
    target
        .create_target_machine(
            &triple,
            &name,
            &features,
            OptimizationLevel::Aggressive,
            RelocMode::PIC,
            CodeModel::Default,
        )
        .expect("target machine")
}

fn target_machine() -> TargetMachine {
    target_machine_for("")
}

/// The CPUs of the kernel test matrix that this machine can run: the AVX2 build
/// (`x86-64-v3`) always, an AVX-512 build (`skylake-avx512`) when the host has
/// AVX-512F.
pub fn matrix_cpus() -> Vec<&'static str> {
    let mut v = vec!["x86-64-v3"];
    if std::arch::is_x86_feature_detected!("avx512f") {
        v.push("skylake-avx512");
    }
    v
}

fn prepare<'ctx>(module: &Module<'ctx>, tm: &TargetMachine) {
    module.set_triple(&tm.get_triple());
    module.set_data_layout(&tm.get_target_data().get_data_layout());
    if let Err(e) = module.verify() {
        panic!("invalid module: {}\n{}", e, module.print_to_string());
    }
    module
        .run_passes("default<O3>", tm, PassBuilderOptions::create())
        .expect("passes");
}

/// Emits one kernel with `emit`, optimizes it at O3, JITs it and hands the function
/// pointer to `run`.
pub fn with_kernel<T>(
    emit: impl for<'ctx> FnOnce(&Module<'ctx>) -> KernelResult<FunctionValue<'ctx>>,
    run: impl FnOnce(KernelFn) -> T,
) -> T {
    with_kernel_on("", emit, run)
}

/// [`with_kernel`] for a given target CPU (`""` = host): every function of the
/// module gets that `target-cpu` (and no extra features).
pub fn with_kernel_on<T>(
    cpu: &str,
    emit: impl for<'ctx> FnOnce(&Module<'ctx>) -> KernelResult<FunctionValue<'ctx>>,
    run: impl FnOnce(KernelFn) -> T,
) -> T {
    let ctx = Context::create();
    let module = ctx.create_module("k");
    let tm = target_machine_for(cpu);
    let f = emit(&module).expect("emit");
    if !cpu.is_empty() {
        for g in module.get_functions() {
            if g.count_basic_blocks() > 0 {
                kernels::gemm::set_target_attrs(g, cpu, "");
            }
        }
    }
    let name = f.get_name().to_str().expect("name").to_string();
    prepare(&module, &tm);
    let ee = module
        .create_jit_execution_engine(OptimizationLevel::Aggressive)
        .expect("jit");
    let addr = ee.get_function_address(&name).expect("function address");
    // SAFETY: the emitted function has exactly the `KernelFn` signature.
    let kf: KernelFn = unsafe { std::mem::transmute::<usize, KernelFn>(addr) };
    run(kf)
}

/// Emits one kernel and returns the optimized assembly of the module.
pub fn assembly(
    emit: impl for<'ctx> FnOnce(&Module<'ctx>) -> KernelResult<FunctionValue<'ctx>>,
) -> String {
    let ctx = Context::create();
    let module = ctx.create_module("k");
    let tm = target_machine();
    emit(&module).expect("emit");
    prepare(&module, &tm);
    let buf = tm
        .write_to_memory_buffer(&module, FileType::Assembly)
        .expect("asm");
    String::from_utf8_lossy(buf.as_slice()).into_owned()
}

/// xorshift64* generator (deterministic test data).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }
    /// Uniform f32 in [-1, 1).
    pub fn f32(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    pub fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.f32()).collect()
    }
    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.range(0, xs.len() - 1)]
    }
}

/// Naive convolution (f64 accumulation) with the fused epilogue.
pub fn conv_ref(s: &ConvSpec, x: &[f32], w: &[f32], bias: &[f32], res: &[f32]) -> Vec<f32> {
    let (oh, ow) = s.out_hw().expect("shape");
    let cin_g = s.cin / s.groups;
    let cout_g = s.cout / s.groups;
    let mut y = vec![0.0f32; s.n * s.cout * oh * ow];
    for n in 0..s.n {
        for co in 0..s.cout {
            let g = co / cout_g;
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut acc = 0.0f64;
                    for ci in 0..cin_g {
                        let c = g * cin_g + ci;
                        for ky in 0..s.kh {
                            let iy = (oy * s.stride[0] + ky * s.dilation[0]) as isize
                                - s.pad[0] as isize;
                            if iy < 0 || iy >= s.h as isize {
                                continue;
                            }
                            for kx in 0..s.kw {
                                let ix = (ox * s.stride[1] + kx * s.dilation[1]) as isize
                                    - s.pad[1] as isize;
                                if ix < 0 || ix >= s.w as isize {
                                    continue;
                                }
                                let xv = x
                                    [((n * s.cin + c) * s.h + iy as usize) * s.w + ix as usize]
                                    as f64;
                                let wv = w[((co * cin_g + ci) * s.kh + ky) * s.kw + kx] as f64;
                                acc += xv * wv;
                            }
                        }
                    }
                    let o = ((n * s.cout + co) * oh + oy) * ow + ox;
                    if s.bias {
                        acc += bias[co] as f64;
                    }
                    if s.residual {
                        acc += res[o] as f64;
                    }
                    y[o] = apply_act(s.act, acc as f32);
                }
            }
        }
    }
    y
}

/// Naive linear layer.
pub fn linear_ref(s: &LinearSpec, x: &[f32], w: &[f32], bias: &[f32], res: &[f32]) -> Vec<f32> {
    let mut y = vec![0.0f32; s.m * s.n];
    for m in 0..s.m {
        for n in 0..s.n {
            let mut acc = 0.0f64;
            for k in 0..s.k {
                acc += x[m * s.k + k] as f64 * w[n * s.k + k] as f64;
            }
            if s.bias {
                acc += bias[n] as f64;
            }
            if s.residual {
                acc += res[m * s.n + n] as f64;
            }
            y[m * s.n + n] = apply_act(s.act, acc as f32);
        }
    }
    y
}

/// max|got − want| / max|want| (∞ when a value is NaN / unwritten).
pub fn rel_err(got: &[f32], want: &[f32]) -> f64 {
    assert_eq!(got.len(), want.len());
    let mut maxd = 0.0f64;
    let mut maxr = 0.0f64;
    for (g, w) in got.iter().zip(want) {
        if g.is_nan() != w.is_nan() {
            return f64::INFINITY;
        }
        maxd = maxd.max((*g as f64 - *w as f64).abs());
        maxr = maxr.max((*w as f64).abs());
    }
    if maxr == 0.0 {
        maxd
    } else {
        maxd / maxr
    }
}

/// Random activation.
pub fn random_act(r: &mut Rng) -> Option<Activation> {
    r.pick(&ALL_ACTS)
}

/// Every epilogue activation of the language (and none).
pub const ALL_ACTS: [Option<Activation>; 10] = [
    None,
    Some(Activation::Relu),
    Some(Activation::Relu6),
    Some(Activation::Sigmoid),
    Some(Activation::Tanh),
    Some(Activation::Hardswish),
    Some(Activation::Hardsigmoid),
    Some(Activation::Silu),
    Some(Activation::Gelu),
    Some(Activation::LeakyRelu { slope: 0.1 }),
];

/// Runs a conv kernel on random data (split into two task ranges at a random point,
/// optionally with the residual in place) and returns the relative error.
pub fn check_conv(s: &ConvSpec, seed: u64) -> f64 {
    check_conv_on("", s, seed)
}

/// [`check_conv`] with the kernel compiled for `cpu` (`""` = host).
pub fn check_conv_on(cpu: &str, s: &ConvSpec, seed: u64) -> f64 {
    use kernels::conv_fast::emit_conv_for;
    check_conv_emit_on(cpu, s, seed, |m| emit_conv_for(m, s, "conv", isa_of(cpu)))
}

/// [`check_conv_on`] for the depthwise kernel with the input layout `layout`.
pub fn check_dw_layout_on(
    cpu: &str,
    s: &ConvSpec,
    layout: kernels::dwconv::DwLayout,
    seed: u64,
) -> f64 {
    use kernels::conv_fast::plan_conv;
    use kernels::dwconv::emit_dw_with;
    let plan = plan_conv(s).expect("plan");
    check_conv_emit_on(cpu, s, seed, |m| {
        emit_dw_with(m, s, &plan, "conv", isa_of(cpu), layout)
    })
}

/// [`check_conv_on`] with the kernel emitted by `emit` (the plan and packing of
/// [`kernels::conv_fast`]).
fn check_conv_emit_on(
    cpu: &str,
    s: &ConvSpec,
    seed: u64,
    emit: impl for<'ctx> FnOnce(&Module<'ctx>) -> KernelResult<FunctionValue<'ctx>>,
) -> f64 {
    use kernels::conv_fast::{pack_conv_weights, plan_conv};
    let mut r = Rng::new(seed);
    let (oh, ow) = s.out_hw().expect("shape");
    let x = r.vec(s.n * s.cin * s.h * s.w);
    let w = r.vec(s.cout * (s.cin / s.groups) * s.kh * s.kw);
    let bias = r.vec(s.cout);
    let res = r.vec(s.n * s.cout * oh * ow);
    let want = conv_ref(s, &x, &w, &bias, &res);
    let packed = pack_conv_weights(&w, s).expect("pack");
    let plan = plan_conv(s).expect("plan");
    let nt = plan.num_tasks as i64;
    let split = r.range(0, plan.num_tasks) as i64;
    let in_place = s.residual && r.range(0, 1) == 1;
    let mut y = if in_place {
        res.clone()
    } else {
        vec![f32::NAN; want.len()]
    };
    with_kernel_on(cpu, emit, |f| {
        let resp = if in_place { y.as_ptr() } else { res.as_ptr() };
        // SAFETY: buffers have the sizes the spec implies.
        unsafe {
            f(
                x.as_ptr(),
                packed.as_ptr(),
                bias.as_ptr(),
                resp,
                y.as_mut_ptr(),
                0,
                split,
            );
            f(
                x.as_ptr(),
                packed.as_ptr(),
                bias.as_ptr(),
                resp,
                y.as_mut_ptr(),
                split,
                nt,
            );
        }
    });
    rel_err(&y, &want)
}

/// [`check_conv_on`] for the Winograd F(m×m, 3×3) kernel.
pub fn check_winograd_on(cpu: &str, s: &ConvSpec, m: usize, seed: u64) -> f64 {
    use kernels::winograd::{emit_winograd, pack_winograd_weights, WinoPlan};
    let mut r = Rng::new(seed);
    let (oh, ow) = s.out_hw().expect("shape");
    let x = r.vec(s.n * s.cin * s.h * s.w);
    let w = r.vec(s.cout * s.cin * 9);
    let bias = r.vec(s.cout);
    let res = r.vec(s.n * s.cout * oh * ow);
    let want = conv_ref(s, &x, &w, &bias, &res);
    let packed = pack_winograd_weights(&w, s, m).expect("pack");
    let plan = WinoPlan::new(s, m).expect("plan");
    let nt = plan.num_tasks as i64;
    let split = r.range(0, plan.num_tasks) as i64;
    let in_place = s.residual && r.range(0, 1) == 1;
    let mut y = if in_place {
        res.clone()
    } else {
        vec![f32::NAN; want.len()]
    };
    with_kernel_on(
        cpu,
        |md| emit_winograd(md, s, &plan, "wino", isa_of(cpu)),
        |f| {
            let resp = if in_place { y.as_ptr() } else { res.as_ptr() };
            // SAFETY: buffers have the sizes the spec implies.
            unsafe {
                for (lo, hi) in [(0, split), (split, nt)] {
                    f(
                        x.as_ptr(),
                        packed.as_ptr(),
                        bias.as_ptr(),
                        resp,
                        y.as_mut_ptr(),
                        lo,
                        hi,
                    );
                }
            }
        },
    );
    rel_err(&y, &want)
}

/// Runs a linear kernel compiled for `cpu` (`""` = host) on random data (two task
/// ranges split at a random point) and returns the relative error.
pub fn check_linear_on(cpu: &str, s: &LinearSpec, seed: u64) -> f64 {
    use kernels::gemm::{emit_linear_for, pack_linear_weights};
    let mut r = Rng::new(seed);
    let x = r.vec(s.m * s.k);
    let w = r.vec(s.n * s.k);
    let bias = r.vec(s.n);
    let res = r.vec(s.m * s.n);
    let want = linear_ref(s, &x, &w, &bias, &res);
    let packed = pack_linear_weights(&w, s).expect("pack");
    let plan = s.plan().expect("plan");
    let nt = plan.num_tasks as i64;
    let split = r.range(0, plan.num_tasks) as i64;
    let mut y = vec![f32::NAN; s.m * s.n];
    let (xp, wp, bp, rp, yp) = (
        x.as_ptr(),
        packed.as_ptr(),
        bias.as_ptr(),
        res.as_ptr(),
        y.as_mut_ptr(),
    );
    with_kernel_on(
        cpu,
        |m| emit_linear_for(m, s, "linear", isa_of(cpu)),
        // SAFETY: buffers have the sizes the spec implies.
        |f| unsafe {
            f(xp, wp, bp, rp, yp, 0, split);
            f(xp, wp, bp, rp, yp, split, nt);
        },
    );
    rel_err(&y, &want)
}

/// What a unary test kernel ([`emit_unary`]) computes, lane-wise.
#[derive(Clone, Copy, Debug)]
pub enum Fun {
    /// `vmath` exp.
    Exp,
    /// An epilogue activation.
    Act(Activation),
    /// SiLU as nnc computed it before `vmath`: one `expf` call per lane.
    LibmSilu,
}

/// Emits `f(in, _, _, _, out, lo, hi)`: `out[i] = fun(in[i])` for `i in lo..hi`
/// (a multiple of `w`) in `<w x float>` steps (`None` = identity).
pub fn emit_unary<'ctx>(
    m: &Module<'ctx>,
    fun: Option<Fun>,
    w: u32,
) -> KernelResult<FunctionValue<'ctx>> {
    use inkwell::{AddressSpace, IntPredicate};
    use kernels::gemm::KernelError;
    use kernels::vmath::VMath;
    let ierr = |e: inkwell::values::InstructionValueError| KernelError::new(format!("{e:?}"));
    let ctx = m.get_context();
    let p = ctx.ptr_type(AddressSpace::default());
    let i64t = ctx.i64_type();
    let ft = ctx.void_type().fn_type(
        &[
            p.into(),
            p.into(),
            p.into(),
            p.into(),
            p.into(),
            i64t.into(),
            i64t.into(),
        ],
        false,
    );
    let f = m.add_function("vm", ft, None);
    let b = ctx.create_builder();
    let entry = ctx.append_basic_block(f, "entry");
    let head = ctx.append_basic_block(f, "head");
    let body = ctx.append_basic_block(f, "body");
    let exit = ctx.append_basic_block(f, "exit");
    let arg = |i: u32| f.get_nth_param(i).expect("param");
    let (inp, out) = (arg(0).into_pointer_value(), arg(4).into_pointer_value());
    let (lo, hi) = (arg(5).into_int_value(), arg(6).into_int_value());
    b.position_at_end(entry);
    b.build_unconditional_branch(head)?;
    b.position_at_end(head);
    let phi = b.build_phi(i64t, "i")?;
    phi.add_incoming(&[(&lo, entry)]);
    let i = phi.as_basic_value().into_int_value();
    let c = b.build_int_compare(IntPredicate::SLT, i, hi, "")?;
    b.build_conditional_branch(c, body, exit)?;
    b.position_at_end(body);
    let f32t = ctx.f32_type();
    let vt = f32t.vec_type(w);
    // SAFETY (IR): in-bounds for i < hi by the caller's contract.
    let pi = unsafe { b.build_in_bounds_gep(f32t, inp, &[i], "")? };
    let po = unsafe { b.build_in_bounds_gep(f32t, out, &[i], "")? };
    let x = b.build_load(vt, pi, "")?.into_vector_value();
    if let Some(inst) = x.as_instruction() {
        inst.set_alignment(4).map_err(ierr)?;
    }
    let vm = VMath::new(&b, m);
    let y = match fun {
        Some(Fun::Exp) => vm.exp(x)?,
        Some(Fun::Act(a)) => vm.act(Some(a), x)?,
        None => x,
        Some(Fun::LibmSilu) => {
            let expf = m.add_function("expf", f32t.fn_type(&[f32t.into()], false), None);
            let mut y = vt.get_undef();
            for l in 0..w {
                let li = ctx.i32_type().const_int(l as u64, false);
                let xl = b.build_extract_element(x, li, "")?.into_float_value();
                let nx = b.build_float_neg(xl, "")?;
                let e = b
                    .build_call(expf, &[nx.into()], "")?
                    .try_as_basic_value()
                    .basic()
                    .ok_or_else(|| KernelError::new("expf returned void"))?
                    .into_float_value();
                let d = b.build_float_add(f32t.const_float(1.0), e, "")?;
                let r = b.build_float_div(xl, d, "")?;
                y = b.build_insert_element(y, r, li, "")?;
            }
            y
        }
    };
    let st = b.build_store(po, y)?;
    st.set_alignment(4).map_err(ierr)?;
    let next = b.build_int_add(i, i64t.const_int(w as u64, false), "")?;
    phi.add_incoming(&[(&next, body)]);
    b.build_unconditional_branch(head)?;
    b.position_at_end(exit);
    b.build_return(None)?;
    Ok(f)
}

/// The ISA of a test CPU (`""` = host).
pub fn isa_of(cpu: &str) -> kernels::isa::Isa {
    if cpu.is_empty() {
        kernels::isa::Isa::of(
            &TargetMachine::get_host_cpu_name().to_string(),
            &TargetMachine::get_host_cpu_features().to_string(),
        )
    } else {
        kernels::isa::Isa::of(cpu, "")
    }
}
