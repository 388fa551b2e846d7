#!/usr/bin/env python3
"""Checks that the weight names and shapes nnc reports for the torchvision
examples equal torchvision's state_dict keys and shapes.

For resnet18, resnet50, mobilenet_v2, shufflenet_v2_x1_0 (or the models
named; `--all` adds the other reference models of torch_models.py): builds
the PyTorch model (`weights=None`, nothing is downloaded), takes its
`state_dict()` keys minus `*.num_batches_tracked`, asks
`nnc graph examples/NAME.nn --format json` for the weights, and prints every
missing key, extra key and shape mismatch.

Usage: scripts/check_torchvision_keys.py [NAME...] [--all]
Exit status 0 when every key set matches exactly, 1 on any difference,
2 when nnc could not be run or its output not read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nnc_tools import EXAMPLES, NncError, eprint, nnc_weights  # noqa: E402
from torch_models import MODELS, TORCHVISION  # noqa: E402


def torch_keys(name: str) -> dict[str, list[int]]:
    model = MODELS[name].build()
    return {
        k: list(v.shape)
        for k, v in model.state_dict().items()
        if not k.endswith("num_batches_tracked")
    }


def compare(name: str) -> int:
    """Prints the differences for one model; returns their number."""
    info = MODELS[name]
    want = torch_keys(name)
    got = nnc_weights(EXAMPLES / info.example, info.network)
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    mismatched = sorted(k for k in set(want) & set(got) if want[k] != got[k])
    for k in missing:
        print(f"{name}: missing  {k} {want[k]}")
    for k in extra:
        print(f"{name}: extra    {k} {got[k]}")
    for k in mismatched:
        print(f"{name}: shape    {k}: torch {want[k]}, nnc {got[k]}")
    n = len(missing) + len(extra) + len(mismatched)
    status = "ok" if n == 0 else f"{n} difference(s)"
    print(f"{name:<20} {len(want):>4} torch keys, {len(got):>4} nnc weights: {status}")
    return n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*")
    ap.add_argument("--all", action="store_true")
    args = ap.parse_args()
    names = list(MODELS) if args.all else (args.models or list(TORCHVISION))
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        ap.error(f"unknown model(s): {', '.join(unknown)}")
    total = 0
    for name in names:
        try:
            total += compare(name)
        except NncError as e:
            eprint(f"{name}: {e}")
            return 2
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
