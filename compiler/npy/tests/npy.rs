//! `.npy` reader: exact errors for each kind of bad file, and fuzz-style
//! checks that no byte sequence makes it panic.

use nnc_npy::{self as npy, NpyError};

fn v1(header: &str, data: &[u8]) -> Vec<u8> {
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(header.len() as u16).to_le_bytes());
    b.extend_from_slice(header.as_bytes());
    b.extend_from_slice(data);
    b
}

const H: &str = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }\n";

#[test]
fn accepts_valid_variants() {
    let data: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    for h in [
        H,
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2)}",
        "{\"shape\": (2,2), \"fortran_order\": False, \"descr\": \"<f4\"}   \n",
        "{'descr':'<f4','fortran_order':False,'shape':(2L, 2L),}",
    ] {
        assert_eq!(
            npy::decode(&v1(h, &data), &[2, 2]).expect(h),
            vec![1.0, 2.0, 3.0, 4.0]
        );
    }
    // Versions 2 and 3 (4-byte header length; v3 allows UTF-8).
    for major in [2u8, 3] {
        let mut b = b"\x93NUMPY".to_vec();
        b.extend_from_slice(&[major, 0]);
        b.extend_from_slice(&(H.len() as u32).to_le_bytes());
        b.extend_from_slice(H.as_bytes());
        b.extend_from_slice(&data);
        assert_eq!(npy::decode(&b, &[2, 2]).expect("v2/v3").len(), 4);
    }
    // A large header forces version 2 in the writer.
    let big = vec![1usize; 1];
    let enc = npy::encode(&big, &[5.0]);
    assert_eq!(npy::decode(&enc, &big).unwrap(), vec![5.0]);
}

#[test]
fn exact_errors() {
    let data = [0u8; 16];
    let e = |b: &[u8]| npy::decode(b, &[2, 2]).unwrap_err();
    assert_eq!(e(b""), NpyError::Empty);
    assert_eq!(e(b"PK\x03\x04zipfile"), NpyError::BadMagic);
    assert!(matches!(e(b"\x93NUM"), NpyError::TruncatedHeader { .. }));
    assert_eq!(
        e(b"\x93NUMPY\x04\x00\x00\x00"),
        NpyError::UnsupportedVersion(4, 0)
    );
    assert_eq!(
        e(b"\x93NUMPY\x01\x01\x00\x00"),
        NpyError::UnsupportedVersion(1, 1)
    );
    assert!(matches!(
        e(b"\x93NUMPY\x01\x00\xff\x00{'descr'"),
        NpyError::TruncatedHeader {
            needed: 265,
            found: 18
        }
    ));
    assert_eq!(
        e(&v1(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }",
            &[0; 32]
        )),
        NpyError::Dtype("<f8".into(), vec![2, 2])
    );
    assert_eq!(
        e(&v1(
            "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }",
            &data
        )),
        NpyError::Dtype(">f4".into(), vec![2, 2])
    );
    assert_eq!(
        e(&v1(
            "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), }",
            &data[..4]
        )),
        NpyError::Dtype("|u1".into(), vec![2, 2])
    );
    assert!(matches!(
        e(&v1("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2, 2), }", &data)),
        NpyError::Dtype(d, _) if d.starts_with("structured")
    ));
    assert_eq!(
        e(&v1(
            "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }",
            &data
        )),
        NpyError::FortranOrder
    );
    assert_eq!(
        e(&v1(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }",
            &data
        )),
        NpyError::Shape(vec![4])
    );
    assert_eq!(
        e(&v1(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (), }",
            &data[..4]
        )),
        NpyError::Shape(vec![])
    );
    assert_eq!(
        e(&v1(H, &data[..15])),
        NpyError::TruncatedData {
            expected: 16,
            found: 15
        }
    );
    assert_eq!(
        e(&v1(H, &[0; 20])),
        NpyError::TrailingData {
            expected: 16,
            found: 20
        }
    );
    for bad in [
        "",
        "{",
        "{}",
        "[1, 2]",
        "{'descr': '<f4', 'fortran_order': False}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), 'extra': 1}",
        "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 2)}",
        "{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 2)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -2)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': [2, 2]}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999, 2)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2)} trailing",
        "{'descr: '<f4', 'fortran_order': False, 'shape': (2, 2)}",
        "{'descr': '<\\f4', 'fortran_order': False, 'shape': (2, 2)}",
    ] {
        assert!(
            matches!(e(&v1(bad, &data)), NpyError::BadHeader(_)),
            "accepted or misreported: {bad:?}: {:?}",
            e(&v1(bad, &data))
        );
    }
    // Non-ASCII header in v1.
    let mut b = v1(H, &data);
    b[20] = 0xC3;
    assert!(matches!(e(&b), NpyError::BadHeader(_)));
    // A shape whose byte size overflows is a shape mismatch, not a panic.
    let h = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {}), }}",
        usize::MAX,
        usize::MAX
    );
    assert!(npy::decode(&v1(&h, &data), &[2, 2]).is_err());
}

#[test]
fn error_messages() {
    assert_eq!(
        NpyError::Shape(vec![1, 5]).to_string(),
        "found shape [1, 5]"
    );
    assert_eq!(
        NpyError::Dtype("<f8".into(), vec![1, 4]).to_string(),
        "found dtype <f8 (float64) with shape [1, 4]"
    );
    assert_eq!(
        NpyError::TrailingData {
            expected: 16,
            found: 20
        }
        .to_string(),
        "4 unexpected bytes after the data (20 bytes after the header, expected 16)"
    );
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn fuzz_never_panics() {
    let good = npy::encode(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    // Every truncation.
    for cut in 0..good.len() {
        assert!(
            npy::decode(&good[..cut], &[2, 3]).is_err(),
            "truncated at {cut} accepted"
        );
    }
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    // Random bytes, with and without the magic.
    for i in 0..20000 {
        let len = (r.next() % 200) as usize;
        let mut b: Vec<u8> = (0..len).map(|_| r.next() as u8).collect();
        if i % 2 == 0 && b.len() >= 10 {
            b[..6].copy_from_slice(b"\x93NUMPY");
            b[6] = 1 + (r.next() % 3) as u8;
            b[7] = 0;
        }
        let _ = npy::decode(&b, &[2, 3]);
        let _ = npy::parse_header(&b);
    }
    // Mutations of a valid file: byte flips, header bytes from a Python-ish
    // alphabet, insertions and deletions.
    let alphabet = b"{}()[]',: <>f4u18TrueFalsedescrshapefortran_order\"\\\n0123456789L";
    for _ in 0..50000 {
        let mut b = good.clone();
        for _ in 0..(1 + r.next() % 4) {
            let pos = (r.next() as usize) % b.len();
            match r.next() % 4 {
                0 => b[pos] = r.next() as u8,
                1 => b[pos] = alphabet[(r.next() as usize) % alphabet.len()],
                2 => {
                    b.insert(pos, alphabet[(r.next() as usize) % alphabet.len()]);
                }
                _ => {
                    b.remove(pos);
                }
            }
            if b.is_empty() {
                break;
            }
        }
        if let Ok(v) = npy::decode(&b, &[2, 3]) {
            assert_eq!(v.len(), 6);
        }
    }
}

#[test]
fn read_into_matches_decode_on_files() {
    let dir = std::env::temp_dir().join(format!("nnc-rt-npy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("a.npy");
    let good = npy::encode(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let mut r = Rng(42);
    let mut cases: Vec<Vec<u8>> = (0..good.len()).map(|c| good[..c].to_vec()).collect();
    cases.push(good.clone());
    let mut long = good.clone();
    long.extend_from_slice(&[1, 2, 3]);
    cases.push(long);
    for _ in 0..300 {
        let mut b = good.clone();
        let pos = (r.next() as usize) % b.len();
        b[pos] = r.next() as u8;
        cases.push(b);
    }
    for b in cases {
        std::fs::write(&p, &b).unwrap();
        let mut out = vec![0f32; 6];
        let from_file = npy::read_into(&p, &[2, 3], &mut out).map(|_| out.clone());
        let from_mem = npy::decode(&b, &[2, 3]);
        assert_eq!(from_file, from_mem, "bytes {b:?}");
    }
    // A directory is an I/O error.
    let mut out = vec![0f32; 6];
    assert!(matches!(
        npy::read_into(&dir, &[2, 3], &mut out),
        Err(NpyError::Io(_))
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn atomic_write_leaves_no_temp() {
    let dir = std::env::temp_dir().join(format!("nnc-rt-npy-w-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("o.npy");
    std::fs::write(&p, b"old").unwrap();
    npy::write_atomic(&p, &npy::encode(&[1], &[2.0])).unwrap();
    assert_eq!(
        npy::decode(&std::fs::read(&p).unwrap(), &[1]).unwrap(),
        vec![2.0]
    );
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    assert!(npy::write_atomic(&dir.join("missing/o.npy"), b"x").is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn truncation_at_every_byte_and_absurd_declared_sizes() {
    let b = npy::encode(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    assert!(npy::decode(&b, &[2, 3]).is_ok());
    for cut in 0..b.len() {
        assert!(npy::decode(&b[..cut], &[2, 3]).is_err(), "cut at {cut}");
    }
    // 2^40 elements declared (and expected), 16 bytes present: a truncation
    // error computed from the header, nothing allocated for the declaration
    for shape in [vec![1usize << 40], vec![1 << 20, 1 << 20]] {
        let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
        let h = format!(
            "{{'descr': '<f4', 'fortran_order': False, 'shape': ({},), }}\n",
            dims.join(", ")
        );
        let e = npy::decode(&v1(&h, &[0u8; 16]), &shape).unwrap_err();
        assert!(matches!(e, NpyError::TruncatedData { .. }), "{e:?}");
    }
    // a product that overflows u64 bytes is an error, not a wrap-around
    let h = "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }\n";
    let shape = [1usize << 32, 1 << 32];
    assert!(npy::decode(&v1(h, &[0u8; 16]), &shape).is_err());
}
