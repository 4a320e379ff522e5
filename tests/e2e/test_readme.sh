#!/bin/sh
# The README's tour runs as written. Its ```sh blocks (under "## A tour") are
# read from README.md itself, so the README cannot drift from what moksha
# does: each line is run in order, in one shell, from a directory holding a
# clean copy of examples/webapp, with moksha and moksha-exec on PATH.
#
# The README's conventions, in a command's trailing comment:
#   # exit N: …     the command exits N on purpose (otherwise it must exit 0)
#   # needs …       the command's program may be missing (Graphviz's dot):
#                   then the line is skipped, with a note
# Key outputs of the tour's commands are in CHECKS below, by command; a
# command CHECKS names that the tour no longer runs is a failure too, so
# that this file is updated with the README.
. "$TOP/tests/e2e/lib.sh"

README=$TOP/README.md
PATH=$(dirname "$MOKSHA"):$PATH
export PATH

# COMMAND|WHERE|TEXT: after COMMAND, WHERE (out, err or a file) contains TEXT
CHECKS='moksha check|out|ok: 6 resources, 0 policies, 0 tests
moksha check --var replicas=30|err|error[E0205]: replicas must be 1..20
moksha check --format json|out|"format": "moksha.diagnostics/v1"
moksha help functions|out|base64encode(s: string) -> string
moksha plan|out|Plan: 6 to create, 0 to update, 0 to replace, 0 to delete.
moksha policy test policies/|out|2 passed, 0 failed
moksha plan --policies policies -o plan.json|out|approval by dba needed for database.orders
moksha plan --policies policies -o plan.json|out|Saved the signed plan to plan.json
moksha show plan.json|out|Plan: 6 to create
moksha-exec verify plan.json|out|plan.json: valid plan for stack webapp
moksha graph > plan.dot|plan.dot|digraph plan {
dot -Tsvg plan.dot > plan.svg|plan.svg|<svg
moksha policy check --policies policies --format sarif > results.sarif|results.sarif|"version": "2.1.0"
moksha cost --explain|out|database.orders
moksha cost --explain|out|total: $
moksha apply plan.json|out|Apply complete: 4 created
moksha apply plan.json|err|held: create database.orders
moksha apply --approve prod-approval plan.json|out|created  database.orders
moksha apply --approve prod-approval plan.json|out|Apply complete: 2 created
moksha state list|out|local.file.motd
moksha drift|out|~ local.file.motd changed outside moksha: content "web x2 in prod, db
moksha reconcile --policies policies --auto-approve-risk medium|out|reconcile: cycle 1: 1 changed, 0 gone, 0 unreadable; 1 change planned; applied (exit 0)
moksha drift --format markdown|out|| ~ | `local.file.motd` | changed: `content`
moksha plan --refresh --policies policies --detailed-exitcode|out|No changes
moksha --env dev apply --yes --policies policies|out|Apply complete: 6 created
moksha --env prod plan --policies policies -o prod.plan|out|moksha will make these changes to stack webapp, environment prod:
moksha --env prod plan --policies policies -o prod.plan|out|approval by dba needed for database.orders
moksha --env dev apply prod.plan|err|the plan was made for environment prod, and --env (or MOKSHA_ENV) selects environment dev
moksha --env staging plan|err|this stack has no environment `staging`
moksha trust show ../executor/trust.json|out|alice
moksha plan -o trusted.plan|out|Saved the signed plan to trusted.plan
moksha-exec verify trusted.plan|out|signed by planner `alice`
moksha apply trusted.plan|out|Apply complete: 6 created
moksha apply hmac.plan|err|this executor is in trust mode
moksha audit verify|out|chain intact
moksha destroy --yes|err|error[E0301]: database.orders would be deleted'

# ---- the tour's commands, from README.md ----
awk '
    /^## / { tour = ($0 == "## A tour"); next }
    tour && /^```sh[[:space:]]*$/ { block = 1; next }
    block && /^```[[:space:]]*$/ { block = 0; next }
    block { print }
' "$README" >tour.sh
expect_exit 0 grep -c . tour.sh
[ "$(grep -c . tour.sh)" -ge 20 ] && e2e_ok || e2e_bad "README.md: found only $(grep -c . tour.sh) tour lines"
expect_exit 0 grep -qx 'cd examples/webapp' tour.sh

# A git repository around the copy shows what the tour leaves that
# .gitignore does not cover.
mkdir -p repo/examples
copy_example webapp
mv webapp repo/examples/webapp
cp "$TOP/.gitignore" repo/.gitignore
GIT="git -c user.name=moksha-test -c user.email=test@moksha.invalid -c init.defaultBranch=main"
have_git=no
if command -v git >/dev/null 2>&1; then
    $GIT -C repo init -q && $GIT -C repo add -A && $GIT -C repo commit -qm tour && have_git=yes
fi
enter repo || exit 1
# what the tour makes with mktemp (its trust-mode stack) goes with the test's directory
mkdir -p "$WORK/tmp" && TMPDIR=$WORK/tmp && export TMPDIR

seen=$WORK/seen
: >"$seen"
n=0
while IFS= read -r line; do
    case $line in "" | "#"*) continue ;; esac
    n=$((n + 1))
    cmd=${line%% #*}
    cmd=$(printf '%s' "$cmd" | sed 's/[[:space:]]*$//')
    comment=
    case $line in *" #"*) comment=$(printf '%s' "${line#* #}" | sed 's/^[[:space:]]*//') ;; esac
    want=0
    case $comment in
    "exit "[0-9]*) want=$(printf '%s' "$comment" | sed 's/^exit \([0-9]*\).*/\1/') ;;
    "needs "*)
        prog=${cmd%% *}
        if ! command -v "$prog" >/dev/null 2>&1; then
            echo "note: README tour line $n skipped, $prog is not installed: $cmd"
            echo "$cmd" >>"$seen"
            continue
        fi ;;
    esac
    expect_exit "$want" eval "$cmd" || echo "    (README tour line $n: $line)"
    echo "$cmd" >>"$seen"
    printf '%s\n' "$CHECKS" | while IFS='|' read -r key where text; do
        [ "$key" = "$cmd" ] && printf '%s|%s\n' "$where" "$text"
    done >"$WORK/checks"
    while IFS='|' read -r where text; do
        case $where in
        out) expect_contains "$OUT" "$text" ;;
        err) expect_contains "$ERR" "$text" ;;
        *) expect_contains "$where" "$text" ;;
        esac
    done <"$WORK/checks"
done <"$WORK/tour.sh"
cd "$WORK" || exit 1

# every command CHECKS knows is still in the tour
printf '%s\n' "$CHECKS" | while IFS='|' read -r key where text; do
    grep -Fqx -- "$key" "$seen" || echo "$key"
done | sort -u >missing
expect_empty missing

# after the tour (whose trust-mode part exported the executor's
# configuration and a planner key): a re-plan has no changes, the applied
# plan is stale now
unset MOKSHA_EXEC_CONFIG MOKSHA_SIGNING_KEY MOKSHA_SEAL_TO
enter repo/examples/webapp && {
    expect_exit 0 moksha plan --policies policies --detailed-exitcode
    expect_exit 6 moksha apply plan.json && expect_contains "$ERR" "stale"
}
leave

# everything the tour leaves in examples/webapp is ignored by .gitignore
if [ "$have_git" = yes ] && enter repo; then
    expect_exit 0 git status --porcelain --untracked-files=all && expect_empty "$OUT"
    expect_exit 0 git status --porcelain --ignored --untracked-files=all &&
        expect_contains "$OUT" "!! examples/webapp/.moksha/" && expect_contains "$OUT" "!! examples/webapp/plan.json"
    leave
fi

# ---- the snippet at the top of the README gives the error it shows ----
awk '/^## / { exit } /^```moksha[[:space:]]*$/ { b = 1; next } b && /^```/ { exit } b { print }' "$README" >snippet.moksha
expect_exit 0 grep -q 'memory = 4 .*# error\[E0203\]: expected size, found int' snippet.moksha
expect_exit 1 moksha check snippet.moksha &&
    expect_match "$ERR" '^snippet.moksha:[0-9]+:[0-9]+: error\[E0203\]: expected size, found int$'

# ---- each example's README: its indented commands run in a clean copy ----
for d in "$TOP"/examples/*/; do
    ex=$(basename "$d")
    [ -f "$d/README.md" ] || continue
    sed -n 's/^    \([A-Za-z].*\)$/\1/p' "$d/README.md" >"$WORK/ex-$ex.sh"
    [ -s "$WORK/ex-$ex.sh" ] || continue
    rm -rf "$WORK/ex" && mkdir "$WORK/ex" && enter "$WORK/ex" || continue
    copy_example "$ex"
    enter "$ex" || continue
    while IFS= read -r line; do
        cmd=${line%% #*}
        want=0
        case $line in *" # exit "[0-9]*) want=$(printf '%s' "${line#* # exit }" | sed 's/^\([0-9]*\).*/\1/') ;; esac
        expect_exit "$want" eval "$cmd" || echo "    (examples/$ex/README.md: $line)"
    done <"$WORK/ex-$ex.sh"
    leave
done
