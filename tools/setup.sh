#!/usr/bin/env bash
# Installs what nnc needs to build on Debian/Ubuntu, when it is missing:
# LLVM 19 (llvm-19-dev, for the inkwell backend), a C compiler (the linker
# driver of generated executables) and valgrind (the memory check of the
# generated executables in the suite). Safe to run again: it only installs what
# is absent. Rust itself must already be installed (rustup).
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
