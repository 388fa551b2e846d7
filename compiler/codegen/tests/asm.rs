//! Checks the generated assembly of the kernels: FMA width per ISA, inline
//! transcendentals, no spills in the direct conv's K loop.

use nnc_codegen::{compile, BuildOptions, Emit};
use nnc_interp::weights::init_random;
use nnc_ir::GraphBuilder;
use nnc_ir::{Conv2d, Op};

#[test]
fn conv_hot_loop_uses_ymm_fma() {
    let mut b = GraphBuilder::new("t");
    let x = b.input("x", &[1, 64, 14, 14]);
    let c = b
        .op(
            Op::Conv2d(Conv2d {
                out_channels: 64,
                kernel: [3, 3],
                stride: [1, 1],
                pad: [1, 1],
                dilation: [1, 1],
                groups: 1,
                bias: false,
            }),
            &[x],
        )
        .unwrap();
    b.output("y", c);
    let g = b.finish();
    let w = init_random(&g, 1);
    let dir = std::env::temp_dir().join(format!("nnc-codegen-asm-{}", std::process::id()));
    let opts = BuildOptions {
        target_cpu: "x86-64-v3".into(),
        ..BuildOptions::default()
    };
    let art = compile(&g, &w, &opts, Emit::Asm, &dir).unwrap();
    let text = std::fs::read_to_string(art.text.unwrap()).unwrap();
    let fmas = text
        .lines()
        .filter(|l| l.contains("vfmadd") && l.contains("ymm"))
        .count();
    assert!(fmas >= 12, "expected ymm FMAs, found {fmas}");
    if std::env::var_os("NNC_KEEP_ASM").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        eprintln!("asm kept in {}", dir.display());
    }
}

/// A conv with a fused SiLU and a standalone GELU: no library call anywhere in
/// the module (the transcendentals are inline vector code), the standalone
/// activation on zmm registers for an AVX-512 target and on ymm only for
/// `x86-64-v3`.
#[test]
fn activations_are_inline_vector_code_per_isa() {
    use nnc_ir::Activation;
    let mut b = GraphBuilder::new("t");
    let x = b.input("x", &[1, 16, 14, 14]);
    let c = b
        .op(
            Op::Conv2d(Conv2d {
                out_channels: 16,
                kernel: [3, 3],
                stride: [1, 1],
                pad: [1, 1],
                dilation: [1, 1],
                groups: 1,
                bias: true,
            }),
            &[x],
        )
        .unwrap();
    let c = b.op(Op::Act(Activation::Silu), &[c]).unwrap();
    let y = b.op(Op::Binary(nnc_ir::BinaryKind::Add), &[c, x]).unwrap();
    let y = b.op(Op::Act(Activation::Gelu), &[y]).unwrap();
    b.output("y", y);
    let g = b.finish();
    let w = init_random(&g, 1);
    for (cpu, zmm) in [("x86-64-v3", false), ("skylake-avx512", true)] {
        let dir =
            std::env::temp_dir().join(format!("nnc-codegen-asm-act-{cpu}-{}", std::process::id()));
        let opts = BuildOptions {
            target_cpu: cpu.into(),
            ..BuildOptions::default()
        };
        let art = compile(&g, &w, &opts, Emit::Asm, &dir).unwrap();
        let text = std::fs::read_to_string(art.text.unwrap()).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        for f in ["expf", "erff", "tanhf"] {
            assert!(!text.contains(f), "{cpu}: call to {f} left in the module");
        }
        assert_eq!(text.contains("zmm"), zmm, "{cpu}: zmm use");
    }
}

/// Softmax (last axis and a strided axis) is inline vector code: no `expf`
/// call, zmm registers for an AVX-512 target and ymm only for `x86-64-v3`.
#[test]
fn softmax_is_inline_vector_code_per_isa() {
    let mut b = GraphBuilder::new("t");
    let x = b.input("x", &[4, 40, 24]);
    let y = b.op(Op::Softmax { axis: 2 }, &[x]).unwrap();
    let z = b.op(Op::Softmax { axis: 1 }, &[x]).unwrap();
    b.output("y", y);
    b.output("z", z);
    let g = b.finish();
    let w = init_random(&g, 1);
    for (cpu, zmm) in [("x86-64-v3", false), ("skylake-avx512", true)] {
        let dir = std::env::temp_dir().join(format!(
            "nnc-codegen-asm-softmax-{cpu}-{}",
            std::process::id()
        ));
        let opts = BuildOptions {
            target_cpu: cpu.into(),
            ..BuildOptions::default()
        };
        let art = compile(&g, &w, &opts, Emit::Asm, &dir).unwrap();
        let text = std::fs::read_to_string(art.text.unwrap()).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(!text.contains("expf"), "{cpu}: call to expf left");
        assert!(text.contains("ymm") || zmm, "{cpu}: no ymm vectors");
        assert_eq!(text.contains("zmm"), zmm, "{cpu}: zmm use");
    }
}

/// The depthwise kernel's FMAs run on zmm for an AVX-512 target and on ymm for
/// `x86-64-v3`.
#[test]
fn depthwise_fma_width_follows_isa() {
    let mut b = GraphBuilder::new("t");
    let x = b.input("x", &[1, 8, 20, 67]);
    let c = b
        .op(
            Op::Conv2d(Conv2d {
                out_channels: 8,
                kernel: [3, 3],
                stride: [1, 1],
                pad: [1, 1],
                dilation: [1, 1],
                groups: 8,
                bias: true,
            }),
            &[x],
        )
        .unwrap();
    b.output("y", c);
    let g = b.finish();
    let w = init_random(&g, 1);
    for (cpu, reg) in [("x86-64-v3", "ymm"), ("skylake-avx512", "zmm")] {
        let dir =
            std::env::temp_dir().join(format!("nnc-codegen-asm-dw-{cpu}-{}", std::process::id()));
        let opts = BuildOptions {
            target_cpu: cpu.into(),
            ..BuildOptions::default()
        };
        let art = compile(&g, &w, &opts, Emit::Asm, &dir).unwrap();
        let text = std::fs::read_to_string(art.text.unwrap()).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        let fmas = |r: &str| {
            text.lines()
                .filter(|l| l.contains("vfmadd") && l.contains(r))
                .count()
        };
        assert!(
            fmas(reg) >= 9,
            "{cpu}: expected {reg} FMAs, found {}",
            fmas(reg)
        );
        if reg == "zmm" {
            assert_eq!(fmas("ymm"), 0, "{cpu}: ymm FMAs left");
        } else {
            assert_eq!(fmas("zmm"), 0, "{cpu}: zmm FMAs");
        }
    }
}

/// The direct k×k conv runs on the wide kernel for an AVX-512 target (zmm FMAs of
/// the 6×4 tile: 216 per 3×3 K step, none on ymm) and on the 8-lane kernel for
/// `x86-64-v3` (ymm FMAs of the 6×2 tile, no zmm), each full tile's 9 taps in one
/// basic block (the K loop body).
#[test]
fn direct_conv_fma_width_follows_isa() {
    let mut b = GraphBuilder::new("t");
    let x = b.input("x", &[1, 32, 7, 7]);
    let c = b
        .op(
            Op::Conv2d(Conv2d {
                out_channels: 24,
                kernel: [3, 3],
                stride: [1, 1],
                pad: [1, 1],
                dilation: [1, 1],
                groups: 1,
                bias: true,
            }),
            &[x],
        )
        .unwrap();
    b.output("y", c);
    let g = b.finish();
    let w = init_random(&g, 1);
    for (cpu, reg, min) in [("x86-64-v3", "ymm", 108), ("skylake-avx512", "zmm", 216)] {
        let dir = std::env::temp_dir().join(format!(
            "nnc-codegen-asm-direct-{cpu}-{}",
            std::process::id()
        ));
        let opts = BuildOptions {
            target_cpu: cpu.into(),
            ..BuildOptions::default()
        };
        let art = compile(&g, &w, &opts, Emit::Asm, &dir).unwrap();
        let text = std::fs::read_to_string(art.text.unwrap()).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        let fmas = |r: &str| {
            text.lines()
                .filter(|l| l.contains("vfmadd") && l.contains(r))
                .count()
        };
        assert!(
            fmas(reg) >= min,
            "{cpu}: expected ≥ {min} {reg} FMAs, found {}",
            fmas(reg)
        );
        let other = if reg == "zmm" { "ymm" } else { "zmm" };
        assert_eq!(fmas(other), 0, "{cpu}: {other} FMAs");
        // The largest block of FMAs is the full tile's K loop, whole.
        let lines: Vec<&str> = text.lines().collect();
        // Basic blocks: labels, and LLVM's `# %bb.N:` comments for unlabeled ones.
        let is_label = |l: &&str| {
            l.starts_with("# %bb.")
                || (!l.starts_with(['\t', ' ', '#'])
                    && l.split_whitespace()
                        .next()
                        .is_some_and(|w| w.ends_with(':')))
        };
        let blocks: Vec<&[&str]> = lines.split(is_label).collect();
        let hot = blocks
            .iter()
            .max_by_key(|b| b.iter().filter(|l| l.contains("vfmadd")).count())
            .unwrap();
        assert!(
            hot.iter().filter(|l| l.contains("vfmadd")).count() >= min,
            "{cpu}: the tile's K loop is split"
        );
    }
}
