# test_seal.sh — secrets sealed to the executor's X25519 key (docs/trust.md,
# "Sealing secrets to the executor"): with MOKSHA_SEAL_TO, a plan holds no
# plaintext and names the executor's key by its id; a bad key is refused;
# against a state with a fingerprint_key, an unchanged secret is no change
# and a changed (or moved) one an update, by the fingerprint bound to its
# address and path (computed here apart, with openssl); a planner key's
# plan holding a secret needs MOKSHA_SEAL_TO (E0305). Without it nothing
# changes: the project key seals. Last, the whole way in trust mode: the
# executor opens what the planner sealed to it and applies it.
. "$TOP/tests/e2e/lib.sh"

export MOKSHA_KEY=3f1c0be2a9d84e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f
SECRET=hunter2-plaintext-77
export MOKSHA_VAR_pw="$SECRET"

# ---- the executor's key pair, made as `moksha-exec key new` would ----
openssl genpkey -algorithm x25519 -out seal.key 2>/dev/null || fail "openssl cannot make an X25519 key"
RAW=$(openssl pkey -in seal.key -pubout -outform DER | tail -c 32 | base64)
PUB="x25519:$RAW"
ID=$(openssl pkey -in seal.key -pubout -outform DER | tail -c 32 | openssl dgst -sha256 | sed 's/.*= //' | cut -c1-16)
printf '%s executor\n' "$PUB" > seal.pub

mkdir -p s
cat > s/main.moksha <<'SPEC'
stack sealed {}
var pw: secret
provider local { root = ".moksha/out" }
resource local.file id {
  path    = "id.txt"
  content = var.pw
}
resource local.file conn {
  path    = "conn.txt"
  content = "${var.pw}@${local.file.id.id}"
}
output pw_out = var.pw
SPEC
enter s

# ---- sealed to the executor: no plaintext, "to" its key's id, no state: no fingerprint ----
expect_exit 0 env MOKSHA_SEAL_TO="$WORK/seal.pub" "$MOKSHA" plan -o p.plan
expect_not_contains p.plan "$SECRET"
expect_contains p.plan '"content":{"$secret":{"to":"'"$ID"'","sealed":"'
expect_contains p.plan '"$template":[{"$secret":{"to":"'"$ID"'","sealed":"'
expect_not_contains p.plan '"fingerprint"'
expect_contains p.plan '"outputs":{"pw_out":{"$secret":{"to":"'"$ID"'","sealed":"'
[ "$(grep -o '"to":"'"$ID"'"' p.plan | wc -l)" -eq 3 ] || fail "p.plan: not three secrets sealed to $ID"
expect_exit 0 moksha show p.plan
expect_contains "$OUT" 'content = (sensitive)'
expect_not_contains "$OUT" "$SECRET"
# the key text works as well as the file, and the text shows (sensitive)
expect_exit 0 env MOKSHA_SEAL_TO="$PUB" "$MOKSHA" plan
expect_contains "$OUT" 'content = (sensitive)'
expect_exit 0 env MOKSHA_SEAL_TO="$PUB" "$MOKSHA" plan --format json
expect_not_contains "$OUT" "$SECRET"
expect_contains "$OUT" '"to":"'"$ID"'"'

# ---- a key that is none is refused before any plan ----
expect_exit 1 env MOKSHA_SEAL_TO="$WORK/missing.pub" "$MOKSHA" plan -o q.plan
expect_contains "$ERR" "error[E0302]: MOKSHA_SEAL_TO: cannot read $WORK/missing.pub"
expect_exit 1 env MOKSHA_SEAL_TO="ed25519:$RAW" "$MOKSHA" plan -o q.plan
expect_contains "$ERR" "is not an X25519 public key"
expect_exit 1 env MOKSHA_SEAL_TO="x25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" "$MOKSHA" plan -o q.plan
expect_contains "$ERR" "is not a key a secret can be sealed to"
[ ! -e q.plan ] || fail "a bad MOKSHA_SEAL_TO wrote a plan"

# ---- against a state with a fingerprint_key: compared by the bound fingerprint ----
FK=$(openssl rand -hex 32)
fp() { # fp ADDRESS PATH TEXT: docs/trust.md's fingerprint under FK
    printf 'moksha-fingerprint/v1\0%s\0%s\0%s' "$1" "$2" "$3" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$FK" | sed 's/.*= //'
}
state() { # state FP_ID FP_CONN: both resources applied, their secrets with these fingerprints, the output recorded
    mkdir -p .moksha
    cat > .moksha/state.json <<STATE
{"format": "moksha.state/v1", "lineage": "l-1", "serial": 2, "fingerprint_key": "$FK",
 "outputs": {"pw_out": {"\$secret": {"to": "$ID", "sealed": "AAAA", "fingerprint": "$(fp outputs '["pw_out"]' "$SECRET")"}}}, "resources": [
{"address": "local.file.id", "type": "local.file", "name": "id", "provider": "local", "placement": null,
 "attributes": {"path": "id.txt", "content": {"\$secret": {"to": "$ID", "sealed": "AAAA", "fingerprint": "$1"}},
  "mode": "0644", "special_bits": null, "id": "id.txt", "sha256": "00"},
 "sensitive": ["content"], "depends_on": [], "lifecycle": {"prevent_destroy": false, "create_before_destroy": false}},
{"address": "local.file.conn", "type": "local.file", "name": "conn", "provider": "local", "placement": null,
 "attributes": {"path": "conn.txt", "content": {"\$secret": {"to": "$ID", "sealed": "AAAA", "fingerprint": "$2"}},
  "mode": "0644", "special_bits": null, "id": "conn.txt", "sha256": "00"},
 "sensitive": ["content"], "depends_on": ["local.file.id"], "lifecycle": {"prevent_destroy": false, "create_before_destroy": false}}
]}
STATE
}
state "$(fp local.file.id '["content"]' "$SECRET")" "$(fp local.file.conn '["content"]' "$SECRET@id.txt")"
export MOKSHA_SEAL_TO="$WORK/seal.pub"
expect_exit 0 moksha plan
expect_contains "$OUT" "No changes"
expect_exit 0 moksha plan -o same.plan
expect_not_contains same.plan "$FK"
# a changed secret: both resources that hold it are updates, fingerprinted where they stand
expect_exit 0 env MOKSHA_VAR_pw=another-secret-88 "$MOKSHA" plan -o changed.plan
expect_contains "$OUT" "Plan: 0 to create, 2 to update"
expect_match "$OUT" '^ *~ local\.file\.id'
expect_contains "$OUT" 'content = (sensitive) → (sensitive)'
expect_contains changed.plan '"fingerprint":"'"$(fp local.file.id '["content"]' another-secret-88)"'"'
expect_contains changed.plan '"fingerprint":"'"$(fp local.file.conn '["content"]' another-secret-88@id.txt)"'"'
expect_not_contains changed.plan "another-secret-88"
expect_not_contains changed.plan "$FK"
# the same secret fingerprinted for another resource, or under the project key: an update
state "$(fp local.file.conn '["content"]' "$SECRET")" "$(fp local.file.conn '["content"]' "$SECRET@id.txt")"
expect_exit 0 moksha plan
expect_contains "$OUT" "Plan: 0 to create, 1 to update"
expect_match "$OUT" '^ *~ local\.file\.id'
# a fingerprint_key that is none: the state is damaged
sed -i 's/"fingerprint_key": "[0-9a-f]*"/"fingerprint_key": "short"/' .moksha/state.json
expect_exit 1 moksha plan
expect_contains "$ERR" "error[E0300]"
expect_contains "$ERR" "fingerprint_key"
unset MOKSHA_SEAL_TO
rm -rf .moksha

# ---- a planner key: its secrets need somewhere to seal (E0305); with
# MOKSHA_SEAL_TO they are sealed there and no project key is made ----
unset MOKSHA_KEY
expect_exit 0 moksha key new alice --dir "$WORK/keys"
expect_exit 1 env MOKSHA_SIGNING_KEY="$WORK/keys/alice.key" "$MOKSHA" plan -o k.plan
expect_contains "$ERR" "error[E0305]: the plan holds secrets (local.file.id.content) and is signed with a planner key, but has no executor key to seal them to"
expect_contains "$ERR" "set MOKSHA_SEAL_TO to the executor's public key (moksha-exec key show)"
[ ! -e k.plan ] || fail "a planner key's plan was written with nowhere to seal its secrets"
expect_exit 0 env MOKSHA_SIGNING_KEY="$WORK/keys/alice.key" MOKSHA_SEAL_TO="$WORK/seal.pub" "$MOKSHA" plan -o k.plan
expect_contains k.plan '"algorithm":"Ed25519"'
expect_contains k.plan '"content":{"$secret":{"to":"'"$ID"'","sealed":"'
expect_not_contains k.plan "$SECRET"
[ ! -e .moksha/key ] || fail "a planner key sealing to the executor made a project key"
export MOKSHA_KEY=3f1c0be2a9d84e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f
rm -rf .moksha

# ---- without MOKSHA_SEAL_TO: the project key seals, as it always did ----
expect_exit 0 moksha plan -o z.plan
expect_contains z.plan '"content":{"$secret":{"fingerprint":"'
expect_not_contains z.plan '"to":'
expect_not_contains z.plan "$SECRET"
expect_exit 0 "$MOKSHA_EXEC" verify z.plan
leave

# ---- the whole way in trust mode: a planner key signs, secrets sealed to the
# executor's own key (moksha-exec key new), which opens each where it stands
# (a template's part too), writes its fingerprint_key, and the next plan
# compares by it: no changes, then a changed secret is two updates ----
enter s
rm -rf .moksha
unset MOKSHA_KEY
export XDG_CONFIG_HOME="$WORK/xdg"
mkdir -p "$XDG_CONFIG_HOME/moksha"
expect_exit 0 moksha key new root --dir "$WORK/keys"
pubof() { cut -d' ' -f1 "$1"; }
printf '{"version": 1, "expires": "2099-06-01T00:00:00Z", "roots": {"threshold": 1, "keys": ["%s"]}, "planners": {"alice": "%s"}}\n' \
    "$(pubof "$WORK/keys/root.pub")" "$(pubof "$WORK/keys/alice.pub")" > "$WORK/trust.json"
expect_exit 0 moksha trust sign "$WORK/trust.json" --key "$WORK/keys/root.key"
printf '{"format": "moksha.exec-config/v1", "trust": {"file": "%s/trust.json", "keys": "%s/ek", "roots": {"threshold": 1, "keys": ["%s"]}}}\n' \
    "$WORK" "$WORK" "$(pubof "$WORK/keys/root.pub")" > "$XDG_CONFIG_HOME/moksha/exec.json"
expect_exit 0 "$MOKSHA_EXEC" key new
export MOKSHA_SIGNING_KEY="$WORK/keys/alice.key" MOKSHA_SEAL_TO="$WORK/ek/seal.pub"
expect_exit 0 moksha plan -o t.plan
expect_exit 0 "$MOKSHA_EXEC" apply t.plan
[ "$(cat .moksha/out/id.txt)" = "$SECRET" ] || fail "id.txt is not the secret: $(cat .moksha/out/id.txt)"
[ "$(cat .moksha/out/conn.txt)" = "$SECRET@id.txt" ] || fail "conn.txt is not the joined secret: $(cat .moksha/out/conn.txt)"
expect_match .moksha/state.json '"fingerprint_key": *"[0-9a-f]{64}"'
expect_not_contains .moksha/state.json "$SECRET"
expect_exit 0 moksha plan
expect_contains "$OUT" "No changes"
expect_exit 0 env MOKSHA_VAR_pw=another-secret-88 "$MOKSHA" plan
expect_contains "$OUT" "Plan: 0 to create, 2 to update"
leave
