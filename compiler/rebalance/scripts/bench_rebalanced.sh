#!/usr/bin/env bash
# Measures original vs rebalanced executables built by `nnc build`:
# interleaved rounds (the order alternates every round), each run
# `--bench ITERS --threads T`; prints the median of the per-run medians and
# the minimum of the per-run minimums (less sensitive to other load).
#
# usage: bench_rebalanced.sh ROUNDS ITERS THREADS ORIG_EXE NEW_EXE [ORIG_EXE NEW_EXE]...
set -euo pipefail
rounds=$1 iters=$2 threads=$3
shift 3
median_of() { sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
# prints "MIN MEDIAN" of one run
run() { "$1" --bench "$iters" --threads "$threads" 2>/dev/null | sed -n 's/.*min \([0-9.]*\) ms *median \([0-9.]*\) ms.*/\1 \2/p'; }
while [ $# -ge 2 ]; do
    orig=$1 new=$2
    shift 2
    : > /tmp/bench_o.$$; : > /tmp/bench_n.$$
    for r in $(seq 1 "$rounds"); do
        if [ $((r % 2)) -eq 1 ]; then
            run "$orig" >> /tmp/bench_o.$$; run "$new" >> /tmp/bench_n.$$
        else
            run "$new" >> /tmp/bench_n.$$; run "$orig" >> /tmp/bench_o.$$
        fi
    done
    mo=$(cut -d' ' -f2 /tmp/bench_o.$$ | median_of) mn=$(cut -d' ' -f2 /tmp/bench_n.$$ | median_of)
    lo=$(cut -d' ' -f1 /tmp/bench_o.$$ | sort -g | head -1) ln=$(cut -d' ' -f1 /tmp/bench_n.$$ | sort -g | head -1)
    pct() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%+.1f%%", (b / a - 1) * 100}'; }
    printf '%-14s vs %-14s median %9s → %9s ms (%s)   min %9s → %9s ms (%s)   [%s rounds]\n' \
        "$(basename "$orig")" "$(basename "$new")" "$mo" "$mn" "$(pct "$mo" "$mn")" \
        "$lo" "$ln" "$(pct "$lo" "$ln")" "$rounds"
    rm -f /tmp/bench_o.$$ /tmp/bench_n.$$
done
