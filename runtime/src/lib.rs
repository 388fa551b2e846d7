//! nnc runtime
