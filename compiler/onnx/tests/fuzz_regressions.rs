//! Inputs found by the `onnx_import` fuzz target (fuzz/): each once made the
//! importer accept a model whose generated source did not compile, or
//! panic. Every file must now be refused with a coded error, or give source
//! that elaborates with weights that fit (the fuzz target's checks).

use std::path::Path;

#[test]
fn fuzz_findings_are_coded_errors_or_sound_imports() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).expect("fuzz_regressions") {
        let p = e.expect("entry").path();
        if p.extension().and_then(|x| x.to_str()) != Some("onnx") {
            continue;
        }
        n += 1;
        let bytes = std::fs::read(&p).expect("read");
        let name = p.display();
        match nnc_onnx::import_bytes(&bytes, None, "fuzz") {
            Err(e) => assert!(e.code.starts_with("E05"), "{name}: {e}"),
            Ok(imp) => {
                let (ast, d) = nnc_syntax::parse(&imp.text);
                assert!(
                    !d.iter().any(|d| d.is_error()),
                    "{name}: {d:?}\n{}",
                    imp.text
                );
                let el = nnc_elab::elaborate(&ast, None);
                assert!(
                    !el.diagnostics.iter().any(|d| d.is_error()),
                    "{name}: {:?}\n{}",
                    el.diagnostics,
                    imp.text
                );
                let g = el.graph.expect("graph");
                let problems = nnc_interp::weights::check_store(&g, &imp.weights);
                assert!(problems.is_empty(), "{name}: {problems:?}");
            }
        }
    }
    assert!(n >= 1, "no regression inputs in {}", dir.display());
}

#[test]
fn batchnorm_with_a_negative_epsilon_is_refused() {
    let p =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions/bn_negative_eps.onnx");
    let e = nnc_onnx::import_bytes(&std::fs::read(p).expect("read"), None, "fuzz")
        .expect_err("a negative epsilon");
    assert_eq!(e.code, "E0503", "{e}");
    assert!(e.message.contains("epsilon"), "{e}");
}

#[test]
fn arithmetic_on_an_empty_constant_is_not_folded() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions/fold_empty_operand.onnx");
    let e = nnc_onnx::import_bytes(&std::fs::read(p).expect("read"), None, "fuzz")
        .expect_err("an empty operand");
    assert!(e.code.starts_with("E05"), "{e}");
}

#[test]
fn a_graph_without_outputs_is_refused() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions/no_outputs.onnx");
    let e = nnc_onnx::import_bytes(&std::fs::read(p).expect("read"), None, "fuzz")
        .expect_err("no outputs");
    assert_eq!(e.code, "E0505", "{e}");
}
