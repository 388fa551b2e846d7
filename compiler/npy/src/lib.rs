//! nnc-npy: the one reader and writer of `.npy` files (format versions 1.0,
//! 2.0 and 3.0) used by `nnc run`, the interpreter's tests and fixtures, and
//! the runtime of the built executables, so that all of them accept and
//! reject exactly the same files.
//!
//! Only little-endian float32 (`<f4`) in C order is accepted; everything
//! else is rejected with a message saying what was expected and what was
//! found. The parser never panics, whatever the bytes.
//!
//! Standard library only and no dependencies: `nnc`'s build script compiles
//! this crate with a plain `rustc` call into the runtime archive.
//! [`atomic`] holds the write-to-a-temporary-then-rename helpers, [`rng`]
//! the SplitMix64 generator of the random inputs and weights.

pub mod atomic;
pub mod rng;

pub use atomic::{commit_temp, resolve_links, write_atomic, write_temp};

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// The six magic bytes every `.npy` file starts with.
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Largest header accepted (numpy itself refuses more than 10000 bytes by
/// default).
pub const MAX_HEADER: usize = 1 << 20;

/// The parsed header of a `.npy` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Format major version (1, 2 or 3).
    pub major: u8,
    /// The `descr` value, e.g. `<f4`, or a description of a non-string
    /// (structured) dtype.
    pub descr: String,
    /// The `fortran_order` value.
    pub fortran_order: bool,
    /// The `shape` value.
    pub shape: Vec<usize>,
    /// Offset of the first data byte.
    pub data_offset: usize,
}

/// Why a `.npy` file cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NpyError {
    /// The file is empty.
    Empty,
    /// The file does not start with `\x93NUMPY`.
    BadMagic,
    /// The file ends inside the fixed preamble or the header.
    TruncatedHeader {
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        found: usize,
    },
    /// A format version other than 1.0, 2.0, 3.0.
    UnsupportedVersion(u8, u8),
    /// The header is larger than [`MAX_HEADER`].
    HeaderTooLarge(usize),
    /// The header dictionary cannot be parsed.
    BadHeader(String),
    /// A dtype other than `<f4` (and the shape found with it).
    Dtype(String, Vec<usize>),
    /// `fortran_order` is True.
    FortranOrder,
    /// Shape differs from the expected one.
    Shape(Vec<usize>),
    /// Fewer data bytes than the header's shape needs.
    TruncatedData {
        /// Bytes expected.
        expected: u64,
        /// Bytes present.
        found: u64,
    },
    /// More data bytes than the header's shape needs.
    TrailingData {
        /// Bytes expected.
        expected: u64,
        /// Bytes present.
        found: u64,
    },
    /// The array exceeds a size limit of the reader (or memory).
    Limit(String),
    /// The file could not be read or written.
    Io(String),
}

/// Formats a shape as `[1, 3, 224, 224]`.
pub fn fmt_shape(shape: &[usize]) -> String {
    let mut s = String::from("[");
    for (i, d) in shape.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(&d.to_string());
    }
    s.push(']');
    s
}

/// The message for a bad input file `path` of the input `name` of shape
/// `shape`: the same words from `nnc run` and from a built executable.
pub fn input_error(name: &str, path: &Path, shape: &[usize], e: &NpyError) -> String {
    match e {
        NpyError::Io(_) | NpyError::Limit(_) => {
            format!("input `{name}` (`{}`): {e}", path.display())
        }
        _ => format!(
            "input `{name}` (`{}`): expected float32 (<f4, C order) of shape {}; {e}",
            path.display(),
            fmt_shape(shape)
        ),
    }
}

/// Human name of a numpy dtype string, for messages.
pub fn dtype_name(descr: &str) -> String {
    let (order, code) = match descr.as_bytes().first() {
        Some(b'<') | Some(b'>') | Some(b'|') | Some(b'=') => (&descr[..1], &descr[1..]),
        _ => ("", descr),
    };
    let base = match code {
        "f2" | "e" => "float16",
        "f4" | "f" => "float32",
        "f8" | "d" => "float64",
        "f16" | "g" => "float128",
        "i1" | "b" => "int8",
        "i2" | "h" => "int16",
        "i4" | "i" => "int32",
        "i8" | "q" | "l" => "int64",
        "u1" | "B" => "uint8",
        "u2" | "H" => "uint16",
        "u4" | "I" => "uint32",
        "u8" | "Q" | "L" => "uint64",
        "b1" | "?" => "bool",
        "c8" => "complex64",
        "c16" => "complex128",
        "O" => "object",
        _ => return format!("`{descr}`"),
    };
    match order {
        ">" if code != "u1" && code != "i1" && code != "b1" => {
            format!("{descr} (big-endian {base})")
        }
        _ => format!("{descr} ({base})"),
    }
}

impl fmt::Display for NpyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NpyError::Empty => write!(f, "empty file (not a .npy file)"),
            NpyError::BadMagic => write!(f, "not a .npy file (missing the \\x93NUMPY magic)"),
            NpyError::TruncatedHeader { needed, found } => write!(
                f,
                "truncated .npy header ({found} bytes, the header needs {needed})"
            ),
            NpyError::UnsupportedVersion(a, b) => {
                write!(f, "unsupported .npy format version {a}.{b} (1.0, 2.0 and 3.0 are supported)")
            }
            NpyError::HeaderTooLarge(n) => write!(f, ".npy header of {n} bytes is too large"),
            NpyError::BadHeader(m) => write!(f, "malformed .npy header: {m}"),
            NpyError::Dtype(d, s) => write!(
                f,
                "found dtype {} with shape {}",
                dtype_name(d),
                fmt_shape(s)
            ),
            NpyError::FortranOrder => write!(f, "found fortran_order True (only C order is supported)"),
            NpyError::Shape(s) => write!(f, "found shape {}", fmt_shape(s)),
            NpyError::TruncatedData { expected, found } => write!(
                f,
                "truncated data: {found} bytes after the header, expected {expected}"
            ),
            NpyError::TrailingData { expected, found } => write!(
                f,
                "{} unexpected bytes after the data ({found} bytes after the header, expected {expected})",
                found - expected
            ),
            NpyError::Limit(m) | NpyError::Io(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for NpyError {}

/// Length of the fixed preamble (magic, version, header length) for a
/// version, or an error.
fn preamble_len(major: u8, minor: u8) -> Result<usize, NpyError> {
    match (major, minor) {
        (1, 0) => Ok(10),
        (2, 0) | (3, 0) => Ok(12),
        _ => Err(NpyError::UnsupportedVersion(major, minor)),
    }
}

/// Parses the preamble and header from the first bytes of a file. `prefix`
/// may be the whole file or just enough of its start.
pub fn parse_header(prefix: &[u8]) -> Result<Header, NpyError> {
    let magic_len = MAGIC.len();
    if prefix.is_empty() {
        return Err(NpyError::Empty);
    }
    if prefix.len() < magic_len || &prefix[..magic_len] != MAGIC {
        // A short prefix of the magic is still "not a .npy file" unless it
        // matches so far.
        if prefix.len() < magic_len && MAGIC.starts_with(prefix) && !prefix.is_empty() {
            return Err(NpyError::TruncatedHeader {
                needed: 10,
                found: prefix.len(),
            });
        }
        return Err(NpyError::BadMagic);
    }
    if prefix.len() < 8 {
        return Err(NpyError::TruncatedHeader {
            needed: 10,
            found: prefix.len(),
        });
    }
    let (major, minor) = (prefix[6], prefix[7]);
    let pre = preamble_len(major, minor)?;
    if prefix.len() < pre {
        return Err(NpyError::TruncatedHeader {
            needed: pre,
            found: prefix.len(),
        });
    }
    let hlen = if pre == 10 {
        u16::from_le_bytes([prefix[8], prefix[9]]) as usize
    } else {
        let n = u32::from_le_bytes([prefix[8], prefix[9], prefix[10], prefix[11]]);
        usize::try_from(n).map_err(|_| NpyError::HeaderTooLarge(usize::MAX))?
    };
    if hlen > MAX_HEADER {
        return Err(NpyError::HeaderTooLarge(hlen));
    }
    let end = pre + hlen;
    if prefix.len() < end {
        return Err(NpyError::TruncatedHeader {
            needed: end,
            found: prefix.len(),
        });
    }
    let raw = &prefix[pre..end];
    let text = if major == 3 {
        std::str::from_utf8(raw).map_err(|_| NpyError::BadHeader("header is not UTF-8".into()))?
    } else {
        if !raw.is_ascii() {
            return Err(NpyError::BadHeader("header is not ASCII".into()));
        }
        std::str::from_utf8(raw).map_err(|_| NpyError::BadHeader("header is not ASCII".into()))?
    };
    let (descr, fortran_order, shape) = parse_dict(text)?;
    Ok(Header {
        major,
        descr,
        fortran_order,
        shape,
        data_offset: end,
    })
}

/// A value of the header dictionary.
enum Value {
    Str(String),
    Bool(bool),
    Tuple(Vec<usize>),
    Other(String),
}

struct Lexer<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn skip_ws(&mut self) {
        while self.pos < self.s.len() && matches!(self.s[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
    }
    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.s.get(self.pos).copied()
    }
    fn expect(&mut self, c: u8) -> Result<(), NpyError> {
        match self.peek() {
            Some(x) if x == c => {
                self.pos += 1;
                Ok(())
            }
            Some(x) => Err(NpyError::BadHeader(format!(
                "expected `{}` at byte {}, found `{}`",
                c as char,
                self.pos,
                (x as char).escape_default()
            ))),
            None => Err(NpyError::BadHeader(format!(
                "expected `{}`, found the end",
                c as char
            ))),
        }
    }
    fn string(&mut self) -> Result<String, NpyError> {
        let q = match self.peek() {
            Some(q @ (b'\'' | b'"')) => q,
            _ => {
                return Err(NpyError::BadHeader(format!(
                    "expected a string at byte {}",
                    self.pos
                )))
            }
        };
        self.pos += 1;
        let start = self.pos;
        while self.pos < self.s.len() && self.s[self.pos] != q {
            if self.s[self.pos] == b'\\' {
                return Err(NpyError::BadHeader(
                    "escapes in strings are not supported".into(),
                ));
            }
            self.pos += 1;
        }
        if self.pos >= self.s.len() {
            return Err(NpyError::BadHeader("unterminated string".into()));
        }
        let v = String::from_utf8_lossy(&self.s[start..self.pos]).into_owned();
        self.pos += 1;
        Ok(v)
    }
    fn word(&mut self) -> String {
        self.skip_ws();
        let start = self.pos;
        while self.pos < self.s.len()
            && (self.s[self.pos].is_ascii_alphanumeric() || self.s[self.pos] == b'_')
        {
            self.pos += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.pos]).into_owned()
    }
    fn int(&mut self) -> Result<usize, NpyError> {
        let w = self.word();
        let digits = w.strip_suffix('L').unwrap_or(&w);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(NpyError::BadHeader(format!(
                "invalid dimension `{w}` in shape"
            )));
        }
        digits
            .parse::<usize>()
            .map_err(|_| NpyError::BadHeader(format!("dimension `{w}` is too large")))
    }
    /// Skips a balanced bracketed value (a structured dtype list), returning
    /// its text.
    fn skip_balanced(&mut self) -> Result<String, NpyError> {
        self.skip_ws();
        let start = self.pos;
        let mut depth: usize = 0;
        while self.pos < self.s.len() {
            match self.s[self.pos] {
                b'[' | b'(' | b'{' => depth += 1,
                b']' | b')' | b'}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        self.pos += 1;
                        return Ok(String::from_utf8_lossy(&self.s[start..self.pos]).into_owned());
                    }
                }
                _ => {}
            }
            self.pos += 1;
        }
        Err(NpyError::BadHeader("unbalanced brackets".into()))
    }
    fn value(&mut self) -> Result<Value, NpyError> {
        match self.peek() {
            Some(b'\'' | b'"') => Ok(Value::Str(self.string()?)),
            Some(b'(') => {
                self.pos += 1;
                let mut dims = Vec::new();
                loop {
                    if self.peek() == Some(b')') {
                        self.pos += 1;
                        break;
                    }
                    dims.push(self.int()?);
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b')') => {
                            self.pos += 1;
                            // `(5)` is the int 5 in Python, not a tuple.
                            if dims.len() == 1 {
                                return Err(NpyError::BadHeader(
                                    "shape `(n)` is not a tuple".into(),
                                ));
                            }
                            break;
                        }
                        _ => return Err(NpyError::BadHeader("malformed shape tuple".into())),
                    }
                }
                Ok(Value::Tuple(dims))
            }
            Some(b'[') => Ok(Value::Other(self.skip_balanced()?)),
            Some(_) => {
                let w = self.word();
                match w.as_str() {
                    "True" => Ok(Value::Bool(true)),
                    "False" => Ok(Value::Bool(false)),
                    "" => Err(NpyError::BadHeader(format!(
                        "unexpected character at byte {}",
                        self.pos
                    ))),
                    _ => Ok(Value::Other(w)),
                }
            }
            None => Err(NpyError::BadHeader("unexpected end of header".into())),
        }
    }
}

fn parse_dict(text: &str) -> Result<(String, bool, Vec<usize>), NpyError> {
    let mut lx = Lexer {
        s: text.as_bytes(),
        pos: 0,
    };
    lx.expect(b'{')?;
    let mut descr: Option<String> = None;
    let mut fortran: Option<bool> = None;
    let mut shape: Option<Vec<usize>> = None;
    loop {
        if lx.peek() == Some(b'}') {
            lx.pos += 1;
            break;
        }
        let key = lx.string()?;
        lx.expect(b':')?;
        let v = lx.value()?;
        match key.as_str() {
            "descr" => {
                if descr.is_some() {
                    return Err(NpyError::BadHeader("`descr` given twice".into()));
                }
                descr = Some(match v {
                    Value::Str(s) => s,
                    Value::Other(s) => format!("structured {s}"),
                    _ => return Err(NpyError::BadHeader("`descr` is not a string".into())),
                });
            }
            "fortran_order" => {
                if fortran.is_some() {
                    return Err(NpyError::BadHeader("`fortran_order` given twice".into()));
                }
                fortran = Some(match v {
                    Value::Bool(b) => b,
                    _ => {
                        return Err(NpyError::BadHeader(
                            "`fortran_order` is not True or False".into(),
                        ))
                    }
                });
            }
            "shape" => {
                if shape.is_some() {
                    return Err(NpyError::BadHeader("`shape` given twice".into()));
                }
                shape = Some(match v {
                    Value::Tuple(t) => t,
                    _ => {
                        return Err(NpyError::BadHeader(
                            "`shape` is not a tuple of integers".into(),
                        ))
                    }
                });
            }
            other => {
                return Err(NpyError::BadHeader(format!(
                    "unexpected key `{}`",
                    other.escape_default()
                )))
            }
        }
        match lx.peek() {
            Some(b',') => lx.pos += 1,
            Some(b'}') => {}
            _ => {
                return Err(NpyError::BadHeader(
                    "expected `,` or `}` in the header dictionary".into(),
                ))
            }
        }
    }
    // Only whitespace may follow the dictionary.
    if lx.peek().is_some() {
        return Err(NpyError::BadHeader(
            "unexpected text after the header dictionary".into(),
        ));
    }
    match (descr, fortran, shape) {
        (Some(d), Some(f), Some(s)) => Ok((d, f, s)),
        (d, f, s) => {
            let mut missing = Vec::new();
            if d.is_none() {
                missing.push("descr");
            }
            if f.is_none() {
                missing.push("fortran_order");
            }
            if s.is_none() {
                missing.push("shape");
            }
            Err(NpyError::BadHeader(format!(
                "missing key(s): {}",
                missing.join(", ")
            )))
        }
    }
}

/// Checks a parsed header against the accepted dtype/order and the expected
/// shape, returning the expected number of data bytes.
pub fn check_header(h: &Header, expected_shape: &[usize]) -> Result<u64, NpyError> {
    if h.descr != "<f4" {
        return Err(NpyError::Dtype(h.descr.clone(), h.shape.clone()));
    }
    if h.fortran_order {
        // A Fortran-ordered array of rank ≤ 1 (or with all but one dim 1) has
        // the same bytes as C order, but numpy never writes such files for
        // C-contiguous arrays; reject uniformly.
        return Err(NpyError::FortranOrder);
    }
    if h.shape != expected_shape {
        return Err(NpyError::Shape(h.shape.clone()));
    }
    let mut n: u64 = 4;
    for &d in &h.shape {
        n = n
            .checked_mul(d as u64)
            .ok_or(NpyError::Shape(h.shape.clone()))?;
    }
    Ok(n)
}

/// Decodes a whole `.npy` file held in memory, checking it is `<f4`, C order,
/// of exactly `expected_shape`, with no missing or extra data.
pub fn decode(bytes: &[u8], expected_shape: &[usize]) -> Result<Vec<f32>, NpyError> {
    let h = parse_header(bytes)?;
    let need = check_header(&h, expected_shape)?;
    let data = &bytes[h.data_offset..];
    check_len(need, data.len() as u64)?;
    let mut out = vec![0f32; data.len() / 4];
    fill_f32(&mut out, data);
    Ok(out)
}

/// Decodes a whole `.npy` file held in memory whatever its shape (the
/// same rules as [`decode`] otherwise), returning the shape and the data.
pub fn decode_any(bytes: &[u8]) -> Result<(Vec<usize>, Vec<f32>), NpyError> {
    let h = parse_header(bytes)?;
    let data = decode(bytes, &h.shape)?;
    Ok((h.shape, data))
}

/// Reads the `.npy` file `path`, which must be float32 in C order of
/// exactly `expected_shape`: [`read_into`] a fresh buffer.
pub fn read_file(path: &Path, expected_shape: &[usize]) -> Result<Vec<f32>, NpyError> {
    let n = expected_shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .filter(|n| n.checked_mul(4).is_some())
        .ok_or_else(|| NpyError::Limit("the input has too many elements".into()))?;
    let mut out = Vec::new();
    out.try_reserve_exact(n)
        .map_err(|_| NpyError::Limit(format!("cannot allocate {n} floats")))?;
    out.resize(n, 0.0);
    read_into(path, expected_shape, &mut out)?;
    Ok(out)
}

fn check_len(expected: u64, found: u64) -> Result<(), NpyError> {
    if found < expected {
        Err(NpyError::TruncatedData { expected, found })
    } else if found > expected {
        Err(NpyError::TrailingData { expected, found })
    } else {
        Ok(())
    }
}

/// Converts little-endian bytes to f32 (`data.len()` = 4 × `out.len()`).
fn fill_f32(out: &mut [f32], data: &[u8]) {
    for (o, c) in out.iter_mut().zip(data.chunks_exact(4)) {
        *o = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    }
}

/// Reads a `.npy` file of exactly `expected_shape` into `out` (which has
/// the shape's element count). A regular file is checked against its size
/// first (a huge wrong file is rejected without reading it); a pipe is read
/// up to the largest valid size.
pub fn read_into(path: &Path, expected_shape: &[usize], out: &mut [f32]) -> Result<(), NpyError> {
    let mut f = File::open(path).map_err(|e| NpyError::Io(format!("cannot open: {e}")))?;
    let md = f
        .metadata()
        .map_err(|e| NpyError::Io(format!("cannot read: {e}")))?;
    if md.is_dir() {
        return Err(NpyError::Io("is a directory".into()));
    }
    if !md.is_file() {
        // A pipe or device (`/dev/stdin`): no size to check up front; read
        // at most what a valid file could hold, plus one byte.
        let limit = (out.len() as u64)
            .saturating_mul(4)
            .saturating_add(MAX_HEADER as u64 + 13);
        let mut buf = Vec::new();
        f.take(limit)
            .read_to_end(&mut buf)
            .map_err(|e| NpyError::Io(format!("cannot read: {e}")))?;
        let v = decode(&buf, expected_shape)?;
        if v.len() != out.len() {
            return Err(NpyError::Io("internal: buffer size mismatch".into()));
        }
        out.copy_from_slice(&v);
        return Ok(());
    }
    let file_len = md.len();
    // Read the preamble, then as much of the header as it announces.
    let mut prefix = Vec::new();
    read_up_to(&mut f, &mut prefix, 12usize.min(file_len as usize))?;
    let mut header = parse_header(&prefix);
    for _ in 0..2 {
        match header {
            Err(NpyError::TruncatedHeader { needed, .. }) if needed > prefix.len() => {
                if needed as u64 > file_len {
                    return Err(NpyError::TruncatedHeader {
                        needed,
                        found: file_len as usize,
                    });
                }
                read_up_to(&mut f, &mut prefix, needed)?;
                header = parse_header(&prefix);
            }
            _ => break,
        }
    }
    let header = header?;
    let need = check_header(&header, expected_shape)?;
    let avail = file_len.saturating_sub(header.data_offset as u64);
    check_len(need, avail)?;
    if need != (out.len() as u64) * 4 {
        return Err(NpyError::Io("internal: buffer size mismatch".into()));
    }
    // Bytes of the data already read into `prefix` (none in practice).
    let already = prefix.len().saturating_sub(header.data_offset);
    let mut data = Vec::with_capacity(need as usize);
    data.extend_from_slice(&prefix[header.data_offset.min(prefix.len())..]);
    let rest = (need as usize).saturating_sub(already);
    let mut buf = vec![0u8; rest];
    f.read_exact(&mut buf)
        .map_err(|e| NpyError::Io(format!("cannot read the data: {e}")))?;
    data.extend_from_slice(&buf);
    // The file may have grown or shrunk while reading: check the end.
    let mut extra = [0u8; 1];
    match f.read(&mut extra) {
        Ok(0) => {}
        Ok(_) => {
            return Err(NpyError::TrailingData {
                expected: need,
                found: need + 1,
            })
        }
        Err(e) => return Err(NpyError::Io(format!("cannot read: {e}"))),
    }
    fill_f32(out, &data);
    Ok(())
}

fn read_up_to(f: &mut File, buf: &mut Vec<u8>, total: usize) -> Result<(), NpyError> {
    if buf.len() >= total {
        return Ok(());
    }
    let mut more = vec![0u8; total - buf.len()];
    f.read_exact(&mut more)
        .map_err(|e| NpyError::Io(format!("cannot read: {e}")))?;
    buf.extend_from_slice(&more);
    Ok(())
}

/// Encodes an f32 array as a `.npy` file (version 1.0, or 2.0 if the header
/// does not fit in 65535 bytes). The header is padded with spaces and ends
/// with `\n` so that the data starts at a multiple of 64 bytes.
pub fn encode(shape: &[usize], data: &[f32]) -> Vec<u8> {
    let mut dict = String::from("{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (i, d) in shape.iter().enumerate() {
        if i > 0 {
            dict.push_str(", ");
        }
        dict.push_str(&d.to_string());
    }
    if shape.len() == 1 {
        dict.push(',');
    }
    dict.push_str("), }");
    let mut out = Vec::with_capacity(dict.len() + 128 + data.len() * 4);
    let v1_total = 10 + dict.len() + 1;
    if v1_total.div_ceil(64) * 64 - 10 <= u16::MAX as usize {
        let pad = v1_total.div_ceil(64) * 64 - v1_total;
        let hlen = dict.len() + pad + 1;
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(hlen as u16).to_le_bytes());
        out.extend_from_slice(dict.as_bytes());
        out.extend(std::iter::repeat_n(b' ', pad));
        out.push(b'\n');
    } else {
        let total = 12 + dict.len() + 1;
        let pad = total.div_ceil(64) * 64 - total;
        let hlen = dict.len() + pad + 1;
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&[2, 0]);
        out.extend_from_slice(&(hlen as u32).to_le_bytes());
        out.extend_from_slice(dict.as_bytes());
        out.extend(std::iter::repeat_n(b' ', pad));
        out.push(b'\n');
    }
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_shapes() {
        for shape in [vec![], vec![3], vec![1, 4], vec![2, 3, 4, 5]] {
            let n: usize = shape.iter().product();
            let data: Vec<f32> = (0..n).map(|i| i as f32 * 0.5 - 1.0).collect();
            let bytes = encode(&shape, &data);
            let h = parse_header(&bytes).expect("header");
            assert_eq!(h.data_offset % 64, 0);
            assert_eq!(h.shape, shape);
            assert_eq!(decode(&bytes, &shape).expect("decode"), data);
        }
    }

    #[test]
    fn shape_text() {
        let b = encode(&[3], &[1.0, 2.0, 3.0]);
        let s = String::from_utf8_lossy(&b[10..]);
        assert!(s.contains("'shape': (3,)"), "{s}");
        let b = encode(&[], &[1.0]);
        assert!(String::from_utf8_lossy(&b[10..]).contains("'shape': ()"));
    }

    #[test]
    fn dtype_names() {
        assert_eq!(dtype_name("<f8"), "<f8 (float64)");
        assert_eq!(dtype_name(">f4"), ">f4 (big-endian float32)");
        assert_eq!(dtype_name("|u1"), "|u1 (uint8)");
        assert_eq!(dtype_name("<x9"), "`<x9`");
    }
}
