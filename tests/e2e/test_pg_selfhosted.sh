# test_pg_selfhosted.sh — the abstract `database` on a connection
# (docs/providers.md, "Self-hosted databases"), as a user meets it, on a
# connection that vouches for what it asks: applied — its owner logs in
# with its password, its flag and tag are the server's —, re-planned to no
# changes, read back in sync; a destroy refused under deletion_protection,
# nothing dropped; destroyed, database and role. The password in no file
# of the stack and no output. (What the provider's check refuses is
# test_pgselfhosted's.)
. "$TOP/tests/e2e/lib.sh"
. "$TOP/tests/e2e/pg_lib.sh"

export MOKSHA_KEY=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
unset MOKSHA_STACK MOKSHA_ENV
P=t$$_
SECRET="pw-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
export MOKSHA_VAR_db_password="$SECRET"
config() { # config SELF_HOSTED_JSON
    cat >"$E2E_SCRATCH/exec.json" <<JSON
{ "format": "moksha.exec-config/v1",
  "connections": { "dev": { "kind": "postgres", "conninfo": "host=$PGHOST port=$PGPORT user=moksha dbname=postgres"$1 } } }
JSON
    chmod 0600 "$E2E_SCRATCH/exec.json"
}
export MOKSHA_EXEC_CONFIG="$E2E_SCRATCH/exec.json"
drop_ours() {
    rc=$?
    psql -d postgres -qAt -c "DROP DATABASE IF EXISTS ${P}main WITH (FORCE)" >/dev/null 2>&1
    psql -d postgres -qAt -c "DROP ROLE IF EXISTS ${P}owner" >/dev/null 2>&1
    pg_finish
    return $rc
}
trap 'drop_ours; e2e_finish' EXIT
all="$E2E_SCRATCH/all.out"
keep() { cat "$OUT" "$ERR" >>"$all"; }

mkdir stack && enter stack || exit 1
major=$(pg_sql "SHOW server_version_num" | cut -c1-2)
write() { # write DELETION_PROTECTION
    cat >main.moksha <<EOF2
stack shop {}

var db_password: secret

provider postgres {
  connection = "dev"
  databases  = true
}

resource database main {
  engine              = "postgres"
  version             = "$major"
  cpu                 = 2
  memory              = 4GiB
  storage             = 20GiB
  backup_retention    = 7d
  db_name             = "${P}main"
  username            = "${P}owner"
  password            = var.db_password
  flags               = { work_mem = "8MB" }
  tags                = { team = "shop" }
  deletion_protection = $1
}
EOF2
}
write false

# ---- applied ----
config ', "self_hosted": { "encrypted": true, "public": false, "backup_retention": "14d", "capacity": { "cpu": 4, "memory": "16GiB", "storage": "100GiB" } }'
expect_exit 0 moksha apply --yes
keep
expect_contains "$OUT" "Apply complete"
[ "$(PGPASSWORD=$SECRET psql -U "${P}owner" -d "${P}main" -qAt -c "SHOW work_mem")" = 8MB ] && e2e_ok ||
    e2e_bad "the owner does not log in with its password, or work_mem is not the flag's"
[ "$(pg_sql "SELECT shobj_description(oid, 'pg_database')::json->'tags'->>'team' FROM pg_database WHERE datname = '${P}main'")" = shop ] &&
    e2e_ok || e2e_bad "the tag is not in the database's comment"
expect_exit 0 moksha state show database.main
keep
expect_contains "$OUT" "${P}main"
expect_exit 0 moksha apply --yes
keep
expect_contains "$OUT" "No changes."
expect_exit 0 moksha drift
keep

# ---- deletion_protection: the destroy is refused, nothing dropped ----
write true
expect_exit 0 moksha apply --yes
keep
expect_exit 1 moksha destroy --yes
keep
expect_contains "$ERR" "deletion_protection = true"
[ "$(pg_sql "SELECT count(*) FROM pg_database WHERE datname = '${P}main'")" = 1 ] && e2e_ok || e2e_bad "dropped under deletion_protection"
write false
expect_exit 0 moksha apply --yes
keep
expect_exit 0 moksha destroy --yes
keep
[ "$(pg_sql "SELECT count(*) FROM pg_database WHERE datname = '${P}main'")$(pg_sql "SELECT count(*) FROM pg_roles WHERE rolname = '${P}owner'")" = 00 ] &&
    e2e_ok || e2e_bad "the database or its role is left"

# ---- the password nowhere but the executor's environment ----
grep -rl -- "$SECRET" "$WORK" "$all" 2>/dev/null | grep -q . && e2e_bad "the password is in a file or an output" || e2e_ok
