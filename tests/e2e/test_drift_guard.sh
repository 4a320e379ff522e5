# test_drift_guard.sh — the rest of reading the world (docs/drift.md), as a
# user meets it: a world changed between plan and apply makes the guarded
# step refuse (exit 6) with nothing else changed, and audited; `moksha
# import` adopts an object made out of band (`moksha-exec sim put`), and a
# create never takes over a foreign object; a `moved` block renames a
# database without touching it; kill -9 of the executor during a refresh
# leaves a consistent state (`moksha audit verify`). test_drift.sh has
# drift, plan --refresh and reconcile.
. "$TOP/tests/e2e/lib.sh"

export MOKSHA_KEY=9a7e59a7e59a7e59a7e59a7e59a7e59a7e59a7e59a7e59a7e59a7e59a7e59a7e
# needs PART…: the executor's and the compiler's parts a check reads (the
# refresh, plans that show drift, the guard, the blocks), each known by
# what it adds to a command; one missing fails the test and skips what
# would only fail after it.
needs() {
    for part in "$@"; do
        case $part in
        refresh) "$MOKSHA_EXEC" --help | grep -q '^  refresh ' ;;
        plandrift) printf 'provider local { root = "o" }\nresource local.file f {\n  path = "f"\n  lifecycle { drift = "report" }\n}\n' >"$WORK/needs.moksha" &&
            "$MOKSHA" check "$WORK/needs.moksha" >/dev/null 2>&1 ;;
        guard) "$MOKSHA_EXEC" --help | grep -q '^  state .*| mv FROM TO' ;;
        moves) "$MOKSHA" import --help >/dev/null 2>&1 ;;
        esac || { e2e_bad "$part is not built in: ${section:-?} not checked"; return 1; }
    done
}
sim() { "$MOKSHA_EXEC" sim "$@"; }
last_event() { jq -c --arg e "$1" 'select(.event == $e)' .moksha/audit.jsonl | tail -n 1; }

mkdir guard && enter guard || exit 1
cat >base.txt <<'EOF'
stack shop { env = "dev" }
provider sim { latency = 1ms }
resource network main { cidr = "10.0.0.0/16" }
resource compute web {
  cpu     = 1
  memory  = 1GiB
  image   = "app:1"
  network = network.main
  tags    = { role = "web" }
}
resource database orders {
  engine  = "postgres"
  version = "16"
  cpu     = 1
  memory  = 2GiB
  storage = 20GiB
}
EOF
cp base.txt main.moksha
expect_exit 0 moksha apply --yes

section="the guarded step"
if needs guard refresh plandrift; then
# ---- a world that moved between plan and apply: the guard refuses, exit 6, nothing changed ----
sed 's/role = "web"/role = "frontend"/' base.txt >main.moksha
printf 'resource bucket extra { encrypted = true }\n' >>main.moksha
expect_exit 0 moksha plan -o p.plan && expect_contains "$OUT" "Plan: 1 to create, 1 to update"
expect_exit 0 sim set compute.web 'image="app:hotfix"'
snapshot before
serial=$(jq .serial .moksha/state.json)
expect_exit 6 moksha apply p.plan
expect_contains "$ERR" "compute.web"
expect_contains "$ERR" "image"
expect_contains "$ERR" "moksha plan --refresh"
snapshot after
expect_same after before
[ "$(jq .serial .moksha/state.json)" = "$serial" ] && e2e_ok || e2e_bad "a refused apply moved the serial"
expect_exit 1 sim show bucket.extra
[ "$(last_event apply.refused | jq -c '[.reason, .addresses]')" = '["world moved",["compute.web"]]' ] ||
    e2e_bad "refusal audit entry: $(last_event apply.refused)"
# read the world again: the plan now puts the image back too, and applies
expect_exit 0 moksha plan --refresh -o p.plan
expect_exit 0 moksha apply p.plan
expect_exit 0 sim show compute.web && [ "$(jq -c '[.attributes.image, .attributes.tags]' "$OUT")" = '["app:1",{"role":"frontend"}]' ] ||
    e2e_bad "compute.web after the refreshed apply: $(cat "$OUT")"
expect_exit 0 moksha audit verify

fi
section="import"
if needs guard moves refresh; then
# ---- import: an object made out of band is adopted by a planned change ----
expect_exit 0 sim put compute.legacy compute cpu=2 'memory="2GiB"' 'image="legacy:7"'
id=$(tail -n 1 "$OUT")
[ -n "$id" ] && e2e_ok || e2e_bad "sim put printed no id"
cat >>main.moksha <<'EOF'
resource compute legacy {
  cpu    = 2
  memory = 2GiB
  image  = "legacy:7"
}
EOF
# a create never takes over what someone else made: it names the way to adopt it
expect_exit 4 moksha apply --yes
expect_contains "$ERR" "moksha import compute.legacy $id"
expect_exit 0 moksha import compute.legacy "$id" --yes
expect_exit 0 moksha state show compute.legacy && [ "$(jq -r .attributes.id "$OUT")" = "$id" ] ||
    e2e_bad "compute.legacy's state entry: $(cat "$OUT")"
[ "$(last_event step | jq -c '[.address, .action]')" = '["compute.legacy","import"]' ] ||
    e2e_bad "the import step: $(last_event step)"
expect_exit 0 moksha plan --refresh --detailed-exitcode && expect_contains "$OUT" "No changes"

fi
section="moved"
if needs guard moves refresh; then
# ---- moved: a database renamed without being touched ----
expect_exit 0 sim show database.orders
db_id=$(jq -r .id "$OUT")
sed 's/^resource database orders /resource database orders_main /' main.moksha >x && mv x main.moksha
printf 'moved {\n  from = database.orders\n  to   = database.orders_main\n}\n' >>main.moksha
expect_exit 0 moksha plan -o mv.plan
expect_contains "$OUT" "0 to delete"
expect_contains "$OUT" "database.orders_main"
expect_exit 0 moksha show --format json mv.plan &&
    [ "$(jq -c '[.changes[] | [.address, .action, .moved_from]]' "$OUT")" = '[["database.orders_main","move","database.orders"]]' ] ||
    e2e_bad "the move: $(jq -c .changes "$OUT")"
expect_exit 0 moksha apply mv.plan
expect_exit 0 sim show database.orders_main && [ "$(jq -r .id "$OUT")" = "$db_id" ] || e2e_bad "the database's id changed: $(cat "$OUT")"
expect_exit 1 sim show database.orders
expect_exit 0 moksha state list && expect_contains "$OUT" "database.orders_main" && expect_not_contains "$OUT" "database.orders "
jq -c 'select(.event == "step" and .action == "delete")' .moksha/audit.jsonl >deletes
expect_empty deletes
expect_exit 0 moksha plan --refresh --detailed-exitcode && expect_contains "$OUT" "No changes"
expect_exit 0 moksha audit verify
fi
leave

# ---- kill -9 of the executor during a refresh: the state consistent, the log whole ----
section="kill -9 during a refresh"
if needs refresh; then
mkdir crash && enter crash || exit 1
{
    echo 'provider sim { latency = 300ms }'
    for i in 1 2 3 4 5 6; do echo "resource bucket b$i { encrypted = true }"; done
} >main.moksha
expect_exit 0 moksha apply --yes --parallelism 6
expect_exit 0 sim set bucket.b1 'versioning=true'
cp .moksha/state.json state.before
"$MOKSHA" refresh --parallelism 1 >refresh.out 2>refresh.err &
pid=$!
# the executor moksha started (a child, or a grandchild through the shell)
exec_of() {
    for c in $(pgrep -P "$1"); do
        [ "$(cat /proc/$c/comm 2>/dev/null)" = moksha-exec ] && { echo "$c"; return; }
        exec_of "$c"
    done
}
exec_pid=
n=0
while [ -z "$exec_pid" ] && [ $n -lt 50 ]; do sleep 0.1; exec_pid=$(exec_of $pid); n=$((n + 1)); done
sleep 0.5
[ -n "$exec_pid" ] && kill -9 "$exec_pid"
wait $pid
rc=$?
[ "$rc" = 1 ] && e2e_ok || e2e_bad "moksha refresh whose executor was killed exited $rc"
expect_contains refresh.err "moksha-exec was killed by signal 9"
expect_same .moksha/state.json state.before
[ ! -e .moksha/observed.json ] || jq -e '.format == "moksha.observed/v1"' .moksha/observed.json >/dev/null ||
    e2e_bad "a torn observed.json"
expect_exit 0 moksha audit verify
# the dead run's lock is freed as any dead apply's, and the next refresh sees the drift
if [ -e .moksha/state.lock ]; then
    expect_exit 0 moksha state unlock "$(jq -r .id .moksha/state.lock)" --reason "test: the holder was killed"
fi
expect_exit 0 moksha refresh
expect_exit 0 jq -e '.resources["bucket.b1"].drift == ["versioning"]' .moksha/observed.json
expect_exit 0 moksha audit verify
fi
leave
