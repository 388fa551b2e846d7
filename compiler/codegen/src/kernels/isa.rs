//! The vector ISA of the target: how many f32 lanes a vector register holds and
//! how many vector registers there are. Kernels that are written for any width
//! (the element-wise activations, [`super::vmath`]) take their width from here.
//!
//! The ISA follows the target CPU: the host's feature string when building for
//! the host, or the named CPU (`--target-cpu`). LLVM offers no query for the
//! features a CPU name implies, so named CPUs are matched against the x86 CPUs
//! with AVX-512F; anything else is treated as AVX2 (8 lanes, 16 registers), which
//! is also right for `x86-64-v3` on an AVX-512 machine.

/// Vector width and register count of a target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Isa {
    /// f32 lanes per vector register (8 = AVX2, 16 = AVX-512).
    pub lanes: u32,
    /// Architectural vector registers (16 ymm, 32 zmm).
    pub vregs: u32,
}

/// AVX2 + FMA.
pub const AVX2: Isa = Isa {
    lanes: 8,
    vregs: 16,
};

/// AVX-512F.
pub const AVX512: Isa = Isa {
    lanes: 16,
    vregs: 32,
};

/// x86 CPU names (LLVM 19) that have AVX-512F.
const AVX512_CPUS: &[&str] = &[
    "x86-64-v4",
    "knl",
    "knm",
    "skylake-avx512",
    "skx",
    "cascadelake",
    "cooperlake",
    "cannonlake",
    "icelake-client",
    "icelake-server",
    "rocketlake",
    "tigerlake",
    "sapphirerapids",
    "emeraldrapids",
    "graniterapids",
    "graniterapids-d",
    "diamondrapids",
    "znver4",
    "znver5",
];

impl Isa {
    /// The ISA of `cpu` with the explicit `features` (e.g. `+avx512f,-avx512bw`;
    /// an explicit `-avx512f` wins over the CPU name).
    pub fn of(cpu: &str, features: &str) -> Isa {
        let has = |f: &str| features.split(',').any(|x| x == f);
        if has("-avx512f") {
            return AVX2;
        }
        if has("+avx512f") || AVX512_CPUS.contains(&cpu) {
            return AVX512;
        }
        AVX2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isa_follows_the_target() {
        assert_eq!(Isa::of("x86-64-v3", ""), AVX2);
        assert_eq!(Isa::of("znver3", ""), AVX2);
        assert_eq!(Isa::of("skylake-avx512", ""), AVX512);
        assert_eq!(Isa::of("znver4", ""), AVX512);
        assert_eq!(Isa::of("sapphirerapids", "+avx,+avx512f,+fma"), AVX512);
        assert_eq!(Isa::of("whatever", "+avx2,+avx512f"), AVX512);
        assert_eq!(Isa::of("skylake-avx512", "-avx512f"), AVX2);
    }
}
