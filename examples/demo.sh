#!/bin/sh
# The demo behind `make demo`: walk through every example stack the way a new
# user would, showing each command and what it prints.
#
#   sh examples/demo.sh BUILD
#
# For each examples/NAME/ it prints what the example shows (from its README),
# then runs `moksha check` and `moksha fmt --check` in a scratch copy of the
# directory (so nothing is written into the source tree, and nothing a run
# inside the example left there — .moksha/, plan files — is read: the copy
# holds its source files only, tests/clean_copy.sh). Any failing command
# fails the demo. Then it plans, applies (moksha-exec, with the local and
# simulated-cloud providers), re-plans to no changes and verifies the audit log
# of examples/webapp in a scratch directory; then changes that world behind
# moksha's back, and shows the drift detected and reconciled; and it applies
# examples/team as two environments of one stack; then that stack's state
# kept on a throwaway PostgreSQL server, as a team shares it; and last,
# examples/selfhosted's roles, database, schema and grants made on that
# server beside the simulated cloud; examples/objectstore's buckets on
# an S3 emulator (s3rver, behind the proxy that checks every signature);
# and last examples/autonomy in trust mode: a bot applying inside the
# boundary its trust file signs for it and held outside it, and a prod
# delete opened by two signed approvals.
set -u

BUILD=${1:-build}
TOP=$(cd "$(dirname "$0")/.." && pwd)
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
MOKSHA=$BUILD/moksha

if [ ! -x "$MOKSHA" ]; then
    echo "demo: $MOKSHA is missing or not executable (run make first)" >&2
    exit 1
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/moksha-demo.XXXXXX") || exit 1
PG_DIR= S3_DIR=
trap '[ -n "$PG_DIR" ] && sh "$TOP/tests/pg.sh" stop "$PG_DIR"; [ -n "$S3_DIR" ] && sh "$TOP/tests/s3/s3rver.sh" stop "$S3_DIR"; rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM HUP PIPE

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
    B=$(printf '\033[1m') G=$(printf '\033[32m') R=$(printf '\033[31m') N=$(printf '\033[0m')
else
    B='' G='' R='' N=''
fi

failed=0 ran=0 examples=0
failures=

# about DIR: the first paragraph of DIR/README.md after its title.
about() {
    [ -f "$1/README.md" ] || return 0
    awk '/^#/ && !seen { next } /^[[:space:]]*$/ { if (seen) exit; next } { seen = 1; print "  " $0 }' "$1/README.md"
}

# step NAME CMD...: show the command as a user types it, run it, report;
# it must exit $want (0 unless the caller set it for this one command).
want=0
step() {
    name=$1
    shift
    echo "${B}\$ moksha $*${N}"
    "$MOKSHA" "$@" 2>&1    # one stream, in order, also when piped to a log
    rc=$?
    ran=$((ran + 1))
    expected=$want
    want=0
    if [ "$rc" -ne "$expected" ]; then
        echo "${R}✗ moksha $* exited $rc, not $expected${N}"
        failed=$((failed + 1))
        failures="$failures
  examples/$name: moksha $* (exit $rc); run: cd examples/$name && $MOKSHA $*"
    fi
    echo
}

for dir in "$TOP"/examples/*/; do
    [ -d "$dir" ] || continue
    name=$(basename "$dir")
    examples=$((examples + 1))
    echo "${B}━━━ examples/$name ━━━${N}"
    about "$dir"
    echo
    sh "$TOP/tests/clean_copy.sh" "$dir" "$TMP/$name" || exit 1
    cd "$TMP/$name" || exit 1
    step "$name" check
    step "$name" fmt --check
    cd "$TOP" || exit 1
done

# The whole job on examples/webapp (local + sim) in a scratch copy: plan,
# apply, re-plan to no changes, and verify the audit log. The sim provider is
# a simulated cloud, so nothing outside the scratch directory is touched.
echo "${B}━━━ apply: examples/webapp (local files + the simulated cloud) ━━━${N}"
sh "$TOP/tests/clean_copy.sh" "$TOP/examples/webapp" "$TMP/apply-webapp" || exit 1
cd "$TMP/apply-webapp" || exit 1
export MOKSHA_VAR_db_password="demo-only-password"
step webapp plan -o webapp.plan
step webapp apply --yes
step webapp plan --detailed-exitcode
step webapp state list
step webapp audit verify
step webapp audit show

# Drift: someone edits a file moksha made and deletes a VM in the
# (simulated) console. drift sees both (exit 2); reconcile at the default
# boundary, low risk, brings the VM back and holds the file's update
# (medium: exit 3); a wider boundary puts the file back; no drift is left.
echo "${B}━━━ drift: examples/webapp changed outside moksha, detected and reconciled ━━━${N}"
echo "${B}\$ echo 'edited by hand' > .moksha/out/motd.txt${N}"
echo 'edited by hand' >.moksha/out/motd.txt
echo "${B}\$ moksha-exec sim rm 'compute.web[1]'${N}"
"$BUILD/moksha-exec" sim rm 'compute.web[1]' 2>&1 || { failed=$((failed + 1)); failures="$failures
  drift: moksha-exec sim rm compute.web[1] failed"; }
echo
want=2; step webapp drift
want=3; step webapp reconcile
step webapp reconcile --auto-approve-risk medium
step webapp drift
step webapp audit verify
cd "$TOP" || exit 1

# Environments: examples/team applied as staging and as prod, each with its
# own state, variables (env/NAME.yaml over env/global.yaml) and audit log;
# DESIGN's prod-destroy-approval gates a delete in prod, and the same
# delete in staging goes ahead (docs/environments.md).
echo "${B}━━━ environments: examples/team as staging and prod ━━━${N}"
sh "$TOP/tests/clean_copy.sh" "$TOP/examples/team" "$TMP/env-team" || exit 1
cd "$TMP/env-team" || exit 1
step team --env staging apply --yes --policies policies
step team --env prod apply --yes --policies policies
step team --env prod state list
step team --env prod plan --policies policies --var replicas=2
step team --env staging apply --yes --policies policies --var replicas=1
step team --env staging audit verify
cd "$TOP" || exit 1

# Team state on PostgreSQL (docs/state.md): a throwaway server, an executor
# configuration naming it (outside the stack, 0600; the password only in the
# executor's environment), examples/team applied as dev and prod through it,
# and the environments, prod's history and audit chain read back from it.
echo "${B}━━━ team state on PostgreSQL: examples/team's dev and prod in one database ━━━${N}"
pg_settings=$(sh "$TOP/tests/pg.sh" start) || { echo "${R}demo: cannot start a PostgreSQL server (tests/pg.sh)${N}"; exit 1; }
eval "$pg_settings"
PG_DIR=$MOKSHA_TEST_PG
cat >"$TMP/exec.json" <<JSON
{ "format": "moksha.exec-config/v1",
  "state": { "backend": "postgres",
             "postgres": { "conninfo": "host=$PGHOST port=$PGPORT user=$PGUSER dbname=$PGDATABASE" } } }
JSON
chmod 0600 "$TMP/exec.json"
export MOKSHA_EXEC_CONFIG="$TMP/exec.json"
echo "${B}\$ cat \$MOKSHA_EXEC_CONFIG${N}"
sed "s|$TMP|\$TMP|g" "$TMP/exec.json"
echo
sh "$TOP/tests/clean_copy.sh" "$TOP/examples/team" "$TMP/pg-team" || exit 1
cd "$TMP/pg-team" || exit 1
step team --env dev apply --yes --policies policies
step team --env prod apply --yes --policies policies
step team env list
step team --env prod state history
step team --env prod audit verify
cd "$TOP" || exit 1
unset MOKSHA_EXEC_CONFIG

# A real PostgreSQL database next to the simulated cloud (examples/selfhosted,
# docs/providers.md "The postgres provider" and "Self-hosted databases"): on
# the same throwaway server, an executor configuration whose connection `dev`
# the spec names (the password only in the executor's environment). The
# stack's abstract database asks for encryption, backups and capacity, which
# no statement can give a server: the apply is refused before its first step
# until the connection vouches for them. Then roles, databases, a schema and
# grants are made beside the sim's network and VM, re-planned to no changes;
# a role altered and a grant revoked behind moksha's back are found by drift
# and put back by reconcile; and all is destroyed, each database's delete
# marked irreversible.
echo "${B}━━━ a real PostgreSQL database beside the simulated cloud: examples/selfhosted ━━━${N}"
# dev_config [SELF_HOSTED]: the executor's configuration, with the connection's self_hosted section
dev_config() {
    cat >"$TMP/exec-dev.json" <<JSON
{ "format": "moksha.exec-config/v1",
  "connections": { "dev": { "kind": "postgres", "conninfo": "host=$PGHOST port=$PGPORT user=$PGUSER dbname=postgres"${1:+,
                            \"self_hosted\": $1} } } }
JSON
    chmod 0600 "$TMP/exec-dev.json"
    echo "${B}\$ cat \$MOKSHA_EXEC_CONFIG${N}"
    sed "s|$TMP|\$TMP|g" "$TMP/exec-dev.json"
    echo
}
export MOKSHA_EXEC_CONFIG="$TMP/exec-dev.json"
# sql TEXT: a statement on the server, as a colleague with psql would run it
sql() {
    echo "${B}\$ psql -c \"$1\"${N}"
    psql -d postgres -c "$1" 2>&1 || { failed=$((failed + 1)); failures="$failures
  selfhosted: psql -c \"$1\" failed"; }
    echo
}
sh "$TOP/tests/clean_copy.sh" "$TOP/examples/selfhosted" "$TMP/apply-selfhosted" || exit 1
cd "$TMP/apply-selfhosted" || exit 1
export MOKSHA_VAR_app_password="demo-only-app-password" MOKSHA_VAR_orders_password="demo-only-orders-password"
dev_config
step selfhosted plan -o selfhosted.plan
want=1; step selfhosted apply selfhosted.plan
dev_config '{ "encrypted": true, "public": false, "backup_retention": "7d",
                                              "capacity": { "cpu": 8, "memory": "32GiB", "storage": "500GiB" } }'
step selfhosted apply selfhosted.plan
step selfhosted plan --detailed-exitcode
sql "SELECT rolname, rolcanlogin, rolconnlimit FROM pg_roles WHERE rolname IN ('shop_app', 'shop_readonly', 'orders_app') ORDER BY 1"
sql "SELECT datname, pg_get_userbyid(datdba) AS owner, datacl FROM pg_database WHERE datname IN ('shop', 'orders') ORDER BY 1"
sql "ALTER ROLE shop_app CONNECTION LIMIT 5"
sql "REVOKE TEMPORARY ON DATABASE shop FROM shop_readonly"
want=2; step selfhosted drift
step selfhosted reconcile --auto-approve-risk medium
step selfhosted drift
step selfhosted audit verify
step selfhosted destroy --yes
sql "SELECT count(*) AS left FROM pg_database WHERE datname IN ('shop', 'orders')"
cd "$TOP" || exit 1
unset MOKSHA_EXEC_CONFIG MOKSHA_VAR_app_password MOKSHA_VAR_orders_password

# Buckets on an S3-compatible server next to the simulated cloud
# (examples/objectstore, docs/providers.md "The s3 provider"): s3rver on a
# loopback port, behind tests/s3/sigv4proxy.js, which checks every request's
# SigV4 signature as S3 would; an executor configuration whose connection
# `store` the spec names (the keys only in the executor's environment).
# s3rver implements no bucket encryption, so the spec's encrypted buckets
# are refused before the first step; with --var encrypted=false (a dev box)
# the buckets are made beside the sim's network and VM, re-planned to no
# changes; a bucket deleted behind moksha's back is found by drift and made
# again by reconcile; a destroy of a bucket holding an object is refused
# before its first step, then the object removed and all destroyed.
echo "${B}━━━ buckets on an S3 emulator beside the simulated cloud: examples/objectstore ━━━${N}"
s3_settings=$(BUILD=$BUILD sh "$TOP/tests/s3/s3rver.sh" start) || { echo "${R}demo: cannot start s3rver (tests/s3/s3rver.sh)${N}"; exit 1; }
eval "$s3_settings"
S3_DIR=$MOKSHA_TEST_S3
cat >"$TMP/exec-store.json" <<JSON
{ "format": "moksha.exec-config/v1",
  "connections": { "store": { "kind": "s3", "endpoint": "$S3_ENDPOINT", "implements": [] } } }
JSON
chmod 0600 "$TMP/exec-store.json"
export MOKSHA_EXEC_CONFIG="$TMP/exec-store.json"
echo "${B}\$ cat \$MOKSHA_EXEC_CONFIG${N}"
cat "$TMP/exec-store.json"
echo
# s3 CURL-ARGS…: a request straight to the emulator, as a colleague with its console would
s3() {
    echo "${B}\$ curl $*${N}"
    curl -s -f "$@" -o /dev/null || { failed=$((failed + 1)); failures="$failures
  objectstore: curl $* failed"; }
}
sh "$TOP/tests/clean_copy.sh" "$TOP/examples/objectstore" "$TMP/apply-objectstore" || exit 1
cd "$TMP/apply-objectstore" || exit 1
want=1; step objectstore apply --yes
step objectstore apply --yes --var encrypted=false
step objectstore plan --detailed-exitcode --var encrypted=false
echo "${B}\$ ls s3rver/data${N}"
ls "$S3_DIR/data"
echo
s3 -X DELETE "$S3_DIRECT/uploads/.moksha-owner"
s3 -X DELETE "$S3_DIRECT/uploads"
want=2; step objectstore drift
step objectstore reconcile --auto-approve-risk high --var encrypted=false
step objectstore drift
s3 -X PUT --data-binary "a photo" "$S3_DIRECT/uploads/photo.jpg"
want=1; step objectstore destroy --yes
s3 -X DELETE "$S3_DIRECT/uploads/photo.jpg"
s3 -X PUT --data-binary "a frame" "$S3_DIRECT/media-scratch/frame-0001.png"
step objectstore destroy --yes
step objectstore audit verify
echo "${B}\$ grep -c '^ok' proxy.log; grep -c '^deny' proxy.log${N}"
grep -c '^ok' "$S3_DIR/proxy.log"
grep -c '^deny' "$S3_DIR/proxy.log"
echo
cd "$TOP" || exit 1
unset MOKSHA_EXEC_CONFIG AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY

# Automation inside a signed boundary (examples/autonomy, docs/trust.md):
# keys for a root, a CI planner, a bot and two people of sre; a trust file
# the root signs that gives the bot "low risk, dev only, at most $50 a
# month more"; an executor in trust mode. CI applies dev and prod; the bot
# applies a tag change in dev on its own, and is held (exit 3) for the same
# change in prod and for a bigger machine in dev, each naming the limit it
# crossed. Deleting prod's bucket needs two of sre: one approval is not
# enough, two distinct ones open the gate, and the audit log names them.
echo "${B}━━━ automation inside its boundary, people for the rest: examples/autonomy ━━━${N}"
KEYS=$TMP/trust-keys
mkdir -p "$KEYS" "$TMP/exec-keys" && chmod 700 "$KEYS" "$TMP/exec-keys"
for who in root ci bot alice bob; do
    "$MOKSHA" key new "$who" --dir "$KEYS" >/dev/null || { echo "${R}demo: moksha key new $who failed${N}"; exit 1; }
done
"$BUILD/moksha-exec" key new --dir "$TMP/exec-keys" >/dev/null || { echo "${R}demo: moksha-exec key new failed${N}"; exit 1; }
pub() { cut -d' ' -f1 "$KEYS/$1.pub"; }
cat >"$TMP/trust.json" <<JSON
{"version": 1, "expires": "2099-01-01T00:00:00Z",
 "roots": {"threshold": 1, "keys": ["$(pub root)"]},
 "planners": {"ci": "$(pub ci)"},
 "automation": {"bot": {"key": "$(pub bot)",
                        "boundary": {"max_risk": "low", "environments": ["dev"], "max_cost_increase": "50.00"}}},
 "approvers": {"alice": "$(pub alice)", "bob": "$(pub bob)"},
 "groups": {"sre": ["alice", "bob"]}}
JSON
step autonomy trust sign "$TMP/trust.json" --key "$KEYS/root.key"
cat >"$TMP/exec-trust.json" <<JSON
{ "format": "moksha.exec-config/v1",
  "trust": { "file": "$TMP/trust.json", "keys": "$TMP/exec-keys",
             "roots": { "threshold": 1, "keys": ["$(pub root)"] } } }
JSON
chmod 0600 "$TMP/exec-trust.json"
export MOKSHA_EXEC_CONFIG="$TMP/exec-trust.json"
sh "$TOP/tests/clean_copy.sh" "$TOP/examples/autonomy" "$TMP/apply-autonomy" || exit 1
cd "$TMP/apply-autonomy" || exit 1
echo "${B}\$ export MOKSHA_SIGNING_KEY=ci.key${N}"
export MOKSHA_SIGNING_KEY="$KEYS/ci.key"
step autonomy --env dev apply --yes --policies policies
step autonomy --env prod apply --yes --policies policies
echo "${B}\$ export MOKSHA_SIGNING_KEY=bot.key${N}"
export MOKSHA_SIGNING_KEY="$KEYS/bot.key"
step autonomy --env dev apply --yes --policies policies --var team=shop
want=3; step autonomy --env prod apply --yes --policies policies --var team=shop
want=3; step autonomy --env dev apply --yes --policies policies --var team=shop --var cpu=8
echo "${B}\$ export MOKSHA_SIGNING_KEY=ci.key${N}"
export MOKSHA_SIGNING_KEY="$KEYS/ci.key"
step autonomy --env prod plan --policies policies --var archive=false -o prod.plan
want=3; step autonomy --env prod apply prod.plan
step autonomy approve prod.plan --key "$KEYS/alice.key" --reason "the archive moved to cold storage" -o alice.approval
want=3; step autonomy --env prod apply prod.plan --approval alice.approval
step autonomy approve prod.plan --key "$KEYS/bob.key" --reason "checked the cold copy" -o bob.approval
step autonomy --env prod apply prod.plan --approval alice.approval --approval bob.approval
step autonomy --env prod audit show
step autonomy --env prod audit verify
cd "$TOP" || exit 1
unset MOKSHA_EXEC_CONFIG MOKSHA_SIGNING_KEY

if [ "$examples" -eq 0 ]; then
    echo "demo: no examples/*/ directories"
    exit 1
fi
if [ "$failed" -eq 0 ]; then
    echo "${G}demo: $examples examples, $ran commands, all ok${N}"
else
    echo "${R}demo: $examples examples, $ran commands, $failed failed:${N}$failures"
    exit 1
fi
