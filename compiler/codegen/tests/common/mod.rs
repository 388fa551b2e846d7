//! Shared helpers of the differential tests: compile in memory (JIT), run
//! the reference interpreter, compare with max|d| / max|ref| <= 1e-4.

#![allow(dead_code)]

use nnc_codegen::testing::run_jit_with;
use nnc_interp::weights::{init_random, random_tensor};
use nnc_interp::{Tensor, WeightStore};
use nnc_ir::Graph;
use std::collections::HashMap;

/// The relative error bound of the differential tests.
pub const TOL: f64 = 1e-4;

/// max |a - b| / max |b| (0 when both are all zero); NaN positions must agree.
pub fn rel_err(got: &[f32], want: &[f32]) -> f64 {
    assert_eq!(got.len(), want.len());
    let mut md = 0f64;
    let mut mr = 0f64;
    for (&g, &w) in got.iter().zip(want) {
        if w.is_nan() || g.is_nan() {
            if w.is_nan() != g.is_nan() {
                return f64::INFINITY;
            }
            continue;
        }
        md = md.max((g as f64 - w as f64).abs());
        mr = mr.max((w as f64).abs());
    }
    if md == 0.0 {
        0.0
    } else {
        md / mr.max(1e-30)
    }
}

/// Random inputs for every input node (seeded).
pub fn random_inputs(g: &Graph, seed: u64) -> (Vec<Vec<f32>>, HashMap<String, Tensor>) {
    let mut bufs = Vec::new();
    let mut map = HashMap::new();
    for (i, &n) in g.inputs.iter().enumerate() {
        let node = g.node(n);
        let name = match &node.op {
            nnc_ir::Op::Input { name } => name.clone(),
            _ => node.name.clone(),
        };
        let t = random_tensor(node.shape.clone(), seed.wrapping_add(i as u64 * 7919)).unwrap();
        bufs.push(t.data().to_vec());
        map.insert(name, t);
    }
    (bufs, map)
}

/// Compiles and runs `g` with `w` and compares every output with the
/// interpreter. Returns the worst relative error.
pub fn check_with(g: &Graph, w: &WeightStore, seed: u64) -> Result<f64, String> {
    let (bufs, map) = random_inputs(g, seed);
    let want = nnc_interp::run(g, w, &map)?;
    let mut worst = 0f64;
    // both the fast micro-kernels and the general direct convolution
    for fast in [true, false] {
        let got = run_jit_with(g, w, &bufs, "host", 3, fast)?;
        for (o, buf) in g.outputs.iter().zip(&got) {
            let r = &want[&o.name];
            let e = rel_err(buf, r.data());
            if e.is_nan() || e > TOL {
                return Err(format!(
                    "output {} differs (fast kernels: {fast}): rel err {e:e} (got {:?}.. want {:?}..)",
                    o.name,
                    &buf[..buf.len().min(8)],
                    &r.data()[..r.data().len().min(8)]
                ));
            }
            worst = worst.max(e);
        }
    }
    Ok(worst)
}

/// [`check_with`] with random weights.
pub fn check(g: &Graph, seed: u64) -> Result<f64, String> {
    let w = init_random(g, seed);
    check_with(g, &w, seed)
}
