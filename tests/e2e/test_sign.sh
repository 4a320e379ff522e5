# test_sign.sh — the planner's side of trust (docs/trust.md): `moksha key
# new` writes a key pair with the right modes and never over one; a plan
# signed with a planner key carries the Ed25519 signature object, which the
# openssl command line verifies on its own over the message rebuilt here,
# and needs no project key; `moksha trust sign` by two roots makes an
# envelope with two valid signatures, and bad payloads are refused.
. "$TOP/tests/e2e/lib.sh"

mode() { stat -c %a "$1"; }
pub() { cut -d' ' -f1 "$1"; }

# ---- key new: modes, the default directory, names, never overwriting ----
expect_exit 0 moksha key new alice --dir keys && expect_match "$OUT" '^ed25519:[A-Za-z0-9+/]{43}= alice$'
expect_contains "$OUT" "keys/alice.key" && expect_contains "$OUT" "keys/alice.pub"
[ "$(mode keys/alice.key)" = 600 ] || fail "alice.key has mode $(mode keys/alice.key), not 600"
[ "$(mode keys/alice.pub)" = 644 ] || fail "alice.pub has mode $(mode keys/alice.pub), not 644"
[ "$(mode keys)" = 700 ] || fail "the key directory has mode $(mode keys), not 700"
expect_match keys/alice.pub '^ed25519:[A-Za-z0-9+/]{43}= alice$'
head -n 1 "$OUT" >first.out && expect_same first.out keys/alice.pub
grep -q 'BEGIN PRIVATE KEY' keys/alice.key || fail "alice.key is not a PEM private key"
# the .pub is the private key's public half, by openssl's own reading
[ "$(openssl pkey -in keys/alice.key -pubout -outform DER | tail -c 32 | base64)" = "$(pub keys/alice.pub | cut -c9-)" ] ||
    fail "alice.pub is not alice.key's public key"
cp keys/alice.key before.key
cp keys/alice.pub before.pub
expect_exit 1 moksha key new alice --dir keys && expect_contains "$ERR" "a key is never overwritten"
expect_same keys/alice.key before.key
rm keys/alice.pub
expect_exit 1 moksha key new alice --dir keys && expect_contains "$ERR" "alice.key exists"
expect_same keys/alice.key before.key
[ ! -e keys/alice.pub ] || fail "a refused key new wrote alice.pub"
cp before.pub keys/alice.pub
for bad in Alice -x _x a.b 'a/b' ''; do
    expect_exit 1 moksha key new "$bad" --dir keys
done
expect_exit 1 moksha key new "$(printf 'a%.0s' $(seq 65))" --dir keys && expect_contains "$ERR" "at most 64"
expect_exit 1 moksha key new Alice --dir keys && expect_contains "$ERR" "is not a key name"
expect_exit 1 moksha key new && expect_contains "$ERR" "needs a name"
expect_exit 1 moksha key old x && expect_contains "$ERR" "unknown key subcommand"
expect_exit 0 env HOME="$WORK/home" XDG_CONFIG_HOME= "$MOKSHA" key new ci --format json
expect_exit 0 jq -e '.name == "ci" and (.key | startswith("ed25519:")) and (.key_id | length == 16)' "$OUT"
[ "$(mode home/.config/moksha/keys/ci.key)" = 600 ] || fail "the default directory under HOME has no ci.key of mode 600"
[ "$(mode home/.config/moksha/keys)" = 700 ] || fail "~/.config/moksha/keys has mode $(mode home/.config/moksha/keys)"
expect_exit 0 env XDG_CONFIG_HOME="$WORK/xdg" "$MOKSHA" key new ci
expect_file xdg/moksha/keys/ci.key
expect_exit 0 moksha key --help && expect_contains "$OUT" "usage: moksha key new NAME"
for k in r1 r2 r3; do expect_exit 0 moksha key new $k --dir keys; done

# ---- a plan signed with a planner key ----
copy_example hello-local
enter hello-local
expect_exit 0 env MOKSHA_SIGNING_KEY="$WORK/keys/alice.key" "$MOKSHA" plan -o p.plan
[ ! -e .moksha/key ] || fail "a plan signed by a planner key made a project key"
expect_match .moksha/stack-id '^[0-9a-f]{32}$'
expect_exit 0 jq -e --arg k "$(pub "$WORK/keys/alice.pub")" \
    '.signature | keys_unsorted == ["algorithm","type","key","key_id","digest","value"] and .algorithm == "Ed25519"
     and .type == "plan" and .key == $k' p.plan
sed 's/.*,"signature":{"algorithm":"Ed25519","type":"plan","key":"[^"]*","key_id":"[0-9a-f]\{16\}","digest":"[0-9a-f]\{64\}","value":"[A-Za-z0-9+\/]\{86\}=="}}$/ok/' p.plan >form.out
[ "$(cat form.out)" = ok ] || fail "the plan does not end with the signature object of docs/trust.md"
# the key id: the first 16 hex digits of SHA-256 of the 32 raw bytes
KEYID=$(openssl pkey -in "$WORK/keys/alice.key" -pubout -outform DER | tail -c 32 | sha256sum | cut -c1-16)
[ "$(jq -r .signature.key_id p.plan)" = "$KEYID" ] || fail "key_id is not the first 16 hex of SHA-256 of the raw key"
# the digest: SHA-256 of the body (the file before ,"signature": and a closing brace)
BODY=$(sed 's/,"signature":{.*$/}/' p.plan | tr -d '\n' | sha256sum | cut -d' ' -f1)
[ "$(jq -r .signature.digest p.plan)" = "$BODY" ] || fail "the signature's digest is not the body's SHA-256"
# the message, rebuilt: "moksha-signature/v1" 0 "plan" 0 statement
printf 'moksha-signature/v1\000plan\000{"format":"moksha.plan/v1","digest":"%s","stack_id":"%s","lineage":"%s","serial":%s}' \
    "$BODY" "$(jq -r .state.stack_id p.plan)" "$(jq -r .state.lineage p.plan)" "$(jq -r .state.serial p.plan)" >msg
jq -r .signature.value p.plan | base64 -d >sig
openssl pkey -in "$WORK/keys/alice.key" -pubout -out alice.pem
expect_exit 0 openssl pkeyutl -verify -rawin -pubin -inkey alice.pem -in msg -sigfile sig &&
    expect_contains "$OUT" "Signature Verified Successfully"
# the same signature is no other type's
sed 's/signature\/v1\x00plan\x00/signature\/v1\x00trust\x00/' msg >msg.trust
cmp -s msg msg.trust && fail "the message was not changed to type trust"
expect_exit 1 openssl pkeyutl -verify -rawin -pubin -inkey alice.pem -in msg.trust -sigfile sig
# show needs no project key, and says who signed, not that they may
expect_exit 0 moksha show p.plan && expect_contains "$OUT" "Signed by key $KEYID (Ed25519"
expect_contains "$OUT" "whether this key may sign plans is the executor's to decide"
expect_match "$OUT" "^Plan: [0-9]+ to create"
expect_exit 0 moksha show --format json p.plan && expect_same "$OUT" p.plan
sed 's/"serial":0/"serial":1/' p.plan >altered.plan
expect_exit 1 moksha show altered.plan && expect_contains "$ERR" "the plan was altered after it was signed"
sed 's/"type":"plan"/"type":"trust"/' p.plan >typed.plan
expect_exit 1 moksha show typed.plan && expect_contains "$ERR" "not a plan's"
# --signing-key, the same key by the option
expect_exit 0 moksha plan --signing-key "$WORK/keys/alice.key" -o q.plan
expect_exit 0 jq -e --arg id "$KEYID" '.signature.key_id == $id' q.plan
expect_exit 0 env MOKSHA_SIGNING_KEY="$WORK/keys/alice.key" "$MOKSHA" plan --format json && expect_contains "$OUT" '"algorithm":"Ed25519"'
# a key others can read, a key of another kind, a missing key: refused, nothing signed
cp "$WORK/keys/alice.key" open.key && chmod 644 open.key
expect_exit 1 moksha plan --signing-key open.key -o r.plan && expect_contains "$ERR" "chmod 600"
openssl genpkey -algorithm X25519 -out x.key 2>/dev/null && chmod 600 x.key
expect_exit 1 moksha plan --signing-key x.key -o r.plan && expect_contains "$ERR" "is not an Ed25519 key"
expect_exit 1 env MOKSHA_SIGNING_KEY=missing.key "$MOKSHA" plan -o r.plan && expect_contains "$ERR" "missing.key"
[ ! -e r.plan ] || fail "a refused signing key signed a plan"
expect_exit 1 moksha apply p.plan --signing-key "$WORK/keys/alice.key" && expect_contains "$ERR" "saved plan"
# without a planner key: the project key, as before
expect_exit 0 moksha plan -o h.plan && expect_exit 0 jq -e '.signature.algorithm == "HMAC-SHA256"' h.plan
expect_match .moksha/key '^[0-9a-f]{64}$'
expect_exit 0 moksha show h.plan
leave

# ---- trust sign by two roots: one envelope, two valid signatures ----
cat >trust.json <<EOF
{
  "version": 3,
  "expires": "2099-06-01T00:00:00Z",
  "roots": {"threshold": 2, "keys": ["$(pub keys/r1.pub)", "$(pub keys/r2.pub)", "$(pub keys/r3.pub)"]},
  "planners": {"alice": "$(pub keys/alice.pub)"},
  "automation": {"reconciler": {"key": "$(pub home/.config/moksha/keys/ci.pub)", "boundary": {}}},
  "approvers": {"alice": "$(pub keys/alice.pub)"},
  "groups": {"sre": ["alice"]},
  "revoked": []
}
EOF
expect_exit 0 moksha trust show trust.json && expect_contains "$OUT" "not signed yet"
expect_exit 0 moksha trust sign trust.json --key keys/r1.key && expect_contains "$OUT" "1 signature; 2 of its roots must sign"
jq -r .payload trust.json >payload.1
expect_exit 1 moksha trust sign trust.json --key keys/r1.key && expect_contains "$ERR" "signed by this key"
expect_exit 0 moksha trust sign trust.json --key keys/r2.key && expect_contains "$OUT" "2 signatures"
jq -r .payload trust.json >payload.2
expect_same payload.1 payload.2
expect_exit 0 jq -e '.format == "moksha.trust/v1" and (.signatures | length == 2) and (.payload | fromjson | .version == 3)' trust.json
# each signature, by openssl: the message is "moksha-signature/v1" 0 "trust" 0 payload
printf 'moksha-signature/v1\000trust\000' >tmsg && jq -j .payload trust.json >>tmsg
for i in 0 1; do
    k=r$((i + 1))
    [ "$(jq -r ".signatures[$i].key" trust.json)" = "$(pub keys/$k.pub)" ] || fail "signature $i is not $k's"
    jq -r ".signatures[$i].value" trust.json | base64 -d >tsig
    openssl pkey -in keys/$k.key -pubout -out $k.pem
    expect_exit 0 openssl pkeyutl -verify -rawin -pubin -inkey $k.pem -in tmsg -sigfile tsig
done
expect_exit 0 moksha trust show trust.json && expect_contains "$OUT" "2 valid signatures of this file's roots, of 2 needed"
expect_match "$OUT" '^  1\. key [0-9a-f]{16}  ed25519:.*: valid$'
expect_contains "$OUT" "sre            alice"
expect_exit 0 moksha trust show --format json trust.json
expect_exit 0 jq -e '[.signatures[] | .valid and .root] == [true, true] and .version == 3 and .expired == false
    and .planners.alice.key_id != null' "$OUT"
# a changed payload: the signatures no longer hold, and no more are added to them
jq '.payload |= sub("\"version\":3"; "\"version\":4")' trust.json >changed.json
expect_exit 1 moksha trust sign changed.json --key keys/r3.key && expect_contains "$ERR" "does not verify"
expect_exit 0 moksha trust show changed.json && expect_contains "$OUT" "DOES NOT VERIFY"

# ---- bad payloads: refused, with the field named ----
R1=$(pub keys/r1.pub)
ROOTS="\"roots\": {\"threshold\": 1, \"keys\": [\"$R1\"]}"
refused() { # PAYLOAD EXPECTED-MESSAGE
    printf '%s\n' "$1" >bad.json
    cp bad.json bad.before
    expect_exit 1 moksha trust sign bad.json --key keys/r1.key && expect_contains "$ERR" "$2"
    expect_same bad.json bad.before
}
T='"version": 1, "expires": "2099-01-01T00:00:00Z"'
refused "{$T, $ROOTS, \"extra\": 1}" "a field \`extra\` a trust file does not have"
refused "{$T, $ROOTS, \"planners\": {\"Alice\": \"$R1\"}}" "\`Alice\` is not a name"
refused "{$T, $ROOTS, \"planners\": {\"bob\": \"ed25519:abc\"}}" "\`planners.bob\` is not an Ed25519 public key"
refused "{$T, \"roots\": {\"threshold\": 2, \"keys\": [\"$R1\"]}}" "\`roots.threshold\` is not a number from 1 to the 1 roots"
refused "{$T, \"roots\": {\"threshold\": 0, \"keys\": [\"$R1\"]}}" "\`roots.threshold\`"
refused "{\"version\": 1, \"expires\": \"2099-01-01 00:00:00\", $ROOTS}" "not a time in RFC 3339 UTC"
refused "{\"version\": 1, \"expires\": \"2020-01-01T00:00:00Z\", $ROOTS}" "is past"
refused "{$T, \"version\": 2, $ROOTS}" "a key appears twice in one object"
refused "{$T, $ROOTS, \"groups\": {\"sre\": [\"carol\"]}}" "(carol) is not an approver"
refused "{$T, $ROOTS, \"revoked\": [\"$R1\", \"$R1\"]}" "is listed twice"
refused "{$T, $ROOTS, \"planners\": {\"a\": \"$(pub keys/alice.pub)\"}, \"automation\": {\"b\": {\"key\": \"$(pub keys/alice.pub)\", \"boundary\": {}}}}" \
    "both a planner's and an automation identity's"
refused "{\"version\": 0, \"expires\": \"2099-01-01T00:00:00Z\", $ROOTS}" "\`version\` is not a whole number from 1"
refused "{\"format\": \"moksha.trust/v2\", \"payload\": \"{}\", \"signatures\": []}" "\`format\` is not \"moksha.trust/v1\""
refused "[]" "not a trust file"
expect_exit 1 moksha trust sign trust.json && expect_contains "$ERR" "--key ROOT.key"
expect_exit 1 moksha trust sign trust.json --key keys/alice.pub && expect_contains "$ERR" "alice.pub"

# ---- the whole loop: the executor takes the trust file trust sign made and
# the plan alice's key signed (and decides about keys moksha signs with) ----
expect_exit 0 "$MOKSHA_EXEC" key new --dir "$WORK/exec-keys"   # the executor's own keys (0700: seal.key, seal.pub, audit.key)
cat >exec.json <<EOF2
{"format": "moksha.exec-config/v1",
 "trust": {"file": "$WORK/trust.json", "keys": "$WORK/exec-keys",
           "roots": {"threshold": 2, "keys": ["$(pub keys/r1.pub)", "$(pub keys/r2.pub)", "$(pub keys/r3.pub)"]}}}
EOF2
mkdir loop && enter loop
cat >main.moksha <<'EOF2'
stack loop { env = "prod" }
provider sim { latency = 1ms }
resource bucket logs { encrypted = true }
EOF2
expect_exit 0 env MOKSHA_SIGNING_KEY="$WORK/keys/alice.key" "$MOKSHA" plan -o a.plan
expect_exit 0 env MOKSHA_EXEC_CONFIG="$WORK/exec.json" "$MOKSHA_EXEC" verify a.plan &&
    expect_contains "$OUT" "a.plan: signed by planner \`alice\` (key $KEYID), by the trust file $WORK/trust.json, version 3"
expect_exit 0 moksha plan --signing-key "$WORK/keys/r1.key" -o r1.plan   # moksha signs with any key it is given;
expect_exit 1 env MOKSHA_EXEC_CONFIG="$WORK/exec.json" "$MOKSHA_EXEC" verify r1.plan &&  # the executor decides
    expect_contains "$ERR" "wrong role"
expect_exit 0 moksha plan -o h.plan   # (the project key the executor keys its audit log with, docs/formats.md)
expect_exit 0 env MOKSHA_EXEC_CONFIG="$WORK/exec.json" "$MOKSHA" apply a.plan && expect_contains "$OUT" "created  bucket.logs"
leave
