#!/usr/bin/env bash
# The main job: check, analyze and build an example network to a native
# executable, then run and benchmark it. Installs what is missing first.
#   tools/demo.sh [examples/NET.nn]
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
net="${1:-examples/resnet18.nn}"
name="$(basename "$net" .nn)"
cargo build --release -q -p nnc
nnc="${CARGO_TARGET_DIR:-target}/release/nnc"
out="${CARGO_TARGET_DIR:-target}/demo"
mkdir -p "$out"
echo "== nnc check $net"
"$nnc" check "$net"
echo "== nnc analyze $net"
"$nnc" analyze "$net" --plot "$out/$name-roofline.svg"
echo "== nnc build $net -o $out/$name"
"$nnc" build "$net" -o "$out/$name"
echo "== $out/$name (random input, seed 0)"
"$out/$name"
echo "== $out/$name --bench 20"
"$out/$name" --bench 20
