#!/bin/sh
# valgrind (memcheck) over what a user runs on the examples: check, fmt,
# plan (text, JSON, saved), show, graph, and moksha-exec verify. A run fails
# on any memcheck error (invalid read or write, use of uninitialised
# memory, bad free) and on a definite leak; memory still reachable at exit
# is not a leak. Arena chunks come from mmap, which memcheck does not track
# as heap, so the arenas' contents are neither checked nor counted (ASan
# does not see into them either; see docs/testing.md).
#
#   sh tests/valgrind.sh BUILD
#
# Skipped, with a note, when valgrind is missing or BUILD is an ASan build.
set -u

BUILD=${1:-build}
TOP=$(cd "$(dirname "$0")/.." && pwd)
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
MOKSHA=$BUILD/moksha
EXEC=$BUILD/moksha-exec
LIMIT=${VALGRIND_TIMEOUT:-300}

if [ ! -x "$MOKSHA" ] || [ ! -x "$EXEC" ]; then
    echo "valgrind: $MOKSHA or $EXEC is missing (run make first)" >&2
    exit 1
fi
if ! command -v valgrind >/dev/null 2>&1; then
    echo "valgrind: skipped: valgrind is not installed (make deps)"
    exit 0
fi
if grep -q __asan_init "$MOKSHA" 2>/dev/null; then
    echo "valgrind: skipped: $MOKSHA is built with ASan"
    exit 0
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/moksha-valgrind.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM
export LC_ALL=C NO_COLOR=1
for v in $(env | sed -n 's/^\(MOKSHA_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
export MOKSHA_KEY=0a1b0a1b0a1b0a1b0a1b0a1b0a1b0a1b0a1b0a1b0a1b0a1b0a1b0a1b0a1b0a1b MOKSHA_VAR_db_password=valgrind-secret
export MOKSHA_VAR_app_password=valgrind-secret MOKSHA_VAR_orders_password=valgrind-secret # examples/selfhosted

passed=0 failed=0 t0=$(date +%s)

# vg OKCODES CMD...: run CMD under memcheck in the current directory; fail
# on a memcheck error (exit 99) or an exit status not in OKCODES ("0 2").
vg() {
    ok=$1
    shift
    timeout -k 5 "$LIMIT" valgrind -q --error-exitcode=99 --leak-check=full \
        --errors-for-leak-kinds=definite --show-leak-kinds=definite \
        --track-origins=yes --num-callers=30 "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
    rc=$?
    what=$(echo "$*" | sed "s|$BUILD/||g")
    case " $ok " in
    *" $rc "*) passed=$((passed + 1)); return 0 ;;
    esac
    failed=$((failed + 1))
    case $rc in
    99) why="memcheck errors" ;;
    124) why="timed out after ${LIMIT}s" ;;
    *) why="exit $rc, expected one of: $ok" ;;
    esac
    echo "FAIL valgrind: $what (in $(pwd)): $why"
    head -n 60 "$TMP/err" | sed 's/^/    /'
}

for ex in "$TOP"/examples/*/; do
    [ -d "$ex" ] || continue
    name=$(basename "$ex")
    rm -rf "${TMP:?}/$name"
    sh "$TOP/tests/clean_copy.sh" "$ex" "$TMP/$name" || exit 1
    cd "$TMP/$name" || exit 1
    vg "0" "$MOKSHA" check
    vg "0" "$MOKSHA" check --format json
    vg "0 1" "$MOKSHA" fmt --check
    vg "0" "$MOKSHA" fmt --stdout
    vg "0 2" "$MOKSHA" plan --detailed-exitcode -o plan.json
    vg "0" "$MOKSHA" plan --format json
    vg "0" "$MOKSHA" show plan.json
    vg "0" "$MOKSHA" graph
    vg "0" "$EXEC" verify plan.json
    vg "0" "$MOKSHA" fmt
done
# a stack with errors takes the diagnostic paths
cd "$TMP" || exit 1
printf 'resource compute web {\n  cpu = "two"\n  memory = 4 +\n}\nlet x = y\n' >bad.moksha
vg "1" "$MOKSHA" check bad.moksha
vg "1" "$MOKSHA" fmt --check bad.moksha

echo "valgrind: $passed runs clean, $failed failed ($(($(date +%s) - t0))s)"
[ "$failed" -eq 0 ]
