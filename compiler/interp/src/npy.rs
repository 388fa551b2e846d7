//! `.npy` files: little-endian float32 (`<f4`), C order — exactly what the
//! generated executables accept. Anything else is a clear error, never a
//! panic.

use crate::tensor::{fmt_shape, numel, Tensor};

const MAGIC: &[u8] = b"\x93NUMPY";

/// The parsed header of a `.npy` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NpyHeader {
    /// The `descr` string (`<f4`, `<f8`, ...).
    pub descr: String,
    pub fortran_order: bool,
    pub shape: Vec<usize>,
    /// Byte offset of the data.
    pub data_offset: usize,
}

/// Parses the header of a `.npy` file (any dtype).
pub fn read_header(bytes: &[u8]) -> Result<NpyHeader, String> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err("not a .npy file (the magic string \\x93NUMPY is missing)".into());
    }
    let major = bytes[6];
    let (hlen, start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10usize),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err("truncated .npy header".into());
            }
            (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12usize,
            )
        }
        v => return Err(format!("unsupported .npy format version {v}")),
    };
    let end = start
        .checked_add(hlen)
        .filter(|&e| e <= bytes.len())
        .ok_or("truncated .npy header")?;
    let text = std::str::from_utf8(&bytes[start..end])
        .map_err(|_| "the .npy header is not valid text".to_string())?;
    for key in ["descr", "fortran_order", "shape"] {
        let n =
            text.matches(&format!("'{key}'")).count() + text.matches(&format!("\"{key}\"")).count();
        if n > 1 {
            return Err(format!("the .npy header has the key '{key}' twice"));
        }
    }
    let descr = dict_value(text, "descr")
        .ok_or("the .npy header has no 'descr'")?
        .trim()
        .trim_matches(|c| c == '\'' || c == '"')
        .to_string();
    let fortran = match dict_value(text, "fortran_order").map(str::trim) {
        Some("False") => false,
        Some("True") => true,
        _ => return Err("the .npy header has no valid 'fortran_order'".into()),
    };
    let shape_txt = dict_value(text, "shape").ok_or("the .npy header has no 'shape'")?;
    let shape_txt = shape_txt.trim();
    let inner = shape_txt
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or("the .npy header's 'shape' is not a tuple")?;
    let mut shape = Vec::new();
    for part in inner.split(',') {
        let p = part.trim();
        if p.is_empty() {
            continue;
        }
        let p = p.strip_suffix('L').unwrap_or(p);
        shape.push(
            p.parse::<usize>()
                .map_err(|_| format!("bad dimension `{p}` in the .npy shape"))?,
        );
    }
    Ok(NpyHeader {
        descr,
        fortran_order: fortran,
        shape,
        data_offset: end,
    })
}

/// The text of the value of `key` in a Python dict literal (up to the next
/// top-level comma or the closing brace).
fn dict_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let pat1 = format!("'{key}'");
    let pat2 = format!("\"{key}\"");
    let at = text
        .find(&pat1)
        .map(|i| i + pat1.len())
        .or_else(|| text.find(&pat2).map(|i| i + pat2.len()))?;
    let rest = text[at..].trim_start().strip_prefix(':')?;
    let mut depth = 0i32;
    for (i, c) in rest.char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ',' | '}' if depth == 0 => return Some(&rest[..i]),
            _ => {}
        }
    }
    None
}

/// Reads a `.npy` file holding little-endian float32 in C order.
pub fn read_npy(bytes: &[u8]) -> Result<Tensor, String> {
    let h = read_header(bytes)?;
    if h.descr != "<f4" {
        return Err(format!(
            "dtype `{}` is not supported: expected float32 (`<f4`); convert with `a.astype(np.float32)`",
            h.descr
        ));
    }
    if h.fortran_order {
        return Err(
            "Fortran-order arrays are not supported: save a C-order array (np.ascontiguousarray)"
                .into(),
        );
    }
    let n = numel(&h.shape).ok_or("the .npy shape has too many elements")?;
    let need = n
        .checked_mul(4)
        .ok_or("the .npy shape has too many elements")?;
    let data = &bytes[h.data_offset..];
    if data.len() < need {
        return Err(format!(
            "truncated .npy file: shape {} needs {need} data bytes, found {}",
            fmt_shape(&h.shape),
            data.len()
        ));
    }
    if data.len() > need {
        return Err(format!(
            ".npy file has {} bytes of trailing data after shape {}",
            data.len() - need,
            fmt_shape(&h.shape)
        ));
    }
    let mut v = crate::tensor::try_vec(n)?;
    v.extend(
        data.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
    );
    Ok(Tensor::new(h.shape, v)?)
}

/// Reads a `.npy` file for the input `name`, which must have exactly the
/// shape `expected`. Errors name the input, the expected and the found
/// shape/dtype.
pub fn read_npy_expect(bytes: &[u8], name: &str, expected: &[usize]) -> Result<Tensor, String> {
    let h = read_header(bytes).map_err(|e| format!("input `{name}`: {e}"))?;
    if h.descr != "<f4" || h.shape != expected {
        return Err(format!(
            "input `{name}`: expected float32 (`<f4`) of shape {}, found `{}` of shape {}",
            fmt_shape(expected),
            h.descr,
            fmt_shape(&h.shape)
        ));
    }
    read_npy(bytes).map_err(|e| format!("input `{name}`: {e}"))
}

/// Serializes a tensor as a version-1.0 `.npy` file (`<f4`, C order).
pub fn write_npy(t: &Tensor) -> Vec<u8> {
    let dims: Vec<String> = t.shape().iter().map(|d| d.to_string()).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    // pad so that magic + version + len + header + '\n' is a multiple of 64
    let total = 10 + header.len() + 1;
    let pad = (64 - total % 64) % 64;
    header.push_str(&" ".repeat(pad));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + t.len() * 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in t.data() {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
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
        let e = read_npy_expect(&b, "image", &[1, 4]).unwrap_err();
        assert!(
            e.contains("image") && e.contains("[1, 4]") && e.contains("[1, 3]"),
            "{e}"
        );
        let f8 = replace_bytes(&b, b"<f4", b"<f8");
        let e = read_npy(&f8).unwrap_err();
        assert!(e.contains("<f8"), "{e}");
        let e = read_npy(&b[..b.len() - 1]).unwrap_err();
        assert!(e.contains("truncated"), "{e}");
        assert!(read_npy(b"hello").is_err());
        // every truncation of a valid file is an error, never a panic
        for cut in 0..b.len() {
            assert!(read_npy(&b[..cut]).is_err());
        }
        // huge shape
        let huge = replace_bytes(&b, b"(1, 3)", b"(99999999999, 99999999999)");
        assert!(read_npy(&huge).is_err());
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
