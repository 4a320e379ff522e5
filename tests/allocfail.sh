#!/bin/sh
# Allocation failures: every allocation of a command may fail, and each time
# moksha must say "moksha: error: out of memory" and exit 1: never crash,
# never hang, never exit 0 with half a result.
#
#   sh tests/allocfail.sh BUILD      (BUILD built with -DMK_ALLOC_TESTING;
#                                     make allocfail builds build/allocfail)
#
# MK_FAIL_ALLOC=N makes the Nth allocation through compiler/base/mem.c fail (the
# wrapper, and the mmap of each arena chunk). For each command below, N
# walks 1, 2, 3, ... until a run gets through without failing: that run must
# exit as the command does normally. Past ALLOCFAIL_WALK (default 3000) the
# walk finds the total by bisection and then tries ALLOCFAIL_SAMPLE (1500)
# values of N spread evenly up to it. jansson allocates from our arenas
# (compiler/base/jalloc.c), so its allocations count; libyaml and OpenSSL call
# malloc directly and are out of our reach.
set -u

BUILD=${1:-build/allocfail}
TOP=$(cd "$(dirname "$0")/.." && pwd)
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
MOKSHA=$BUILD/moksha
WALK=${ALLOCFAIL_WALK:-3000}
SAMPLE=${ALLOCFAIL_SAMPLE:-1500}
LIMIT=10
OOM="moksha: error: out of memory"

if [ ! -x "$MOKSHA" ]; then
    echo "allocfail: $MOKSHA is missing (make allocfail builds it)" >&2
    exit 1
fi
if ! grep -q MK_ALLOC_TESTING "$BUILD/.flags" 2>/dev/null; then
    echo "allocfail: $BUILD is not built with -DMK_ALLOC_TESTING (make allocfail)" >&2
    exit 1
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/moksha-allocfail.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM
export LC_ALL=C NO_COLOR=1
for v in $(env | sed -n 's/^\(MOKSHA_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
export MOKSHA_KEY=a110cfa1a110cfa1a110cfa1a110cfa1a110cfa1a110cfa1a110cfa1a110cfa1 MOKSHA_VAR_db_password=allocfail-secret

outfile= failed=0 runs=0 t0=$(date +%s)

# try N CMD...: run CMD with the Nth allocation failing. Status 0 when it
# failed cleanly, 1 when it did not fail at all (N is past the total), 2
# for anything else, which is reported.
try() {
    n=$1
    shift
    runs=$((runs + 1))
    [ -n "$outfile" ] && rm -f "$outfile"
    MK_FAIL_ALLOC=$n timeout -k 2 "$LIMIT" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
    rc=$?
    if [ "$rc" -eq 1 ] && grep -qxF "$OOM" "$TMP/err"; then
        # a plan file is whole or absent, never cut short
        [ -z "$outfile" ] || [ ! -e "$outfile" ] ||
            "$BUILD/moksha-exec" verify "$outfile" >/dev/null 2>&1 && return 0
        rc=broken
    fi
    if [ "$rc" -eq "$expect" ] && ! grep -qF "$OOM" "$TMP/err"; then
        return 1
    fi
    case $rc in
    broken) why="left a $outfile that moksha-exec verify refuses" ;;
    124 | 137) why="hung (killed after ${LIMIT}s)" ;;
    1) why="exit 1 without \`$OOM\`" ;;
    *) [ "$rc" -gt 128 ] && why="killed by signal $((rc - 128))" || why="exit $rc" ;;
    esac
    failed=$((failed + 1))
    echo "FAIL allocfail: $label: allocation $n: $why; run: (cd examples/$example && MOKSHA_KEY=$MOKSHA_KEY MOKSHA_VAR_db_password=$MOKSHA_VAR_db_password MK_FAIL_ALLOC=$n $(echo "$*" | sed "s|$BUILD|$BUILD|"))"
    head -n 10 "$TMP/err" | sed 's/^/    /'
    return 2
}

# total CMD...: past WALK, the first N whose run gets through, by doubling
# and bisection (the wrapper counts the same allocations every run).
total() {
    lo=$WALK hi=$((WALK * 2))
    while try "$hi" "$@"; do lo=$hi hi=$((hi * 2)); done
    while [ $((hi - lo)) -gt 1 ]; do
        mid=$(((lo + hi) / 2))
        if try "$mid" "$@"; then lo=$mid; else hi=$mid; fi
    done
    echo "$lo"
}

# walk LABEL EXPECT CMD...: fail every allocation of CMD in turn. With
# outfile set, CMD writes that file, which must never be left half written.
walk() {
    label=$1 expect=$2
    shift 2
    n=1
    while [ "$n" -le "$WALK" ]; do
        try "$n" "$@"
        case $? in 1) echo "ok   allocfail: $label: all $((n - 1)) allocations fail cleanly"; return ;; esac
        n=$((n + 1))
    done
    last=$(total "$@")
    step=$(((last - WALK) / SAMPLE + 1))
    n=$((WALK + step))
    while [ "$n" -le "$last" ]; do
        try "$n" "$@"
        n=$((n + step))
    done
    try "$last" "$@"
    try $((last + 1)) "$@" && echo "FAIL allocfail: $label: allocation $((last + 1)) still fails"
    echo "ok   allocfail: $label: $WALK allocations and every ${step}th of $last fail cleanly"
}

for example in webapp hello-local; do
    [ -d "$TOP/examples/$example" ] || continue
    rm -rf "${TMP:?}/$example"
    sh "$TOP/tests/clean_copy.sh" "$TOP/examples/$example" "$TMP/$example" || exit 1
    cd "$TMP/$example" || exit 1
    walk "$example: check" 0 "$MOKSHA" check
    walk "$example: plan" 0 "$MOKSHA" plan
    outfile=plan.json
    walk "$example: plan -o" 0 "$MOKSHA" plan -o plan.json
    outfile=
    "$MOKSHA" plan -o plan.json >/dev/null 2>&1
    walk "$example: show" 0 "$MOKSHA" show plan.json
    walk "$example: graph" 0 "$MOKSHA" graph
    walk "$example: fmt" 0 "$MOKSHA" fmt --check
    cd "$TOP" || exit 1
done

echo "allocfail: $runs runs, $failed failed ($(($(date +%s) - t0))s)"
[ "$failed" -eq 0 ]
