//! Constant tensors of an ONNX graph (initializers, `Constant` nodes and the
//! values the constant folder computes): decoding of `TensorProto`, inline
//! or in an external data file.

use crate::error::Error;
use crate::proto::onnx::TensorProto;
use nnc_diag::codes::onnx as code;
use std::path::Path;

/// Element data of a constant: float types become f32, integer and bool
/// types i64.
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    F32(Vec<f32>),
    I64(Vec<i64>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Const {
    pub dims: Vec<usize>,
    pub data: Data,
}

/// ONNX `TensorProto.DataType` values used here.
pub mod dtype {
    pub const FLOAT: i32 = 1;
    pub const UINT8: i32 = 2;
    pub const INT8: i32 = 3;
    pub const INT32: i32 = 6;
    pub const INT64: i32 = 7;
    pub const BOOL: i32 = 9;
    pub const DOUBLE: i32 = 11;
}

/// The largest constant accepted (elements): larger ones are malformed for
/// the networks nnc handles and would exhaust memory.
const MAX_ELEMENTS: usize = 1 << 31;

impl Const {
    pub fn len(&self) -> usize {
        match &self.data {
            Data::F32(v) => v.len(),
            Data::I64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn i64s(dims: Vec<usize>, v: Vec<i64>) -> Const {
        Const {
            dims,
            data: Data::I64(v),
        }
    }

    /// Values as i64 (floats truncated), for shape arithmetic.
    pub fn as_i64(&self) -> Vec<i64> {
        match &self.data {
            Data::I64(v) => v.clone(),
            Data::F32(v) => v.iter().map(|&x| x as i64).collect(),
        }
    }

    /// Values as f32.
    pub fn as_f32(&self) -> Vec<f32> {
        match &self.data {
            Data::F32(v) => v.clone(),
            Data::I64(v) => v.iter().map(|&x| x as f32).collect(),
        }
    }

    pub fn is_float(&self) -> bool {
        matches!(self.data, Data::F32(_))
    }
}

fn dims_of(t: &TensorProto, name: &str) -> Result<(Vec<usize>, usize), Error> {
    let mut dims = Vec::with_capacity(t.dims.len());
    let mut n: usize = 1;
    for &d in &t.dims {
        let d = usize::try_from(d).map_err(|_| {
            Error::new(
                code::BAD_TENSOR,
                format!("tensor `{name}` has a negative dimension {d}"),
            )
        })?;
        n = n
            .checked_mul(d)
            .filter(|&n| n <= MAX_ELEMENTS)
            .ok_or_else(|| Error::new(code::BAD_TENSOR, format!("tensor `{name}` is too large")))?;
        dims.push(d);
    }
    Ok((dims, n))
}

/// Decodes a tensor. `base` is the directory of the model file, where the
/// files of external data are looked up.
pub fn decode(t: &TensorProto, base: Option<&Path>) -> Result<Const, Error> {
    let name = t.name.clone().unwrap_or_default();
    let (dims, n) = dims_of(t, &name)?;
    let dt = t.data_type.unwrap_or(0);
    let raw: Option<Vec<u8>> = if t.data_location == Some(1) {
        Some(read_external(t, &name, base)?)
    } else {
        t.raw_data.clone()
    };
    let dims_txt = format!("{dims:?}");
    let bad_len = |got: usize| {
        Error::new(
            code::BAD_TENSOR,
            format!(
                "tensor `{name}` has {got} elements of data for shape {dims_txt} ({n} expected)"
            ),
        )
    };
    let data = match dt {
        dtype::FLOAT | dtype::DOUBLE => {
            let v: Vec<f32> = match &raw {
                Some(b) if dt == dtype::FLOAT => b
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
                Some(b) => b
                    .chunks_exact(8)
                    .map(|c| {
                        f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32
                    })
                    .collect(),
                None if dt == dtype::FLOAT => t.float_data.clone(),
                None => t.double_data.iter().map(|&x| x as f32).collect(),
            };
            if let Some(b) = &raw {
                let w = if dt == dtype::FLOAT { 4 } else { 8 };
                if b.len() % w != 0 {
                    return Err(bad_len(b.len() / w));
                }
            }
            Data::F32(v)
        }
        dtype::INT64 | dtype::INT32 | dtype::INT8 | dtype::UINT8 | dtype::BOOL => {
            let v: Vec<i64> = match &raw {
                Some(b) => match dt {
                    dtype::INT64 => b
                        .chunks_exact(8)
                        .map(|c| {
                            i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])
                        })
                        .collect(),
                    dtype::INT32 => b
                        .chunks_exact(4)
                        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64)
                        .collect(),
                    dtype::INT8 => b.iter().map(|&x| x as i8 as i64).collect(),
                    _ => b.iter().map(|&x| x as i64).collect(),
                },
                None if dt == dtype::INT64 => t.int64_data.clone(),
                None => t.int32_data.iter().map(|&x| x as i64).collect(),
            };
            Data::I64(v)
        }
        other => {
            return Err(Error::new(
                code::BAD_TENSOR,
                format!(
                    "tensor `{name}` has data type {other} ({}); nnc imports float32/float64 \
                     weights and integer shape constants",
                    dtype_name(other)
                ),
            ))
        }
    };
    let c = Const { dims, data };
    if c.len() != n {
        return Err(bad_len(c.len()));
    }
    Ok(c)
}

pub fn dtype_name(dt: i32) -> &'static str {
    match dt {
        1 => "float32",
        2 => "uint8",
        3 => "int8",
        4 => "uint16",
        5 => "int16",
        6 => "int32",
        7 => "int64",
        8 => "string",
        9 => "bool",
        10 => "float16",
        11 => "float64",
        16 => "bfloat16",
        _ => "unknown",
    }
}

fn read_external(t: &TensorProto, name: &str, base: Option<&Path>) -> Result<Vec<u8>, Error> {
    let mut location = None;
    let mut offset = 0u64;
    let mut length = None;
    for e in &t.external_data {
        let v = e.value.clone().unwrap_or_default();
        match e.key.as_deref() {
            Some("location") => location = Some(v),
            Some("offset") => offset = v.parse().unwrap_or(0),
            Some("length") => length = v.parse::<u64>().ok(),
            _ => {}
        }
    }
    let Some(location) = location else {
        return Err(Error::new(
            code::EXTERNAL_DATA,
            format!("tensor `{name}` is stored externally but names no file (`location`)"),
        ));
    };
    let rel = Path::new(&location);
    if rel.is_absolute()
        || rel
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(Error::new(
            code::EXTERNAL_DATA,
            format!("tensor `{name}`: external data location `{location}` must be a relative path inside the model's directory"),
        ));
    }
    let path = base
        .map(|b| b.join(rel))
        .unwrap_or_else(|| rel.to_path_buf());
    let bytes = std::fs::read(&path).map_err(|e| {
        Error::new(
            code::EXTERNAL_DATA,
            format!(
                "tensor `{name}` is stored in the external data file `{}`, which cannot be read: {e}",
                path.display()
            ),
        )
    })?;
    let start = usize::try_from(offset).unwrap_or(usize::MAX);
    let end = match length {
        Some(l) => start.saturating_add(usize::try_from(l).unwrap_or(usize::MAX)),
        None => bytes.len(),
    };
    if start > end || end > bytes.len() {
        return Err(Error::new(
            code::EXTERNAL_DATA,
            format!(
                "tensor `{name}`: bytes {start}..{end} are outside the external data file `{}` ({} bytes)",
                path.display(),
                bytes.len()
            ),
        ));
    }
    Ok(bytes[start..end].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::onnx::StringStringEntryProto;

    fn external(location: &str) -> TensorProto {
        TensorProto {
            name: Some("w".into()),
            dims: vec![2],
            data_type: Some(dtype::FLOAT),
            data_location: Some(1),
            external_data: vec![StringStringEntryProto {
                key: Some("location".into()),
                value: Some(location.into()),
            }],
            ..Default::default()
        }
    }

    #[test]
    fn external_data_outside_the_model_directory_is_refused() {
        let e = decode(&external("../etc/passwd"), Some(Path::new("/tmp"))).unwrap_err();
        assert_eq!(e.code, "E0504");
        let e = decode(&external("/etc/passwd"), Some(Path::new("/tmp"))).unwrap_err();
        assert_eq!(e.code, "E0504");
    }

    #[test]
    fn data_length_must_match_the_shape() {
        let t = TensorProto {
            name: Some("w".into()),
            dims: vec![3],
            data_type: Some(dtype::FLOAT),
            float_data: vec![1.0, 2.0],
            ..Default::default()
        };
        assert_eq!(decode(&t, None).unwrap_err().code, "E0507");
        let t = TensorProto {
            dims: vec![-1],
            data_type: Some(dtype::FLOAT),
            ..Default::default()
        };
        assert_eq!(decode(&t, None).unwrap_err().code, "E0507");
        let t = TensorProto {
            dims: vec![1],
            data_type: Some(10),
            raw_data: Some(vec![0, 0]),
            ..Default::default()
        };
        assert_eq!(decode(&t, None).unwrap_err().code, "E0507");
    }
}
