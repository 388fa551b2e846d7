//! The importer's driver: decode the model, check it (opset, inputs with
//! static shapes, defined values, no cycles), walk the nodes in dependency
//! order folding constants and translating the rest (see [`crate::ops`]),
//! and print the `.nn` text.

use crate::attrs::NodeRef;
use crate::error::Error;
use crate::fold::{self, In};
use crate::naming::{clean_scope, Idents, WeightNames};
use crate::proto::onnx::{type_proto, ModelProto};
use crate::tensor;
use nnc_diag::codes::{build, onnx as code};
use nnc_interp::weights::WeightStore;
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;

/// The opsets of the default domain the importer accepts.
pub const MIN_OPSET: i64 = 13;
pub const MAX_OPSET: i64 = 21;

/// The result of an import: the `.nn` source and the weights by the names
/// that source uses.
#[derive(Debug)]
pub struct Imported {
    pub text: String,
    pub weights: WeightStore,
    pub network: String,
    /// What structure was recovered (blocks, loops), or why none was.
    pub structure: String,
}

/// Choices of the caller that change what is imported.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Shapes given for the graph's inputs (`--input-shape NAME=D0,D1,...`):
    /// they replace the declared shapes, so inputs with symbolic or missing
    /// dimensions (`dynamic_axes`) can be imported. `name: None` stands for
    /// the only input of a single-input model.
    pub input_shapes: Vec<InputShape>,
}

/// One `--input-shape`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputShape {
    pub name: Option<String>,
    pub dims: Vec<usize>,
}

/// Why an `--input-shape` argument cannot be parsed (`arg` is the whole
/// argument).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputShapeError {
    /// `=NAME...`: the name before `=` is empty.
    EmptyName { arg: String },
    /// `dim` is not a positive integer.
    BadDim { arg: String, dim: String },
}

impl std::fmt::Display for InputShapeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InputShapeError::EmptyName { arg } => {
                write!(f, "`{arg}`: the input name before `=` is empty")
            }
            InputShapeError::BadDim { arg, dim } => write!(
                f,
                "`{arg}`: `{dim}` is not a positive dimension (expected NAME=D0,D1,..., e.g. input=1,3,224,224)"
            ),
        }
    }
}

impl std::error::Error for InputShapeError {}

impl std::str::FromStr for InputShape {
    type Err = InputShapeError;

    /// `NAME=1,3,224,224`, `NAME:1x3x224x224`, or (single-input models) `1,3,224,224`.
    fn from_str(s: &str) -> Result<InputShape, InputShapeError> {
        let (name, dims) = match s.rfind(['=', ':']) {
            Some(i) => (Some(s[..i].to_string()), &s[i + 1..]),
            None => (None, s),
        };
        if name.as_deref() == Some("") {
            return Err(InputShapeError::EmptyName { arg: s.to_string() });
        }
        let dims: Result<Vec<usize>, InputShapeError> = dims
            .split([',', 'x'])
            .map(|d| match d.trim().parse::<usize>() {
                Ok(v) if v > 0 => Ok(v),
                _ => Err(InputShapeError::BadDim {
                    arg: s.to_string(),
                    dim: d.to_string(),
                }),
            })
            .collect();
        Ok(InputShape { name, dims: dims? })
    }
}

pub use crate::ctx::{Ctx, Stmt, Val};

/// Imports a model from its bytes. `base` is the directory of the model
/// file (for external data), `file_stem` names the network when the graph
/// has no usable name.
pub fn import_bytes(bytes: &[u8], base: Option<&Path>, file_stem: &str) -> Result<Imported, Error> {
    import_bytes_with(bytes, base, file_stem, &Options::default())
}

/// [`import_bytes`] with [`Options`].
pub fn import_bytes_with(
    bytes: &[u8],
    base: Option<&Path>,
    file_stem: &str,
    opts: &Options,
) -> Result<Imported, Error> {
    let model = crate::proto::decode_model(bytes)?;
    import_model_with(&model, base, file_stem, opts)
}

/// Reads and imports a model file (`E0400` when it cannot be read).
pub fn import_file(path: &Path) -> Result<Imported, Error> {
    import_file_with(path, &Options::default())
}

/// [`import_file`] with [`Options`].
pub fn import_file_with(path: &Path, opts: &Options) -> Result<Imported, Error> {
    let bytes = std::fs::read(path).map_err(|e| {
        Error::new(
            build::READ_FAILED,
            format!("cannot read `{}`: {e}", path.display()),
        )
    })?;
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("model");
    import_bytes_with(&bytes, path.parent(), stem, opts)
}

fn check_opset(model: &ModelProto) -> Result<i64, Error> {
    let mut v = None;
    for o in &model.opset_import {
        match o.domain.as_deref() {
            None | Some("") | Some("ai.onnx") => v = o.version,
            Some(d) => {
                return Err(Error::new(
                    code::UNSUPPORTED_OPSET,
                    format!("the model imports the operator set domain `{d}`; nnc imports only the default ONNX domain"),
                ))
            }
        }
    }
    let v = v.ok_or_else(|| {
        Error::new(
            code::UNSUPPORTED_OPSET,
            "the model declares no default-domain opset",
        )
    })?;
    if !(MIN_OPSET..=MAX_OPSET).contains(&v) {
        return Err(Error::new(
            code::UNSUPPORTED_OPSET,
            format!("the model uses opset {v}; nnc imports opsets {MIN_OPSET} to {MAX_OPSET} (re-export with `opset_version=17`)"),
        ));
    }
    Ok(v)
}

/// Node indices in dependency order; `E0505` for undefined values and cycles.
fn order(
    model_nodes: &[crate::proto::onnx::NodeProto],
    known: &HashSet<String>,
) -> Result<Vec<usize>, Error> {
    let mut producer: HashMap<&str, usize> = HashMap::new();
    for (i, n) in model_nodes.iter().enumerate() {
        for o in &n.output {
            if o.is_empty() {
                continue;
            }
            if known.contains(o) || producer.insert(o.as_str(), i).is_some() {
                return Err(Error::new(
                    code::MALFORMED_GRAPH,
                    format!(
                        "the value `{o}` is defined more than once (node `{}`)",
                        n.name.clone().unwrap_or_default()
                    ),
                ));
            }
        }
    }
    let mut indeg = vec![0usize; model_nodes.len()];
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); model_nodes.len()];
    for (i, n) in model_nodes.iter().enumerate() {
        if n.attribute
            .iter()
            .any(|a| a.g.is_some() || !a.graphs.is_empty())
        {
            return Err(Error::new(
                code::UNSUPPORTED_OP,
                format!(
                    "op `{}` (node `{}`) has a subgraph (control flow); nnc networks are static graphs",
                    n.op_type.clone().unwrap_or_default(),
                    n.name.clone().unwrap_or_default()
                ),
            ));
        }
        for inp in &n.input {
            if inp.is_empty() || known.contains(inp) {
                continue;
            }
            match producer.get(inp.as_str()) {
                Some(&p) => {
                    indeg[i] += 1;
                    succ[p].push(i);
                }
                None => {
                    return Err(Error::new(
                        code::MALFORMED_GRAPH,
                        format!(
                            "node `{}` ({}) uses the value `{inp}`, which no node, input or initializer defines",
                            n.name.clone().unwrap_or_default(),
                            n.op_type.clone().unwrap_or_default()
                        ),
                    ))
                }
            }
        }
    }
    let mut q: VecDeque<usize> = (0..model_nodes.len()).filter(|&i| indeg[i] == 0).collect();
    let mut out = Vec::with_capacity(model_nodes.len());
    while let Some(i) = q.pop_front() {
        out.push(i);
        for &s in &succ[i] {
            indeg[s] -= 1;
            if indeg[s] == 0 {
                q.push_back(s);
            }
        }
    }
    if out.len() != model_nodes.len() {
        let stuck: Vec<String> = (0..model_nodes.len())
            .filter(|&i| indeg[i] > 0)
            .take(5)
            .map(|i| {
                format!(
                    "`{}`",
                    model_nodes[i]
                        .name
                        .clone()
                        .unwrap_or_else(|| format!("#{i}"))
                )
            })
            .collect();
        return Err(Error::new(
            code::MALFORMED_GRAPH,
            format!(
                "the graph has a cycle through the nodes {}",
                stuck.join(", ")
            ),
        ));
    }
    Ok(out)
}

/// The shape of a graph input: the one given with `--input-shape` (same
/// rank as the declared shape, when there is one), else the declared one,
/// which must then be static.
fn input_shape(
    vi: &crate::proto::onnx::ValueInfoProto,
    given: Option<&[usize]>,
) -> Result<Vec<usize>, Error> {
    let name = vi.name.clone().unwrap_or_default();
    let Some(type_proto::Value::TensorType(t)) = vi.r#type.as_ref().and_then(|t| t.value.as_ref())
    else {
        return Err(Error::new(
            code::DYNAMIC_INPUT,
            format!("input `{name}` is not a tensor"),
        ));
    };
    if let Some(et) = t.elem_type {
        if et != tensor::dtype::FLOAT {
            return Err(Error::new(
                code::DYNAMIC_INPUT,
                format!(
                    "input `{name}` has element type {}; nnc networks take float32 inputs",
                    tensor::dtype_name(et)
                ),
            ));
        }
    }
    let Some(shape) = &t.shape else {
        return match given {
            Some(g) => Ok(g.to_vec()),
            None => Err(Error::new(
                code::DYNAMIC_INPUT,
                format!(
                    "input `{name}` has no shape; give one with `--input-shape {name}=D0,D1,...`"
                ),
            )),
        };
    };
    if let Some(g) = given {
        if g.len() != shape.dim.len() {
            return Err(Error::new(
                code::INPUT_SHAPE_FLAG,
                format!(
                    "--input-shape gives input `{name}` {} dimensions; the model declares {}",
                    g.len(),
                    shape.dim.len()
                ),
            ));
        }
        return Ok(g.to_vec());
    }
    let mut dims = Vec::new();
    for (i, d) in shape.dim.iter().enumerate() {
        use crate::proto::onnx::tensor_shape_proto::dimension::Value as D;
        match &d.value {
            Some(D::DimValue(v)) if *v > 0 => dims.push(*v as usize),
            Some(D::DimParam(p)) => {
                return Err(Error::new(
                    code::DYNAMIC_INPUT,
                    format!("dimension {i} of input `{name}` is the symbol `{p}` without a size; give the input's shape with `--input-shape {name}=D0,D1,...`, or export the model with a static shape (without `dynamic_axes`)"),
                ))
            }
            _ => {
                return Err(Error::new(
                    code::DYNAMIC_INPUT,
                    format!("dimension {i} of input `{name}` has no size; give the input's shape with `--input-shape {name}=D0,D1,...`"),
                ))
            }
        }
    }
    Ok(dims)
}

pub fn import_model(
    model: &ModelProto,
    base: Option<&Path>,
    file_stem: &str,
) -> Result<Imported, Error> {
    import_model_with(model, base, file_stem, &Options::default())
}

/// The inputs of the graph that are not initializers, by name.
fn real_inputs<'g>(
    graph: &'g crate::proto::onnx::GraphProto,
    initializers: &HashSet<String>,
) -> Vec<&'g crate::proto::onnx::ValueInfoProto> {
    graph
        .input
        .iter()
        .filter(|vi| !initializers.contains(vi.name.as_deref().unwrap_or_default()))
        .collect()
}

/// Matches the `--input-shape`s to the graph's inputs: each names an
/// input (or, unnamed, the only one) at most once (`E0509`).
fn given_shapes<'o>(
    inputs: &[&crate::proto::onnx::ValueInfoProto],
    opts: &'o Options,
) -> Result<HashMap<String, &'o [usize]>, Error> {
    let names: Vec<String> = inputs
        .iter()
        .map(|vi| vi.name.clone().unwrap_or_default())
        .collect();
    let list = || {
        names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = HashMap::new();
    for s in &opts.input_shapes {
        let name = match &s.name {
            Some(n) if names.contains(n) => n.clone(),
            Some(n) => {
                return Err(Error::new(
                    code::INPUT_SHAPE_FLAG,
                    format!("--input-shape names `{n}`, which is not an input of the model (its inputs: {})", list()),
                ))
            }
            None if names.len() == 1 => names[0].clone(),
            None => {
                return Err(Error::new(
                    code::INPUT_SHAPE_FLAG,
                    format!("--input-shape without a name fits only a model with one input; this one has {} ({}): write NAME=D0,D1,...", names.len(), list()),
                ))
            }
        };
        if out.insert(name.clone(), s.dims.as_slice()).is_some() {
            return Err(Error::new(
                code::INPUT_SHAPE_FLAG,
                format!("--input-shape gives input `{name}` twice"),
            ));
        }
    }
    Ok(out)
}

/// [`import_model`] with [`Options`].
pub fn import_model_with(
    model: &ModelProto,
    base: Option<&Path>,
    file_stem: &str,
    opts: &Options,
) -> Result<Imported, Error> {
    let opset = check_opset(model)?;
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| Error::new(code::NOT_ONNX, "the model has no graph"))?;
    let mut ctx = Ctx {
        vals: HashMap::new(),
        idents: Idents::default(),
        wnames: WeightNames::default(),
        weights: WeightStore::new(),
        stmts: Vec::new(),
        users: HashMap::new(),
        nodes: &graph.node,
        done: HashSet::new(),
        graph_outputs: graph.output.iter().filter_map(|o| o.name.clone()).collect(),
        initializer_names: HashSet::new(),
        origin: HashMap::new(),
        literals: HashSet::new(),
    };
    for t in &graph.initializer {
        let name = t.name.clone().unwrap_or_default();
        let c = tensor::decode(t, base)?;
        ctx.initializer_names.insert(name.clone());
        ctx.vals.insert(name, Val::Const(c));
    }
    if !graph.sparse_initializer.is_empty() {
        return Err(Error::new(
            code::BAD_TENSOR,
            "the model has sparse initializers, which nnc does not import",
        ));
    }
    let mut inputs = Vec::new();
    // initializers may also be listed as inputs (IR < 4 style)
    let real = real_inputs(graph, &ctx.initializer_names);
    let given = given_shapes(&real, opts)?;
    for vi in real {
        let name = vi.name.clone().unwrap_or_default();
        let shape = input_shape(vi, given.get(&name).copied())?;
        let ident = ctx.bind(&name, &name, shape.clone());
        inputs.push((ident, shape));
    }
    if inputs.is_empty() {
        return Err(Error::new(
            code::DYNAMIC_INPUT,
            "the graph has no (non-initializer) input",
        ));
    }
    let known: HashSet<String> = ctx.vals.keys().cloned().collect();
    let order = order(&graph.node, &known)?;
    for (i, n) in graph.node.iter().enumerate() {
        for inp in &n.input {
            ctx.users.entry(inp.clone()).or_default().push(i);
        }
    }
    for i in order {
        if ctx.done.contains(&i) {
            continue;
        }
        let n = NodeRef {
            node: &graph.node[i],
            index: i,
        };
        if !matches!(n.node.domain.as_deref(), None | Some("") | Some("ai.onnx")) {
            return Err(Error::new(
                code::UNSUPPORTED_OP,
                format!(
                    "{} is in the domain `{}`, which nnc does not support",
                    n.describe(),
                    n.node.domain.clone().unwrap_or_default()
                ),
            ));
        }
        let ins: Vec<In> = (0..n.node.input.len())
            .map(|k| match ctx.vals.get(n.input(k)) {
                _ if n.input(k).is_empty() => In::Missing,
                Some(Val::Const(c)) => In::Const(c),
                Some(Val::T { shape, .. }) => In::Tensor(shape),
                None => In::Missing,
            })
            .collect();
        if let Some(outs) = fold::fold(&n, &ins)? {
            if n.op() == "Transpose" {
                let src = n.input(0);
                let from = ctx
                    .origin
                    .get(src)
                    .cloned()
                    .or_else(|| ctx.initializer_names.contains(src).then(|| src.to_string()));
                if let (Some(f), Some(o)) = (from, n.node.output.first()) {
                    ctx.origin.insert(o.clone(), f);
                }
            }
            let literal = (0..n.node.input.len()).all(|k| {
                let i = n.input(k);
                i.is_empty()
                    || ctx.literals.contains(i)
                    || matches!(ctx.vals.get(i), Some(Val::T { .. }))
            });
            for (o, c) in n.node.output.iter().zip(outs) {
                if literal {
                    ctx.literals.insert(o.clone());
                }
                ctx.vals.insert(o.clone(), Val::Const(c));
            }
            continue;
        }
        crate::ops::translate(&mut ctx, &n, opset)?;
    }
    // outputs
    if graph.output.is_empty() {
        return Err(Error::new(
            code::MALFORMED_GRAPH,
            "the graph declares no outputs; an nnc network needs at least one",
        ));
    }
    let mut out_lines = Vec::new();
    let mut out_names = HashSet::new();
    let mut out_idents = Vec::new();
    for o in &graph.output {
        let name = o.name.clone().unwrap_or_default();
        let ident = match ctx.vals.get(&name) {
            Some(Val::T { ident, .. }) => ident.clone(),
            Some(Val::Const(_)) => {
                return Err(Error::new(
                    code::UNSUPPORTED_FORM,
                    format!(
                        "the graph output `{name}` is a constant; nnc outputs are computed tensors"
                    ),
                ))
            }
            None => {
                return Err(Error::new(
                    code::MALFORMED_GRAPH,
                    format!("the graph output `{name}` is not defined"),
                ))
            }
        };
        let mut oname = ctx.idents.fresh(&name);
        if !out_names.insert(oname.clone()) {
            oname = ctx.idents.fresh(&format!("{oname}_out"));
        }
        out_lines.push(format!("    output {oname} = {ident};"));
        out_idents.push(ident);
    }
    let network = {
        let g = graph.name.clone().unwrap_or_default();
        let cand = clean_scope(&g).map(|s| s.replace('.', "_")).filter(|s| {
            !s.is_empty()
                && !s.starts_with(|c: char| c.is_ascii_digit())
                && s != "main_graph"
                && s != "torch_jit"
        });
        let stem = clean_scope(file_stem)
            .map(|s| s.replace('.', "_"))
            .unwrap_or_else(|| "model".into());
        let stem = if stem.starts_with(|c: char| c.is_ascii_digit()) {
            format!("m{stem}")
        } else {
            stem
        };
        cand.unwrap_or(stem)
    };
    let header = format!(
        "// Imported from ONNX by `nnc import` (producer: {} {}, opset {opset}).\n// Each statement ends with the name of the ONNX node it came from.\n\n",
        model.producer_name.clone().unwrap_or_else(|| "unknown".into()),
        model.producer_version.clone().unwrap_or_default(),
    );
    let render = |blocks: &str, lines: &[(String, String)]| {
        let mut text = header.clone();
        text.push_str(blocks);
        text.push_str(&format!("network {network} {{\n"));
        for (ident, shape) in &inputs {
            let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
            text.push_str(&format!("    input {ident}: [{}];\n", dims.join(", ")));
        }
        for (t, node) in lines {
            if node.is_empty() {
                text.push_str(&format!("    {t}\n"));
            } else {
                text.push_str(&format!("    {t}  // {}\n", node.replace('\n', " ")));
            }
        }
        for l in &out_lines {
            text.push_str(l);
            text.push('\n');
        }
        text.push_str("}\n");
        text
    };
    let flat_lines: Vec<(String, String)> = ctx
        .stmts
        .iter()
        .map(|s| (s.text.clone(), s.node.clone()))
        .collect();
    let flat = render("", &flat_lines);
    let input_idents: Vec<String> = inputs.iter().map(|(i, _)| i.clone()).collect();
    let (text, structure) = structured(
        &ctx.stmts,
        &input_idents,
        &out_idents,
        flat,
        |defs, lines| {
            let lines: Vec<(String, String)> =
                lines.iter().map(crate::blocks::Line::render).collect();
            render(defs, &lines)
        },
    );
    Ok(Imported {
        text,
        weights: ctx.weights,
        network,
        structure,
    })
}

/// The block-structured source when repeated structures are found and the
/// rewrite elaborates to the same graph as the flat source (the shortest
/// such rewrite over instance depths 1 to 3), else the flat source; and a
/// sentence saying which.
fn structured(
    stmts: &[Stmt],
    inputs: &[String],
    outputs: &[String],
    flat: String,
    render: impl Fn(&str, &[crate::blocks::Line]) -> String,
) -> (String, String) {
    if !stmts
        .iter()
        .any(|s| crate::naming::scope_of_node(&s.node).is_some_and(|sc| sc.contains('.')))
    {
        return (
            flat,
            "no blocks: the node names carry no module paths (like `/layer1/layer1.0/conv1/Conv` or `layer1.0.conv1`) to find repeated instances by".into(),
        );
    }
    let Some(reference) = fingerprint(&flat) else {
        return (flat, "no blocks: the flat source does not elaborate".into());
    };
    let mut best: Option<(usize, String, crate::blocks::Summary)> = None;
    let mut rejected = 0;
    let mut found = false;
    for depth in [1, 2, 3] {
        let Some(r) = crate::blocks::recover(stmts, inputs, outputs, depth) else {
            continue;
        };
        found = true;
        let cand = render(&r.defs, &r.lines);
        if fingerprint(&cand).as_ref() != Some(&reference) {
            rejected += 1;
            continue;
        }
        let n = cand.lines().count();
        if best.as_ref().is_none_or(|(m, _, _)| n < *m) {
            best = Some((n, cand, r.summary));
        }
    }
    match best {
        Some((_, text, s)) => (
            text,
            format!(
                "{} block{} ({} parameter{}) for {} instances, {} loop{}",
                s.blocks,
                if s.blocks == 1 { "" } else { "s" },
                s.parameters,
                if s.parameters == 1 { "" } else { "s" },
                s.instances,
                s.loops,
                if s.loops == 1 { "" } else { "s" }
            ),
        ),
        None if found => (
            flat,
            format!("no blocks: {rejected} block rewrite(s) did not elaborate to the same graph and were dropped"),
        ),
        None => (flat, "no blocks: no two module instances are isomorphic".into()),
    }
}

/// The graph a source elaborates to, as comparable data: in topological
/// order, each node's op, shape, weight name and input positions.
type Fingerprint = Vec<(String, Vec<usize>, String, Vec<usize>)>;

fn fingerprint(src: &str) -> Option<Fingerprint> {
    let (ast, d) = nnc_syntax::parse(src);
    if d.iter().any(|d| d.is_error()) {
        return None;
    }
    let el = nnc_elab::elaborate(&ast, None);
    if el.diagnostics.iter().any(|d| d.is_error()) {
        return None;
    }
    let g = el.graph?;
    let order = g.topo_order()?;
    let pos: HashMap<_, usize> = order.iter().enumerate().map(|(i, &id)| (id, i)).collect();
    Some(
        order
            .iter()
            .map(|&id| {
                let n = g.node(id);
                let w = if n.op.has_weights() {
                    n.name.clone()
                } else {
                    String::new()
                };
                let ins = g.inputs(id).iter().map(|i| pos[i]).collect();
                (format!("{:?}", n.op), n.shape.clone(), w, ins)
            })
            .collect(),
    )
}
