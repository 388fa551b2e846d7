#!/usr/bin/env python3
"""Writes a deep test network to stdout, every layer spelled out (no loop),
for measuring how compile time and memory grow with network size.

    scripts/gen_deep.py conv N    # N x (conv3x3 + batchnorm + relu), 16 channels, 8x8
    scripts/gen_deep.py relu N    # a chain of N relus on a [1, 64] input

See docs/testing.md ("Compile time and network size")."""
import sys


def conv(n):
    yield f"network deep_conv_{n} {{"
    yield "    input x: [1, 16, 8, 8];"
    prev = "x"
    for i in range(n):
        yield (f"    let c{i} = conv2d({prev}, out = 16, kernel = 3, pad = 1, "
               f"bias = false, name = \"l{i}.conv\");")
        yield f"    let b{i} = batchnorm(c{i}, name = \"l{i}.bn\");"
        yield f"    let r{i} = relu(b{i});"
        prev = f"r{i}"
    yield f"    output y = {prev};"
    yield "}"


def relu(n):
    yield f"network deep_relu_{n} {{"
    yield "    input x: [1, 64];"
    prev = "x"
    for i in range(n):
        yield f"    let r{i} = relu({prev});"
        prev = f"r{i}"
    yield f"    output y = {prev};"
    yield "}"


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("conv", "relu"):
        sys.exit(__doc__)
    kind, n = sys.argv[1], int(sys.argv[2])
    for line in (conv if kind == "conv" else relu)(n):
        print(line)


if __name__ == "__main__":
    main()
