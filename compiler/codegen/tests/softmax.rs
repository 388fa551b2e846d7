//! Softmax against the reference interpreter on the AVX2 (`x86-64-v3`) and, when
//! the host has AVX-512F, the AVX-512 (`skylake-avx512`) build: contiguous rows
//! (last axis) and strided axes, row lengths around the vector widths, large and
//! tiny logits, and rows with NaN, ±inf and all −inf.

use nnc_codegen::testing::run_jit;
use nnc_interp::{Tensor, WeightStore};
use nnc_ir::GraphBuilder;
use nnc_ir::Op;
use std::collections::HashMap;

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

/// The input of `shape` with softmax over `axis`: every line along the axis gets
/// a different flavour (scaled noise, huge offset, tiny values, special values).
fn input(shape: &[usize], axis: usize, seed: u64) -> Vec<f32> {
    let n = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    let total: usize = shape.iter().product();
    let mut x = noise(total, seed);
    let lines = total / n;
    for line in 0..lines {
        let (o, i) = (line / inner, line % inner);
        let at = |j: usize| (o * n + j) * inner + i;
        let first = at(0);
        let last = at(n - 1);
        match line % 9 {
            0 => (0..n).for_each(|j| x[at(j)] *= 30.0),
            1 => (0..n).for_each(|j| x[at(j)] = 1.0e4 + x[at(j)] * 50.0),
            2 => (0..n).for_each(|j| x[at(j)] = -3.0e4 + x[at(j)] * 200.0),
            3 => (0..n).for_each(|j| x[at(j)] *= 1.0e-30),
            4 => x[last] = f32::NAN,
            5 => x[first] = f32::INFINITY,
            6 => x[last] = f32::NEG_INFINITY,
            7 => (0..n).for_each(|j| x[at(j)] = f32::NEG_INFINITY),
            _ => {}
        }
    }
    x
}

/// Per element: NaN where the reference has NaN, else
/// `|got − want| ≤ 1e-7 + 1e-4·|want|`.
fn compare(got: &[f32], want: &[f32]) -> Result<(), String> {
    for (idx, (&g, &w)) in got.iter().zip(want).enumerate() {
        let ok = if w.is_nan() {
            g.is_nan()
        } else {
            (g - w).abs() <= 1e-7 + 1e-4 * w.abs()
        };
        if !ok {
            return Err(format!("element {idx}: got {g:e}, want {w:e}"));
        }
    }
    Ok(())
}

fn check(shape: &[usize], axis: usize, seed: u64) {
    let mut b = GraphBuilder::new("t");
    let x = b.input("x", shape);
    let y = b.op(Op::Softmax { axis }, &[x]).unwrap();
    b.output("y", y);
    let g = b.finish();
    let data = input(shape, axis, seed);
    let t = Tensor::new(shape.to_vec(), data.clone()).unwrap();
    let mut map = HashMap::new();
    map.insert("x".to_string(), t);
    let w = WeightStore::default();
    let want = nnc_interp::run(&g, &w, &map).unwrap();
    let want = want["y"].data();
    // lines 4, 5 and 7 of the special values give NaN rows
    assert!(data.len() / shape[axis] < 5 || want.iter().any(|v| v.is_nan()));
    for cpu in cpus() {
        let got = run_jit(&g, &w, std::slice::from_ref(&data), cpu, 3).unwrap();
        compare(&got[0], want).unwrap_or_else(|e| panic!("{cpu} {shape:?} axis {axis}: {e}"));
    }
}

#[test]
fn last_axis_rows_around_vector_widths() {
    for (seed, n) in [1usize, 2, 7, 8, 9, 15, 16, 17, 31, 33, 100, 1000]
        .into_iter()
        .enumerate()
    {
        check(&[19, n], 1, seed as u64);
    }
}

#[test]
fn strided_axis_inner_blocks_and_tails() {
    for (seed, (shape, axis)) in [
        (vec![2, 5, 3], 1),
        (vec![3, 4, 16], 1),
        (vec![2, 7, 17], 1),
        (vec![1, 10, 70], 1),
        (vec![11, 2, 129], 0),
        (vec![1, 3, 9, 9], 1),
    ]
    .into_iter()
    .enumerate()
    {
        check(&shape, axis, 100 + seed as u64);
    }
}
