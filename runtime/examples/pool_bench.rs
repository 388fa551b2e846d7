use nnc_runtime::pool::Pool;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
fn main() {
    let threads = 2;
    let p = Pool::new(threads);
    let me = std::thread::current().id();
    for work_us in [0u64, 5, 20, 100] {
        let other = AtomicU64::new(0);
        let mut v = Vec::new();
        for _ in 0..2000 {
            let t0 = Instant::now();
            p.run(threads as i64, |_| {
                if std::thread::current().id() != me {
                    other.fetch_add(1, Ordering::Relaxed);
                }
                let t = Instant::now();
                while t.elapsed() < Duration::from_micros(work_us) {
                    std::hint::spin_loop();
                }
            });
            v.push(t0.elapsed().as_secs_f64() * 1e6);
        }
        v.sort_by(|a, b| a.total_cmp(b));
        println!("work {work_us}us x{threads} tasks: median region {:.2}us p10 {:.2} p90 {:.2}; tasks on worker {}/{}", v[1000], v[200], v[1800], other.load(Ordering::Relaxed), 2000*threads);
    }
}
