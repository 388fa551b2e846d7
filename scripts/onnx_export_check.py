"""Checks `nnc export` on every example network (run by hand; needs onnx,
onnxruntime, torch):

    python scripts/onnx_export_check.py [--nnc target/debug/nnc] [--max-macs 2e9]

For each network: `nnc export --format onnx` (deterministic weights, seed 0)
-> onnx.checker.check_model(full_check=True) -> ONNX Runtime output vs the
executable `nnc build` makes, on the same random input; and `nnc export
--format torch` -> the module loads the ONNX initializers as its state_dict
(keys and shapes must match exactly) -> PyTorch output vs nnc's.
"""

import argparse
import glob
import importlib.util
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import numpy_helper


def nets(path):
    names = re.findall(r"^network\s+(\w+)", open(path).read(), re.M)
    return names if len(names) > 1 else [None]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc", default="target/debug/nnc")
    ap.add_argument("--tol", type=float, default=1e-4)
    a = ap.parse_args()
    bad = 0
    with tempfile.TemporaryDirectory() as d:
        for ex in sorted(glob.glob("examples/*.nn")):
            for net in nets(ex):
                tag = os.path.basename(ex) + (f":{net}" if net else "")
                sel = ["--network", net] if net else []
                op = os.path.join(d, "m.onnx")
                pp = os.path.join(d, "m.py")
                subprocess.run([a.nnc, "export", ex, *sel, "--format", "onnx", "-o", op], check=True)
                subprocess.run([a.nnc, "export", ex, *sel, "--format", "torch", "-o", pp], check=True)
                model = onnx.load(op)
                onnx.checker.check_model(model, full_check=True)
                sess = ort.InferenceSession(op)
                feeds, args = {}, []
                rng = np.random.default_rng(0)
                for i in sess.get_inputs():
                    x = rng.standard_normal(i.shape).astype(np.float32)
                    feeds[i.name] = x
                    p = os.path.join(d, f"in_{i.name}.npy")
                    np.save(p, x)
                    args += ["--input", f"{i.name}={p}"]
                ref = sess.run(None, feeds)
                outs = []
                for k, o in enumerate(sess.get_outputs()):
                    outs += ["--output", f"{o.name.removesuffix('.out')}={os.path.join(d, f'out{k}.npy')}"]
                exe = os.path.join(d, "exe")
                r = subprocess.run([a.nnc, "build", ex, *sel, "-o", exe], capture_output=True, text=True)
                if r.returncode == 0:
                    r = subprocess.run([exe, *args, *outs], capture_output=True, text=True)
                if r.returncode != 0:
                    print(f"{tag}: nnc build/run failed: {r.stderr[-500:]}")
                    bad += 1
                    continue
                mine = [np.load(os.path.join(d, f"out{k}.npy")) for k in range(len(ref))]
                d_ort = max(float(np.abs(m - r_).max()) for m, r_ in zip(mine, ref))
                # torch
                spec = importlib.util.spec_from_file_location("m", pp)
                mod = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(mod)
                tm = mod.make()
                sd = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in model.graph.initializer}
                keys = set(k for k in tm.state_dict() if not k.endswith("num_batches_tracked"))
                sd = {k: v for k, v in sd.items() if k in keys}
                missing = keys - set(sd)
                tm.load_state_dict(sd, strict=False)
                with torch.no_grad():
                    ty = tm(*[torch.from_numpy(feeds[i.name]) for i in sess.get_inputs()])
                ty = ty if isinstance(ty, tuple) else (ty,)
                d_torch = max(float(np.abs(m - t.numpy()).max()) for m, t in zip(mine, ty))
                ok = d_ort <= a.tol and d_torch <= a.tol and not missing
                bad += not ok
                print(f"{tag}: {'ok' if ok else 'MISMATCH'} checker=ok |nnc-ORT|={d_ort:.3g} |nnc-torch|={d_torch:.3g}"
                      + (f" missing keys {sorted(missing)[:3]}" if missing else ""))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
