"""Round trips between nnc and the PyTorch/ONNX ecosystem (needs torch,
torchvision, onnx, onnxruntime; `tools/setup.sh` installs them in a venv,
and `cargo test -p nnc --test interop_python` runs the quick set):

    python scripts/interop_check.py [--nnc PATH] [--quick] [--only torchvision|examples] [--onnx-only] [NET.nn ...]

1. torchvision models (random weights, eval mode) → torch.onnx.export
   (opset 17) → `nnc import` (`--weights-out`) → `nnc check` → `nnc build`
   → the executable's output vs ONNX Runtime's on the same input. One model
   is also exported with a dynamic batch and imported with `--input-shape`.
2. every example network → `nnc export --format onnx` (deterministic
   weights) → onnx.checker (full check) → ONNX Runtime vs the executable
   `nnc build` makes;
3. every example → `nnc export --format torch` → the module's state_dict
   keys and shapes must equal nnc's weight names and shapes exactly → with
   the ONNX initializers loaded, PyTorch's output vs the executable's.

Outputs are compared as max|nnc - ref| / max|ref| <= --tol (1e-4). Without
--quick: ResNet-50, MobileNetV2, ShuffleNetV2, EfficientNet-B0 at 224×224
and every example; with --quick: small torchvision variants at 64×64 and
every example. --onnx-only (what the default `tools/test.sh` runs, with
numpy, onnx and onnxruntime only): the examples through steps 2, plus the
exported model → `nnc import` → build → the executable's output vs ONNX
Runtime's; no torch. Given `.nn` files, only those go through steps 2 and 3
(e.g. `tests/fixtures/tiny_swin/net.nn`); `--max-mult-adds N` skips the
networks with more (what the default test run does, with small networks of
the transformer examples' blocks in their place). One line per check; exit 1 if any
failed.
"""

from __future__ import annotations

import argparse
import glob
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

torch = torchvision = None  # imported in main() unless --onnx-only

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nnc_tools import REPO, find_nnc, nnc_weights  # noqa: E402

FULL = [
    ("resnet50", {}, 224),
    ("mobilenet_v2", {}, 224),
    ("shufflenet_v2_x1_0", {}, 224),
    ("efficientnet_b0", {}, 224),
]
QUICK = [
    ("resnet18", {}, 64),
    ("mobilenet_v2", {"width_mult": 0.35}, 64),
    ("shufflenet_v2_x0_5", {}, 64),
]


def rel_diff(mine, ref) -> float:
    return float(np.abs(mine - ref).max()) / max(float(np.abs(ref).max()), 1e-30)


class Checker:
    def __init__(self, nnc: list[str], tol: float, tmp: str):
        self.nnc, self.tol, self.tmp, self.failed = nnc, tol, tmp, 0

    def run(self, args, what):
        r = subprocess.run([str(a) for a in args], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"{what} failed (exit {r.returncode}): {r.stderr.strip()[-1500:]}")
        return r

    def report(self, tag, ok, msg):
        print(f"{tag}: {'ok' if ok else 'FAILED'} {msg}", flush=True)
        self.failed += not ok

    def torchvision_model(self, name, kwargs, size, dynamic=False):
        tag = f"torchvision {name}{kwargs or ''} {size}x{size}" + (" (dynamic batch, --input-shape)" if dynamic else "")
        torch.manual_seed(0)
        m = getattr(torchvision.models, name)(weights=None, **kwargs).eval()
        # non-trivial batchnorm statistics (fresh models have mean 0, var 1)
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.2, 0.2)
                mod.running_var.uniform_(0.5, 1.5)
        x = torch.randn(1, 3, size, size)
        base = os.path.join(self.tmp, name)
        onnx_path = base + ".onnx"
        torch.onnx.export(m, (x,), onnx_path, opset_version=17, dynamo=False,
                          input_names=["x"], output_names=["logits"],
                          dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}} if dynamic else None)
        np.save(base + ".x.npy", x.numpy())
        ref = ort.InferenceSession(onnx_path).run(None, {"x": x.numpy()})[0]
        shape = ["--input-shape", f"x=1,3,{size},{size}"] if dynamic else []
        try:
            r = self.run([*self.nnc, "import", onnx_path, *shape, "-o", base + ".nn",
                          "--weights-out", base + ".safetensors"], "nnc import")
            structure = r.stderr.strip().split("; ", 1)[-1].rstrip(")")
            self.run([*self.nnc, "check", base + ".nn"], "nnc check")
            self.run([*self.nnc, "build", base + ".nn", "--weights", base + ".safetensors",
                      "-o", base + ".exe"], "nnc build")
            self.run([base + ".exe", "--input", base + ".x.npy", "-o", base + ".y.npy"], "the executable")
        except RuntimeError as e:
            self.report(tag, False, str(e))
            return
        d = rel_diff(np.load(base + ".y.npy"), ref)
        self.report(tag, d <= self.tol, f"max|nnc - ORT|/max|ORT| = {d:.3g}; {structure}")

    def example(self, path, net, with_torch=True, max_mult_adds=None):
        tag = os.path.relpath(path, REPO) + (f":{net}" if net else "")
        sel = ["--network", net] if net else []
        if max_mult_adds is not None:
            try:
                out = self.run([*self.nnc, "analyze", path, *sel, "--format", "json"], "nnc analyze")
            except RuntimeError as e:
                self.report(tag, False, str(e)[-1500:])
                return
            ma = json.loads(out.stdout)["totals"]["mult_adds"]
            if ma > max_mult_adds:
                print(f"{tag}: skipped ({ma:,} mult-adds > --max-mult-adds {max_mult_adds:,})", flush=True)
                return
        base = os.path.join(self.tmp, "ex")
        op, pp, exe = base + ".onnx", base + ".py", base + ".exe"
        try:
            self.run([*self.nnc, "export", path, *sel, "--format", "onnx", "-o", op], "nnc export onnx")
            self.run([*self.nnc, "export", path, *sel, "--format", "torch", "-o", pp], "nnc export torch")
            model = onnx.load(op)
            onnx.checker.check_model(model, full_check=True)
            sess = ort.InferenceSession(op)
            rng = np.random.default_rng(0)
            feeds, args = {}, []
            for i in sess.get_inputs():
                feeds[i.name] = rng.standard_normal(i.shape).astype(np.float32)
                p = os.path.join(self.tmp, f"in_{i.name}.npy")
                np.save(p, feeds[i.name])
                args += ["--input", f"{i.name}={p}"]
            ref = sess.run(None, feeds)
            outs = []
            for k, o in enumerate(sess.get_outputs()):
                outs += ["--output", f"{o.name}={base}.out{k}.npy"]
            self.run([*self.nnc, "build", path, *sel, "-o", exe], "nnc build")
            self.run([exe, *args, *outs], "the executable")
        except (RuntimeError, onnx.checker.ValidationError) as e:
            self.report(tag, False, str(e)[-1500:])
            return
        mine = [np.load(f"{base}.out{k}.npy") for k in range(len(ref))]
        d_ort = max(rel_diff(m, r) for m, r in zip(mine, ref))
        if not with_torch:
            # the exported model imported back, built with its initializers
            try:
                for k in range(len(ref)):
                    os.remove(f"{base}.out{k}.npy")
                self.run([*self.nnc, "build", op, "-o", exe], "nnc build of the exported model")
                self.run([exe, *args, *outs], "the re-imported executable")
            except RuntimeError as e:
                self.report(tag, False, str(e)[-1500:])
                return
            back = [np.load(f"{base}.out{k}.npy") for k in range(len(ref))]
            d_back = max(rel_diff(m, r) for m, r in zip(back, ref))
            ok = d_ort <= self.tol and d_back <= self.tol
            self.report(tag, ok, f"checker ok, |nnc-ORT| {d_ort:.3g}, |imported-ORT| {d_back:.3g} (relative)")
            return
        # the PyTorch module, with the ONNX initializers as its state_dict
        spec = importlib.util.spec_from_file_location("exported", pp)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        tm = mod.make()
        sd = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in model.graph.initializer}
        theirs = {k: tuple(v.shape) for k, v in tm.state_dict().items() if not k.endswith("num_batches_tracked")}
        # nnc's weights (the ONNX file also has constants: shapes, scales)
        ours = {k: tuple(v) for k, v in nnc_weights(path, net).items()}
        keys_ok = theirs == ours
        tm.load_state_dict(sd, strict=False)
        with torch.no_grad():
            ty = tm(*[torch.from_numpy(feeds[i.name]) for i in sess.get_inputs()])
        ty = ty if isinstance(ty, tuple) else (ty,)
        d_torch = max(rel_diff(m, t.numpy()) for m, t in zip(mine, ty))
        ok = d_ort <= self.tol and d_torch <= self.tol and keys_ok
        detail = "" if keys_ok else f" state_dict differs: {sorted(set(theirs) ^ set(ours))[:4]}"
        self.report(tag, ok, f"checker ok, |nnc-ORT| {d_ort:.3g}, |nnc-torch| {d_torch:.3g} (relative){detail}")


def networks(path):
    names = re.findall(r"^network\s+(\w+)", open(path).read(), re.M)
    return names if len(names) > 1 else [None]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nnc", help="the nnc binary (default: the newest built one)")
    ap.add_argument("--quick", action="store_true", help="small models only (what CI runs)")
    ap.add_argument("--only", choices=["torchvision", "examples"])
    ap.add_argument("--onnx-only", action="store_true",
                    help="no torch: the examples through onnx.checker, ONNX Runtime and import")
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--max-mult-adds", type=float,
                    help="skip the .nn networks with more mult-adds (nnc analyze's count)")
    ap.add_argument("files", nargs="*", help="only these .nn files (steps 2 and 3)")
    a = ap.parse_args()
    if a.files:
        a.only = "examples"
    nnc = [a.nnc] if a.nnc else find_nnc()
    os.environ["NNC"] = " ".join(nnc)  # for nnc_tools
    if a.onnx_only:
        a.only = "examples"
    else:
        global torch, torchvision
        import torch
        import torchvision

        torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        c = Checker(nnc, a.tol, tmp)
        if a.only != "examples":
            models = QUICK if a.quick else FULL
            for name, kw, size in models:
                c.torchvision_model(name, kw, size)
            name, kw, size = models[-1]
            c.torchvision_model(name, kw, size, dynamic=True)
        if a.only != "torchvision":
            files = a.files or sorted(glob.glob(str(REPO / "examples" / "*.nn")))
            for ex in files:
                for net in networks(ex):
                    c.example(ex, net, with_torch=not a.onnx_only,
                              max_mult_adds=None if a.max_mult_adds is None else int(a.max_mult_adds))
    print(f"{c.failed} failed")
    sys.exit(1 if c.failed else 0)


if __name__ == "__main__":
    main()
