//! nnc-analysis
