//! nnc-lints
