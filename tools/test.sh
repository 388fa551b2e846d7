#!/usr/bin/env bash
# The whole test suite (what CI runs): installs what is missing, then builds
# and tests every crate of the workspace, including the UI tests, the
# mutation test of the examples, the backend's differential tests and the
# end-to-end executable tests, the module import-circle check, and the ONNX-only interop checks
# (onnx.checker and ONNX Runtime; tools/setup.sh installs their small venv;
# NNC_ONNX_CHECKS=0 skips them). The torch checks stay opt-in
# (NNC_PYTHON_INTEROP=1).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
export NNC_ONNX_CHECKS="${NNC_ONNX_CHECKS:-1}"
export CARGO_TERM_COLOR=never
python3 tools/module_cycles.py   # no import circles between the modules of a crate
cargo build --workspace --all-targets
cargo test --workspace --no-fail-fast
