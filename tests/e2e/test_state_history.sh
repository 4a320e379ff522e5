# test_state_history.sh — `state history`, `state show --serial N` and
# `state migrate` (docs/state.md, "History" and "Migration"). On the local
# backend: the two serials it keeps, listed and shown. On the real server
# (tests/e2e/pg_lib.sh): migrate local → postgres → local gives back
# state.json byte for byte (cmp) and the audit log whole; a target that is
# not empty is refused, naming what it holds; history on postgres lists
# every serial, and a history row changed behind moksha's back (UPDATE by
# psql) is reported by serial; the password never shows.
. "$TOP/tests/e2e/lib.sh"
. "$TOP/tests/e2e/pg_lib.sh"

export MOKSHA_KEY=be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c
export MOKSHA_STACK=hist
spec() {
    cat > main.moksha <<M
stack hist { env = "dev" }
provider sim { latency = 1ms }
resource network main { cidr = "$1" }
M
}
mkdir conf && chmod 0700 conf
pg_config "$WORK/conf/local.json" local
pg_config "$WORK/conf/pg.json" postgres

# ---- local: the current serial and the one before ----
mkdir a && enter a || exit 1
export MOKSHA_EXEC_CONFIG="$WORK/conf/local.json"
spec 10.0.0.0/16
expect_exit 0 moksha apply --yes
spec 10.1.0.0/16
expect_exit 0 moksha apply --yes
now=$(jq .serial .moksha/state.json)
expect_exit 0 moksha state history
expect_contains "$OUT" "2 serials, chain verified."
expect_match "$OUT" "^ +$now  "
expect_exit 0 moksha state history --format json
[ "$(jq -r .format "$OUT")" = moksha.history/v1 ] || fail "history JSON is not moksha.history/v1"
[ "$(jq '[.serials[].serial]' -c "$OUT")" = "[$((now - 1)),$now]" ] || fail "local history is not serials $((now - 1)) and $now"
expect_exit 0 moksha state show --serial $((now - 1))
expect_same "$OUT" .moksha/state.json.prev
expect_exit 0 moksha state show --serial $((now - 1)) network.main
expect_contains "$OUT" '"cidr": "10.0.0.0/16"'
expect_exit 1 moksha state show --serial 99
expect_contains "$ERR" "no serial 99"
expect_exit 1 moksha state show --serial $now compute.nothing
expect_contains "$ERR" "has no resource \`compute.nothing\`"
expect_exit 0 "$MOKSHA_EXEC" state history --help
leave

# ---- the rest needs the postgres backend ----
if MOKSHA_EXEC_CONFIG="$WORK/conf/pg.json" "$MOKSHA_EXEC" -C a state where 2>&1 | grep -q "postgres state backend is not built"; then
    echo "skipped: migrate and postgres history (this moksha-exec has no postgres backend)"
    exit 0
fi

# ---- local → postgres ----
enter a || exit 1
expect_exit 0 "$MOKSHA_EXEC" state migrate --to postgres
expect_contains "$OUT" "verified"
state_sha=$(sha256sum < .moksha/state.json | cut -c1-64)
expect_contains "$OUT" "$state_sha"
expect_exit 1 "$MOKSHA_EXEC" state migrate --to postgres
expect_contains "$ERR" "is not empty: it holds a state at serial $now with 1 resource"
expect_exit 1 "$MOKSHA_EXEC" state migrate --to local
expect_contains "$ERR" "on local already"
leave

# ---- postgres → local, into an empty directory: the same bytes ----
mkdir b && enter b || exit 1
export MOKSHA_EXEC_CONFIG="$WORK/conf/pg.json"
expect_exit 0 "$MOKSHA_EXEC" state migrate --to local
expect_exit 0 cmp .moksha/state.json ../a/.moksha/state.json
# the log as it was before the migration (a's last line is its own state.migrate)
head -n $(($(wc -l < ../a/.moksha/audit.jsonl) - 1)) ../a/.moksha/audit.jsonl > audit.before
head -n "$(wc -l < audit.before)" .moksha/audit.jsonl > audit.prefix
expect_same audit.prefix audit.before
expect_exit 0 moksha audit verify
expect_contains .moksha/audit.jsonl '"event":"state.migrate","from":"postgres","to":"local"'
expect_contains ../a/.moksha/audit.jsonl '"event":"state.migrate","from":"local","to":"postgres"'
leave

# ---- history on postgres: every serial, verified; a tampered row named ----
# (the migrated state, then two writes by the executor: state mv there and
# back, in a, where the simulated cloud is)
enter a || exit 1
export MOKSHA_EXEC_CONFIG="$WORK/conf/pg.json"
expect_exit 0 "$MOKSHA_EXEC" state mv network.main network.core
expect_exit 0 "$MOKSHA_EXEC" state mv network.core network.main
expect_exit 0 moksha state history --format json
rows=$(jq '.serials | length' "$OUT")
[ "$rows" -eq 3 ] || fail "postgres history has $rows serials, expected 3 (migrate, mv, mv)"
[ "$(jq -r '[.serials[].operation] | join(",")' "$OUT")" = "migrate,state mv,state mv" ] ||
    fail "postgres history's operations: $(jq -c '[.serials[].operation]' "$OUT")"
mid=$(jq '.serials[1].serial' "$OUT")
expect_exit 0 moksha state show --serial "$mid" network.core
expect_contains "$OUT" '"cidr": "10.1.0.0/16"'
expect_exit 0 moksha state show --serial "$mid"
expect_contains "$OUT" '"address": "network.core"'
pg_sql "UPDATE moksha.history SET delta = '{\"put\": [], \"removed\": []}' WHERE serial = $mid" >/dev/null
expect_exit 1 moksha state history
expect_contains "$ERR" "serial $mid"
for f in "$OUT" "$ERR" .moksha/audit.jsonl ../b/.moksha/state.json ../b/.moksha/audit.jsonl; do
    expect_not_contains "$f" "$PGPASSWORD"
done
leave
