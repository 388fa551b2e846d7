//! nnc-interp
