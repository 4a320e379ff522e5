#!/bin/sh
# test_backend.sh — the state backend seen from the command line, on the
# local backend (docs/state.md): `state where` says which backend and where
# (text and JSON); `state pull` gives the state's bytes exactly, the
# previous serial's from state.json.prev and no other, the observations
# with --observed, nothing when there is none; `state unlock` breaks a lock
# only with a reason, audited `lock.broken` with the holder; --lock-timeout
# waits for a holder that lets go in time and exits 6 naming one that does
# not; `env list` lists the environments that have a state; a state section
# with a password in its conninfo is refused.
. "$TOP/tests/e2e/lib.sh"

export XDG_CONFIG_HOME="$WORK/xdg"   # no configuration unless a test writes one
mkdir stack && cd stack
export MOKSHA_KEY=be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c
printf 'stack web {}\nprovider sim {}\nresource bucket a {}\nresource bucket b {}\n' > main.moksha

# ---- where: local, in .moksha ----
expect_exit 0 "$MOKSHA_EXEC" state where && expect_contains "$OUT" "local: .moksha"
expect_exit 0 "$MOKSHA_EXEC" state where --format json
[ "$(cat "$OUT")" = '{"kind":"local","stack":null,"env":null,"location":".moksha"}' ] || fail "state where --format json: $(cat "$OUT")"
expect_exit 0 moksha state where --format json --stack web && expect_contains "$OUT" '"kind":"local"'
expect_exit 1 "$MOKSHA_EXEC" state where --format yaml && expect_contains "$ERR" "usage: moksha-exec state where"

# ---- pull: nothing before the first apply ----
expect_exit 0 "$MOKSHA_EXEC" state pull && expect_empty "$OUT"
expect_exit 0 "$MOKSHA_EXEC" state pull --observed && expect_empty "$OUT"
expect_exit 0 moksha apply --yes
expect_exit 0 moksha state rm bucket.b   # (one more write: state.json.prev is a serial of its own)
expect_exit 0 moksha apply --yes
expect_exit 0 "$MOKSHA_EXEC" state pull
cmp -s "$OUT" .moksha/state.json || fail "state pull is not state.json byte for byte"
serial=$(jq -r .serial .moksha/state.json)
expect_exit 0 "$MOKSHA_EXEC" state pull --serial "$serial"
cmp -s "$OUT" .moksha/state.json || fail "state pull --serial $serial (the current one) is not state.json"
prev=$(jq -r .serial .moksha/state.json.prev)
expect_exit 0 "$MOKSHA_EXEC" state pull --serial "$prev"
cmp -s "$OUT" .moksha/state.json.prev || fail "state pull --serial $prev is not state.json.prev"
expect_exit 1 "$MOKSHA_EXEC" state pull --serial 999 && expect_contains "$ERR" "the local state keeps serial $serial and the one before it, $prev: not 999"
expect_exit 1 "$MOKSHA_EXEC" state pull --serial x && expect_contains "$ERR" "usage: moksha-exec state pull"
expect_exit 0 moksha refresh
expect_exit 0 "$MOKSHA_EXEC" state pull --observed
cmp -s "$OUT" .moksha/observed.json || fail "state pull --observed is not observed.json byte for byte"

# ---- unlock: only with a reason, audited lock.broken with the holder ----
echo '{"id":"gone-1","holder":"ci@runner-2 pid 4121","pid":4121,"host":"runner-2","user":"ci","operation":"apply","time":"2020-01-01T00:00:00Z"}' > .moksha/state.lock
expect_exit 1 moksha state unlock gone-1 && expect_contains "$ERR" "a lock is broken only with a reason"
expect_file .moksha/state.lock
expect_exit 1 moksha state unlock gone-1 --reason "" && expect_contains "$ERR" "only with a reason"
expect_exit 0 moksha state unlock gone-1 --reason "runner-2 was lost mid-apply" && expect_contains "$OUT" "Unlocked"
[ ! -e .moksha/state.lock ] || fail "the lock is still there after state unlock --reason"
tail -n 1 .moksha/audit.jsonl | jq -e '.event == "lock.broken" and .lock_id == "gone-1" and .reason == "runner-2 was lost mid-apply" and .holder == "ci@runner-2 pid 4121" and .host == "runner-2" and .operation == "apply"' >/dev/null ||
    fail "the unlock is not audited as lock.broken with its reason and holder: $(tail -n 1 .moksha/audit.jsonl)"
expect_exit 0 moksha audit verify

# ---- --lock-timeout: a holder that lets go in time is waited for ----
printf 'resource bucket c {}\n' >> main.moksha
expect_exit 0 moksha plan -o p.plan
echo '{"id":"slow-1","holder":"ci@runner-3 pid 1","pid":1,"host":"runner-3","operation":"apply","time":"2020-01-01T00:00:00Z"}' > .moksha/state.lock
expect_exit 6 "$MOKSHA_EXEC" apply p.plan && expect_contains "$ERR" "ci@runner-3 pid 1"
( sleep 1; rm -f .moksha/state.lock ) &
expect_exit 0 "$MOKSHA_EXEC" apply --lock-timeout 20s p.plan && expect_contains "$OUT" "1 created"
wait

# ---- …and one that does not is named, after the wait, exit 6 ----
echo '{"id":"stuck-1","holder":"ci@runner-4 pid 1","pid":1,"host":"runner-4","operation":"refresh","time":"2020-01-01T00:00:00Z"}' > .moksha/state.lock
t0=$(date +%s%N)
expect_exit 6 moksha refresh --lock-timeout 800ms && expect_contains "$ERR" "the state is locked by ci@runner-4 pid 1 for refresh"
t1=$(date +%s%N)
[ $(( (t1 - t0) / 1000000 )) -ge 700 ] || fail "refresh --lock-timeout 800ms gave up after $(( (t1 - t0) / 1000000 )) ms"
expect_exit 6 "$MOKSHA_EXEC" state rm bucket.a --lock-timeout 200ms && expect_contains "$ERR" "ci@runner-4"
expect_exit 1 "$MOKSHA_EXEC" state list --lock-timeout 1s && expect_contains "$ERR" "--lock-timeout is for apply, refresh, state rm and state mv"
expect_exit 1 "$MOKSHA_EXEC" state rm bucket.a --lock-timeout soon && expect_contains "$ERR" "bad --lock-timeout"
expect_exit 1 moksha apply --lock-timeout soon --yes && expect_contains "$ERR" "--lock-timeout takes a duration"
expect_exit 0 moksha state unlock stuck-1 --reason "test: the holder is gone"

# ---- env list: the environments that have a state ----
expect_exit 0 moksha env list && expect_match "$OUT" '^\(none\) +serial [0-9]+ +3 resources'
mkdir -p .moksha/env/prod
cp .moksha/state.json .moksha/env/prod/state.json
expect_exit 0 "$MOKSHA_EXEC" env list --format json
[ "$(jq -r '[.[].env] | join(",")' "$OUT")" = ",prod" ] || fail "env list --format json: $(cat "$OUT")"
[ "$(jq -r '.[1].resources' "$OUT")" = 3 ] || fail "env list: prod's resources: $(cat "$OUT")"
expect_exit 0 moksha env list && expect_match "$OUT" '^prod +serial'
expect_exit 1 moksha env && expect_contains "$ERR" "usage: moksha env list"
expect_exit 0 moksha env --help && expect_contains "$OUT" "usage: moksha env list"
expect_exit 0 "$MOKSHA_EXEC" env list --help && expect_contains "$OUT" "env list"

# ---- the configuration: a password in the conninfo is refused, and never said ----
mkdir -p "$XDG_CONFIG_HOME/moksha"
printf '{"format": "moksha.exec-config/v1", "state": {"backend": "postgres", "postgres": {"conninfo": "dbname=m password=s3cr3t-pw"}}}\n' > "$XDG_CONFIG_HOME/moksha/exec.json"
chmod 600 "$XDG_CONFIG_HOME/moksha/exec.json"
expect_exit 1 "$MOKSHA_EXEC" config check && expect_contains "$ERR" "key \`state.postgres.conninfo\`: a password in the connection string is refused"
expect_not_contains "$ERR" "s3cr3t-pw"
expect_exit 1 "$MOKSHA_EXEC" state where && expect_not_contains "$ERR" "s3cr3t-pw"
printf '{"format": "moksha.exec-config/v1", "state": {"backend": "local", "environments": {"dev": {"backend": "local"}}}}\n' > "$XDG_CONFIG_HOME/moksha/exec.json"
expect_exit 0 "$MOKSHA_EXEC" config check
expect_exit 0 "$MOKSHA_EXEC" state where && expect_contains "$OUT" "local: .moksha"

# ---- plans are bound to their backend (docs/state.md) ----
# A plain local plan has no "backend"; a moksha next to an executor that
# keeps the state elsewhere reads it through `state pull` and records where.
rm -f "$XDG_CONFIG_HOME/moksha/exec.json"
expect_exit 0 moksha plan -o local.plan
expect_exit 0 jq -e 'has("backend") | not' local.plan
mkdir -p "$WORK/fake"
cp "$MOKSHA" "$WORK/fake/moksha"
cat > "$WORK/fake/moksha-exec" <<EOS
#!/bin/sh
# an executor whose configuration keeps web/prod on postgres: where says so, pull gives saved bytes
case "\$1 \$2" in
"state where") echo '{"kind":"postgres","stack":"web","env":"prod","location":"postgres dbname=m schema=moksha"}' ;;
"state pull") if [ "\${3:-}" = --observed ]; then :; else cat "$WORK/saved-state.json"; fi ;;
*) exec "$MOKSHA_EXEC" "\$@" ;;
esac
EOS
chmod +x "$WORK/fake/moksha-exec"
cp .moksha/state.json "$WORK/saved-state.json"
mv .moksha/state.json .moksha/state.json.away
expect_exit 0 "$WORK/fake/moksha" plan --detailed-exitcode -o pg.plan && expect_contains "$OUT" "Plan: 0 to create"
expect_exit 0 jq -e '.backend == {"kind":"postgres","stack":"web","env":"prod"}' pg.plan
expect_exit 0 moksha show pg.plan   # a plan with a backend reads back
expect_exit 0 "$MOKSHA_EXEC" verify pg.plan && expect_contains "$OUT" "valid plan for stack web"
expect_exit 2 moksha plan --detailed-exitcode   # the local files alone: no state, everything to create
mv .moksha/state.json.away .moksha/state.json
expect_exit 6 "$MOKSHA_EXEC" apply pg.plan
expect_contains "$ERR" "planned against the postgres state of web/prod; this executor keeps this stack's state on local: plan again"
tail -n 2 .moksha/audit.jsonl | head -n 1 | jq -e '.event == "apply.refused" and .reason == "another backend"' >/dev/null ||
    fail "the refusal is not audited: $(tail -n 2 .moksha/audit.jsonl)"
expect_exit 0 "$MOKSHA_EXEC" apply local.plan
