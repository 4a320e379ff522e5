#!/bin/sh
# refresh.sh — the executor's reading throughput (docs/drift.md): N sim
# buckets at 20 ms latency, applied, then refreshed with --parallelism P:
# every object read once, through the same pool and retry loop as apply.
# The ideal is N / P × 20 ms (0.4 s for 1,000 at 50).
#
#   sh tests/bench/refresh.sh BUILD [N] [P]
set -u
BUILD=${1:-build}
N=${2:-1000}
P=${3:-50}
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
TMP=$(mktemp -d "${TMPDIR:-/tmp}/moksha-bench-refresh.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1
export MOKSHA_KEY=be4c0be4c0be4c0be4c0be4c0be4c0be4c0be4c0be4c0be4c0be4c0be4c0be4c
{
    echo 'provider sim { latency = 20ms }'
    awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "resource bucket b%d {}\n", i }'
} > main.moksha
"$BUILD/moksha" plan -o p.plan > /dev/null || exit 1
"$BUILD/moksha-exec" apply --parallelism "$P" p.plan > apply.log || { tail -n 5 apply.log; exit 1; }
t0=$(date +%s.%N)
"$BUILD/moksha-exec" refresh --detailed-exitcode --parallelism "$P" > refresh.log || { tail -n 5 refresh.log; exit 1; }
t1=$(date +%s.%N)
awk -v t0="$t0" -v t1="$t1" -v n="$N" -v p="$P" 'BEGIN {
    ideal = n / p * 0.020; took = t1 - t0
    printf "refresh: %d sim resources at 20ms, parallelism %d: %.3fs (ideal %.3fs, %.2fx)\n", n, p, took, ideal, took / ideal
}'
grep -q "$N in sync" refresh.log || { echo "refresh: not every object read back in sync"; tail -n 3 refresh.log; exit 1; }
