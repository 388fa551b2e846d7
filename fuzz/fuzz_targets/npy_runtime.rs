//! Fuzz target: the executables' `.npy` reader (`nnc_runtime::npy`) never
//! panics on any bytes, both for the header alone and for a whole file
//! checked against a fixed shape; the shape it accepts is the shape asked
//! for, and an accepted file round-trips through `encode`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nnc_runtime::npy;

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = npy::parse_header(data) {
        let _ = npy::check_header(&h, &h.shape.clone());
    }
    for shape in [&[2usize, 3][..], &[1][..], &[][..]] {
        if let Ok(v) = npy::decode(data, shape) {
            assert_eq!(v.len(), shape.iter().product::<usize>());
            let again = npy::decode(&npy::encode(shape, &v), shape).expect("round trip");
            let bits = |d: &[f32]| d.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&v), bits(&again));
        }
    }
});
