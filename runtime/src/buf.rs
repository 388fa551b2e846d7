//! 64-byte-aligned zeroed buffers (the activation arena and the input and
//! output tensors), allocated once.

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::fmt;
use std::ptr::NonNull;

/// Alignment of every buffer handed to the generated code.
pub const ALIGN: usize = 64;

/// Why a buffer cannot be allocated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllocError {
    /// This many bytes do not make a valid layout.
    TooLarge(usize),
    /// This many floats do not fit in `usize` bytes.
    TooManyFloats(usize),
    /// The allocator refused this many bytes.
    OutOfMemory(usize),
}

impl fmt::Display for AllocError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AllocError::TooLarge(b) => write!(f, "cannot allocate {b} bytes: too large"),
            AllocError::TooManyFloats(n) => write!(f, "cannot allocate {n} floats: too large"),
            AllocError::OutOfMemory(b) => write!(f, "out of memory allocating {b} bytes"),
        }
    }
}

impl std::error::Error for AllocError {}

/// A zero-initialised heap buffer aligned to [`ALIGN`] bytes.
pub struct AlignedBuf {
    ptr: NonNull<u8>,
    bytes: usize,
    layout: Layout,
}

// The buffer is plain memory owned by this value.
unsafe impl Send for AlignedBuf {}
unsafe impl Sync for AlignedBuf {}

impl AlignedBuf {
    /// Allocates `bytes` zeroed bytes (at least one cache line, so the
    /// pointer is always valid and distinct). Fails on overflow or when the
    /// allocator refuses.
    pub fn zeroed(bytes: usize) -> Result<AlignedBuf, AllocError> {
        let size = bytes
            .checked_add(ALIGN - 1)
            .map(|b| (b / ALIGN).max(1) * ALIGN)
            .ok_or(AllocError::TooLarge(bytes))?;
        let layout =
            Layout::from_size_align(size, ALIGN).map_err(|_| AllocError::TooLarge(bytes))?;
        // SAFETY: layout has a non-zero size.
        let p = unsafe { alloc_zeroed(layout) };
        let ptr = NonNull::new(p).ok_or(AllocError::OutOfMemory(bytes))?;
        Ok(AlignedBuf { ptr, bytes, layout })
    }

    /// Allocates room for `elems` f32 values.
    pub fn zeroed_f32(elems: usize) -> Result<AlignedBuf, AllocError> {
        let bytes = elems
            .checked_mul(4)
            .ok_or(AllocError::TooManyFloats(elems))?;
        AlignedBuf::zeroed(bytes)
    }

    /// Requested size in bytes.
    pub fn len(&self) -> usize {
        self.bytes
    }

    /// True when the requested size is 0.
    pub fn is_empty(&self) -> bool {
        self.bytes == 0
    }

    /// The start of the buffer.
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// The start of the buffer, read-only.
    pub fn as_ptr(&self) -> *const u8 {
        self.ptr.as_ptr()
    }

    /// The buffer as f32 values (`len() / 4` of them).
    pub fn as_f32(&self) -> &[f32] {
        // SAFETY: aligned, zero-initialised, and every bit pattern is an f32.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr() as *const f32, self.bytes / 4) }
    }

    /// The buffer as mutable f32 values.
    pub fn as_f32_mut(&mut self) -> &mut [f32] {
        // SAFETY: as in `as_f32`, and `&mut self` is exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr() as *mut f32, self.bytes / 4) }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        // SAFETY: allocated with this layout in `zeroed`.
        unsafe { dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

/// The generator of the random inputs: SplitMix64 (Steele, Lea, Flood 2014).
/// Each value is `(next() >> 40) * 2^-23 - 1`, i.e. the top 24 bits mapped
/// uniformly onto [-1, 1) (exact in f32). One stream seeded with `--seed`
/// fills the inputs in meta order, each in C order. The same generator as
/// nnc's (`nnc_npy::rng`).
pub use nnc_npy::rng::SplitMix64;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_and_zeroed() {
        for n in [0usize, 1, 63, 64, 65, 4096] {
            let mut b = AlignedBuf::zeroed(n).expect("alloc");
            assert_eq!(b.as_mut_ptr() as usize % ALIGN, 0);
            assert_eq!(b.len(), n);
            assert!(b.as_f32().iter().all(|&v| v == 0.0));
        }
        assert!(AlignedBuf::zeroed(usize::MAX).is_err());
        assert!(AlignedBuf::zeroed_f32(usize::MAX / 2).is_err());
    }

    #[test]
    fn splitmix_reference_and_range() {
        // Reference values of SplitMix64 seeded with 0.
        let mut r = SplitMix64(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        let mut r = SplitMix64(42);
        for _ in 0..10000 {
            let v = r.next_f32();
            assert!((-1.0..1.0).contains(&v));
        }
    }
}
