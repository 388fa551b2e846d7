//! A persistent fork-join thread pool: N − 1 worker threads plus the
//! calling thread. One parallel region at a time; its tasks `0..ntasks` are
//! handed out by an atomic counter, so uneven tasks balance themselves.
//!
//! Between regions, workers spin for a short while (a region usually follows
//! the previous one within microseconds) and then sleep on a condition
//! variable (a futex on Linux), so an idle process uses no CPU. The caller
//! waits for the workers the same way: spin, then sleep.
//!
//! Workers *join* a region (an atomic count packed with the region number
//! and an "open" bit); once the caller has handed out the last task it
//! closes the region and waits only for the workers that joined. A worker
//! that is not running at that moment (descheduled on a busy machine, or
//! slow to wake) simply misses the region instead of delaying it, and the
//! single job slot is never rewritten while a joined worker may read it.
//! A region started while another runs (a nested call from a task, or a call
//! from another thread) runs inline on the calling thread instead.

/// Stack size of every thread that runs tasks: the workers, and the thread
/// the executable runs its inferences on (`lib.rs`). Kernels may keep up to
/// [`MAX_KERNEL_SCRATCH_BYTES`] of scratch in their frame (ABI.md); the rest
/// is ample room for the kernels' and the runtime's own frames.
pub const TASK_STACK_BYTES: usize = 8 << 20;

/// The most stack scratch one kernel task may use (the code generator's
/// limit for the direct convolution's staged input rows).
pub const MAX_KERNEL_SCRATCH_BYTES: usize = 1 << 20;

use std::cell::UnsafeCell;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a worker spins after a region before going to sleep.
pub const DEFAULT_SPIN: Duration = Duration::from_micros(200);

/// Largest thread count accepted.
pub const MAX_THREADS: usize = 1024;

/// The type-erased job of one region.
#[derive(Clone, Copy)]
struct Job {
    call: unsafe fn(*const (), i64),
    data: *const (),
    ntasks: i64,
}

unsafe fn nop(_: *const (), _: i64) {}

struct Shared {
    /// Written by the dispatcher only while no worker has joined a region,
    /// published by `state`.
    job: UnsafeCell<Job>,
    /// Region number (high 32 bits), `OPEN` bit, and the number of workers
    /// that joined the current region (low bits).
    state: AtomicU64,
    /// Next task index to hand out.
    next: AtomicI64,
    /// Workers sleeping (or about to) on `wake`.
    sleepers: AtomicUsize,
    /// The dispatcher sleeps (or is about to) on `done`.
    caller_sleeping: AtomicBool,
    /// A task panicked in a worker (only possible with panic=unwind).
    panicked: AtomicBool,
    shutdown: AtomicBool,
    lock: Mutex<()>,
    wake: Condvar,
    done: Condvar,
    spin: Duration,
}

// The job slot is only accessed under the protocol described on `Shared`.
unsafe impl Sync for Shared {}
unsafe impl Send for Shared {}

/// A persistent thread pool; see the module documentation.
pub struct Pool {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    busy: AtomicBool,
}

/// Set in `Shared::state` while workers may join the region.
const OPEN: u64 = 1 << 31;
/// Mask of the joined-worker count in `Shared::state`.
const COUNT: u64 = OPEN - 1;
const EPOCH_SHIFT: u32 = 32;

fn spin_until(spin: Duration, mut ready: impl FnMut() -> bool) -> bool {
    if ready() {
        return true;
    }
    let start = Instant::now();
    let mut i: u32 = 0;
    loop {
        for _ in 0..32 {
            std::hint::spin_loop();
            if ready() {
                return true;
            }
        }
        i = i.wrapping_add(1);
        if i.is_multiple_of(8) && start.elapsed() >= spin {
            return false;
        }
    }
}

fn lock(m: &Mutex<()>) -> std::sync::MutexGuard<'_, ()> {
    // The mutex guards no data, so a poisoned one is still usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn run_tasks(job: &Job, next: &AtomicI64) {
    loop {
        let t = next.fetch_add(1, Ordering::Relaxed);
        if t >= job.ntasks {
            break;
        }
        // SAFETY: the dispatcher keeps `data` alive until all workers have
        // left the region (joined count back to zero).
        unsafe { (job.call)(job.data, t) };
    }
}

fn worker_loop(sh: Arc<Shared>) {
    let mut seen: u64 = 0;
    loop {
        let changed = |s: u64| s >> EPOCH_SHIFT != seen;
        let ready = spin_until(sh.spin, || {
            changed(sh.state.load(Ordering::Acquire)) || sh.shutdown.load(Ordering::Relaxed)
        });
        if !ready {
            let mut g = lock(&sh.lock);
            sh.sleepers.fetch_add(1, Ordering::SeqCst);
            while !changed(sh.state.load(Ordering::SeqCst)) && !sh.shutdown.load(Ordering::SeqCst) {
                g = sh.wake.wait(g).unwrap_or_else(|e| e.into_inner());
            }
            sh.sleepers.fetch_sub(1, Ordering::SeqCst);
            drop(g);
        }
        if sh.shutdown.load(Ordering::Acquire) {
            return;
        }
        // Try to join the region we saw; give up if it is closed already.
        let mut s = sh.state.load(Ordering::Acquire);
        seen = s >> EPOCH_SHIFT;
        let joined = loop {
            if s >> EPOCH_SHIFT != seen || s & OPEN == 0 {
                break false;
            }
            match sh
                .state
                .compare_exchange_weak(s, s + 1, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break true,
                Err(cur) => s = cur,
            }
        };
        if !joined {
            continue;
        }
        // SAFETY: the job was written before the region opened (release)
        // and is not rewritten before the joined count drops to zero.
        let job = unsafe { *sh.job.get() };
        if catch_unwind(AssertUnwindSafe(|| run_tasks(&job, &sh.next))).is_err() {
            sh.panicked.store(true, Ordering::Relaxed);
            // Make the remaining tasks finish quickly.
            sh.next.store(i64::MAX / 2, Ordering::Relaxed);
        }
        let before = sh.state.fetch_sub(1, Ordering::SeqCst);
        if before & COUNT == 1 && before & OPEN == 0 && sh.caller_sleeping.load(Ordering::SeqCst) {
            let _g = lock(&sh.lock);
            sh.done.notify_all();
        }
    }
}

impl Pool {
    /// Creates a pool running regions on `threads` threads in total (the
    /// caller plus `threads - 1` workers; 0 is treated as 1, values above
    /// [`MAX_THREADS`] are clamped). If the system refuses to start a
    /// thread, the pool keeps the workers it got; see [`Pool::threads`].
    pub fn new(threads: usize) -> Pool {
        Pool::with_spin(threads, DEFAULT_SPIN)
    }

    /// Like [`Pool::new`] with a given spin time before sleeping.
    pub fn with_spin(threads: usize, spin: Duration) -> Pool {
        let threads = threads.clamp(1, MAX_THREADS);
        let shared = Arc::new(Shared {
            job: UnsafeCell::new(Job {
                call: nop,
                data: std::ptr::null(),
                ntasks: 0,
            }),
            state: AtomicU64::new(0),
            next: AtomicI64::new(0),
            sleepers: AtomicUsize::new(0),
            caller_sleeping: AtomicBool::new(false),
            panicked: AtomicBool::new(false),
            shutdown: AtomicBool::new(false),
            lock: Mutex::new(()),
            wake: Condvar::new(),
            done: Condvar::new(),
            spin,
        });
        let mut workers = Vec::with_capacity(threads - 1);
        for i in 1..threads {
            let sh = Arc::clone(&shared);
            match std::thread::Builder::new()
                .name(format!("nnc-worker-{i}"))
                .stack_size(TASK_STACK_BYTES)
                .spawn(move || worker_loop(sh))
            {
                Ok(h) => workers.push(h),
                Err(_) => break,
            }
        }
        Pool {
            shared,
            workers,
            busy: AtomicBool::new(false),
        }
    }

    /// Total threads taking part in a region (workers + the caller).
    pub fn threads(&self) -> usize {
        self.workers.len() + 1
    }

    /// Runs `f(t)` for every `t` in `0..ntasks` and returns when all calls
    /// have finished. The calling thread takes part. Runs inline when the
    /// pool has one thread, `ntasks == 1`, or another region is running.
    pub fn run<F: Fn(i64) + Sync>(&self, ntasks: i64, f: F) {
        unsafe fn tramp<F: Fn(i64) + Sync>(data: *const (), t: i64) {
            // SAFETY: `data` points to the `F` borrowed by `run`, alive
            // until `run` returns.
            let f = unsafe { &*(data as *const F) };
            f(t)
        }
        if ntasks <= 0 {
            return;
        }
        let job = Job {
            call: tramp::<F>,
            data: &f as *const F as *const (),
            ntasks,
        };
        // SAFETY: `f` outlives the region.
        unsafe { self.run_job(job) }
    }

    /// Runs a C-ABI body (`body(ctx, t, ntasks)` for every `t`), as
    /// `nnc_parallel_for` does.
    ///
    /// # Safety
    /// `body` must be safe to call concurrently with `ctx` for distinct `t`.
    pub unsafe fn run_c(&self, body: CBody, ctx: *mut std::ffi::c_void, ntasks: i64) {
        struct C {
            body: CBody,
            ctx: *mut std::ffi::c_void,
            ntasks: i64,
        }
        unsafe fn tramp_c(data: *const (), t: i64) {
            // SAFETY: `data` points to the `C` on `run_c`'s stack.
            let c = unsafe { &*(data as *const C) };
            unsafe { (c.body)(c.ctx, t, c.ntasks) }
        }
        if ntasks <= 0 {
            return;
        }
        let c = C { body, ctx, ntasks };
        let job = Job {
            call: tramp_c,
            data: &c as *const C as *const (),
            ntasks,
        };
        unsafe { self.run_job(job) }
    }

    unsafe fn run_job(&self, job: Job) {
        let inline = self.workers.is_empty()
            || job.ntasks == 1
            || self
                .busy
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_err();
        if inline {
            for t in 0..job.ntasks {
                unsafe { (job.call)(job.data, t) };
            }
            return;
        }
        let sh = &*self.shared;
        // SAFETY: the previous region is closed and no worker is joined
        // (count 0), so nobody reads the slot.
        unsafe { *sh.job.get() = job };
        sh.next.store(0, Ordering::Relaxed);
        sh.panicked.store(false, Ordering::Relaxed);
        let epoch = (sh.state.load(Ordering::Relaxed) >> EPOCH_SHIFT).wrapping_add(1) & 0xFFFF_FFFF;
        sh.state
            .store((epoch << EPOCH_SHIFT) | OPEN, Ordering::SeqCst);
        if sh.sleepers.load(Ordering::SeqCst) > 0 {
            let _g = lock(&sh.lock);
            sh.wake.notify_all();
        }
        let mine = catch_unwind(AssertUnwindSafe(|| run_tasks(&job, &sh.next)));
        if mine.is_err() {
            sh.next.store(i64::MAX / 2, Ordering::Relaxed);
        }
        // Every task is handed out: close the region and wait for the
        // workers that joined it.
        sh.state.fetch_and(!OPEN, Ordering::SeqCst);
        let finished = spin_until(sh.spin, || sh.state.load(Ordering::Acquire) & COUNT == 0);
        if !finished {
            let mut g = lock(&sh.lock);
            sh.caller_sleeping.store(true, Ordering::SeqCst);
            while sh.state.load(Ordering::SeqCst) & COUNT != 0 {
                g = sh.done.wait(g).unwrap_or_else(|e| e.into_inner());
            }
            sh.caller_sleeping.store(false, Ordering::SeqCst);
            drop(g);
        }
        let worker_panicked = sh.panicked.load(Ordering::Relaxed);
        self.busy.store(false, Ordering::Release);
        if let Err(p) = mine {
            resume_unwind(p);
        }
        if worker_panicked {
            panic!("a parallel task panicked");
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        {
            let _g = lock(&self.shared.lock);
            self.shared.wake.notify_all();
        }
        for h in self.workers.drain(..) {
            let _ = h.join();
        }
    }
}

/// The body type of `nnc_parallel_for`.
pub type CBody = unsafe extern "C" fn(ctx: *mut std::ffi::c_void, t: i64, ntasks: i64);

/// The process-wide pool used by `nnc_parallel_for` (null until
/// [`set_global`]).
static GLOBAL: AtomicPtr<Pool> = AtomicPtr::new(std::ptr::null_mut());

/// Installs a process-wide pool of `threads` threads for `nnc_parallel_for`
/// and returns its actual thread count. A previously installed pool is kept
/// if it has the same size; otherwise it is left running but unused (it is
/// never freed: a region could still be using it).
pub fn set_global(threads: usize) -> usize {
    let cur = GLOBAL.load(Ordering::Acquire);
    if !cur.is_null() {
        // SAFETY: installed pools are leaked, never freed.
        let p = unsafe { &*cur };
        if p.threads() == threads.clamp(1, MAX_THREADS) {
            return p.threads();
        }
    }
    let p: &'static Pool = Box::leak(Box::new(Pool::new(threads)));
    GLOBAL.store(p as *const Pool as *mut Pool, Ordering::Release);
    p.threads()
}

/// The process-wide pool, if installed.
pub fn global() -> Option<&'static Pool> {
    let p = GLOBAL.load(Ordering::Acquire);
    // SAFETY: installed pools are leaked, never freed.
    if p.is_null() {
        None
    } else {
        Some(unsafe { &*p })
    }
}

/// `nnc_parallel_for` of the ABI: runs `body(ctx, t, ntasks)` for every `t`
/// in `0..ntasks` on the process-wide pool (inline when none is installed).
///
/// # Safety
/// `body` must be a valid function, safe to call concurrently for distinct
/// `t` with `ctx`; it must not unwind.
#[no_mangle]
pub unsafe extern "C" fn nnc_parallel_for(
    body: Option<CBody>,
    ctx: *mut std::ffi::c_void,
    ntasks: i64,
) {
    let Some(body) = body else { return };
    if ntasks <= 0 {
        return;
    }
    match global() {
        Some(p) => unsafe { p.run_c(body, ctx, ntasks) },
        None => {
            for t in 0..ntasks {
                unsafe { body(ctx, t, ntasks) };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_tasks_run_once() {
        for threads in 1..=4 {
            let pool = Pool::new(threads);
            for &n in &[0i64, 1, 2, 3, 7, 64, 1000] {
                let hits: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
                pool.run(n, |t| {
                    hits[t as usize].fetch_add(1, Ordering::Relaxed);
                });
                assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
            }
        }
    }

    #[test]
    fn nested_runs_inline() {
        let pool = Pool::new(3);
        let total = AtomicUsize::new(0);
        pool.run(4, |_| {
            pool.run(5, |_| {
                total.fetch_add(1, Ordering::Relaxed);
            });
        });
        assert_eq!(total.load(Ordering::Relaxed), 20);
    }

    #[test]
    fn wakes_after_sleep() {
        let pool = Pool::with_spin(2, Duration::from_micros(1));
        for _ in 0..5 {
            std::thread::sleep(Duration::from_millis(2));
            let c = AtomicUsize::new(0);
            pool.run(10, |_| {
                c.fetch_add(1, Ordering::Relaxed);
            });
            assert_eq!(c.load(Ordering::Relaxed), 10);
        }
    }
}
