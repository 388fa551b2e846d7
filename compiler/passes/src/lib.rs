//! Graph passes before codegen: one file per pass, the verifier after each.
