#!/usr/bin/env python3
"""End-to-end check: runs the examples with the weights and inputs that
`scripts/export_torchvision.py` wrote, and compares their outputs with
PyTorch's.

By default the reference interpreter runs them (`nnc run`); with `--build`
they are compiled with `nnc build --weights` and the executables run.

Usage: scripts/check_outputs.py EXPORTDIR [NAME...] [--build] [--tol 1e-4]
The error is max|nnc - torch| / max|torch| per output. Exit status 1 when an
output is off by more than --tol (or has the wrong shape), 2 when nnc fails.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nnc_tools import EXAMPLES, NncError, eprint, run_nnc  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("export_dir", type=Path)
    ap.add_argument("models", nargs="*", help="default: every model in the manifest")
    ap.add_argument("--build", action="store_true", help="compile with nnc build instead of nnc run")
    ap.add_argument("--tol", type=float, default=1e-4)
    args = ap.parse_intermixed_args()
    manifest = json.loads((args.export_dir / "manifest.json").read_text())
    names = args.models or list(manifest)
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name in names:
            entry = manifest[name]
            example = EXAMPLES / entry["example"]
            net = ["--network", entry["network"]] if entry.get("network") else []
            weights = str(args.export_dir / entry["weights"])
            io = []
            for k, f in entry["inputs"].items():
                io += ["--input", f"{k}={args.export_dir / f}"]
            for k in entry["outputs"]:
                io += ["--output", f"{k}={tmp / (name + '.' + k + '.npy')}"]
            try:
                if args.build:
                    exe = tmp / name
                    run_nnc(["build", example, "-o", exe, "--weights", weights] + net)
                    import subprocess

                    proc = subprocess.run([str(exe)] + io, capture_output=True, text=True)
                    if proc.returncode != 0:
                        raise NncError(f"{exe.name} exited with {proc.returncode}: {proc.stderr.strip()}")
                else:
                    run_nnc(["run", example, "--weights", weights] + net + io)
            except NncError as e:
                eprint(f"{name}: {e}")
                return 2
            for k, f in entry["outputs"].items():
                ref = np.load(args.export_dir / f)
                got = np.load(tmp / (name + "." + k + ".npy"))
                if got.shape != ref.shape:
                    print(f"{name}.{k}: shape {got.shape}, expected {ref.shape}")
                    bad += 1
                    continue
                scale = float(np.max(np.abs(ref))) or 1.0
                err = float(np.max(np.abs(got.astype(np.float64) - ref))) / scale
                ok = err <= args.tol
                bad += not ok
                top = "" if ref.ndim != 2 else f", argmax agree: {bool((got.argmax(-1) == ref.argmax(-1)).all())}"
                print(f"{name + '.' + k:<28} rel. error {err:.2e} {'ok' if ok else 'TOO LARGE'}{top}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
