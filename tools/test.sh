#!/usr/bin/env bash
# The whole test suite (what CI runs): installs what is missing, then builds
# and tests every crate of the workspace, including the UI tests, the
# mutation test of the examples, the backend's differential tests and the
# end-to-end executable tests.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
export CARGO_TERM_COLOR=never
cargo build --workspace --all-targets
cargo test --workspace --no-fail-fast
