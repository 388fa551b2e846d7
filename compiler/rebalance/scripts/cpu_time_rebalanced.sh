#!/usr/bin/env bash
# Per-inference CPU time (user + sys) of original vs rebalanced executables,
# less sensitive to other load on a shared machine than wall-clock time:
# (CPU time of `--bench HI` − CPU time of `--bench LO`) / (HI − LO), one
# thread, interleaved rounds (order alternating), median over rounds.
#
# usage: cpu_time_rebalanced.sh ROUNDS LO HI ORIG_EXE NEW_EXE [ORIG_EXE NEW_EXE]...
set -euo pipefail
rounds=$1 lo=$2 hi=$3
shift 3
median_of() { sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
cpu() { /usr/bin/time -f "%U %S" "$1" --bench "$2" --threads 1 2>&1 >/dev/null | tail -1 | awk '{print $1 + $2}'; }
per_inf() {
    local a b
    a=$(cpu "$1" "$lo"); b=$(cpu "$1" "$hi")
    awk -v a="$a" -v b="$b" -v n=$((hi - lo)) 'BEGIN {printf "%.3f\n", (b - a) * 1000 / n}'
}
while [ $# -ge 2 ]; do
    orig=$1 new=$2
    shift 2
    o=() n=()
    for r in $(seq 1 "$rounds"); do
        if [ $((r % 2)) -eq 1 ]; then
            o+=("$(per_inf "$orig")"); n+=("$(per_inf "$new")")
        else
            n+=("$(per_inf "$new")"); o+=("$(per_inf "$orig")")
        fi
    done
    mo=$(printf '%s\n' "${o[@]}" | median_of) mn=$(printf '%s\n' "${n[@]}" | median_of)
    printf '%-14s vs %-14s CPU ms/inference %8s → %8s (%s)   [%s rounds; orig %s; new %s]\n' \
        "$(basename "$orig")" "$(basename "$new")" "$mo" "$mn" \
        "$(awk -v a="$mo" -v b="$mn" 'BEGIN {printf "%+.1f%%", (b / a - 1) * 100}')" \
        "$rounds" "${o[*]}" "${n[*]}"
done
