#!/bin/sh
# Benchmarks (`make bench`): the performance figures and their goals, measured on
# stacks from tests/bench/gen.sh, each beside its goal, and the peers run on
# the same shapes in the same run. A benchmark, not a timed test: nothing
# here is part of `make test`, and a missed goal fails the run only with
# BENCH_STRICT=1.
#
#   sh tests/bench/run.sh BUILD
#
# For N in 10000 100000 (and 1000000 with BENCH_BIG=1; BENCH_SIZES="..." to
# choose), with the 50 policies of tests/bench/policies/:
#   - `moksha check`: time, MB/s, peak memory;
#   - `moksha plan --policies … -o p.plan` against an empty state: wall, the
#     phases of its --stats, peak memory, the share of its CPU time spent in
#     the kernel (page zeroing), and the plan file's size;
#   - `moksha-exec verify p.plan`: the executor loading and verifying the
#     plan without applying it;
#   - the same plan against the state that applying p.plan leaves, 1% of it
#     changed (tests/bench/mkstate.c), and `moksha policy check` there;
#   - the growth 10k → 100k of each;
# then the executor: 1,000 sim buckets at 20 ms applied (tests/bench/apply.sh)
# and refreshed (tests/bench/refresh.sh), each at --parallelism 50 beside
# its ideal of 0.4 s; the same apply with the state on postgres beside it
# on local, and a 100,000-resource state read from postgres for a plan
# (tests/bench/state_pg.sh);
# and the peers, each as a ratio to moksha, skipped with a note when missing:
#   - jsonnet evaluating the stack (gen.sh --jsonnet), at most
#     BENCH_JSONNET_TIMEOUT seconds (default 120), against `moksha check`;
#   - HashiCorp's HCL parser (@cdktf/hcl2json in $BUILD/tools/npm, through
#     tests/bench/hcl2json.js) converting the stack as HCL (gen.sh --hcl), at
#     most BENCH_HCL_TIMEOUT seconds (default 120), against `moksha check`;
#   - jq running the same 50 rules (tests/bench/policies.jq) over the
#     resources as JSON, against `moksha policy check`; the two must find the
#     same violations, and a mismatch is reported.
# moksha's times are its own --stats wall time, the executor's and the
# peers' the wall time around the process; each the best of BENCH_RUNS
# (default 3; one run above 100k, and a peer's one run when it takes over
# 2 s). Prints the tables and appends them, with the date, machine and
# commit, to tests/bench/RESULTS.md (BENCH_RESULTS=FILE to write elsewhere).
# Exits 1 when moksha fails on a stack.
set -u

BUILD=${1:-build}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
MOKSHA=$BUILD/moksha
EXEC=$BUILD/moksha-exec
SIZES=${BENCH_SIZES:-10000 100000}
[ -n "${BENCH_BIG:-}" ] && [ -z "${BENCH_SIZES:-}" ] && SIZES="$SIZES 1000000"
JTIMEOUT=${BENCH_JSONNET_TIMEOUT:-120}
HTIMEOUT=${BENCH_HCL_TIMEOUT:-120}
RESULTS=${BENCH_RESULTS:-$TOP/tests/bench/RESULTS.md}
RUNS=${BENCH_RUNS:-3}
POLICIES=$TOP/tests/bench/policies
NODE_MODULES=$BUILD/tools/npm/node_modules

for b in "$MOKSHA" "$EXEC"; do
    if [ ! -x "$b" ]; then
        echo "bench: $b is missing or not executable (run make first)" >&2
        exit 1
    fi
done
if [ ! -x /usr/bin/time ]; then
    echo "bench: /usr/bin/time is missing (sh tests/deps.sh bench installs it)" >&2
    exit 1
fi
npol=$(grep -c '^policy ' "$POLICIES"/*.moksha | awk -F: '{ s += $NF } END { print s }')

TMP=$(mktemp -d "${TMPDIR:-/tmp}/moksha-bench.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM HUP PIPE
export LC_ALL=C NO_COLOR=1 MOKSHA_KEY=be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c
for v in $(env | sed -n 's/^\(MOKSHA_VAR_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
cc -O2 -o "$TMP/mkstate" "$TOP/tests/bench/mkstate.c" -ljansson || exit 1

have_jsonnet= have_hcl= have_jq=
command -v jsonnet >/dev/null 2>&1 && have_jsonnet=yes
command -v node >/dev/null 2>&1 && [ -d "$NODE_MODULES/@cdktf/hcl2json" ] && have_hcl=yes
command -v jq >/dev/null 2>&1 && have_jq=yes

now_ms() { echo $(($(date +%s%N) / 1000000)); }
fmt_ms() { awk -v t="$1" 'BEGIN { if (t < 1000) printf "%d ms", t; else printf "%.2f s", t / 1000 }'; }
say() { echo "bench: N=$n: $*"; }

# fig KEY VALUE: one figure of this size, for the report
fig() { echo "$n $1 $2" >>"$TMP/figures"; }

# timed RUNS LIMIT NAME CMD...: CMD in $dir up to RUNS times (stdout and
# stderr in $dir/NAME.out and .err, of the last run), stopping after a run
# over 2 s when LIMIT is set, and killed after LIMIT seconds. Writes the best
# run's "WALL_MS USER_S SYS_S PEAK_KIB" to $dir/NAME.time; WALL_MS is
# moksha's own (--stats) when it printed one. Returns CMD's status (124: it
# timed out), and keeps the --stats lines of the best run in $dir/NAME.stats.
timed() {
    runs=$1 limit=$2 name=$3
    shift 3
    best= i=0
    while [ "$i" -lt "$runs" ]; do
        t0=$(now_ms)
        if [ -n "$limit" ]; then
            (cd "$dir" && /usr/bin/time -f '%U %S %M' -o "$dir/$name.ru" timeout "$limit" "$@")
        else
            (cd "$dir" && /usr/bin/time -f '%U %S %M' -o "$dir/$name.ru" "$@")
        fi >"$dir/$name.out" 2>"$dir/$name.err" </dev/null
        rc=$?
        t=$(($(now_ms) - t0))
        [ "$rc" -ne 0 ] && return "$rc"
        own=$(sed -n 's/^stats: wall_ms=\([0-9]*\).*/\1/p' "$dir/$name.err" | tail -n 1)
        [ -n "$own" ] && t=$own
        if [ -z "$best" ] || [ "$t" -lt "$best" ]; then
            best=$t
            echo "$t $(tail -n 1 "$dir/$name.ru")" >"$dir/$name.time"
            grep '^stats:' "$dir/$name.err" >"$dir/$name.stats"
        fi
        [ -n "$limit" ] && [ "$t" -gt 2000 ] && break
        i=$((i + 1))
    done
    return 0
}
field() { awk -v k="$2" '{ print $k }' "$dir/$1.time"; }
stat_of() { sed -n "s/^stats: $1=\([0-9]*\).*/\1/p" "$dir/$2.stats" | tail -n 1; }

# moksha_fails NAME WHAT: report a failed moksha command, with its stderr
moksha_fails() {
    echo "FAIL N=$n: \`$2\` exited $3"
    grep -v '^stats:' "$dir/$1.err" | head -n 8 | sed 's/^/    /'
    failed=1
}

failed=0
: >"$TMP/figures"
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
ncpu=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo "?")
version=$("$MOKSHA" version 2>/dev/null | head -n 1)
commit=$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null)
echo "bench: ${version:-moksha (version unknown)}${commit:+ at $commit}, $(uname -m), ${cpu:-unknown CPU}, $ncpu CPUs"

# check N: `moksha check`, then jsonnet and the HCL parser on the same stack
check() {
    bytes=$(wc -c <"$dir/main.moksha")
    fig bytes "$bytes"
    say "$(awk -v b="$bytes" 'BEGIN { printf "%.1f MB", b / 1e6 }') of source"
    timed "$runs" "" check "$MOKSHA" --stats check main.moksha || { moksha_fails check "moksha check" $?; return 1; }
    fig check_ms "$(field check 1)"
    fig check_kib "$(field check 4)"
    say "moksha check $(fmt_ms "$(field check 1)"), $(tail -n 1 "$dir/check.out")"
    peer jsonnet "$have_jsonnet" "jsonnet not installed" "$JTIMEOUT" --jsonnet main.jsonnet jsonnet main.jsonnet
    peer hcl "$have_hcl" "node or @cdktf/hcl2json not installed: sh tests/deps.sh bench" "$HTIMEOUT" --hcl main.tf \
        env NODE_PATH="$NODE_MODULES" node "$TOP/tests/bench/hcl2json.js" main.tf
}

# peer NAME HAVE WHY-NOT TIMEOUT GEN-FLAG FILE CMD...: a peer on the stack
# gen.sh writes with GEN-FLAG; its time, or a note saying why there is none
peer() {
    name=$1 have=$2 why=$3 limit=$4 flag=$5 file=$6
    shift 6
    if [ -z "$have" ]; then
        fig "${name}_note" "skipped ($why)"
        return
    fi
    sh "$TOP/tests/bench/gen.sh" "$flag" "$n" 1 >"$dir/$file"
    timed "$runs" "$limit" "$name" "$@"
    rc=$?
    if [ "$rc" -eq 124 ]; then
        fig "${name}_note" "> $limit s (timed out)"
    elif [ "$rc" -ne 0 ]; then
        fig "${name}_note" "failed (exit $rc: $(grep -v '^Command' "$dir/$name.err" | head -n 1))"
    else
        ms=$(field "$name" 1)
        # hcl2json.js times the parse itself, without node's start
        [ "$name" = hcl ] && ms=$(sed -n 's/^parse_ms=\([0-9]*\).*/\1/p' "$dir/$name.out")
        fig "${name}_ms" "$ms"
    fi
    if [ -n "$(sed -n "s/^$n ${name}_ms //p" "$TMP/figures")" ]; then
        say "$name $(fmt_ms "$ms")"
    else
        say "$name $(sed -n "s/^$n ${name}_note //p" "$TMP/figures")"
    fi
    rm -f "$dir/$file"
}

# plan N: plan, plan file, verify, re-plan against the applied state, policy check, jq
plan() {
    timed "$runs" "" plan "$MOKSHA" --stats plan --policies "$POLICIES" -o p.plan ||
        { moksha_fails plan "moksha plan --policies tests/bench/policies -o p.plan" $?; return 1; }
    fig plan_ms "$(field plan 1)"
    fig plan_kib "$(field plan 4)"
    fig plan_user "$(field plan 2)"
    fig plan_sys "$(field plan 3)"
    fig plan_phases "$(for p in compile diff cost policies sign render; do printf '%s/' "$(stat_of ${p}_ms plan)"; done | sed 's|/$||')"
    fig planfile "$(wc -c <"$dir/p.plan")"
    say "plan $(fmt_ms "$(field plan 1)"), $(($(field plan 4) / 1024)) MiB, plan file $(wc -c <"$dir/p.plan") bytes"

    timed "$runs" "" verify "$EXEC" verify p.plan || { moksha_fails verify "moksha-exec verify p.plan" $?; return 1; }
    fig verify_ms "$(field verify 1)"
    fig verify_kib "$(field verify 4)"
    say "moksha-exec verify $(fmt_ms "$(field verify 1)")"

    # the resources as JSON for jq: the desired attributes of the plan's
    # creates; stack and var are what gen.sh's header sets
    if [ -n "$have_jq" ]; then
        jq -c '{stack: {name: "bench", env: "prod", owner: "bench"}, var: {region: "eu-west-1"},
                providers: [.providers | to_entries[] | {name: .value.type, alias: .key} + .value.settings],
                resources: [.changes[] | select(.action != "delete") | .after + {address, type}]}' \
            "$dir/p.plan" >"$dir/resources.json" || { echo "FAIL N=$n: jq could not read p.plan"; failed=1; return 1; }
    fi
    "$TMP/mkstate" "$dir/p.plan" "$dir/.moksha/state.json" 100 2>"$dir/mkstate.err" ||
        { echo "FAIL N=$n: mkstate: $(cat "$dir/mkstate.err")"; failed=1; return 1; }
    rm -f "$dir/p.plan"

    timed "$runs" "" replan "$MOKSHA" --stats plan --policies "$POLICIES" -o re.plan ||
        { moksha_fails replan "moksha plan --policies tests/bench/policies -o re.plan (1% changed)" $?; return 1; }
    fig replan_ms "$(field replan 1)"
    fig replan_kib "$(field replan 4)"
    say "re-plan, 1% changed: $(fmt_ms "$(field replan 1)"), $(grep '^Plan:' "$dir/replan.out")"
    rm -f "$dir/re.plan"

    timed "$runs" "" pcheck "$MOKSHA" --stats policy check --policies "$POLICIES" --format json ||
        { moksha_fails pcheck "moksha policy check --policies tests/bench/policies" $?; return 1; }
    fig pcheck_ms "$(field pcheck 1)"
    fig pcheck_kib "$(field pcheck 4)"
    fig pcheck_policies_ms "$(stat_of policies_ms pcheck)"
    say "policy check $(fmt_ms "$(field pcheck 1)")"
    jq_peer
}

# jq_peer: the 50 rules in jq over resources.json, and whether moksha and jq
# found the same violations (per policy)
jq_peer() {
    if [ -z "$have_jq" ]; then
        fig jq_note "skipped (jq not installed)"
        return
    fi
    jq -r '.[] | "\(.name) \(.violations | length)"' "$dir/pcheck.out" | sort >"$dir/v.moksha"
    timed "$runs" 600 jq jq -r -f "$TOP/tests/bench/policies.jq" resources.json
    rc=$?
    if [ "$rc" -ne 0 ]; then
        fig jq_note "failed (exit $rc: $(grep -v '^Command' "$dir/jq.err" | head -n 1))"
        return
    fi
    fig jq_ms "$(field jq 1)"
    grep -v '^total ' "$dir/jq.out" | sort >"$dir/v.jq"
    vm=$(awk '{ s += $2 } END { print s + 0 }' "$dir/v.moksha")
    vj=$(awk '{ s += $2 } END { print s + 0 }' "$dir/v.jq")
    fig violations "$vm $vj"
    differ=$(diff "$dir/v.moksha" "$dir/v.jq" | sed -n 's/^[<>] //p' | awk '{ print $1 }' | sort -u | tr '\n' ' ')
    [ -n "$differ" ] && fig violations_differ "$differ"
    say "jq $(fmt_ms "$(field jq 1)"); violations: moksha $vm, jq $vj${differ:+ (they differ on: $differ)}"
    rm -f "$dir/resources.json"
}

for n in $SIZES; do
    dir=$TMP/n$n
    mkdir -p "$dir/.moksha"
    runs=$RUNS
    [ "$n" -gt 100000 ] && runs=1
    sh "$TOP/tests/bench/gen.sh" "$n" 1 >"$dir/main.moksha" || { echo "FAIL N=$n: gen.sh failed"; failed=1; continue; }
    check && plan
    rm -rf "$dir"
done

# ---- the report ----
report=$TMP/report
awk -v sizes="$SIZES" -v npol="$npol" -f "$TOP/tests/bench/report.awk" "$TMP/figures" >"$report"
echo "" >>"$report"
sh "$TOP/tests/bench/apply.sh" "$BUILD" 1000 50 | sed 's/^/Executor: /' >>"$report"
sh "$TOP/tests/bench/refresh.sh" "$BUILD" 1000 50 | sed 's/^/Executor: /' >>"$report"
sh "$TOP/tests/bench/state_pg.sh" "$BUILD" 1000 50 | sed 's/^/State on postgres: /' >>"$report"

echo
cat "$report"

if [ "$failed" -ne 0 ]; then
    echo
    echo "bench: FAILED (moksha failed on a generated stack); nothing appended to ${RESULTS#"$TOP"/}"
    exit 1
fi
if [ ! -f "$RESULTS" ]; then
    {
        echo "# Benchmark results"
        echo
        echo "Appended by \`make bench\` (tests/bench/run.sh); newest last. Stacks come from"
        echo "\`tests/bench/gen.sh N 1\`; times are moksha's own \`--stats\` wall time, the"
        echo "executor's and the peers' the wall time around the process."
    } >"$RESULTS"
fi
{
    echo
    echo "## $(date -u '+%Y-%m-%d %H:%M UTC') · $(uname -m) · ${cpu:-unknown CPU} · $ncpu CPUs · ${version:-moksha ?}${commit:+ ($commit)}"
    echo
    cat "$report"
} >>"$RESULTS"
echo
echo "bench: appended to ${RESULTS#"$TOP"/}"

missed=$(grep -c '\*\*missed\*\*' "$report")
if [ "$missed" -gt 0 ]; then
    echo "bench: $missed goal(s) missed"
    [ -n "${BENCH_STRICT:-}" ] && exit 1
fi
exit 0
