//! Each `tests/ui/syntax/EXXXX_*.nn` file triggers exactly its code, once
//! (`E0009`, the cap on reported errors, comes after many other errors).
//! (The driver's harness checks the rendered output against `.stderr` files.)

#[test]
fn each_ui_case_triggers_exactly_its_code() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/ui/syntax");
    let mut n = 0;
    let mut seen = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(&dir).expect("tests/ui/syntax") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("nn") {
            continue;
        }
        let name = path
            .file_name()
            .and_then(|s| s.to_str())
            .unwrap_or("")
            .to_string();
        let want = &name[..5];
        let bytes = std::fs::read(&path).expect("read");
        let codes: Vec<&str> = match nnc_syntax::decode(&bytes) {
            Err(d) => vec![d.code],
            Ok(src) => nnc_syntax::parse(src).1.iter().map(|d| d.code).collect(),
        };
        if want == "E0009" {
            // the cap on reported errors: many errors, then one E0009 note
            assert_eq!(codes.last(), Some(&"E0009"), "{name}");
            assert_eq!(codes.iter().filter(|c| **c == "E0009").count(), 1);
        } else {
            assert_eq!(codes, vec![want], "{name}");
        }
        seen.insert(want.to_string());
        n += 1;
    }
    // every syntax code has a case
    for c in nnc_diag::codes::all().filter(|c| c.code.starts_with("E00")) {
        assert!(seen.contains(c.code), "no UI case for {}", c.code);
    }
    assert!(n >= 20);
}
