#!/bin/sh
# Fidelity: moksha's monthly figures against Infracost's published goldens,
# and (tests/fidelity/checkov/run.sh, when it is there) moksha's policy
# verdicts against Checkov's. Not a golden test of moksha's own output (that
# is tests/golden/) and not a price catalog builder (stdlib/pricing/tools/):
# it only compares, per resource, what the corpus says with what moksha says.
#
#   sh tests/fidelity/run.sh BUILD [CASE...]
#
# A case is tests/fidelity/infracost/CASE/ with
#   main.moksha (+ any other .moksha)  the golden's resources restated
#   source     one line: the golden's path under corpus/infracost
#   map.tsv    GOLDEN_ADDRESS<TAB>MOKSHA_ADDRESS[ MOKSHA_ADDRESS...]
# and two lists beside the cases, one line per golden resource:
#   skip.tsv   GOLDEN_FILE<TAB>GOLDEN_ADDRESS<TAB>why moksha cannot express it
#   known.tsv  GOLDEN_FILE<TAB>GOLDEN_ADDRESS<TAB>why its figure is off by more than 5%
# (GOLDEN_ADDRESS `*` in skip.tsv: every resource of that golden). The
# expected figure of a golden resource is the sum of its components' monthly
# costs, read from the .golden table here, never typed by hand; moksha's is
# the sum of the mapped resources' `monthly` in `moksha cost --format json`.
# Within 5% means |moksha - golden| <= 5% of the golden, or <= $0.01 (the
# goldens' own rounding).
#
# The run fails on: a golden resource neither mapped nor skipped (or both),
# a figure off by more than 5% and not in known.tsv, one within 5% and still
# in known.tsv, a map or list line naming what the golden or moksha does not
# have, a golden of the corpus that no case and no skip line covers.
#
# A golden is "calibration" when a catalog was built from it (a source's
# `file` in stdlib/pricing/*.json matches it, or its file name appears
# there), else "independent"; the two are counted apart. The report, one row
# per golden resource, is BUILD/fidelity/infracost.tsv (and report.txt); the
# summary goes to stdout. FIDELITY_OUT=DIR puts the report in DIR instead.
#
# The corpus is found at $FIDELITY_CORPUS, else ../shared/corpus or
# ../../shared/corpus from the repository top. Without it the Infracost part
# is skipped, saying so (the corpus is not part of the repository).
set -u

BUILD=${1:-build}
[ $# -gt 0 ] && shift
TOP=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$TOP/tests/fidelity
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
MOKSHA=$BUILD/moksha
OUT=${FIDELITY_OUT:-$BUILD/fidelity}

if [ ! -x "$MOKSHA" ]; then
    echo "fidelity: $MOKSHA is missing or not executable (run make first)" >&2
    exit 1
fi
if ! command -v jq >/dev/null 2>&1; then
    echo "fidelity: jq is missing (make deps installs it)" >&2
    exit 1
fi

export LC_ALL=C NO_COLOR=1
unset MOKSHA_KEY
for v in $(env | sed -n 's/^\(MOKSHA_VAR_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/moksha-fidelity.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM HUP PIPE
rm -rf "$OUT" && mkdir -p "$OUT" || exit 1

find_corpus() {
    for c in "${FIDELITY_CORPUS:-}" "$TOP/../shared/corpus" "$TOP/../../shared/corpus"; do
        [ -n "$c" ] && [ -d "$c/infracost" ] && { (cd "$c" && pwd); return 0; }
    done
    return 1
}

# golden_figures FILE: ADDRESS<TAB>CENTS per resource of a golden table, in
# its order, then `=TOTAL<TAB>CENTS` (its OVERALL TOTAL). A resource is a
# line of the table that starts with one space and a lower-case letter; its
# figure is the sum of the `$N` that end its component lines ("Monthly cost
# depends on usage" lines have none: they count $0, as in the golden's total).
golden_figures() {
    if [ "$(head -c 1 "$1")" = "{" ]; then
        # an Infracost JSON output: each resource's monthlyCost
        sed '/^Err:/,$d' "$1" >"$TMP/golden.json"
        jq -r '(.projects[].breakdown.resources[] | [.name, (.monthlyCost // "0")]), ["=TOTAL", (.totalMonthlyCost // "0")] | @tsv' <"$TMP/golden.json" |
            awk -F'\t' -v OFS='\t' '{ $2 = int($2 * 100 + 0.5); print }'
        return
    fi
    awk '
    function cents(s) { gsub(/[$, *]/, "", s); return int(s * 100 + 0.5) }
    function flush() { if (addr != "") printf "%s\t%d\n", addr, sum; addr = "" }
    /^ Name  / { intable = 1; next }
    /^ OVERALL TOTAL/ {
        flush(); intable = 0
        if (match($0, /\$[0-9,]+(\.[0-9]+)?/)) total += cents(substr($0, RSTART, RLENGTH))
        next
    }
    !intable { next }
    /^ [a-z]/ { flush(); addr = $0; sub(/^ +/, "", addr); sub(/ +$/, "", addr); sum = 0; next }
    addr != "" && /depends on usage/ { next }
    addr != "" && match($0, /\$[0-9,]+(\.[0-9]+)?[ *]*$/) { sum += cents(substr($0, RSTART, RLENGTH)) }
    END { flush(); printf "=TOTAL\t%d\n", total }
    ' "$1"
}

# calibration_globs: every `file` of the catalogs' sources, braces expanded
# ({a,b}_test -> a_test, b_test), one glob a line.
calibration_globs() {
    sed -n 's/.*"file": *"\([^"]*\)".*/\1/p' "$TOP"/stdlib/pricing/*.json | awk '
    function expand(s,    pre, mid, post, n, parts, i) {
        if (!match(s, /\{[^{}]*\}/)) { print s; return }
        pre = substr(s, 1, RSTART - 1); mid = substr(s, RSTART + 1, RLENGTH - 2)
        post = substr(s, RSTART + RLENGTH)
        n = split(mid, parts, ",")
        for (i = 1; i <= n; i++) expand(pre parts[i] post)
    }
    { expand($0) }'
}

# group_of SRC: calibration or independent
group_of() {
    base=${1##*/}
    if grep -qF "$base" "$TOP"/stdlib/pricing/*.json; then echo calibration; return; fi
    while IFS= read -r g; do
        # shellcheck disable=SC2254
        case "corpus/infracost/$1" in $g) echo calibration; return ;; esac
    done <"$TMP/globs"
    echo independent
}

# moksha_figures DIR: ADDRESS<TAB>CENTS<TAB> for each priced resource and
# ADDRESS<TAB>-<TAB>WHY for each unpriced one of `moksha cost` in DIR.
moksha_figures() {
    (cd "$1" && "$MOKSHA" cost --format json .) >"$TMP/cost.json" 2>"$TMP/cost.err" || return 1
    jq -r '(.resources[] | [.address, .monthly, ""]), (.unpriced[] | [.address, "-", (.why // "no reason given")]) | @tsv' \
        "$TMP/cost.json" | awk -F'\t' -v OFS='\t' '$2 != "-" { $2 = int($2 * 100 + 0.5) } { print }'
}

selected() {
    [ $# -le 1 ] && return 0
    want=$1
    shift
    for s in "$@"; do [ "$s" = "$want" ] && return 0; done
    return 1
}

# compare CASE SRC GROUP: join the golden's figures, map.tsv, moksha's
# figures and the lists into report rows (TSV: case, group, golden address,
# moksha addresses, golden $, moksha $, status, why) and FAIL lines.
compare() {
    awk -F'\t' -v OFS='\t' -v cs="$1" -v src="$2" -v grp="$3" '
    function dollars(c) { return sprintf("%.2f", c / 100) }
    function row(a, m, e, v, st, why) { print cs, grp, a, m, e, v, st, why >> rep }
    function fail(msg) { printf "FAIL %s: %s\n", cs, msg; bad++ }
    FILENAME == ARGV[1] { if ($1 == "=TOTAL") total = $2; else { exp_[$1] = $2; order[++n] = $1 }; next }
    FILENAME == ARGV[2] {
        if ($0 ~ /^#/ || $0 ~ /^[ \t]*$/) next
        if ($1 in map) fail("map.tsv lists " $1 " twice")
        map[$1] = $2; morder[++nm] = $1; next
    }
    FILENAME == ARGV[3] { mk[$1] = $2; mwhy[$1] = $3; next }
    FILENAME == ARGV[4] { if ($1 == src) { if ($2 in skip) fail("skip.tsv lists " $2 " twice"); skip[$2] = $3; sorder[++ns] = $2 }; next }
    FILENAME == ARGV[5] { if ($1 == src) { known[$2] = $3; korder[++nk] = $2 }; next }
    END {
        rep = ENVIRON["FID_REPORT"]
        for (i = 1; i <= nm; i++) if (!(morder[i] in exp_)) fail("map.tsv names " morder[i] ", which the golden does not have")
        for (i = 1; i <= ns; i++) if (sorder[i] != "*" && !(sorder[i] in exp_)) fail("skip.tsv names " sorder[i] ", which the golden does not have")
        for (i = 1; i <= nk; i++) if (!(korder[i] in exp_)) fail("known.tsv names " korder[i] ", which the golden does not have")
        if ("*" in skip) fail("skip.tsv skips the whole golden, but it has a case")
        for (i = 1; i <= n; i++) {
            a = order[i]; e = exp_[a]
            if ((a in map) && (a in skip)) { fail(a " is both mapped and in skip.tsv"); continue }
            if (a in skip) {
                if (a in known) fail(a " is skipped and also in known.tsv")
                row(a, "-", dollars(e), "-", "skip", skip[a]); cnt["skip"]++; continue
            }
            if (!(a in map)) { fail(a " is neither in map.tsv nor in skip.tsv"); continue }
            k = split(map[a], ms, " "); v = 0; why = ""; missing = 0
            for (j = 1; j <= k; j++) {
                if (!(ms[j] in mk)) { fail("map.tsv maps " a " to " ms[j] ", which moksha cost does not list"); missing = 1; continue }
                if (ms[j] in used) fail(ms[j] " is mapped to both " used[ms[j]] " and " a)
                used[ms[j]] = a
                if (mk[ms[j]] == "-") why = why (why == "" ? "" : "; ") ms[j] " unpriced: " mwhy[ms[j]]
                else v += mk[ms[j]]
            }
            if (missing) continue
            d = v - e; if (d < 0) d = -d
            within = (why == "") && (d <= 1 || d * 20 <= e)
            pct = e > 0 ? sprintf("%+.1f%%", (v - e) * 100 / e) : (v == 0 ? "+0.0%" : "golden $0")
            shown = why != "" ? "unpriced" : dollars(v)
            if (within && (a in known)) { fail(a " is within 5% (" dollars(v) " vs " dollars(e) ") but still in known.tsv"); row(a, map[a], dollars(e), shown, "FAIL", "within 5% yet in known.tsv"); continue }
            if (within) { row(a, map[a], dollars(e), shown, "ok", pct); cnt["ok"]++; te += e; tv += v; continue }
            if (a in known) { row(a, map[a], dollars(e), shown, "known", pct " " (why != "" ? why "; " : "") known[a]); cnt["known"]++; te += e; tv += v; continue }
            fail(a ": moksha " shown " vs golden " dollars(e) " (" pct ")" (why != "" ? ", " why : "") ", not in known.tsv")
            row(a, map[a], dollars(e), shown, "FAIL", pct (why != "" ? " " why : ""))
            cnt["off"]++
        }
        printf "COUNT\t%s\t%d\t%d\t%d\t%d\t%d\n", grp, cnt["ok"], cnt["known"], cnt["off"], cnt["skip"], bad
        printf "TOTAL\t%s\t%s\t%s\t%s\n", cs, dollars(te), dollars(tv), dollars(total)
    }' "$TMP/golden.tsv" "$4" "$TMP/moksha.tsv" "$HERE/infracost/skip.tsv" "$HERE/infracost/known.tsv"
}

# run_case CASE: compare one case; prints FAIL lines, COUNT and TOTAL lines.
run_case() {
    dir=$HERE/infracost/$1
    if [ ! -f "$dir/source" ] || [ ! -f "$dir/map.tsv" ]; then
        echo "FAIL $1: needs source and map.tsv beside its main.moksha"
        echo "COUNT	independent	0	0	0	0	1"
        return
    fi
    src=$(sed -n '1{s/[[:space:]]*$//;p;}' "$dir/source")
    if [ ! -f "$CORPUS/infracost/$src" ]; then
        echo "FAIL $1: source names $src, which is not under $CORPUS/infracost"
        echo "COUNT	independent	0	0	0	0	1"
        return
    fi
    echo "$src" >>"$TMP/covered"
    grp=$(group_of "$src")
    golden_figures "$CORPUS/infracost/$src" >"$TMP/golden.tsv"
    rm -rf "$TMP/case"
    sh "$TOP/tests/clean_copy.sh" "$dir" "$TMP/case" >/dev/null || { echo "FAIL $1: could not copy the case"; return; }
    if ! moksha_figures "$TMP/case" >"$TMP/moksha.tsv"; then
        echo "FAIL $1: moksha cost failed:"
        sed -n '1,20s/^/    /p' "$TMP/cost.err"
        echo "COUNT	$grp	0	0	0	0	1"
        return
    fi
    compare "$1" "$src" "$grp" "$dir/map.tsv"
}

# uncovered: the corpus's goldens no case names; each must be skipped whole
# (`*`) or resource by resource in skip.tsv. Prints FAIL, COUNT lines.
uncovered() {
    (cd "$CORPUS/infracost" && find . -name '*.golden' | sed 's|^\./||' | sort) >"$TMP/all"
    sort -u "$TMP/covered" >"$TMP/covered.s"
    comm -23 "$TMP/all" "$TMP/covered.s" | while IFS= read -r src; do
        golden_figures "$CORPUS/infracost/$src" >"$TMP/golden.tsv"
        grp=$(group_of "$src")
        : >"$TMP/nomap.tsv"
        : >"$TMP/moksha.tsv"
        if awk -F'\t' -v src="$src" '$1 == src && $2 == "*" { found = 1 } END { exit !found }' "$HERE/infracost/skip.tsv"; then
            wholly "$src" "$grp"
            continue
        fi
        compare "$src" "$src" "$grp" "$TMP/nomap.tsv"
    done
}

# wholly SRC GROUP: a golden skipped with `*`: each resource is a skip row.
wholly() {
    why=$(awk -F'\t' -v src="$1" '$1 == src && $2 == "*" { print $3; exit }' "$HERE/infracost/skip.tsv")
    awk -F'\t' -v OFS='\t' -v src="$1" -v grp="$2" -v why="$why" '
    $1 == "=TOTAL" { next }
    { printf "%s\t%s\t%s\t-\t%.2f\t-\tskip\t%s\n", src, grp, $1, $2 / 100, why >> ENVIRON["FID_REPORT"]; n++ }
    END { printf "COUNT\t%s\t0\t0\t0\t%d\t0\n", grp, n }' "$TMP/golden.tsv"
}

infracost() {
    if ! CORPUS=$(find_corpus); then
        echo "fidelity: infracost skipped: no corpus (set FIDELITY_CORPUS to the folder holding infracost/)"
        return 0
    fi
    touch "$HERE/infracost/skip.tsv" "$HERE/infracost/known.tsv" 2>/dev/null
    calibration_globs >"$TMP/globs"
    : >"$TMP/covered"
    export FID_REPORT="$OUT/infracost.tsv"
    # the bar holds for a whole run over the project's own corpus, not for a
    # chosen case or another corpus (tests/e2e/test_fidelity.sh)
    FID_BAR=0
    [ $# -eq 0 ] && [ -z "${FIDELITY_CORPUS:-}" ] && FID_BAR=1
    printf 'case\tgroup\tgolden_address\tmoksha_addresses\tgolden\tmoksha\tstatus\twhy\n' >"$FID_REPORT"
    {
        for d in "$HERE"/infracost/*/; do
            [ -d "$d" ] || continue
            c=${d%/}
            c=${c##*/}
            selected "$c" "$@" || continue
            run_case "$c"
        done
        [ $# -eq 0 ] && uncovered
    } >"$TMP/lines"
    grep '^FAIL\|^    ' "$TMP/lines"
    summarize
}

# summarize: the counts per group, the case totals, and the exit status.
summarize() {
    awk -F'\t' -v bar="$FID_BAR" '
    $1 == "COUNT" { ok[$2] += $3; kn[$2] += $4; off[$2] += $5; sk[$2] += $6; bad += $7 }
    $1 == "TOTAL" { tot[++nt] = sprintf("  %-32s golden $%s, moksha $%s (golden total $%s)", $2, $3, $4, $5) }
    /^FAIL / { fails++ }
    function pc(a, b) { return b ? sprintf("%.0f%%", a * 100 / b) : "-" }
    END {
        split("calibration independent", gs, " ")
        for (i = 1; i <= 2; i++) {
            g = gs[i]; n = ok[g] + kn[g] + off[g]
            printf "fidelity: infracost %-11s %3d expressible, %3d within 5%% (%s), %d known, %d off; %d skipped\n", \
                g, n, ok[g], n ? sprintf("%.0f%%", ok[g] * 100 / n) : "-", kn[g], off[g], sk[g]
            P += ok[g] + kn[g]
        }
        # the bar (docs/cost.md, "Fidelity"): said always, held on a whole run over the corpus of this repository
        N = ok["calibration"] + kn["calibration"] + off["calibration"] + ok["independent"] + kn["independent"] + off["independent"]
        for (i = 1; i <= 2; i++) {
            g = gs[i]; n = ok[g] + kn[g] + off[g]
            if (bar && (n == 0 || ok[g] * 100 < 90 * n)) { printf "FAIL the bar: %s within 5%% is under 90%%\n", g; fails++ }
        }
        if (bar && N < 60) { printf "FAIL the bar: %d expressible resources, under 60\n", N; fails++ }
        printf "fidelity: infracost bar: %d of 60 expressible resources; within 5%%: calibration %s, independent %s (of 90%%)\n", N, \
            pc(ok["calibration"], ok["calibration"] + kn["calibration"] + off["calibration"]), \
            pc(ok["independent"], ok["independent"] + kn["independent"] + off["independent"])
        print "fidelity: case totals (compared resources only):"
        for (i = 1; i <= nt; i++) print tot[i]
        printf "fidelity: %d passed, %d failed\n", P, fails
        exit fails > 0
    }' "$TMP/lines" >"$OUT/report.txt"
    rc=$?
    cat "$OUT/report.txt"
    listed >>"$OUT/report.txt"
    return $rc
}

# listed: what the report adds to the summary, from its rows: what moksha
# cannot express (a golden skipped whole once) and what is known to be off.
listed() {
    awk -F'\t' '
    NR == 1 { next }
    $7 == "skip" && $1 == $2 { next }
    $7 == "skip" && $1 ~ /\.golden$/ { if (!($1 in whole)) order[++nw] = $1; whole[$1] = $8; n[$1]++; next }
    $7 == "skip" { skip[++ns] = sprintf("  %s %s: %s", $1, $3, $8); next }
    $7 == "known" { known[++nk] = sprintf("  %s %s: golden $%s, moksha %s%s (%s)", $1, $3, $5, $6 == "unpriced" ? "" : "$", $6, $8); next }
    END {
        print "\nNot expressed (skip.tsv):"
        for (i = 1; i <= nw; i++) printf "  %s (all %d resources): %s\n", order[i], n[order[i]], whole[order[i]]
        for (i = 1; i <= ns; i++) print skip[i]
        print "\nKnown to be off by more than 5% (known.tsv):"
        for (i = 1; i <= nk; i++) print known[i]
    }' "$FID_REPORT"
}

status=0
infracost "$@" || status=1
if [ -f "$HERE/checkov/run.sh" ]; then
    sh "$HERE/checkov/run.sh" "$BUILD" || status=1
fi
exit $status
