//! SplitMix64 (Steele, Lea, Flood 2014): the one generator behind the
//! random inputs of `nnc run` and of the built executables (`--seed`), and
//! behind nnc's deterministic weight initialization. Here, in the std-only
//! crate the runtime links, so that both sides draw the same numbers.

/// The SplitMix64 generator; the state is the public `u64`.
#[derive(Clone, Debug)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next 64-bit output.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1): the top 24 bits over 2^24 (exact in f32).
    pub fn next_unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / 16_777_216.0
    }

    /// Uniform in [-bound, bound).
    pub fn uniform(&mut self, bound: f32) -> f32 {
        (2.0 * self.next_unit() - 1.0) * bound
    }

    /// Uniform in [-1, 1): the top 24 bits times 2^-23, minus 1 (exact in
    /// f32). The random inputs of the executables and of `nnc run`.
    pub fn next_f32(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32) * (1.0 / 8_388_608.0) - 1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_first_value() {
        // SplitMix64(0)'s first output is 0xE220A8397B1DCDAF.
        assert_eq!(SplitMix64(0).next_u64(), 0xE220_A839_7B1D_CDAF);
        let top = (0xE220_A839_7B1D_CDAFu64 >> 40) as f32;
        assert_eq!(SplitMix64(0).next_f32(), top / 8_388_608.0 - 1.0);
        assert_eq!(SplitMix64(0).next_unit(), top / 16_777_216.0);
    }
}
