//! Fuzz target: the safetensors weights reader
//! (`nnc_interp::weights::load_safetensors`) never panics and never
//! allocates what the file merely declares, on any bytes, against a fixed
//! small graph (a conv, a batchnorm and a linear layer, so that shapes,
//! dtypes, missing and unused keys are all reachable). When it accepts the
//! file, the store passes `check_store` for exactly the keys it loaded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const NET: &str = r#"network fuzz_weights {
    input x: [1, 3, 9, 9];
    let c = conv2d(x, out = 8, kernel = 3, pad = 1, name = "conv");
    let b = batchnorm(c, name = "bn");
    output y = linear(flatten(b), out = 4, name = "fc");
}
"#;

fn graph() -> &'static nnc_ir::Graph {
    static G: OnceLock<nnc_ir::Graph> = OnceLock::new();
    G.get_or_init(|| {
        let (ast, diags) = nnc_syntax::parse(NET);
        assert!(diags.is_empty(), "{diags:?}");
        nnc_elab::elaborate(&ast, None)
            .graph
            .expect("the fuzz network elaborates")
    })
}

fuzz_target!(|data: &[u8]| {
    let g = graph();
    let (store, diags) = nnc_interp::weights::load_safetensors(data, g);
    let errors = diags
        .iter()
        .filter(|d| d.level == nnc_diag::Level::Error)
        .count();
    if errors == 0 {
        assert!(
            nnc_interp::weights::check_store(g, &store).is_empty(),
            "accepted weights do not fit the graph"
        );
    }
    for (k, t) in store.iter() {
        assert_eq!(
            t.len(),
            t.shape().iter().product::<usize>(),
            "tensor `{k}`"
        );
    }
});
