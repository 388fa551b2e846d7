#!/usr/bin/env python3
"""Per-layer GFLOP/s of executables built for two ISAs, side by side: the
tables of docs/kernels.md ("per layer, AVX-512 and AVX2 builds").

    python3 bench/layers.py NAME=EXE_A,EXE_B [NAME=...] [--rounds 3] [--iters 30]
                            [--labels AVX-512,AVX2] [--threads 1]

Each executable runs `--profile --threads T --bench ITERS` (mean call per
kernel, the runtime's own GFLOP/s: 2 per multiply-add of the layer, bias and
activation not counted; Winograd layers count the direct convolution's
flops, so they can pass 100 % of the FMA peak) in interleaved rounds; a
kernel's time is the median over the rounds. % of peak is against the
one-core FMA peak of `nnc calibrate` that the runtime prints. Prints
markdown; run it on a quiet machine (the load average is printed).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess

ROW = re.compile(r"^\s*(\d+)\s+(\S+)\s+(\S+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)%\s+([\d.]+)\s+(\d+)%")
PEAK = re.compile(r"calibration cache .*?: ([\d.]+) GFLOP/s")


def profile(exe: str, threads: int, iters: int) -> list[tuple[str, str, float, float]]:
    out = subprocess.run([exe, "--profile", "--threads", str(threads), "--bench", str(iters)],
                         capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        m = ROW.match(line)
        if m:
            _, op, name, ms, _, _, _, gflops, _ = m.groups()
            rows.append((name, op, float(ms), float(gflops) * float(ms) * 1e6))  # flops
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("nets", nargs="+", help="NAME=EXE_A,EXE_B")
    ap.add_argument("--labels", default="AVX-512,AVX2")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--peak", type=float, help="one-core GFLOP/s for % of peak (default: calibrate's, per core)")
    a = ap.parse_args()
    labels = a.labels.split(",")
    nets = [(n.split("=", 1)[0], n.split("=", 1)[1].split(",")) for n in a.nets]
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    runs: dict[tuple[str, int], list[list[tuple[str, str, float, float]]]] = {}
    for r in range(a.rounds):
        order = [(n, i) for n, exes in nets for i in range(len(exes))]
        if r % 2:
            order.reverse()
        for n, i in order:
            exe = dict(nets)[n][i]
            runs.setdefault((n, i), []).append(profile(exe, a.threads, a.iters))
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    peak = a.peak
    for n, exes in nets:
        print(f"\n### {n}, {a.threads} thread(s)\n")
        head = "| # | layer | op | MFLOP |" + "".join(f" {l} ms | {l} GFLOP/s |" for l in labels[:len(exes)])
        if peak:
            head += "".join(f" {l} % pk |" for l in labels[:len(exes)])
        print(head)
        print("|" + "---|" * (head.count("|") - 1))
        per = [runs[(n, i)] for i in range(len(exes))]
        totals = [0.0] * len(exes)
        for k, (name, op, _, flops) in enumerate(per[0][0]):
            cells, pk = [], []
            for i in range(len(exes)):
                ms = statistics.median(rnd[k][2] for rnd in per[i])
                totals[i] += ms
                g = flops / ms / 1e6 if ms > 0 else 0.0
                cells.append(f" {ms:.3f} | {g:.1f} |")
                if peak:
                    pk.append(f" {100 * g / peak:.0f} |")
            print(f"| {k} | {name} | {op} | {flops / 1e6:.1f} |" + "".join(cells) + "".join(pk))
        print("| | total | | |" + "".join(f" {t:.2f} | |" for t in totals) + (" |" * len(exes) if peak else ""))


if __name__ == "__main__":
    main()
