//! Debug tool: parses a `.nn` file, prints the AST dump and the diagnostics.
//! `cargo run -p nnc-syntax --example nnparse -- FILE [--quiet]`
use nnc_diag::{render, SourceFile};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: nnparse FILE [--quiet]");
        std::process::exit(2);
    };
    let quiet = args.iter().any(|a| a == "--quiet");
    let bytes = std::fs::read(path).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(2)
    });
    let text = match nnc_syntax::decode(&bytes) {
        Ok(t) => t.to_string(),
        Err(d) => {
            eprintln!("{} {}", d.code, d.message);
            std::process::exit(1)
        }
    };
    let t0 = std::time::Instant::now();
    let (file, diags) = nnc_syntax::parse(&text);
    let dt = t0.elapsed();
    if !quiet {
        print!("{}", nnc_syntax::pretty::dump(&file));
    }
    let sf = SourceFile::new(path.clone(), text.clone());
    for d in diags.iter().take(if quiet { 5 } else { usize::MAX }) {
        eprint!("{}", render::human(d, &sf, false));
    }
    eprintln!(
        "{} items, {} diagnostics, parsed in {:.3?}",
        file.items.len(),
        diags.len(),
        dt
    );
}
