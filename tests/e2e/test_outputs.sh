# test_outputs.sh — outputs across stacks (docs/language.md, "Reading another
# stack's outputs"): a network stack applied records its outputs in its state
# (an id known only after the apply recorded by one more); an app stack reads
# them, typed, through the executor, and its plan records which serial it read;
# a changed output in network is a change in app's next plan; a wrong type, a
# missing output and a secret are E0215; a stack the configuration does not
# place is refused.
. "$TOP/tests/e2e/lib.sh"

export MOKSHA_KEY=be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c
mkdir -p network app cfg
chmod 700 cfg
printf '{"format": "moksha.exec-config/v1", "state": {"local_stacks": {"network": "%s/network"}}}\n' "$WORK" > cfg/exec.json
chmod 600 cfg/exec.json
export MOKSHA_EXEC_CONFIG="$WORK/cfg/exec.json"

cat > network/main.moksha <<'M'
stack network { env = "prod" }
provider sim { }
var token: secret = sensitive("tok-network-77")
var cidr: string = "10.0.0.0/16"
resource network main { cidr = var.cidr }
output vpc_id = network.main.id
output cidr   = var.cidr
output zones  = ["a", "b"]
output token  = var.token
M
cat > app/main.moksha <<'M'
stack app { env = "prod" }
provider sim { }
outputs network {
  vpc_id: string
  cidr:   string
  zones:  list(string)
}
resource compute web {
  cpu    = 1
  memory = 1GiB
  image  = "nginx:1.27"
  tags   = { vpc = outputs.network.vpc_id, cidr = outputs.network.cidr, zones = join(",", outputs.network.zones) }
}
M

# ---- network: applied, its outputs recorded (vpc_id by the follow-up) ----
enter network
expect_exit 2 moksha plan --detailed-exitcode && expect_contains "$OUT" "Changes to outputs:"
expect_contains "$OUT" "+ vpc_id = (known after apply)"
expect_exit 0 moksha apply --yes && expect_contains "$OUT" "Recording the outputs known only after apply."
expect_match .moksha/state.json '"vpc_id": "vpc-[0-9a-f]+"'
expect_not_contains .moksha/state.json "tok-network-77"
expect_exit 0 moksha plan --detailed-exitcode && expect_contains "$OUT" "No changes"
SERIAL=$(sed -n 's/^ "serial": \([0-9]*\),$/\1/p' .moksha/state.json)
expect_exit 0 "$MOKSHA_EXEC" state outputs --stack network --format json
expect_match "$OUT" '"vpc_id":"vpc-[0-9a-f]+"'
expect_contains "$OUT" '"token":{"$secret":{"sensitive":true}}'
expect_contains "$OUT" "\"serial\":$SERIAL"
expect_not_contains "$OUT" '"sealed"'
leave

# ---- app: reads them, its plan says which serial ----
enter app
expect_exit 0 moksha check
expect_exit 0 moksha plan -o app.plan
expect_contains "$OUT" "Reads outputs of network at serial $SERIAL."
expect_match "$OUT" 'tags += \{ vpc = "vpc-[0-9a-f]+", cidr = "10.0.0.0/16", zones = "a,b" \}'
expect_match app.plan "\"reads\":\\[\\{\"stack\":\"network\",\"env\":null,\"lineage\":\"[0-9a-f-]+\",\"serial\":$SERIAL\\}\\]"
expect_exit 0 "$MOKSHA_EXEC" verify app.plan
expect_exit 0 moksha apply app.plan
expect_exit 0 moksha plan --detailed-exitcode && expect_contains "$OUT" "No changes"
leave

# ---- a changed output in network is a change in app ----
enter network
expect_exit 0 moksha apply --yes --var cidr=10.9.0.0/16   # a new cidr replaces the network: a new vpc_id too
NOW=$(sed -n 's/^ "serial": \([0-9]*\),$/\1/p' .moksha/state.json)
[ "$NOW" -gt "$SERIAL" ] || fail "network's serial did not move on: $SERIAL, then $NOW"
leave
enter app
expect_exit 2 moksha plan --detailed-exitcode
expect_contains "$OUT" "Reads outputs of network at serial $NOW."
expect_contains "$OUT" "~ compute.web"
expect_contains "$OUT" '"10.9.0.0/16"'
leave

# ---- a wrong type, a missing output, a secret: E0215 at the declaration ----
mkdir bad
cat > bad/main.moksha <<'M'
stack bad {}
outputs network {
  vpc_id: int
  cidrs:  string
  token:  string
}
let x = outputs.network
M
enter bad
expect_exit 1 moksha plan
expect_contains "$ERR" "main.moksha:3:11: error[E0215]: output \`vpc_id\` of stack \`network\` does not have the type declared: expected int, found string"
expect_contains "$ERR" "^^^ declared int here"
expect_contains "$ERR" "main.moksha:4:3: error[E0215]: stack \`network\` has no output \`cidrs\`"
expect_contains "$ERR" "did you mean \`cidr\`?"
expect_contains "$ERR" "main.moksha:5:3: error[E0215]: output \`token\` of stack \`network\` is sensitive: secrets never cross stacks"
expect_not_contains "$ERR" "tok-network-77"
expect_exit 0 moksha check   # no executor asked: the declared types alone
leave

# ---- a stack the configuration does not place ----
mkdir other
printf 'stack other {}\noutputs data { id: string }\nlet x = outputs.data.id\n' > other/main.moksha
enter other
expect_exit 1 moksha plan
expect_contains "$ERR" "stack \`data\` is not this directory's (other)"
expect_contains "$ERR" "add it to state.local_stacks"
expect_contains "$ERR" "main.moksha:2:1: error[E0215]: cannot read the outputs of stack \`data\`"
leave
