#!/usr/bin/env python3
"""Does the machine's speed drift, and does `nnc calibrate --probe` see it?

Alternates, for a few minutes, the probe (the one-core FMA peak now over the
calibration's) with the `--bench` median of one built network at one thread,
and prints both series and their correlation. If the probe tracks the
network (the network's time × the probe's speed stays flat while each moves),
`nnc calibrate --refresh` corrects a prediction for the drift; if not, the
drift is something an FMA loop does not see (memory, caches). Run it on a
quiet machine after `nnc calibrate`. Usage:
    bench/drift.py [--nnc PATH] [--net examples/resnet18.nn] [--minutes 3] [--iters 20]
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from common import ROOT, bench_median, build, machine, networks_of, nnc_path, probe


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc")
    ap.add_argument("--net", default=str(ROOT / "examples" / "resnet18.nn"))
    ap.add_argument("--minutes", type=float, default=3.0)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    nnc = nnc_path(a.nnc)
    cpu, load0 = machine()
    net = networks_of(a.net)[0]
    with tempfile.TemporaryDirectory(prefix="nnc-drift-") as tmp:
        exe = Path(tmp) / net
        build(nnc, a.net, net, exe)
        speeds, times = [], []
        end = time.time() + 60 * a.minutes
        while time.time() < end:
            speeds.append(probe(nnc)["speed"])
            times.append(bench_median(exe, a.threads, a.iters))
            print(f"{time.strftime('%H:%M:%S')} speed {speeds[-1]:.3f} {net} {times[-1]:.3f} ms "
                  f"time×speed {times[-1] * speeds[-1]:.3f}", flush=True)
    _, load1 = machine()
    n = len(times)
    corr = statistics.correlation([1 / s for s in speeds], times) if n > 2 else float("nan")
    prod = [t * s for t, s in zip(times, speeds)]
    spread = lambda v: (max(v) - min(v)) / statistics.median(v)
    print(f"{cpu}; load {load0:.2f} at start, {load1:.2f} at end; {n} pairs")
    print(f"{net} at {a.threads} thread(s): spread {100 * spread(times):.1f}%; probe speed spread "
          f"{100 * spread(speeds):.1f}%; time × speed spread {100 * spread(prod):.1f}%; "
          f"correlation of time with 1/speed {corr:+.2f}")


if __name__ == "__main__":
    main()
