#!/bin/sh
# Golden tests: run moksha on every case under tests/golden/KIND/ and compare
# what it prints with the case's NAME.out file, byte for byte.
#
#   sh tests/golden/run.sh BUILD [KIND/NAME...]   compare (all cases, or the ones named)
#   UPDATE=1 sh tests/golden/run.sh BUILD         (re)write the .out files instead
#
# A case is tests/golden/KIND/NAME.moksha, or a directory tests/golden/KIND/NAME/
# (a multi-file stack); its expected output is tests/golden/KIND/NAME.out. Each
# KIND is one function below, case_KIND, that runs the command and prints what
# goes into NAME.out; a new kind of golden test (plan, policy, ...) is a new
# directory plus a new case_KIND function. Cases run in a temporary copy of
# their KIND directory, so nothing is ever written into the source tree except
# the .out files under UPDATE=1; the copy holds source files only
# (tests/clean_copy.sh), so a .moksha/ left by running a REPRO command in the
# tree is never read.
set -u

BUILD=${1:-build}
[ $# -gt 0 ] && shift
TOP=$(cd "$(dirname "$0")/../.." && pwd)
GOLDEN=$TOP/tests/golden
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
MOKSHA=$BUILD/moksha
UPDATE=${UPDATE:-}
TIMEOUT=${GOLDEN_TIMEOUT:-30}

if [ ! -x "$MOKSHA" ]; then
    echo "golden: $MOKSHA is missing or not executable (run make first)" >&2
    exit 1
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/moksha-golden.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM HUP PIPE

# Same output whoever runs it: no colour, no variables from the environment,
# no locale-dependent messages.
export LC_ALL=C NO_COLOR=1
unset MOKSHA_KEY
# the project key and stack id of the plan, cost and policy cases (the
# fingerprints in tests/golden/plan/*/state.json are under this key)
GOLDEN_KEY=60e1d3c2b4a5968778695a4b3c2d1e0f60e1d3c2b4a5968778695a4b3c2d1e0f
GOLDEN_STACK_ID=901dea1e5ac4e1d0901dea1e5ac4e1d0
# "now" for the age of an observation (tests/golden/plan/drift/observed.json
# was read at 17:00): 2026-12-01T20:00:00Z
GOLDEN_NOW=1796155200
export SOURCE_DATE_EPOCH=$GOLDEN_NOW
for v in $(env | sed -n 's/^\(MOKSHA_VAR_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done

passed=0 failed=0 updated=0 unchanged=0

# ---- helpers shared by the case kinds ----

# capture MODE CMD...: run CMD (under a timeout); print its stdout, then with
# MODE=both its stderr, then `exit: N`. A last line without a newline is
# marked, so that the `exit:` line never glues onto it.
capture() {
    cap_mode=$1
    shift
    timeout "$TIMEOUT" "$@" >"$TMP/stdout" 2>"$TMP/stderr" </dev/null
    cap_rc=$?
    emit "$TMP/stdout"
    [ "$cap_mode" = both ] && emit "$TMP/stderr"
    [ "$cap_rc" -eq 124 ] && echo "(timed out after ${TIMEOUT}s)"
    echo "exit: $cap_rc"
}

emit() {
    cat "$1"
    if [ -s "$1" ] && [ "$(tail -c 1 "$1" | wc -l)" -eq 0 ]; then
        echo
        echo "(no newline at end of output)"
    fi
}

# ---- the case kinds: case_KIND NAME, run in a copy of tests/golden/KIND ----
# Each sets REPRO to the command a person runs to see the output themselves.

# check: diagnostics (stderr after stdout) of `moksha check`.
case_check() {
    if [ -d "$1" ]; then
        REPRO="cd tests/golden/check/$1 && $MOKSHA check --color never"
        (cd "$1" && capture both "$MOKSHA" check --color never)
    else
        REPRO="cd tests/golden/check && $MOKSHA check --color never $1.moksha"
        capture both "$MOKSHA" check --color never "$1.moksha"
    fi
}

# fmt: the formatted text (stdout only) of `moksha fmt --stdout`.
case_fmt() {
    REPRO="cd tests/golden/fmt && $MOKSHA fmt --stdout $1.moksha"
    capture stdout "$MOKSHA" fmt --stdout "$1.moksha"
}

# json: machine-readable diagnostics of `moksha check --format json`.
case_json() {
    if [ -d "$1" ]; then
        REPRO="cd tests/golden/json/$1 && $MOKSHA check --format json"
        (cd "$1" && capture both "$MOKSHA" check --format json)
    else
        REPRO="cd tests/golden/json && $MOKSHA check --format json $1.moksha"
        capture both "$MOKSHA" check --format json "$1.moksha"
    fi
}

# plan: `moksha plan` in tests/golden/plan/NAME/ with NAME/state.json as the
# applied state and NAME/args as extra arguments, under a fixed project key.
# Sealed secrets (random nonces) are masked. NAME/env-E.state.json is the state of
# environment E (.moksha/env/E/), for an `outputs` block that reads it.
case_plan() {
    REPRO="cd tests/golden/plan/$1 && mkdir -p .moksha && cp state.json .moksha/ && { [ ! -f observed.json ] || cp observed.json .moksha/; } && export SOURCE_DATE_EPOCH=$GOLDEN_NOW && echo $GOLDEN_STACK_ID > .moksha/stack-id && MOKSHA_KEY=$GOLDEN_KEY $MOKSHA plan --color never $(cat "$1/args" 2>/dev/null)"
    (
        cd "$1" || exit 1
        mkdir -p .moksha
        [ -f state.json ] && cp state.json .moksha/state.json
        [ -f observed.json ] && cp observed.json .moksha/observed.json
        for e in env-*.state.json; do # another environment's state, for an `outputs` block to read
            [ -f "$e" ] || continue
            e=${e#env-}
            mkdir -p ".moksha/env/${e%.state.json}" && cp "env-$e" ".moksha/env/${e%.state.json}/state.json"
        done
        echo "$GOLDEN_STACK_ID" > .moksha/stack-id
        # shellcheck disable=SC2046 # args holds several words on purpose
        MOKSHA_KEY=$GOLDEN_KEY capture both "$MOKSHA" plan --color never $(cat args 2>/dev/null) |
            sed 's/"sealed":"[^"]*"/"sealed":"…"/g'
    )
}

# cost: `moksha cost` in tests/golden/cost/NAME/ with NAME/state.json as the
# applied state and NAME/args as extra arguments, under a fixed project key.
case_cost() {
    REPRO="cd tests/golden/cost/$1 && mkdir -p .moksha && cp state.json .moksha/ && MOKSHA_KEY=$GOLDEN_KEY $MOKSHA cost --color never $(cat "$1/args" 2>/dev/null)"
    (
        cd "$1" || exit 1
        mkdir -p .moksha
        [ -f state.json ] && cp state.json .moksha/state.json
        # shellcheck disable=SC2046 # args holds several words on purpose
        MOKSHA_KEY=$GOLDEN_KEY capture both "$MOKSHA" cost --color never $(cat args 2>/dev/null)
    )
}

# policy: `moksha policy check` in tests/golden/policy/NAME/ with NAME/args
# as extra arguments (quoted words allowed), under a fixed project key.
# SARIF's %SRCROOT% (the absolute path of the temporary copy) is masked.
case_policy() {
    REPRO="cd tests/golden/policy/$1 && MOKSHA_KEY=$GOLDEN_KEY $MOKSHA policy check --color never $(cat "$1/args" 2>/dev/null)"
    (
        cd "$1" || exit 1
        eval "set -- $(cat args 2>/dev/null)"
        MOKSHA_KEY=$GOLDEN_KEY capture both "$MOKSHA" policy check --color never "$@" |
            sed 's|"uri": "file://[^"]*"|"uri": "file://…"|'
    )
}

# graph: `moksha graph` (dot) of the stack in tests/golden/graph/NAME/, with
# NAME/args as extra arguments: the dependency edges of a plan.
case_graph() {
    REPRO="cd tests/golden/graph/$1 && $MOKSHA graph $(cat "$1/args" 2>/dev/null)"
    (
        cd "$1" || exit 1
        # shellcheck disable=SC2046 # args holds several words on purpose
        capture both "$MOKSHA" graph $(cat args 2>/dev/null)
    )
}

# policytest: `moksha policy test` in tests/golden/policytest/NAME/.
case_policytest() {
    REPRO="cd tests/golden/policytest/$1 && $MOKSHA policy test --color never"
    (cd "$1" && capture both "$MOKSHA" policy test --color never)
}

# ---- driver ----

# selected KIND NAME: true when no cases were named on the command line, or
# this one was (as KIND/NAME, or a shell pattern like 'check/syntax_*').
SELECT="$*"
selected() {
    [ -z "$SELECT" ] && return 0
    sel_hit=1
    set -f    # the patterns must reach `case` unexpanded
    for s in $SELECT; do
        # shellcheck disable=SC2254 # $s is a pattern on purpose
        case "$1/$2" in $s) sel_hit=0 ;; esac
    done
    set +f
    return $sel_hit
}

run_case() {
    kind=$1 name=$2
    expected=$GOLDEN/$kind/$name.out
    actual=$TMP/actual
    REPRO=
    cd "$TMP/$kind" || exit 1
    "case_$kind" "$name" >"$actual" 2>&1
    cd "$TOP" || exit 1
    status=$(tail -n 1 "$actual")
    status=${status#exit: }
    if [ "$status" -eq 124 ] || [ "$status" -gt 128 ]; then
        # a hang or a crash is never the expected output, not even to UPDATE=1
        echo "FAIL $kind/$name: moksha $( [ "$status" -eq 124 ] && echo "timed out" || echo "died with status $status"); run: $REPRO"
        head -n 20 "$actual" | sed 's/^/    /'
        failed=$((failed + 1))
        return
    fi
    if [ -n "$UPDATE" ]; then
        if [ -f "$expected" ] && cmp -s "$actual" "$expected"; then
            unchanged=$((unchanged + 1))
        else
            cp "$actual" "$expected"
            echo "updated $kind/$name.out"
            updated=$((updated + 1))
        fi
    elif [ ! -f "$expected" ]; then
        echo "FAIL $kind/$name: no tests/golden/$kind/$name.out (make golden-update writes it); run: $REPRO"
        head -n 20 "$actual" | sed 's/^/    /'
        failed=$((failed + 1))
    elif cmp -s "$actual" "$expected"; then
        passed=$((passed + 1))
    else
        echo "FAIL $kind/$name: output differs; run: $REPRO"
        diff -u --label "tests/golden/$kind/$name.out" --label "actual" "$expected" "$actual" | head -n 40
        failed=$((failed + 1))
    fi
}

for kdir in "$GOLDEN"/*/; do
    [ -d "$kdir" ] || continue
    kind=$(basename "$kdir")
    if ! command -v "case_$kind" >/dev/null 2>&1; then
        echo "FAIL $kind: tests/golden/$kind/ has no runner (add case_$kind to tests/golden/run.sh)"
        failed=$((failed + 1))
        continue
    fi
    rm -rf "${TMP:?}/$kind"
    sh "$TOP/tests/clean_copy.sh" "$kdir" "$TMP/$kind" || exit 1
    for entry in "$kdir"*; do
        base=$(basename "$entry")
        if [ -d "$entry" ]; then
            name=$base
        else
            case $base in
            *.moksha) name=${base%.moksha} ;;
            *.out)
                # an expected output whose case is gone
                name=${base%.out}
                [ -e "$kdir$name.moksha" ] || [ -d "$kdir$name" ] || {
                    selected "$kind" "$name" || continue
                    if [ -n "$UPDATE" ]; then
                        rm -f "$entry"
                        echo "removed $kind/$base (its case is gone)"
                    else
                        echo "FAIL $kind/$name: $kind/$base has no $name.moksha or $name/ beside it (delete it, or run make golden-update)"
                        failed=$((failed + 1))
                    fi
                }
                continue ;;
            *) continue ;;
            esac
        fi
        selected "$kind" "$name" || continue
        run_case "$kind" "$name"
    done
done

total=$((passed + failed))
if [ -n "$UPDATE" ]; then
    echo "golden: $updated updated, $unchanged unchanged, $failed failed"
else
    echo "golden: $passed passed, $failed failed ($total cases)"
fi
[ "$failed" -eq 0 ]
