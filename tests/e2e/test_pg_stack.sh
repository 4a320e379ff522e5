# test_pg_stack.sh — roles, a database, its schema and grants of the
# postgres provider against the suite's real server, beside the simulated
# cloud (docs/providers.md, "The postgres provider"; docs/executor.md,
# "Irreversible steps last"): planned, applied, re-planned to no changes;
# grants revoked and the database altered and dropped outside moksha seen by
# `moksha drift` and corrected by `moksha reconcile` within its boundary; a failure
# injected at every step rolls back, and a database's replace — its data
# cannot come back — never starts while another step can still fail, so a
# failure elsewhere leaves its rows where they were; a failure after it is
# rollback incomplete (exit 5) saying so.
. "$TOP/tests/e2e/lib.sh"
. "$TOP/tests/e2e/pg_lib.sh"

unset MOKSHA_STACK MOKSHA_ENV MOKSHA_KEY
P=t$$ # every role and database of this test: they are the whole server's
export MOKSHA_VAR_app_password="app-pw-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"

cleanup() {
    for d in $(psql -d postgres -qAt -c "SELECT quote_ident(datname) FROM pg_database WHERE datname LIKE '${P}\\_%' OR datname LIKE 'mk\\_stage\\_%'"); do
        psql -d postgres -qAt -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1
    done
    roles=$(psql -d postgres -qAt -c "SELECT string_agg(quote_ident(rolname), ', ') FROM pg_roles WHERE rolname LIKE '${P}\\_%'")
    [ -n "$roles" ] && psql -d postgres -qAt -c "DROP ROLE $roles" >/dev/null 2>&1
}
trap 'cleanup; pg_finish; e2e_finish' EXIT

mkdir cfg && chmod 700 cfg
cat >cfg/exec.json <<JSON
{ "format": "moksha.exec-config/v1",
  "connections": { "dev": { "kind": "postgres", "conninfo": "host=$PGHOST port=$PGPORT user=moksha dbname=postgres",
                            "allow_fault_injection": true } } }
JSON
chmod 0600 cfg/exec.json
export MOKSHA_EXEC_CONFIG=$WORK/cfg/exec.json

q() { psql -d postgres -qAt -c "$1"; }
qdb() { psql -d "${P}_shop" -qAt -c "$1"; }
# the server's view: the database, its owner, its schemas, the grants
world() {
    q "SELECT d.datname, pg_get_userbyid(d.datdba), coalesce(shobj_description(d.oid, 'pg_database')::json->'moksha'->>'stack', 'untagged')
       FROM pg_database d WHERE d.datname LIKE '${P}\\_%' ORDER BY 1"
    q "SELECT datname FROM pg_database WHERE datname LIKE 'mk\\_stage\\_%'"
    q "SELECT has_database_privilege('${P}_readonly', '${P}_shop', 'CONNECT')" 2>/dev/null
    qdb "SELECT nspname, pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'api'" 2>/dev/null
}

# spec [PG_FAIL_ON] [DB_NAME] [SIM_FAIL_ON]: roles, a database and its schema, a read-only group's grants, the sim's network
spec() {
    cat >main.moksha <<M
stack pgobjects {}
var app_password: secret
provider sim {
  latency = 1ms
  fail_on = [${3:-}]
}
provider postgres {
  connection = "dev"
  fail_on    = [${1:-}]
}
resource network main { cidr = "10.8.0.0/16" }
resource postgres.role app {
  name     = "${P}_app"
  login    = true
  password = var.app_password
}
resource postgres.role readonly { name = "${P}_readonly" }
resource postgres.database shop {
  name  = "${2:-${P}_shop}"
  owner = postgres.role.app.name
}
resource postgres.schema api {
  database = postgres.database.shop.name
  name     = "api"
  owner    = postgres.role.app.name
}
resource postgres.grant connect {
  role        = postgres.role.readonly.name
  database    = postgres.database.shop.name
  object_type = "database"
  privileges  = ["connect", "temporary"]
}
resource postgres.grant api_tables {
  role        = postgres.role.readonly.name
  database    = postgres.database.shop.name
  object_type = "table"
  schema      = postgres.schema.api.name
  privileges  = ["select"]
}
M
}

mkdir app
enter app || exit 1

# ---- a failure injected at each step of the first apply: rolled back ----
# (the read-only group's grant on every table of the schema: the schema is
# new and empty, so that create sends no statement for a failure to follow)
for target in postgres.role.app postgres.role.readonly postgres.schema.api postgres.grant.connect \
    postgres.database.shop; do
    spec "\"$target\""
    pg_run 4 apply --yes
    expect_contains "$ERR" "Apply failed: $target"
    expect_contains "$OUT" "Rolled back"
    pg_same "what the server holds after $target failed" \
        "$(q "SELECT count(*) FROM pg_database WHERE datname LIKE '${P}\\_%'")/$(q "SELECT count(*) FROM pg_roles WHERE rolname LIKE '${P}\\_%'")" 0/0
    pg_same "the state after $target failed" "$("$MOKSHA_EXEC" state list | wc -l)" 0
done
# the database's create failed after CREATE DATABASE under its staging name,
# leaving what a crash there would: that staging database, which the next
# create of the address clears (below)
pg_same "the staging databases the failure left" "$(q "SELECT count(*) FROM pg_database WHERE datname LIKE 'mk\\_stage\\_%'")" 1

# ---- plan, apply, re-plan to no changes ----
spec
pg_run 0 apply --yes
expect_contains "$OUT" "Apply complete: 7 created"
stack_id=$(cat .moksha/stack-id)
world >w.txt
expect_contains w.txt "${P}_shop|${P}_app|$stack_id"
expect_contains w.txt "api|${P}_app"
expect_match w.txt "^t$"
expect_not_contains w.txt "mk_stage_"
pg_same "the staging databases left" "$(q "SELECT count(*) FROM pg_database WHERE datname LIKE 'mk\\_stage\\_%'")" 0
pg_run 0 plan --detailed-exitcode
expect_contains "$OUT" "No changes"

# ---- grants revoked outside moksha: drift, then reconcile within its boundary ----
# one of a grant's two privileges revoked: changed, an update (medium risk)
q "REVOKE CONNECT ON DATABASE ${P}_shop FROM ${P}_readonly" >/dev/null
q "REVOKE CONNECT ON DATABASE ${P}_shop FROM PUBLIC" >/dev/null
pg_same "connect after the revoke" "$(q "SELECT has_database_privilege('${P}_readonly', '${P}_shop', 'CONNECT')")" f
pg_run 2 drift
expect_contains "$OUT" "postgres.grant.connect changed outside moksha: privileges"
pg_run 3 reconcile
pg_run 0 reconcile --auto-approve-risk medium
pg_same "connect after reconcile" "$(q "SELECT has_database_privilege('${P}_readonly', '${P}_shop', 'CONNECT')")" t
pg_run 0 drift
# both revoked: the grant is gone, and granting it again is a create (low)
q "REVOKE ALL ON DATABASE ${P}_shop FROM ${P}_readonly" >/dev/null
pg_run 2 drift
expect_contains "$OUT" "postgres.grant.connect was deleted outside moksha"
pg_run 0 reconcile
pg_same "temporary after reconcile" "$(q "SELECT has_database_privilege('${P}_readonly', '${P}_shop', 'TEMPORARY')")" t
pg_run 0 drift

# ---- the database altered outside moksha: drift, then reconcile within medium ----
q "ALTER DATABASE ${P}_shop CONNECTION LIMIT 3" >/dev/null
pg_run 2 drift
expect_contains "$OUT" "postgres.database.shop changed outside moksha: connection_limit -1 → 3"
pg_run 3 reconcile
pg_run 0 reconcile --auto-approve-risk medium
pg_same "the connection limit after reconcile" "$(q "SELECT datconnlimit FROM pg_database WHERE datname = '${P}_shop'")" -1
pg_run 0 drift

# ---- the database dropped outside moksha: gone; made again only within high ----
q "DROP DATABASE ${P}_shop WITH (FORCE)" >/dev/null
pg_run 2 drift
expect_contains "$OUT" "postgres.database.shop was deleted outside moksha"
pg_run 3 reconcile
expect_contains "$ERR" "postgres.database.shop is high risk"
pg_run 0 reconcile --auto-approve-risk high
world >w.txt
expect_contains w.txt "${P}_shop|${P}_app|$stack_id"
expect_contains w.txt "api|${P}_app"
pg_run 0 drift
expect_contains "$OUT" "No drift"

# ---- a failure injected at every step rolls back ----
# the plan: the database renamed (a replace: irreversible), so its schema
# and grants are made again in the new one; and a new group
qdb "CREATE TABLE public.orders (id int); INSERT INTO public.orders VALUES (1), (2)" >/dev/null
snapshot before.txt
world >before.world
renamed() { # renamed PG_FAIL_ON [SIM_FAIL_ON]
    spec "$1" "${P}_shop2" "${2:-}"
    echo "resource postgres.role ops { name = \"${P}_ops\" }" >>main.moksha
}
renamed ""
pg_run 2 plan --detailed-exitcode
expect_contains "$OUT" "postgres.database.shop"
expect_contains "$OUT" "irreversible"
# a failure anywhere the replace does not lead to: it never starts, the rows stay
for target in postgres.role.ops network.main; do
    if [ "$target" = network.main ]; then renamed "" "\"$target\""; else renamed "\"$target\""; fi
    sed 's/cidr = "10.8.0.0\/16"/cidr = "10.9.0.0\/16"/' main.moksha >m && mv m main.moksha
    pg_run 4 apply --yes
    expect_contains "$ERR" "Apply failed: $target"
    jq -rs '(map(.event) | rindex("apply.start")) as $i | .[$i:] | map(select(.event == "step") | .address) | join(" ")' \
        .moksha/audit.jsonl >steps.txt
    expect_not_contains steps.txt postgres.database.shop
    snapshot after.txt
    expect_same before.txt after.txt
    world >after.world
    expect_same before.world after.world
    pg_same "the rows after the rollback" "$(qdb "SELECT count(*) FROM public.orders")" 2
done
# a failure after the replace: it cannot be undone, and the run says so
renamed "\"postgres.schema.api\""
pg_run 5 apply --yes
expect_contains "$ERR" "Apply failed: postgres.schema.api"
expect_contains "$ERR" "Not rolled back:"
expect_contains "$ERR" "postgres.database.shop (replace): cannot be undone: the postgres provider cannot make a deleted postgres.database again, and the data it held cannot come back"
pg_run 0 audit verify
# the old database took its schema and grants with it: read the world,
# then applying the plan again converges
pg_run 0 refresh
renamed ""
pg_run 0 apply --yes
world >w.txt
expect_contains w.txt "${P}_shop2|${P}_app|$stack_id"
expect_not_contains w.txt "${P}_shop|"
expect_not_contains w.txt "mk_stage_"
pg_run 0 plan --detailed-exitcode

# ---- kill -9 while databases are made, then apply again: each made once ----
# a chain of databases, each waiting for the one before (its owner is that one's)
chain() {
    spec "" "${P}_shop2"
    i=0
    while [ $i -lt 8 ]; do
        echo "resource postgres.database d$i { name = \"${P}_d$i\" ${prev:+, owner = $prev} }" >>main.moksha
        prev="postgres.database.d$i.owner"
        i=$((i + 1))
    done
    prev=
}
count_d() { q "SELECT count(*) FROM pg_database WHERE datname LIKE '${P}\\_d%'"; }
for at in 1 4; do
    renamed ""
    pg_run 0 apply --yes   # no chain
    chain
    pg_run 0 plan -o d.plan
    kill_apply_at d.plan count_d $at --parallelism 1
    made=$(count_d)
    [ "$made" -lt 8 ] && e2e_ok || e2e_bad "after kill -9 at the ${at}th database all 8 were made"
    unlock_dead
    pg_run 0 apply --yes
    pg_same "the chain's databases after recovery" "$(count_d)" 8
    pg_same "the staging databases left" "$(q "SELECT count(*) FROM pg_database WHERE datname LIKE 'mk\\_stage\\_%'")" 0
    pg_same "the chain's databases tagged by this stack" \
        "$(q "SELECT count(*) FROM pg_database WHERE datname LIKE '${P}\\_d%' AND shobj_description(oid, 'pg_database')::json->'moksha'->>'stack' = '$stack_id'")" 8
    pg_same "the chain in the state" "$("$MOKSHA_EXEC" state list | grep -c '^postgres.database.d')" 8
    pg_run 0 plan --detailed-exitcode
done

# ---- destroy: nothing left ----
pg_run 0 destroy --yes
pg_same "the databases after destroy" "$(q "SELECT count(*) FROM pg_database WHERE datname LIKE '${P}\\_%'")" 0
pg_same "the roles after destroy" "$(q "SELECT count(*) FROM pg_roles WHERE rolname LIKE '${P}\\_%'")" 0
leave

if grep -rlF -- "$MOKSHA_VAR_app_password" "$PG_OUTPUTS" app 2>/dev/null; then
    e2e_bad "the role's password is in the files above"
else
    e2e_ok
fi
