//! Build cost follows the number of *distinct* kernels, not the number of
//! layers: steps whose kernels differ only in where their weights are share
//! one LLVM function (`llvm::KernelKey`), and the shared functions still read
//! each layer's own weights.

use inkwell::context::Context;
use nnc_codegen::llvm::{self, WeightsEmbed};
use nnc_codegen::{plan_graph, prepare};
use nnc_interp::weights::init_random;
use nnc_ir::Graph;

fn deep(kind: &str, n: usize) -> Graph {
    let mut src = String::new();
    match kind {
        "conv" => {
            src.push_str("network deep { input x: [1, 8, 6, 6];\n let r0 = x;\n");
            for i in 0..n {
                src.push_str(&format!(
                    "let c{i} = conv2d(r{i}, out = 8, kernel = 3, pad = 1, bias = false, name = \"l{i}.conv\");\n\
                     let b{i} = batchnorm(c{i}, name = \"l{i}.bn\");\n\
                     let r{} = relu(b{i});\n",
                    i + 1
                ));
            }
        }
        _ => {
            src.push_str("network deep { input x: [1, 64];\n let r0 = x;\n");
            for i in 0..n {
                src.push_str(&format!("let r{} = relu(r{i});\n", i + 1));
            }
        }
    }
    src.push_str(&format!("output y = r{n};\n}}\n"));
    let (file, diags) = nnc_syntax::parse(&src);
    assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
    let el = nnc_elab::elaborate(&file, None);
    el.graph.expect("the deep network elaborates")
}

/// Kernel functions (`nk*`) and all functions defined in the module of `g`.
fn function_counts(g: &Graph) -> (usize, usize, usize) {
    let w = init_random(g, 1);
    let prep = prepare(g, &w).expect("prepare");
    let plan = plan_graph(&prep, true).expect("plan");
    let tm = llvm::target_machine("x86-64-v3", 3).expect("target machine");
    let ctx = Context::create();
    let meta = llvm::meta_text(&g.name, &plan, &|_| 0.0);
    let m = llvm::build_module(&ctx, &plan, &meta, &tm, "x86-64-v3", WeightsEmbed::Constant)
        .expect("module");
    let defined: Vec<String> = m
        .get_functions()
        .filter(|f| f.count_basic_blocks() > 0)
        .map(|f| f.get_name().to_string_lossy().into_owned())
        .collect();
    let kernels = defined.iter().filter(|n| n.starts_with("nk")).count();
    (plan.steps.len(), kernels, defined.len())
}

#[test]
fn identical_layers_share_their_kernel_functions() {
    let (steps, kernels, defined) = function_counts(&deep("conv", 300));
    assert_eq!(steps, 300, "conv+bn+relu fuse into one step per layer");
    assert!(
        kernels <= 8 && defined <= 10,
        "300 identical layers gave {kernels} kernel functions ({defined} defined)"
    );
    let (steps, kernels, _) = function_counts(&deep("relu", 2000));
    assert!(steps >= 1, "the relu chain has steps");
    assert!(kernels <= 4, "2000 relus gave {kernels} kernel functions");
}

#[test]
fn shared_kernels_read_each_layers_own_weights() {
    // Random (non-identity) batchnorm and conv weights per layer: a shared
    // function reading the first layer's weights for every layer would give
    // a different result.
    let g = deep("conv", 12);
    let w = init_random(&g, 7);
    let x: Vec<f32> = (0..8 * 36)
        .map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0)
        .collect();
    let want = nnc_interp::run(
        &g,
        &w,
        &[(
            "x".to_string(),
            nnc_interp::Tensor::new(vec![1, 8, 6, 6], x.clone()).unwrap(),
        )]
        .into_iter()
        .collect(),
    )
    .expect("interpreter");
    let got = nnc_codegen::testing::run_jit(&g, &w, &[x], "host", 3).expect("jit");
    let want = want.get("y").expect("output y").data().to_vec();
    let scale = want.iter().fold(0f32, |a, v| a.max(v.abs())).max(1e-6);
    let err = got[0]
        .iter()
        .zip(&want)
        .fold(0f32, |a, (p, q)| a.max((p - q).abs()));
    assert!(err / scale <= 1e-4, "max rel error {}", err / scale);
}
