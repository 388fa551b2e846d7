//! Fuzz target: the compiler's `.npy`-as-tensor layer (`nnc_interp::npy`,
//! which is `nnc-tensor` on the one reader `nnc-npy`) never panics and never allocates what a header merely
//! declares. An accepted file round-trips: writing the tensor back and
//! reading it again gives the same shape and bits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nnc_interp::npy;

fuzz_target!(|data: &[u8]| {
    let _ = npy::parse_header(data);
    let _ = npy::decode(data, &[2, 3]);
    if let Ok(t) = npy::read_npy(data) {
        let again = npy::read_npy(&npy::write_npy(&t)).expect("a written file reads back");
        assert_eq!(t.shape(), again.shape());
        let bits = |d: &[f32]| d.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(t.data()), bits(again.data()));
    }
});
