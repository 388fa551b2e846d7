//! Per-node timing for `--profile`: `nnc_node_begin`/`nnc_node_end` record
//! timestamps into a table allocated before the runs. When profiling is off
//! they cost one relaxed atomic load.

use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

static ENABLED: AtomicBool = AtomicBool::new(false);
static TABLE: AtomicPtr<Table> = AtomicPtr::new(std::ptr::null_mut());
static EPOCH: OnceLock<Instant> = OnceLock::new();

/// Accumulated time of one node.
struct Slot {
    start: AtomicU64,
    total_ns: AtomicU64,
    calls: AtomicU64,
    /// Shortest single call (u64::MAX: none yet).
    min_ns: AtomicU64,
}

impl Default for Slot {
    fn default() -> Self {
        Slot {
            start: AtomicU64::new(0),
            total_ns: AtomicU64::new(0),
            calls: AtomicU64::new(0),
            min_ns: AtomicU64::new(u64::MAX),
        }
    }
}

struct Table {
    slots: Box<[Slot]>,
    /// Calls with an index outside the table, or an end without a begin.
    bad: AtomicU64,
}

/// Totals of one node since the last [`reset`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeTime {
    /// Sum of the measured durations in nanoseconds.
    pub total_ns: u64,
    /// Number of begin/end pairs.
    pub calls: u64,
    /// The shortest call in nanoseconds (0 without calls).
    pub min_ns: u64,
}

fn now_ns() -> u64 {
    let e = EPOCH.get_or_init(Instant::now);
    // Saturates after 584 years.
    u64::try_from(e.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

fn table() -> Option<&'static Table> {
    let p = TABLE.load(Ordering::Acquire);
    // SAFETY: tables are leaked, never freed.
    if p.is_null() {
        None
    } else {
        Some(unsafe { &*p })
    }
}

/// Allocates the table for `nodes` nodes (zeroed) and turns recording on.
pub fn enable(nodes: usize) {
    let _ = now_ns();
    match table() {
        Some(t) if t.slots.len() == nodes => reset(),
        _ => {
            let slots: Vec<Slot> = (0..nodes).map(|_| Slot::default()).collect();
            let t: &'static Table = Box::leak(Box::new(Table {
                slots: slots.into_boxed_slice(),
                bad: AtomicU64::new(0),
            }));
            TABLE.store(t as *const Table as *mut Table, Ordering::Release);
        }
    }
    ENABLED.store(true, Ordering::Release);
}

/// Turns recording off (the table keeps its totals).
pub fn disable() {
    ENABLED.store(false, Ordering::Release);
}

/// Zeroes all totals.
pub fn reset() {
    if let Some(t) = table() {
        for s in t.slots.iter() {
            s.total_ns.store(0, Ordering::Relaxed);
            s.calls.store(0, Ordering::Relaxed);
            s.start.store(0, Ordering::Relaxed);
            s.min_ns.store(u64::MAX, Ordering::Relaxed);
        }
        t.bad.store(0, Ordering::Relaxed);
    }
}

/// Totals per node, in index order, and the number of malformed calls.
pub fn snapshot() -> (Vec<NodeTime>, u64) {
    match table() {
        Some(t) => (
            t.slots
                .iter()
                .map(|s| NodeTime {
                    total_ns: s.total_ns.load(Ordering::Relaxed),
                    calls: s.calls.load(Ordering::Relaxed),
                    min_ns: match s.min_ns.load(Ordering::Relaxed) {
                        u64::MAX => 0,
                        m => m,
                    },
                })
                .collect(),
            t.bad.load(Ordering::Relaxed),
        ),
        None => (Vec::new(), 0),
    }
}

/// `nnc_node_begin` of the ABI: called before kernel `node` runs.
#[no_mangle]
pub extern "C" fn nnc_node_begin(node: i32) {
    if !ENABLED.load(Ordering::Relaxed) {
        return;
    }
    let Some(t) = table() else { return };
    match usize::try_from(node).ok().and_then(|i| t.slots.get(i)) {
        // 0 marks "not started", so store at least 1.
        Some(s) => s.start.store(now_ns().max(1), Ordering::Relaxed),
        None => {
            t.bad.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// `nnc_node_end` of the ABI: called after kernel `node` ran.
#[no_mangle]
pub extern "C" fn nnc_node_end(node: i32) {
    if !ENABLED.load(Ordering::Relaxed) {
        return;
    }
    let end = now_ns();
    let Some(t) = table() else { return };
    match usize::try_from(node).ok().and_then(|i| t.slots.get(i)) {
        Some(s) => {
            let start = s.start.swap(0, Ordering::Relaxed);
            if start == 0 {
                t.bad.fetch_add(1, Ordering::Relaxed);
            } else {
                let d = end.saturating_sub(start);
                s.total_ns.fetch_add(d, Ordering::Relaxed);
                s.min_ns.fetch_min(d, Ordering::Relaxed);
                s.calls.fetch_add(1, Ordering::Relaxed);
            }
        }
        None => {
            t.bad.fetch_add(1, Ordering::Relaxed);
        }
    }
}
