//! nnc-codegen
