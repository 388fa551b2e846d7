#!/usr/bin/env python3
"""Params and mult-adds of the reference models, computed independently of
nnc with PyTorch forward hooks, and compared with `nnc analyze`.

Conventions (docs/analysis.md): params = sum(p.numel() for p in
model.parameters()); mult-adds of conv2d = N*Cout*Hout*Wout*(Cin/groups)*kh*kw,
of linear = N*out*in (every other op 0). Input: each model's declared input
shape (1x3x224x224 for the torchvision models).

Usage: scripts/torchvision_counts.py [NAME...] [--all] [--no-nnc] [--json]
Exit status 1 when a model's nnc figures differ from PyTorch's or from the
spec's reference table, 2 when nnc cannot be run (unless --no-nnc).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nnc_tools import EXAMPLES, NncError, eprint, nnc_analyze  # noqa: E402
from torch_models import MODELS, TORCHVISION, make_model  # noqa: E402

# docs/analysis.md, "Reference figures" (exact)
SPEC = {
    "resnet18": (11_689_512, 1_814_073_344),
    "mobilenet_v2": (3_504_872, 300_774_272),
}


def torch_counts(name: str) -> dict:
    """{"params", "mult_adds", "layers": [(module name, kind, mult_adds)]}"""
    info = MODELS[name]
    model = make_model(name)
    layers: list[tuple[str, str, int]] = []

    def hook(mod_name):
        def fn(m, inp, out):
            x = inp[0]
            if isinstance(m, nn.Conv2d):
                n, cout, hout, wout = out.shape
                kh, kw = m.kernel_size
                ma = n * cout * hout * wout * (m.in_channels // m.groups) * kh * kw
                layers.append((mod_name, "conv2d", ma))
            elif isinstance(m, nn.Linear):
                n = x.numel() // x.shape[-1]
                layers.append((mod_name, "linear", n * m.out_features * m.in_features))

        return fn

    handles = [
        m.register_forward_hook(hook(n))
        for n, m in model.named_modules()
        if isinstance(m, (nn.Conv2d, nn.Linear))
    ]
    with torch.no_grad():
        model(*[torch.zeros(s) for s in info.inputs.values()])
    for h in handles:
        h.remove()
    return {
        "params": sum(p.numel() for p in model.parameters()),
        "mult_adds": sum(ma for _, _, ma in layers),
        "layers": layers,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*")
    ap.add_argument("--all", action="store_true", help="every model of torch_models.py")
    ap.add_argument("--no-nnc", action="store_true", help="only print PyTorch's figures")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_intermixed_args()
    names = list(MODELS) if args.all else (args.models or list(TORCHVISION))

    bad = False
    rows = []
    for name in names:
        tc = torch_counts(name)
        row = {"model": name, "torch_params": tc["params"], "torch_mult_adds": tc["mult_adds"]}
        if name in SPEC and (tc["params"], tc["mult_adds"]) != SPEC[name]:
            eprint(f"{name}: PyTorch's own counts {tc['params']}/{tc['mult_adds']} differ from the spec's {SPEC[name]}")
            bad = True
        if not args.no_nnc:
            info = MODELS[name]
            try:
                an = nnc_analyze(EXAMPLES / info.example, info.network)
            except NncError as e:
                eprint(f"{name}: {e}")
                return 2
            tot = an["totals"]
            row["nnc_params"], row["nnc_mult_adds"] = tot["params"], tot["mult_adds"]
            if (tot["params"], tot["mult_adds"]) != (tc["params"], tc["mult_adds"]):
                bad = True
                # per-layer comparison by weight name, to say where it differs
                ours = {
                    n["name"]: n["mult_adds"]
                    for n in an.get("nodes", [])
                    if n.get("op") in ("conv2d", "linear")
                }
                for lname, kind, ma in tc["layers"]:
                    if ours.get(lname) != ma:
                        eprint(f"  {name}: {kind} {lname}: torch {ma}, nnc {ours.get(lname)}")
        rows.append(row)

    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        hdr = f"{'model':<22}{'params (torch)':>16}{'params (nnc)':>16}{'mult-adds (torch)':>20}{'mult-adds (nnc)':>20}  ok"
        print(hdr)
        print("-" * len(hdr))
        for r in rows:
            np_, nm = r.get("nnc_params"), r.get("nnc_mult_adds")
            ok = "" if np_ is None else ("yes" if (np_, nm) == (r["torch_params"], r["torch_mult_adds"]) else "NO")
            print(
                f"{r['model']:<22}{r['torch_params']:>16,}{'' if np_ is None else format(np_, ','):>16}"
                f"{r['torch_mult_adds']:>20,}{'' if nm is None else format(nm, ','):>20}  {ok}"
            )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
