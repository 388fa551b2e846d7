//! `nnc calibrate`: measure this machine (cached for `--platform host`).

use crate::exit;

pub fn run(json: bool) -> u8 {
    let _ = json;
    eprintln!("error: calibration is not wired in yet");
    exit::ICE
}
