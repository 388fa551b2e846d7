#!/bin/sh
# Seeds the (gitignored) corpora of the fuzz targets: the text targets with every example
# and UI-test program. Run from the repository root: sh fuzz/seed.sh
set -eu
for t in parse elaborate; do
    mkdir -p "fuzz/corpus/$t"
    for f in examples/*.nn $(find tests/ui -name '*.nn'); do
        # Name by path so files with the same base name do not collide.
        cp "$f" "fuzz/corpus/$t/seed_$(echo "$f" | tr '/' '_')"
    done
done
# The ONNX importer: the committed fixtures (real PyTorch exports and
# malformed models) and, when nnc is built, the examples exported to ONNX
# that are small enough to mutate quickly (under 256 KiB).
mkdir -p fuzz/corpus/onnx_import
cp tests/fixtures/onnx/*.onnx fuzz/corpus/onnx_import/
if [ -x "${NNC:-target/debug/nnc}" ]; then
    for f in examples/*.nn; do
        "${NNC:-target/debug/nnc}" export "$f" --format onnx \
            -o "fuzz/corpus/onnx_import/example_$(basename "$f" .nn).onnx" || true
    done
    find fuzz/corpus/onnx_import -name 'example_*.onnx' -size +256k -delete
fi
