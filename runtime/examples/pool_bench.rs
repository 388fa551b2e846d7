//! Dispatch latency of the runtime's thread pool, against spawning threads
//! per region: `cargo run --release -p nnc-runtime --example pool_bench [THREADS]`.
//! For each per-task work size it prints the region time (median, p10, p90)
//! and how many tasks ran on workers rather than the caller.

use nnc_runtime::pool::Pool;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn pct(v: &mut [f64], p: usize) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[(v.len() * p / 100).min(v.len() - 1)]
}

fn spin_for(us: u64) {
    let t = Instant::now();
    while t.elapsed() < Duration::from_micros(us) {
        std::hint::spin_loop();
    }
}

fn main() {
    let threads: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        });
    let p = Pool::new(threads);
    let me = std::thread::current().id();
    let regions = 2000;
    println!("{threads} threads, {regions} regions of {threads} tasks each");
    for work_us in [0u64, 5, 20, 100] {
        let other = AtomicU64::new(0);
        let mut v = Vec::with_capacity(regions);
        for _ in 0..regions {
            let t0 = Instant::now();
            p.run(threads as i64, |_| {
                if std::thread::current().id() != me {
                    other.fetch_add(1, Ordering::Relaxed);
                }
                spin_for(work_us);
            });
            v.push(t0.elapsed().as_secs_f64() * 1e6);
        }
        let (m, lo, hi) = (pct(&mut v, 50), pct(&mut v, 10), pct(&mut v, 90));
        println!(
            "pool : work {work_us:>3} us/task  region median {m:8.2} us  p10 {lo:8.2}  p90 {hi:8.2}  tasks on workers {}/{}",
            other.load(Ordering::Relaxed),
            regions * threads
        );
    }
    for work_us in [0u64, 20] {
        let mut v = Vec::with_capacity(regions / 4);
        for _ in 0..regions / 4 {
            let t0 = Instant::now();
            std::thread::scope(|s| {
                for _ in 1..threads {
                    s.spawn(|| spin_for(work_us));
                }
                spin_for(work_us);
            });
            v.push(t0.elapsed().as_secs_f64() * 1e6);
        }
        let (m, lo, hi) = (pct(&mut v, 50), pct(&mut v, 10), pct(&mut v, 90));
        println!("spawn: work {work_us:>3} us/task  region median {m:8.2} us  p10 {lo:8.2}  p90 {hi:8.2}");
    }
    // Wake-up from sleep: regions 2 ms apart (workers asleep).
    let mut v = Vec::new();
    for _ in 0..100 {
        std::thread::sleep(Duration::from_millis(2));
        let t0 = Instant::now();
        p.run(threads as i64, |_| spin_for(20));
        v.push(t0.elapsed().as_secs_f64() * 1e6);
    }
    println!(
        "pool after 2 ms idle (workers asleep), 20 us/task: region median {:.2} us",
        pct(&mut v, 50)
    );
}
