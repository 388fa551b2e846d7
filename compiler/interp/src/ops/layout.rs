//! Data movement: reshape, permute, slice, select, roll, expand, take.

use super::OpError;
use crate::tensor::{fmt_shape, numel, strides_of, Tensor};

/// The same data under a new shape (equal element count).
pub fn reshape(x: &Tensor, shape: &[usize]) -> Result<Tensor, OpError> {
    if numel(shape) != Some(x.len()) {
        return Err(OpError::Shape(format!(
            "cannot reshape {} to {}",
            fmt_shape(x.shape()),
            fmt_shape(shape)
        )));
    }
    Ok(x.try_clone()?.reshape(shape.to_vec())?)
}

/// `out.shape[i] = x.shape[perm[i]]`.
pub fn permute(x: &Tensor, perm: &[usize]) -> Result<Tensor, OpError> {
    let s = x.shape();
    let r = s.len();
    let mut seen = vec![false; r];
    if perm.len() != r
        || perm
            .iter()
            .any(|&p| p >= r || std::mem::replace(&mut seen[p], true))
    {
        return Err(OpError::Shape(format!(
            "{perm:?} is not a permutation of {r} axes"
        )));
    }
    let out_shape: Vec<usize> = perm.iter().map(|&p| s[p]).collect();
    let in_strides = strides_of(s);
    // stride in the input of each output axis
    let st: Vec<usize> = perm.iter().map(|&p| in_strides[p]).collect();
    let mut y = Tensor::zeros(out_shape.clone())?;
    let xd = x.data();
    let od = y.data_mut();
    let mut idx = vec![0usize; r];
    let mut src = 0usize;
    for o in od.iter_mut() {
        *o = xd[src];
        // advance the output multi-index (row-major) and the source offset
        for a in (0..r).rev() {
            idx[a] += 1;
            src += st[a];
            if idx[a] < out_shape[a] {
                break;
            }
            src -= st[a] * out_shape[a];
            idx[a] = 0;
        }
    }
    Ok(y)
}

/// `[outer, len, inner]` around `axis`.
fn split_at(s: &[usize], axis: usize) -> Result<(usize, usize, usize), OpError> {
    if axis >= s.len() {
        return Err(OpError::AxisOutOfRange {
            axis,
            rank: s.len(),
        });
    }
    Ok((
        s[..axis].iter().product(),
        s[axis],
        s[axis + 1..].iter().product(),
    ))
}

/// Elements `start, start+step, ... < stop` along `axis`.
pub fn slice(
    x: &Tensor,
    axis: usize,
    start: usize,
    stop: usize,
    step: usize,
) -> Result<Tensor, OpError> {
    let (outer, len, inner) = split_at(x.shape(), axis)?;
    if step == 0 || start >= stop || stop > len {
        return Err(OpError::Shape(format!(
            "slice {start}:{stop}:{step} of an axis of size {len}"
        )));
    }
    let picks: Vec<usize> = (start..stop).step_by(step).collect();
    let mut shape = x.shape().to_vec();
    shape[axis] = picks.len();
    let mut data = Vec::new();
    data.try_reserve_exact(outer * picks.len() * inner)
        .map_err(|_| OpError::OutOfMemory)?;
    let xd = x.data();
    for o in 0..outer {
        for &k in &picks {
            let at = (o * len + k) * inner;
            data.extend_from_slice(&xd[at..at + inner]);
        }
    }
    Ok(Tensor::new(shape, data)?)
}

/// Element `index` along `axis`, the axis removed.
pub fn select(x: &Tensor, axis: usize, index: usize) -> Result<Tensor, OpError> {
    let y = slice(x, axis, index, index.saturating_add(1), 1)?;
    let mut shape = x.shape().to_vec();
    shape.remove(axis);
    if shape.is_empty() {
        return Err(OpError::shape("select would leave a tensor of rank 0"));
    }
    Ok(y.reshape(shape)?)
}

/// `torch.roll(x, shift, axis)`: `out[(i + shift) % n] = x[i]`.
pub fn roll(x: &Tensor, axis: usize, shift: usize) -> Result<Tensor, OpError> {
    let (outer, len, inner) = split_at(x.shape(), axis)?;
    let mut y = x.try_clone()?;
    if len == 0 {
        return Ok(y);
    }
    let shift = shift % len;
    let xd = x.data();
    let od = y.data_mut();
    for o in 0..outer {
        for i in 0..len {
            let j = (i + shift) % len;
            let (src, dst) = ((o * len + i) * inner, (o * len + j) * inner);
            od[dst..dst + inner].copy_from_slice(&xd[src..src + inner]);
        }
    }
    Ok(y)
}

/// `Tensor.expand` / `numpy.broadcast_to`: `x` repeated along its axes of
/// size 1 (and new leading axes) to `shape`, axes aligned from the end.
pub fn expand(x: &Tensor, shape: &[usize]) -> Result<Tensor, OpError> {
    let s = x.shape();
    let r = shape.len();
    let fits = r >= s.len()
        && s.iter()
            .zip(&shape[r - s.len()..])
            .all(|(&a, &b)| a == b || a == 1);
    if !fits {
        return Err(OpError::Shape(format!(
            "cannot expand {} to {}",
            fmt_shape(s),
            fmt_shape(shape)
        )));
    }
    // the input stride of each output axis: 0 where the axis repeats
    let in_strides = strides_of(s);
    let lead = r - s.len();
    let st: Vec<usize> = (0..r)
        .map(|a| match a.checked_sub(lead) {
            Some(j) if s[j] == shape[a] => in_strides[j],
            _ => 0,
        })
        .collect();
    let mut y = Tensor::zeros(shape.to_vec())?;
    let xd = x.data();
    let od = y.data_mut();
    let mut idx = vec![0usize; r];
    let mut src = 0usize;
    for o in od.iter_mut() {
        *o = xd[src];
        for a in (0..r).rev() {
            idx[a] += 1;
            src += st[a];
            if idx[a] < shape[a] {
                break;
            }
            src -= st[a] * shape[a];
            idx[a] = 0;
        }
    }
    Ok(y)
}

/// `numpy.take(x, indices, axis)`: indices (in `0..size`) laid out as
/// `index_shape` in place of `axis`.
pub fn take(
    x: &Tensor,
    axis: usize,
    indices: &[usize],
    index_shape: &[usize],
) -> Result<Tensor, OpError> {
    let (outer, len, inner) = split_at(x.shape(), axis)?;
    if let Some(i) = indices.iter().find(|&&i| i >= len) {
        return Err(OpError::Index {
            index: *i,
            axis,
            len,
        });
    }
    let mut shape = x.shape()[..axis].to_vec();
    shape.extend_from_slice(index_shape);
    shape.extend_from_slice(&x.shape()[axis + 1..]);
    let n = outer
        .checked_mul(indices.len())
        .and_then(|v| v.checked_mul(inner))
        .ok_or(OpError::SizeOverflow { what: "take" })?;
    let mut data = crate::tensor::try_vec(n)?;
    let xd = x.data();
    for o in 0..outer {
        for &i in indices {
            let src = (o * len + i) * inner;
            data.extend_from_slice(&xd[src..src + inner]);
        }
    }
    Ok(Tensor::new(shape, data)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_gathers_rows_in_index_shape() {
        let x = iota(&[3, 2]);
        let y = take(&x, 0, &[2, 0, 2, 1], &[2, 2]).unwrap();
        assert_eq!(y.shape(), &[2, 2, 2]);
        assert_eq!(y.data(), &[4., 5., 0., 1., 4., 5., 2., 3.]);
        let z = take(&x, 1, &[1, 1, 0], &[3]).unwrap();
        assert_eq!(z.shape(), &[3, 3]);
        assert_eq!(z.data(), &[1., 1., 0., 3., 3., 2., 5., 5., 4.]);
        assert!(take(&x, 0, &[3], &[1]).is_err());
    }

    fn iota(shape: &[usize]) -> Tensor {
        let n = numel(shape).unwrap();
        Tensor::new(shape.to_vec(), (0..n).map(|v| v as f32).collect()).unwrap()
    }

    #[test]
    fn expand_repeats_size_one_axes() {
        let x = iota(&[1, 3]);
        let y = expand(&x, &[2, 3]).unwrap();
        assert_eq!(y.data(), &[0., 1., 2., 0., 1., 2.]);
        let x = iota(&[2, 1]);
        let y = expand(&x, &[2, 2, 3]).unwrap();
        assert_eq!(y.shape(), &[2, 2, 3]);
        assert_eq!(y.data(), &[0., 0., 0., 1., 1., 1., 0., 0., 0., 1., 1., 1.]);
        assert_eq!(expand(&x, &[2, 1]).unwrap().data(), x.data());
        assert!(expand(&x, &[3, 1]).is_err());
        assert!(expand(&x, &[2]).is_err());
    }

    #[test]
    fn permute_transposes() {
        let x = iota(&[2, 3]);
        let y = permute(&x, &[1, 0]).unwrap();
        assert_eq!(y.shape(), &[3, 2]);
        assert_eq!(y.data(), &[0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        let x = iota(&[2, 3, 4]);
        let y = permute(&x, &[2, 0, 1]).unwrap();
        assert_eq!(y.shape(), &[4, 2, 3]);
        // y[k, i, j] = x[i, j, k] = 12 i + 4 j + k
        assert_eq!(y.data()[(3 * 2 + 1) * 3 + 2], (12 + 8 + 3) as f32);
        assert!(permute(&x, &[0, 0, 1]).is_err());
    }

    #[test]
    fn slice_select_roll() {
        let x = iota(&[2, 5]);
        assert_eq!(slice(&x, 1, 1, 5, 2).unwrap().data(), &[1.0, 3.0, 6.0, 8.0]);
        assert_eq!(select(&x, 1, 4).unwrap().data(), &[4.0, 9.0]);
        assert_eq!(select(&x, 0, 1).unwrap().shape(), &[5]);
        // torch.roll(arange(5), 2) = [3, 4, 0, 1, 2]
        let r = roll(&iota(&[5]), 0, 2).unwrap();
        assert_eq!(r.data(), &[3.0, 4.0, 0.0, 1.0, 2.0]);
        assert!(slice(&x, 1, 3, 3, 1).is_err());
        assert!(slice(&x, 2, 0, 1, 1).is_err());
    }
}
