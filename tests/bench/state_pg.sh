#!/bin/sh
# state_pg.sh — the postgres state backend's cost (docs/state.md), on a
# throwaway server (tests/pg.sh; the one MOKSHA_TEST_PG names, if set):
#   - 1,000 sim buckets at 20 ms applied at --parallelism 50 with the state
#     on postgres and, in the same run, on local files: the goal is within
#     1.3x of local;
#   - a 100,000-resource state (the bench's stack, as applying it leaves it:
#     tests/bench/mkstate.c) read for a plan, its bytes as `state pull`
#     hands them (tests/bench/pgread.c, timed in the process), and loaded as
#     an apply loads it: the goal for the read is 1 s.
# Each the best of BENCH_RUNS (default 3).
#
#   sh tests/bench/state_pg.sh BUILD [N] [P]
set -u
BUILD=${1:-build}
N=${2:-1000}
P=${3:-50}
RUNS=${BENCH_RUNS:-3}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
TMP=$(mktemp -d "${TMPDIR:-/tmp}/moksha-bench-pg.XXXXXX") || exit 1
OWN=
cleanup() {
    [ -n "$OWN" ] && sh "$TOP/tests/pg.sh" stop "$OWN"
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
if [ -z "${MOKSHA_TEST_PG:-}" ]; then
    settings=$(sh "$TOP/tests/pg.sh" start) || { echo "state_pg: no PostgreSQL server (tests/pg.sh)"; exit 0; }
    eval "$settings"
    OWN=$MOKSHA_TEST_PG
fi
export PGHOST=${PGHOST:-$MOKSHA_TEST_PG/sock} PGPORT=${PGPORT:-$(cat "$MOKSHA_TEST_PG/port")} PGUSER=${PGUSER:-moksha}
export PGPASSWORD=${PGPASSWORD:-$(cat "$MOKSHA_TEST_PG/password")}
export PGDATABASE=bench_$$
psql -d postgres -qAt -c "CREATE DATABASE $PGDATABASE" >/dev/null || exit 1
trap 'psql -d postgres -qAt -c "DROP DATABASE IF EXISTS $PGDATABASE WITH (FORCE)" >/dev/null 2>&1; cleanup' EXIT
export MOKSHA_KEY=be4c0be4c0be4c0be4c0be4c0be4c0be4c0be4c0be4c0be4c0be4c0be4c0be4c
cat >"$TMP/pg.json" <<JSON
{ "format": "moksha.exec-config/v1",
  "state": { "backend": "postgres", "postgres": { "conninfo": "dbname=$PGDATABASE" } } }
JSON
echo '{ "format": "moksha.exec-config/v1" }' >"$TMP/local.json"
chmod 0600 "$TMP/pg.json" "$TMP/local.json"

# best of RUNS: one apply of a fresh stack in DIR with configuration CFG, its wall seconds
apply_once() {
    dir=$TMP/$1-$2
    rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" || return 1
    {
        echo "stack bench$2 {}"
        echo 'provider sim { latency = 20ms }'
        awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "resource bucket b%d {}\n", i }'
    } >main.moksha
    export MOKSHA_STACK=bench$2 # keys the state on postgres, for the plan's read through the executor
    MOKSHA_EXEC_CONFIG=$TMP/$1.json "$BUILD/moksha" plan -o p.plan >/dev/null || return 1
    t0=$(date +%s.%N)
    MOKSHA_EXEC_CONFIG=$TMP/$1.json "$BUILD/moksha-exec" apply --parallelism "$P" p.plan >apply.log 2>&1 ||
        { tail -n 3 apply.log >&2; return 1; }
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}

best() { sort -n | head -n 1; }

i=0 pg= loc=
while [ $i -lt "$RUNS" ]; do
    loc="$loc $(apply_once local $i)" || exit 1
    pg="$pg $(apply_once pg $i)" || exit 1
    i=$((i + 1))
done
lbest=$(echo "$loc" | tr ' ' '\n' | grep . | best)
pbest=$(echo "$pg" | tr ' ' '\n' | grep . | best)
rows=$(psql -qAt -c "SELECT count(*) FROM moksha.resources" 2>/dev/null)
[ "${rows:-0}" -ge "$N" ] || echo "state_pg: the postgres applies left ${rows:-no} resource rows: the executor did not keep the state there"
awk -v l="$lbest" -v p="$pbest" -v n="$N" -v par="$P" 'BEGIN {
    printf "apply: %d sim resources at 20ms, parallelism %d: postgres %.3fs, local %.3fs (%.2fx)%s\n", n, par, p, l, p / l,
        p <= 1.3 * l ? "" : "  [over the 1.3x goal]"
}'

# ---- a 100,000-resource state read for a plan ----
cc -O2 -std=c11 -D_GNU_SOURCE -I"$TOP" -I/usr/include/postgresql -o "$TMP/pgread" "$TOP/tests/bench/pgread.c" \
    "$BUILD/libmoksha-rt.a" -lpq -ljansson -lyaml -lcrypto -lpthread -lm || exit 1
cc -O2 -o "$TMP/mkstate" "$TOP/tests/bench/mkstate.c" -ljansson || exit 1
mkdir -p "$TMP/big" && cd "$TMP/big" || exit 1
sh "$TOP/tests/bench/gen.sh" 100000 1 >main.moksha
MOKSHA_EXEC_CONFIG=$TMP/local.json "$BUILD/moksha" plan -o p.plan >/dev/null || exit 1
"$TMP/mkstate" p.plan state.json 100 2>/dev/null || exit 1
imp=$("$TMP/pgread" big import state.json) || exit 1
for what in text load file; do
    i=0 times=
    while [ $i -lt "$RUNS" ]; do
        times="$times $("$TMP/pgread" big $what state.json | awk '{ print $3 }')"
        i=$((i + 1))
    done
    b=$(echo "$times" | tr ' ' '\n' | grep . | best)
    bytes=$("$TMP/pgread" big $what state.json | awk '{ print $2 }')
    case $what in
    text) awk -v t="$b" -v n="$bytes" 'BEGIN {
              printf "read: a 100000-resource state (%.1f MB) for a plan, from postgres: %d ms%s\n", n / 1e6, t,
                  t <= 1000 ? "" : "  [over the 1 s goal]" }' ;;
    load) echo "load: the same state as an apply loads it, from postgres: $b ms" ;;
    file) echo "load: the same state as an apply loads it, from the local file: $b ms" ;;
    esac
done
echo "$imp" | awk '{ printf "import: the same state into an empty postgres stack: %d ms\n", $3 }'
