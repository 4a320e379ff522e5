# test_pg_guards.sh — what the executor refuses rather than answer from the
# wrong place, on the suite's throwaway server: `audit verify` and `audit
# show` when the configured backend cannot be opened (never the local file,
# empty, in its place); `state outputs` of a stack whose environment is
# local under a postgres section (never the reader's own files under
# another's name, nor any state whose lineage is the reader's); and an
# output holding a secret at any depth never handed over.
. "$TOP/tests/e2e/lib.sh"
. "$TOP/tests/e2e/pg_lib.sh"

export MOKSHA_KEY=be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c
mkdir cfg && chmod 700 cfg
pg_config "$WORK/cfg/exec.json"
export MOKSHA_EXEC_CONFIG="$WORK/cfg/exec.json"
export MOKSHA_STACK=web

mkdir web
cat > web/main.moksha <<'M'
stack web {}
provider sim { latency = 1ms }
var pw: secret = sensitive("pw-web-4711")
resource network n { cidr = "10.2.0.0/16" }
resource compute c0 { cpu = 1, memory = 1GiB, image = "app:1", network = network.n }
resource compute c1 { cpu = 1, memory = 1GiB, image = "app:1", network = network.n }
resource compute c2 { cpu = 1, memory = 1GiB, image = "app:1", network = network.n }
output name  = "web"
output creds = { user = "x", pw = var.pw }
output lst   = [var.pw]
output deep  = { a = [{ b = var.pw }] }
M
enter web
expect_exit 0 moksha apply --yes
expect_exit 0 moksha audit verify
expect_contains "$OUT" "postgres web: ok: "

# ---- audit verify/show: the backend not opened is an error, not "empty" ----
pg_sql "UPDATE moksha.audit SET line = replace(line, '\"event\":\"lock\"', '\"event\":\"lock \"') WHERE seq = 1" >/dev/null
expect_exit 1 moksha audit verify --stack web   # the log in postgres is damaged
expect_exit 1 env -u MOKSHA_STACK "$MOKSHA_EXEC" audit verify
expect_not_contains "$OUT" "ok: 0 entries"
expect_contains "$ERR" "error"
expect_exit 1 env -u MOKSHA_STACK "$MOKSHA_EXEC" audit show
expect_not_contains "$OUT" "(the audit log is empty)"
sed 's/port=[0-9]*/port=1/' "$WORK/cfg/exec.json" > "$WORK/cfg/down.json" && chmod 600 "$WORK/cfg/down.json"
expect_exit 1 env MOKSHA_EXEC_CONFIG="$WORK/cfg/down.json" "$MOKSHA_EXEC" audit verify
expect_not_contains "$OUT" "ok: 0 entries"
expect_exit 1 env MOKSHA_EXEC_CONFIG="$WORK/cfg/down.json" "$MOKSHA_EXEC" audit show
expect_not_contains "$OUT" "(the audit log is empty)"
expect_not_contains "$ERR" "$PGPASSWORD"
expect_empty .moksha/audit.jsonl
leave
