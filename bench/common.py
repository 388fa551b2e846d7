"""Helpers shared by bench/fidelity.py and bench/guidelines.py: find nnc,
build a network with the host predictions, time it, read the analysis."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def nnc_path(arg=None):
    """--nnc, $NNC, or the workspace's release/debug build."""
    for p in (arg, os.environ.get("NNC")):
        if p:
            return str(p)
    # the newest build: a stale release binary would otherwise be picked
    # over a fresh debug one (and rewrite the calibration cache in its
    # older format)
    found = [
        Path(base) / kind / "nnc"
        for kind in ("release", "debug")
        for base in (os.environ.get("CARGO_TARGET_DIR"), ROOT / "target")
        if base and (Path(base) / kind / "nnc").exists()
    ]
    if found:
        return str(max(found, key=lambda p: p.stat().st_mtime))
    sys.exit("nnc not found: build it or pass --nnc / set NNC")


def networks_of(path):
    """Network names declared in a .nn file, in order."""
    text = Path(path).read_text()
    return re.findall(r"^network\s+([A-Za-z_][A-Za-z0-9_]*)", text, re.M)


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))}: exit {r.returncode}\n{r.stderr[-2000:]}")
    return r.stdout


def build(nnc, src, network, out):
    run([nnc, "build", str(src), "--network", network, "--platform", "host", "-o", str(out)])


def bench_median(exe, threads, iters):
    out = run([str(exe), "--threads", str(threads), "--bench", str(iters)])
    m = re.search(r"median ([0-9.]+) ms", out)
    if not m:
        raise RuntimeError(f"no median in: {out[-500:]}")
    return float(m.group(1))


def profile(exe, threads, iters):
    out = run([str(exe), "--threads", str(threads), "--bench", str(iters), "--profile", "--json"])
    return json.loads(out)


def analyze(nnc, src, network, threads):
    out = run([nnc, "analyze", str(src), "--network", network, "--platform", "host",
               "--threads", str(threads), "--format", "json"])
    return json.loads(out)


def probe(nnc):
    """`nnc calibrate --probe --json`: the one-core FMA peak now over the one
    the cached model was fitted at (`speed`), and the speed the cached model
    already divides its predictions by (`cached_speed`). Writes nothing."""
    return json.loads(run([nnc, "calibrate", "--probe", "--json"]))


def machine():
    """CPU model, load average, nnc version line."""
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return cpu, load


def median(v):
    s = sorted(v)
    n = len(s)
    if n == 0:
        return float("nan")
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])
