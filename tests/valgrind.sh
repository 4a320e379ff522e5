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

t0=$(date +%s)
# Two examples at a time (the machine has two cores, and memcheck runs one
# thread): each example's runs write their verdicts to $TMP/NAME.res.
JOBS=${VALGRIND_JOBS:-2}
# --track-origins doubles memcheck's time; a failure says how to rerun with it
ORIGINS=${VALGRIND_ORIGINS:-no}

# vg OKCODES CMD...: run CMD under memcheck in the current directory; fail
# on a memcheck error (exit 99) or an exit status not in OKCODES ("0 2").
# $res is the file the verdict goes to.
vg() {
    ok=$1
    shift
    timeout -k 5 "$LIMIT" valgrind -q --error-exitcode=99 --leak-check=full \
        --errors-for-leak-kinds=definite --show-leak-kinds=definite \
        --track-origins="$ORIGINS" --num-callers=30 "$@" >"$res.out" 2>"$res.err" </dev/null
    rc=$?
    what=$(echo "$*" | sed "s|$BUILD/||g")
    case " $ok " in
    *" $rc "*) echo pass >>"$res"; return 0 ;;
    esac
    case $rc in
    99) why="memcheck errors" ;;
    124) why="timed out after ${LIMIT}s" ;;
    *) why="exit $rc, expected one of: $ok" ;;
    esac
    { echo "FAIL valgrind: $what (in $(pwd)): $why (VALGRIND_ORIGINS=yes says where uninitialised values come from)"; head -n 60 "$res.err" | sed 's/^/    /'; } >>"$res.log"
    echo fail >>"$res"
}

example() {
    ex=$1
    name=$(basename "$ex")
    res=$TMP/$name.res
    rm -rf "${TMP:?}/$name"
    sh "$TOP/tests/clean_copy.sh" "$ex" "$TMP/$name" || { echo fail >>"$res"; return; }
    cd "$TMP/$name" || { echo fail >>"$res"; return; }
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
}

# a stack with errors takes the diagnostic paths
errors() {
    res=$TMP/errors.res
    mkdir -p "$TMP/errors" && cd "$TMP/errors" || { echo fail >>"$res"; return; }
    printf 'resource compute web {\n  cpu = "two"\n  memory = 4 +\n}\nlet x = y\n' >bad.moksha
    vg "1" "$MOKSHA" check bad.moksha
    vg "1" "$MOKSHA" fmt --check bad.moksha
}

running=0
for ex in "$TOP"/examples/*/ errors; do
    if [ "$ex" = errors ]; then
        (errors) &
    else
        [ -d "$ex" ] || continue
        (example "$ex") &
    fi
    running=$((running + 1))
    if [ "$running" -ge "$JOBS" ]; then
        wait
        running=0
    fi
done
wait

cat "$TMP"/*.res.log 2>/dev/null
passed=$(cat "$TMP"/*.res 2>/dev/null | grep -c '^pass$')
failed=$(cat "$TMP"/*.res 2>/dev/null | grep -c '^fail$')
echo "valgrind: $passed runs clean, $failed failed ($(($(date +%s) - t0))s)"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
