#!/usr/bin/env bash
# Installs what nnc needs to build on Debian/Ubuntu, when it is missing:
# LLVM 19 (llvm-19-dev, for the inkwell backend), a C compiler (the linker
# driver of generated executables) and valgrind (the memory check of the
# generated executables in the suite). Safe to run again: it only installs what
# is absent. Rust itself must already be installed (rustup).
#
# Also a Python venv with torch, torchvision, onnx and onnxruntime
# (tools/python-requirements.txt) for the interop round trips
# (compiler/nnc/tests/interop_python.rs), at $NNC_VENV (default
# ~/.cache/nnc/venv, kept across clones; several GB, installed once), made
# only with NNC_PYTHON_INTEROP=1: PyPI's torch wheel is the CUDA build with
# several GB of dependencies, too much to download on every fresh CI machine.
# Without the venv the interop test skips with a message (and fails under
# NNC_PYTHON_INTEROP=1).
#
# And, by default, a small venv with numpy, onnx and onnxruntime only
# (tools/python-onnx-requirements.txt, about 210 MB) at $NNC_ONNX_VENV
# (default ~/.cache/nnc/onnx-venv) for the ONNX-only interop checks
# (compiler/nnc/tests/interop_onnx.rs) that the default tools/test.sh runs;
# NNC_ONNX_CHECKS=0 leaves it out.
set -euo pipefail

need_apt=()
if [ ! -x /usr/lib/llvm-19/bin/llvm-config ]; then
  need_apt+=(llvm-19-dev libpolly-19-dev libzstd-dev)
fi
if ! command -v cc >/dev/null 2>&1; then
  need_apt+=(gcc libc6-dev)
fi
if ! command -v valgrind >/dev/null 2>&1; then
  need_apt+=(valgrind)  # compiler/nnc/tests/memcheck.rs
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "nnc setup: installing ${need_apt[*]}" >&2
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${need_apt[@]}"
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "nnc setup: cargo not found; install Rust first (https://rustup.rs)" >&2
  exit 1
fi

ensure_python_venv() {
  if ! command -v python3 >/dev/null 2>&1 || ! python3 -m venv --help >/dev/null 2>&1 \
    || ! python3 -c "import ensurepip" >/dev/null 2>&1; then
    echo "nnc setup: installing python3-venv" >&2
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -q
    $SUDO apt-get install -y -q --no-install-recommends python3 python3-venv python3-pip
  fi
}

if [ "${NNC_ONNX_CHECKS:-1}" = 1 ]; then
  onnx_venv="${NNC_ONNX_VENV:-${HOME}/.cache/nnc/onnx-venv}"
  if ! "$onnx_venv/bin/python" -c "import numpy, onnx, onnxruntime" >/dev/null 2>&1; then
    ensure_python_venv
    echo "nnc setup: creating the ONNX check venv at $onnx_venv (numpy, onnx, onnxruntime; once)" >&2
    mkdir -p "$(dirname "$onnx_venv")"
    rm -rf "$onnx_venv"
    python3 -m venv "$onnx_venv"
    "$onnx_venv/bin/python" -m pip install -q --disable-pip-version-check \
      -r "$(dirname "$0")/python-onnx-requirements.txt"
  fi
fi

if [ "${NNC_PYTHON_INTEROP:-0}" = 1 ]; then
  venv="${NNC_VENV:-${HOME}/.cache/nnc/venv}"
  if ! "$venv/bin/python" -c "import torch, torchvision, onnx, onnxruntime" >/dev/null 2>&1; then
    ensure_python_venv
    echo "nnc setup: creating the interop venv at $venv (torch, onnxruntime; once)" >&2
    mkdir -p "$(dirname "$venv")"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check \
      -r "$(dirname "$0")/python-requirements.txt"
  fi
fi
