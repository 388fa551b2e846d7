#!/usr/bin/env python3
"""Writes docs/experiments.md: the ShuffleNet V2 guideline experiments of
examples/guidelines/ (G1 channel ratio, G2 groups, G3 fragments, G4
element-wise) built by nnc, measured (`--bench` median) and predicted
(`nnc analyze --platform host --threads T`) at each thread count, with the
orderings compared with the paper's Tables 1-4.

Run `nnc calibrate` first. Takes a few minutes. Usage:
    bench/guidelines.py [--nnc PATH] [--threads 1,2] [--out docs/experiments.md]
"""

import argparse
import datetime
import tempfile
from pathlib import Path

from common import ROOT, analyze, bench_median, build, machine, median, networks_of, nnc_path, run

EXPERIMENTS = [
    ("G1", "g1_ratio.nn", "Equal channel width minimizes memory access cost (Table 1)",
     "c1:c2 = 1:1, 1:2, 1:6, 1:12",
     "the paper measured 1:1 fastest and the time rising with the ratio (GPU and ARM)", "g1_1_1"),
    ("G2", "g2_groups.nn", "Excessive group convolution increases MAC (Table 2)",
     "g = 1, 2, 4, 8",
     "the paper measured g = 1 fastest and the time rising with g (GPU and ARM)", "g2_g1"),
    ("G3", "g3_fragments.nn", "Network fragmentation reduces the degree of parallelism (Table 3)",
     "1 fragment; 2, 4 in series; 2, 4 in parallel",
     "the paper measured the 1-fragment block fastest and the 4-fragment blocks slowest; "
     "the slowdown is large on the GPU and small on the ARM CPU", "g3_one"),
    ("G4", "g4_elementwise.nn", "Element-wise operations are non-negligible (Table 4)",
     "ReLU and shortcut on/off",
     "the paper measured the unit without ReLU and shortcut about 20% faster than the full unit "
     "(GPU and ARM)", "g4_none"),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=5,
                    help="interleaved rounds; a network's time is the median of its rounds' medians")
    ap.add_argument("--out", default=str(ROOT / "docs" / "experiments.md"))
    a = ap.parse_args()
    nnc = nnc_path(a.nnc)
    threads = [int(t) for t in a.threads.split(",")]
    cpu, load0 = machine()
    version = run([nnc, "--version"]).strip()
    results = {}
    with tempfile.TemporaryDirectory(prefix="nnc-guidelines-") as tmp:
        cases = []
        for key, fname, *_ in EXPERIMENTS:
            src = ROOT / "examples" / "guidelines" / fname
            for net in networks_of(src):
                exe = Path(tmp) / net
                build(nnc, src, net, exe)
                for t in threads:
                    cases.append((key, net, t, exe, analyze(nnc, src, net, t)))
        # interleaved rounds: a disturbed stretch of time hits one round of
        # every network, not every round of one
        meas = {(net, t): [] for _, net, t, _, _ in cases}
        for r in range(a.rounds):
            for key, net, t, exe, _ in (cases if r % 2 == 0 else reversed(cases)):
                meas[net, t].append(bench_median(exe, t, a.iters))
        for key, net, t, exe, an in cases:
            tot = an["totals"]
            m = median(meas[net, t])
            results.setdefault(key, []).append(
                (net, t, tot["mult_adds"], tot["mac_bytes"],
                 (an.get("executed") or {}).get("executed_mac_bytes", 0),
                 tot["predicted_ms"], m))
            print(f"{key} {net:<18} {t}t predicted {tot['predicted_ms']:8.3f} ms "
                  f"measured {m:8.3f} ms", flush=True)
    _, load1 = machine()
    write(a.out, cpu, version, load0, load1, threads, results)


def order(rows, col):
    return [r[0] for r in sorted(rows, key=lambda r: r[col])]


def write(path, cpu, version, load0, load1, threads, results):
    L = ["# The ShuffleNet V2 guidelines on nnc\n",
         "Ma et al. (ShuffleNet V2, ECCV 2018) measured four guidelines for fast networks on a "
         "GPU and an ARM CPU. `examples/guidelines/` rebuilds the experiments as `.nn` networks "
         "(each file says its widths); here nnc compiles them for this machine, measures them "
         "(median over interleaved rounds of the `--bench` median) and predicts them (`nnc analyze --platform host --threads T`, the "
         "calibrated model of the executed plan). Regenerate with `bench/guidelines.py` after "
         "`nnc calibrate`.\n",
         f"- machine: {cpu}; {version}",
         f"- generated {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; load "
         f"average {load0:.2f} at start, {load1:.2f} at end\n"]
    for key, fname, title, variants, paper, fastest in EXPERIMENTS:
        rows = results.get(key, [])
        L.append(f"## {key}: {title}\n")
        L.append(f"`examples/guidelines/{fname}`: {variants}. Paper: {paper}.\n")
        L.append("| network | threads | mult-adds | graph MAC | executed MAC | predicted ms | measured ms | error |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        for net, t, fl, mac, emac, p, m in rows:
            L.append(f"| {net} | {t} | {fl / 1e6:.0f} M | {mac / 1e6:.1f} MB | {emac / 1e6:.1f} MB "
                     f"| {p:.3f} | {m:.3f} | {100 * (p / m - 1):+.1f}% |")
        L.append("")
        for t in threads:
            sub = [r for r in rows if r[1] == t]
            if not sub:
                continue
            mo, po = order(sub, 6), order(sub, 5)
            L.append(f"- {t} thread{'s' if t > 1 else ''}: measured fastest first: {', '.join(mo)}; "
                     f"predicted: {', '.join(po)} ({'same order' if mo == po else 'different order'}); "
                     f"fastest as in the paper ({fastest}): {'yes' if mo[0] == fastest else 'no'}; "
                     f"slowest/fastest measured {max(r[6] for r in sub) / min(r[6] for r in sub):.2f}×")
        L.append("")
    Path(path).write_text("\n".join(L) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
