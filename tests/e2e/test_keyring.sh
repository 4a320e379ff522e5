# test_keyring.sh — the executor's own keys in trust mode (docs/trust.md,
# "Keys"): `key new` makes the key directory and its files with their modes
# and never writes over them, `key show` gives the seal key and its id, a key
# others can read is refused, and `key rotate` re-seals every secret of the
# state to a new seal key for the same resource and attribute, fingerprints
# unchanged, the old key kept; a secret moved to another attribute stops it
# with nothing written; a staged rotation that never reached the state is
# dropped and done again, and one that did is finished.
. "$TOP/tests/e2e/lib.sh"

unset MOKSHA_KEY
export XDG_CONFIG_HOME="$WORK/xdg"
mkdir -p xdg/moksha
ROOT=ed25519:Q2hhbmdlIG1lOiB0aGlzIGlzIDMyIGJ5dGVzIGxvbmc=
config() { # config KEYDIR: the executor's configuration, in trust mode
    printf '{"format": "moksha.exec-config/v1", "trust": {"file": "%s/trust.json", "keys": "%s", "roots": {"threshold": 1, "keys": ["%s"]}}}\n' \
        "$WORK" "$1" "$ROOT" > "$XDG_CONFIG_HOME/moksha/exec.json"
}
mode() { stat -c %a "$1"; }
K=$WORK/keys
mkdir -p stack/.moksha keys
enter stack # (the configuration must be outside the stack the executor runs in)

# ---- key new: the directory (0700), seal.key and audit.key (0600), seal.pub ----
config "$K/exec"
expect_exit 0 "$MOKSHA_EXEC" key new && expect_contains "$OUT" "seal.key audit.key seal.pub"
[ "$(mode "$K/exec")" = 700 ] || fail "the key directory is mode $(mode "$K/exec"), not 700"
[ "$(mode "$K/exec/seal.key")" = 600 ] || fail "seal.key is mode $(mode "$K/exec/seal.key")"
[ "$(mode "$K/exec/audit.key")" = 600 ] || fail "audit.key is mode $(mode "$K/exec/audit.key")"
expect_contains "$K/exec/seal.key" "-----BEGIN PRIVATE KEY-----"
expect_match "$K/exec/audit.key" '^[0-9a-f]{64}$'
expect_match "$K/exec/seal.pub" '^x25519:[A-Za-z0-9+/]{43}= executor$'
cp "$K/exec/seal.key" seal.before
expect_exit 1 "$MOKSHA_EXEC" key new && expect_contains "$ERR" "holds the executor's keys already"
expect_same "$K/exec/seal.key" seal.before
# ---- key show: the seal.pub line, and the id is SHA-256 of the raw key ----
expect_exit 0 "$MOKSHA_EXEC" key show
head -n 1 "$OUT" > shown.pub
expect_same shown.pub "$K/exec/seal.pub"
key=$(cut -d' ' -f1 "$K/exec/seal.pub")
id=$(printf '%s' "${key#x25519:}" | base64 -d | sha256sum | cut -c1-16)
expect_contains "$OUT" "id: $id"
expect_exit 0 "$MOKSHA_EXEC" key show --format json
[ "$(jq -r .key "$OUT")" = "$key" ] && [ "$(jq -r .id "$OUT")" = "$id" ] || fail "key show --format json: $(cat "$OUT")"
# ---- a key others can read, or a directory others can write: refused ----
chmod 644 "$K/exec/seal.key"
expect_exit 1 "$MOKSHA_EXEC" key show && expect_contains "$ERR" "seal.key can be read or written by others (mode 0644)"
chmod 600 "$K/exec/seal.key"
chmod 770 "$K/exec"
expect_exit 1 "$MOKSHA_EXEC" key show && expect_contains "$ERR" "that no one else can write"
chmod 700 "$K/exec"
# ---- MOKSHA_KEY in trust mode: refused ----
MOKSHA_KEY=dd1825558331a27d1d57d11f39ba9c769ead4c8c9e8b526e8da652adbbb82a27 expect_exit 1 "$MOKSHA_EXEC" key rotate
expect_contains "$ERR" "trust mode"

# ---- key rotate: a state whose secrets were sealed to a known key ----
# The key is the X25519 key of the bytes 0x40..0x5f (id 67ca2ffd6fe9efab); the
# secrets were sealed to it, each for its address and path, and fingerprinted
# with the state's fingerprint_key, by an independent implementation of
# docs/trust.md (tests/unit/test_keyring.c says how).
mkdir -m 700 "$K/fixed"
printf '%s\n' '-----BEGIN PRIVATE KEY-----' 'MC4CAQAwBQYDK2VuBCIEIEBBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5f' \
    '-----END PRIVATE KEY-----' > "$K/fixed/seal.key"
printf 'x25519:eaYx7t4b+cmPEgMs3q3Q56B5OY/HhriMyEbsia+FpRo= executor\n' > "$K/fixed/seal.pub"
printf '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n' > "$K/fixed/audit.key"
chmod 600 "$K/fixed/seal.key" "$K/fixed/audit.key"
config "$K/fixed"
cat > secrets.json <<'EOF2'
{"db": {"$secret": {"to": "67ca2ffd6fe9efab", "sealed": "8XeYSWYRdD3P1J9+hzrPJq2Ly0PCjWIXTtqdFCnNRzdkV6o3isy/fDCJt7TxcE8Vt+76uYn7cAtEz9NHafUrGhlmCw==", "fingerprint": "06bbf8f41f8a38300393b4993ae7dcf0b3548f3ba878d1b02598685fbbd2ab88"}},
 "env": {"$secret": {"to": "67ca2ffd6fe9efab", "sealed": "7bJ9u3yAidH50CUqNbZauTu5gdpoCWtmLRJYDkxGJk2jvbLWQHOBMlR1PFBiVFhb6zauY1yCUYgQWngv1PVPSd8S", "fingerprint": "cf14e11c23d4f4114f5a2b41b7d65b994a74bf62a972e837924af322f11b7cfc"}},
 "user": {"$secret": {"to": "67ca2ffd6fe9efab", "sealed": "1UKv9wqrtOs8PQMq6Q/HOMulssLhIDS87FUfPAyt52CP1wrysua+LE2VMDWqR791qCqHMZ4VGXoqSqsuKKPEKiO/Lg==", "fingerprint": "0b5fb48585cb6a42ca9566e471a481caae828d01828dec430ccb3903ff9b9828"}},
 "dep": {"$secret": {"to": "67ca2ffd6fe9efab", "sealed": "oYEZ+311EpZvrY9Qffr4nzqgfQLr5xTOq205ZcNW+UFr4BZ0j4N3Cm5M9WRCF1dBX4KC+XEwGxPoVmsBTJv5TqSg", "fingerprint": "331571768d18862c58d12284f1bbb5c53327e6c778b4d8df176837b5d3bb5249"}}}
EOF2
# an audit log and head written by the executor itself (a `state rm` that
# finds nothing still records its lock and unlock), then the state naming
# its last entry, as a state the executor wrote does
expect_exit 1 "$MOKSHA_EXEC" state rm nothing.here
last=$(tail -n 1 .moksha/audit.jsonl | tr -d '\n' | sha256sum | cut -c1-64)
jq -n --slurpfile s secrets.json --arg h "$last" '$s[0] as $s | {format: "moksha.state/v1", lineage: "lin-1", serial: 1,
  fingerprint_key: "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf", audit: {seq: 2, hash: $h},
  resources: [
    {address: "database.orders", type: "database", attributes: {engine: "postgres", password: $s.db}},
    {address: "app.web", type: "app", attributes: {env: {DB_PASSWORD: $s.env, PORT: "80"}, users: ["a", {pw: $s.user}]},
     deposed: [{id: "old-1", attributes: {password: $s.dep}}]}]}' > .moksha/state.json
expect_exit 0 "$MOKSHA_EXEC" audit verify
cp .moksha/state.json state.before
expect_exit 0 "$MOKSHA_EXEC" key rotate
expect_contains "$OUT" "Rotated the executor's seal key: 67ca2ffd6fe9efab → "
expect_contains "$OUT" "4 secrets re-sealed (state serial 2)"
new=$(cut -d' ' -f1 "$K/fixed/seal.pub")
nid=$(printf '%s' "${new#x25519:}" | base64 -d | sha256sum | cut -c1-16)
[ "$nid" != 67ca2ffd6fe9efab ] || fail "the seal key did not change"
expect_exit 0 "$MOKSHA_EXEC" key show && expect_contains "$OUT" "id: $nid"
expect_file "$K/fixed/seal.67ca2ffd6fe9efab.old"
[ "$(mode "$K/fixed/seal.67ca2ffd6fe9efab.old")" = 600 ] || fail "the old key's copy is not mode 600"
expect_contains "$K/fixed/seal.67ca2ffd6fe9efab.old" "MC4CAQAwBQYDK2VuBCIEIEBBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5f"
[ ! -e "$K/fixed/seal.next" ] || fail "seal.next was left behind"
# every secret now to the new key, sealed again, its fingerprint the same
secrets() { jq -c '[.. | objects | select(has("$secret")) | ."$secret"]' "$1"; }
secrets state.before > before.json
secrets .moksha/state.json > after.json
[ "$(jq length after.json)" = 4 ] || fail "the state holds $(jq length after.json) secrets, not 4"
[ "$(jq -r '[.[].to] | unique | join(",")' after.json)" = "$nid" ] || fail "secrets not sealed to $nid: $(cat after.json)"
[ "$(jq -c '[.[].fingerprint]' after.json)" = "$(jq -c '[.[].fingerprint]' before.json)" ] || fail "a fingerprint changed"
[ "$(jq -c --slurpfile b before.json '[range(length) as $i | .[$i].sealed == $b[0][$i].sealed] | any' after.json)" = false ] ||
    fail "a secret was not sealed again"
[ "$(jq -r '.sealed_with, .serial, .fingerprint_key' .moksha/state.json | tr '\n' ' ')" = \
  "$nid 2 a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf " ] || fail "sealed_with, serial or fingerprint_key"
expect_exit 0 "$MOKSHA_EXEC" audit show --format json
[ "$(jq -r --arg n "$nid" '[.entries[] | select(.event == "key.rotate" and .new_key_id == $n and .secrets == 4)] | length' "$OUT")" = 1 ] ||
    fail "no key.rotate entry for $nid"
expect_exit 0 "$MOKSHA_EXEC" audit verify
# …and they open with it, where they were sealed: a second rotation re-seals all four
expect_exit 0 "$MOKSHA_EXEC" key rotate && expect_contains "$OUT" "4 secrets re-sealed (state serial 3)"

# ---- a secret moved to another attribute: refused, nothing written ----
jq '(.resources[] | select(.address == "app.web") | .attributes.password) =
    (.resources[] | select(.address == "database.orders") | .attributes.password)' .moksha/state.json > moved.json
cat moved.json > .moksha/state.json
cp "$K/fixed/seal.key" key.before
expect_exit 1 "$MOKSHA_EXEC" key rotate
expect_contains "$ERR" "app.web: password: the sealed secret does not open here"
expect_same .moksha/state.json moved.json
expect_same "$K/fixed/seal.key" key.before
[ ! -e "$K/fixed/seal.next" ] || fail "a refused rotation left seal.next"
jq 'del(.resources[] | select(.address == "app.web") | .attributes.password)' moved.json > .moksha/state.json

# ---- a staged key the state never reached: the keys are refused until a rotation drops it ----
cp "$K/fixed/seal.67ca2ffd6fe9efab.old" "$K/fixed/seal.next"
expect_exit 1 "$MOKSHA_EXEC" key show && expect_contains "$ERR" "a key rotation was interrupted"
expect_exit 0 "$MOKSHA_EXEC" key rotate && expect_contains "$OUT" "4 secrets re-sealed"
[ ! -e "$K/fixed/seal.next" ] || fail "seal.next is still there"
expect_exit 0 "$MOKSHA_EXEC" key show
expect_exit 0 "$MOKSHA_EXEC" audit verify

# ---- a rotation stopped after its state write: the next one finishes it ----
cur=$(jq -r .sealed_with .moksha/state.json)
cp "$K/fixed/seal.key" seal.cur
mv "$K/fixed/seal.key" "$K/fixed/seal.next"                  # the new key still staged,
cp "$K/fixed/seal.67ca2ffd6fe9efab.old" "$K/fixed/seal.key"  # an older one in place,
printf 'x25519:eaYx7t4b+cmPEgMs3q3Q56B5OY/HhriMyEbsia+FpRo= executor\n' > "$K/fixed/seal.pub"  # its seal.pub
expect_exit 1 "$MOKSHA_EXEC" key show && expect_contains "$ERR" "a key rotation was interrupted"
expect_exit 0 "$MOKSHA_EXEC" key rotate
expect_contains "$OUT" "Finished an interrupted rotation: the state is sealed to key $cur"
expect_same "$K/fixed/seal.key" seal.cur
[ ! -e "$K/fixed/seal.next" ] || fail "seal.next is still there after finishing"
expect_exit 0 "$MOKSHA_EXEC" key show && expect_contains "$OUT" "id: $cur"
head -n 1 "$OUT" > shown.pub
expect_same shown.pub "$K/fixed/seal.pub"
expect_exit 0 "$MOKSHA_EXEC" audit verify
leave
