//! A stand-in for `nnc analyze` while developing the analysis crate:
//! `cargo run -p nnc-analysis --example analyze -- FILE.nn [PLATFORM] [--json] [--plot OUT.svg] [--sort KEY]`
use nnc_analysis::{analyze, platform};
use nnc_diag::SourceFile;
use nnc_report::{render_table, SortKey};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let file = args
        .first()
        .expect("usage: analyze FILE.nn [PLATFORM] [--json] [--plot OUT.svg]");
    let mut plat = platform::DEFAULT.to_string();
    let mut json = false;
    let mut plot = None;
    let mut sort = SortKey::Order;
    let mut i = 1;
    while i < args.len() {
        match args[i].as_str() {
            "--json" => json = true,
            "--plot" => {
                i += 1;
                plot = args.get(i).cloned();
            }
            "--sort" => {
                i += 1;
                sort = args[i].parse().unwrap();
            }
            p => plat = p.to_string(),
        }
        i += 1;
    }
    let text = std::fs::read_to_string(file).unwrap();
    let (ast, diags) = nnc_syntax::parse(&text);
    assert!(diags.is_empty(), "{diags:#?}");
    let el = nnc_elab::elaborate(&ast, None);
    let g = el.graph.expect("elaboration failed");
    // the example never writes the calibration cache
    let p = platform::resolve(&plat, &|_, _| Ok(())).unwrap();
    let a = analyze(&g, &p).unwrap();
    if json {
        let src = SourceFile::new(file.as_str(), text);
        println!(
            "{}",
            serde_json::to_string_pretty(&a.to_json(&g, &src)).unwrap()
        );
    } else {
        print!("{}", render_table(&a, &g, sort, false));
    }
    if let Some(out) = plot {
        nnc_report::plot_roofline(&a, &g, std::path::Path::new(&out)).unwrap();
    }
}
