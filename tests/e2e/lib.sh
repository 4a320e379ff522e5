# lib.sh — helpers for the end-to-end tests; each tests/e2e/test_*.sh starts with
#   . "$TOP/tests/e2e/lib.sh"
# tests/e2e/run.sh runs a test with its own empty temporary directory as the
# working directory, and with MOKSHA, MOKSHA_EXEC (absolute paths of the
# binaries), TOP (the repository top) and NO_COLOR=1 in the environment.
#
# A failed expectation prints a FAIL line and the test goes on, so one run shows
# every broken expectation; the test's exit status is 1 if any failed.
#
#   fail MSG                    record a failure
#   expect_exit N CMD...        run CMD; its stdout is in the file $OUT and its
#                               stderr in $ERR; fail unless it exits with N
#   expect_contains FILE TEXT   fail unless FILE contains TEXT (fixed string)
#   expect_not_contains FILE TEXT
#   expect_match FILE REGEX     fail unless a line of FILE matches REGEX (grep -E)
#   expect_empty FILE           fail unless FILE is empty
#   expect_file FILE            fail unless FILE exists as a regular file
#   expect_same FILE1 FILE2     fail unless the files are identical
#   copy_example NAME           copy $TOP/examples/NAME into ./NAME: its source
#                               files only, never a .moksha/ or plan file a
#                               run inside the example left (tests/clean_copy.sh)
#   enter DIR                   cd into DIR (a path under the test's working
#                               directory), or fail; returns 1 when it cannot
#   leave                       cd back to the test's working directory, $WORK
#   moksha ARGS...              runs $MOKSHA
#   e2e_resign PLAN KEY OUT [SED]
#                               OUT: PLAN's body (edited by the sed script SED,
#                               if given) signed anew with the Ed25519 private
#                               key file KEY, by the openssl CLI alone, as
#                               docs/trust.md "Signing plans" says: what a
#                               holder of a planner key could make by hand
#   snapshot FILE               the state entries, the sim world and the local
#                               provider's files (.moksha/out), in a stable order;
#                               of a sim object's owner only its stack (a rollback
#                               re-makes what it deleted, and takes back what it
#                               set aside, as its own run)
#   kill_apply PLAN PROBE DELAY [ARG...]
#                               `moksha-exec apply ARG... PLAN` in the background;
#                               once the command PROBE prints a number above 0 (the
#                               apply made something; waited for up to 4 s: a
#                               sanitized build starts slowly), DELAY seconds more,
#                               then kill -9 it and reap it
#   unlock_dead                 the lock a killed run left behind: an apply is
#                               refused (exit 6, the holder no longer running),
#                               then `moksha state unlock` frees it
# Run expectations in the test's own shell, never in a ( subshell ): a
# subshell's failures are lost. Hence enter/leave rather than (cd DIR && ...).

: "${MOKSHA:?run the e2e tests through tests/e2e/run.sh}"
: "${TOP:?run the e2e tests through tests/e2e/run.sh}"

# shellcheck disable=SC2034 # for the tests that source this file
WORK=$(pwd)
E2E_FAILS=0
E2E_CHECKS=0
E2E_SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/moksha-e2e-lib.XXXXXX") || exit 1
OUT=$E2E_SCRATCH/stdout
ERR=$E2E_SCRATCH/stderr
: >"$OUT"
: >"$ERR"
E2E_LAST="(no command run yet)"

e2e_finish() {
    e2e_rc=$?
    rm -rf "$E2E_SCRATCH"
    if [ "$E2E_FAILS" -eq 0 ] && [ "$e2e_rc" -ne 0 ]; then
        # not a failed expectation: the script itself stopped (a syntax error, an
        # explicit exit, or a last command that failed)
        echo "FAIL: the test script exited with status $e2e_rc after $E2E_CHECKS checks"
        E2E_FAILS=1
    fi
    echo "$E2E_CHECKS checks, $E2E_FAILS failed"
    [ "$E2E_FAILS" -eq 0 ] || exit 1
    exit 0
}
trap e2e_finish EXIT
trap 'exit 130' INT TERM HUP PIPE

moksha() { "$MOKSHA" "$@"; }

# show FILE LABEL: a file's first lines, indented, for a failure report.
e2e_show() {
    if [ -s "$1" ]; then
        echo "    --- $2:"
        head -n 30 "$1" | sed 's/^/    | /'
    else
        echo "    --- $2: (empty)"
    fi
}

# name FILE: $OUT and $ERR by their meaning, other files by their path.
e2e_name() {
    case $1 in
    "$OUT") echo "stdout of \`$E2E_LAST\`" ;;
    "$ERR") echo "stderr of \`$E2E_LAST\`" ;;
    *) echo "$1" ;;
    esac
}

fail() {
    E2E_FAILS=$((E2E_FAILS + 1))
    echo "FAIL: $*"
}

# ok: count a passing check; returns 0 so that callers can chain with &&.
e2e_ok() {
    E2E_CHECKS=$((E2E_CHECKS + 1))
    return 0
}

e2e_bad() {
    E2E_CHECKS=$((E2E_CHECKS + 1))
    fail "$@"
    return 1
}

expect_exit() {
    want=$1
    shift
    E2E_LAST=$(echo "$*" | sed "s|$MOKSHA|moksha|g")
    "$@" >"$OUT" 2>"$ERR" </dev/null
    got=$?
    [ "$got" -eq "$want" ] && { e2e_ok; return 0; }
    e2e_bad "\`$E2E_LAST\` (in $(pwd)) exited $got, expected $want"
    e2e_show "$OUT" stdout
    e2e_show "$ERR" stderr
    return 1
}

expect_contains() {
    grep -Fq -- "$2" "$1" 2>/dev/null && { e2e_ok; return 0; }
    e2e_bad "$(e2e_name "$1") does not contain: $2"
    e2e_show "$1" "$(e2e_name "$1")"
    return 1
}

expect_not_contains() {
    grep -Fq -- "$2" "$1" 2>/dev/null || { e2e_ok; return 0; }
    e2e_bad "$(e2e_name "$1") contains: $2"
    e2e_show "$1" "$(e2e_name "$1")"
    return 1
}

expect_match() {
    grep -Eq -- "$2" "$1" 2>/dev/null && { e2e_ok; return 0; }
    e2e_bad "$(e2e_name "$1") has no line matching: $2"
    e2e_show "$1" "$(e2e_name "$1")"
    return 1
}

expect_empty() {
    [ ! -s "$1" ] && { e2e_ok; return 0; }
    e2e_bad "$(e2e_name "$1") is not empty"
    e2e_show "$1" "$(e2e_name "$1")"
    return 1
}

expect_file() {
    [ -f "$1" ] && { e2e_ok; return 0; }
    e2e_bad "file $1 does not exist (in $(pwd))"
    return 1
}

expect_same() {
    cmp -s "$1" "$2" && { e2e_ok; return 0; }
    e2e_bad "$(e2e_name "$1") and $(e2e_name "$2") differ"
    diff -u "$1" "$2" | head -n 30 | sed 's/^/    /'
    return 1
}

enter() {
    cd "$1" 2>/dev/null && { e2e_ok; return 0; }
    e2e_bad "cannot enter directory $1 (from $(pwd))"
    return 1
}

leave() { cd "$WORK" || exit 1; }

copy_example() {
    if [ ! -d "$TOP/examples/$1" ]; then
        e2e_bad "examples/$1 does not exist"
        return 1
    fi
    rm -rf "./$1"
    sh "$TOP/tests/clean_copy.sh" "$TOP/examples/$1" "./$1" || e2e_bad "cannot copy examples/$1"
}

snapshot() {
    {
        for a in $("$MOKSHA_EXEC" state list | awk '{print $1}' | sort); do
            echo "== state $a"
            "$MOKSHA_EXEC" state show "$a"
        done
        for f in $(ls .moksha/sim | sort); do
            echo "== sim $f"
            jq 'if .owner then .owner |= del(.run) else . end' ".moksha/sim/$f"
        done
        for f in $(cd .moksha/out 2>/dev/null && find . -name '*.moksha-tmp' -prune -o -print | sort); do
            echo "== out $f"
            [ -f ".moksha/out/$f" ] && cat ".moksha/out/$f"
        done
    } > "$1"
}

kill_apply() {
    _plan=$1 _probe=$2 _delay=$3
    shift 3
    "$MOKSHA_EXEC" apply "$@" "$_plan" >/dev/null 2>&1 &
    _pid=$!
    _w=0
    while [ "$(eval "$_probe")" -eq 0 ] && [ $_w -lt 200 ]; do sleep 0.02; _w=$((_w + 1)); done
    sleep "$_delay"
    kill -9 $_pid
    wait $_pid 2>/dev/null
}

# kill_apply_at PLAN PROBE N [ARGS...]: moksha-exec apply PLAN in the
# background, killed -9 as soon as PROBE (a command printing a count) says N
# or more (at most 10 s): a moment by what was done, not by a clock, so a
# fast machine does not finish before the kill.
kill_apply_at() {
    _plan=$1 _probe=$2 _n=$3
    shift 3
    "$MOKSHA_EXEC" apply "$@" "$_plan" >/dev/null 2>&1 &
    _pid=$!
    _w=0
    while [ "$(eval "$_probe")" -lt "$_n" ] && [ $_w -lt 1000 ]; do sleep 0.01; _w=$((_w + 1)); done
    kill -9 $_pid
    wait $_pid 2>/dev/null
}

unlock_dead() {
    expect_exit 6 moksha apply --yes && expect_contains "$ERR" "that process is no longer running"
    _id=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' .moksha/state.lock)
    expect_exit 0 moksha state unlock "$_id" --reason "test: the holder was killed"
}

e2e_resign() {
    _rs=$(mktemp -d "${TMPDIR:-/tmp}/moksha-resign.XXXXXX") || return 1
    sed 's/,"signature":{[^}]*}}$/}/' "$1" | tr -d '\n' | sed "${4:-}" >"$_rs/body"
    _d=$(sha256sum <"$_rs/body" | cut -c1-64)
    _st=$(sed -n 's/.*"state":{\([^}]*\)}.*/\1/p' "$_rs/body")
    _sid=$(printf '%s' "$_st" | sed -n 's/.*"stack_id":"\([0-9a-f]*\)".*/\1/p')
    _lin=$(printf '%s' "$_st" | sed -n 's/.*"lineage":"\([^"]*\)".*/\1/p')
    _ser=$(printf '%s' "$_st" | sed -n 's/.*"serial":\([0-9]*\).*/\1/p')
    _env=$(sed -n 's/^{"format":"moksha.plan\/v1","stack":"[^"]*","env":"\([^"]*\)".*/\1/p' "$_rs/body")
    [ -n "$_sid" ] && _sid=",\"stack_id\":\"$_sid\""
    [ -n "$_env" ] && _sid="$_sid,\"environment\":\"$_env\""
    printf 'moksha-signature/v1\000plan\000{"format":"moksha.plan/v1","digest":"%s"%s,"lineage":"%s","serial":%s}' \
        "$_d" "$_sid" "$_lin" "${_ser:-0}" >"$_rs/msg"
    openssl pkey -in "$2" -pubout -outform DER | tail -c 32 >"$_rs/raw"
    _pub=$(base64 -w0 <"$_rs/raw")
    _id=$(sha256sum <"$_rs/raw" | cut -c1-16)
    _sig=$(openssl pkeyutl -sign -rawin -inkey "$2" -in "$_rs/msg" | base64 -w0)
    { sed 's/}$//' "$_rs/body"
      printf ',"signature":{"algorithm":"Ed25519","type":"plan","key":"ed25519:%s","key_id":"%s","digest":"%s","value":"%s"}}\n' \
          "$_pub" "$_id" "$_d" "$_sig"; } >"$3"
    _rc=$?
    rm -rf "$_rs"
    [ -n "$_sig" ] && return $_rc
}
