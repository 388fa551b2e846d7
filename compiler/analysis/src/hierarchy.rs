//! The memory hierarchy as kernels see it: triad bandwidth (`a = b + s·c`,
//! 12 bytes per element as STREAM counts them) at working sets from 16 KiB
//! to 64 MiB, with one thread and with all threads (each thread on its own
//! slice of the working set). A kernel whose inputs, weights and output fit
//! in L2 streams them at L2 speed, not DRAM speed; the cost model
//! ([`crate::model`]) reads the bandwidth at the kernel's own working set.
//!
//! Each point is the best of several timed repetitions, each long enough
//! (≥ ~64 MB of traffic) to swamp the timer; rates come from each thread's
//! own CPU time where available (see [`crate::calibrate`]).

use crate::calibrate::parallel_rate;
use crate::model::BandwidthPoint;

/// Working-set sizes of the sweep, bytes.
pub fn sweep_sizes() -> Vec<u64> {
    (14..=26).map(|p| 1u64 << p).collect()
}

/// Measures the sweep with one thread and with `threads` threads.
pub fn measure(threads: usize) -> Vec<BandwidthPoint> {
    let threads = threads.max(1);
    sweep_sizes()
        .into_iter()
        .map(|bytes| BandwidthPoint {
            bytes,
            gbs_1t: rate(bytes, 1),
            gbs_all: if threads > 1 {
                rate(bytes, threads)
            } else {
                rate(bytes, 1)
            },
        })
        .collect()
}

/// One thread's triad arrays `(a, b, c)`.
type Arrays = std::sync::Mutex<(Vec<f32>, Vec<f32>, Vec<f32>)>;

/// Triad GB/s over `bytes` of working set split between `threads` threads.
fn rate(bytes: u64, threads: usize) -> f64 {
    let per_thread = (bytes / threads as u64 / 12).max(64) as usize;
    let reps = (64_000_000 / (per_thread as u64 * 12 * threads as u64)).clamp(1, 100_000);
    let gb = (per_thread * 12) as f64 * reps as f64 / 1e9;
    let data: Vec<Arrays> = (0..threads)
        .map(|_| {
            std::sync::Mutex::new((
                vec![0f32; per_thread],
                vec![1f32; per_thread],
                vec![2f32; per_thread],
            ))
        })
        .collect();
    let work = |i: usize| {
        if let Some(Ok(mut g)) = data.get(i).map(|m| m.lock()) {
            let (a, b, c) = &mut *g;
            let s = std::hint::black_box(0.5f32);
            for _ in 0..reps {
                for ((x, y), z) in a.iter_mut().zip(b.iter()).zip(c.iter()) {
                    *x = y + s * z;
                }
                std::hint::black_box(&a);
            }
        }
    };
    // warm the caches and the pages, then the best of five
    let _ = parallel_rate(threads, gb, work);
    (0..5)
        .map(|_| parallel_rate(threads, gb, work).0)
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_span_l1_to_dram() {
        let s = super::sweep_sizes();
        assert_eq!(s.first(), Some(&16384));
        assert_eq!(s.last(), Some(&(64 << 20)));
        assert!(s.windows(2).all(|w| w[0] < w[1]));
    }
}
