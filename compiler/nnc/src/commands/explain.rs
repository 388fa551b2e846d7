//! `nnc explain CODE`: the long explanation of a diagnostic code or a lint.

use crate::exit;

pub fn run(code: &str) -> u8 {
    if let Some(info) = nnc_diag::codes::lookup(code) {
        println!("{}: {}\n\n{}", info.code, info.title, info.explanation);
        return exit::OK;
    }
    let known: Vec<&str> = nnc_diag::codes::all().map(|c| c.code).collect();
    eprintln!("error: `{code}` is not a known diagnostic code or lint");
    if let Some(s) = nnc_diag::suggest::did_you_mean(code, known.iter().copied()) {
        eprintln!("help: did you mean `{s}`?");
    }
    exit::USAGE
}
