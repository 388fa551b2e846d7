//! The kernel test matrix: every kernel variant (direct — 8-lane row slots on AVX2,
//! 16-lane padded-grid vectors on AVX-512 —, 1×1 GEMM, depthwise,
//! linear) × every epilogue activation × ISA build (`x86-64-v3` = AVX2, and
//! `skylake-avx512` when the host has AVX-512F), against the naive f64
//! reference, on randomized shapes with odd channel counts, 1×1 maps,
//! asymmetric padding, dilation, groups, bias and residual (in place or not),
//! and random task splits.

mod kernels_util;

use kernels_util::kernels::conv_fast::{plan_conv, ConvAlgo, ConvSpec};
use kernels_util::kernels::conv_wide::WideGeom;
use kernels_util::kernels::gemm::{linear_lanes, LinearSpec};
use kernels_util::kernels::pointwise::{gemm1x1_shape, k_block};
use kernels_util::kernels::winograd::{choose_by_estimate, WinoPlan};
use kernels_util::{
    check_conv_on, check_linear_on, check_winograd_on, isa_of, matrix_cpus, Rng, ALL_ACTS,
};

const TOL: f64 = 1e-4;

/// One random shape of each conv variant (`variant` picks the family).
fn variant(r: &mut Rng, variant: usize) -> (ConvSpec, ConvAlgo) {
    let odd = |r: &mut Rng, lo: usize, hi: usize| r.range(lo, hi) | 1;
    match variant {
        // direct k×k, stride, asymmetric padding
        0 => {
            let k = r.pick(&[3usize, 5]);
            let mut s = ConvSpec::simple(
                1,
                odd(r, 3, 13),
                r.range(5, 17),
                r.range(5, 19),
                odd(r, 3, 15),
                k,
                1,
                0,
            );
            s.kw = r.pick(&[1usize, 3]);
            s.stride = [r.range(1, 2), r.range(1, 3)];
            s.pad = [r.range(0, 2), r.range(0, 1), r.range(0, 2), r.range(0, 2)];
            (s, ConvAlgo::Direct)
        }
        // direct with dilation and groups
        1 => {
            let g = r.range(2, 3);
            let mut s = ConvSpec::simple(
                r.range(1, 2),
                g * odd(r, 1, 5),
                r.range(7, 15),
                r.range(7, 15),
                g * odd(r, 1, 7),
                3,
                1,
                2,
            );
            s.groups = g;
            s.dilation = [r.range(1, 2), 2];
            (s, ConvAlgo::Direct)
        }
        // 1×1 stride 2 / 3 (downsample): the GEMM on a gathered B block
        2 => {
            let mut s = ConvSpec::simple(
                1,
                odd(r, 3, 17),
                r.range(4, 15),
                r.range(4, 37),
                odd(r, 5, 21),
                1,
                2,
                0,
            );
            s.stride = [r.range(1, 3), r.range(2, 3)];
            (s, ConvAlgo::Gemm1x1)
        }
        // 1×1 GEMM, odd sizes
        3 => (
            ConvSpec::simple(
                r.range(1, 2),
                odd(r, 3, 41),
                r.range(2, 13),
                r.range(2, 13),
                odd(r, 3, 29),
                1,
                1,
                0,
            ),
            ConvAlgo::Gemm1x1,
        ),
        // 1×1 GEMM on a 1×1 map (classifier-like)
        4 => (
            ConvSpec::simple(1, odd(r, 9, 65), 1, 1, odd(r, 9, 41), 1, 1, 0),
            ConvAlgo::Gemm1x1,
        ),
        // grouped 1×1
        5 => {
            let g = r.range(2, 4);
            let mut s = ConvSpec::simple(
                1,
                g * odd(r, 1, 9),
                r.range(3, 11),
                r.range(3, 11),
                g * odd(r, 1, 9),
                1,
                1,
                0,
            );
            s.groups = g;
            let algo = plan_conv(&s).expect("plan").algo;
            (s, algo)
        }
        // 1×1 GEMM split into several chunks (whole 16-pixel slots)
        7 => (
            ConvSpec::simple(
                1,
                odd(r, 3, 17),
                40,
                r.range(38, 41),
                odd(r, 3, 13),
                1,
                1,
                0,
            ),
            ConvAlgo::Gemm1x1,
        ),
        // 1×1 GEMM with the K axis in 3–4 blocks (first / middle / last epilogues,
        // partial sums through the output) and several pixel chunks (stride 1 or 2),
        // the plane's last vector partial
        8 => (
            ConvSpec::simple(
                1,
                odd(r, 520, 780),
                r.range(19, 23),
                r.range(19, 23),
                odd(r, 3, 13),
                1,
                r.range(1, 2),
                0,
            ),
            ConvAlgo::Gemm1x1,
        ),
        // depthwise on wide rows: several unrolled groups of 16-lane vectors plus a
        // masked tail, stride 2 through the 16-column de-interleave
        9 => {
            let c = odd(r, 3, 7);
            let k = r.pick(&[3usize, 5]);
            let mut s = ConvSpec::simple(
                1,
                c,
                r.range(3, 6),
                r.range(67, 150),
                c,
                k,
                r.range(1, 2),
                0,
            );
            s.groups = c;
            s.pad = [r.range(0, 2), r.range(0, 2), r.range(0, 2), r.range(0, 2)];
            s.dilation = [1, r.range(1, 2)];
            (s, ConvAlgo::Depthwise)
        }
        // direct on the padded output grid (the AVX-512 kernel): narrow maps whose
        // 16-point vectors span up to 3 output rows, and a stem-like stride-2 k×k on
        // 3 input channels (both row phases and column phases as planes)
        10 => {
            if r.range(0, 1) == 0 {
                let mut s = ConvSpec::simple(
                    1,
                    odd(r, 5, 21),
                    r.range(1, 7),
                    r.range(1, 7),
                    odd(r, 7, 19),
                    3,
                    1,
                    1,
                );
                s.pad = [1, r.range(1, 2), r.range(1, 2), 1];
                (s, ConvAlgo::Direct)
            } else {
                let k = r.pick(&[5usize, 7]);
                let mut s = ConvSpec::simple(
                    1,
                    3,
                    r.range(9, 31),
                    r.range(9, 31),
                    odd(r, 5, 13),
                    k,
                    2,
                    k / 2,
                );
                s.pad[2] = r.range(0, k / 2);
                (s, ConvAlgo::Direct)
            }
        }
        // depthwise stride 1 / 2, asymmetric padding, dilation
        _ => {
            let c = odd(r, 3, 19);
            let k = r.pick(&[3usize, 5]);
            let mut s =
                ConvSpec::simple(1, c, r.range(9, 20), r.range(9, 20), c, k, r.range(1, 2), 0);
            s.groups = c;
            s.pad = [r.range(0, 2), r.range(0, 2), r.range(0, 2), r.range(0, 2)];
            // ≥ 9 rows/columns: room for a 5×5 window at dilation 2
            s.dilation = [r.range(1, 2), r.range(1, 2)];
            (s, ConvAlgo::Depthwise)
        }
    }
}

const VARIANTS: usize = 12;

#[test]
fn conv_variants_x_activations_x_isa() {
    for cpu in matrix_cpus() {
        let mut r = Rng::new(2026);
        for v in 0..VARIANTS {
            for (i, act) in ALL_ACTS.into_iter().enumerate() {
                let (mut s, algo) = variant(&mut r, v);
                s.act = act;
                s.bias = i % 3 != 2;
                s.residual = i % 2 == 1;
                assert!(s.out_hw().is_ok(), "bad test shape {s:?}");
                let plan = plan_conv(&s).expect("plan");
                assert_eq!(plan.algo, algo, "{s:?}");
                if algo == ConvAlgo::Direct {
                    // AVX-512 runs every direct conv of the matrix on the wide kernel
                    let isa = isa_of(cpu);
                    let wide = WideGeom::new(&s, &plan, isa);
                    assert_eq!(wide.is_some(), isa.lanes == 16, "{s:?}");
                }
                if algo == ConvAlgo::Gemm1x1 {
                    // the 1×1 kernel's width and tile follow the ISA
                    let isa = isa_of(cpu);
                    let (lanes, nv) = gemm1x1_shape(&plan, isa);
                    assert_eq!(nv, if isa.vregs == 32 { 4 } else { 2 });
                    let single = !plan.band.is_multiple_of(2) && plan.nbands > 1;
                    assert_eq!(lanes, if isa.lanes == 16 && !single { 16 } else { 8 });
                    if v == 7 {
                        assert!(plan.nbands > 1 && plan.band.is_multiple_of(2), "{plan:?}");
                    }
                    if v == 8 {
                        assert!(plan.nbands > 1, "{plan:?}");
                        assert!(k_block(plan.cin_g) * 2 < plan.cin_g, "{plan:?}");
                    }
                }
                let seed = (v * 100 + i) as u64;
                let e = check_conv_on(cpu, &s, seed);
                assert!(e <= TOL, "{cpu}: rel err {e:e} for {s:?} (seed {seed})");
            }
        }
    }
}

/// Winograd F(2×2, 3×3) and F(4×4, 3×3) × every activation × ISA: odd channel
/// counts, maps from 1×1 to 7×7 and maps whose sides are no multiple of the tile,
/// padding 0/1/2 and asymmetric, bias and residual (in place or not); plus shapes
/// with several tile blocks, input-channel chunks (with a tail chunk) and
/// output-channel chunks.
#[test]
fn winograd_x_activations_x_isa() {
    for cpu in matrix_cpus() {
        let mut r = Rng::new(88);
        for (i, act) in ALL_ACTS.into_iter().enumerate() {
            for m in [2usize, 4] {
                let side = |r: &mut Rng| r.range(1, 13);
                let mut s = ConvSpec::simple(
                    r.range(1, 2),
                    r.range(1, 19) | 1,
                    side(&mut r),
                    side(&mut r),
                    r.range(1, 23) | 1,
                    3,
                    1,
                    1,
                );
                s.pad = [r.range(0, 2), r.range(0, 2), r.range(0, 2), r.range(0, 2)];
                if s.out_hw().is_err() {
                    s.pad = [1, 1, 1, 1];
                }
                s.act = act;
                s.bias = i % 3 != 2;
                s.residual = i % 2 == 1;
                let seed = (i * 10 + m) as u64;
                let e = check_winograd_on(cpu, &s, m, seed);
                assert!(
                    e <= TOL,
                    "{cpu}: F({m}) rel err {e:e} for {s:?} (seed {seed})"
                );
            }
        }
        // several blocks of 64 tiles, K chunks with a tail, several channel chunks
        for (k, (cin, hw, cout, m)) in [
            (23usize, 40usize, 13usize, 4usize),
            (71, 33, 9, 4),
            (70, 9, 101, 2),
            (3, 35, 7, 2),
        ]
        .into_iter()
        .enumerate()
        {
            let mut s = ConvSpec::simple(1, cin, hw, hw + 3, cout, 3, 1, 1);
            s.bias = true;
            s.residual = k == 1;
            s.act = ALL_ACTS[k + 1];
            let plan = WinoPlan::new(&s, m).expect("plan");
            match k {
                0 => assert!(plan.nblocks > 1, "{plan:?}"),
                1 => assert!(plan.kc < cin && cin % plan.kc != 0, "{plan:?}"),
                2 => assert!(plan.cchunks > 1, "{plan:?}"),
                _ => {}
            }
            let e = check_winograd_on(cpu, &s, m, 500 + k as u64);
            assert!(e <= TOL, "{cpu}: F({m}) rel err {e:e} for {s:?}");
        }
    }
}

/// GEMM-shaped linears (many rows): 64-output panels cut into per-ISA register
/// tiles, K blocks with partial sums through the output (one, two, and a short
/// last block), row remainders, partial last panels and vectors, in-place-safe
/// residual and every activation.
#[test]
fn linear_gemm_blocks_x_isa() {
    for cpu in matrix_cpus() {
        let mut r = Rng::new(2024);
        for (i, act) in ALL_ACTS.into_iter().enumerate() {
            let s = LinearSpec {
                m: r.range(5, 40),
                k: r.pick(&[7usize, 128, 200, 3 * 128 + 24, 300]),
                n: r.pick(&[64usize, 100, 17, 192, 129]),
                bias: i % 3 != 1,
                residual: i % 2 == 0,
                act,
            };
            let plan = s.plan().expect("plan");
            assert!(
                plan.kc <= 128 && plan.nv == 8.min(s.n.div_ceil(8)),
                "{plan:?}"
            );
            let e = check_linear_on(cpu, &s, 300 + i as u64);
            assert!(e <= TOL, "{cpu}: rel err {e:e} for {s:?}");
        }
        // Few panels, many rows: the rows are split into chunks (tasks), the
        // remainder rows in the last chunk.
        for (i, (m, k, n)) in [(150, 200, 64), (101, 96, 100), (3 * 6 * 8 + 1, 9, 8)]
            .into_iter()
            .enumerate()
        {
            let s = LinearSpec {
                m,
                k,
                n,
                bias: true,
                residual: i != 1,
                act: ALL_ACTS[i + 2],
            };
            let plan = s.plan().expect("plan");
            assert!(plan.row_chunks > 1, "{plan:?}");
            let e = check_linear_on(cpu, &s, 400 + i as u64);
            assert!(e <= TOL, "{cpu}: rel err {e:e} for {s:?}");
        }
    }
}

/// The Winograd plan keeps the input-channel chunk and the products inside their
/// stack budgets, and splits output channels when there are few tile blocks.
#[test]
fn winograd_plan_chunks() {
    let s = ConvSpec::simple(1, 512, 7, 7, 512, 3, 1, 1);
    let p = WinoPlan::new(&s, 2).expect("plan");
    assert_eq!((p.tiles, p.tb, p.nblocks), (16, 16, 1));
    assert!(p.cchunks >= 4, "{p:?}");
    assert!(p.stack_bytes() <= 1 << 20, "{p:?}");
    let s = ConvSpec::simple(1, 512, 28, 28, 512, 3, 1, 1);
    let p = WinoPlan::new(&s, 4).expect("plan");
    assert!(p.kc < 512 && p.stack_bytes() <= 1 << 20, "{p:?}");
    let s = ConvSpec::simple(1, 64, 56, 56, 64, 3, 1, 1);
    let p = WinoPlan::new(&s, 4).expect("plan");
    assert_eq!((p.tiles, p.tb, p.nblocks, p.cchunks), (196, 64, 4, 1));
    // the estimate: F(4×4) on ResNet's 56/28 maps, Winograd at 14×14 (F(2×2)
    // and F(4×4) measure within 5 % there on AVX-512), direct conv at 7×7×512
    // (its transformed weights are streamed with one vector of tiles per use)
    for (c, hw, want) in [(64, 56, Some(4)), (128, 28, Some(4)), (512, 7, None)] {
        let s = ConvSpec::simple(1, c, hw, hw, c, 3, 1, 1);
        assert_eq!(choose_by_estimate(&s), want, "{c} @{hw}");
    }
    let s = ConvSpec::simple(1, 256, 14, 14, 256, 3, 1, 1);
    assert!(choose_by_estimate(&s).is_some());
    // not a Winograd conv
    let mut s = ConvSpec::simple(1, 8, 9, 9, 8, 3, 2, 1);
    assert_eq!(choose_by_estimate(&s), None);
    assert!(WinoPlan::new(&s, 4).is_err());
    s.stride = [1, 1];
    s.dilation = [2, 2];
    assert!(WinoPlan::new(&s, 2).is_err());
}

#[test]
fn linear_x_activations_x_isa() {
    for cpu in matrix_cpus() {
        let mut r = Rng::new(77);
        for (i, act) in ALL_ACTS.into_iter().enumerate() {
            let s = LinearSpec {
                m: r.pick(&[1usize, 1, 2, 5, 7]),
                k: r.range(1, 70) | 1,
                n: r.range(1, 90) | 1,
                bias: i % 3 != 2,
                residual: i % 2 == 1,
                act,
            };
            let e = check_linear_on(cpu, &s, i as u64);
            assert!(e <= TOL, "{cpu}: rel err {e:e} for {s:?}");
        }
        // Classifier-like GEMVs: 16-lane panels on AVX-512 (batch 1 and 2), a
        // partial last panel with a partial last vector.
        for (i, (m, k, n)) in [(1, 37, 1000), (2, 19, 77), (1, 64, 24)]
            .into_iter()
            .enumerate()
        {
            let s = LinearSpec {
                m,
                k,
                n,
                bias: true,
                residual: i == 1,
                act: ALL_ACTS[i + 1],
            };
            let plan = s.plan().expect("plan");
            let lanes = linear_lanes(&plan, isa_of(cpu));
            assert_eq!(lanes == 16, isa_of(cpu).lanes == 16 && i < 2, "{s:?}");
            let e = check_linear_on(cpu, &s, 100 + i as u64);
            assert!(e <= TOL, "{cpu}: rel err {e:e} for {s:?}");
        }
    }
}

/// Depthwise on narrow maps (fewer vectors per row than the unroll): rows run in
/// groups, the last group of a band overlapping the previous one, and a last band
/// shorter than a group falls back to single rows; costly activations run over the
/// band's contiguous output. Tall maps so that the 48 KiB scratch splits the rows
/// into bands; every activation, with and without a residual, both ISAs.
#[test]
fn depthwise_narrow_row_groups_x_activations_x_isa() {
    for cpu in matrix_cpus() {
        let mut r = Rng::new(8);
        for (i, act) in ALL_ACTS.into_iter().enumerate() {
            let c = r.range(2, 4) | 1;
            let k = r.pick(&[3usize, 5]);
            let w = r.range(5, 30);
            let mut s = ConvSpec::simple(1, c, 2000, w, c, k, 1, k / 2);
            s.groups = c;
            s.act = act;
            s.bias = i % 3 != 2;
            s.residual = i % 2 == 1;
            // a last band of 1..7 rows (shorter than a group of 8) or of band − 1..7
            let band = plan_conv(&s).expect("plan").band;
            let short = r.range(1, 7);
            s.h = if i % 4 < 2 {
                band + short
            } else {
                2 * band - short
            };
            let plan = plan_conv(&s).expect("plan");
            assert_eq!(plan.algo, ConvAlgo::Depthwise);
            assert_eq!(plan.band, band, "{s:?}");
            assert_eq!(plan.nbands, 2, "{s:?}");
            let seed = 500 + i as u64;
            let e = check_conv_on(cpu, &s, seed);
            assert!(e <= TOL, "{cpu}: rel err {e:e} for {s:?} (seed {seed})");
        }
    }
}

/// Depthwise in both input layouts (the phase-split band copy and the direct
/// reads — even/odd lanes of two loads at stride 2) × ISA × every activation:
/// stride 2 (and 1, and stride 2 on rows only) on odd and even input sizes, from
/// narrow rows (masked loads at both ends of a single vector) to rows of several
/// unrolled groups, padding 0/1/2 (asymmetric), kernel 3 and 5, dilation with stride
/// 2, bias, residual (in place or not), and tall maps split into several bands.
#[test]
fn depthwise_layouts_stride2_x_activations_x_isa() {
    use kernels_util::check_dw_layout_on;
    use kernels_util::kernels::dwconv::DwLayout;
    for cpu in matrix_cpus() {
        let mut r = Rng::new(77);
        for case in 0..24 {
            let act = ALL_ACTS[case % ALL_ACTS.len()];
            let c = r.range(1, 6) | 1;
            let k = r.pick(&[3usize, 5]);
            let dil = if case % 3 == 2 { 2 } else { 1 };
            let reach = (k - 1) * dil + 1;
            let w = match case % 4 {
                0 => r.range(reach, reach + 6),
                1 => r.range(17, 40),
                2 => r.range(60, 140) | 1,
                _ => r.range(100, 230),
            };
            let h = if case % 6 == 5 {
                r.range(300, 500)
            } else {
                r.range(reach, 20)
            };
            let stride = match case % 8 {
                6 => [1, 2],
                7 => [2, 1],
                _ => [2, 2],
            };
            let mut s = ConvSpec::simple(1, c, h, w, c, k, 1, 0);
            s.stride = stride;
            s.groups = c;
            s.dilation = [dil, dil];
            s.pad = [r.range(0, 2), r.range(0, 2), r.range(0, 2), r.range(0, 2)];
            s.act = act;
            s.bias = case % 3 != 1;
            s.residual = case % 2 == 1;
            assert!(s.out_hw().is_ok(), "bad test shape {s:?}");
            let plan = plan_conv(&s).expect("plan");
            assert_eq!(plan.algo, ConvAlgo::Depthwise);
            if case % 6 == 5 {
                assert!(plan.nbands > 1, "{s:?}");
            }
            for layout in [DwLayout::PhaseSplit, DwLayout::Direct] {
                let seed = 900 + case as u64;
                let e = check_dw_layout_on(cpu, &s, layout, seed);
                assert!(
                    e <= TOL,
                    "{cpu} {layout:?}: rel err {e:e} for {s:?} (seed {seed})"
                );
            }
        }
    }
}
