#!/usr/bin/env python3
"""How well two runs of `nnc calibrate` agree: runs it twice (each into its
own cache directory, the user's cache untouched), then prices the example
networks with each calibration (`nnc analyze --platform host --threads T`)
and prints, per network and thread count, the two predicted totals and their
difference, and per kernel class the median difference of its kernels'
predictions. Coefficients of one class can trade off against each other
(a larger fixed cost for a smaller slope) while predicting the same times,
so agreement is measured on predictions, not on coefficients.

Usage:
    bench/calibration_agreement.py [--nnc PATH] [--threads 1,2] [FILE.nn ...]
"""

import argparse
import json
import os
import subprocess
import tempfile
from pathlib import Path

from common import ROOT, machine, median, networks_of, nnc_path

DEFAULT = ["resnet18", "mobilenet_v2", "shufflenet_v2_x1_0", "efficientnet_b0", "small_cnn",
           "vit_b_16"]


def sh(cmd, cache):
    env = dict(os.environ, XDG_CACHE_HOME=str(cache))
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))}: exit {r.returncode}\n{r.stderr[-2000:]}")
    return r.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="*")
    ap.add_argument("--nnc")
    ap.add_argument("--threads", default="1,2")
    a = ap.parse_args()
    nnc = nnc_path(a.nnc)
    threads = [int(t) for t in a.threads.split(",")]
    files = [Path(f) for f in a.files] or [ROOT / "examples" / f"{n}.nn" for n in DEFAULT]
    cpu, load0 = machine()
    with tempfile.TemporaryDirectory(prefix="nnc-agree-") as tmp:
        caches = [Path(tmp) / "a", Path(tmp) / "b"]
        took = []
        for c in caches:
            out = json.loads(sh([nnc, "calibrate", "--json"], c))
            took.append(out["seconds"])
        _, load1 = machine()
        print(f"{cpu}; load average {load0:.2f} before the calibrations, {load1:.2f} after; "
              f"they took {took[0]:.1f} s and {took[1]:.1f} s")
        print(f"{'network':<22} {'T':>2} {'run 1 ms':>10} {'run 2 ms':>10} {'diff':>7}")
        diffs, by_class = [], {}
        for f in files:
            for net in networks_of(f):
                for t in threads:
                    res = [json.loads(sh([nnc, "analyze", str(f), "--network", net, "--platform",
                                          "host", "--threads", str(t), "--format", "json"], c))
                           for c in caches]
                    p = [r["totals"]["predicted_ms"] for r in res]
                    d = p[1] / p[0] - 1
                    diffs.append(abs(d))
                    print(f"{net:<22} {t:>2} {p[0]:>10.3f} {p[1]:>10.3f} {100 * d:>+6.1f}%")
                    ka, kb = (r["executed"]["kernels"] for r in res)
                    for x, y in zip(ka, kb):
                        if x["predicted_ms"] > 0:
                            by_class.setdefault(x["class"], []).append(
                                abs(y["predicted_ms"] / x["predicted_ms"] - 1))
        print(f"whole networks: median |difference| {100 * median(diffs):.1f}%, "
              f"max {100 * max(diffs):.1f}%")
        for c in sorted(by_class):
            v = by_class[c]
            print(f"  {c:<16} {len(v):>4} kernels: median |difference| {100 * median(v):.1f}%, "
                  f"max {100 * max(v):.1f}%")


if __name__ == "__main__":
    main()
