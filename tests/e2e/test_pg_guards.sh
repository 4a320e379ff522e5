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

# ---- an output holding a secret anywhere is the marker, whole ----
enter web
expect_exit 0 "$MOKSHA_EXEC" state outputs --stack web --format json
expect_contains "$OUT" '"name":"web"'
expect_contains "$OUT" '"creds":{"$secret":{"sensitive":true}}'
expect_contains "$OUT" '"lst":{"$secret":{"sensitive":true}}'
expect_contains "$OUT" '"deep":{"$secret":{"sensitive":true}}'
expect_not_contains "$OUT" '"sealed"'
expect_not_contains "$OUT" '"user"'
expect_exit 0 "$MOKSHA_EXEC" state outputs --stack web
expect_contains "$OUT" "  creds = (sensitive)"
expect_contains "$OUT" "  lst = (sensitive)"
expect_not_contains "$OUT" "sealed"
leave

# ---- an environment kept locally under a postgres section ----
cat > "$WORK/cfg/split.json" <<JSON
{ "format": "moksha.exec-config/v1",
  "state": { "backend": "postgres",
             "postgres": { "conninfo": "host=$PGHOST port=$PGPORT user=$PGUSER dbname=$PGDATABASE" },
             "environments": { "dev": { "backend": "local" } } } }
JSON
chmod 600 "$WORK/cfg/split.json"
export MOKSHA_EXEC_CONFIG="$WORK/cfg/split.json"
enter web
mkdir -p env && : > env/dev.yaml
expect_exit 0 moksha apply --env dev --yes
expect_file .moksha/env/dev/state.json
# web's own dev files are not network's, whatever --stack says
expect_exit 1 "$MOKSHA_EXEC" state outputs --stack network --from web --env dev
expect_contains "$ERR" "stack \`network\` is not this directory's (web)"
expect_not_contains "$OUT" '"name":"web"'
leave
# a configuration placing network in web's own directory: the lineage is web's
sed 's|"environments"|"local_stacks": { "network": "'"$WORK"'/web" }, "environments"|' "$WORK/cfg/split.json" > "$WORK/cfg/alias.json"
chmod 600 "$WORK/cfg/alias.json"
export MOKSHA_EXEC_CONFIG="$WORK/cfg/alias.json"
enter web
expect_exit 1 "$MOKSHA_EXEC" state outputs --stack network --from web --from-env dev --env dev
expect_contains "$ERR" "it is the state of \`web\` itself"
expect_not_contains "$OUT" '"name":"web"'
printf 'output got = outputs.network.name\noutputs network { name: string }\n' >> main.moksha
expect_exit 1 moksha plan --env dev
expect_contains "$ERR" "cannot read the outputs of stack \`network\`"
expect_contains "$ERR" "it is the state of \`web\` itself"
expect_not_contains "$ERR" "pw-web-4711"
leave
