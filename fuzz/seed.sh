#!/bin/sh
# Seeds the (gitignored) corpora of both fuzz targets with every example
# and UI-test program. Run from the repository root: sh fuzz/seed.sh
set -eu
for t in parse elaborate; do
    mkdir -p "fuzz/corpus/$t"
    for f in examples/*.nn $(find tests/ui -name '*.nn'); do
        # Name by path so files with the same base name do not collide.
        cp "$f" "fuzz/corpus/$t/seed_$(echo "$f" | tr '/' '_')"
    done
done
