#!/bin/sh
# Fidelity of the built-in policies: their verdicts on Checkov's Terraform
# graph-check fixtures, restated as moksha stacks, against the verdicts the
# fixtures expect. Not a test of the policies' own behaviour (their `test`
# blocks are, under policies/) and not a Checkov runner: it compares, per
# resource, what expected.yaml says with what moksha says.
#
#   sh tests/fidelity/checkov/run.sh BUILD [CHECK...]
#
# A case is tests/fidelity/checkov/CHECK/ (CHECK = the fixture's directory
# under tests/terraform/graph/checks/resources) with
#   main.moksha   the fixture's resources restated
#   map.tsv       TF_ADDRESS<TAB>MOKSHA_ADDRESS
# and two lists beside the cases, one line per fixture resource:
#   skip.tsv      CHECK<TAB>TF_ADDRESS<TAB>why moksha cannot express it
#                 (TF_ADDRESS `*`: the whole fixture)
#   known.tsv     CHECK<TAB>TF_ADDRESS<TAB>why moksha's verdict differs
# The check id is the fixture's, from the corpus's index; the expected
# verdicts are expected.yaml's pass: and fail: lists, never typed by hand.
# As upstream runs one policy per case, only the built-in policies whose
# `checkov` field names the id count: a mapped resource fails when one of
# them reports a violation at its address, else passes. (The stack imports
# the whole library; a policy reads only the plan, never another policy's
# verdict, so the others change nothing.)
#
# The run fails on: a fixture resource neither mapped nor skipped, a map
# line naming a resource the stack does not have, a disagreement not in
# known.tsv, an agreement still in known.tsv, a case whose id no policy
# names, a fixture of the corpus that no case and no skip line covers, and
# (over all the cases) agreement below 98%. The report, one row per verdict, is
# BUILD/fidelity/checkov.tsv (and checkov.txt); the summary goes to stdout.
# Without the corpus ($FIDELITY_CORPUS, else ../shared/corpus or
# ../../shared/corpus from the repository top) the run is skipped, saying so.
set -u

BUILD=${1:-build}
[ $# -gt 0 ] && shift
TOP=$(cd "$(dirname "$0")/../../.." && pwd)
HERE=$TOP/tests/fidelity/checkov
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
MOKSHA=$BUILD/moksha
OUT=$BUILD/fidelity

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

TMP=$(mktemp -d "${TMPDIR:-/tmp}/moksha-checkov.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM HUP PIPE
mkdir -p "$OUT" || exit 1

find_corpus() {
    for c in "${FIDELITY_CORPUS:-}" "$TOP/../shared/corpus" "$TOP/../../shared/corpus"; do
        [ -n "$c" ] && [ -d "$c/checkov" ] && { (cd "$c/checkov" && pwd); return 0; }
    done
    return 1
}
if ! CORPUS=$(find_corpus); then
    echo "fidelity: checkov skipped: no corpus (set FIDELITY_CORPUS to the folder holding checkov/)"
    exit 0
fi
FIXTURES=$CORPUS/tests/terraform/graph/checks/resources
INDEX=$CORPUS/index_terraform_graph_checks.csv

# check_id CHECK: the fixture's id, from the index (test_dir,check_id,…)
check_id() {
    awk -F, -v d="$1" '$1 == d { print $2; exit }' "$INDEX"
}

# expected CHECK: VERDICT<TAB>TF_ADDRESS, one line per entry of the pass:
# and fail: lists (an address in both is two verdicts, as upstream lists it)
expected() {
    awk '
        /^[a-z]+:/ { list = $1; sub(/:.*/, "", list); next }
        /^[ \t]*-[ \t]/ && (list == "pass" || list == "fail") {
            a = $0
            sub(/^[ \t]*-[ \t]*/, "", a); sub(/[ \t]*$/, "", a)
            q = substr(a, 1, 1)
            if (q == "\"" || q == "\047") a = substr(a, 2, length(a) - 2)
            print list "\t" a
        }' "$FIXTURES/$1/expected.yaml"
}

# listed FILE CHECK ADDRESS: the reason of the line for (CHECK, ADDRESS)
listed() {
    [ -f "$1" ] || return 1
    awk -F'\t' -v c="$2" -v a="$3" '$1 == c && $2 == a { print $3; found = 1; exit } END { exit !found }' "$1"
}

# run_case CHECK: verdict lines VERDICT_EXPECTED<TAB>VERDICT_MOKSHA<TAB>CHECK<TAB>TF<TAB>MOKSHA
# into $TMP/lines; problems as FAIL lines on stdout
run_case() {
    c=$1 dir=$HERE/$1
    id=$(check_id "$c")
    if [ ! -d "$FIXTURES/$c" ] || [ -z "$id" ]; then
        echo "FAIL $c: no such fixture with a check id in the corpus"
        return
    fi
    rm -rf "$TMP/stack" && mkdir "$TMP/stack" && cp "$dir"/*.moksha "$TMP/stack/" || return
    # every resource's address, from a policy that reports them all
    printf '%s\n' 'import "policies"' '' 'policy "fidelity-resources" {' '  enforcement = advisory' \
        '  for r in resources { assert false : r.address }' '}' >"$TMP/stack/fidelity_.moksha"
    (cd "$TMP/stack" && "$MOKSHA" policy check --format json) >"$TMP/out.json" 2>"$TMP/err"
    rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 3 ]; then
        echo "FAIL $c: moksha policy check exited $rc"
        sed 's/^/    /' "$TMP/err"
        return
    fi
    jq -r '.[] | select(.name == "fidelity-resources") | .violations[].address' "$TMP/out.json" >"$TMP/have"
    jq -r --arg id "$id" '.[] | select(.checkov | index($id)) | .name' "$TMP/out.json" >"$TMP/pols"
    if [ ! -s "$TMP/pols" ]; then
        echo "FAIL $c: no built-in policy names $id in its checkov field"
        return
    fi
    jq -r --arg id "$id" '.[] | select(.checkov | index($id)) | .violations[].address' "$TMP/out.json" | sort -u >"$TMP/failed"
    expected "$c" >"$TMP/exp"
    while IFS="$(printf '\t')" read -r want tf; do
        if listed "$HERE/skip.tsv" "$c" "$tf" >/dev/null; then
            printf 'skip\t-\t%s\t%s\t-\n' "$c" "$tf" >>"$TMP/lines"
            continue
        fi
        m=$(awk -F'\t' -v a="$tf" '$1 == a { print $2; exit }' "$dir/map.tsv" 2>/dev/null)
        if [ -z "$m" ]; then
            echo "FAIL $c: $tf is neither mapped (map.tsv) nor skipped (skip.tsv)"
            continue
        fi
        if ! grep -qxF "$m" "$TMP/have"; then
            echo "FAIL $c: map.tsv maps $tf to $m, which the stack does not have"
            continue
        fi
        got=pass
        grep -qxF "$m" "$TMP/failed" && got=fail
        printf '%s\t%s\t%s\t%s\t%s\n' "$want" "$got" "$c" "$tf" "$m" >>"$TMP/lines"
    done <"$TMP/exp"
    tr '\n' ' ' <"$TMP/pols" | sed "s/ \$//; s/^/$c\t$id\t/" >>"$TMP/policies"
    echo >>"$TMP/policies"
}

# uncovered: fixtures of the corpus that no case and no `*` skip line covers
uncovered() {
    awk -F, 'NR > 1 { print $1 }' "$INDEX" | sort -u | while read -r c; do
        [ -d "$HERE/$c" ] && continue
        listed "$HERE/skip.tsv" "$c" '*' >/dev/null && continue
        echo "FAIL $c: a fixture of the corpus that no case restates and skip.tsv does not skip"
    done
}

: >"$TMP/lines"
: >"$TMP/policies"
if [ $# -gt 0 ]; then
    cases=$*
else
    cases=$(cd "$HERE" && for d in */; do [ -f "$d/main.moksha" ] && echo "${d%/}"; done)
    uncovered >"$TMP/fails"
fi
for c in $cases; do run_case "$c"; done >>"$TMP/fails"

# known.tsv both ways: each disagreement listed, each listed line a disagreement
while IFS="$(printf '\t')" read -r want got c tf m; do
    [ "$want" = skip ] && continue
    if [ "$want" != "$got" ]; then
        listed "$HERE/known.tsv" "$c" "$tf" >/dev/null ||
            echo "FAIL $c: $tf ($m): Checkov says $want, moksha says $got, and known.tsv does not say why"
    elif listed "$HERE/known.tsv" "$c" "$tf" >/dev/null; then
        awk -F'\t' -v c="$c" -v a="$tf" '$3 == c && $4 == a && $1 != $2 { d = 1 } END { exit !d }' "$TMP/lines" 2>/dev/null ||
            echo "FAIL $c: $tf agrees ($got) but is still in known.tsv"
    fi
done <"$TMP/lines" >>"$TMP/fails"

{
    printf 'expected\tmoksha\tcheck\tterraform\tmoksha_address\n'
    cat "$TMP/lines"
} >"$OUT/checkov.tsv"
awk -F'\t' -v fails="$TMP/fails" -v full=$((! $#)) '
    $1 == "skip" { skipped++; next }
    { n++; cases[$3] = 1; if ($1 == $2) ok++; else off++ }
    END {
        nc = 0; for (c in cases) nc++
        pct = n ? ok * 100 / n : 0
        while ((getline l < fails) > 0) { print l; bad++ }
        printf "fidelity: checkov: %d fixtures restated, %d verdicts compared: %d agree (%.1f%%), %d differ (known.tsv), %d resources skipped\n", nc, n, ok, pct, off, skipped
        if (full && n && pct < 98) { print "fidelity: checkov: agreement below 98%"; bad++ }
        printf "fidelity: checkov: %s\n", bad ? "FAILED" : "passed"
        exit bad > 0
    }' "$TMP/lines" >"$OUT/checkov.txt"
rc=$?
cat "$OUT/checkov.txt"
exit $rc
