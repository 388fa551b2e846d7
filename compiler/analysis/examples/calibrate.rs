//! Runs the host calibration and prints it as JSON (does not touch the
//! cache). `cargo run --release -p nnc-analysis --example calibrate`
fn main() {
    let c = nnc_analysis::calibrate();
    println!("{}", serde_json::to_string_pretty(&c).unwrap());
}
