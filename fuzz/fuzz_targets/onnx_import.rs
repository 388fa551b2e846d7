//! Fuzz target: the ONNX importer (`nnc_onnx::import_bytes`) never panics
//! on any bytes, and what it accepts is sound: the generated `.nn` source
//! parses and elaborates without errors, and the imported weights fit the
//! elaborated graph exactly (the checks `nnc import` makes before writing,
//! which report an importer bug as E0508). Seed it with real models (see
//! `fuzz/seed.sh`): most mutations of a protobuf message still decode.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // no base directory: external data is refused, never read
    let Ok(imp) = nnc_onnx::import_bytes(data, None, "fuzz") else {
        return;
    };
    let (ast, diags) = nnc_syntax::parse(&imp.text);
    assert!(
        !diags.iter().any(|d| d.is_error()),
        "imported source does not parse: {diags:?}\n{}",
        imp.text
    );
    let el = nnc_elab::elaborate(&ast, None);
    assert!(
        !el.diagnostics.iter().any(|d| d.is_error()),
        "imported source does not elaborate: {:?}\n{}",
        el.diagnostics,
        imp.text
    );
    let g = el.graph.expect("a graph without errors");
    let problems = nnc_interp::weights::check_store(&g, &imp.weights);
    assert!(
        problems.is_empty(),
        "imported weights do not fit: {problems:?}\n{}",
        imp.text
    );
});
