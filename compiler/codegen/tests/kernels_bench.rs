//! Single-thread speed of the kernels on ResNet-18 / MobileNetV2 layer shapes, and the
//! assembly of the hot loops. Ignored by default; run with
//! `cargo test --release -p nnc-codegen --test kernels_bench -- --ignored --nocapture`.

mod kernels_util;

#[repr(C)]
struct Timespec {
    sec: i64,
    nsec: i64,
}

extern "C" {
    fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
}

/// CPU time of the calling thread in seconds (`CLOCK_THREAD_CPUTIME_ID`): robust to
/// the machine being shared (time while descheduled is not counted).
fn thread_cpu() -> f64 {
    let mut t = Timespec { sec: 0, nsec: 0 };
    // SAFETY: valid out-pointer; clock id 3 = CLOCK_THREAD_CPUTIME_ID on Linux.
    unsafe { clock_gettime(3, &mut t) };
    t.sec as f64 + t.nsec as f64 * 1e-9
}

/// Times `f` over `reps` runs after 2 warm-ups, in thread CPU seconds: (median,
/// minimum). On a shared machine the minimum is the better estimate of the kernel's
/// own speed (a busy hyperthread sibling slows the FMA pipes without descheduling us).
fn median_time(reps: usize, mut f: impl FnMut()) -> (f64, f64) {
    let mut ts = Vec::with_capacity(reps);
    for i in 0..reps + 2 {
        let t0 = thread_cpu();
        f();
        if i >= 2 {
            ts.push(thread_cpu() - t0);
        }
    }
    ts.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (ts[ts.len() / 2], ts[0])
}

use kernels_util::kernels::conv_fast::{
    emit_conv, emit_conv_for, pack_conv_weights, plan_conv, ConvSpec,
};
use kernels_util::kernels::gemm::{pack_linear_weights, set_target_attrs, Activation, LinearSpec};
use kernels_util::{assembly, isa_of, with_kernel_on, Rng};

const PEAK: f64 = 97.0;

fn conv(cin: usize, hw: usize, cout: usize, k: usize, stride: usize, groups: usize) -> ConvSpec {
    let mut s = ConvSpec::simple(1, cin, hw, hw, cout, k, stride, k / 2);
    s.groups = groups;
    s.bias = true;
    s.act = Some(Activation::Relu);
    s
}

/// Median seconds of `reps` runs of all tasks (after a warm-up).
fn time_conv(s: &ConvSpec) -> (f64, f64) {
    time_conv_on("", s)
}

/// [`time_conv`] with the kernel emitted and compiled for `cpu` (`""` = host).
fn time_conv_on(cpu: &str, s: &ConvSpec) -> (f64, f64) {
    let mut r = Rng::new(1);
    let (oh, ow) = s.out_hw().unwrap();
    let x = r.vec(s.n * s.cin * s.h * s.w);
    let w = r.vec(s.cout * (s.cin / s.groups) * s.kh * s.kw);
    let bias = r.vec(s.cout);
    let packed = pack_conv_weights(&w, s).unwrap();
    let nt = plan_conv(s).unwrap().num_tasks as i64;
    let mut y = vec![0.0f32; s.n * s.cout * oh * ow];
    let flops = s.flops().unwrap() as f64;
    let reps = ((1e9 / flops) as usize).clamp(5, 200);
    with_kernel_on(
        cpu,
        |m| emit_conv_for(m, s, "conv", isa_of(cpu)),
        |f| {
            median_time(reps, || unsafe {
                f(
                    x.as_ptr(),
                    packed.as_ptr(),
                    bias.as_ptr(),
                    std::ptr::null(),
                    y.as_mut_ptr(),
                    0,
                    nt,
                )
            })
        },
    )
}

fn report(name: &str, s: &ConvSpec) {
    let (t, tmin) = time_conv(s);
    let f = s.flops().unwrap() as f64;
    let (gf, gfmax) = (f / t / 1e9, f / tmin / 1e9);
    let algo = plan_conv(s).unwrap().algo;
    println!(
        "{name:<34} {algo:>9?} median {:>7.3} ms {gf:>5.1} GFLOP/s ({:>4.1}%) | best {:>7.3} ms {gfmax:>5.1} GFLOP/s ({:>4.1}% of peak)",
        t * 1e3,
        100.0 * gf / PEAK,
        tmin * 1e3,
        100.0 * gfmax / PEAK
    );
}

#[test]
#[ignore]
fn bench_resnet18_convs() {
    report("stem 3->64 7x7/2 @224", &conv(3, 224, 64, 7, 2, 1));
    report("3x3 64->64 @56", &conv(64, 56, 64, 3, 1, 1));
    report("3x3 64->128 /2 @56", &conv(64, 56, 128, 3, 2, 1));
    report("3x3 128->128 @28", &conv(128, 28, 128, 3, 1, 1));
    report("3x3 256->256 @14", &conv(256, 14, 256, 3, 1, 1));
    report("3x3 512->512 @7", &conv(512, 7, 512, 3, 1, 1));
    report(
        "1x1 64->128 /2 @56 (downsample)",
        &conv(64, 56, 128, 1, 2, 1),
    );
}

#[test]
#[ignore]
fn bench_mobilenetv2_convs() {
    for (cin, hw, cout) in [
        (32, 112, 16),
        (16, 112, 96),
        (24, 56, 144),
        (144, 56, 24),
        (32, 28, 192),
        (192, 28, 32),
        (64, 14, 384),
        (384, 14, 64),
        (96, 14, 576),
        (576, 14, 96),
        (160, 7, 960),
        (960, 7, 160),
        (320, 7, 1280),
    ] {
        report(
            &format!("1x1 {cin}->{cout} @{hw}"),
            &conv(cin, hw, cout, 1, 1, 1),
        );
    }
    for (c, hw, stride) in [
        (32, 112, 1),
        (96, 112, 2),
        (144, 56, 1),
        (144, 56, 2),
        (192, 28, 1),
        (384, 14, 1),
        (576, 14, 2),
        (960, 7, 1),
    ] {
        let mut s = conv(c, hw, c, 3, stride, c);
        s.act = Some(Activation::Relu6);
        report(&format!("dw3x3 {c} /{stride} @{hw}"), &s);
    }
}

/// The classifiers (batch 1: a GEMV streaming the weights) on both ISA builds.
#[test]
#[ignore]
fn bench_linear() {
    use kernels_util::kernels::gemm::{emit_linear_for, linear_lanes};
    use kernels_util::matrix_cpus;
    for (k, n) in [(512, 1000), (1280, 1000), (2048, 1000)] {
        let s = LinearSpec {
            m: 1,
            k,
            n,
            bias: true,
            residual: false,
            act: None,
        };
        let mut r = Rng::new(3);
        let x = r.vec(s.m * s.k);
        let w = r.vec(s.n * s.k);
        let b = r.vec(s.n);
        let p = pack_linear_weights(&w, &s).unwrap();
        let plan = s.plan().unwrap();
        let nt = plan.num_tasks as i64;
        let mut y = vec![0.0; s.m * s.n];
        let mut line = format!("linear {k}->{n} (m=1)");
        for cpu in matrix_cpus() {
            let (t, tmin) = with_kernel_on(
                cpu,
                |m| emit_linear_for(m, &s, "lin", isa_of(cpu)),
                |f| {
                    median_time(200, || unsafe {
                        f(
                            x.as_ptr(),
                            p.as_ptr(),
                            b.as_ptr(),
                            std::ptr::null(),
                            y.as_mut_ptr(),
                            0,
                            nt,
                        )
                    })
                },
            );
            let lanes = linear_lanes(&plan, isa_of(cpu));
            line += &format!(
                " | {cpu} ({lanes} lanes) median {:.3} ms best {:.3} ms, {:.1} GB/s of weights",
                t * 1e3,
                tmin * 1e3,
                (4 * k * n) as f64 / tmin / 1e9
            );
        }
        println!("{line}");
    }
}

/// Token-wise linears (GEMMs with many rows) of ViT-B/16 and ConvNeXt-T, one thread,
/// on both ISA builds, in GFLOP/s (2 flops per mult-add).
#[test]
#[ignore]
fn bench_linear_gemm() {
    use kernels_util::kernels::gemm::{emit_linear_for, linear_lanes};
    use kernels_util::matrix_cpus;
    let shapes = [
        ("vit qkv", 197, 768, 2304, None),
        ("vit out", 197, 768, 768, None),
        ("vit mlp1", 197, 768, 3072, Some(Activation::Gelu)),
        ("vit mlp2", 197, 3072, 768, None),
        ("convnext s1 mlp1", 3136, 96, 384, Some(Activation::Gelu)),
        ("convnext s1 mlp2", 3136, 384, 96, None),
        ("convnext s3 mlp1", 196, 384, 1536, Some(Activation::Gelu)),
        ("convnext s3 mlp2", 196, 1536, 384, None),
    ];
    for (name, m, k, n, act) in shapes {
        let s = LinearSpec {
            m,
            k,
            n,
            bias: true,
            residual: false,
            act,
        };
        let mut r = Rng::new(5);
        let x = r.vec(m * k);
        // Weights scaled like a trained layer's (outputs of order 1): large
        // pre-activations would put GELU's tails into denormals, which no real
        // layer spends its time on.
        let sc = 1.0 / (k as f32).sqrt();
        let w: Vec<f32> = r.vec(n * k).iter().map(|v| v * sc).collect();
        let b = r.vec(n);
        let p = pack_linear_weights(&w, &s).unwrap();
        let plan = s.plan().unwrap();
        let nt = plan.num_tasks as i64;
        let mut y = vec![0.0; m * n];
        let mut line = format!("{name} {m}x{k}->{n}");
        for cpu in matrix_cpus() {
            let (t, tmin) = with_kernel_on(
                cpu,
                |md| emit_linear_for(md, &s, "lin", isa_of(cpu)),
                |f| {
                    median_time(20, || unsafe {
                        f(
                            x.as_ptr(),
                            p.as_ptr(),
                            b.as_ptr(),
                            std::ptr::null(),
                            y.as_mut_ptr(),
                            0,
                            nt,
                        )
                    })
                },
            );
            let lanes = linear_lanes(&plan, isa_of(cpu));
            let gf = 2.0 * (m * k * n) as f64 / 1e9;
            line += &format!(
                " | {cpu} ({lanes} lanes) median {:.3} ms, {:.1} GFLOP/s (best {:.1})",
                t * 1e3,
                gf / t,
                gf / tmin
            );
        }
        println!("{line}");
    }
}

/// Finds the innermost FMA loops (a label up to the backward jump to it, no label
/// inside, containing ymm FMAs)
/// and returns, per loop, (FMAs, stack accesses with a ymm register) — the latter
/// are spills/reloads inside the hot loop.
fn asm_stats(asm: &str) -> Vec<(usize, usize)> {
    let lines: Vec<&str> = asm.lines().map(str::trim).collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let Some(label) = l.strip_suffix(':') else {
            continue;
        };
        if !label.starts_with(".LBB") {
            continue;
        }
        let back = lines[i + 1..]
            .iter()
            .position(|x| x.starts_with('j') && x.ends_with(label));
        let Some(len) = back else { continue };
        let body = &lines[i + 1..i + 1 + len];
        // Innermost loops only (straight-line bodies, like the K loops).
        if body
            .iter()
            .any(|x| x.starts_with(".LBB") && x.ends_with(':'))
        {
            continue;
        }
        let fmas = body
            .iter()
            .filter(|x| x.starts_with("vfmadd") && x.contains("%ymm"))
            .count();
        let spills = body
            .iter()
            .filter(|x| x.contains("%ymm") && x.contains("(%rsp)"))
            .count();
        if fmas > 0 {
            out.push((fmas, spills));
        }
    }
    out
}

/// Writes the assembly of representative kernels to `$KERNELS_ASM_DIR` (default
/// `/tmp`), for the host CPU and for Zen 3 (`znver3`: AVX2, 16 ymm registers), and
/// checks they use ymm FMAs and that the Zen 3 code does not spill ymm registers.
#[test]
#[ignore]
fn dump_assembly() {
    let dir = std::env::var("KERNELS_ASM_DIR").unwrap_or_else(|_| "/tmp".into());
    let cases = [
        ("conv3x3_64", conv(64, 56, 64, 3, 1, 1)),
        ("stem7x7s2", conv(3, 224, 64, 7, 2, 1)),
        ("conv1x1_24_144", conv(24, 56, 144, 1, 1, 1)),
        ("dw3x3_144", {
            let mut s = conv(144, 56, 144, 3, 1, 144);
            s.act = Some(Activation::Relu6);
            s
        }),
    ];
    for (name, s) in cases {
        for cpu in ["host", "znver3"] {
            let asm = assembly(|m| {
                let f = emit_conv(m, &s, name)?;
                if cpu != "host" {
                    set_target_attrs(f, cpu, "");
                }
                Ok(f)
            });
            let path = format!("{dir}/kernel_{name}_{cpu}.s");
            std::fs::write(&path, &asm).unwrap();
            let loops = asm_stats(&asm);
            println!(
                "{name} [{cpu}]: FMA loops (FMAs, ymm stack accesses) {loops:?}; asm in {path}"
            );
            assert!(!loops.is_empty(), "{name}: no ymm FMA loop");
            if cpu == "znver3" {
                assert!(
                    loops.iter().all(|&(_, sp)| sp == 0),
                    "{name}: ymm spills inside an FMA loop on znver3"
                );
            }
        }
    }
}

/// Element-wise activations on a 96×112×112 map (EfficientNet-B0's first
/// expanded layer), AVX2 and AVX-512 builds, against the former one-`expf`-call-
/// per-lane SiLU; and a 1×1 conv 16→96 @112 with ReLU vs SiLU fused.
#[test]
#[ignore]
fn bench_activations() {
    use kernels_util::{emit_unary, matrix_cpus, with_kernel_on, Fun};
    let n = 96 * 112 * 112;
    let mut r = Rng::new(3);
    let x: Vec<f32> = (0..n).map(|_| r.f32() * 8.0).collect();
    let mut y = vec![0.0f32; n];
    let null = std::ptr::null();
    let funs = [
        ("relu", Some(Fun::Act(Activation::Relu))),
        ("hardswish", Some(Fun::Act(Activation::Hardswish))),
        ("sigmoid", Some(Fun::Act(Activation::Sigmoid))),
        ("silu", Some(Fun::Act(Activation::Silu))),
        ("tanh", Some(Fun::Act(Activation::Tanh))),
        ("gelu", Some(Fun::Act(Activation::Gelu))),
        ("silu, libm expf per lane (old)", Some(Fun::LibmSilu)),
    ];
    for cpu in matrix_cpus() {
        let w = if cpu.contains("avx512") { 16 } else { 8 };
        for (name, fun) in funs {
            let (t, tmin) = with_kernel_on(
                cpu,
                |m| emit_unary(m, fun, w),
                |f| {
                    median_time(30, || unsafe {
                        f(x.as_ptr(), null, null, null, y.as_mut_ptr(), 0, n as i64)
                    })
                },
            );
            println!(
                "{cpu:>15} {name:<32} median {:>6.3} ms  best {:>6.3} ms",
                t * 1e3,
                tmin * 1e3
            );
        }
    }
    for act in [Activation::Relu, Activation::Silu, Activation::Gelu] {
        let mut s = conv(16, 112, 96, 1, 1, 1);
        s.act = Some(act);
        report(&format!("1x1 16->96 @112 + {}", act.name()), &s);
    }
}

#[test]
#[ignore]
fn dump_vmath_asm() {
    use kernels_util::{emit_unary, Fun};
    let a = assembly(|m| emit_unary(m, Some(Fun::Act(Activation::Silu)), 16));
    std::fs::write("/tmp/h4_silu.s", a).unwrap();
}

/// The MobileNetV2 1×1 layers (bias + ReLU6) on the AVX2 build and the AVX-512 build
/// (16 lanes, 6×4 tile when the chunks allow it).
#[test]
#[ignore]
fn bench_1x1_isa() {
    use kernels_util::kernels::pointwise::gemm1x1_shape;
    use kernels_util::matrix_cpus;
    for (cin, hw, cout) in [
        (32, 112, 16),
        (16, 112, 96),
        (24, 56, 144),
        (144, 56, 24),
        (32, 28, 192),
        (192, 28, 32),
        (64, 14, 384),
        (384, 14, 64),
        (96, 14, 576),
        (576, 14, 96),
        (160, 7, 960),
        (960, 7, 160),
        (320, 7, 1280),
    ] {
        let mut s = conv(cin, hw, cout, 1, 1, 1);
        s.act = Some(Activation::Relu6);
        let f = s.flops().unwrap() as f64;
        let mut line = format!("1x1 {cin:>3}->{cout:<4} @{hw:<3}");
        for cpu in matrix_cpus() {
            let (lanes, nv) = gemm1x1_shape(&plan_conv(&s).unwrap(), isa_of(cpu));
            let (t, tmin) = time_conv_on(cpu, &s);
            line += &format!(
                " | {cpu} ({lanes}x{nv}) median {:>6.3} ms best {:>6.3} ms {:>5.1} GFLOP/s",
                t * 1e3,
                tmin * 1e3,
                f / tmin / 1e9
            );
        }
        println!("{line}");
    }
}

/// Every distinct conv of ResNet-18 (bias + ReLU as after folding) on the AVX2 build
/// (8-lane row slots, 6×2 tile) and the AVX-512 build (16-lane padded-grid vectors,
/// 6×4 tile, `conv_wide`), with GFLOP/s and % of the ISA's FMA peak.
#[test]
#[ignore]
fn bench_direct_isa() {
    use kernels_util::matrix_cpus;
    for (name, s) in [
        ("stem 3->64 7x7/2 @224", conv(3, 224, 64, 7, 2, 1)),
        ("3x3 64->64 @56", conv(64, 56, 64, 3, 1, 1)),
        ("3x3 64->128 /2 @56", conv(64, 56, 128, 3, 2, 1)),
        ("3x3 128->128 @28", conv(128, 28, 128, 3, 1, 1)),
        ("3x3 128->256 /2 @28", conv(128, 28, 256, 3, 2, 1)),
        ("3x3 256->256 @14", conv(256, 14, 256, 3, 1, 1)),
        ("3x3 256->512 /2 @14", conv(256, 14, 512, 3, 2, 1)),
        ("3x3 512->512 @7", conv(512, 7, 512, 3, 1, 1)),
        ("1x1 64->128 /2 @56", conv(64, 56, 128, 1, 2, 1)),
        ("1x1 256->512 /2 @14", conv(256, 14, 512, 1, 2, 1)),
    ] {
        let f = s.flops().unwrap() as f64;
        let mut line = format!("{name:<22}");
        for cpu in matrix_cpus() {
            let (t, tmin) = time_conv_on(cpu, &s);
            let gf = f / tmin / 1e9;
            line += &format!(
                " | {cpu} median {:>6.3} ms best {:>6.3} ms {gf:>5.1} GFLOP/s {:>3.0}%",
                t * 1e3,
                tmin * 1e3,
                100.0 * gf / fma_peak(cpu)
            );
        }
        println!("{line}");
    }
}

/// The MobileNetV2 depthwise 3×3 layers (ReLU6) on the AVX2 build (8-pixel
/// vectors) and the AVX-512 build (16-pixel vectors).
#[test]
#[ignore]
fn bench_dw_isa() {
    use kernels_util::matrix_cpus;
    for (c, hw, stride) in [
        (32, 112, 1),
        (96, 112, 2),
        (144, 56, 1),
        (144, 56, 2),
        (192, 28, 1),
        (384, 14, 1),
        (576, 14, 2),
        (960, 7, 1),
    ] {
        let mut s = conv(c, hw, c, 3, stride, c);
        s.act = Some(Activation::Relu6);
        let mut line = format!("dw3x3 {c:>3} /{stride} @{hw:<3}");
        for cpu in matrix_cpus() {
            let (t, tmin) = time_conv_on(cpu, &s);
            line += &format!(
                " | {cpu} median {:>6.3} ms best {:>6.3} ms",
                t * 1e3,
                tmin * 1e3
            );
        }
        println!("{line}");
    }
}

/// Single-core FMA peak of the register tile in GFLOP/s for `cpu`: the 6×`nv`
/// micro-kernel loop on L1-resident operands (no K stride: the same A and B every
/// step), so only the FMA pipes limit it. JIT-compiled at O3, thread CPU time,
/// best of 5.
fn fma_peak(cpu: &str) -> f64 {
    use kernels_util::kernels::gemm::{emit_tile, Em, TileShape};
    let lanes = isa_of(cpu).lanes;
    let nv = if lanes == 16 { 4 } else { 2 };
    let iters = 2_000_000u64;
    let a = vec![0.999_999f32; 64];
    let b = vec![1e-7f32; 64];
    let mut out = vec![0.0f32; 16];
    let best = with_kernel_on(
        cpu,
        |m| {
            let em = Em::with_lanes(m, "peak", lanes)?;
            let (pa, pb, po) = (em.param_ptr(0)?, em.param_ptr(1)?, em.param_ptr(4)?);
            let shape = TileShape {
                mr: 6,
                nv,
                a_row_stride: 1,
                a_k_stride: 0,
                b_k_stride: 0,
                taps: vec![(0, 0)],
                iters,
                b_masks: vec![None; nv],
            };
            let bases = (0..nv)
                .map(|j| em.gepc(pb, (j as u32 * lanes) as i64))
                .collect::<Result<Vec<_>, _>>()?;
            let acc = emit_tile(&em, &shape, pa, &bases)?;
            let mut s = acc[0][0];
            for v in acc.iter().flatten().skip(1) {
                s = em.fadd(s, *v)?;
            }
            em.store_v(po, s, None)?;
            em.ret()?;
            Ok(em.func)
        },
        |f| {
            median_time(5, || unsafe {
                f(
                    a.as_ptr(),
                    b.as_ptr(),
                    std::ptr::null(),
                    std::ptr::null(),
                    out.as_mut_ptr(),
                    0,
                    1,
                )
            })
            .1
        },
    );
    (iters as usize * 6 * nv * lanes as usize * 2) as f64 / best / 1e9
}

/// The ResNet-50 1×1 layers (bias + ReLU; stride 2 = the downsample convs) and the
/// classifier, on the AVX2 build and the AVX-512 build, against the measured FMA
/// peak of one core.
#[test]
#[ignore]
fn bench_resnet50_1x1() {
    use kernels_util::matrix_cpus;
    let peaks: Vec<f64> = matrix_cpus().into_iter().map(fma_peak).collect();
    println!(
        "FMA peak of one core (6xnv tile on L1 data): {peaks:.1?} GFLOP/s for {:?}",
        matrix_cpus()
    );
    let layers: &[(usize, usize, usize, usize)] = &[
        (64, 56, 64, 1),
        (64, 56, 256, 1),
        (256, 56, 64, 1),
        (256, 56, 128, 1),
        (512, 28, 128, 1),
        (128, 28, 512, 1),
        (512, 28, 256, 1),
        (1024, 14, 256, 1),
        (256, 14, 1024, 1),
        (1024, 14, 512, 1),
        (2048, 7, 512, 1),
        (512, 7, 2048, 1),
        (256, 56, 512, 2),
        (512, 28, 1024, 2),
        (1024, 14, 2048, 2),
    ];
    for &(cin, hw, cout, stride) in layers {
        let mut s = conv(cin, hw, cout, 1, stride, 1);
        s.pad = [0; 4];
        let f = s.flops().unwrap() as f64;
        let algo = plan_conv(&s).unwrap().algo;
        let mut line = format!("1x1/{stride} {cin:>4}->{cout:<4} @{hw:<3} {algo:>8?}");
        for (cpu, peak) in matrix_cpus().into_iter().zip(&peaks) {
            let (_, tmin) = time_conv_on(cpu, &s);
            let gf = f / tmin / 1e9;
            line += &format!(
                " | {cpu} {:>6.3} ms {gf:>5.1} GFLOP/s {:>3.0}%",
                tmin * 1e3,
                100.0 * gf / peak
            );
        }
        println!("{line}");
    }
}

/// [`time_conv_on`] for the Winograd F(m×m, 3×3) kernel.
fn time_winograd_on(cpu: &str, s: &ConvSpec, m: usize) -> (f64, f64) {
    use kernels_util::kernels::winograd::{emit_winograd, pack_winograd_weights, WinoPlan};
    let mut r = Rng::new(1);
    let (oh, ow) = s.out_hw().unwrap();
    let x = r.vec(s.n * s.cin * s.h * s.w);
    let w = r.vec(s.cout * s.cin * 9);
    let bias = r.vec(s.cout);
    let packed = pack_winograd_weights(&w, s, m).unwrap();
    let plan = WinoPlan::new(s, m).unwrap();
    let nt = plan.num_tasks as i64;
    let mut y = vec![0.0f32; s.n * s.cout * oh * ow];
    let flops = s.flops().unwrap() as f64;
    let reps = ((1e9 / flops) as usize).clamp(5, 200);
    with_kernel_on(
        cpu,
        |md| emit_winograd(md, s, &plan, "wino", isa_of(cpu)),
        |f| {
            median_time(reps, || unsafe {
                f(
                    x.as_ptr(),
                    packed.as_ptr(),
                    bias.as_ptr(),
                    std::ptr::null(),
                    y.as_mut_ptr(),
                    0,
                    nt,
                )
            })
        },
    )
}

/// The ResNet 3×3 stride-1 layers (bias + ReLU) on direct conv, Winograd F(2×2)
/// and F(4×4), AVX2 and AVX-512 builds: best thread-CPU time and effective
/// GFLOP/s (direct-conv FLOPs / time), with the estimate's choice.
#[test]
#[ignore]
fn bench_winograd_isa() {
    use kernels_util::kernels::winograd::{choose_by_estimate, direct_cycles, winograd_cycles};
    use kernels_util::matrix_cpus;
    for (cin, hw, cout) in [
        (64usize, 56usize, 64usize),
        (128, 28, 128),
        (256, 14, 256),
        (512, 7, 512),
    ] {
        let s = conv(cin, hw, cout, 3, 1, 1);
        let f = s.flops().unwrap() as f64;
        let est = |c: Option<f64>| c.map_or(f64::NAN, |c| c / 3.0e6);
        println!(
            "3x3 {cin}->{cout} @{hw}: estimate direct {:.3} F2 {:.3} F4 {:.3} ms (at 3 GHz), picks {:?}",
            est(direct_cycles(&s)),
            est(winograd_cycles(&s, 2)),
            est(winograd_cycles(&s, 4)),
            choose_by_estimate(&s)
        );
        for cpu in matrix_cpus() {
            let mut best = [f64::INFINITY; 3];
            // interleaved rounds: direct, F(2×2), F(4×4)
            for _ in 0..3 {
                best[0] = best[0].min(time_conv_on(cpu, &s).1);
                best[1] = best[1].min(time_winograd_on(cpu, &s, 2).1);
                best[2] = best[2].min(time_winograd_on(cpu, &s, 4).1);
            }
            let mut line = format!("  {cpu:<15}");
            for (name, t) in ["direct", "F2", "F4"].iter().zip(best) {
                line += &format!(" | {name} {:>6.3} ms {:>6.1} GFLOP/s", t * 1e3, f / t / 1e9);
            }
            println!("{line}");
        }
    }
}

/// Seconds (median, best) of the depthwise kernel for `s` with the column layout
/// `layout`, compiled for `cpu`.
fn time_dw_layout_on(
    cpu: &str,
    s: &ConvSpec,
    layout: kernels_util::kernels::dwconv::DwLayout,
    reps: usize,
) -> (f64, f64) {
    use kernels_util::kernels::dwconv::{emit_dw_with, plan_dw};
    let mut r = Rng::new(1);
    let plan = plan_dw(s).unwrap();
    let x = r.vec(s.n * s.cin * s.h * s.w);
    let w = r.vec(s.cout * s.kh * s.kw);
    let bias = r.vec(s.cout);
    let nt = plan.num_tasks as i64;
    let mut y = vec![0.0f32; s.n * s.cout * plan.oh * plan.ow];
    with_kernel_on(
        cpu,
        |m| emit_dw_with(m, s, &plan, "conv", isa_of(cpu), layout),
        |f| {
            median_time(reps, || unsafe {
                f(
                    x.as_ptr(),
                    w.as_ptr(),
                    bias.as_ptr(),
                    std::ptr::null(),
                    y.as_mut_ptr(),
                    0,
                    nt,
                )
            })
        },
    )
}

/// Depthwise: the phase-split band copy (de-interleaving at stride 2) against the
/// direct reads (no copy; even/odd lanes picked in registers at stride 2), A/B
/// interleaved in rounds, best over all rounds, per ISA. `DW_AB_ROUNDS` (default 5)
/// rounds of 20 runs.
#[test]
#[ignore]
fn bench_dw_layouts() {
    use kernels_util::kernels::dwconv::DwLayout;
    use kernels_util::matrix_cpus;
    let rounds: usize = std::env::var("DW_AB_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    for (c, hw, k, st) in [
        (96, 112, 3, 2),
        (144, 56, 3, 2),
        (192, 28, 3, 2),
        (576, 14, 3, 2),
        (240, 28, 5, 2),
        (144, 56, 5, 2),
        (672, 14, 5, 2),
        (32, 112, 3, 1),
        (144, 56, 3, 1),
        (192, 28, 3, 1),
        (384, 14, 3, 1),
        (960, 7, 3, 1),
    ] {
        let mut s = conv(c, hw, c, k, st, c);
        s.act = Some(Activation::Relu6);
        let (oh, ow) = s.out_hw().unwrap();
        // Bytes the layer must move at least: input read + output written.
        let bytes = 4.0 * (c * hw * hw + c * oh * ow) as f64;
        let flops = s.flops().unwrap() as f64;
        for cpu in matrix_cpus() {
            let mut best = [f64::MAX; 2];
            for _ in 0..rounds {
                for (i, l) in [DwLayout::PhaseSplit, DwLayout::Direct]
                    .into_iter()
                    .enumerate()
                {
                    best[i] = best[i].min(time_dw_layout_on(cpu, &s, l, 20).1);
                }
            }
            println!(
                "dw{k}x{k} {c:>3} /{st} @{hw:<3} {cpu:<14} phase-split {:>6.3} ms ({:>5.1} GB/s, {:>5.1} GFLOP/s) | direct {:>6.3} ms ({:>5.1} GB/s, {:>5.1} GFLOP/s) | {:.2}x",
                best[0] * 1e3,
                bytes / best[0] / 1e9,
                flops / best[0] / 1e9,
                best[1] * 1e3,
                bytes / best[1] / 1e9,
                flops / best[1] / 1e9,
                best[0] / best[1]
            );
        }
    }
}
