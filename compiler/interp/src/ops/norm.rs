//! Layer normalization (PyTorch: biased variance, `eps` inside the root).

use super::OpError;
use crate::tensor::{fmt_shape, Tensor};
use nnc_ir::NormAxes;

/// `(x - mean) / sqrt(var + eps) * weight + bias` over `axes`.
pub fn layernorm(
    x: &Tensor,
    axes: NormAxes,
    eps: f64,
    weight: &Tensor,
    bias: &Tensor,
) -> Result<Tensor, OpError> {
    let s = x.shape();
    // rows of `len` values, `inner` apart (channels-first: stride H·W)
    let (outer, len, inner, wshape) = match axes {
        NormAxes::Last(k) => {
            if k == 0 || k > s.len() {
                return Err(OpError::Shape(format!(
                    "layernorm over {k} axes of {}",
                    fmt_shape(s)
                )));
            }
            let cut = s.len() - k;
            (
                s[..cut].iter().product::<usize>(),
                s[cut..].iter().product::<usize>(),
                1usize,
                s[cut..].to_vec(),
            )
        }
        NormAxes::Channels => {
            if s.len() < 2 {
                return Err(OpError::Shape(format!(
                    "channels-first layernorm of {}",
                    fmt_shape(s)
                )));
            }
            (s[0], s[1], s[2..].iter().product::<usize>(), vec![s[1]])
        }
    };
    for (t, n) in [(weight, "weight"), (bias, "bias")] {
        if t.shape() != wshape.as_slice() {
            return Err(OpError::Weights(format!(
                "{n} shape {} should be {}",
                fmt_shape(t.shape()),
                fmt_shape(&wshape)
            )));
        }
    }
    let mut y = x.try_clone()?;
    let (xd, wd, bd) = (x.data(), weight.data(), bias.data());
    let od = y.data_mut();
    for o in 0..outer {
        for i in 0..inner {
            let at = |c: usize| (o * len + c) * inner + i;
            let mean = (0..len).map(|c| xd[at(c)] as f64).sum::<f64>() / len as f64;
            let var = (0..len)
                .map(|c| (xd[at(c)] as f64 - mean).powi(2))
                .sum::<f64>()
                / len as f64;
            let rstd = 1.0 / (var + eps).sqrt();
            for c in 0..len {
                let v = (xd[at(c)] as f64 - mean) * rstd;
                od[at(c)] = (v * wd[c] as f64 + bd[c] as f64) as f32;
            }
        }
    }
    Ok(y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_first_equals_last_after_permute() {
        let x = Tensor::new(vec![1, 2, 1, 2], vec![1., 5., 3., 9.]).unwrap();
        let w = Tensor::new(vec![2], vec![1., 2.]).unwrap();
        let b = Tensor::new(vec![2], vec![0., 1.]).unwrap();
        let y = layernorm(&x, NormAxes::Channels, 1e-6, &w, &b).unwrap();
        // position 0: values (1, 3) -> (-1, 1) -> (-1, 3); position 1: (5, 9)
        let d = y.data();
        assert!((d[0] + 1.0).abs() < 1e-4 && (d[2] - 3.0).abs() < 1e-4);
        assert!((d[1] + 1.0).abs() < 1e-4 && (d[3] - 3.0).abs() < 1e-4);
        let t = Tensor::new(vec![2, 2], vec![1., 3., 5., 9.]).unwrap();
        let z = layernorm(&t, NormAxes::Last(1), 1e-6, &w, &b).unwrap();
        assert!((z.data()[1] - 3.0).abs() < 1e-4);
    }
}
