#!/bin/sh
# Replay the inputs that once crashed a fuzzer: every file in
# tests/fuzz/regress/NAME/ runs through harness NAME, built with a plain
# main() (BUILD/fuzz-regress/fuzz_NAME), so the replay works in every build:
# plain, ASan + UBSan (make sanitize), and under valgrind by hand.
#
#   sh tests/fuzz/regress.sh BUILD NAME...
#
# An input passes when the harness exits 0 within 60 s: no crash, no
# sanitizer report, no broken harness invariant (those abort). A file's name
# says what it caught (see tests/fuzz/regress/README).
#
# Inputs in NAME/pending/ belong to bugs found but not fixed yet: they are
# replayed and counted, but do not fail the run; one that passes is
# reported so that it is moved up to NAME/ with its fix.
set -u

BUILD=${1:-build}
[ $# -gt 0 ] && shift
TOP=$(cd "$(dirname "$0")/../.." && pwd)
LIMIT=60
export NO_COLOR=1
# A sanitizer exits 1 by default; make that unmistakable.
export ASAN_OPTIONS="exitcode=86:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="exitcode=87:${UBSAN_OPTIONS:-}"

passed=0 failed=0 pending=0 fixed=0

# replay BIN FILE: 0 when the harness passes on FILE, else 1 with the
# harness's output in $log.
replay() {
    log=$(sh -c 'timeout -k 5 "$0" "$1" "$2" 2>&1; echo "rc=$?"' "$LIMIT" "$1" "$2" 2>/dev/null </dev/null)
    rc=${log##*rc=}
    log=${log%rc=*}
    [ "$rc" -eq 124 ] && log="timed out after ${LIMIT}s"
    [ "$rc" -eq 0 ]
}
for name in "$@"; do
    bin=$BUILD/fuzz-regress/fuzz_$name
    if [ ! -x "$bin" ]; then
        echo "FAIL regress: $bin is missing (make $bin)"
        failed=$((failed + 1))
        continue
    fi
    for f in "$TOP"/tests/fuzz/regress/"$name"/*; do
        [ -f "$f" ] || continue
        case $f in *.md | */README*) continue ;; esac
        if replay "$bin" "$f"; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
            echo "FAIL regress $name/${f##*/}: exit $rc; run: $bin $f"
            echo "$log" | head -n 30 | sed 's/^/    /'
        fi
    done
    for f in "$TOP"/tests/fuzz/regress/"$name"/pending/*; do
        [ -f "$f" ] || continue
        if replay "$bin" "$f"; then
            fixed=$((fixed + 1))
            echo "note: regress $name/pending/${f##*/} passes in $BUILD; once it passes under make sanitize too, move it to tests/fuzz/regress/$name/"
        else
            pending=$((pending + 1))
        fi
    done
done
echo "regress: $passed passed, $failed failed, $pending pending a fix, $fixed fixed (inputs of tests/fuzz/regress/)"
[ "$failed" -eq 0 ]
