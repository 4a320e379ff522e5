#!/bin/sh
# pipeline.sh — the rest of DESIGN.md §9 beyond `check`: for a generated
# stack of N resources, `moksha plan` with the built-in policy library
# (--policies policies/) against an empty state and against a state of N in
# which 1% differ, with moksha's own phase timings (compile, diff, cost,
# policies) and peak memory; then the executor's scheduling efficiency.
#
#   sh tests/bench/pipeline.sh BUILD [N...]      (default 10000 100000)
# Prints a markdown table on stdout.
set -u
BUILD=${1:-build}
[ $# -gt 0 ] && shift
SIZES=${*:-10000 100000}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
TMP=$(mktemp -d "${TMPDIR:-/tmp}/moksha-bench-pipe.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
export LC_ALL=C NO_COLOR=1 MOKSHA_KEY=be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c

# mkstate: a plan of creates → the state an apply would leave, 1% drifted
cc -O2 -o "$TMP/mkstate" "$TOP/tests/bench/mkstate.c" -ljansson || exit 1
npol=$(grep -r -c '^policy ' "$TOP/policies" | awk -F: '{ s += $2 } END { print s }')

stat_of() { sed -n "s/^stats: $1=\([0-9]*\).*/\1/p" "$2" | tail -n 1; }


echo "| run | resources | compile | diff | cost | $npol policies | total | peak RSS |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for n in $SIZES; do
    d=$TMP/n$n
    mkdir -p "$d/.moksha"
    sh "$TOP/tests/bench/gen.sh" "$n" 1 > "$d/main.moksha"
    (cd "$d" && "$BUILD/moksha" --stats plan --policies "$TOP/policies" > /dev/null 2> stats.empty)
    (cd "$d" && "$BUILD/moksha" plan --format json > plan.json 2>/dev/null && "$TMP/mkstate" plan.json .moksha/state.json 100 2>/dev/null)
    rm -f "$d/plan.json"
    (cd "$d" && "$BUILD/moksha" --stats plan --policies "$TOP/policies" > out.changed 2> stats.changed)
    for k in empty changed; do
        f=$d/stats.$k
        rss=$(sed -n 's/.*peak_rss_kib=\([0-9]*\).*/\1/p' "$f" | tail -n 1)
        printf '| plan, %s state | %s | %s ms | %s ms | %s ms | %s ms | %s ms | %s MiB |\n' \
            "$([ $k = empty ] && echo empty || echo "1% changed")" "$n" "$(stat_of compile_ms "$f")" \
            "$(stat_of diff_ms "$f")" "$(stat_of cost_ms "$f")" "$(stat_of policies_ms "$f")" \
            "$(stat_of wall_ms "$f")" "$((${rss:-0} / 1024))"
    done
    grep '^Plan:' "$d/out.changed" | sed "s/^/    N=$n, 1% changed: /" >&2
    rm -rf "$d"
done
echo
sh "$TOP/tests/bench/apply.sh" "$BUILD" 1000 50 | sed 's/^/Executor: /'
