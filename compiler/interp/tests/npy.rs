//! Corrupt `.npy` files on the compiler's reader (`nnc_interp::npy`, that
//! is `nnc-tensor` on `nnc-npy`, used by `nnc run` and, for `nnc-npy`, by
//! the executables): every class is an error with a message, never a panic,
//! and a declared size is never allocated before the bytes are there.

use nnc_interp::npy::{decode, input_error, read_npy, write_npy};
use nnc_interp::Tensor;
use std::path::Path;

/// The message `nnc run` gives for `bytes` as the input `x` of shape `shape`.
fn input_err(bytes: &[u8], shape: &[usize]) -> String {
    let e = decode(bytes, shape).expect_err("must be rejected");
    input_error("x", Path::new("x.npy"), shape, &e)
}

fn v1(header: &str, data: &[u8]) -> Vec<u8> {
    let mut h = header.to_string();
    while !(10 + h.len() + 1).is_multiple_of(64) {
        h.push(' ');
    }
    h.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(h.len() as u16).to_le_bytes());
    b.extend_from_slice(h.as_bytes());
    b.extend_from_slice(data);
    b
}

fn err(bytes: &[u8]) -> String {
    read_npy(bytes).expect_err("must be rejected").to_string()
}

#[test]
fn truncation_at_every_byte_is_an_error() {
    let t = Tensor::new(vec![2, 3], (0..6).map(|i| i as f32).collect()).unwrap();
    let b = write_npy(&t);
    assert_eq!(read_npy(&b).unwrap(), t);
    for cut in 0..b.len() {
        assert!(read_npy(&b[..cut]).is_err(), "cut at {cut} accepted");
    }
    let mut long = b.clone();
    long.push(0);
    assert!(err(&long).contains("after the data"));
}

#[test]
fn bad_headers_are_errors() {
    let d = [0u8; 16];
    for (bytes, want) in [
        (b"NUMPY\x01\x00".to_vec(), "not a .npy file"),
        (b"\x93NUMPY\x07\x00\x10\x00{}".to_vec(), "version"),
        (b"\x93NUMPY\x01\x00\xff\xff{'descr'".to_vec(), "truncated"),
        (b"\x93NUMPY\x02\x00\xff\xff\xff\xff{}".to_vec(), "too large"),
        (
            v1(
                "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }",
                &d,
            )[..12]
                .to_vec(),
            "truncated",
        ),
        (
            v1("{'fortran_order': False, 'shape': (2, 2), }", &d),
            "descr",
        ),
        (
            v1("{'descr': '<f4', 'shape': (2, 2), }", &d),
            "fortran_order",
        ),
        (
            v1(
                "{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 2), }",
                &d,
            ),
            "fortran_order",
        ),
        (
            v1("{'descr': '<f4', 'fortran_order': False, }", &d),
            "shape",
        ),
        (
            v1(
                "{'descr': '<f4', 'fortran_order': False, 'shape': [2, 2], }",
                &d,
            ),
            "tuple",
        ),
        (
            v1(
                "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -2), }",
                &d,
            ),
            "dimension",
        ),
        (
            v1(
                "{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }",
                &d,
            ),
            "dimension",
        ),
    ] {
        let e = err(&bytes);
        assert!(e.contains(want), "{want}: {e}");
    }
    // invalid UTF-8 in the header
    let mut b = v1(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }",
        &d,
    );
    b[12] = 0xff;
    assert!(err(&b).contains("not ASCII"));
}

#[test]
fn wrong_dtypes_and_order_are_errors() {
    let d = [0u8; 32];
    for descr in ["<f8", ">f4", "|u1", "<i4", "<f2", "[('a', '<f4')]"] {
        let b = v1(
            &format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (2, 2), }}"),
            &d[..16],
        );
        // (the quoted structured dtype is not even a valid header)
        let e = err(&b);
        assert!(
            e.contains("found dtype") || e.contains("malformed"),
            "{descr}: {e}"
        );
        let e = input_err(&b, &[2, 2]);
        assert!(e.contains("input `x`") && e.contains("<f4"), "{e}");
    }
    let b = v1(
        "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }",
        &d[..16],
    );
    assert!(err(&b).contains("fortran_order True"));
}

#[test]
fn absurd_and_overflowing_shapes_are_not_allocated() {
    // 2^40 elements declared, 16 bytes present: a size error, no 4 TiB
    // allocation (which would abort the test)
    for shape in [
        "(1099511627776,)",
        "(1048576, 1048576)",
        "(4294967296, 4294967296)",
        "(18446744073709551615, 2)",
        "(99999999999999999999999, 2)",
    ] {
        let b = v1(
            &format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}"),
            &[0u8; 16],
        );
        assert!(read_npy(&b).is_err(), "{shape}");
        assert!(decode(&b, &[2, 2]).is_err());
    }
    // a shape mismatch names both shapes
    let b = v1(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 4), }",
        &[0u8; 16],
    );
    let e = input_err(&b, &[2, 2]);
    assert!(e.contains("[2, 2]") && e.contains("[1, 4]"), "{e}");
}

#[test]
fn duplicated_keys_are_errors() {
    let d = [0u8; 16];
    for h in [
        "{'descr': '<f4', 'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), 'shape': (4,), }",
        "{'descr': '<f4', 'fortran_order': False, 'fortran_order': True, 'shape': (2, 2), }",
    ] {
        let e = err(&v1(h, &d));
        assert!(e.contains("twice"), "{h}: {e}");
    }
}
