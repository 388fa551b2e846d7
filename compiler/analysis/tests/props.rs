//! Property tests on random DAGs: the linear-time passes agree with
//! brute-force definitions, and nothing panics.

use nnc_analysis::{analyze, Platform};
use nnc_ir::GraphBuilder;
use nnc_ir::{NodeId, Op};
use proptest::prelude::*;

/// (sizes, inputs of each op as indices of earlier nodes, output flags)
type Dag = (Vec<usize>, Vec<Vec<usize>>, Vec<bool>);

fn dag() -> impl Strategy<Value = Dag> {
    (1usize..4, 1usize..40).prop_flat_map(|(ins, ops)| {
        let n = ins + ops;
        (
            prop::collection::vec(1usize..100, n),
            (0..ops)
                .map(|k| prop::collection::vec(0..ins + k, 1..4))
                .collect::<Vec<_>>(),
            prop::collection::vec(prop::bool::weighted(0.15), n),
        )
    })
}

fn build(d: &Dag) -> (nnc_ir::Graph, Vec<NodeId>) {
    let (sizes, inputs, outs) = d;
    let n_in = sizes.len() - inputs.len();
    let mut b = GraphBuilder::new("random");
    let mut ids = Vec::new();
    for (i, &size) in sizes.iter().enumerate().take(n_in) {
        ids.push(b.input(&format!("x{i}"), &[1, size]));
    }
    for (k, ins) in inputs.iter().enumerate() {
        let srcs: Vec<NodeId> = ins.iter().map(|&i| ids[i]).collect();
        let id = b.node(
            Op::Concat { axis: 1 },
            &srcs,
            vec![1, sizes[n_in + k]],
            &format!("c{k}"),
        );
        ids.push(id);
    }
    for (i, &o) in outs.iter().enumerate() {
        if o {
            b.output(&format!("y{i}"), ids[i]);
        }
    }
    (b.finish(), ids)
}

proptest! {
    #[test]
    fn passes_match_brute_force(d in dag()) {
        let (g, ids) = build(&d);
        let p = Platform {
            name: "t".into(), description: String::new(),
            peak_gflops: 10.0, bandwidth_gbs: 1.0, source: String::new(),
        };
        let a = analyze(&g, &p).unwrap();
        let order = a.order.clone();
        let pos = |id: NodeId| order.iter().position(|&x| x == id).unwrap();
        let n_in = d.0.len() - d.1.len();
        // Depth: brute-force longest path by repeated relaxation.
        let mut depth = vec![0u32; ids.len()];
        for _ in 0..ids.len() {
            for (k, ins) in d.1.iter().enumerate() {
                depth[n_in + k] = 1 + ins.iter().map(|&i| depth[i]).max().unwrap();
            }
        }
        for (k, _) in d.1.iter().enumerate() {
            prop_assert_eq!(a.node(ids[n_in + k]).unwrap().depth, depth[n_in + k]);
        }
        let max_depth = *depth.iter().max().unwrap();
        prop_assert_eq!(a.totals.depth, max_depth);
        let width = (1..=max_depth).map(|l| depth.iter().filter(|&&x| x == l).count()).max().unwrap_or(0);
        prop_assert_eq!(a.totals.width as usize, width);
        // Peak memory: simulate every step.
        let steps = order.len();
        let mut peak = 0u64;
        for t in 0..steps {
            let mut live = 0u64;
            for (i, &id) in ids.iter().enumerate() {
                let birth = if i < n_in { 0 } else { pos(id) };
                let users: Vec<usize> = d.1.iter().enumerate()
                    .filter(|(_, ins)| ins.contains(&i)).map(|(k, _)| pos(ids[n_in + k])).collect();
                let death = if g.is_output(id) { steps - 1 } else { users.into_iter().max().unwrap_or(birth).max(birth) };
                if birth <= t && t <= death {
                    live += 4 * d.0[i] as u64;
                }
            }
            peak = peak.max(live);
        }
        prop_assert_eq!(a.totals.peak_activation_bytes, peak);
        // Critical path: bounded by the sum, at least the slowest node.
        let slowest = a.nodes.iter().map(|n| n.predicted_ms).fold(0.0, f64::max);
        prop_assert!(a.totals.critical_path_ms <= a.totals.predicted_ms * (1.0 + 1e-12));
        prop_assert!(a.totals.critical_path_ms >= slowest);
        let cp: f64 = a.critical_path.iter().map(|&i| a.node(i).unwrap().predicted_ms).sum();
        prop_assert!((cp - a.totals.critical_path_ms).abs() <= 1e-12 * cp.max(1.0));
        prop_assert!(a.totals.parallelism >= 1.0);
    }
}
