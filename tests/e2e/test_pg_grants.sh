# test_pg_grants.sh — postgres.grant and postgres.default_privileges as a
# user meets them, on the suite's server: a role and its grants planned,
# applied (the server's catalogs checked), re-planned to no changes; a
# grant revoked and one widened out of band, seen by `moksha drift` and
# put back by `moksha reconcile`; destroyed, and nothing left granted.
. "$TOP/tests/e2e/lib.sh"
. "$TOP/tests/e2e/pg_lib.sh"

export MOKSHA_KEY=3e4def9054dcff2de30e6cccf1b71d9362debaaafe6bf635ad4906c87855214f
unset MOKSHA_STACK MOKSHA_ENV
role=t$$_reader
cat >"$E2E_SCRATCH/exec.json" <<JSON
{ "format": "moksha.exec-config/v1",
  "connections": { "dev": { "kind": "postgres", "conninfo": "host=$PGHOST port=$PGPORT user=moksha dbname=postgres" } } }
JSON
chmod 0600 "$E2E_SCRATCH/exec.json"
export MOKSHA_EXEC_CONFIG="$E2E_SCRATCH/exec.json"
pg_sql "CREATE SCHEMA app; CREATE TABLE app.orders (id int); CREATE TABLE app.items (id int)" >/dev/null
# the role is the server's: dropped even when a check above failed (its
# privileges first, with the test's database)
drop_role() {
    rc=$?
    psql -qAt -c "DROP OWNED BY $role" >/dev/null 2>&1
    pg_finish
    psql -d postgres -qAt -c "DROP ROLE IF EXISTS $role" >/dev/null 2>&1
    return $rc
}
trap 'drop_role; e2e_finish' EXIT

mkdir stack && enter stack || exit 1
cat >main.moksha <<EOF2
stack grants {}

provider postgres {
  connection = "dev"
}

resource postgres.role reader {
  name  = "$role"
  login = true
}

resource postgres.grant connect {
  role        = postgres.role.reader.name
  database    = "$PGDATABASE"
  object_type = "database"
  privileges  = ["connect"]
}

resource postgres.grant usage {
  role        = postgres.role.reader.name
  database    = "$PGDATABASE"
  object_type = "schema"
  schema      = "app"
  privileges  = ["usage"]
}

resource postgres.grant tables {
  role        = postgres.role.reader.name
  database    = "$PGDATABASE"
  object_type = "table"
  schema      = "app"
  privileges  = ["select"]
}

resource postgres.default_privileges later {
  role        = postgres.role.reader.name
  database    = "$PGDATABASE"
  owner       = "moksha"
  schema      = "app"
  object_type = "table"
  privileges  = ["select"]
}
EOF2

acl() { pg_sql "SELECT has_table_privilege('$role', '$1', 'SELECT')::text || has_table_privilege('$role', '$1', 'INSERT')::text"; }
expect_exit 0 moksha apply --yes
expect_contains "$OUT" "Apply complete"
[ "$(acl app.orders)$(acl app.items)" = "truefalsetruefalse" ] && e2e_ok || e2e_bad "tables after apply: $(acl app.orders) $(acl app.items)"
[ "$(pg_sql "SELECT has_database_privilege('$role', current_database(), 'CONNECT')")" = t ] && e2e_ok || e2e_bad "no CONNECT"
pg_sql "CREATE TABLE app.later (id int)" >/dev/null
[ "$(acl app.later)" = truefalse ] && e2e_ok || e2e_bad "default privileges: $(acl app.later)"
expect_exit 0 moksha state show postgres.grant.tables
expect_contains "$OUT" "$role@$PGDATABASE/table/app"
expect_exit 0 moksha apply --yes
expect_contains "$OUT" "No changes."

# out of band: usage revoked (the grant is gone), insert granted on one table
pg_sql "REVOKE USAGE ON SCHEMA app FROM $role; GRANT INSERT ON app.items TO $role" >/dev/null
expect_exit 2 moksha drift --format json
[ "$(jq -c '[.resources[] | select(.status != "in_sync") | [.address, .status]] | sort' "$OUT")" = \
  '[["postgres.grant.tables","drifted"],["postgres.grant.usage","gone"]]' ] && e2e_ok ||
    e2e_bad "drift: $(jq -c '[.resources[] | [.address, .status]]' "$OUT")"
expect_exit 0 moksha reconcile --auto-approve-risk high
[ "$(acl app.items)" = truefalse ] && e2e_ok || e2e_bad "items after reconcile: $(acl app.items)"
[ "$(pg_sql "SELECT has_schema_privilege('$role', 'app', 'USAGE')")" = t ] && e2e_ok || e2e_bad "usage not back"
expect_exit 0 moksha drift

expect_exit 0 moksha destroy --yes
[ "$(pg_sql "SELECT count(*) FROM pg_roles WHERE rolname = '$role'")" = 0 ] && e2e_ok || e2e_bad "role left"
