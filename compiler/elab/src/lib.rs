//! Elaboration: AST → graph IR. Inlines blocks, evaluates compile-time values,
//! unrolls loops, names weights, infers shapes.
