#!/usr/bin/env python3
"""Checks that the weight names and shapes nnc reports for the torchvision
examples equal torchvision's state_dict keys and shapes.

For resnet18, resnet50, mobilenet_v2, shufflenet_v2_x1_0 (or the models
named; `--all` adds the other reference models of torch_models.py): builds
the PyTorch model (`weights=None`, nothing is downloaded), takes its
`state_dict()` keys minus `*.num_batches_tracked`, asks
`nnc graph examples/NAME.nn --format json` for the weights, and prints every
missing key, extra key and shape mismatch. It also compares what shapes do
not pin down: each conv's stride, padding, dilation and groups and each
batchnorm's eps (from the nodes' `attrs`).

Usage: scripts/check_torchvision_keys.py [NAME...] [--all]
Exit status 0 when every key set matches exactly, 1 on any difference,
2 when nnc could not be run or its output not read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nnc_tools import EXAMPLES, NncError, eprint, nnc_graph_nodes, nnc_layer_attrs, nnc_weights  # noqa: E402
from torch_models import MODELS, TORCHVISION  # noqa: E402


def torch_keys(model) -> dict[str, list[int]]:
    return {
        k: list(v.shape)
        for k, v in model.state_dict().items()
        if not k.endswith("num_batches_tracked")
    }


def torch_attrs(model) -> dict[str, dict]:
    """Module name -> the attributes that shapes alone do not pin down."""
    import torch.nn as nn

    out = {}
    for n, m in model.named_modules():
        if isinstance(m, nn.Conv2d):
            if not isinstance(m.padding, tuple):
                raise SystemExit(f"{n}: padding {m.padding!r} is not supported by this check")
            out[n] = {
                "kind": "conv2d",
                "stride": list(m.stride),
                "pad": list(m.padding),
                "dilation": list(m.dilation),
                "groups": m.groups,
            }
        elif isinstance(m, nn.BatchNorm2d):
            out[n] = {"kind": "batchnorm", "eps": float(m.eps)}
    return out


def compare(name: str, limit: int) -> int:
    """Prints the differences for one model; returns their number."""
    info = MODELS[name]
    model = info.build()
    want = torch_keys(model)
    nodes = nnc_graph_nodes(EXAMPLES / info.example, info.network)
    got = nnc_weights(EXAMPLES / info.example, info.network, nodes)
    # attributes (stride, padding, dilation, groups, eps) of the layers both have
    want_attrs = torch_attrs(model)
    got_attrs = nnc_layer_attrs(nodes)
    attr_diffs = []
    for layer in sorted(set(want_attrs) & set(got_attrs)):
        w, g = want_attrs[layer], got_attrs[layer]
        for key in w:
            same = abs(w[key] - g[key]) <= 1e-12 if key == "eps" else w[key] == g[key]
            if not same:
                attr_diffs.append(f"{name}: attr     {layer}.{key}: torch {w[key]}, nnc {g[key]}")
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    mismatched = sorted(k for k in set(want) & set(got) if want[k] != got[k])
    lines = (
        [f"{name}: missing  {k} {want[k]}" for k in missing]
        + [f"{name}: extra    {k} {got[k]}" for k in extra]
        + [f"{name}: shape    {k}: torch {want[k]}, nnc {got[k]}" for k in mismatched]
        + attr_diffs
    )
    for line in lines[:limit]:
        print(line)
    if len(lines) > limit:
        print(f"{name}: ... and {len(lines) - limit} more")
    n = len(lines)
    status = "ok" if n == 0 else f"{n} difference(s)"
    checked = len(set(want_attrs) & set(got_attrs))
    print(f"{name:<20} {len(want):>4} torch keys, {len(got):>4} nnc weights, {checked:>3} layers' attributes: {status}")
    return n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*")
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--limit", type=int, default=40, help="differences printed per model")
    args = ap.parse_intermixed_args()
    names = list(MODELS) if args.all else (args.models or list(TORCHVISION))
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        ap.error(f"unknown model(s): {', '.join(unknown)}")
    total = 0
    for name in names:
        try:
            total += compare(name, args.limit)
        except NncError as e:
            eprint(f"{name}: {e}")
            return 2
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
