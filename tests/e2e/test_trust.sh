# test_trust.sh — the executor in trust mode (docs/trust.md), with keys,
# trust files and plan signatures made by the openssl command line only:
# a plan signed by a trusted planner applies; one by an unknown, revoked
# or wrong-role key is refused, and so are an HMAC-signed plan, MOKSHA_KEY
# in the executor's environment and the bare --approve; a trust file with
# a lower version, an expired one or one signed below threshold is refused;
# a plan an automation identity signed applies its low-risk changes only.
. "$TOP/tests/e2e/lib.sh"

umask 022
export XDG_CONFIG_HOME="$WORK/xdg"
mkdir -p xdg/moksha ids && chmod 700 ids
K=$WORK/ids

# ---- keys: Ed25519 pairs, the public half as `moksha key new` writes it ----
for who in r1 r2 r3 alice eve bot bob mallory; do
    openssl genpkey -algorithm ed25519 -out "$K/$who.key" 2>/dev/null || fail "openssl genpkey $who"
    printf 'ed25519:%s\n' "$(openssl pkey -in "$K/$who.key" -pubout -outform DER | tail -c 32 | base64)" >"$K/$who.pub"
done
pub() { cat "$K/$1.pub"; }
key_id() { openssl pkey -in "$K/$1.key" -pubout -outform DER | tail -c 32 | sha256sum | cut -c1-16; }

# sig TYPE FILE WHO: base64 of WHO's signature over "moksha-signature/v1" 0 TYPE 0 FILE's bytes
sig() {
    { printf 'moksha-signature/v1\000%s\000' "$1"; cat "$2"; } >"$K/msg"
    openssl pkeyutl -sign -rawin -inkey "$K/$3.key" -in "$K/msg" | base64 -w0
}

# trust VERSION EXPIRES SIGNER...: trust.json, roots r1 r2 r3 (any two),
# planners alice and eve (eve revoked), automation bot, approver bob
trust() {
    v=$1 exp=$2
    shift 2
    printf '{"version":%s,"expires":"%s","roots":{"threshold":2,"keys":["%s","%s","%s"]},"planners":{"alice":"%s","eve":"%s"},"automation":{"bot":{"key":"%s","boundary":{}}},"approvers":{"bob":"%s"},"groups":{"sre":["bob"]},"revoked":["%s"]}' \
        "$v" "$exp" "$(pub r1)" "$(pub r2)" "$(pub r3)" "$(pub alice)" "$(pub eve)" "$(pub bot)" "$(pub bob)" "$(pub eve)" >"$K/payload"
    sigs=
    for s in "$@"; do
        sigs="$sigs${sigs:+,}{\"key\":\"$(pub "$s")\",\"value\":\"$(sig trust "$K/payload" "$s")\"}"
    done
    printf '{"format":"moksha.trust/v1","payload":"%s","signatures":[%s]}\n' "$(sed 's/"/\\"/g' "$K/payload")" "$sigs" >"$WORK/trust.json"
}

# resign PLAN WHO OUT [SED]: PLAN (edited by SED) signed anew by WHO (lib.sh, e2e_resign)
resign() { e2e_resign "$1" "$K/$2.key" "$3" "${4:-}"; }

mkdir keys && chmod 700 keys
cat >xdg/moksha/exec.json <<EOF
{"format": "moksha.exec-config/v1",
 "trust": {"file": "$WORK/trust.json", "keys": "$WORK/keys",
           "roots": {"threshold": 2, "keys": ["$(pub r1)", "$(pub r2)", "$(pub r3)"]}}}
EOF
expect_exit 0 "$MOKSHA_EXEC" key new --dir "$WORK/keys"   # the executor's own keys: seal.key, seal.pub, audit.key
trust 1 2099-01-01T00:00:00Z r1 r3
mkdir st && enter st
expect_exit 0 "$MOKSHA_EXEC" config check &&
    expect_contains "$OUT" "trust mode: $WORK/trust.json: accepted (version 1, expires 2099-01-01T00:00:00Z, roots: threshold 2 of 3 keys; 2 planners, 1 automation, 1 approver, 1 group, 1 revoked; last accepted: none before)"
[ ! -e ../keys/trust.seen ] || fail "config check recorded the trust file"
cat >main.moksha <<'EOF'
stack trusted { env = "prod" }
provider sim { latency = 1ms }
resource bucket logs { encrypted = true }
EOF
expect_exit 0 moksha plan -o p.plan   # signed with the project key (HMAC)

# ---- the executor picks the algorithm: an HMAC plan is refused ----
expect_exit 1 "$MOKSHA_EXEC" apply p.plan &&
    expect_contains "$ERR" "p.plan: the plan is signed with a project key (HMAC-SHA256), and this executor is in trust mode"
expect_contains "$ERR" "plan with MOKSHA_SIGNING_KEY=PLANNER.key"
expect_exit 1 "$MOKSHA_EXEC" verify p.plan && expect_contains "$ERR" "(HMAC-SHA256)"

# ---- a trusted planner's plan: verified, applied, audited with its signer ----
resign p.plan alice a.plan
expect_exit 0 "$MOKSHA_EXEC" verify a.plan &&
    expect_contains "$OUT" "a.plan: signed by planner \`alice\` (key $(key_id alice)), by the trust file $WORK/trust.json, version 1"
for k in mallory eve r1 bob; do resign p.plan $k $k.plan; done
expect_exit 1 "$MOKSHA_EXEC" apply mallory.plan &&
    expect_contains "$ERR" "mallory.plan: signed by key $(key_id mallory), which the trust file $WORK/trust.json (version 1) does not list"
expect_exit 1 "$MOKSHA_EXEC" apply eve.plan &&
    expect_contains "$ERR" "signed by key $(key_id eve) (planner \`eve\`), which the trust file $WORK/trust.json (version 1) revokes"
expect_exit 1 "$MOKSHA_EXEC" apply r1.plan &&
    expect_contains "$ERR" "wrong role: key $(key_id r1) is a root key in the trust file"
expect_exit 1 "$MOKSHA_EXEC" verify bob.plan &&
    expect_contains "$ERR" "wrong role: key $(key_id bob) is approver \`bob\`'s key in the trust file"
# alice's name on mallory's signature: the signature does not verify
sed "s|\"value\":\"[^\"]*\"}}\$|\"value\":\"$(sed -n 's/.*"value":"\([^"]*\)"}}$/\1/p' mallory.plan)\"}}|" a.plan >forged.plan
expect_exit 1 "$MOKSHA_EXEC" apply forged.plan && expect_contains "$ERR" "the plan was altered after it was signed"
expect_exit 1 env MOKSHA_KEY=0d0c5e2e0d0c5e2e0d0c5e2e0d0c5e2e0d0c5e2e0d0c5e2e0d0c5e2e0d0c5e2e "$MOKSHA_EXEC" apply a.plan &&
    expect_contains "$ERR" "MOKSHA_KEY is set, but $XDG_CONFIG_HOME/moksha/exec.json has a trust section"
expect_exit 1 env MOKSHA_KEY=0d0c5e2e0d0c5e2e0d0c5e2e0d0c5e2e0d0c5e2e0d0c5e2e0d0c5e2e0d0c5e2e "$MOKSHA_EXEC" state list &&
    expect_contains "$ERR" "MOKSHA_KEY is set"   # at start, whatever the command
expect_exit 1 "$MOKSHA_EXEC" apply --approve anything a.plan &&
    expect_contains "$ERR" "--approve is refused in trust mode"
expect_contains "$ERR" "a gate opens only by signed approvals from its group (moksha approve PLAN GATE --key KEY, then apply with --approval FILE)"
[ ! -e .moksha/state.json ] || fail "a refused plan wrote the state"
expect_exit 0 "$MOKSHA_EXEC" apply a.plan && expect_contains "$OUT" "created  bucket.logs"
expect_exit 0 "$MOKSHA_EXEC" audit show --format json
expect_match "$OUT" "\"signer\": \"alice\""
expect_match "$OUT" "\"role\": \"planner\""
expect_match "$OUT" "\"key_id\": \"$(key_id alice)\""
expect_match "$OUT" "\"trust_version\": 1"
expect_match "$OUT" "\"trust_digest\": \"$(sha256sum <"$K/payload" | cut -c1-64)\""
expect_file ../keys/trust.seen
expect_contains ../keys/trust.seen '"version":1,'
# the executor's own keys: the state's fingerprint_key made with its first
# write, the audit head keyed with audit.key (no project key in either)
expect_match .moksha/state.json '"fingerprint_key": "[0-9a-f]{64}"'
rm -f .moksha/key
expect_exit 0 "$MOKSHA_EXEC" audit verify && expect_contains "$OUT" "head and state agree"

# ---- trust files: version never down, expiry, threshold ----
trust 2 2099-01-01T00:00:00Z r2 r3
cp "$WORK/trust.json" "$K/v2.json"
expect_exit 0 moksha plan -o p.plan && resign p.plan alice a.plan
expect_exit 0 "$MOKSHA_EXEC" apply a.plan   # records version 2
trust 1 2099-01-01T00:00:00Z r1 r3          # the old file, put back
expect_exit 1 "$MOKSHA_EXEC" apply a.plan &&
    expect_contains "$ERR" "$WORK/trust.json: version 1 is below 2, the version of the last trust file accepted ($WORK/keys/trust.seen): a trust file's version never goes down"
expect_exit 1 "$MOKSHA_EXEC" config check && expect_contains "$ERR" "version 1 is below 2"
trust 3 2020-01-01T00:00:00Z r1 r2
expect_exit 1 "$MOKSHA_EXEC" verify a.plan && expect_contains "$ERR" "$WORK/trust.json: expired at 2020-01-01T00:00:00Z"
trust 3 2099-01-01T00:00:00Z r1 r1 alice
expect_exit 1 "$MOKSHA_EXEC" apply a.plan &&
    expect_contains "$ERR" "$WORK/trust.json: signed by 1 of the current roots (those of the last trust file accepted), below their threshold of 2"
cp "$K/v2.json" "$WORK/trust.json"

# ---- automation: its default boundary, low-risk changes only ----
cat >main.moksha <<'EOF'
stack trusted { env = "prod" }
provider sim { latency = 1ms }
resource bucket logs {
  encrypted  = true
  versioning = true
}
resource bucket site { encrypted = true }
EOF
expect_exit 0 moksha plan -o p.plan && expect_match "$OUT" "~ bucket\.logs .*risk: medium"
resign p.plan bot bot.plan
expect_exit 0 "$MOKSHA_EXEC" verify bot.plan &&
    expect_contains "$OUT" "signed by automation \`bot\` (key $(key_id bot)), by the trust file $WORK/trust.json, version 2: held to its boundary (max_risk low, the default: low-risk changes only)"
expect_exit 3 "$MOKSHA_EXEC" apply bot.plan &&
    expect_contains "$ERR" "bucket.logs is held by the boundary of automation \`bot\`: an update of \`versioning\` is medium risk, above the boundary's max_risk low"
expect_contains "$OUT" "created  bucket.site"
expect_not_contains "$OUT" "bucket.logs"
expect_exit 0 "$MOKSHA_EXEC" audit show && expect_contains "$OUT" "signer=bot role=automation"
# the planner applies the rest
expect_exit 0 moksha plan -o p.plan && resign p.plan alice a.plan
expect_exit 0 "$MOKSHA_EXEC" apply a.plan && expect_contains "$OUT" "updated  bucket.logs"

# ---- automation: the floor the executor reads itself, not the signer's labels ----
cat >main.moksha <<'EOF2'
stack trusted { env = "prod" }
provider sim { latency = 1ms }
resource bucket logs {
  encrypted  = true
  versioning = true
}
EOF2
expect_exit 0 moksha plan -o p.plan && expect_match "$OUT" "- bucket\.site"
resign p.plan bot low.plan 's/"risk":"[a-z]*"/"risk":"low"/g'
expect_exit 3 "$MOKSHA_EXEC" apply low.plan &&
    expect_contains "$ERR" "bucket.site is held by the boundary of automation \`bot\`: a delete of bucket (a @stateful type) is high risk, above the boundary's max_risk low"
expect_not_contains "$OUT" "deleted"
resign p.plan bot null.plan 's/"risk":"[a-z]*"/"risk":null/g'
expect_exit 3 "$MOKSHA_EXEC" apply null.plan && expect_contains "$ERR" "bucket.site is held by the boundary of automation \`bot\`: its risk label is not low, medium or high: an unknown risk is above every max_risk"
[ -n "$(sed -n '/"bucket.site"/p' .moksha/state.json)" ] || fail "automation deleted a change it labelled low"

# ---- a damaged trust.seen is an error, never "none accepted yet" ----
printf '{"format":"moksha.trust-seen/v1",' >../keys/trust.seen
expect_exit 1 "$MOKSHA_EXEC" verify a.plan && expect_contains "$ERR" "$WORK/keys/trust.seen is damaged (not JSON)"
rm ../keys/trust.seen && ln -s "$WORK/nowhere" ../keys/trust.seen   # dangling: not "none accepted yet"
expect_exit 1 "$MOKSHA_EXEC" verify a.plan &&
    expect_contains "$ERR" "$WORK/keys/trust.seen is damaged (a symbolic link, not the record itself)"
leave
