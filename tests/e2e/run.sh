#!/bin/sh
# End-to-end tests: run every tests/e2e/test_*.sh as a user would run moksha.
#
#   sh tests/e2e/run.sh BUILD [NAME...]    (NAME: test_cli or test_cli.sh; default all)
#
# Each test runs with `sh`, in a fresh empty temporary directory as its working
# directory, with MOKSHA and MOKSHA_EXEC (absolute paths of BUILD's binaries),
# TOP (the repository top) and NO_COLOR=1 in its environment, under a time
# limit (E2E_TIMEOUT seconds, default 300). Tests use tests/e2e/lib.sh. A test
# passes when it exits 0; the output of a failing test is printed.
set -u

BUILD=${1:-build}
[ $# -gt 0 ] && shift
TOP=$(cd "$(dirname "$0")/../.." && pwd)
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
LIMIT=${E2E_TIMEOUT:-300}

if [ ! -x "$BUILD/moksha" ]; then
    echo "e2e: $BUILD/moksha is missing or not executable (run make first)" >&2
    exit 1
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/moksha-e2e.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM HUP PIPE

# Nothing from the caller's environment may change what moksha does.
for v in $(env | sed -n 's/^\(MOKSHA_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
export MOKSHA="$BUILD/moksha" MOKSHA_EXEC="$BUILD/moksha-exec" TOP NO_COLOR=1

passed=0 failed=0
for t in "$TOP"/tests/e2e/test_*.sh; do
    [ -f "$t" ] || continue
    name=$(basename "$t")
    if [ $# -gt 0 ]; then
        want=no
        for n in "$@"; do
            [ "$n" = "$name" ] || [ "$n.sh" = "$name" ] && want=yes
        done
        [ "$want" = yes ] || continue
    fi
    work=$TMP/${name%.sh}
    mkdir -p "$work"
    t0=$(date +%s)
    (cd "$work" && timeout -k 10 "$LIMIT" sh "$t") >"$TMP/log" 2>&1 </dev/null
    rc=$?
    secs=$(($(date +%s) - t0))
    summary=$(tail -n 1 "$TMP/log")
    if [ "$rc" -eq 0 ]; then
        echo "ok   $name ($summary, ${secs}s)"
        passed=$((passed + 1))
    else
        [ "$rc" -eq 124 ] && summary="timed out after ${LIMIT}s"
        echo "FAIL $name: exit $rc ($summary); run: MOKSHA=$MOKSHA MOKSHA_EXEC=$MOKSHA_EXEC TOP=$TOP NO_COLOR=1 sh tests/e2e/$name (in an empty directory)"
        head -n 200 "$TMP/log" | sed 's/^/    /'
        failed=$((failed + 1))
    fi
    rm -rf "$work"
done

echo "e2e: $passed passed, $failed failed ($((passed + failed)) scripts)"
[ "$failed" -eq 0 ] && [ $((passed + failed)) -gt 0 ]
