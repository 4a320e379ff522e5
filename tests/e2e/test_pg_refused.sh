# test_pg_refused.sh — what the executor refuses before the first step
# (docs/executor.md "Refused before the first step"), on the suite's
# throwaway server: a spec naming a connection the executor's configuration
# does not have, with no configuration at all, a server that cannot be
# reached, a self-hosted database asking for what the connection does not
# vouch for (then applied once it does). Each is exit 1 with nothing changed — the
# simulated cloud's objects of the same plan not made, no state written, no
# step audited, one `apply.refused` entry naming the address and the
# reason — and the password in no output and no file of the stack.
. "$TOP/tests/e2e/lib.sh"
. "$TOP/tests/e2e/pg_lib.sh"

export MOKSHA_KEY=be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c
unset MOKSHA_STACK MOKSHA_ENV
mkdir cfg && chmod 700 cfg
conn() { # conn NAME CONNINFO: an executor configuration with one connection
    cat >"$WORK/cfg/$1.json" <<JSON
{ "format": "moksha.exec-config/v1",
  "connections": { "dev": { "kind": "postgres", "conninfo": "$2" } } }
JSON
    chmod 0600 "$WORK/cfg/$1.json"
}
conn good "host=$PGHOST port=$PGPORT user=moksha dbname=postgres"
conn down "host=$WORK/nowhere port=$PGPORT user=moksha dbname=postgres"
refused() { # refused ADDRESS: the last run's audit says the provider refused ADDRESS, and no step ran
    jq -c 'select(.event == "apply.refused")' .moksha/audit.jsonl | tail -n 1 >refused.json
    jq -e --arg a "$1" '.reason == "provider refused" and .addresses == [$a] and (.errors[$a] | type) == "string"' \
        refused.json >/dev/null && e2e_ok || e2e_bad "no provider refusal of $1 audited: $(cat refused.json)"
    [ "$(jq -r 'select(.event == "step" or .event == "apply.start") | .event' .moksha/audit.jsonl | wc -l)" -eq 0 ] &&
        e2e_ok || e2e_bad "a step was audited"
    [ ! -e .moksha/state.json ] || [ "$(jq '.resources | length' .moksha/state.json)" -eq 0 ] && e2e_ok ||
        e2e_bad "the state records something"
    [ -z "$(ls .moksha/sim 2>/dev/null)" ] && e2e_ok || e2e_bad "the sim holds objects: $(ls .moksha/sim)"
}

mkdir app
cat >app/main.moksha <<M
stack refused {}
provider sim { latency = 1ms }
provider postgres { connection = "dev" }
resource network main { cidr = "10.1.0.0/16" }
resource compute web { cpu = 1, memory = 1GiB, image = "app:1", network = network.main }
resource postgres.role app { name = "t$$_app", login = true }
M
enter app || exit 1

# ---- a connection the configuration does not have: named, with the file ----
sed 's/"dev"/"analytics"/' main.moksha >m && mv m main.moksha
MOKSHA_EXEC_CONFIG=$WORK/cfg/good.json pg_run 1 apply --yes
expect_contains "$ERR" "has no connection \`analytics\`"
expect_contains "$ERR" "$WORK/cfg/good.json"
expect_contains "$ERR" "nothing was applied"
refused postgres.role.app
# no configuration at all: the same refusal, saying so
env -u MOKSHA_EXEC_CONFIG "$MOKSHA" apply --yes >"$OUT" 2>"$ERR" </dev/null
[ $? -eq 1 ] && e2e_ok || e2e_bad "an apply without a configuration did not exit 1"
expect_contains "$ERR" "MOKSHA_EXEC_CONFIG"
refused postgres.role.app
sed 's/"analytics"/"dev"/' main.moksha >m && mv m main.moksha

# ---- a server that cannot be reached: after the retries, before any step ----
MOKSHA_EXEC_CONFIG=$WORK/cfg/down.json pg_run 1 apply --yes
expect_contains "$ERR" "a provider refuses what the plan asks, before its first step; nothing was applied"
expect_contains "$ERR" "postgres.role.app (create): postgres: postgres.role.app: connection dev:"
refused postgres.role.app

# every refusal went through the lock and ended in its unlock, exit 1
[ "$(jq -r 'select(.event == "unlock") | .exit_code' .moksha/audit.jsonl | sort -u)" = 1 ] && e2e_ok ||
    e2e_bad "an unlock not exit 1: $(jq -c 'select(.event == "unlock")' .moksha/audit.jsonl)"
pg_run 0 audit verify
leave

# ---- what the backend cannot enforce: a self-hosted database asks for ----
# ---- encryption, backups and capacity no statement can give a server ----
major=$(($(psql -d postgres -qAt -c "SHOW server_version_num") / 10000))
mkdir db
cat >db/main.moksha <<M
stack refused_db {}
var pw: secret
provider sim { latency = 1ms }
provider postgres {
  connection = "dev"
  databases  = true
}
resource network main { cidr = "10.1.0.0/16" }
resource database orders {
  engine   = "postgres"
  version  = "$major"
  cpu      = 1
  memory   = 1GiB
  storage  = 10GiB
  db_name  = "t$$_orders"
  username = "t$$_orders"
  password = var.pw
}
M
cat >"$WORK/cfg/vouched.json" <<JSON
{ "format": "moksha.exec-config/v1",
  "connections": { "dev": { "kind": "postgres", "conninfo": "host=$PGHOST port=$PGPORT user=moksha dbname=postgres",
    "self_hosted": { "encrypted": true, "public": false, "backup_retention": "1d",
                     "capacity": { "cpu": 2, "memory": "2GiB", "storage": "10GiB" } } } } }
JSON
chmod 0600 "$WORK/cfg/vouched.json"
export MOKSHA_VAR_pw="orders-pw-$$"
enter db || exit 1
MOKSHA_EXEC_CONFIG=$WORK/cfg/good.json pg_run 1 apply --yes
expect_contains "$ERR" "database.orders (create): postgres: database.orders: connection dev does not vouch for what this database asks"
expect_contains "$ERR" "encrypted = true (connections.dev.self_hosted.encrypted: true)"
expect_contains "$ERR" "storage = 10GiB (connections.dev.self_hosted.capacity.storage: 10GiB or more)"
refused database.orders
pg_same "the self-hosted database's role and database" \
    "$(psql -d postgres -qAt -c "SELECT (SELECT count(*) FROM pg_roles WHERE rolname = 't$$_orders') + (SELECT count(*) FROM pg_database WHERE datname = 't$$_orders')")" 0
# vouched for by the connection: the same plan applies
MOKSHA_EXEC_CONFIG=$WORK/cfg/vouched.json pg_run 0 apply --yes
expect_contains "$OUT" "created  database.orders  [postgres]  id=t$$_orders"
pg_same "the database's owner" "$(psql -d postgres -qAt -c "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 't$$_orders'")" "t$$_orders"
MOKSHA_EXEC_CONFIG=$WORK/cfg/vouched.json pg_run 0 destroy --yes
pg_same "what the destroy left" "$(psql -d postgres -qAt -c "SELECT count(*) FROM pg_database WHERE datname = 't$$_orders'")" 0
leave

# the password is the executor's environment's alone
if grep -rlF -- "$PGPASSWORD" "$PG_OUTPUTS" app db 2>/dev/null; then e2e_bad "the password is in the files above"; else e2e_ok; fi
if grep -rlF -- "$MOKSHA_VAR_pw" "$PG_OUTPUTS" db 2>/dev/null; then e2e_bad "the database's password is in the files above"; else e2e_ok; fi
[ -z "$(psql -d postgres -qAt -c "SELECT rolname FROM pg_roles WHERE rolname LIKE 't$$%'")" ] && e2e_ok ||
    e2e_bad "a role was made"
