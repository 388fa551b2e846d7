//! The transformer kernels (layer norm, batched strided matmul, strided
//! copies for permute / slice / roll / expand) × ISA build (`x86-64-v3` = AVX2, and
//! `skylake-avx512` when the host has AVX-512F), against scalar references
//! (f64 accumulation), on shapes around the vector widths and panel edges, with
//! random task splits.

use nnc_codegen::kernels::layernorm::LayerNormPlan;
use nnc_codegen::kernels::matmul::{MatMulPlan, Operand};
use nnc_codegen::kernels::strided::{c_strides, StridedPlan};
use nnc_codegen::plan::KernelPlan;
use nnc_codegen::testing::run_kernel;
use nnc_ir::Activation;

fn cpus() -> Vec<&'static str> {
    let mut v = vec!["x86-64-v3"];
    if std::arch::is_x86_feature_detected!("avx512f") {
        v.push("skylake-avx512");
    }
    v
}

/// Deterministic values in `[-1, 1)`.
fn noise(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

/// `max|got − want| / max|want| ≤ tol` (and the same NaN pattern).
fn close(got: &[f32], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(0f64, |m, v| m.max(v.abs())).max(1e-30);
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let d = (g as f64 - w).abs() / scale;
        assert!(d <= tol, "{what}: element {i}: got {g}, want {w}");
    }
}

fn exact(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            g.to_bits() == w.to_bits(),
            "{what}: element {i}: got {g}, want {w}"
        );
    }
}

// ---------------------------------------------------------------- layer norm

fn layernorm_ref(
    x: &[f32],
    outer: usize,
    n: usize,
    inner: usize,
    eps: f32,
    g: &[f32],
    b: &[f32],
) -> Vec<f64> {
    let mut y = vec![0f64; x.len()];
    for o in 0..outer {
        for i in 0..inner {
            let at = |j: usize| (o * n + j) * inner + i;
            let mean = (0..n).map(|j| x[at(j)] as f64).sum::<f64>() / n as f64;
            let var = (0..n)
                .map(|j| (x[at(j)] as f64 - mean).powi(2))
                .sum::<f64>()
                / n as f64;
            let r = 1.0 / (var + eps as f64).sqrt();
            for j in 0..n {
                y[at(j)] = (x[at(j)] as f64 - mean) * r * g[j] as f64 + b[j] as f64;
            }
        }
    }
    y
}

fn check_layernorm(outer: usize, n: usize, inner: usize, eps: f32, offset: f32, seed: u64) {
    // an offset of 1000 costs the f32 input itself ~1e-5 of the spread
    let tol = if offset.abs() > 100.0 { 1e-4 } else { 1e-5 };
    let x: Vec<f32> = noise(outer * n * inner, seed)
        .iter()
        .map(|v| v * 3.0 + offset)
        .collect();
    let g = noise(n, seed + 1);
    let b = noise(n, seed + 2);
    let want = layernorm_ref(&x, outer, n, inner, eps, &g, &b);
    let blob: Vec<f32> = g.iter().chain(&b).copied().collect();
    let plan = LayerNormPlan {
        outer: outer as u64,
        n: n as u64,
        inner: inner as u64,
        eps,
        w_off: 0,
    };
    for cpu in cpus() {
        for nt in [1, 3] {
            let got = run_kernel(
                KernelPlan::LayerNorm(plan.clone()),
                std::slice::from_ref(&x),
                blob.clone(),
                x.len(),
                nt,
                cpu,
            )
            .unwrap();
            close(
                &got,
                &want,
                tol,
                &format!("layernorm {cpu} {outer}×{n}×{inner}"),
            );
        }
    }
}

#[test]
fn layernorm_last_axis_around_vector_widths() {
    for (s, n) in [1usize, 7, 8, 9, 15, 16, 17, 33, 96, 768]
        .into_iter()
        .enumerate()
    {
        check_layernorm(5, n, 1, 1e-6, 0.0, s as u64);
    }
    // a large common offset: the two-pass variance keeps its precision
    check_layernorm(3, 64, 1, 1e-5, 1000.0, 40);
}

#[test]
fn layernorm_channels_first_pixel_blocks_and_tails() {
    for (s, (outer, n, inner)) in [
        (1, 96, 49),
        (2, 3, 1),
        (2, 5, 17),
        (1, 8, 64),
        (1, 7, 130),
        (3, 1, 9),
    ]
    .into_iter()
    .enumerate()
    {
        check_layernorm(outer, n, inner, 1e-6, 0.5, 100 + s as u64);
    }
}

// ---------------------------------------------------------------- matmul

/// `C[b] = act(alpha · A[b] · B[b])` by the plan's own strides, in f64.
fn matmul_ref(p: &MatMulPlan, a: &[f32], b: &[f32], c_len: usize) -> Vec<f64> {
    let mut c = vec![f64::NAN; c_len];
    let nb: u64 = p.batch.iter().product();
    for bi in 0..nb {
        let (mut ao, mut bo, mut co, mut rem) = (0i64, 0i64, 0i64, bi);
        for ax in (0..p.batch.len()).rev() {
            let i = (rem % p.batch[ax]) as i64;
            rem /= p.batch[ax];
            ao += i * p.a_batch[ax];
            bo += i * p.b_batch[ax];
            co += i * p.c_batch[ax];
        }
        for m in 0..p.m as i64 {
            for n in 0..p.n as i64 {
                let mut s = 0f64;
                for k in 0..p.k as i64 {
                    s += a[(ao + m * p.a_rs + k * p.a_cs) as usize] as f64
                        * b[(bo + k * p.b_rs + n * p.b_cs) as usize] as f64;
                }
                let mut v = s * p.alpha as f64;
                if let Some(act) = p.act {
                    v = act.apply(v as f32) as f64;
                }
                c[(co + m * p.c_rs + n) as usize] = v;
            }
        }
    }
    c
}

fn check_matmul(p: &MatMulPlan, a_len: usize, b_len: usize, c_len: usize, seed: u64) {
    let a = noise(a_len, seed);
    let b = noise(b_len, seed + 7);
    let want = matmul_ref(p, &a, &b, c_len);
    for cpu in cpus() {
        for nt in [1, 5] {
            let got = run_kernel(
                KernelPlan::MatMul(p.clone()),
                &[a.clone(), b.clone()],
                Vec::new(),
                c_len,
                nt,
                cpu,
            )
            .unwrap();
            // elements the plan does not write stay NaN in both
            let got: Vec<f32> = got;
            for (i, (&g, &w)) in got.iter().zip(&want).enumerate() {
                if w.is_nan() {
                    assert!(g.is_nan(), "{cpu}: element {i} written outside C");
                }
            }
            let (g2, w2): (Vec<f32>, Vec<f64>) = got
                .iter()
                .zip(&want)
                .filter(|(_, w)| !w.is_nan())
                .map(|(&g, &w)| (g, w))
                .unzip();
            close(&g2, &w2, 1e-5, &format!("matmul {cpu} {p:?}"));
        }
    }
}

#[test]
fn matmul_contiguous_odd_sizes_and_panel_edges() {
    for (s, (m, k, n)) in [
        (1, 1, 1),
        (5, 3, 7),
        (6, 8, 16),
        (7, 9, 17),
        (13, 64, 32),
        (25, 33, 33),
        (12, 5, 64),
        (30, 17, 70),
        (197, 64, 49),
    ]
    .into_iter()
    .enumerate()
    {
        for trans_b in [false, true] {
            let p = MatMulPlan::contiguous(&[2], &[2], &[2], m, k, n, trans_b).unwrap();
            check_matmul(&p, 2 * m * k, 2 * k * n, 2 * m * n, s as u64);
        }
    }
}

#[test]
fn matmul_broadcast_batches_scale_and_activation() {
    let mut p = MatMulPlan::contiguous(&[2, 3], &[3], &[2, 1], 9, 11, 21, false).unwrap();
    p.alpha = 0.125;
    p.act = Some(Activation::Gelu);
    check_matmul(&p, 3 * 9 * 11, 2 * 11 * 21, 6 * 9 * 21, 3);
    let mut p = MatMulPlan::contiguous(&[4], &[1], &[4], 7, 13, 40, true).unwrap();
    p.alpha = 0.3;
    check_matmul(&p, 7 * 13, 4 * 13 * 40, 4 * 7 * 40, 4);
}

/// A permuted operand read in place: `src` of shape `shape` (C order) seen
/// through `perm`, as `nnc_codegen::layout` plans a folded permute.
fn permuted(shape: &[usize], perm: &[usize]) -> Operand {
    let st = c_strides(shape);
    Operand {
        shape: perm.iter().map(|&p| shape[p]).collect(),
        strides: perm.iter().map(|&p| st[p]).collect(),
    }
}

fn contiguous(shape: &[usize]) -> Operand {
    Operand {
        shape: shape.to_vec(),
        strides: c_strides(shape),
    }
}

/// The operand's values gathered into C order (the copy a permute would make).
fn gather(o: &Operand, src: &[f32]) -> Vec<f32> {
    let n: usize = o.shape.iter().product();
    (0..n)
        .map(|flat| {
            let (mut off, mut rem) = (0i64, flat);
            for a in (0..o.shape.len()).rev() {
                off += (rem % o.shape[a]) as i64 * o.strides[a];
                rem /= o.shape[a];
            }
            src[off as usize]
        })
        .collect()
}

/// Folded permutes (`nnc_codegen::layout`): transposed A, transposed B, both,
/// permuted batch axes, on odd sizes and panel edges, against the product
/// of the materialized (copied) operands.
#[test]
fn matmul_permuted_operands_by_strides() {
    let shapes = [(1, 1, 1), (5, 3, 7), (7, 9, 17), (13, 33, 40), (49, 32, 49)];
    for (s, &(m, k, n)) in shapes.iter().enumerate() {
        let bt = 3usize;
        // (A source shape, A perm, B source shape, B perm)
        type Case = (Vec<usize>, Vec<usize>, Vec<usize>, Vec<usize>);
        let cases: Vec<Case> = vec![
            // transposed A: stored [b, k, m]
            (vec![bt, k, m], vec![0, 2, 1], vec![bt, k, n], vec![0, 1, 2]),
            // transposed B: stored [b, n, k]
            (vec![bt, m, k], vec![0, 1, 2], vec![bt, n, k], vec![0, 2, 1]),
            // both transposed
            (vec![bt, k, m], vec![0, 2, 1], vec![bt, n, k], vec![0, 2, 1]),
            // batch axis permuted: stored [m, b, k] and [k, b, n]
            (vec![m, bt, k], vec![1, 0, 2], vec![k, bt, n], vec![1, 0, 2]),
            // batch and matrix axes mixed: stored [k, b, m] and [n, k, b]
            (vec![k, bt, m], vec![1, 2, 0], vec![n, k, bt], vec![2, 1, 0]),
        ];
        for (c, (sa, pa, sb, pb)) in cases.into_iter().enumerate() {
            let (oa, ob) = (permuted(&sa, &pa), permuted(&sb, &pb));
            let p = MatMulPlan::strided(&[bt], &oa, &ob).unwrap();
            let a = noise(sa.iter().product(), (s * 10 + c) as u64);
            let b = noise(sb.iter().product(), (s * 10 + c) as u64 + 5);
            // reference: the copies a permute would make, then C order
            let pc =
                MatMulPlan::strided(&[bt], &contiguous(&oa.shape), &contiguous(&ob.shape)).unwrap();
            let want = matmul_ref(&pc, &gather(&oa, &a), &gather(&ob, &b), bt * m * n);
            for cpu in cpus() {
                for nt in [1, 4] {
                    let got = run_kernel(
                        KernelPlan::MatMul(p.clone()),
                        &[a.clone(), b.clone()],
                        Vec::new(),
                        bt * m * n,
                        nt,
                        cpu,
                    )
                    .unwrap();
                    close(&got, &want, 1e-5, &format!("{cpu} case {c} {m}x{k}x{n}"));
                }
            }
        }
    }
    // 4-D: heads and batch swapped ([h, b, m, k] → [b, h, m, k]), B broadcast
    let (h, bt, m, k, n) = (3usize, 2usize, 11usize, 9usize, 18usize);
    let oa = permuted(&[h, bt, m, k], &[1, 0, 2, 3]);
    let ob = permuted(&[h, n, k], &[0, 2, 1]);
    let p = MatMulPlan::strided(&[bt, h], &oa, &ob).unwrap();
    let a = noise(h * bt * m * k, 91);
    let b = noise(h * n * k, 92);
    let pc = MatMulPlan::strided(&[bt, h], &contiguous(&oa.shape), &contiguous(&ob.shape)).unwrap();
    let want = matmul_ref(&pc, &gather(&oa, &a), &gather(&ob, &b), bt * h * m * n);
    for cpu in cpus() {
        let got = run_kernel(
            KernelPlan::MatMul(p.clone()),
            &[a.clone(), b.clone()],
            Vec::new(),
            bt * h * m * n,
            3,
            cpu,
        )
        .unwrap();
        close(&got, &want, 1e-5, &format!("{cpu} 4-D"));
    }
}

/// A product written permuted (`nnc_codegen::layout`'s producer side):
/// `C[b, h, m, n]` stored as `[b, m, h, n]`, odd sizes, against the
/// contiguous product permuted.
#[test]
fn matmul_result_written_permuted() {
    for (s, &(bt, h, m, k, n)) in [
        (2usize, 3usize, 7usize, 5usize, 9usize),
        (1, 4, 49, 49, 32),
        (3, 2, 13, 8, 33),
    ]
    .iter()
    .enumerate()
    {
        let oa = contiguous(&[bt, h, m, k]);
        let ob = contiguous(&[bt, h, k, n]);
        let ps = c_strides(&[bt, m, h, n]);
        let c = [ps[0], ps[2], ps[1], ps[3]];
        let p = MatMulPlan::strided_into(&[bt, h], &oa, &ob, &c).unwrap();
        let a = noise(bt * h * m * k, 40 + s as u64);
        let b = noise(bt * h * k * n, 50 + s as u64);
        let pc = MatMulPlan::strided(&[bt, h], &oa, &ob).unwrap();
        let prod = matmul_ref(&pc, &a, &b, bt * h * m * n);
        // the reference permuted to [b, m, h, n]
        let mut want = vec![0f64; prod.len()];
        for i in 0..bt {
            for j in 0..h {
                for r in 0..m {
                    for q in 0..n {
                        want[((i * m + r) * h + j) * n + q] = prod[((i * h + j) * m + r) * n + q];
                    }
                }
            }
        }
        for cpu in cpus() {
            let got = run_kernel(
                KernelPlan::MatMul(p.clone()),
                &[a.clone(), b.clone()],
                Vec::new(),
                bt * h * m * n,
                3,
                cpu,
            )
            .unwrap();
            close(&got, &want, 1e-5, &format!("{cpu} written permuted {s}"));
        }
    }
    // columns must stay contiguous
    let o = contiguous(&[2, 3, 3]);
    assert!(MatMulPlan::strided_into(&[2], &o, &o, &[9, 1, 3]).is_err());
}

/// Attention's head split as layout: Q, K, V are slices of one packed
/// `[L, 3, H, d]` tensor and the output is written as `[L, H, d]`, all by
/// strides (no copy).
#[test]
fn matmul_attention_heads_by_strides() {
    let (l, h, d) = (19usize, 3usize, 8usize);
    let qkv_len = l * 3 * h * d;
    let row = (3 * h * d) as i64;
    // S[h] = Q[h] · K[h]ᵀ: A = Q (rows l, stride row), B = Kᵀ (b_rs 1, b_cs row)
    let s = MatMulPlan {
        batch: vec![h as u64],
        a_batch: vec![d as i64],
        b_batch: vec![d as i64],
        c_batch: vec![(l * l) as i64],
        m: l as u64,
        k: d as u64,
        n: l as u64,
        a_rs: row,
        a_cs: 1,
        b_rs: 1,
        b_cs: row,
        c_rs: l as i64,
        alpha: 1.0 / (d as f32).sqrt(),
        act: None,
    }
    .checked()
    .unwrap();
    // Q at offset 0, K at offset h·d: shift B by giving the kernel the K view
    let a = noise(qkv_len, 77);
    let k_view: Vec<f32> = a[h * d..].to_vec();
    let want = {
        let mut b_full = vec![0f32; a.len()];
        b_full[..k_view.len()].copy_from_slice(&k_view);
        matmul_ref(&s, &a, &b_full, h * l * l)
    };
    for cpu in cpus() {
        let got = run_kernel(
            KernelPlan::MatMul(s.clone()),
            &[a.clone(), k_view.clone()],
            Vec::new(),
            h * l * l,
            4,
            cpu,
        )
        .unwrap();
        close(&got, &want, 1e-5, &format!("QK^T {cpu}"));
    }
    // O[l, h, :] = P[h] · V[h]: C rows strided by h·d, batch stride d
    let o = MatMulPlan {
        batch: vec![h as u64],
        a_batch: vec![(l * l) as i64],
        b_batch: vec![d as i64],
        c_batch: vec![d as i64],
        m: l as u64,
        k: l as u64,
        n: d as u64,
        a_rs: l as i64,
        a_cs: 1,
        b_rs: row,
        b_cs: 1,
        c_rs: (h * d) as i64,
        alpha: 1.0,
        act: None,
    }
    .checked()
    .unwrap();
    check_matmul(&o, h * l * l, qkv_len, l * h * d, 78);
}

// ---------------------------------------------------------------- strided copies

/// The reference permute of a C-order tensor.
fn permute_ref(x: &[f32], shape: &[usize], perm: &[usize]) -> Vec<f32> {
    let r = shape.len();
    let mut st = vec![1usize; r];
    for a in (0..r.saturating_sub(1)).rev() {
        st[a] = st[a + 1] * shape[a + 1];
    }
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let n: usize = shape.iter().product();
    let mut y = Vec::with_capacity(n);
    let mut idx = vec![0usize; r];
    for _ in 0..n {
        y.push(x[(0..r).map(|a| idx[a] * st[perm[a]]).sum::<usize>()]);
        for a in (0..r).rev() {
            idx[a] += 1;
            if idx[a] < out_shape[a] {
                break;
            }
            idx[a] = 0;
        }
    }
    y
}

fn run_copy(plan: &StridedPlan, x: &[f32], out_len: usize, cpu: &str, nt: u64) -> Vec<f32> {
    run_kernel(
        KernelPlan::Strided(plan.clone()),
        &[x.to_vec()],
        Vec::new(),
        out_len,
        nt,
        cpu,
    )
    .unwrap()
}

#[test]
fn permutes_rows_and_tiled_transposes() {
    let cases: &[(&[usize], &[usize])] = &[
        (&[37, 53], &[1, 0]),
        (&[2, 768, 14, 14], &[0, 2, 3, 1]),
        (&[1, 7, 9, 5], &[0, 3, 1, 2]),
        (&[3, 17, 33], &[0, 2, 1]),
        (&[2, 3, 4, 5], &[1, 0, 2, 3]),
        (&[1, 2, 7, 2, 7, 3], &[0, 1, 3, 2, 4, 5]),
        (&[4, 5, 6], &[2, 0, 1]),
        (&[197, 3, 4, 8], &[1, 2, 0, 3]),
    ];
    for (s, (shape, perm)) in cases.iter().enumerate() {
        let n: usize = shape.iter().product();
        let x = noise(n, 200 + s as u64);
        let want = permute_ref(&x, shape, perm);
        let plan = StridedPlan::permute(shape, perm).unwrap();
        for cpu in cpus() {
            for nt in [1, 7] {
                let got = run_copy(&plan, &x, n, cpu, nt);
                exact(&got, &want, &format!("permute {shape:?} {perm:?} {cpu}"));
            }
        }
    }
}

#[test]
fn strided_slices() {
    // x[..., 0::2, 1::2, :] of [1, 9, 8, 5] (Swin's patch merging), token 0 of
    // [2, 197, 24], and a middle block
    type Case<'a> = (&'a [usize], &'a [(usize, usize, usize)]);
    let cases: &[Case] = &[
        (&[1, 9, 8, 5], &[(0, 1, 1), (0, 2, 5), (1, 2, 4), (0, 1, 5)]),
        (&[2, 197, 24], &[(0, 1, 2), (0, 1, 1), (0, 1, 24)]),
        (&[6, 10, 11], &[(2, 1, 3), (3, 3, 3), (0, 2, 6)]),
    ];
    for (s, (shape, axes)) in cases.iter().enumerate() {
        let n: usize = shape.iter().product();
        let x = noise(n, 300 + s as u64);
        let out_shape: Vec<usize> = axes.iter().map(|t| t.2).collect();
        let on: usize = out_shape.iter().product();
        let mut want = Vec::with_capacity(on);
        let mut idx = vec![0usize; shape.len()];
        for _ in 0..on {
            let mut f = 0;
            for a in 0..shape.len() {
                f = f * shape[a] + axes[a].0 + idx[a] * axes[a].1;
            }
            want.push(x[f]);
            for a in (0..shape.len()).rev() {
                idx[a] += 1;
                if idx[a] < out_shape[a] {
                    break;
                }
                idx[a] = 0;
            }
        }
        let plan = StridedPlan::slice(shape, axes).unwrap();
        for cpu in cpus() {
            exact(
                &run_copy(&plan, &x, on, cpu, 3),
                &want,
                &format!("slice {s} {cpu}"),
            );
        }
    }
}

#[test]
fn rolls_over_two_axes() {
    let shape = [1usize, 14, 14, 6];
    let n: usize = shape.iter().product();
    let x = noise(n, 400);
    for (sh, sw) in [(-3i64, -3i64), (3, 3), (0, 5), (14, -15)] {
        let plan = StridedPlan::roll(&shape, &[sh, sw], &[1, 2]).unwrap();
        let mut want = vec![0f32; n];
        for h in 0..14 {
            for w in 0..14 {
                let dh = (h as i64 + sh).rem_euclid(14) as usize;
                let dw = (w as i64 + sw).rem_euclid(14) as usize;
                for c in 0..6 {
                    want[(dh * 14 + dw) * 6 + c] = x[(h * 14 + w) * 6 + c];
                }
            }
        }
        for cpu in cpus() {
            exact(
                &run_copy(&plan, &x, n, cpu, 4),
                &want,
                &format!("roll {sh},{sw} {cpu}"),
            );
        }
    }
}

/// The reference `expand` (NumPy broadcasting of `shape` to `out_shape`).
fn expand_ref(x: &[f32], shape: &[usize], out_shape: &[usize]) -> Vec<f32> {
    let lead = out_shape.len() - shape.len();
    let n: usize = out_shape.iter().product();
    let mut y = Vec::with_capacity(n);
    let mut idx = vec![0usize; out_shape.len()];
    for _ in 0..n {
        let mut f = 0;
        for (j, &d) in shape.iter().enumerate() {
            f = f * d + if d == 1 { 0 } else { idx[lead + j] };
        }
        y.push(x[f]);
        for a in (0..out_shape.len()).rev() {
            idx[a] += 1;
            if idx[a] < out_shape[a] {
                break;
            }
            idx[a] = 0;
        }
    }
    y
}

#[test]
fn expands_on_random_shapes() {
    // fixed cases (ViT's class token, a repeated innermost axis around the
    // vector widths), then random shapes: rank 1..=4, sizes 1..=19, some
    // input axes 1, 0..=2 new leading axes
    let mut cases: Vec<(Vec<usize>, Vec<usize>)> = vec![
        (vec![1, 1, 768], vec![4, 1, 768]),
        (vec![2, 5, 1], vec![2, 5, 17]),
        (vec![3, 1, 9], vec![2, 3, 8, 9]),
        (vec![1], vec![33]),
    ];
    let mut s = 0x5eed_u64;
    let mut next = |m: u64| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s % m) as usize
    };
    for _ in 0..40 {
        let r = 1 + next(4);
        let out: Vec<usize> = (0..r).map(|_| 1 + next(19)).collect();
        let lead = next(3).min(r - 1);
        let shape: Vec<usize> = out[lead..]
            .iter()
            .map(|&d| if next(2) == 0 { 1 } else { d })
            .collect();
        cases.push((shape, out));
    }
    for (c, (shape, out)) in cases.iter().enumerate() {
        let n: usize = shape.iter().product();
        let on: usize = out.iter().product();
        let x = noise(n, 500 + c as u64);
        let want = expand_ref(&x, shape, out);
        let plan = StridedPlan::expand(shape, out).unwrap();
        for cpu in cpus() {
            let nt = 1 + (c as u64 % 5);
            exact(
                &run_copy(&plan, &x, on, cpu, nt),
                &want,
                &format!("expand {shape:?} -> {out:?} {cpu}"),
            );
        }
    }
}

// ---------------------------------------------------------------- scalar ops, params

#[test]
fn affine_and_parameter_copies() {
    use nnc_codegen::kernels::affine::{AffinePlan, ConstPlan};
    use nnc_codegen::kernels::elementwise::Chunked;
    for (s, n) in [1usize, 7, 8, 17, 9000].into_iter().enumerate() {
        let x = noise(n, 500 + s as u64);
        for (mul, add) in [(0.125f32, 0.0f32), (-1.0, 1.0), (1.0, 3.5)] {
            let want: Vec<f32> = x.iter().map(|&v| v * mul + add).collect();
            let plan = AffinePlan {
                mul,
                add,
                sp: Chunked::new(1, n as u64),
            };
            for cpu in cpus() {
                let got = run_kernel(
                    KernelPlan::Affine(plan.clone()),
                    std::slice::from_ref(&x),
                    Vec::new(),
                    n,
                    2,
                    cpu,
                )
                .unwrap();
                exact(&got, &want, &format!("affine {n} {mul} {add} {cpu}"));
            }
        }
        let plan = ConstPlan {
            len: n as u64,
            w_off: 16,
        };
        let mut blob = vec![0f32; 16];
        blob.extend_from_slice(&x);
        for cpu in cpus() {
            let got = run_kernel(
                KernelPlan::Const(plan.clone()),
                &[],
                blob.clone(),
                n,
                1,
                cpu,
            )
            .unwrap();
            exact(&got, &x, &format!("param {n} {cpu}"));
        }
    }
}
