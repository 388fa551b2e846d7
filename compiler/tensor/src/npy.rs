//! `.npy` files as [`Tensor`]s: little-endian float32 (`<f4`), C order —
//! exactly what the generated executables accept, because both read with
//! `nnc-npy`. Anything else is a clear [`NpyError`], never a panic.

use crate::tensor::{numel, Tensor, TensorError};
pub use nnc_npy::{decode, fmt_shape, input_error, parse_header, Header, NpyError};
use std::path::Path;

fn limit(e: TensorError) -> NpyError {
    NpyError::Limit(e.to_string())
}

/// Reads a `.npy` file held in memory, whatever its shape.
pub fn read_npy(bytes: &[u8]) -> Result<Tensor, NpyError> {
    let h = parse_header(bytes)?;
    // the tensor limit before anything is allocated
    let n = numel(&h.shape).ok_or(NpyError::Limit(format!(
        "shape {} has too many elements",
        fmt_shape(&h.shape)
    )))?;
    crate::tensor::try_vec(n).map_err(limit)?;
    let data = decode(bytes, &h.shape)?;
    Tensor::new(h.shape, data).map_err(limit)
}

/// Reads the `.npy` file `path` for an input of exactly the shape
/// `expected`, with the rules and messages of the executables' runtime
/// (see [`input_error`] for the message of an error).
pub fn read_npy_file(path: &Path, expected: &[usize]) -> Result<Tensor, NpyError> {
    let n = numel(expected).ok_or(NpyError::Limit(format!(
        "shape {} has too many elements",
        fmt_shape(expected)
    )))?;
    crate::tensor::try_vec(n).map_err(limit)?;
    let data = nnc_npy::read_file(path, expected)?;
    Tensor::new(expected.to_vec(), data).map_err(limit)
}

/// Serializes a tensor as a `.npy` file (`<f4`, C order; version 1.0, or
/// 2.0 for a header over 64 KiB).
pub fn write_npy(t: &Tensor) -> Vec<u8> {
    nnc_npy::encode(t.shape(), t.data())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        for shape in [vec![], vec![3], vec![2, 3], vec![1, 2, 3, 4]] {
            let n = numel(&shape).unwrap();
            let t = Tensor::new(shape, (0..n).map(|i| i as f32 * 0.5 - 1.0).collect()).unwrap();
            let b = write_npy(&t);
            assert_eq!((b.len() - t.len() * 4) % 64, 0);
            assert_eq!(read_npy(&b).unwrap(), t);
        }
    }

    #[test]
    fn numpy_written_header() {
        // what numpy 1.x/2.x writes for np.zeros((2, 3), np.float32)
        let mut b =
            b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
                .to_vec();
        while b.len() < 127 {
            b.push(b' ');
        }
        b.push(b'\n');
        b.extend_from_slice(&[0u8; 24]);
        let t = read_npy(&b).unwrap();
        assert_eq!(t.shape(), &[2, 3]);
    }

    fn replace_bytes(b: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
        let i = b.windows(from.len()).position(|w| w == from).unwrap();
        let mut out = b[..i].to_vec();
        out.extend_from_slice(to);
        out.extend_from_slice(&b[i + from.len()..]);
        out
    }

    #[test]
    fn errors_are_clear() {
        let t = Tensor::zeros(vec![1, 3]).unwrap();
        let b = write_npy(&t);
        let f8 = replace_bytes(&b, b"<f4", b"<f8");
        let e = read_npy(&f8).unwrap_err().to_string();
        assert!(e.contains("<f8"), "{e}");
        let e = read_npy(&b[..b.len() - 1]).unwrap_err().to_string();
        assert!(e.contains("truncated"), "{e}");
        assert!(read_npy(b"hello").is_err());
        // every truncation of a valid file is an error, never a panic
        for cut in 0..b.len() {
            assert!(read_npy(&b[..cut]).is_err());
        }
        // huge shape: refused before allocating
        let huge = replace_bytes(&b, b"(1, 3)", b"(99999999999, 99999999999)");
        assert!(matches!(read_npy(&huge), Err(NpyError::Limit(_))));
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut r = crate::weights::SplitMix64(7);
        let base = write_npy(&Tensor::zeros(vec![2, 2]).unwrap());
        for _ in 0..2000 {
            let mut b = base.clone();
            let k = (r.next_u64() % 4) as usize + 1;
            for _ in 0..k {
                let i = (r.next_u64() as usize) % b.len();
                b[i] = r.next_u64() as u8;
            }
            let _ = read_npy(&b);
        }
    }
}
