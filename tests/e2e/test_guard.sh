# test_guard.sh — guarded steps (docs/drift.md "Guarded steps"): a world
# changed between plan and apply makes the apply refuse (exit 6) with
# nothing changed — state, world and audit as they were but for the
# refusal; a world changed during the run fails that step and rolls the run
# back (exit 4); a secret's value is never shown; a delete the plan says is
# gone only forgets the entry, and its undo puts the entry back. Then the
# steps that take objects over or rename them: `state mv`, an import (read
# by id, updated to the spec; its undo never deletes), a move (its undo
# moves back), and a create that finds an object this stack did not make.
. "$TOP/tests/e2e/lib.sh"

export MOKSHA_KEY=6a7e4b1c2d3f40516273849506a7b8c9d0e1f2031425364758697a8b9cadbecf

# hmac_resign PLAN OUT JQ [JQ-ARGS…]: PLAN's body edited by the jq filter JQ and
# signed anew with MOKSHA_KEY, as docs/formats.md says (what the compiler
# would write, for plan fields it does not make yet).
hmac_resign() {
    _sign=$(printf 'moksha plan signature' | openssl dgst -sha256 -mac HMAC -macopt "key:$MOKSHA_KEY" -binary | od -An -tx1 | tr -d ' \n')
    _kid=$(jq -r .signature.key_id "$1")
    _in=$1 _out=$2 _f=$3
    shift 3
    jq -c "$@" "del(.signature) | $_f" "$_in" | tr -d '\n' >"$_out.body"
    _d=$(sha256sum <"$_out.body" | cut -c1-64)
    _st=$(jq -c '{format: "moksha.plan/v1", digest: $d} + (.state | {stack_id, lineage, serial})' --arg d "$_d" "$_out.body")
    _v=$(printf '%s' "$_st" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$_sign" | sed 's/.*= *//')
    { sed 's/}$//' "$_out.body"
      printf ',"signature":{"algorithm":"HMAC-SHA256","key_id":"%s","digest":"%s","value":"%s"}}\n' "$_kid" "$_d" "$_v"; } >"$_out"
    rm -f "$_out.body"
}

# sim_set ADDRESS JQ: the sim object changed out of band, as a colleague
# with console access would.
sim_set() {
    _f=.moksha/sim/$1.json
    jq "$2" "$_f" >"$_f.new" && mv "$_f.new" "$_f"
}

audit() { "$MOKSHA_EXEC" audit show --format json | jq -c '.entries[]'; }
audit_events() { audit | jq -r .event | tr '\n' ' '; }

# fresh: the stack applied anew, in a world of its own
fresh() {
    rm -rf .moksha/sim .moksha/state.json* .moksha/audit.*
    expect_exit 0 moksha apply --yes "$@"
}

# gone PLAN OUT [ADDRESS]: PLAN with the delete of ADDRESS (bucket.logs)
# marked as drift `gone`, as a plan from a refreshed stack has it
GONE='(.changes[] | select(.address == "bucket.logs")) += {drift: {status: "gone", attributes: []}}'

mkdir stack && cd stack
cat > main.moksha <<'M'
var size: int = 2
var pw: secret
provider sim { latency = 20ms }
resource network main { cidr = "10.0.0.0/16" }
resource compute web {
  cpu     = var.size
  memory  = 4GiB
  image   = "nginx:1.27"
  network = network.main
}
resource database db {
  engine   = "postgres"
  version  = "16"
  cpu      = 2
  memory   = 8GiB
  storage  = 20GiB
  password = var.pw
}
resource bucket logs { encrypted = true }
M
export MOKSHA_VAR_pw="first-secret-value-1234"
expect_exit 0 moksha apply --yes && expect_contains "$OUT" "4 created"

# ---- changed between plan and apply: refused, nothing changed ----
expect_exit 0 moksha plan --var size=4 -o bigger.plan
sim_set compute.web '.attributes.cpu = 3'
snapshot before.snap
cp .moksha/state.json state.before
expect_exit 6 moksha apply bigger.plan
expect_contains "$ERR" "the world moved since the plan was made; nothing was applied"
expect_contains "$ERR" "compute.web: cpu 2 → 3"
expect_contains "$ERR" "moksha plan --refresh"
snapshot after.snap
expect_same before.snap after.snap
expect_same state.before .moksha/state.json
audit | jq -c 'select(.event == "apply.refused")' >refused.json
expect_contains refused.json '"reason":"world moved"'
expect_contains refused.json '"addresses":["compute.web"]'
expect_contains refused.json '"attributes":{"compute.web":["cpu"]}'
case $(audit_events) in *"plan apply.refused unlock ") ;; *) fail "the refusal is not the last entry before the unlock: $(audit_events)" ;; esac
expect_exit 0 "$MOKSHA_EXEC" audit verify

# ---- a secret that changed is named, its value never shown ----
fresh
expect_exit 0 moksha plan --var pw=second-secret-value-5678 -o pw.plan
expect_exit 0 "$MOKSHA_EXEC" sim set database.db password=changed-in-the-console-42
expect_exit 6 moksha apply pw.plan
expect_contains "$ERR" "database.db: password (sensitive: its value is not shown)"
expect_not_contains "$ERR" "changed-in-the-console"
expect_not_contains "$ERR" "secret-value"
expect_not_contains "$ERR" "sealed"
expect_not_contains "$ERR" "compute.web"

# ---- a change the guard cannot check is refused at load: an update,
# replace, delete or move needs its `before` (an import and a gone delete
# do not) ----
fresh
sed 's/^resource bucket logs.*//' main.moksha >main.nobucket
cp main.moksha main.keep && cp main.nobucket main.moksha
expect_exit 0 moksha plan --var size=4 -o upd.plan
mv main.keep main.moksha
cp .moksha/state.json state.before
for f in 'del(.before)' '.before = null' '.before = [1]'; do
    hmac_resign upd.plan nobefore.plan "(.changes[] | select(.address == \"compute.web\")) |= ($f)"
    expect_exit 1 moksha apply nobefore.plan
    expect_contains "$ERR" "the update of compute.web has no \`before\` object to check the world against"
done
hmac_resign upd.plan nobefore.plan '(.changes[] | select(.address == "bucket.logs")) |= del(.before)'
expect_exit 1 moksha apply nobefore.plan
expect_contains "$ERR" "the delete of bucket.logs has no \`before\` object"
expect_same state.before .moksha/state.json
rm .moksha/sim/bucket.logs.json
hmac_resign upd.plan gonenull.plan "$GONE | (.changes[] | select(.address == \"bucket.logs\")) |= del(.before)"
expect_exit 0 moksha apply gonenull.plan
expect_contains "$OUT" "forgot   bucket.logs"
# the guard's reads are not the step's attempts: nothing was retried
expect_not_contains "$OUT" "retried"
audit | jq -s -c 'map(select(.event == "step" and .address == "compute.web")) | last | [.action, .attempts]' >attempts
[ "$(cat attempts)" = '["update",1]' ] || fail "a guarded update that was not retried: $(cat attempts)"

# ---- lifecycle.ignore_changes: not compared, and recorded in the state ----
fresh
expect_exit 0 moksha plan --var size=4 -o ignore.plan
sim_set compute.web '.attributes.image = "nginx:1.25"'
hmac_resign ignore.plan ignore2.plan '(.changes[] | select(.address == "compute.web")).lifecycle = {prevent_destroy: false, create_before_destroy: false, ignore_changes: ["image"], drift: "report"}'
expect_exit 0 moksha apply ignore2.plan && expect_contains "$OUT" "1 updated"
expect_exit 0 "$MOKSHA_EXEC" state show compute.web
[ "$(jq -c .lifecycle "$OUT")" = '{"prevent_destroy":false,"create_before_destroy":false,"ignore_changes":["image"],"drift":"report"}' ] ||
    fail "the state does not record the change's lifecycle: $(jq -c .lifecycle "$OUT")"

# ---- an attribute the plan does not touch counts too; a deleted object
# is named as such ----
fresh
cp main.moksha main.keep
sed -i 's/^resource bucket logs.*//' main.moksha
expect_exit 0 moksha plan --var size=4 -o two.plan
sim_set compute.web '.attributes.image = "nginx:1.25"'
rm .moksha/sim/bucket.logs.json
expect_exit 6 moksha apply two.plan
expect_contains "$ERR" 'compute.web: image "nginx:1.27" → "nginx:1.25"'
expect_contains "$ERR" "bucket.logs: deleted outside moksha"

# ---- a delete the plan says is gone is only forgotten ----
hmac_resign two.plan gone.plan "$GONE | (.changes[] | select(.address == \"compute.web\")) |= (.before.image = \"nginx:1.25\")"
expect_exit 0 "$MOKSHA_EXEC" verify gone.plan
expect_exit 0 moksha apply gone.plan
expect_contains "$OUT" "forgot   bucket.logs"
expect_exit 1 "$MOKSHA_EXEC" state show bucket.logs
audit | jq -c 'select(.event == "step" and .address == "bucket.logs")' >step.json
expect_contains step.json '"drift":"gone"'
[ "$(jq -r .attributes.cpu .moksha/sim/compute.web.json)" = 4 ] || fail "compute.web was not updated"

# gone, but there again by the apply: refused
mv main.keep main.moksha
fresh
sed -i 's/^resource bucket logs.*//' main.moksha
expect_exit 0 moksha plan -o del.plan
hmac_resign del.plan gone2.plan "$GONE"
expect_exit 6 moksha apply gone2.plan
expect_contains "$ERR" "bucket.logs: planned as gone, and it exists"

# the undo of a forgotten delete puts the entry back
rm .moksha/sim/bucket.logs.json
"$MOKSHA_EXEC" state show bucket.logs >entry.before
sed -i 's/provider sim { latency = 20ms }/provider sim { latency = 20ms, fail_on = ["compute.web"] }/' main.moksha
expect_exit 0 moksha plan --var size=5 -o fails.plan
hmac_resign fails.plan gone3.plan "$GONE | (.changes[] | select(.address == \"compute.web\")).depends_on = [.changes | to_entries[] | select(.value.address == \"bucket.logs\") | .key + 1]"
expect_exit 4 moksha apply gone3.plan
expect_contains "$OUT" "put back"
"$MOKSHA_EXEC" state show bucket.logs >entry.after
expect_same entry.before entry.after
sed -i 's/, fail_on = \["compute.web"\]//' main.moksha
printf 'resource bucket logs { encrypted = true }\n' >> main.moksha

# ---- changed during the run: that step fails, the run rolls back ----
sed -i 's/latency = 20ms/latency = 700ms/' main.moksha
cat >> main.moksha <<'M'
resource compute late {
  cpu        = var.size
  memory     = 4GiB
  image      = "nginx:1.27"
  depends_on = [compute.web]
}
M
fresh
expect_exit 0 moksha plan --var size=3 -o during.plan
# the run has started when a new apply.start is in the log (the fresh
# apply above wrote one already): only then is the object changed
starts=$(grep -c '"apply.start"' .moksha/audit.jsonl)
moksha apply during.plan >during.out 2>during.err &
pid=$!
i=0
until [ "$(grep -c '"apply.start"' .moksha/audit.jsonl)" -gt "$starts" ] || [ $i -ge 400 ]; do sleep 0.05; i=$((i + 1)); done
sim_set compute.late '.attributes.image = "changed-by-hand:1"'
wait $pid
rc=$?
[ $rc -eq 4 ] || { fail "a step whose object changed during the run: exit $rc, expected 4"; cat during.err; }
expect_contains during.err "compute.late changed during the apply: image; not overwritten"
expect_contains during.out "Rolled back 1 step"
expect_contains .moksha/sim/compute.late.json '"changed-by-hand:1"'
[ "$(jq -r '.resources[] | select(.address == "compute.web") | .attributes.cpu' .moksha/state.json)" = 2 ] ||
    fail "compute.web was not rolled back in the state"
[ "$(jq -r .attributes.cpu .moksha/sim/compute.web.json)" = 2 ] || fail "compute.web was not rolled back in the world"

# ---- state mv: the object moved, its entry re-keyed, audited ----
cd "$WORK" && mkdir mv && cd mv
cat > main.moksha <<'M'
provider sim { latency = 1ms }
resource compute old { cpu = 1, memory = 1GiB, image = "app:1" }
resource bucket other {}
M
expect_exit 0 moksha apply --yes
id=$(jq -r .id .moksha/sim/compute.old.json)
expect_exit 1 "$MOKSHA_EXEC" state mv compute.nope compute.new && expect_contains "$ERR" "the state has no resource \`compute.nope\`"
expect_exit 1 "$MOKSHA_EXEC" state mv compute.old bucket.other && expect_contains "$ERR" "the state has \`bucket.other\` already"
# TO must be an address the compiler could write, of the entry's type
cp .moksha/state.json state.keep
for bad in bucket.new compute.new. compute.9lives 'compute.new[01]' 'compute.new["k]' 'compute.new[*]' \
           'compute.new x' module.compute.new 'module.a[x].compute.new' compute; do
    expect_exit 1 "$MOKSHA_EXEC" state mv compute.old "$bad"
    expect_contains "$ERR" "\`$bad\` is not an address of a compute resource"
done
cmp -s .moksha/state.json state.keep || fail "a refused state mv changed the state"
[ -e .moksha/sim/compute.old.json ] || fail "a refused state mv moved the object"
expect_exit 0 "$MOKSHA_EXEC" state mv compute.old 'module.app["k\"1"].compute.n_2[3]'
expect_exit 0 "$MOKSHA_EXEC" state mv 'module.app["k\"1"].compute.n_2[3]' compute.old
expect_exit 0 "$MOKSHA_EXEC" state mv compute.old compute.new && expect_contains "$OUT" "Moved compute.old to compute.new"
expect_exit 0 "$MOKSHA_EXEC" state show compute.new
[ "$(jq -r .attributes.id "$OUT")" = "$id" ] || fail "state mv changed the id"
[ "$(jq -r .name "$OUT")" = new ] || fail "state mv did not rename the entry"
expect_exit 1 "$MOKSHA_EXEC" state show compute.old
[ "$(jq -r .id .moksha/sim/compute.new.json)" = "$id" ] || fail "the sim object did not move with its id"
[ ! -e .moksha/sim/compute.old.json ] || fail "the sim object is still at compute.old"
audit | jq -c 'select(.event == "state.mv")' >mv.json
expect_contains mv.json '"from":"compute.old","to":"compute.new"'
sed -i 's/resource compute old/resource compute new/' main.moksha
expect_exit 0 moksha plan --detailed-exitcode
# refused in trust mode: it would change the world without a signed plan
openssl genpkey -algorithm ed25519 -out root.key 2>/dev/null
root="ed25519:$(openssl pkey -in root.key -pubout -outform DER | tail -c 32 | base64 -w0)"
printf '{"format": "moksha.exec-config/v1", "trust": {"file": "%s/trust.json", "keys": "%s/keys", "roots": {"threshold": 1, "keys": ["%s"]}}}\n' \
    "$WORK" "$WORK" "$root" >"$WORK/exec.json"
expect_exit 1 env -u MOKSHA_KEY MOKSHA_EXEC_CONFIG="$WORK/exec.json" "$MOKSHA_EXEC" state mv compute.new compute.back
expect_contains "$ERR" "in trust mode \`state mv\` is refused"
expect_exit 0 "$MOKSHA_EXEC" state show compute.new

# ---- import: read by id, taken over, updated to the spec, recorded ----
cd "$WORK" && mkdir imp && cd imp
cat > main.moksha <<'M'
provider sim { latency = 1ms, fail_on = ["queue.late"] }
resource compute legacy { cpu = 2, memory = 4GiB, image = "app:2" }
M
expect_exit 0 moksha apply --yes
rm -rf .moksha/sim/* && "$MOKSHA_EXEC" state rm compute.legacy >/dev/null
expect_exit 0 "$MOKSHA_EXEC" sim put compute.legacy compute cpu=1 'memory="4GiB"' 'image="app:1"'
legacy=$(tr -d '\n' <"$OUT")
expect_exit 0 moksha plan -o create.plan
hmac_resign create.plan import.plan "(.changes[] | select(.address == \"compute.legacy\")) += {action: \"import\", import: {id: \"$legacy\"}, risk: \"high\"} | .totals.create = 0 | .totals.import = 1"
expect_exit 0 moksha apply import.plan && expect_contains "$OUT" "imported compute.legacy"
expect_exit 0 "$MOKSHA_EXEC" state show compute.legacy
[ "$(jq -r .attributes.id "$OUT")" = "$legacy" ] || fail "the import did not record the object's id"
[ "$(jq -r .attributes.cpu .moksha/sim/compute.legacy.json)" = 2 ] || fail "the import did not update the object to the spec"
expect_exit 0 moksha plan --detailed-exitcode

# an import of an address the state holds, or of an object it manages as
# another address, is refused before the first step: nothing changed
serial=$(jq .serial .moksha/state.json)
cp .moksha/state.json state.keep
hmac_resign import.plan again.plan ".state.serial = $serial"
expect_exit 6 moksha apply again.plan
expect_contains "$ERR" "compute.legacy: the state already holds this address; not imported"
hmac_resign import.plan twice.plan ".state.serial = $serial | (.changes[] | select(.address == \"compute.legacy\")).address = \"compute.twin\""
expect_exit 6 moksha apply twice.plan
expect_contains "$ERR" "compute.twin: the object $legacy is already managed as compute.legacy; not imported"
cmp -s .moksha/state.json state.keep || fail "a refused import changed the state"
[ "$(audit | jq -c 'select(.event == "apply.refused") | [.reason, .addresses]' | tail -1)" = '["import taken",["compute.twin"]]' ] ||
    fail "the refused import is not audited: $(audit | tail -3)"

# its undo updates the object back and forgets it, never deletes it
"$MOKSHA_EXEC" state rm compute.legacy >/dev/null
sim_set compute.legacy '.attributes.cpu = 1'
printf 'resource queue late { depends_on = [compute.legacy] }\n' >>main.moksha
expect_exit 0 moksha plan -o create2.plan
hmac_resign create2.plan import2.plan "(.changes[] | select(.address == \"compute.legacy\")) += {action: \"import\", import: {id: \"$legacy\"}, risk: \"high\"}"
expect_exit 4 moksha apply import2.plan
expect_contains "$OUT" "forget"
expect_file .moksha/sim/compute.legacy.json
[ "$(jq -r .attributes.cpu .moksha/sim/compute.legacy.json)" = 1 ] || fail "the undo of an import did not update it back"
expect_exit 1 "$MOKSHA_EXEC" state show compute.legacy

# ---- an import's read shows its secrets as unknown, never in plaintext ----
cd "$WORK" && mkdir impsecret && cd impsecret
cat > main.moksha <<'M'
var pw: secret
provider sim { latency = 1ms }
resource database hand { engine = "postgres", version = "16", cpu = 2, memory = 8GiB, storage = 20GiB, password = var.pw }
M
mkdir -p .moksha/sim
expect_exit 0 "$MOKSHA_EXEC" sim put database.hand database 'engine="postgres"' 'password="HAND-PLAINTEXT-PW"'
hand=$(tr -d '\n' <"$OUT")
expect_exit 0 moksha plan --var pw=planned-secret-value-1 -o create.plan
hmac_resign create.plan imp.plan "(.changes[] | select(.address == \"database.hand\")) += {action: \"import\", import: {id: \"$hand\"}, risk: \"high\"} | .totals.create = 0 | .totals.import = 1"
expect_exit 0 "$MOKSHA_EXEC" refresh --dry-run --format json imp.plan
expect_not_contains "$OUT" "HAND-PLAINTEXT-PW"
[ "$(jq -c '.imports[0].observation.attributes.password' "$OUT")" = '{"$secret":{"unknown":true}}' ] ||
    fail "the dry run's import password: $(jq -c '.imports' "$OUT")"
expect_exit 0 "$MOKSHA_EXEC" refresh imp.plan
expect_not_contains "$OUT" "HAND-PLAINTEXT-PW"
grep -q HAND-PLAINTEXT-PW .moksha/observed.json && fail "observed.json holds the imported plaintext: $(cat .moksha/observed.json)"
[ "$(jq -c '.imports["database.hand"] | [.status, .attributes.password, .attributes.engine]' .moksha/observed.json)" = '["present",{"$secret":{"unknown":true}},"postgres"]' ] ||
    fail "observed import: $(jq -c .imports .moksha/observed.json)"

# ---- a create planned because the object is gone must find it absent ----
cd "$WORK" && mkdir gonecreate && cd gonecreate
cat > main.moksha <<'M'
provider sim { latency = 1ms }
resource bucket logs {}
M
expect_exit 0 moksha apply --yes
logs=$(jq -r .id .moksha/sim/bucket.logs.json)
"$MOKSHA_EXEC" state rm bucket.logs >/dev/null
expect_exit 0 moksha plan -o create.plan
hmac_resign create.plan recreate.plan '(.changes[] | select(.address == "bucket.logs")) += {drift: {status: "gone", attributes: []}}'
cp .moksha/state.json state.keep
expect_exit 6 moksha apply recreate.plan
expect_contains "$ERR" "bucket.logs: planned as gone, and it exists"
cmp -s .moksha/state.json state.keep || fail "a refused create changed the state"
[ "$(jq -r .id .moksha/sim/bucket.logs.json)" = "$logs" ] || fail "the refused create touched the object"
rm .moksha/sim/bucket.logs.json
expect_exit 0 moksha apply recreate.plan && expect_contains "$OUT" "created"

# ---- move: the object renamed, its entry re-keyed; the undo moves it back ----
cd "$WORK" && mkdir move && cd move
cat > main.moksha <<'M'
provider sim { latency = 1ms, fail_on = ["queue.late"] }
resource database orders { engine = "postgres", version = "16", cpu = 2, memory = 8GiB, storage = 20GiB }
M
expect_exit 0 moksha apply --yes
db=$(jq -r .id .moksha/sim/database.orders.json)
"$MOKSHA_EXEC" state show database.orders | jq -c .attributes >before.json
sed -i 's/database orders/database main/' main.moksha
expect_exit 0 moksha plan -o rename.plan
MOVE='.changes |= map(select(.address != $from)) | (.changes[] | select(.address == $to)) |= (. + {action: "move", moved_from: $from, before: ($ENV.B | fromjson), after: ($ENV.B | fromjson), risk: "low"} | del(.after_unknown)) | .totals.delete = 0 | .totals.create = 0 | .totals.move = 1'
B=$(cat before.json) hmac_resign rename.plan move.plan "$MOVE" --arg from database.orders --arg to database.main
expect_exit 0 moksha apply move.plan && expect_contains "$OUT" "moved    database.main"
[ "$(jq -r .id .moksha/sim/database.main.json)" = "$db" ] || fail "the moved database is not the same object"
[ ! -e .moksha/sim/database.orders.json ] || fail "the database is still at its old address"
expect_exit 0 "$MOKSHA_EXEC" state show database.main
[ "$(jq -r .attributes.id "$OUT")" = "$db" ] || fail "the state does not record the moved database under its new address"
expect_exit 1 "$MOKSHA_EXEC" state show database.orders
expect_exit 0 moksha plan --detailed-exitcode

# the undo moves it back, and its entry with it
"$MOKSHA_EXEC" state show database.main | jq -c .attributes >before.json
sed -i 's/database main/database orders/' main.moksha
printf 'resource queue late { depends_on = [database.orders] }\n' >>main.moksha
expect_exit 0 moksha plan -o back.plan
B=$(cat before.json) hmac_resign back.plan moveback.plan "$MOVE" --arg from database.main --arg to database.orders
expect_exit 4 moksha apply moveback.plan
expect_contains "$OUT" "move back"
[ "$(jq -r .id .moksha/sim/database.main.json)" = "$db" ] || fail "the undo did not move the database back"
expect_exit 0 "$MOKSHA_EXEC" state show database.main
expect_exit 1 "$MOKSHA_EXEC" state show database.orders

# ---- a create over an object this stack did not make fails, naming it ----
cd "$WORK" && mkdir foreign && cd foreign
cat > main.moksha <<'M'
provider sim { latency = 1ms }
resource bucket data {}
M
mkdir -p .moksha/sim
expect_exit 0 "$MOKSHA_EXEC" sim put bucket.data bucket
other=$(tr -d '\n' <"$OUT")
expect_exit 4 moksha apply --yes
expect_contains "$ERR" "$other"
expect_contains "$ERR" "moksha import bucket.data $other"
[ "$(jq -r .id .moksha/sim/bucket.data.json)" = "$other" ] || fail "the create took over a foreign object"
