//! Memory planning: every activation tensor that is neither a network input
//! nor a network output gets a byte offset in one arena, from the tensors'
//! lifetimes over the execution order. Inputs and outputs live in their own
//! (caller-provided) buffers.
//!
//! Placement is greedy by size (largest first) with best fit: a tensor goes
//! into the smallest gap, among the tensors already placed whose lifetimes
//! overlap its own, that holds it; offsets are 64-byte aligned.
//!
//! With [`PlanOptions::in_place`], a `flatten` or `reshape` always shares its
//! input's buffer (a view), and so does every node the caller names as a view
//! ([`plan_with_views`]: codegen's permutes that their consumers read through
//! strides); an element-wise op (activation, batchnorm, scalar arithmetic, an
//! add/mul whose operand has the output's shape) whose input dies at that op
//! reuses the input's buffer where that makes the arena no larger. Such nodes
//! are listed in [`MemoryPlan::in_place`], the views also in
//! [`MemoryPlan::views`]; codegen must compute the element-wise ones element
//! by element (reading index i before writing index i) and never write a
//! view.

use crate::PassError;
use nnc_ir::{Graph, NodeId, Op};
use nnc_tensor::Tensor;
use std::collections::{BTreeSet, HashMap, HashSet};

/// Arena offsets are multiples of this.
pub const ALIGN: usize = 64;

/// Options of the planner.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// Let element-wise ops overwrite a dying input and flatten alias its input.
    pub in_place: bool,
}

/// The memory plan codegen follows.
#[derive(Clone, Debug, PartialEq)]
pub struct MemoryPlan {
    /// The execution order (a topological order of all live nodes, inputs included).
    pub order: Vec<NodeId>,
    /// Byte offset in the arena of every arena tensor (all nodes except
    /// network inputs and outputs).
    pub offsets: HashMap<NodeId, usize>,
    /// Byte size (f32 elements × 4) of every arena tensor.
    pub sizes: HashMap<NodeId, usize>,
    /// Total arena size in bytes (a multiple of [`ALIGN`]).
    pub arena_bytes: usize,
    /// Nodes that reuse an input's buffer: node → that input. Only filled
    /// with [`PlanOptions::in_place`].
    pub in_place: HashMap<NodeId, NodeId>,
    /// The nodes of [`MemoryPlan::in_place`] that are views (never written):
    /// the flattens and reshapes, and the extra views the caller named.
    pub views: BTreeSet<NodeId>,
    /// Sum of all arena tensors' sizes (what a plan without reuse would need).
    pub naive_bytes: usize,
}

fn align_up(n: usize) -> Option<usize> {
    n.checked_add(ALIGN - 1).map(|v| v / ALIGN * ALIGN)
}

/// Byte size of a node's output tensor.
pub fn tensor_bytes(g: &Graph, n: NodeId) -> Result<usize, PassError> {
    g.node(n)
        .shape
        .iter()
        .try_fold(4usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| PassError::TooLarge(format!("tensor of `{}` is too large", g.node(n).name)))
}

/// True for nodes whose value lives in the arena.
pub fn in_arena(g: &Graph, n: NodeId) -> bool {
    !matches!(g.node(n).op, Op::Input { .. }) && !g.is_output(n)
}

/// Position in `order` of each node's last reader (its own position when
/// nothing reads it).
fn last_uses(g: &Graph, order: &[NodeId]) -> HashMap<NodeId, usize> {
    let mut last: HashMap<NodeId, usize> = order.iter().enumerate().map(|(i, &n)| (n, i)).collect();
    for (i, &n) in order.iter().enumerate() {
        for src in g.inputs(n) {
            let e = last.entry(src).or_insert(i);
            *e = (*e).max(i);
        }
    }
    last
}

/// Plans the arena of the graph (in its deterministic topological order).
///
/// With [`PlanOptions::in_place`], views always share their input's buffer
/// (a copy saved is worth more than the arena bytes joined lifetimes may
/// cost the greedy placement), and the plan is made both with and without
/// the element-wise reuse, the one with the smaller arena returned (the
/// reusing one on a tie): joining buffers lengthens lifetimes, which can make
/// the greedy placement worse.
pub fn plan(g: &Graph, opts: PlanOptions) -> Result<MemoryPlan, PassError> {
    plan_with_views(g, opts, &HashSet::new())
}

/// [`plan`] where the nodes of `extra_views` (each with one input of its own
/// size) are views too, with [`PlanOptions::in_place`]: they share their
/// input's buffer and keep it alive until their own last reader. A node
/// whose input is not in the arena (a network input) stays a tensor of its
/// own; [`MemoryPlan::views`] tells which became views.
pub fn plan_with_views(
    g: &Graph,
    opts: PlanOptions,
    extra_views: &HashSet<NodeId>,
) -> Result<MemoryPlan, PassError> {
    if !opts.in_place {
        return plan_with(g, false, false, extra_views);
    }
    let views = plan_with(g, false, true, extra_views)?;
    let reuse = plan_with(g, true, true, extra_views)?;
    Ok(if reuse.arena_bytes <= views.arena_bytes {
        reuse
    } else {
        views
    })
}

/// Whether `n` is a view in `plan` (never written: it shares its input's bytes).
pub fn is_view(g: &Graph, plan: &MemoryPlan, n: NodeId) -> bool {
    matches!(g.node(n).op, Op::Flatten | Op::Reshape { .. }) || plan.views.contains(&n)
}

/// The buffers placed so far, found by lifetime: one map from definition
/// step to buffers per class of lifetime length (`[2^k, 2^(k+1))` steps), so
/// that the buffers whose lifetimes overlap a query are found by scanning a
/// window of definition steps per class, not every placed buffer. A query
/// visits each overlapping buffer once plus at most a constant factor of
/// near misses per class, which keeps planning near-linear in the number of
/// tensors (a scan of every placed buffer made it quadratic).
#[derive(Default)]
struct PlacedIndex {
    classes: Vec<std::collections::BTreeMap<usize, Vec<(usize, usize)>>>,
}

impl PlacedIndex {
    fn class(span: usize) -> usize {
        (usize::BITS - span.leading_zeros()) as usize
    }

    /// Records buffer `id`, live over steps `def..=last`.
    fn insert(&mut self, id: usize, def: usize, last: usize) {
        let k = Self::class(last - def);
        if self.classes.len() <= k {
            self.classes.resize_with(k + 1, Default::default);
        }
        self.classes[k].entry(def).or_default().push((id, last));
    }

    /// Calls `f` with every recorded buffer live at some step of `def..=last`.
    fn overlapping(&self, def: usize, last: usize, mut f: impl FnMut(usize)) {
        for (k, map) in self.classes.iter().enumerate() {
            // spans in this class are below 2^k
            let max_span = if k >= usize::BITS as usize {
                usize::MAX
            } else {
                (1usize << k) - 1
            };
            let from = def.saturating_sub(max_span);
            for (_, list) in map.range(from..=last) {
                for &(id, l) in list {
                    if l >= def {
                        f(id);
                    }
                }
            }
        }
    }
}

fn plan_with(
    g: &Graph,
    in_place_reuse: bool,
    with_views: bool,
    extra_views: &HashSet<NodeId>,
) -> Result<MemoryPlan, PassError> {
    let order = g.topo_order().ok_or(PassError::Cycle)?;
    let pos: HashMap<NodeId, usize> = order.iter().enumerate().map(|(i, &n)| (n, i)).collect();
    let last = last_uses(g, &order);
    let mut sizes = HashMap::new();
    for &n in &order {
        if in_arena(g, n) {
            sizes.insert(n, tensor_bytes(g, n)?);
        }
    }
    // Buffers: group id -> (members, def, last, size). Every arena tensor
    // starts in its own group; in-place nodes join their input's group.
    let mut group_of: HashMap<NodeId, usize> = HashMap::new();
    struct Buf {
        members: Vec<NodeId>,
        def: usize,
        last: usize,
        size: usize,
    }
    let mut bufs: Vec<Buf> = Vec::new();
    let mut in_place = HashMap::new();
    let mut views = BTreeSet::new();
    for &n in &order {
        if !in_arena(g, n) {
            continue;
        }
        let size = sizes[&n];
        let p = pos[&n];
        let mut joined = None;
        let node = g.node(n);
        let is_view = with_views
            && (matches!(node.op, Op::Flatten | Op::Reshape { .. }) || extra_views.contains(&n));
        if in_place_reuse || is_view {
            let ins = g.inputs(n);
            let candidates: Vec<NodeId> = match &node.op {
                _ if is_view => ins.first().copied().into_iter().collect(),
                Op::Act(_) | Op::BatchNorm { .. } | Op::Affine { .. } => {
                    ins.first().copied().into_iter().collect()
                }
                Op::Binary(_) => ins.clone(),
                _ => Vec::new(),
            };
            for i in candidates {
                let Some(&gi) = group_of.get(&i) else {
                    continue;
                };
                if g.node(i).shape.iter().product::<usize>() != node.shape.iter().product::<usize>()
                    || sizes[&i] != size
                {
                    continue;
                }
                // overwriting: nothing in the buffer may be read after n
                if !is_view && bufs[gi].last != p {
                    continue;
                }
                // the same tensor read twice by a binary op is fine (index-wise)
                joined = Some((gi, i));
                break;
            }
        }
        match joined {
            Some((gi, i)) => {
                let b = &mut bufs[gi];
                b.members.push(n);
                b.last = b.last.max(last[&n]);
                group_of.insert(n, gi);
                in_place.insert(n, i);
                if is_view {
                    views.insert(n);
                }
            }
            None => {
                group_of.insert(n, bufs.len());
                bufs.push(Buf {
                    members: vec![n],
                    def: p,
                    last: last[&n],
                    size,
                });
            }
        }
    }
    // Greedy by size, best fit.
    let mut idx: Vec<usize> = (0..bufs.len()).collect();
    idx.sort_by_key(|&i| (std::cmp::Reverse(bufs[i].size), bufs[i].def));
    let mut placed = PlacedIndex::default();
    let mut buf_off = vec![0usize; bufs.len()];
    let mut arena = 0usize;
    let mut busy: Vec<(usize, usize)> = Vec::new();
    for i in idx {
        let b = &bufs[i];
        let need = align_up(b.size).ok_or_else(|| PassError::TooLarge("arena too large".into()))?;
        busy.clear();
        placed.overlapping(b.def, b.last, |j| {
            let off = buf_off[j];
            busy.push((off, off + align_up(bufs[j].size).unwrap_or(usize::MAX)));
        });
        busy.sort_unstable();
        let mut best: Option<(usize, usize)> = None; // (gap size, offset)
        let mut cur = 0usize;
        for &(s, e) in &busy {
            if s > cur {
                let gap = s - cur;
                if gap >= need && best.is_none_or(|(bg, _)| gap < bg) {
                    best = Some((gap, cur));
                }
            }
            cur = cur.max(e);
        }
        let off = match best {
            Some((_, off)) => off,
            None => cur,
        };
        let end = off
            .checked_add(need)
            .ok_or_else(|| PassError::TooLarge("arena too large".into()))?;
        arena = arena.max(end);
        buf_off[i] = off;
        placed.insert(i, b.def, b.last);
    }
    let mut offsets = HashMap::new();
    for (i, b) in bufs.iter().enumerate() {
        for &m in &b.members {
            offsets.insert(m, buf_off[i]);
        }
    }
    let naive_bytes = sizes
        .values()
        .try_fold(0usize, |a, &s| align_up(s).and_then(|s| a.checked_add(s)))
        .ok_or_else(|| PassError::TooLarge("arena too large".into()))?;
    Ok(MemoryPlan {
        order,
        offsets,
        sizes,
        arena_bytes: arena,
        in_place,
        views,
        naive_bytes,
    })
}

/// Checks a plan against the graph: the order is a topological order of
/// every node, every arena tensor has an aligned offset inside the arena,
/// and no two tensors that are live at the same time overlap — except a
/// node and the buffer it reuses in place ([`MemoryPlan::in_place`]), at the
/// same offset, where the reused tensors die at that node (or the node is a
/// flatten view). Returns every violation.
pub fn check(g: &Graph, plan: &MemoryPlan) -> Result<(), Vec<String>> {
    let mut errs = Vec::new();
    let pos: HashMap<NodeId, usize> = plan
        .order
        .iter()
        .enumerate()
        .map(|(i, &n)| (n, i))
        .collect();
    if pos.len() != g.len() || plan.order.len() != g.len() {
        errs.push("the order does not list every node exactly once".into());
    }
    for (&n, &p) in &pos {
        if !g.contains(n) {
            errs.push(format!("the order names a removed node {n}"));
            continue;
        }
        for i in g.inputs(n) {
            if pos.get(&i).is_none_or(|&q| q >= p) {
                errs.push(format!("{n} runs before its input {i}"));
            }
        }
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    let last = last_uses(g, &plan.order);
    let mut tensors = Vec::new();
    for &n in &plan.order {
        if !in_arena(g, n) {
            if plan.offsets.contains_key(&n) {
                errs.push(format!("{n} is an input or output but has an arena offset"));
            }
            continue;
        }
        let Some(&off) = plan.offsets.get(&n) else {
            errs.push(format!("{n} (`{}`) has no offset", g.node(n).name));
            continue;
        };
        let size = match tensor_bytes(g, n) {
            Ok(s) => s,
            Err(e) => {
                errs.push(e.to_string());
                continue;
            }
        };
        if !off.is_multiple_of(ALIGN) {
            errs.push(format!("{n}: offset {off} is not {ALIGN}-byte aligned"));
        }
        if off.checked_add(size).is_none_or(|e| e > plan.arena_bytes) {
            errs.push(format!(
                "{n}: [{off}, +{size}) exceeds the arena of {} bytes",
                plan.arena_bytes
            ));
        }
        tensors.push((n, pos[&n], last[&n], off, size));
    }
    // the in-place group of each node (its root), in execution order so that
    // a node's input already has its root (memoized: following the chain
    // for every pair was quadratic on long in-place chains)
    let mut roots: HashMap<NodeId, NodeId> = HashMap::new();
    for &n in &plan.order {
        let r = match plan.in_place.get(&n) {
            Some(i) => roots.get(i).copied().unwrap_or(*i),
            None => n,
        };
        roots.insert(n, r);
    }
    let root = |n: NodeId| roots.get(&n).copied().unwrap_or(n);
    // Sweep in definition order, comparing each tensor only with the
    // earlier ones still live when it is defined.
    let mut live: Vec<(NodeId, usize, usize, usize, usize)> = Vec::new();
    for &(b, db, lb, ob, sb) in &tensors {
        live.retain(|&(_, _, la, _, _)| la >= db);
        for &(a, da, la, oa, sa) in &live {
            let time = da <= lb && db <= la;
            let mem = oa < ob + sb && ob < oa + sa;
            if !(time && mem) {
                continue;
            }
            // a is defined first (tensors are in order)
            let ok = root(a) == root(b)
                && oa == ob
                && plan.in_place.contains_key(&b)
                && (is_view(g, plan, b) || la == db);
            if !ok {
                errs.push(format!(
                    "{a} (`{}`, steps {da}..={la}, bytes {oa}+{sa}) and {b} (`{}`, steps {db}..={lb}, bytes {ob}+{sb}) overlap",
                    g.node(a).name,
                    g.node(b).name
                ));
            }
        }
        live.push((b, db, lb, ob, sb));
    }
    // an in-place overwrite must happen after every earlier tensor of its buffer died
    for (&n, &i) in &plan.in_place {
        if !is_view(g, plan, n) && !g.inputs(n).contains(&i) {
            errs.push(format!("{n} reuses {i}, which is not its input"));
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs)
    }
}

/// Executes the graph with `eval_node` (the reference interpreter's, in the
/// tests: `nnc_tensor::eval::eval_node`) the way compiled code would under
/// the plan: every arena tensor is written to and read from its byte range
/// of one shared buffer (initialized to NaN), inputs and outputs live in
/// their own buffers. A plan with a wrong overlap corrupts values, so
/// comparing the result with the interpreter's run tests the plan end to end.
pub fn simulate<E: std::fmt::Display>(
    g: &Graph,
    plan: &MemoryPlan,
    inputs: &HashMap<String, Tensor>,
    mut eval_node: impl FnMut(NodeId, &[&Tensor]) -> Result<Tensor, E>,
) -> Result<HashMap<String, Tensor>, PassError> {
    if !plan.arena_bytes.is_multiple_of(4) {
        return Err(PassError::Plan(
            "the arena size is not a multiple of 4".into(),
        ));
    }
    let mut arena = vec![f32::NAN; plan.arena_bytes / 4];
    let mut own: HashMap<NodeId, Tensor> = HashMap::new();
    let read =
        |own: &HashMap<NodeId, Tensor>, arena: &[f32], n: NodeId| -> Result<Tensor, PassError> {
            match plan.offsets.get(&n) {
                Some(&off) => {
                    let len = plan
                        .sizes
                        .get(&n)
                        .copied()
                        .ok_or_else(|| PassError::Plan("missing size".into()))?
                        / 4;
                    let s = arena
                        .get(off / 4..off / 4 + len)
                        .ok_or_else(|| PassError::Plan(format!("{n} lies outside the arena")))?;
                    Ok(Tensor::new(g.node(n).shape.clone(), s.to_vec())?)
                }
                None => own
                    .get(&n)
                    .cloned()
                    .ok_or_else(|| PassError::Plan(format!("{n} has no value"))),
            }
        };
    for &n in &plan.order {
        let v = match &g.node(n).op {
            Op::Input { name } => inputs
                .get(name)
                .cloned()
                .ok_or_else(|| PassError::Plan(format!("no value for input `{name}`")))?,
            _ => {
                let args = g
                    .inputs(n)
                    .iter()
                    .map(|&i| read(&own, &arena, i))
                    .collect::<Result<Vec<_>, _>>()?;
                let refs: Vec<&Tensor> = args.iter().collect();
                eval_node(n, &refs).map_err(|e| PassError::Eval(format!("{n}: {e}")))?
            }
        };
        match plan.offsets.get(&n) {
            Some(&off) => arena
                .get_mut(off / 4..off / 4 + v.len())
                .ok_or_else(|| PassError::Plan(format!("{n} lies outside the arena")))?
                .copy_from_slice(v.data()),
            None => {
                own.insert(n, v);
            }
        }
    }
    g.outputs
        .iter()
        .map(|o| Ok((o.name.clone(), read(&own, &arena, o.node)?)))
        .collect()
}
