#!/bin/sh
# Benchmarks (`make bench`): how fast `moksha check` reads large generated
# stacks, against `jsonnet` evaluating the same stack (DESIGN.md §9).
#
#   sh tests/bench/run.sh BUILD
#
# For N in 10000 100000 (and 1000000 with BENCH_BIG=1; BENCH_SIZES="..." to
# choose): generate the stack with tests/bench/gen.sh, then time
# `moksha --stats check` (best wall time of 3 runs, peak RSS from its stats
# line) and `jsonnet` on the jsonnet version (best of 3, one run if it takes
# over 2 s, at most BENCH_JSONNET_TIMEOUT seconds, default 120; skipped when
# jsonnet is not installed). Prints a table and the 100k/10k time ratio
# (linearity), and appends them, with the date, machine and commit, to
# tests/bench/RESULTS.md (BENCH_RESULTS=FILE to write elsewhere). Exits 1 when
# moksha fails on a stack; missing a §9 target is reported, and fails the run
# only with BENCH_STRICT=1.
set -u

BUILD=${1:-build}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
MOKSHA=$BUILD/moksha
SIZES=${BENCH_SIZES:-10000 100000}
[ -n "${BENCH_BIG:-}" ] && [ -z "${BENCH_SIZES:-}" ] && SIZES="$SIZES 1000000"
JTIMEOUT=${BENCH_JSONNET_TIMEOUT:-120}
RESULTS=${BENCH_RESULTS:-$TOP/tests/bench/RESULTS.md}
RUNS=3

if [ ! -x "$MOKSHA" ]; then
    echo "bench: $MOKSHA is missing or not executable (run make first)" >&2
    exit 1
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/moksha-bench.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM HUP PIPE
export LC_ALL=C NO_COLOR=1
for v in $(env | sed -n 's/^\(MOKSHA_VAR_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done

have_jsonnet=
command -v jsonnet >/dev/null 2>&1 && have_jsonnet=yes

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# fmt_ms MS: 850 ms, 1.25 s
fmt_ms() { awk -v t="$1" 'BEGIN { if (t < 1000) printf "%d ms", t; else printf "%.2f s", t / 1000 }'; }

failed=0
rows=$TMP/rows
: >"$rows"
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
ncpu=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo "?")
version=$("$MOKSHA" version 2>/dev/null | head -n 1)
commit=$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null)
echo "bench: ${version:-moksha (version unknown)}${commit:+ at $commit}, $(uname -m), ${cpu:-unknown CPU}, $ncpu CPUs"

for n in $SIZES; do
    dir=$TMP/n$n
    mkdir -p "$dir"
    sh "$TOP/tests/bench/gen.sh" "$n" 1 >"$dir/main.moksha" || { echo "FAIL N=$n: gen.sh failed"; failed=1; continue; }
    bytes=$(wc -c <"$dir/main.moksha")
    echo "bench: N=$n: $(awk -v b="$bytes" 'BEGIN { printf "%.1f MB", b / 1e6 }') of source"

    # moksha: best of RUNS by its own wall time; the peak RSS of that run.
    best='' rss=''
    i=0
    while [ "$i" -lt "$RUNS" ]; do
        (cd "$dir" && "$MOKSHA" --stats check main.moksha) >"$dir/out" 2>"$dir/err" </dev/null
        rc=$?
        line=$(grep '^stats: wall_ms=' "$dir/err" | tail -n 1)
        if [ "$rc" -ne 0 ] || [ -z "$line" ]; then
            echo "FAIL N=$n: \`moksha --stats check\` exited $rc$([ -z "$line" ] && echo ", without a stats line"); run: sh tests/bench/gen.sh $n 1 > /tmp/main.moksha && $MOKSHA --stats check /tmp/main.moksha"
            grep -v '^stats:' "$dir/err" | head -n 8 | sed 's/^/    /'
            failed=1 best=
            break
        fi
        ms=$(echo "$line" | sed -n 's/.*wall_ms=\([0-9]*\).*/\1/p')
        kib=$(echo "$line" | sed -n 's/.*peak_rss_kib=\([0-9]*\).*/\1/p')
        if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then
            best=$ms rss=$kib
        fi
        i=$((i + 1))
    done
    [ -n "$best" ] && echo "bench: N=$n: moksha check $(fmt_ms "$best") (best of $RUNS), peak RSS $((rss / 1024)) MiB, $(tail -n 1 "$dir/out")"

    # jsonnet on the same stack
    jbest='' jnote=''
    if [ -z "$have_jsonnet" ]; then
        jnote="skipped (jsonnet not installed)"
    else
        sh "$TOP/tests/bench/gen.sh" --jsonnet "$n" 1 >"$dir/main.jsonnet"
        i=0
        while [ "$i" -lt "$RUNS" ]; do
            t0=$(now_ms)
            timeout "$JTIMEOUT" jsonnet "$dir/main.jsonnet" >/dev/null 2>"$dir/jerr"
            rc=$?
            t=$(($(now_ms) - t0))
            if [ "$rc" -eq 124 ]; then
                jnote="> ${JTIMEOUT} s (timed out)"
                break
            elif [ "$rc" -ne 0 ]; then
                jnote="failed (exit $rc: $(head -n 1 "$dir/jerr"))"
                break
            fi
            if [ -z "$jbest" ] || [ "$t" -lt "$jbest" ]; then jbest=$t; fi
            [ "$t" -gt 2000 ] && break
            i=$((i + 1))
        done
        if [ -n "$jbest" ] && [ -z "$jnote" ]; then
            echo "bench: N=$n: jsonnet $(fmt_ms "$jbest")"
        else
            jbest=
            echo "bench: N=$n: jsonnet $jnote"
        fi
    fi
    echo "$n $bytes ${best:--} ${rss:--} ${jbest:--} ${jnote:-}" >>"$rows"
    rm -f "$dir/main.moksha" "$dir/main.jsonnet"
done

# ---- the table, the linearity ratio, the §9 targets ----
report=$TMP/report
awk -v jt="$JTIMEOUT" '
function ms(t) { return t < 1000 ? sprintf("%d ms", t) : sprintf("%.2f s", t / 1000) }
function group(n,   s) { s = ""; while (n >= 1000) { s = sprintf(",%03d", n % 1000) s; n = int(n / 1000) } return n s }
BEGIN {
    print "| resources | source | moksha check (best of 3) | throughput | peak RSS | jsonnet | jsonnet ÷ moksha |"
    print "|---:|---:|---:|---:|---:|---:|---:|"
}
{
    n = $1; bytes = $2; t = $3; rss = $4; j = $5
    note = ""; for (i = 6; i <= NF; i++) note = note (i > 6 ? " " : "") $i
    mt = t == "-" ? "failed" : ms(t)
    tp = t == "-" ? "–" : sprintf("%.1f MB/s", bytes / 1e6 / ((t > 0 ? t : 1) / 1000))
    mem = rss == "-" ? "–" : sprintf("%d MiB", rss / 1024)
    jj = j != "-" ? ms(j) : note
    ratio = (j != "-" && t != "-") ? sprintf("%.1f×", j / (t > 0 ? t : 1)) : \
            (note ~ /timed out/ && t != "-") ? sprintf("> %.0f×", jt * 1000 / (t > 0 ? t : 1)) : "–"
    printf "| %s | %.1f MB | %s | %s | %s | %s | %s |\n", group(n), bytes / 1e6, mt, tp, mem, jj, ratio
}' "$rows" >"$report"

t10k=$(awk '$1 == 10000 { print $3 }' "$rows")
t100k=$(awk '$1 == 100000 { print $3 }' "$rows")
rss100k=$(awk '$1 == 100000 { print $4 }' "$rows")
j100k=$(awk '$1 == 100000 { print $5 }' "$rows")
jn100k=$(awk '$1 == 100000 { for (i = 6; i <= NF; i++) printf "%s ", $i }' "$rows")
missed=0
targets=
target() { # NAME MET(yes/no/unknown)
    case $2 in
    yes) targets="$targets
- $1: met" ;;
    no) targets="$targets
- $1: **missed**"
        missed=$((missed + 1)) ;;
    *) targets="$targets
- $1: not measured" ;;
    esac
}
num() { [ -n "$1" ] && [ "$1" != - ]; }
linearity=
if num "$t10k" && num "$t100k"; then
    linearity=$(awk -v a="$t100k" -v b="$t10k" 'BEGIN { printf "%.1f", a / (b > 0 ? b : 1) }')
    echo "" >>"$report"
    echo "Linearity: 100k ÷ 10k check time = ${linearity}× (ideal 10×, target ≤ 11×)." >>"$report"
fi
if num "$t100k"; then
    target "check of 100k resources under 1 s" "$([ "$t100k" -lt 1000 ] && echo yes || echo no)"
    target "throughput ≥ 50 MB/s at 100k" "$(awk -v b="$(awk '$1 == 100000 { print $2 }' "$rows")" -v t="$t100k" 'BEGIN { print (b / 1e6 / ((t > 0 ? t : 1) / 1000) >= 50) ? "yes" : "no" }')"
else
    target "check of 100k resources under 1 s" unknown
fi
num "$rss100k" && target "peak RSS at 100k under 1 GiB" "$([ "$rss100k" -lt 1048576 ] && echo yes || echo no)"
[ -n "$linearity" ] && target "linear growth, 100k ÷ 10k ≤ 11×" "$(awk -v l="$linearity" 'BEGIN { print (l <= 11) ? "yes" : "no" }')"
if num "$t100k" && num "$j100k"; then
    target "faster than jsonnet at 100k" "$([ "$t100k" -lt "$j100k" ] && echo yes || echo no)"
elif num "$t100k" && echo "$jn100k" | grep -q 'timed out'; then
    target "faster than jsonnet at 100k" yes
else
    target "faster than jsonnet at 100k" unknown
fi
{
    echo ""
    echo "Targets of DESIGN.md §9 for check (plan, policies and apply are in the table below):$targets"
} >>"$report"

# plan, cost and policies, then the executor (tests/bench/pipeline.sh)
pipe_sizes=$(echo "$SIZES" | tr ' ' '\n' | awk '$1 <= 100000' | tr '\n' ' ')
if sh "$TOP/tests/bench/pipeline.sh" "$BUILD" $pipe_sizes > "$TMP/pipeline" 2> "$TMP/pipeline.err"; then
    { echo ""; echo "Plan, cost and policies (moksha's --stats phases):"; echo ""; cat "$TMP/pipeline"; } >>"$report"
else
    echo "bench: the plan/policy/apply pipeline failed:"; sed 's/^/    /' "$TMP/pipeline.err" | head -n 10
    failed=1
fi

echo
cat "$report"

# ---- append to RESULTS.md (only a run where every check worked) ----
if [ "$failed" -ne 0 ]; then
    echo
    echo "bench: FAILED (moksha did not check a generated stack); nothing appended to ${RESULTS#"$TOP"/}"
    exit 1
fi
if [ ! -f "$RESULTS" ]; then
    {
        echo "# Benchmark results"
        echo
        echo "Appended by \`make bench\` (tests/bench/run.sh); newest last. Stacks come from"
        echo "\`tests/bench/gen.sh N 1\`; times are moksha's own \`--stats\` wall time."
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

if [ "$missed" -gt 0 ]; then
    echo "bench: $missed target(s) missed"
    [ -n "${BENCH_STRICT:-}" ] && exit 1
fi
exit 0
