//! `nnc explain CODE`: the long explanation of a diagnostic code or a lint
//! (by name or `L` code).

use crate::exit;
use crate::output::outln;

pub fn run(code: &str) -> u8 {
    if let Some(info) = nnc_diag::codes::lookup(code) {
        outln!("{}: {}\n\n{}", info.code, info.title, info.explanation);
        return exit::OK;
    }
    if let Some(m) = nnc_lints::lookup(code) {
        outln!(
            "{} ({}): {}\n\ndefault level: {:?}; groups: {}\n\n{}",
            m.name,
            m.code,
            m.summary,
            m.default,
            m.groups.join(", "),
            m.docs
        );
        return exit::OK;
    }
    let known: Vec<&str> = nnc_diag::codes::all()
        .map(|c| c.code)
        .chain(nnc_lints::registry().iter().map(|l| l.meta().name))
        .collect();
    eprintln!("error: `{code}` is not a known diagnostic code or lint");
    if let Some(s) = nnc_diag::suggest::did_you_mean(code, known.iter().copied()) {
        eprintln!("help: did you mean `{s}`?");
    }
    exit::USAGE
}
