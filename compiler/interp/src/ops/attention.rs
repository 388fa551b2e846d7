//! Multi-head self-attention, `nn.MultiheadAttention(batch_first=True)`
//! in eval mode (no dropout, no mask).

use super::matmul::matmul;
use super::OpError;
use crate::tensor::{fmt_shape, Tensor};

/// `x: [N, L, E]`; weights in `weight_specs` order: `in_proj_weight [3E, E]`,
/// `in_proj_bias [3E]` (if bias), `out_proj.weight [E, E]`, `out_proj.bias [E]`.
pub fn attention(x: &Tensor, heads: usize, ws: &[&Tensor], bias: bool) -> Result<Tensor, OpError> {
    let &[n, l, e] = x.shape() else {
        return Err(OpError::Shape(format!(
            "attention needs [N, L, E], got {}",
            fmt_shape(x.shape())
        )));
    };
    if heads == 0 || !e.is_multiple_of(heads) {
        return Err(OpError::Shape(format!(
            "{heads} heads do not divide E = {e}"
        )));
    }
    let want = if bias { 4 } else { 2 };
    if ws.len() != want {
        return Err(OpError::Weights(format!(
            "attention needs {want} weight tensors, got {}",
            ws.len()
        )));
    }
    let (w_in, b_in, w_out, b_out) = if bias {
        (ws[0], Some(ws[1]), ws[2], Some(ws[3]))
    } else {
        (ws[0], None, ws[1], None)
    };
    let qkv = linear_rows(x.data(), n * l, e, w_in, b_in, 3 * e)?;
    let d = e / heads;
    let scale = 1.0 / (d as f64).sqrt();
    // gather q, k^T, v per (batch, head)
    let nh = n * heads;
    let mut q = vec![0f32; nh * l * d];
    let mut kt = vec![0f32; nh * d * l];
    let mut v = vec![0f32; nh * l * d];
    for b in 0..n {
        for h in 0..heads {
            let g = b * heads + h;
            for t in 0..l {
                let row = &qkv[(b * l + t) * 3 * e..(b * l + t + 1) * 3 * e];
                for c in 0..d {
                    q[(g * l + t) * d + c] = row[h * d + c];
                    kt[(g * d + c) * l + t] = row[e + h * d + c];
                    v[(g * l + t) * d + c] = row[2 * e + h * d + c];
                }
            }
        }
    }
    let q = Tensor::new(vec![nh, l, d], q)?;
    let kt = Tensor::new(vec![nh, d, l], kt)?;
    let v = Tensor::new(vec![nh, l, d], v)?;
    let mut s = matmul(&q, &kt)?;
    // softmax(scores * scale) over the last axis, in f64
    for row in s.data_mut().chunks_mut(l) {
        let m = row
            .iter()
            .fold(f64::NEG_INFINITY, |a, &z| a.max(z as f64 * scale));
        let sum: f64 = row.iter().map(|&z| (z as f64 * scale - m).exp()).sum();
        for z in row.iter_mut() {
            *z = ((*z as f64 * scale - m).exp() / sum) as f32;
        }
    }
    let o = matmul(&s, &v)?; // [N·heads, L, d]
    let mut cat = vec![0f32; n * l * e];
    let od = o.data();
    for b in 0..n {
        for h in 0..heads {
            for t in 0..l {
                for c in 0..d {
                    cat[(b * l + t) * e + h * d + c] = od[((b * heads + h) * l + t) * d + c];
                }
            }
        }
    }
    let y = linear_rows(&cat, n * l, e, w_out, b_out, e)?;
    Ok(Tensor::new(vec![n, l, e], y)?)
}

/// `rows × fin` times `w^T` (`w: [fout, fin]`) plus bias, accumulated in f64.
fn linear_rows(
    x: &[f32],
    rows: usize,
    fin: usize,
    w: &Tensor,
    b: Option<&Tensor>,
    fout: usize,
) -> Result<Vec<f32>, OpError> {
    if w.shape() != [fout, fin] || b.is_some_and(|b| b.shape() != [fout]) {
        return Err(OpError::Weights(format!(
            "projection weight {} should be [{fout}, {fin}]",
            fmt_shape(w.shape())
        )));
    }
    let wd = w.data();
    let mut y = vec![0f32; rows * fout];
    for r in 0..rows {
        let xr = &x[r * fin..(r + 1) * fin];
        for o in 0..fout {
            let wr = &wd[o * fin..(o + 1) * fin];
            let mut acc = b.map_or(0.0, |b| b.data()[o] as f64);
            for (a, c) in xr.iter().zip(wr) {
                acc += *a as f64 * *c as f64;
            }
            y[r * fout + o] = acc as f32;
        }
    }
    Ok(y)
}
