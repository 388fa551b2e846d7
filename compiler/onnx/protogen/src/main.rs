//! Regenerates `compiler/onnx/src/proto/onnx.rs` from the vendored
//! `compiler/onnx/proto/onnx.proto` with protox (a pure-Rust protobuf
//! compiler) and prost-build. Run from the repository root:
//!
//!     cargo run --manifest-path compiler/onnx/protogen/Cargo.toml
//!
//! The generated file is committed so that building nnc needs neither protoc
//! nor this tool.

use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let proto_dir = root.join("proto");
    let out_dir = root.join("src").join("proto");
    let fds = protox::compile([proto_dir.join("onnx.proto")], [&proto_dir])
        .expect("onnx.proto compiles");
    std::fs::create_dir_all(&out_dir).expect("create src/proto");
    prost_build::Config::new()
        .out_dir(&out_dir)
        .compile_fds(fds)
        .expect("prost-build generates the Rust code");
    // prost names the file after the package (`onnx.rs`).
    println!("wrote {}", out_dir.join("onnx.rs").display());
}
