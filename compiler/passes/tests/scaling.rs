//! The memory planner and its checker stay near-linear in the number of
//! tensors: long chains (tens of thousands of layers) and chains with a
//! long-lived skip tensor plan in well under a generous budget. Before the
//! lifetime index and the sweep in `check`, both compared every pair of
//! tensors (minutes for the graphs below in a debug build).

use nnc_ir::GraphBuilder;
use nnc_ir::{Activation, BinaryKind, Op};
use nnc_passes::memory_plan::{check, plan};
use nnc_passes::PlanOptions;
use std::time::{Duration, Instant};

const BUDGET: Duration = Duration::from_secs(60);

fn chain(n: usize, skip: bool) -> nnc_ir::Graph {
    let mut b = GraphBuilder::new("chain");
    let x = b.input("x", &[1, 16]);
    let first = b.op(Op::Act(Activation::Sigmoid), &[x]).unwrap();
    let mut prev = first;
    for _ in 0..n {
        prev = b.op(Op::Act(Activation::Relu), &[prev]).unwrap();
    }
    if skip {
        // `first` stays live to the end
        prev = b.op(Op::Binary(BinaryKind::Add), &[prev, first]).unwrap();
    }
    let y = b.op(Op::Act(Activation::Tanh), &[prev]).unwrap();
    b.output("y", y);
    b.finish()
}

#[test]
fn planning_long_chains_is_not_quadratic() {
    for skip in [false, true] {
        let g = chain(40_000, skip);
        for in_place in [false, true] {
            let t = Instant::now();
            let p = plan(&g, PlanOptions { in_place }).expect("plan");
            check(&g, &p).expect("the plan checks");
            let el = t.elapsed();
            assert!(
                el < BUDGET,
                "skip={skip} in_place={in_place}: {el:?} for 40,000 tensors"
            );
            // reuse works: a chain needs a few buffers, not one per layer
            assert!(p.arena_bytes <= 4 * 64, "arena {}", p.arena_bytes);
        }
    }
}
