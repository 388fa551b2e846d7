//! The diagnostic codes the elaborator emits: the constants of the one code
//! table, `nnc_diag::codes::elab`, re-exported so that the elaborator names
//! them `codes::UNKNOWN_NAME`.

pub use nnc_diag::codes::elab::*;
