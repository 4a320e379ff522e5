#!/bin/sh
# Run the libFuzzer harnesses, one after the other, each for SECONDS.
#
#   sh tests/fuzz/run.sh FUZZBUILD SECONDS NAME...     (make fuzz does this)
#
# Each NAME fuzzes FUZZBUILD/fuzzers/fuzz_NAME. Its corpus grows in
# FUZZBUILD/corpus/NAME/ (kept between runs, never in the source tree) and
# starts from seeds gathered here from the repository, and the inputs of
# tests/fuzz/regress/NAME/:
#   parse, program  examples/*/*.moksha, tests/golden/**/*.moksha, stdlib
#   state           tests/golden/plan/*/state.json
#   observed        tests/golden/plan/*/observed.json
#   planfile        plans saved by `moksha plan -o` for the golden plan cases
#   trust, trustfile, wire, refresh  only tests/fuzz/regress/NAME/ (signed trust
#                   files, frames, state entries with what a read returned)
# A crash, leak, sanitizer report, timeout or broken invariant stops the
# target; libFuzzer saves the input as tests/fuzz/crashes/NAME-crash-<sha1>
# (or -leak-, -timeout-, -oom-) and this script fails. Turn such an input
# into a regression test: fix the bug and move the file to
# tests/fuzz/regress/NAME/ (docs/testing.md).
set -u

FB=${1:?usage: run.sh FUZZBUILD SECONDS NAME...}
SECONDS_EACH=${2:?usage: run.sh FUZZBUILD SECONDS NAME...}
shift 2
TOP=$(cd "$(dirname "$0")/../.." && pwd)
case $FB in /*) ;; *) FB=$TOP/$FB ;; esac
CRASHES=$TOP/tests/fuzz/crashes
MOKSHA=$FB/moksha
export NO_COLOR=1 LC_ALL=C
for v in $(env | sed -n 's/^\(MOKSHA_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/moksha-fuzz-run.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM
cd "$TOP" || exit 1
mkdir -p "$CRASHES"

# seed_text DIR: every .moksha file of the repository, flattened.
seed_text() {
    find examples tests/golden stdlib policies -name '*.moksha' 2>/dev/null | sort | while read -r f; do
        cp "$f" "$1/$(echo "$f" | tr '/' '_')"
    done
}

# seed_golden DIR FILE: each golden plan case's FILE (state.json, observed.json).
seed_golden() {
    for f in tests/golden/plan/*/"$2"; do
        [ -f "$f" ] && cp "$f" "$1/$(echo "$f" | tr '/' '_')"
    done
}

# Plans the fuzz build's own moksha saves for each golden plan case whose
# variables it has, signed with the key fuzz_planfile.c uses.
seed_planfile() {
    for d in tests/golden/plan/*/ examples/webapp/ examples/hello-local/; do
        w=$TMP/plan-$(basename "$d")
        rm -rf "$w" && sh tests/clean_copy.sh "$d" "$w" || continue
        mkdir -p "$w/.moksha"
        [ -f "$w/state.json" ] && cp "$w/state.json" "$w/.moksha/state.json"
        (cd "$w" && ASAN_OPTIONS=detect_leaks=0 MOKSHA_KEY=f022f022f022f022f022f022f022f022f022f022f022f022f022f022f022f022 \
            MOKSHA_VAR_db_password=fuzz-secret MOKSHA_VAR_greeting=hi \
            "$MOKSHA" plan -o plan.json >/dev/null 2>&1)
        [ -f "$w/plan.json" ] && cp "$w/plan.json" "$1/$(basename "$d").plan.json"
    done
}

failed=0
for name in "$@"; do
    bin=$FB/fuzzers/fuzz_$name
    if [ ! -x "$bin" ]; then
        echo "FAIL fuzz $name: $bin is missing"
        failed=$((failed + 1))
        continue
    fi
    seeds=$TMP/seeds-$name corpus=$FB/corpus/$name
    mkdir -p "$seeds" "$corpus"
    case $name in
    parse | program) seed_text "$seeds" ;;
    state) seed_golden "$seeds" state.json ;;
    observed) seed_golden "$seeds" observed.json ;;
    planfile) seed_planfile "$seeds" ;;
    esac
    [ -d "tests/fuzz/regress/$name" ] && cp tests/fuzz/regress/"$name"/* "$seeds"/ 2>/dev/null
    t0=$(date +%s)
    # -timeout: one input may take this long (the program harness loads
    # the stdlib each time); -rss_limit_mb: ASan's shadow is not counted.
    "$bin" -max_total_time="$SECONDS_EACH" -timeout=20 -rss_limit_mb=3072 -max_len=8192 \
        -print_final_stats=1 -artifact_prefix="$CRASHES/$name-" "$corpus" "$seeds" \
        >"$TMP/$name.log" 2>&1 </dev/null
    rc=$?
    secs=$(($(date +%s) - t0))
    stats=$(grep -E '^stat::number_of_executed_units|^stat::new_units_added' "$TMP/$name.log" |
        sed 's/^stat:://' | tr '\n' ' ')
    if [ "$rc" -eq 0 ]; then
        echo "ok   fuzz $name: ${secs}s, $stats, corpus $(ls "$corpus" | wc -l)"
    else
        failed=$((failed + 1))
        echo "FAIL fuzz $name: exit $rc after ${secs}s; input saved in tests/fuzz/crashes/"
        grep -E 'ERROR|SUMMARY|runtime error|fuzz_[a-z]*:|Test unit written' "$TMP/$name.log" | head -n 10 | sed 's/^/    /'
        grep -A 25 -m1 'ERROR: ' "$TMP/$name.log" | grep '#[0-9]' | head -n 12 | sed 's/^/    /'
    fi
done
[ "$failed" -eq 0 ]
