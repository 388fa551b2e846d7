//! Thread pool: correctness under many tasks, thread counts and repeated
//! regions, the C entry point, and a dispatch-latency micro-benchmark
//! (printed; run with `--nocapture` to see it).

use nnc_runtime::pool::{self, Pool};
use std::ffi::c_void;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[test]
fn every_task_exactly_once_for_many_thread_counts() {
    let max = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .max(2)
        + 2;
    for threads in 1..=max {
        let p = Pool::new(threads);
        assert_eq!(p.threads(), threads);
        for ntasks in [1i64, 2, 3, 5, 17, 256, 4099] {
            let hits: Vec<AtomicUsize> = (0..ntasks).map(|_| AtomicUsize::new(0)).collect();
            p.run(ntasks, |t| {
                hits[t as usize].fetch_add(1, Ordering::Relaxed);
            });
            for (i, h) in hits.iter().enumerate() {
                assert_eq!(
                    h.load(Ordering::Relaxed),
                    1,
                    "threads {threads}, ntasks {ntasks}, task {i}"
                );
            }
        }
    }
}

#[test]
fn repeated_regions_see_previous_results() {
    // Each region reads what the previous one wrote: checks the fork-join
    // barrier's memory ordering.
    let p = Pool::new(4);
    let n = 64usize;
    let a: Vec<AtomicU64> = (0..n).map(|_| AtomicU64::new(0)).collect();
    let b: Vec<AtomicU64> = (0..n).map(|_| AtomicU64::new(0)).collect();
    for round in 0..5000u64 {
        let (src, dst) = if round % 2 == 0 { (&a, &b) } else { (&b, &a) };
        p.run(n as i64, |t| {
            let t = t as usize;
            // Sum of a neighbour from the previous round: any missed write
            // breaks the invariant below.
            let v = src[(t + 1) % n].load(Ordering::Relaxed) + 1;
            dst[t].store(v, Ordering::Relaxed);
        });
        for x in dst.iter() {
            assert_eq!(x.load(Ordering::Relaxed), round + 1);
        }
    }
}

#[test]
fn uneven_tasks_balance() {
    let p = Pool::new(3);
    let total = AtomicU64::new(0);
    p.run(30, |t| {
        if t % 7 == 0 {
            std::thread::sleep(Duration::from_micros(300));
        }
        total.fetch_add(t as u64, Ordering::Relaxed);
    });
    assert_eq!(total.load(Ordering::Relaxed), (0..30).sum::<u64>());
}

#[test]
fn concurrent_callers_do_not_deadlock() {
    let p = Pool::new(3);
    let total = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..500 {
                    p.run(8, |_| {
                        total.fetch_add(1, Ordering::Relaxed);
                    });
                }
            });
        }
    });
    assert_eq!(total.load(Ordering::Relaxed), 4 * 500 * 8);
}

unsafe extern "C" fn c_body(ctx: *mut c_void, t: i64, ntasks: i64) {
    let hits = unsafe { &*(ctx as *const Vec<AtomicUsize>) };
    assert_eq!(ntasks as usize, hits.len());
    hits[t as usize].fetch_add(1, Ordering::Relaxed);
}

#[test]
fn c_entry_point() {
    let hits: Vec<AtomicUsize> = (0..100).map(|_| AtomicUsize::new(0)).collect();
    let ctx = &hits as *const Vec<AtomicUsize> as *mut c_void;
    // Without a global pool: inline.
    unsafe { pool::nnc_parallel_for(Some(c_body), ctx, 100) };
    pool::set_global(3);
    for _ in 0..10 {
        unsafe { pool::nnc_parallel_for(Some(c_body), ctx, 100) };
    }
    // Degenerate calls are no-ops.
    unsafe { pool::nnc_parallel_for(Some(c_body), ctx, 0) };
    unsafe { pool::nnc_parallel_for(Some(c_body), ctx, -5) };
    unsafe { pool::nnc_parallel_for(None, ctx, 100) };
    assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 11));
}

fn median_us(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Dispatch latency of an almost empty region (`threads` tasks, each a
/// relaxed increment) on the pool, against spawning `threads - 1` scoped
/// threads per region. Prints the medians; asserts only that all tasks ran.
#[test]
fn dispatch_latency_benchmark() {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .max(2);
    let p = Pool::new(threads);
    let counter = AtomicU64::new(0);
    let regions = 2000;
    let mut pool_us = Vec::with_capacity(regions);
    for _ in 0..100 {
        p.run(threads as i64, |_| {
            counter.fetch_add(1, Ordering::Relaxed);
        });
    }
    for _ in 0..regions {
        let t0 = Instant::now();
        p.run(threads as i64, |_| {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        pool_us.push(t0.elapsed().as_secs_f64() * 1e6);
    }
    // Regions with real work in each task, so all threads take part.
    let mut busy_us = Vec::with_capacity(regions);
    for _ in 0..regions / 4 {
        let t0 = Instant::now();
        p.run(threads as i64, |_| {
            let t = Instant::now();
            while t.elapsed() < Duration::from_micros(20) {
                std::hint::spin_loop();
            }
        });
        busy_us.push(t0.elapsed().as_secs_f64() * 1e6 - 20.0);
    }
    let spawn_regions = 200;
    let mut spawn_us = Vec::with_capacity(spawn_regions);
    for _ in 0..spawn_regions {
        let t0 = Instant::now();
        std::thread::scope(|s| {
            for _ in 1..threads {
                s.spawn(|| {
                    counter.fetch_add(1, Ordering::Relaxed);
                });
            }
            counter.fetch_add(1, Ordering::Relaxed);
        });
        spawn_us.push(t0.elapsed().as_secs_f64() * 1e6);
    }
    let expected = (100 + regions) as u64 * threads as u64 + spawn_regions as u64 * threads as u64;
    assert_eq!(counter.load(Ordering::Relaxed), expected);
    println!(
        "dispatch latency, {threads} threads: pool empty region median {:.2} us; pool 20us-task region overhead median {:.2} us; spawn+join median {:.2} us",
        median_us(pool_us),
        median_us(busy_us),
        median_us(spawn_us)
    );
}

/// A region whose first task waits until a task runs on another thread:
/// proves workers join regions (awake and after sleeping).
#[test]
fn workers_take_part() {
    use std::sync::atomic::AtomicBool;
    use std::thread;
    for spin in [pool::DEFAULT_SPIN, Duration::from_micros(1)] {
        let p = Pool::with_spin(2, spin);
        for round in 0..20 {
            if round % 5 == 0 {
                thread::sleep(Duration::from_millis(1));
            }
            let caller = thread::current().id();
            let helped = AtomicBool::new(false);
            p.run(2, |_| {
                if thread::current().id() != caller {
                    helped.store(true, Ordering::Release);
                } else {
                    let t0 = Instant::now();
                    while !helped.load(Ordering::Acquire) && t0.elapsed() < Duration::from_secs(10)
                    {
                        thread::yield_now();
                    }
                }
            });
            // The caller took one task and waited; the other task can only
            // have run on the worker.
            assert!(
                helped.load(Ordering::Acquire),
                "round {round}: no worker joined"
            );
        }
    }
}

/// Uses `bytes` of stack (a frame the optimizer cannot drop).
#[inline(never)]
fn use_stack(bytes: usize) -> u64 {
    const CHUNK: usize = 64 * 1024;
    let mut buf = [0u8; CHUNK];
    std::hint::black_box(&mut buf);
    buf[bytes % CHUNK] = 1;
    let below = if bytes > CHUNK {
        use_stack(bytes - CHUNK)
    } else {
        0
    };
    std::hint::black_box(buf.iter().map(|&b| u64::from(b)).sum::<u64>() + below)
}

#[test]
fn workers_have_room_for_the_documented_kernel_scratch() {
    // Four times the largest kernel scratch (4 MiB) on every task: more than
    // a default 2 MiB thread stack holds, within the workers' stacks.
    let need = 4 * pool::MAX_KERNEL_SCRATCH_BYTES;
    assert!(need < pool::TASK_STACK_BYTES);
    let p = Pool::new(2);
    let on_worker = AtomicUsize::new(0);
    // run the caller's share on a thread with the same stack (as the executable does)
    std::thread::scope(|sc| {
        std::thread::Builder::new()
            .stack_size(pool::TASK_STACK_BYTES)
            .spawn_scoped(sc, || {
                let caller = std::thread::current().id();
                for _ in 0..20 {
                    p.run(8, |_| {
                        if std::thread::current().id() != caller {
                            on_worker.fetch_add(1, Ordering::Relaxed);
                        }
                        std::hint::black_box(use_stack(need));
                    });
                }
            })
            .expect("spawn")
            .join()
            .expect("join");
    });
    assert!(on_worker.load(Ordering::Relaxed) > 0);
}
