#!/usr/bin/env python3
"""Writes docs/fidelity.md: how well `nnc analyze --platform host` predicts
the executables nnc builds, per network and thread count (whole network:
predicted vs `--bench` median) and per kernel (`--profile --json`:
|predicted/measured - 1| over the kernels that take >= 1% of the time).

Run `nnc calibrate` first (the predictions come from its cache). Takes a few
minutes; run it on a quiet machine. Usage:
    bench/fidelity.py [--nnc PATH] [--threads 1,2] [--out docs/fidelity.md] [FILE.nn ...]

Before each measurement it also reads the machine's speed (`nnc calibrate
--probe`: the one-core FMA peak now over the calibration's, under a second)
and reports, beside the plain error, the error the prediction would have had
after `nnc calibrate --refresh` at that moment: a virtual machine's speed
drifts, and this separates the model's error from the machine's drift.
"""

import argparse
import datetime
import tempfile
from pathlib import Path

from common import ROOT, analyze, bench_median, build, machine, median, networks_of, nnc_path, probe, profile, run

DEFAULT = ["resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_small", "shufflenet_v2_x1_0",
           "efficientnet_b0", "small_cnn", "unet_tiny", "mlp", "teacher_student", "g1_1_1",
           "g1_1_6_stem",
           # the other torchvision CNNs of examples/
           "alexnet", "squeezenet1_0", "squeezenet1_1", "googlenet", "inception_v3", "densenet121",
           "resnext50_32x4d", "wide_resnet50_2", "regnet_x_400mf", "regnet_y_400mf", "mnasnet1_0",
           "mobilenet_v3_large", "shufflenet_v2_x0_5",
           # transformers and the hybrid
           "vit_b_16", "convnext_tiny", "swin_t", "mobilevit_hybrid"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="*")
    ap.add_argument("--nnc")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3,
                    help="interleaved rounds per network and thread count (the median is kept)")
    ap.add_argument("--out", default=str(ROOT / "docs" / "fidelity.md"))
    a = ap.parse_args()
    nnc = nnc_path(a.nnc)
    threads = [int(t) for t in a.threads.split(",")]
    files = [Path(f) for f in a.files] or [ROOT / "examples" / f"{n}.nn" for n in DEFAULT]
    cpu, load0 = machine()
    version = run([nnc, "--version"]).strip()
    rows, kernels = [], []
    with tempfile.TemporaryDirectory(prefix="nnc-fidelity-") as tmp:
        cases = []
        for f in files:
            for net in networks_of(f):
                exe = Path(tmp) / net
                build(nnc, f, net, exe)
                for t in threads:
                    an = analyze(nnc, f, net, t)
                    cases.append((net, t, exe, an))
        # rounds interleave the networks, so that a disturbed stretch of time
        # hits one round of each, not every round of one
        meas = {(net, t): [] for net, t, _, _ in cases}
        profs = {(net, t): [] for net, t, _, _ in cases}
        # the speed the predictions were made at, and the speed before each
        # measurement (the refreshed prediction divides by their ratio)
        speed0 = probe(nnc)["cached_speed"]
        speeds = {(net, t): [] for net, t, _, _ in cases}
        for _ in range(a.rounds):
            for net, t, exe, _ in cases:
                speeds[net, t].append(probe(nnc)["speed"])
                meas[net, t].append(bench_median(exe, t, a.iters))
                profs[net, t].append(profile(exe, t, a.iters))
        for net, t, exe, an in cases:
            pred = an["totals"]["predicted_ms"]
            classes = {k["name"]: k["class"] for k in (an.get("executed") or {}).get("kernels", [])}
            m = median(meas[net, t])
            spread = (max(meas[net, t]) - min(meas[net, t])) / m if m > 0 else 0.0
            # speed relative to the predictions': > 1 when the machine got faster
            rel = median(speeds[net, t]) / speed0
            rows.append((net, t, pred, m, spread, rel))
            ps = profs[net, t]
            ks = ps[0]["kernels"]
            per = [median([p["kernels"][i]["measured_ms"] for p in ps]) for i in range(len(ks))]
            total = sum(per) or 1e-12
            for k, km in zip(ks, per):
                if km >= 0.01 * total and km > 0:
                    kernels.append((net, t, k["name"], classes.get(k["name"], "?"),
                                    k["predicted_ms"], km, rel))
            print(f"{net:<22} {t}t predicted {pred:8.3f} ms measured {m:8.3f} ms "
                  f"({100 * (pred / m - 1):+.1f}%, refreshed {100 * (pred / rel / m - 1):+.1f}%, "
                  f"speed {rel:.3f}, rounds spread {100 * spread:.0f}%)", flush=True)
    _, load1 = machine()
    write(a.out, cpu, version, load0, load1, threads, rows, kernels, a.rounds, a.iters)


def write(path, cpu, version, load0, load1, threads, rows, kernels, rounds, iters):
    L = []
    L.append("# Fidelity of the latency model\n")
    L.append("How well `nnc analyze NET --platform host --threads T` predicts the executable "
             "`nnc build` makes of NET, on the machine that ran `nnc calibrate` (the calibration "
             "uses synthetic sweeps only; no network here was used to fit it). Regenerate with "
             "`bench/fidelity.py` after `nnc calibrate`.\n")
    L.append(f"- machine: {cpu}; {version}")
    L.append(f"- generated {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; "
             f"load average {load0:.2f} at start, {load1:.2f} at end")
    L.append(f"- measured: the median over {rounds} interleaved rounds of the executable's "
             f"`--bench {iters}` median (spread: (max − min) / median of the rounds, the machine's "
             "noise); per kernel, the median over the rounds of its mean call (`--profile --json`); "
             "predicted: `totals.predicted_ms` of `nnc analyze --format json` (weights: "
             "deterministic initialization)\n")
    if max(load0, load1) > 2.0:
        L.append(f"**Draft: measured on a busy machine** (load average above 2 on 2 cores, the "
                 "calibration's sweep under the same load): other processes dominate both the "
                 "calibration and the measurements (see the rounds' spread); rerun on a quiet "
                 "machine before reading the errors as the model's.\n")
    L.append("- refreshed: the prediction divided by the machine's speed at the measurement "
             "relative to the calibration's (`nnc calibrate --probe` before each measurement, the "
             "median over the rounds; what `nnc calibrate --refresh` would have applied). The plain "
             "error is the model's and the machine's drift together; the refreshed one is closer to "
             "the model's own\n")
    L.append("## Whole network\n")
    L.append("| network | threads | predicted ms | measured ms | rounds spread | error | speed | refreshed error |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for net, t, p, m, sp, rel in rows:
        L.append(f"| {net} | {t} | {p:.3f} | {m:.3f} | {100 * sp:.0f}% | {100 * (p / m - 1):+.1f}% "
                 f"| {rel:.3f} | {100 * (p / rel / m - 1):+.1f}% |")
    for t in threads:
        errs = [abs(p / m - 1) for _, tt, p, m, _, _ in rows if tt == t]
        refr = [abs(p / rel / m - 1) for _, tt, p, m, _, rel in rows if tt == t]
        spreads = [sp for _, tt, _, _, sp, _ in rows if tt == t]
        L.append("")
        L.append(f"{t} thread{'s' if t > 1 else ''}: median |error| {100 * median(errs):.1f}%, "
                 f"{sum(e <= 0.10 for e in errs)} of {len(errs)} networks within ±10%; refreshed: "
                 f"median |error| {100 * median(refr):.1f}%, {sum(e <= 0.10 for e in refr)} of "
                 f"{len(refr)} within ±10%; median rounds spread {100 * median(spreads):.0f}%.")
    L.append("\n## Per kernel\n")
    L.append("Kernels taking at least 1% of their network's measured time (`--profile --json`, "
             "its `predicted_ms` baked in at build time); error = |predicted / measured − 1|.\n")
    L.append("| threads | kernels | median error | p90 error | within 20% | refreshed median error |")
    L.append("|---:|---:|---:|---:|---:|---:|")
    for t in threads:
        e = [abs(p / m - 1) for _, tt, _, _, p, m, _ in kernels if tt == t]
        r = [abs(p / rel / m - 1) for _, tt, _, _, p, m, rel in kernels if tt == t]
        if e:
            s = sorted(e)
            L.append(f"| {t} | {len(e)} | {100 * median(e):.1f}% | {100 * s[int(0.9 * (len(s) - 1))]:.1f}% "
                     f"| {100 * sum(x <= 0.2 for x in e) / len(e):.0f}% | {100 * median(r):.1f}% |")
    L.append("\nBy kernel class (both thread counts):\n")
    L.append("| class | kernels | median error | median predicted / measured |")
    L.append("|---|---:|---:|---:|")
    by = {}
    for _, _, _, c, p, m, _ in kernels:
        by.setdefault(c, []).append((p, m))
    for c in sorted(by):
        v = by[c]
        L.append(f"| {c} | {len(v)} | {100 * median([abs(p / m - 1) for p, m in v]):.1f}% "
                 f"| {median([p / m for p, m in v]):.2f} |")
    L.append("\nPer network (median error of its kernels):\n")
    L.append("| network | threads | kernels | median error |")
    L.append("|---|---:|---:|---:|")
    seen = []
    for net, t, *_ in kernels:
        if (net, t) not in seen:
            seen.append((net, t))
    for net, t in seen:
        e = [abs(p / m - 1) for n, tt, _, _, p, m, _ in kernels if n == net and tt == t]
        L.append(f"| {net} | {t} | {len(e)} | {100 * median(e):.1f}% |")
    Path(path).write_text("\n".join(L) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
