#!/bin/sh
# apply.sh — the executor's throughput (DESIGN.md §9): N independent sim
# buckets at 20 ms latency, applied with --parallelism P. The ideal is
# N / P × 20 ms (0.4 s for 1,000 at 50); the target is within 1.25× of it.
#
#   sh tests/bench/apply.sh BUILD [N] [P]
set -u
BUILD=${1:-build}
N=${2:-1000}
P=${3:-50}
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
TMP=$(mktemp -d "${TMPDIR:-/tmp}/moksha-bench-apply.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1
export MOKSHA_KEY=be4c0be4c0be4c0be4c0be4c0be4c0be4c0be4c0be4c0be4c0be4c0be4c0be4c
{
    echo 'provider sim { latency = 20ms }'
    awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "resource bucket b%d {}\n", i }'
} > main.moksha
"$BUILD/moksha" plan -o p.plan > /dev/null || exit 1
t0=$(date +%s.%N)
"$BUILD/moksha-exec" apply --parallelism "$P" p.plan > apply.log || { tail -n 5 apply.log; exit 1; }
t1=$(date +%s.%N)
awk -v t0="$t0" -v t1="$t1" -v n="$N" -v p="$P" 'BEGIN {
    ideal = n / p * 0.020; took = t1 - t0
    printf "apply: %d sim resources at 20ms, parallelism %d: %.3fs (ideal %.3fs, %.2fx)%s\n", n, p, took, ideal, took / ideal,
        took <= 1.25 * ideal ? "" : "  [over the 1.25x target]"
}'
"$BUILD/moksha" plan --detailed-exitcode > /dev/null || { echo "apply: the re-plan is not empty"; exit 1; }
