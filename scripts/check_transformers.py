#!/usr/bin/env python3
"""Checks the transformer examples against torchvision (run by hand, not by CI).

    /work/venv/bin/python scripts/check_transformers.py [--only vit_b_16] [--no-run]

For each of examples/vit_b_16.nn, examples/convnext_tiny.nn and examples/swin_t.nn:

1. params: `nnc analyze --format json` totals.params must equal
   sum(p.numel() for p in model.parameters()) of the torchvision model;
2. mult-adds: totals.mult_adds must equal the multiply-accumulates that
   `torch.utils.flop_counter.FlopCounterMode` counts in one forward pass,
   divided by 2. Convention (the fvcore / torchvision-docs one): the
   multiply-accumulates of convolutions, linears and matrix products,
   attention's QK^T and AV included; normalizations, softmax, activations,
   element-wise ops and bias adds are not counted;
3. outputs (unless --no-run): the model's state_dict (random init, seed 0,
   then every parameter perturbed so that no value is a constant such as
   layer_scale's 1e-6) is saved as safetensors, a random image as .npy,
   `nnc run FILE --weights W --input X -o Y` runs the interpreter, and
   max|d| / max|ref| against PyTorch must be <= 1e-4. Swin's
   `relative_position_index` buffers stay in the file: the network computes
   the index itself, and nnc warns that those keys are unused.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import torchvision
from safetensors.torch import save_file
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nnc_tools import EXAMPLES, nnc_analyze, run_nnc  # noqa: E402

MODELS = {
    "vit_b_16": torchvision.models.vit_b_16,
    "convnext_tiny": torchvision.models.convnext_tiny,
    "swin_t": torchvision.models.swin_t,
}


def torch_counts(model, x):
    params = sum(p.numel() for p in model.parameters())
    # nn.MultiheadAttention's eval fast path is one fused native op that
    # FlopCounterMode does not count: take the path of its parts instead
    torch.backends.mha.set_fastpath_enabled(False)
    with FlopCounterMode(display=False) as fc:
        with torch.no_grad():
            model(x)
    return params, fc.get_total_flops() // 2


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default=None)
    ap.add_argument("--no-run", action="store_true")
    args = ap.parse_args()
    ok = True
    for name, ctor in MODELS.items():
        if args.only and name != args.only:
            continue
        torch.manual_seed(0)
        model = ctor().eval()
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p) * 0.02)
        x = torch.randn(1, 3, 224, 224)
        params, mult_adds = torch_counts(model, x)
        a = nnc_analyze(EXAMPLES / f"{name}.nn", None)
        t = a["totals"]
        line = (
            f"{name}: params nnc {t['params']} torch {params}; "
            f"mult-adds nnc {t['mult_adds']} torch {mult_adds}"
        )
        good = t["params"] == params and t["mult_adds"] == mult_adds
        if not args.no_run:
            with tempfile.TemporaryDirectory() as d:
                d = Path(d)
                sd = {
                    k: v.detach().float().contiguous()
                    for k, v in model.state_dict().items()
                    if not k.endswith("num_batches_tracked")
                }
                save_file(sd, d / "w.safetensors")
                np.save(d / "x.npy", x.numpy())
                run_nnc(
                    [
                        "run",
                        EXAMPLES / f"{name}.nn",
                        "--weights",
                        d / "w.safetensors",
                        "--input",
                        d / "x.npy",
                        "-o",
                        d / "y.npy",
                    ]
                )
                got = np.load(d / "y.npy").astype(np.float64)
                with torch.no_grad():
                    want = model(x).numpy().astype(np.float64)
                rel = float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-30))
                line += f"; interpreter vs PyTorch max|d|/max|ref| {rel:.2e}"
                good = good and rel <= 1e-4
        print(("ok   " if good else "FAIL ") + line)
        ok = ok and good
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
