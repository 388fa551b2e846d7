#!/usr/bin/env python3
"""Exports the reference models of `torch_models.py` for the benchmark and
the end-to-end checks, into OUTDIR (not committed: ~150 MB).

For each model NAME (by default: the four torchvision models, resnet18,
resnet50, mobilenet_v2, shufflenet_v2_x1_0; `--all` adds the G1 stacks, the
MLP and the small CNN; or name them):

- NAME.safetensors      the weights, keyed by weight name (= the example's
                        names), f32, without `num_batches_tracked`
- NAME.onnx             the same model for ONNX Runtime (opset 17)
- NAME.in.INPUT.npy     a seeded random input per network input
- NAME.out.OUTPUT.npy   PyTorch's outputs for that input (eval mode)
- manifest.json         what was written, with the example file of each model

Weights are random (seeded, `--seed`), with batchnorm statistics measured on
random data so that eval-mode batchnorm does real work.

Usage: scripts/export_torchvision.py OUTDIR [--all | NAME...] [--seed S]
Needs torch, torchvision, onnx, safetensors, numpy (e.g. /root/nnc-venv).
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from torch_models import MODELS, TORCHVISION, make_model, state_dict_for_nnc  # noqa: E402


def export_one(name: str, outdir: Path, seed: int) -> dict:
    info = MODELS[name]
    model = make_model(name, seed)
    weights = state_dict_for_nnc(model)
    save_file(weights, str(outdir / f"{name}.safetensors"))

    g = torch.Generator().manual_seed(seed + 1000)
    inputs = {k: torch.randn(shape, generator=g) for k, shape in info.inputs.items()}
    with torch.no_grad():
        outs = model(*inputs.values())
    if isinstance(outs, torch.Tensor):
        outs = (outs,)
    files = {"weights": f"{name}.safetensors", "onnx": f"{name}.onnx", "inputs": {}, "outputs": {}}
    for k, v in inputs.items():
        fname = f"{name}.in.{k}.npy"
        np.save(outdir / fname, v.numpy().astype("<f4"))
        files["inputs"][k] = fname
    for k, v in zip(info.outputs, outs):
        fname = f"{name}.out.{k}.npy"
        np.save(outdir / fname, v.numpy().astype("<f4"))
        files["outputs"][k] = fname

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            tuple(inputs.values()),
            str(outdir / f"{name}.onnx"),
            input_names=list(info.inputs),
            output_names=info.outputs,
            opset_version=17,
            dynamo=False,
        )
    # ORT must agree with PyTorch on the exported file
    import onnxruntime as ort

    sess = ort.InferenceSession(str(outdir / f"{name}.onnx"), providers=["CPUExecutionProvider"])
    got = sess.run(info.outputs, {k: v.numpy() for k, v in inputs.items()})
    for k, a, b in zip(info.outputs, got, outs):
        err = float(np.max(np.abs(a - b.numpy())))
        scale = float(np.max(np.abs(b.numpy()))) or 1.0
        if err > 1e-3 * scale + 1e-5:
            raise SystemExit(f"{name}: ONNX Runtime disagrees with PyTorch on {k}: max error {err}")

    return {
        "example": info.example,
        "network": info.network,
        "torchvision": info.torchvision,
        "input_shapes": {k: list(s) for k, s in info.inputs.items()},
        "params": sum(p.numel() for p in model.parameters()),
        "seed": seed,
        **files,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir", type=Path)
    ap.add_argument("models", nargs="*", help=f"models to export (known: {', '.join(MODELS)})")
    ap.add_argument("--all", action="store_true", help="export every known model")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_intermixed_args()

    names = list(MODELS) if args.all else (args.models or list(TORCHVISION))
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        ap.error(f"unknown model(s): {', '.join(unknown)}")
    args.outdir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(max(1, torch.get_num_threads()))

    manifest_path = args.outdir / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    for n in names:
        print(f"exporting {n} ...", flush=True)
        manifest[n] = export_one(n, args.outdir, args.seed)
        manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {len(names)} model(s) to {args.outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
