//! The numeric fixtures of `tests/fixtures/` (PyTorch outputs): elaborate
//! `net.nn`, load its weights, JIT-compile and compare every output with
//! max|d| / max|ref| <= 1e-4.

mod common;

use nnc_interp::fixture::{load_all, root, TOLERANCE};

#[test]
fn fixtures_match_pytorch() {
    let fixtures = load_all(&root()).expect("fixtures");
    assert!(!fixtures.is_empty(), "no fixtures found");
    let mut failures = Vec::new();
    for f in &fixtures {
        let (file, diags) = nnc_syntax::parse(&f.source);
        assert!(
            diags.iter().all(|d| !d.is_error()),
            "{}: parse errors",
            f.name
        );
        let el = nnc_elab::elaborate(&file, None);
        let g = match el.graph {
            Some(g) => g,
            None => panic!("{}: elaboration failed: {:?}", f.name, el.diagnostics),
        };
        let (w, wd) = nnc_interp::weights::load_safetensors_file(&f.weights, &g);
        assert!(
            wd.iter().all(|d| !d.is_error()),
            "{}: weights: {wd:?}",
            f.name
        );
        let mut bufs = Vec::new();
        for &n in &g.inputs {
            let name = match &g.node(n).op {
                nnc_ir::Op::Input { name } => name.clone(),
                _ => unreachable!(),
            };
            bufs.push(f.inputs[&name].data().to_vec());
        }
        let got = match nnc_codegen::testing::run_jit(&g, &w, &bufs, "host", 3) {
            Ok(o) => o,
            Err(e) => {
                failures.push(format!("{}: {e}", f.name));
                continue;
            }
        };
        for (o, buf) in g.outputs.iter().zip(&got) {
            let want = &f.outputs[&o.name];
            let e = common::rel_err(buf, want.data());
            if e.is_nan() || e > TOLERANCE {
                failures.push(format!("{} output {}: rel err {e:e}", f.name, o.name));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
