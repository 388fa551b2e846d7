#!/usr/bin/env bash
# Memory check of the generated code: builds every fixture executable
# (tests/fixtures/<case>, with its weights) and runs it on the fixture inputs
# under valgrind's memcheck, with --threads 1 and --threads 2. Any invalid
# read or write (edge tiles, padding, tails of vector loops) fails the run.
#
# usage: scripts/check_memory.sh [--examples] [--cpus "haswell x86-64"] [CASE...]
#
#   CASE...      fixture case names (default: all of tests/fixtures/)
#   --examples   also the small examples (seeded random input, no weights)
#   --cpus LIST  --target-cpu values to build for (default "haswell x86-64":
#                AVX2 with 8-lane tiles and baseline SSE2 with 4-lane tiles).
#                valgrind 3.19 cannot run AVX-512, so `host` works only on
#                machines without it.
#
# Environment: NNC (the nnc binary; default target/release/nnc, else
# target/debug/nnc), VALGRIND (default valgrind), KEEP=1 keeps the work dir.
#
# Limits: memcheck sees the heap blocks (every input, output and the
# activation arena are separate allocations) and the stacks. Overruns from
# one activation into another *inside* the arena, and reads past a weight
# tensor inside the embedded read-only data, are invisible to it; the numeric
# tests (compiler/nnc/tests/e2e.rs) catch those that change results.
#
# Exit status: 0 all clean, 1 some run failed, 2 bad usage.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
cpus="haswell x86-64"
examples=0
cases=()
while [ $# -gt 0 ]; do
    case "$1" in
        --examples) examples=1 ;;
        --cpus) shift; cpus=${1:?--cpus needs a list} ;;
        -h|--help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "check_memory.sh: unknown option $1" >&2; exit 2 ;;
        *) cases+=("$1") ;;
    esac
    shift
done

nnc=${NNC:-}
if [ -z "$nnc" ]; then
    for c in "$root/target/release/nnc" "$root/target/debug/nnc"; do
        if [ -x "$c" ]; then nnc=$c; break; fi
    done
fi
if [ -z "$nnc" ] || [ ! -x "$nnc" ]; then
    echo "check_memory.sh: no nnc binary (build one, or set NNC=path)" >&2
    exit 2
fi
valgrind=${VALGRIND:-valgrind}
if ! command -v "$valgrind" >/dev/null; then
    echo "check_memory.sh: valgrind not found" >&2
    exit 2
fi

if [ ${#cases[@]} -eq 0 ]; then
    for d in "$root"/tests/fixtures/*/; do
        [ -f "$d/net.nn" ] && cases+=("$(basename "$d")")
    done
fi
small_examples="mlp small_cnn unet_tiny teacher_student:student g1_1_1 g1_1_12 g1_1_6_stem"

work=$(mktemp -d /tmp/nnc-memcheck.XXXXXX)
if [ "${KEEP:-0}" != 1 ]; then
    trap 'rm -rf "$work"' EXIT
fi

echo "nnc: $nnc"
echo "valgrind: $($valgrind --version); target cpus: $cpus; work dir: $work"
runs=0
failed=()

# run LABEL EXE LOG ARGS... : one valgrind run
run() {
    local label=$1 exe=$2 log=$3
    shift 3
    runs=$((runs + 1))
    local t0=$(date +%s.%N)
    "$valgrind" -q --error-exitcode=1 --leak-check=no --log-file="$log" \
        "$exe" "$@" >"$log.stdout" 2>"$log.stderr"
    local rc=$?
    local dt=$(echo "$(date +%s.%N) - $t0" | bc)
    if [ $rc -ne 0 ] || [ -s "$log" ]; then
        printf '%-48s FAIL (exit %s, %.1f s)\n' "$label" "$rc" "$dt"
        sed 's/^/    /' "$log" | head -40
        sed 's/^/    stderr: /' "$log.stderr" | head -5
        failed+=("$label")
    else
        printf '%-48s ok (%.1f s)\n' "$label" "$dt"
    fi
}

# build LABEL OUT NNC-ARGS... : returns 1 (and records a failure) on error
build() {
    local label=$1 out=$2
    shift 2
    if ! "$nnc" build "$@" -o "$out" >"$out.build.log" 2>&1; then
        printf '%-48s BUILD FAILED\n' "$label"
        sed 's/^/    /' "$out.build.log" | head -20
        failed+=("$label (build)")
        return 1
    fi
}

for cpu in $cpus; do
    for c in "${cases[@]}"; do
        d="$root/tests/fixtures/$c"
        if [ ! -f "$d/net.nn" ]; then
            echo "check_memory.sh: no fixture case $c" >&2
            exit 2
        fi
        exe="$work/$c.$cpu"
        build "$c [$cpu]" "$exe" "$d/net.nn" --weights "$d/weights.safetensors" \
            --target-cpu "$cpu" || continue
        args=()
        for f in "$d"/input_*.npy; do
            n=$(basename "$f" .npy)
            args+=(--input "${n#input_}=$f")
        done
        for f in "$d"/output_*.npy; do
            n=$(basename "$f" .npy)
            args+=(--output "${n#output_}=$work/$c.$cpu.${n#output_}.npy")
        done
        for t in 1 2; do
            run "$c [$cpu] --threads $t" "$exe" "$work/$c.$cpu.t$t.vg" \
                "${args[@]}" --threads "$t"
        done
    done
    if [ $examples = 1 ]; then
        for e in $small_examples; do
            file=${e%%:*}
            net=()
            [ "$file" != "$e" ] && net=(--network "${e#*:}")
            exe="$work/ex_${e//:/_}.$cpu"
            build "$e [$cpu]" "$exe" "$root/examples/$file.nn" "${net[@]}" \
                --target-cpu "$cpu" || continue
            for t in 1 2; do
                run "$e [$cpu] --threads $t" "$exe" "$exe.t$t.vg" \
                    --seed 3 --threads "$t"
            done
        done
    fi
done

echo
if [ ${#failed[@]} -eq 0 ]; then
    echo "memcheck: $runs runs, all clean"
    exit 0
fi
echo "memcheck: $runs runs, ${#failed[@]} failed:"
printf '  %s\n' "${failed[@]}"
exit 1
