# test_refresh.sh — `moksha-exec refresh` (docs/drift.md): objects changed
# and deleted out of band are reported drifted and gone with the exact
# attributes, recorded in .moksha/observed.json and the audit log, and the
# state's serial never moves; a dry run records nothing; an object that
# cannot be read is unreadable, never gone (exit 1); a locked state is exit
# 6; --detailed-exitcode is 2 on drift; a plan given is verified first.
. "$TOP/tests/e2e/lib.sh"

mkdir stack && cd stack
cat > main.moksha <<'SPEC'
provider sim { }
resource network n { cidr = "10.2.0.0/16" }
resource compute web { cpu = 1, memory = 1GiB, image = "app:1", network = network.n }
resource bucket logs { }
SPEC
expect_exit 0 moksha apply --yes
serial=$(jq .serial .moksha/state.json)
cp .moksha/state.json state.before

# ---- nothing touched: in sync, no attributes recorded ----
expect_exit 0 "$MOKSHA_EXEC" refresh --detailed-exitcode
expect_contains "$OUT" "Refreshed 3 resources: 3 in sync, 0 drifted, 0 gone, 0 unreadable, 0 ignored"
[ "$(jq -r '.format + " " + ([.resources[].status] | join(","))' .moksha/observed.json)" = "moksha.observed/v1 present,present,present" ] ||
    fail "observed.json after an untouched refresh: $(cat .moksha/observed.json)"
[ "$(jq '[.resources[] | select(has("attributes") or has("drift"))] | length' .moksha/observed.json)" = 0 ] ||
    fail "an object that reads back as recorded has attributes in observed.json"
[ "$(jq -r .lineage .moksha/observed.json)" = "$(jq -r .lineage .moksha/state.json)" ] || fail "observed.json's lineage is not the state's"
[ "$(jq .serial .moksha/observed.json)" = "$serial" ] || fail "observed.json's serial is not the state's"
digest=$(jq -c '.resources[] | select(.address == "bucket.logs") | .attributes' .moksha/state.json | jq -cS . | tr -d '\n' | sha256sum | cut -c1-64)
[ "$(jq -r '.resources["bucket.logs"].entry' .moksha/observed.json)" = "$digest" ] || fail "bucket.logs's entry digest is not the state entry's"

# ---- out of band: an attribute changed, an object deleted ----
cp -r .moksha/sim sim.before
f=.moksha/sim/compute.web.json
jq '.attributes.image = "app:2" | .attributes.cpu = 4' "$f" > x && mv x "$f"
rm .moksha/sim/bucket.logs.json
expect_exit 2 "$MOKSHA_EXEC" refresh --detailed-exitcode --format json
jq -c . "$OUT" > report.json
[ "$(jq -c .counts report.json)" = '{"resources":3,"in_sync":1,"drifted":1,"gone":1,"unreadable":0,"ignored":0}' ] ||
    fail "report counts: $(jq -c .counts report.json)"
[ "$(jq -c '[.format, .dry_run]' report.json)" = '["moksha.drift/v1",false]' ] || fail "report header: $(cat report.json)"
[ "$(jq -c '.resources | sort_by(.address)' report.json)" = '[{"address":"bucket.logs","type":"bucket","provider":"sim","status":"gone","mode":"correct"},{"address":"compute.web","type":"compute","provider":"sim","status":"drifted","mode":"correct","attributes":["cpu","image"],"recorded":{"cpu":1,"image":"app:1"},"observed":{"cpu":4,"image":"app:2"}}]' ] ||
    fail "report resources: $(jq -c .resources report.json)"
[ "$(jq -c '.resources["compute.web"] | [.status, .drift, .attributes.image, .attributes.cpu]' .moksha/observed.json)" = '["present",["cpu","image"],"app:2",4]' ] ||
    fail "observed compute.web: $(jq -c '.resources["compute.web"]' .moksha/observed.json)"
[ "$(jq -c '.resources["bucket.logs"] | [.status, has("attributes")]' .moksha/observed.json)" = '["gone",false]' ] ||
    fail "observed bucket.logs: $(jq -c '.resources["bucket.logs"]' .moksha/observed.json)"
[ "$(jq -c '.resources["network.n"] | [.status, has("attributes")]' .moksha/observed.json)" = '["present",false]' ] ||
    fail "observed network.n: $(jq -c '.resources["network.n"]' .moksha/observed.json)"
# without --detailed-exitcode drift is exit 0; the text names both
expect_exit 0 "$MOKSHA_EXEC" refresh
expect_contains "$OUT" '~ compute.web changed outside moksha: cpu 1 → 4, image "app:1" → "app:2"'
expect_contains "$OUT" "- bucket.logs was deleted outside moksha"
expect_contains "$OUT" "Refreshed 3 resources: 1 in sync, 1 drifted, 1 gone, 0 unreadable, 0 ignored"
expect_not_contains "$OUT" "network.n"

# ---- the audit: refresh, then a drift entry per drifted or gone object, inside lock … unlock ----
expect_exit 0 "$MOKSHA_EXEC" audit show --format json
jq -c '[.entries // . | .[] | select(.event == "lock" or .event == "refresh" or .event == "drift" or .event == "unlock")] | .[-5:] | map(.event)' "$OUT" > events
[ "$(cat events)" = '["lock","refresh","drift","drift","unlock"]' ] || fail "audit events of the last refresh: $(cat events)"
jq -c '[.entries // . | .[] | select(.event == "refresh")] | last | [.counts, .unreadable, .by]' "$OUT" > ev
[ "$(cat ev)" = '[{"resources":3,"in_sync":1,"drifted":1,"gone":1,"unreadable":0,"ignored":0},[],"refresh"]' ] || fail "refresh entry: $(cat ev)"
jq -c '[.entries // . | .[] | select(.event == "drift")] | .[-2:] | map([.address, .status, .attributes]) | sort' "$OUT" > ev
[ "$(cat ev)" = '[["bucket.logs","gone",[]],["compute.web","drifted",["cpu","image"]]]' ] || fail "drift entries: $(cat ev)"
expect_exit 0 "$MOKSHA_EXEC" refresh --by reconcile
expect_exit 0 "$MOKSHA_EXEC" audit show --format json
[ "$(jq -r '[.entries // . | .[] | select(.event == "refresh")] | last | .by' "$OUT")" = reconcile ] || fail "--by reconcile is not audited"
expect_exit 0 moksha audit verify
# the state is read, never written
[ "$(jq .serial .moksha/state.json)" = "$serial" ] || fail "a refresh moved the state's serial"
jq -S 'del(.audit)' state.before > a.json
jq -S 'del(.audit)' .moksha/state.json > b.json
expect_same a.json b.json

# ---- a dry run: no lock, nothing written, not audited ----
cp .moksha/observed.json observed.before
lines=$(wc -l < .moksha/audit.jsonl)
expect_exit 2 "$MOKSHA_EXEC" refresh --dry-run --detailed-exitcode --format json
[ "$(jq -c '[.dry_run, .counts.drifted, .counts.gone]' "$OUT")" = '[true,1,1]' ] || fail "dry run report: $(cat "$OUT")"
expect_same .moksha/observed.json observed.before
[ "$(wc -l < .moksha/audit.jsonl)" = "$lines" ] || fail "a dry run wrote to the audit log"
# ---- locked: exit 6 (a dry run takes no lock) ----
echo '{"id":"dead-beef","holder":"someone@elsewhere pid 1","pid":1,"host":"elsewhere","operation":"apply","time":"2020-01-01T00:00:00Z"}' > .moksha/state.lock
expect_exit 6 "$MOKSHA_EXEC" refresh
expect_exit 2 "$MOKSHA_EXEC" refresh --dry-run --detailed-exitcode
rm .moksha/state.lock

# ---- the world put back: in sync again ----
rm -r .moksha/sim && cp -r sim.before .moksha/sim
serial=$(jq .serial .moksha/state.json)
expect_exit 0 "$MOKSHA_EXEC" refresh --detailed-exitcode
expect_contains "$OUT" "3 in sync, 0 drifted, 0 gone"

# ---- a plan given: verified first ----
expect_exit 0 moksha plan -o p.plan
expect_exit 0 "$MOKSHA_EXEC" refresh p.plan
expect_exit 0 "$MOKSHA_EXEC" audit show --format json
[ "$(jq -r '[.entries // . | .[] | select(.event == "refresh")] | last | .plan_sha256' "$OUT")" = "$(sha256sum p.plan | cut -c1-64)" ] ||
    fail "the refresh entry does not name the plan's digest"
sed '0,/"stack"/s/"stack"/"stack" /' p.plan > bad.plan
cmp -s p.plan bad.plan && fail "bad.plan is p.plan"
expect_exit 1 "$MOKSHA_EXEC" refresh bad.plan
expect_contains "$ERR" "bad.plan"
[ "$(jq .serial .moksha/state.json)" = "$serial" ] || fail "a refresh with a plan moved the serial"

# ---- no provider settings recorded anywhere: unreadable, with the way out ----
jq 'del(.providers)' .moksha/state.json > x && mv x .moksha/state.json
expect_exit 1 "$MOKSHA_EXEC" refresh
expect_contains "$OUT" "? network.n could not be read: no provider settings recorded for \`sim\`: apply once, or \`moksha plan --refresh\`"
# …the plan's providers serve them
expect_exit 0 "$MOKSHA_EXEC" refresh p.plan --detailed-exitcode
cd ..

# ---- unreadable is never gone: a sim object whose reads fail, a local file
# behind a symlink out of the provider's root (both hold as root) ----
mkdir files && cd files
cat > main.moksha <<'SPEC'
provider sim { }
resource bucket logs { }
resource local.file motd { path = "d/motd.txt", content = "hello" }
resource local.file keep { path = "keep.txt", content = "kept" }
SPEC
expect_exit 0 moksha apply --yes
expect_exit 0 "$MOKSHA_EXEC" refresh --detailed-exitcode
expect_contains "$OUT" "Refreshed 3 resources: 3 in sync, 0 drifted, 0 gone, 0 unreadable, 0 ignored"
expect_exit 0 "$MOKSHA_EXEC" sim fail bucket.logs read "access denied"
rm -r .moksha/out/d && mkdir -p outside && ln -s "$(pwd)/outside" .moksha/out/d
expect_exit 1 "$MOKSHA_EXEC" refresh --detailed-exitcode --format json
jq -c '.resources | sort_by(.address) | map([.address, .status, (.error | test("access denied|outside the provider.s root"))])' "$OUT" > got
[ "$(cat got)" = '[["bucket.logs","unreadable",true],["local.file.motd","unreadable",true]]' ] || fail "unreadable objects: $(cat "$OUT")"
[ "$(jq -c .counts "$OUT")" = '{"resources":3,"in_sync":1,"drifted":0,"gone":0,"unreadable":2,"ignored":0}' ] || fail "counts: $(jq -c .counts "$OUT")"
# the last good observation is kept, with its time
[ "$(jq -c '.resources["bucket.logs"] | [.status, .last.status, (.at | type)]' .moksha/observed.json)" = '["unreadable","present","string"]' ] ||
    fail "observed unreadable: $(jq -c '.resources["bucket.logs"]' .moksha/observed.json)"
[ "$(jq -r '.resources["local.file.keep"].status' .moksha/observed.json)" = present ] || fail "the readable file is not recorded"
expect_exit 0 "$MOKSHA_EXEC" audit show --format json
[ "$(jq -c '[.entries // . | .[] | select(.event == "refresh")] | last | .unreadable | sort' "$OUT")" = '["bucket.logs","local.file.motd"]' ] ||
    fail "the refresh entry does not name the unreadable objects"
expect_exit 0 moksha audit verify
# reads that work again: in sync, the failure forgotten
expect_exit 0 "$MOKSHA_EXEC" sim fail bucket.logs none
rm .moksha/out/d && mkdir .moksha/out/d && printf hello > .moksha/out/d/motd.txt
expect_exit 0 "$MOKSHA_EXEC" refresh --detailed-exitcode
expect_contains "$OUT" "3 in sync"

# ---- a secret nested in a map never reads back in plaintext: not in the
# report (text or JSON), not in observed.json, not in the guard's message ----
cd "$WORK" && mkdir nested && cd nested
cat > main.moksha <<'SPEC'
var pw: secret
provider sim { }
resource compute web { cpu = 1, memory = 1GiB, image = "app:1", tags = { token = var.pw, team = "a" } }
SPEC
export MOKSHA_VAR_pw=first-secret-value-1234
expect_exit 0 moksha apply --yes
expect_exit 0 "$MOKSHA_EXEC" state show compute.web
[ "$(jq -c .sensitive "$OUT")" = '["tags"]' ] || fail "the state does not list tags as sensitive: $(jq -c .sensitive "$OUT")"
sed -i 's/app:1/app:2/' main.moksha
expect_exit 0 moksha plan -o keep.plan
expect_exit 0 "$MOKSHA_EXEC" sim set compute.web 'tags={"token":"ROTATED-PLAINTEXT-SECRET","team":"a"}'
expect_exit 0 "$MOKSHA_EXEC" refresh --dry-run
expect_contains "$OUT" "~ compute.web changed outside moksha: tags (secret) → (secret)"
expect_not_contains "$OUT" "ROTATED-PLAINTEXT"
expect_exit 0 "$MOKSHA_EXEC" refresh --format json
expect_not_contains "$OUT" "ROTATED-PLAINTEXT"
[ "$(jq -c '.resources[0].observed' "$OUT")" = '{"tags":{"$secret":{"differs":true}}}' ] ||
    fail "the report's observed tags: $(jq -c '.resources[0].observed' "$OUT")"
grep -q ROTATED-PLAINTEXT .moksha/observed.json && fail "observed.json holds the plaintext: $(cat .moksha/observed.json)"
[ "$(jq -c '.resources["compute.web"] | [.drift, .attributes.tags]' .moksha/observed.json)" = '[["tags"],{"$secret":{"differs":true}}]' ] ||
    fail "observed compute.web: $(jq -c '.resources["compute.web"]' .moksha/observed.json)"
expect_exit 6 moksha apply keep.plan
expect_contains "$ERR" "tags (sensitive: its value is not shown)"
expect_not_contains "$ERR" "ROTATED-PLAINTEXT"
unset MOKSHA_VAR_pw
