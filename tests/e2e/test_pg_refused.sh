# test_pg_refused.sh — what the executor refuses before the first step
# (docs/executor.md "Refused before the first step"), on the suite's
# throwaway server: a spec naming a connection the executor's configuration
# does not have, with no configuration at all, a server that cannot be
# reached. Each is exit 1 with nothing changed — the
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

# the password is the executor's environment's alone
if grep -rlF -- "$PGPASSWORD" "$PG_OUTPUTS" app 2>/dev/null; then e2e_bad "the password is in the files above"; else e2e_ok; fi
[ -z "$(psql -d postgres -qAt -c "SELECT rolname FROM pg_roles WHERE rolname LIKE 't$$%'")" ] && e2e_ok ||
    e2e_bad "a role was made"
