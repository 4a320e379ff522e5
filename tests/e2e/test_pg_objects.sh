# test_pg_objects.sh — the postgres provider's roles, databases, schemas and
# extensions through the binaries, on the suite's throwaway server: applied
# and re-planned to no changes; a role's password and connection limit
# changed out of band seen by `moksha drift` and planned back; the role
# logs in with its password after; a role made outside moksha refused, then
# taken over by `moksha import`; a membership that would make a role a
# superuser refused before the first step, the executor's own user never
# imported; everything dropped by destroy; the
# password nowhere but the executor's environment (every file of the stack,
# every output, the server's log).
. "$TOP/tests/e2e/lib.sh"
. "$TOP/tests/e2e/pg_lib.sh"

P=t$$_
SECRET="pw-Zebra-$$-4471"
export MOKSHA_KEY=3f5f34e7884ca9667c37f52c63a8541201c86240d8b4a44e21d69af2bb496d49
export MOKSHA_VAR_app_password="$SECRET"
mkdir cfg && chmod 700 cfg
cat >cfg/exec.json <<JSON
{ "format": "moksha.exec-config/v1",
  "connections": { "dev": { "kind": "postgres", "conninfo": "host=$PGHOST port=$PGPORT user=moksha dbname=postgres", "allow_fault_injection": true } } }
JSON
chmod 0600 cfg/exec.json
export MOKSHA_EXEC_CONFIG="$WORK/cfg/exec.json"

cleanup() {
    for d in "${P}appdb"; do psql -d postgres -qAt -c "DROP DATABASE IF EXISTS \"$d\" WITH (FORCE)" >/dev/null 2>&1; done
    for r in "${P}app" "${P}readers" "${P}legacy" "${P}sneaky"; do psql -d postgres -qAt -c "DROP ROLE IF EXISTS \"$r\"" >/dev/null 2>&1; done
}
trap 'cleanup; pg_finish; e2e_finish' EXIT

# every output of every command, for the grep at the end
run() {
    expect_exit "$@"
    rc=$?
    cat "$OUT" "$ERR" >>"$WORK/outputs.log"
    return $rc
}

mkdir s && enter s
cat >main.moksha <<M
stack objects { env = "dev" }
var app_password: secret
provider postgres { connection = "dev" }
resource postgres.role readers { name = "${P}readers" }
resource postgres.role app {
  name      = "${P}app"
  login     = true
  password  = var.app_password
  member_of = [postgres.role.readers.name]
}
resource postgres.database appdb {
  name  = "${P}appdb"
  owner = postgres.role.app.name
}
resource postgres.schema s {
  database = postgres.database.appdb.name
  name     = "app"
  owner    = postgres.role.app.name
}
resource postgres.extension ci {
  database = postgres.database.appdb.name
  name     = "citext"
  schema   = postgres.schema.s.name
}
M

# ---- a failure after CREATE DATABASE: rolled back, the staging database left
# as a crash there would leave it, and cleared by the next apply ----
sed 's/provider postgres { connection = "dev" }/provider postgres {\n  connection = "dev"\n  fail_on = ["postgres.database.appdb"]\n}/' main.moksha >main.tmp
mv main.moksha main.good && mv main.tmp main.moksha
run 4 moksha apply --yes && expect_contains "$ERR" "injected failure (provider postgres, fail_on)"
[ "$(pg_sql "SELECT count(*) FROM pg_roles WHERE rolname LIKE '${P}%'")" = 0 ] || fail "the rollback left roles"
[ "$(pg_sql "SELECT count(*) FROM pg_database WHERE datname = '${P}appdb'")" = 0 ] || fail "the database exists untagged"
[ "$(pg_sql "SELECT count(*) FROM pg_database WHERE datname LIKE 'mk\_stage\_%' AND shobj_description(oid, 'pg_database') IS NULL")" = 1 ] ||
    fail "no untagged staging database was left"
mv main.good main.moksha

# ---- apply, re-plan to nothing ----
run 0 moksha apply --yes && expect_contains "$OUT" "Apply complete: 5 created"
[ "$(pg_sql "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '${P}appdb'")" = "${P}app" ] ||
    fail "the database is not owned by ${P}app"
[ "$(psql -d "${P}appdb" -qAt -c "SELECT extnamespace::regnamespace FROM pg_extension WHERE extname = 'citext'")" = app ] ||
    fail "citext is not in schema app"
[ "$(pg_sql "SELECT count(*) FROM pg_database WHERE datname LIKE 'mk\\_stage\\_%'")" = 0 ] || fail "a staging database is left"
[ "$(PGPASSWORD=$SECRET psql -U "${P}app" -d "${P}appdb" -qAt -c "SELECT current_user")" = "${P}app" ] ||
    fail "the role does not log in with its password"
run 0 moksha plan --detailed-exitcode --refresh && expect_contains "$OUT" "No changes"

# ---- drift out of band: seen, planned back, the password set again ----
pg_sql "ALTER ROLE \"${P}app\" CONNECTION LIMIT 3 PASSWORD 'someone-elses'" >/dev/null
run 2 moksha drift
expect_contains "$OUT" "postgres.role.app changed outside moksha: password (sensitive) → (sensitive, changed), connection_limit -1 → 3"
run 2 moksha plan --refresh --detailed-exitcode -o back.plan
run 0 moksha apply back.plan && expect_contains "$OUT" "1 updated"
run 0 moksha drift && expect_contains "$OUT" "No drift"
[ "$(PGPASSWORD=$SECRET psql -U "${P}app" -d "${P}appdb" -qAt -c "SELECT 1")" = 1 ] || fail "the password was not set back"

# ---- a role made outside moksha: refused, then imported ----
pg_sql "CREATE ROLE \"${P}legacy\"" >/dev/null
cat >>main.moksha <<M
resource postgres.role legacy { name = "${P}legacy" }
M
run 4 moksha apply --yes
expect_contains "$ERR" "role ${P}legacy already exists and this stack did not make it: not taken over; to manage it, \`moksha import postgres.role.legacy ${P}legacy\`"
run 0 moksha import postgres.role.legacy "${P}legacy" --yes
run 0 moksha plan --refresh --detailed-exitcode
[ "$(pg_sql "SELECT shobj_description(oid, 'pg_authid') LIKE '{\"moksha\":%' FROM pg_roles WHERE rolname = '${P}legacy'")" = t ] ||
    fail "the imported role has no owner tag"

# ---- what would make a role a superuser in all but name: refused before
# the first step, nothing changed; the executor's own user never imported ----
cp main.moksha main.good
cat >>main.moksha <<M
resource postgres.role sneaky {
  name      = "${P}sneaky"
  login     = true
  password  = var.app_password
  member_of = ["moksha"]
}
M
# refused by the check before the first step (exit 1) where the executor
# runs checks, else by the create itself, rolled back (exit 4)
moksha apply --yes >"$OUT" 2>"$ERR" </dev/null
case $? in 1 | 4) ;; *) fail "the apply of a superuser's membership did not fail" ;; esac
cat "$OUT" "$ERR" >>"$WORK/outputs.log"
expect_contains "$ERR" "member_of moksha: a member of it could act as a superuser"
[ "$(pg_sql "SELECT count(*) FROM pg_roles WHERE rolname = '${P}sneaky'")" = 0 ] || fail "the role was made"
cp main.good main.moksha
cat >>main.moksha <<M
resource postgres.role boss { name = "moksha" }
M
moksha import postgres.role.boss moksha --yes >"$OUT" 2>"$ERR" </dev/null
case $? in 1 | 4) ;; *) fail "the import of the executor's own user did not fail" ;; esac
cat "$OUT" "$ERR" >>"$WORK/outputs.log"
expect_contains "$ERR" "role moksha is the connection's own user: moksha does not import, take over, change or drop it"
[ "$(pg_sql "SELECT coalesce(shobj_description(oid, 'pg_authid'), '') LIKE '{\"moksha\":%' FROM pg_roles WHERE rolname = 'moksha'")" = f ] ||
    fail "the executor's own user was tagged"
mv main.good main.moksha

# ---- destroy drops every one ----
run 0 moksha destroy --yes && expect_contains "$OUT" "6 deleted"
[ "$(pg_sql "SELECT count(*) FROM pg_roles WHERE rolname LIKE '${P}%'")" = 0 ] || fail "roles are left"
[ "$(pg_sql "SELECT count(*) FROM pg_database WHERE datname LIKE '${P}%'")" = 0 ] || fail "the database is left"

# ---- the password nowhere but the executor's environment ----
leave
grep -rl -- "$SECRET" "$WORK" "$E2E_SCRATCH" 2>/dev/null | grep -v '^$' && fail "the password is in a file"
[ -r "$MOKSHA_TEST_PG/data/server.log" ] || fail "cannot read the server's log"
grep -q -- "$SECRET" "$MOKSHA_TEST_PG/data/server.log" && fail "the password is in the server's log"
[ -s "$WORK/outputs.log" ] || fail "no output was kept for the grep"
exit 0
