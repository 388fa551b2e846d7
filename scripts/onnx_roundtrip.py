"""Round trip of torchvision models through ONNX and nnc (run by hand; needs
torch, torchvision, onnxruntime):

    python scripts/onnx_roundtrip.py [--nnc target/release/nnc] [--models resnet50,...]

For each model (random weights, eval mode): torch.onnx.export (opset 17,
static shapes) -> `nnc import` -> `nnc check` -> `nnc build` -> run the
executable on a random input and compare with ONNX Runtime's output.
Prints one line per model with the maximum absolute difference.
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnxruntime as ort
import torch
import torchvision

MODELS = ["resnet50", "mobilenet_v2", "shufflenet_v2_x1_0", "efficientnet_b0"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc", default="target/debug/nnc")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--tol", type=float, default=1e-4)
    a = ap.parse_args()
    failed = 0
    with tempfile.TemporaryDirectory() as d:
        for name in a.models.split(","):
            torch.manual_seed(0)
            m = getattr(torchvision.models, name)(weights=None).eval()
            x = torch.randn(1, 3, 224, 224)
            onnx_path = os.path.join(d, name + ".onnx")
            torch.onnx.export(m, (x,), onnx_path, opset_version=17, dynamo=False,
                              input_names=["x"], output_names=["logits"])
            np.save(os.path.join(d, "x.npy"), x.numpy())
            ref = ort.InferenceSession(onnx_path).run(None, {"x": x.numpy()})[0]
            nn_path = os.path.join(d, name + ".nn")
            w_path = os.path.join(d, name + ".safetensors")
            exe = os.path.join(d, name)
            steps = [
                [a.nnc, "import", onnx_path, "-o", nn_path, "--weights-out", w_path],
                [a.nnc, "check", nn_path],
                [a.nnc, "build", nn_path, "--weights", w_path, "-o", exe],
                [exe, "--input", os.path.join(d, "x.npy"), "-o", os.path.join(d, "y.npy")],
            ]
            ok = True
            for s in steps:
                r = subprocess.run(s, capture_output=True, text=True)
                if r.returncode != 0:
                    print(f"{name}: FAILED at {' '.join(s[:2])}: rc={r.returncode}\n{r.stderr[-2000:]}")
                    ok = False
                    break
            if not ok:
                failed += 1
                continue
            y = np.load(os.path.join(d, "y.npy"))
            diff = float(np.abs(y - ref).max())
            scale = float(np.abs(ref).max())
            rel = diff / max(scale, 1e-30)
            text = open(nn_path).read()
            lines = sum(1 for line in text.splitlines() if line.strip().startswith("let"))
            blocks = sum(1 for line in text.splitlines() if line.startswith("block "))
            # absolute tolerance, relative to the output's scale when that exceeds 1
            ok = diff <= a.tol * max(1.0, scale)
            status = "ok" if ok else "MISMATCH"
            print(f"{name}: {status} max|nnc - ORT| = {diff:.3g}, max|ORT| = {scale:.3g}, "
                  f"relative {rel:.3g} ({lines} statements, {blocks} blocks)")
            failed += not ok
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
