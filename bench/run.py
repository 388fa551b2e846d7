#!/usr/bin/env python3
"""Benchmarks nnc-built executables against ONNX Runtime and OpenVINO on the
same models, weights and inputs, and writes docs/benchmarks.md. See
bench/README.md.

Steps:
1. (re)creates `bench/.venv` with onnxruntime and numpy and re-runs itself in
   it (skip with `--python PY` to use another interpreter that has them);
2. makes sure the exported models exist in `--export-dir` (default
   `bench/.cache/export`): weights (safetensors), ONNX, input and reference
   output `.npy` files from `scripts/export_torchvision.py`, run with
   `--export-python` (an interpreter with torch + torchvision + onnx +
   safetensors; default /root/nnc-venv/bin/python when it exists, else
   `bench/.venv` gets them installed);
3. builds each example with `nnc build --weights` into `bench/.cache/bin`,
   checks its outputs against PyTorch's, and times it with `--bench`;
4. times ONNX Runtime (CPU provider, sequential execution, all graph
   optimizations, `intra_op_num_threads` = 1 and 2) and OpenVINO (CPU
   plugin, f32 inference precision, latency hint, one stream,
   `INFERENCE_NUM_THREADS` = 1 and 2) on the same ONNX file;
5. nnc and the peers alternate in interleaved rounds (the order rotates
   every round), the median of the per-round medians is reported, with
   nnc / the faster peer (below 1: nnc is faster).

Usage: python3 bench/run.py [--models a,b] [--rounds 5] [--iters 30]
                            [--threads 1,2] [--ort-only] [--out docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
import venv
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
CACHE = BENCH / ".cache"
VENV = BENCH / ".venv"
DEFAULT_MODELS = [
    "resnet18",
    "mobilenet_v2",
    "shufflenet_v2_x1_0",
    "resnet50",
    "mobilenet_v3_small",
    "efficientnet_b0",
    "shufflenet_v2_x0_5",
    "mobilenet_v3_large",
    "resnext50_32x4d",
    "wide_resnet50_2",
    "mnasnet1_0",
    "regnet_x_400mf",
    "regnet_y_400mf",
    "alexnet",
    "squeezenet1_0",
    "squeezenet1_1",
    "densenet121",
    "googlenet",
    "inception_v3",
    "vit_b_16",
    "convnext_tiny",
    "swin_t",
    "g1_1_1",
    "g1_1_2",
    "g1_1_6",
    "g1_1_12",
    "g1_1_6_stem",
    "mlp",
    "small_cnn",
    "unet_tiny",
    "teacher",
    "student",
]


# ------------------------------------------------------------------ venv


def venv_python(path: Path) -> Path:
    return path / "bin" / "python"


def has_modules(python: Path | str, modules: list[str]) -> bool:
    code = "import " + ", ".join(modules)
    return subprocess.run([str(python), "-c", code], capture_output=True).returncode == 0


def ensure_venv(packages: list[str], modules: list[str]) -> Path:
    """Creates bench/.venv (if needed) and installs `packages` from PyPI."""
    py = venv_python(VENV)
    if not py.exists():
        print(f"creating {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if not has_modules(py, modules):
        print(f"installing {' '.join(packages)} into {VENV} ...", flush=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", *packages], check=True)
    return py


def reexec_in_venv(args: argparse.Namespace) -> None:
    """Runs this script again inside the benchmark's interpreter, unless
    we are already in it."""
    if os.environ.get("NNC_BENCH_IN_VENV"):
        return
    if args.python:
        py = Path(args.python)
    else:
        py = ensure_venv(["onnxruntime", "openvino", "numpy"], ["onnxruntime", "openvino", "numpy"])
    env = dict(os.environ, NNC_BENCH_IN_VENV="1")
    os.execve(str(py), [str(py), str(Path(__file__).resolve()), *sys.argv[1:]], env)


# ------------------------------------------------------------------ export


def ensure_export(export_dir: Path, models: list[str], export_python: str | None) -> dict:
    manifest_path = export_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    missing = [
        m
        for m in models
        if m not in manifest
        or not all((export_dir / f).exists() for f in (manifest[m]["weights"], manifest[m]["onnx"]))
    ]
    if missing:
        py = export_python
        if not py:
            default = Path("/root/nnc-venv/bin/python")
            if default.exists() and has_modules(default, ["torch", "torchvision", "onnx", "safetensors"]):
                py = str(default)
            else:
                py = str(
                    ensure_venv(
                        ["onnxruntime", "openvino", "numpy", "torch", "torchvision", "onnx", "safetensors"],
                        ["onnxruntime", "openvino", "numpy", "torch", "torchvision", "onnx", "safetensors"],
                    )
                )
        print(f"exporting {', '.join(missing)} with {py} ...", flush=True)
        subprocess.run(
            [py, str(REPO / "scripts" / "export_torchvision.py"), str(export_dir), *missing],
            check=True,
        )
        manifest = json.loads(manifest_path.read_text())
    return manifest


# ------------------------------------------------------------------ nnc


def find_nnc() -> list[str]:
    sys.path.insert(0, str(REPO / "scripts"))
    from nnc_tools import find_nnc as f  # noqa: E402

    return f()


def build_nnc(nnc: list[str], name: str, entry: dict, export_dir: Path) -> Path:
    out = CACHE / "bin" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = nnc + ["build", str(REPO / "examples" / entry["example"]), "-o", str(out),
                 "--weights", str(export_dir / entry["weights"])]
    if entry.get("network"):
        cmd += ["--network", entry["network"]]
    print(f"  $ {' '.join(cmd)}", flush=True)
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"nnc build failed for {name}:\n{proc.stderr.strip()}")
    return out


def input_args(entry: dict, export_dir: Path) -> list[str]:
    args = []
    for k, f in entry["inputs"].items():
        args += ["--input", f"{k}={export_dir / f}"]
    return args


def check_nnc_outputs(exe: Path, entry: dict, export_dir: Path) -> float:
    """Runs the executable on the reference input; returns the largest
    error relative to the largest reference magnitude, over all outputs."""
    import numpy as np

    outdir = CACHE / "out"
    outdir.mkdir(parents=True, exist_ok=True)
    cmd = [str(exe), "--threads", "1", *input_args(entry, export_dir)]
    for k in entry["outputs"]:
        cmd += ["--output", f"{k}={outdir / (exe.name + '.' + k + '.npy')}"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{exe} failed:\n{proc.stderr.strip()}")
    worst = 0.0
    for k, f in entry["outputs"].items():
        ref = np.load(export_dir / f)
        got = np.load(outdir / (exe.name + "." + k + ".npy"))
        if got.shape != ref.shape:
            raise RuntimeError(f"{exe.name}: output {k} has shape {got.shape}, expected {ref.shape}")
        scale = float(np.max(np.abs(ref))) or 1.0
        worst = max(worst, float(np.max(np.abs(got - ref))) / scale)
    return worst


MEDIAN_RE = re.compile(r"median\D*?([0-9]+(?:\.[0-9]+)?)\s*ms", re.IGNORECASE)


def time_nnc(exe: Path, threads: int, iters: int, entry: dict, export_dir: Path) -> float:
    cmd = [str(exe), "--threads", str(threads), "--bench", str(iters), *input_args(entry, export_dir)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr.strip()}")
    m = MEDIAN_RE.search(proc.stdout) or MEDIAN_RE.search(proc.stderr)
    if not m:
        raise RuntimeError(f"no median latency in the output of {' '.join(cmd)}:\n{proc.stdout}")
    return float(m.group(1))


# ------------------------------------------------------------------ ORT


def ort_session(onnx_path: Path, threads: int):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])


def time_ort(sess, feeds: dict, iters: int, warmup: int = 3) -> float:
    return time_calls(lambda: sess.run(None, feeds), iters, warmup)


def time_calls(call, iters: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(iters):
        t0 = time.perf_counter()
        call()
        samples.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(samples)


# ------------------------------------------------------------------ OpenVINO


def ov_request(onnx_path: Path, threads: int):
    """An OpenVINO infer request on the CPU plugin: f32, latency hint, one
    stream, `threads` inference threads."""
    import openvino as ov

    core = ov.Core()
    model = core.read_model(str(onnx_path))
    compiled = core.compile_model(
        model,
        "CPU",
        {
            "INFERENCE_PRECISION_HINT": "f32",
            "PERFORMANCE_HINT": "LATENCY",
            "NUM_STREAMS": "1",
            "INFERENCE_NUM_THREADS": str(threads),
        },
    )
    return compiled.create_infer_request()


def time_ov(req, feeds: dict, iters: int, warmup: int = 3) -> float:
    return time_calls(lambda: req.infer(feeds), iters, warmup)


# ------------------------------------------------------------------ report


def machine_info() -> dict:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    flags = ""
    try:
        txt = Path("/proc/cpuinfo").read_text()
        fl = set(re.search(r"^flags\s*:(.*)$", txt, re.M).group(1).split())
        flags = ", ".join(f for f in ("avx2", "fma", "avx512f") if f in fl)
    except (OSError, AttributeError):
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                                capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = "?"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "flags": flags,
        "load": os.getloadavg(),
        "commit": commit,
        "date": _dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
    }


def fmt(x: float | None, nd: int = 2) -> str:
    return "—" if x is None else f"{x:.{nd}f}"


def nnc_description(nnc: list[str] | None) -> str:
    """Which nnc made the executables: its path, version and build time."""
    if not nnc:
        return "not run (`--ort-only`)"
    exe = Path(nnc[0])
    desc = f"`{' '.join(nnc)}`"
    try:
        ver = subprocess.run(nnc + ["--version"], capture_output=True, text=True, cwd=REPO).stdout.strip()
        if ver:
            desc += f" ({ver})"
    except OSError:
        pass
    if exe.is_file():
        built = _dt.datetime.fromtimestamp(exe.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
        desc += f", built {built}"
    return desc


def write_report(path: Path, results: dict, threads: list[int], info: dict, args, ort_version: str) -> None:
    lines = [
        "# Benchmarks: nnc vs ONNX Runtime and OpenVINO",
        "",
        "Generated by `bench/run.py` (see `bench/README.md`); do not edit by hand.",
        "",
        f"- machine: {info['cpu']}, {info['cores']} cores ({info['flags']}); "
        f"load average at start {info['load'][0]:.2f} / {info['load'][1]:.2f} / {info['load'][2]:.2f}",
        f"- date: {info['date']}, repository at `{info['commit']}`, onnxruntime {ort_version}, "
        f"openvino {info.get('openvino', '?')}",
        f"- nnc: {info.get('nnc', '?')}",
        f"- batch as declared by each example (1 for the image models, 8 for the MLP), fp32, "
        f"random weights with calibrated batchnorm statistics (`scripts/export_torchvision.py`)",
        f"- {args.rounds} interleaved rounds × {args.iters} timed runs (after warm-up); "
        "each cell is the median over rounds of the per-round median latency, in ms",
        "- ONNX Runtime: CPU provider, `ORT_SEQUENTIAL`, `ORT_ENABLE_ALL`, "
        "`intra_op_num_threads` = threads, `inter_op_num_threads` = 1",
        "- OpenVINO: CPU plugin, `INFERENCE_PRECISION_HINT` f32, `PERFORMANCE_HINT` LATENCY, "
        "`NUM_STREAMS` 1, `INFERENCE_NUM_THREADS` = threads",
        "- ratio = nnc / the faster peer (below 1: nnc is faster; the goal is ≤ 0.85)",
        "",
    ]
    head = ["network"]
    for t in threads:
        head += [f"nnc {t}T", f"ORT {t}T", f"OV {t}T", f"ratio {t}T"]
    head += ["max rel. error"]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
    for name, r in results.items():
        row = [name]
        for t in threads:
            n = r["nnc"].get(t)
            o = r["ort"].get(t)
            v = r["ov"].get(t)
            peers = [x for x in (o, v) if x]
            row += [fmt(n), fmt(o), fmt(v), fmt(n / min(peers) if (n and peers) else None)]
        row.append("—" if r.get("error") is None else f"{r['error']:.1e}")
        lines.append("| " + " | ".join(row) + " |")
    notes = [r["note"] for r in results.values() if r.get("note")]
    if notes:
        lines += ["", "Notes:", ""] + [f"- {n}" for n in notes]
    lines.append("")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    print(f"wrote {path}")


# ------------------------------------------------------------------ main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=",".join(DEFAULT_MODELS))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--ort-only", action="store_true", help="time the peers only (no nnc build)")
    ap.add_argument("--no-openvino", action="store_true", help="leave OpenVINO out")
    ap.add_argument("--export-dir", type=Path, default=CACHE / "export")
    ap.add_argument("--export-python", help="interpreter with torch/torchvision/onnx/safetensors")
    ap.add_argument("--python", help="run the benchmark with this interpreter instead of bench/.venv")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks.md")
    ap.add_argument("--json", type=Path, default=CACHE / "results.json", help="raw results")
    args = ap.parse_args()
    reexec_in_venv(args)

    import numpy as np
    import onnxruntime as ort

    models = [m for m in args.models.split(",") if m]
    threads = [int(t) for t in args.threads.split(",")]
    manifest = ensure_export(args.export_dir, models, args.export_python)
    info = machine_info()
    nnc = None if args.ort_only else find_nnc()
    info["nnc"] = nnc_description(nnc)

    # build and check once
    exes: dict[str, Path] = {}
    results: dict[str, dict] = {m: {"nnc": {}, "ort": {}, "ov": {}, "error": None, "note": None} for m in models}
    if nnc:
        for m in models:
            try:
                exes[m] = build_nnc(nnc, m, manifest[m], args.export_dir)
                results[m]["error"] = check_nnc_outputs(exes[m], manifest[m], args.export_dir)
                print(f"  {m}: max relative error vs PyTorch {results[m]['error']:.2e}", flush=True)
            except RuntimeError as e:
                print(f"  {m}: {e}", file=sys.stderr)
                results[m]["note"] = f"{m}: nnc failed: {str(e).splitlines()[0]}"
                exes.pop(m, None)

    feeds = {
        m: {k: np.load(args.export_dir / f) for k, f in manifest[m]["inputs"].items()} for m in models
    }
    sessions = {(m, t): ort_session(args.export_dir / manifest[m]["onnx"], t) for m in models for t in threads}
    requests = {}
    if not args.no_openvino:
        import openvino

        info["openvino"] = openvino.__version__
        requests = {(m, t): ov_request(args.export_dir / manifest[m]["onnx"], t) for m in models for t in threads}
    samples: dict[tuple[str, str, int], list[float]] = {}
    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds}", flush=True)
        for m in models:
            for t in threads:
                peers = ["nnc", "ort"] + (["ov"] if requests else [])
                order = peers[r % len(peers):] + peers[: r % len(peers)]
                if r % 2:
                    order.reverse()
                for who in order:
                    if who == "nnc":
                        if m not in exes:
                            continue
                        try:
                            v = time_nnc(exes[m], t, args.iters, manifest[m], args.export_dir)
                        except RuntimeError as e:
                            print(f"  {m}: {e}", file=sys.stderr)
                            results[m]["note"] = f"{m}: nnc --bench failed: {str(e).splitlines()[0]}"
                            exes.pop(m)
                            continue
                    elif who == "ort":
                        v = time_ort(sessions[(m, t)], feeds[m], args.iters)
                    else:
                        v = time_ov(requests[(m, t)], feeds[m], args.iters)
                    samples.setdefault((m, who, t), []).append(v)
    for (m, who, t), vs in samples.items():
        results[m][who][t] = statistics.median(vs)
    for m in models:
        cells = "  ".join(
            f"{t}T nnc {fmt(results[m]['nnc'].get(t))} ORT {fmt(results[m]['ort'].get(t))} "
            f"OV {fmt(results[m]['ov'].get(t))}"
            for t in threads
        )
        print(f"{m:<20} {cells}")

    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"info": info, "samples": {f"{m}/{w}/{t}": v for (m, w, t), v in samples.items()}}, indent=1))
    write_report(args.out, results, threads, info, args, ort.__version__)
    return 0


if __name__ == "__main__":
    sys.exit(main())
