# test_state_revert.sh — `moksha state revert N` (docs/state.md, "History"):
# apply v1, apply v2, revert to v1's serial: an ordinary plan (priced,
# signed, saying which serial it reverts to, its secret the v1 state's own
# sealed copy, never the plaintext), and applying it makes the world v1
# again, at a new serial, with the audit log saying it was a revert. A
# revert that re-creates and one that deletes go through the stack's
# policies and gates as any plan; a serial the backend does not keep is
# refused, naming those it keeps. The local backend keeps the current
# serial and the one before, so each v2 here is one step (one serial).
. "$TOP/tests/e2e/lib.sh"

export MOKSHA_KEY=be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c
mkdir stack && enter stack || exit 1
spec() { # $1 the database's cpu, $2 its password, $3 more resources
    cat > main.moksha <<M
stack revert { env = "dev" }
provider sim { latency = 1ms }
var pw: secret = "$2"
resource network main { cidr = "10.0.0.0/16" }
resource database orders {
  engine   = "postgres"
  version  = "16"
  cpu      = $1
  memory   = 8GiB
  storage  = 100GiB
  password = var.pw
}
$3
M
}
serial() { jq .serial .moksha/state.json; }
world() { snapshot "$1.raw" && grep -v '"run":' "$1.raw" > "$1"; }

web='resource compute web {
  cpu = 2
  memory = 4GiB
  image = "debian-12"
  network = network.main
}'
spec 2 hunter2-v1 "$web"
expect_exit 0 moksha apply --yes
v1=$(serial)
world v1.world
sealed=$(jq -c '.resources[] | select(.address == "database.orders") | .attributes.password' .moksha/state.json)

# ---- v2: the database changed (one step: one serial) ----
sed -i 's/cpu      = 2/cpu      = 4/; s/hunter2-v1/hunter3-v2/' main.moksha
expect_exit 0 moksha apply --yes && expect_contains "$OUT" "1 updated"
[ "$(serial)" -eq $((v1 + 1)) ] || fail "v2 is not one serial after v1"

# ---- the revert: a plan, signed, saying so ----
expect_exit 2 moksha state revert "$v1" --detailed-exitcode -o revert.plan
expect_contains "$OUT" "Reverts the stack to state serial $v1: the desired resources are that serial's"
expect_contains "$OUT" "cpu      = 4 → 2"
expect_contains "$OUT" "password = (sensitive) → (sensitive)"
expect_contains "$OUT" "Plan: 0 to create, 1 to update, 0 to replace, 0 to delete."
expect_contains "$OUT" "Cost: "
expect_contains revert.plan "\"revert_to\":$v1,"
[ "$(jq -c '.changes[0].after.password' revert.plan)" = "$sealed" ] || fail "the revert's secret is not serial $v1's sealed copy"
expect_not_contains revert.plan "hunter2"
expect_exit 0 "$MOKSHA_EXEC" verify revert.plan
expect_exit 0 moksha show revert.plan && expect_contains "$OUT" "Reverts the stack to state serial $v1"

# ---- applied: the world is v1 again, at a new serial, audited ----
expect_exit 0 moksha apply revert.plan
world v1.after
expect_same v1.world v1.after
[ "$(serial)" -eq $((v1 + 2)) ] || fail "the revert did not write a new serial"
expect_match .moksha/audit.jsonl "\"event\":\"apply.start\",\"operation\":\"revert\".*\"revert_to\":$v1"
expect_match .moksha/audit.jsonl '"event":"lock",.*"operation":"revert"'

expect_exit 0 moksha audit verify
# the spec is still v2's: a plan of it puts v2 back
expect_exit 2 moksha plan --detailed-exitcode

# ---- a revert that creates again: the compute removed in one step ----
spec 2 hunter2-v1 ''
before=$(serial)
expect_exit 0 moksha apply --yes && expect_contains "$OUT" "1 deleted"
expect_exit 0 moksha state revert "$before" -o back.plan
expect_contains "$OUT" "Plan: 1 to create, 0 to update, 0 to replace, 0 to delete."
expect_contains "$OUT" "+ compute.web"
expect_exit 0 moksha apply back.plan && expect_contains "$OUT" "1 created"
expect_contains .moksha/state.json '"address": "compute.web"'

# ---- a revert that deletes, through the stack's gate ----
spec 2 hunter2-v1 "$web"'
resource bucket logs { }
policy "bucket-deletes" {
  description = "a bucket is deleted only with approval"
  enforcement = hard
  for c in changes where c.type == "bucket" && c.action == "delete" {
    require approval("ops") : "${c.address} will be deleted"
  }
}'
before=$(serial)
expect_exit 0 moksha apply --yes && expect_contains "$OUT" "1 created"
expect_exit 0 moksha state revert "$before" -o del.plan
expect_contains "$OUT" "Plan: 0 to create, 0 to update, 0 to replace, 1 to delete; 1 irreversible."
expect_contains "$OUT" "- bucket.logs"
expect_exit 3 moksha apply del.plan
expect_contains .moksha/state.json '"address": "bucket.logs"'
expect_exit 0 moksha apply del.plan --approve bucket-deletes
expect_not_contains .moksha/state.json '"address": "bucket.logs"'

# ---- what cannot be reverted to ----
expect_exit 1 moksha state revert 1
expect_contains "$ERR" "no serial 1 to revert to"
expect_exit 1 moksha state revert
expect_contains "$ERR" "revert needs the serial to go back to"
expect_exit 1 moksha state revert 0
expect_exit 0 moksha state revert --help && expect_contains "$OUT" "usage: moksha state revert N"
leave
