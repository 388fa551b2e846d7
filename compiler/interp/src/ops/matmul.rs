//! `torch.matmul` of two tensors of rank >= 2 with broadcast batch axes.

use super::{at_least, OpError};
use crate::tensor::{fmt_shape, strides_of, Tensor};

/// `[..., M, K] @ [..., K, N] -> [..., M, N]`.
pub fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor, OpError> {
    at_least(a, 2, "matmul")?;
    at_least(b, 2, "matmul")?;
    let (sa, sb) = (a.shape(), b.shape());
    let (m, k) = (sa[sa.len() - 2], sa[sa.len() - 1]);
    let (k2, n) = (sb[sb.len() - 2], sb[sb.len() - 1]);
    if k != k2 {
        return Err(OpError::Shape(format!(
            "matmul of {} and {}: inner sizes differ",
            fmt_shape(sa),
            fmt_shape(sb)
        )));
    }
    let (ba, bb) = (&sa[..sa.len() - 2], &sb[..sb.len() - 2]);
    let batch = nnc_ir::shape::broadcast(ba, bb).ok_or_else(|| {
        OpError::Shape(format!(
            "matmul batch axes {} and {} do not broadcast",
            fmt_shape(ba),
            fmt_shape(bb)
        ))
    })?;
    let nb: usize = batch.iter().product();
    // the batch index → the matrix index in a and in b (broadcast axes: stride 0)
    let bstrides = |own: &[usize]| -> Vec<usize> {
        let st = strides_of(own);
        let pad = batch.len() - own.len();
        (0..batch.len())
            .map(|i| {
                if i < pad || own[i - pad] == 1 {
                    0
                } else {
                    st[i - pad]
                }
            })
            .collect()
    };
    let (sta, stb) = (bstrides(ba), bstrides(bb));
    let bst = strides_of(&batch);
    let mut shape = batch.clone();
    shape.push(m);
    shape.push(n);
    let mut y = Tensor::zeros(shape)?;
    let (ad, bd) = (a.data(), b.data());
    let od = y.data_mut();
    for bi in 0..nb {
        let (mut ia, mut ib) = (0usize, 0usize);
        let mut rem = bi;
        for d in 0..batch.len() {
            let q = rem / bst[d];
            rem %= bst[d];
            ia += q * sta[d];
            ib += q * stb[d];
        }
        let (a0, b0, o0) = (ia * m * k, ib * k * n, bi * m * n);
        for i in 0..m {
            for j in 0..n {
                let mut acc = 0.0f64;
                for t in 0..k {
                    acc += ad[a0 + i * k + t] as f64 * bd[b0 + t * n + j] as f64;
                }
                od[o0 + i * n + j] = acc as f32;
            }
        }
    }
    Ok(y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_batch() {
        // a: [2, 1, 2, 2] (two identity-ish matrices), b: [3, 2, 1]
        let a = Tensor::new(vec![2, 1, 2, 2], vec![1., 0., 0., 1., 2., 0., 0., 2.]).unwrap();
        let b = Tensor::new(vec![3, 2, 1], vec![1., 2., 3., 4., 5., 6.]).unwrap();
        let y = matmul(&a, &b).unwrap();
        assert_eq!(y.shape(), &[2, 3, 2, 1]);
        assert_eq!(
            y.data(),
            &[1., 2., 3., 4., 5., 6., 2., 4., 6., 8., 10., 12.]
        );
        let c = Tensor::new(vec![2, 3], vec![1., 2., 3., 4., 5., 6.]).unwrap();
        let d = Tensor::new(vec![3, 1], vec![1., 1., 1.]).unwrap();
        assert_eq!(matmul(&c, &d).unwrap().data(), &[6., 15.]);
        assert!(matmul(&c, &c).is_err());
    }
}
