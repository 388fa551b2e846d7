//! Every example network elaborates without diagnostics and verifies.

use std::path::Path;

fn elaborate_file(path: &Path, network: Option<&str>) -> nnc_elab::Elaborated {
    let src = std::fs::read_to_string(path).unwrap();
    let (ast, diags) = nnc_syntax::parse(&src);
    assert!(
        diags.is_empty(),
        "{}: parse errors {diags:#?}",
        path.display()
    );
    nnc_elab::elaborate(&ast, network)
}

#[test]
fn all_examples_elaborate() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("nn") {
            continue;
        }
        let src = std::fs::read_to_string(&path).unwrap();
        let (ast, _) = nnc_syntax::parse(&src);
        for net in nnc_elab::networks(&ast) {
            let el = elaborate_file(&path, Some(&net.name.name));
            assert!(
                el.diagnostics.is_empty(),
                "{} / {}: {:#?}",
                path.display(),
                net.name.name,
                el.diagnostics
            );
            let g = el.graph.expect("graph");
            assert!(nnc_ir::verify::verify(&g).is_ok());
            n += 1;
        }
    }
    assert!(n >= 10, "only {n} networks found");
}

/// Every `tests/ui/elab/CODE_*.nn` produces its code (the UI harness checks
/// the full rendered output; this checks the elaborator alone).
#[test]
fn ui_cases_produce_their_code() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/ui/elab");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_str().unwrap().to_string();
        if !file.ends_with(".nn") {
            continue;
        }
        let code = &file[..5];
        let src = std::fs::read_to_string(&path).unwrap();
        let network = src
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("// compile-flags: --network"))
            .map(str::trim);
        let (ast, diags) = nnc_syntax::parse(&src);
        assert!(diags.is_empty(), "{file}: {diags:#?}");
        let el = nnc_elab::elaborate(&ast, network);
        assert!(
            el.diagnostics.iter().any(|d| d.code == code),
            "{file}: {:#?}",
            el.diagnostics
        );
        assert!(
            nnc_diag::codes::lookup(code).is_some(),
            "{code} not in the table"
        );
        n += 1;
    }
    assert!(n >= 40);
}

/// Every elaboration code's explanation says how to fix it.
#[test]
fn every_code_is_explained() {
    for info in nnc_diag::codes::elab::CODES {
        assert!(info.explanation.contains("Fix:"), "{}", info.code);
    }
}
