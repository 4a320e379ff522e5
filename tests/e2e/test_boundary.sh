# test_boundary.sh — autonomy boundaries and rules per environment
# (docs/trust.md, "Autonomy boundaries", "Rules per environment"): an
# automation identity `bot` with the boundary "low risk, dev only, at most
# $50 a month more" applies a tag change in dev and is held (exit 3) on a
# prod change, a replace and a $63 increase; a plan edited to call the
# replace low with its gates removed, re-signed by bot's key, is still held
# (the executor's own risk floor and the trust file's own gate); windows,
# max_changes, types and actions hold; a gate the trust file requires for
# prod holds even a planner's delete; a plan not checked against the
# policy pack dev requires is refused (exit 3); one key as automation and
# approver is refused; verify says the boundary; the audit says why.
. "$TOP/tests/e2e/lib.sh"

umask 022
export XDG_CONFIG_HOME="$WORK/xdg"
mkdir -p xdg/moksha ids && chmod 700 ids
K=$WORK/ids
for who in r1 r2 alice bot bob carol; do
    openssl genpkey -algorithm ed25519 -out "$K/$who.key" 2>/dev/null || fail "openssl genpkey $who"
    printf 'ed25519:%s\n' "$(openssl pkey -in "$K/$who.key" -pubout -outform DER | tail -c 32 | base64)" >"$K/$who.pub"
done
pub() { cat "$K/$1.pub"; }
sig() {
    { printf 'moksha-signature/v1\000%s\000' "$1"; cat "$2"; } >"$K/msg"
    openssl pkeyutl -sign -rawin -inkey "$K/$3.key" -in "$K/msg" | base64 -w0
}
V=0
# trust BOUNDARY [ENVIRONMENTS [APPROVERS]]: a new version of trust.json, signed by r1 and r2
trust() {
    V=$((V + 1))
    printf '{"version":%s,"expires":"2099-01-01T00:00:00Z","roots":{"threshold":2,"keys":["%s","%s"]},"planners":{"alice":"%s"},"automation":{"bot":{"key":"%s","boundary":%s}},"approvers":%s,"groups":{"sre":["bob","carol"]},"environments":%s}' \
        "$V" "$(pub r1)" "$(pub r2)" "$(pub alice)" "$(pub bot)" "$1" "${3:-{\"bob\":\"$(pub bob)\",\"carol\":\"$(pub carol)\"\}}" "${2:-{\}}" >"$K/payload"
    printf '{"format":"moksha.trust/v1","payload":"%s","signatures":[{"key":"%s","value":"%s"},{"key":"%s","value":"%s"}]}\n' \
        "$(sed 's/"/\\"/g' "$K/payload")" "$(pub r1)" "$(sig trust "$K/payload" r1)" "$(pub r2)" "$(sig trust "$K/payload" r2)" >"$WORK/trust.json"
}
resign() { e2e_resign "$1" "$K/$2.key" "$3" "${4:-}"; }
# plan ENV WHO OUT [ARGS...]: a plan of environment ENV signed by WHO
plan() {
    _e=$1 _w=$2 _o=$3
    shift 3
    expect_exit 0 moksha plan --env "$_e" -o "$_o.hmac" "$@" && resign "$_o.hmac" "$_w" "$_o"
}

mkdir keys && chmod 700 keys
cat >xdg/moksha/exec.json <<EOF
{"format": "moksha.exec-config/v1",
 "trust": {"file": "$WORK/trust.json", "keys": "$WORK/keys",
           "roots": {"threshold": 2, "keys": ["$(pub r1)", "$(pub r2)"]}}}
EOF
expect_exit 0 "$MOKSHA_EXEC" key new --dir "$WORK/keys"
BOUND='{"max_risk":"low","environments":["dev"],"max_cost_increase":"50.00"}'
PROD_RULES="{\"prod\":{\"gates\":{\"prod-destroys\":{\"group\":\"sre\",\"count\":2,\"actions\":[\"delete\",\"replace\"]}}},\"dev\":{\"gates\":{\"dev-replaces\":{\"group\":\"sre\",\"actions\":[\"replace\"]}}}}"
trust "$BOUND" "$PROD_RULES"
expect_exit 0 moksha trust show trust.json &&
    expect_contains "$OUT" "boundary: max_risk low; types any; actions any; environments dev; max_cost_increase \$50.00 a month; max_changes none; windows always"
expect_contains "$OUT" "gate trust:prod-destroys: 2 of group sre, before delete, replace of any type"
expect_contains "$OUT" "break glass: none"
expect_exit 0 moksha trust show --format json trust.json && expect_contains "$OUT" '"dev-replaces": {'

mkdir st && enter st
mkdir env policies
: >env/dev.yaml
: >env/prod.yaml
cat >policies/replace.moksha <<'EOF'
policy "replace-approval" {
  for c in changes where c.action == "replace" {
    require approval("sre") : "${c.address} is replaced"
  }
}
EOF
cat >main.moksha <<'EOF'
stack shop { env = "dev" }
var n: int = 1
var image: string = "x:1"
var tag: string = "a"
provider sim { latency = 1ms }
resource bucket logs {
  encrypted = true
  tags      = { t = var.tag }
}
resource compute web {
  count  = var.n
  cpu    = 1
  memory = 1GiB
  image  = var.image
  tags   = { t = var.tag }
}
EOF
# alice (a planner) makes dev and prod
plan dev alice a.plan && expect_exit 0 "$MOKSHA_EXEC" apply a.plan
plan prod alice a.plan && expect_exit 0 "$MOKSHA_EXEC" apply a.plan

# ---- verify says the boundary ----
plan dev bot tag.plan --var tag=b
expect_exit 0 "$MOKSHA_EXEC" verify tag.plan &&
    expect_contains "$OUT" "signed by automation \`bot\`"
expect_contains "$OUT" "held to its boundary (max_risk low; environments dev; max_cost_increase \$50.00 a month)"

# ---- inside the boundary: a tag change in dev ----
expect_exit 0 "$MOKSHA_EXEC" apply tag.plan && expect_contains "$OUT" "updated  bucket.logs"
expect_contains "$OUT" "updated  compute.web[0]"
expect_exit 0 "$MOKSHA_EXEC" audit show --env dev --format json
expect_contains "$OUT" '"event": "boundary.ok"'

# ---- a prod change: held, all of it ----
plan prod bot prod.plan --var tag=b
expect_exit 3 "$MOKSHA_EXEC" apply prod.plan &&
    expect_contains "$ERR" "the plan is outside the boundary of automation \`bot\`: environment prod is not one of the boundary's environments (dev): every change is held"
expect_not_contains "$OUT" "updated"

# ---- a replace: held by the floor, whatever the labels and gates say ----
plan dev bot rep.plan --var tag=b --var image=x:2 --policies policies
expect_contains rep.plan '"action":"replace"'
expect_exit 3 "$MOKSHA_EXEC" apply rep.plan &&
    expect_contains "$ERR" "compute.web[0] is held by the boundary of automation \`bot\`: a replace of compute is medium risk, above the boundary's max_risk low"
resign rep.plan.hmac bot forged.plan 's/"risk":"[a-z]*"/"risk":"low"/g; s/"gates":\[{"id":1,"policy":"replace-approval"[^}]*}\]/"gates":[]/'
expect_not_contains forged.plan '"risk":"medium"'
expect_not_contains forged.plan '"policy":"replace-approval"'
expect_exit 3 "$MOKSHA_EXEC" apply forged.plan &&
    expect_contains "$ERR" "compute.web[0] is held by the boundary of automation \`bot\`: a replace of compute is medium risk, above the boundary's max_risk low"
expect_contains "$ERR" "trust:dev-replaces"   # the trust file's own gate, which no plan edit removes
expect_not_contains "$OUT" "replaced"
expect_exit 0 "$MOKSHA_EXEC" audit show --env dev --format json
expect_contains "$OUT" '"event": "boundary.held"'
expect_contains "$OUT" "\"reason\": \"a replace of compute is medium risk, above the boundary's max_risk low\""

# ---- a $63 increase: held, all of it ----
plan dev bot cost.plan --var tag=b --var n=3
expect_exit 3 "$MOKSHA_EXEC" apply cost.plan &&
    expect_contains "$ERR" "the plan adds \$63.28 a month, above the boundary's max_cost_increase \$50.00: every change is held"
expect_not_contains "$OUT" "created"
resign cost.plan.hmac bot cost60.plan 's/"delta":"63.28"/"delta":"60.00"/'
expect_exit 3 "$MOKSHA_EXEC" apply cost60.plan && expect_contains "$ERR" "the plan adds \$60.00 a month"
plan dev bot one.plan --var tag=b --var n=2   # +$31.64: inside
expect_exit 0 "$MOKSHA_EXEC" apply one.plan && expect_contains "$OUT" "created  compute.web[1]"

# ---- windows, max_changes, types, actions ----
today=$(date -u +%a | tr 'A-Z' 'a-z')
others=$(for d in mon tue wed thu fri sat sun; do [ "$d" = "$today" ] || printf '"%s",' "$d"; done | sed 's/,$//')
trust "{\"environments\":[\"dev\"],\"windows\":[{\"days\":[$others],\"from\":\"00:00\",\"to\":\"24:00\"}]}"
plan dev bot w.plan --var tag=c --var n=2
expect_exit 3 "$MOKSHA_EXEC" apply w.plan &&
    expect_contains "$ERR" "is outside the boundary's windows ("
expect_contains "$ERR" "UTC) is outside"
trust "{\"environments\":[\"dev\"],\"windows\":[{\"days\":[\"$today\"],\"from\":\"00:00\",\"to\":\"24:00\"}]}"
expect_exit 0 "$MOKSHA_EXEC" apply w.plan && expect_contains "$OUT" "updated  bucket.logs"
trust '{"max_changes":2}'
plan dev bot m.plan --var tag=d --var n=2
expect_exit 3 "$MOKSHA_EXEC" apply m.plan &&
    expect_contains "$ERR" "the plan has 3 changes, above the boundary's max_changes 2"
trust '{"types":["bucket"]}'
expect_exit 3 "$MOKSHA_EXEC" apply m.plan &&
    expect_contains "$ERR" "compute.web[0] is held by the boundary of automation \`bot\`: type compute is not one of the boundary's types (bucket)"
expect_contains "$OUT" "updated  bucket.logs"
trust '{"actions":["create"]}'
plan dev bot act.plan --var tag=e --var n=3
expect_exit 3 "$MOKSHA_EXEC" apply act.plan &&
    expect_contains "$ERR" "bucket.logs is held by the boundary of automation \`bot\`: an update is not one of the boundary's actions (create)"
expect_contains "$OUT" "created  compute.web[2]"
trust '{"max_risk":"medium","actions":["replace","update","create"]}' "$PROD_RULES"
plan dev bot rep.plan --var tag=e --var n=3 --var image=x:2
expect_exit 3 "$MOKSHA_EXEC" apply rep.plan   # within the boundary, but the trust file's gate dev-replaces is closed
expect_contains "$ERR" "trust:dev-replaces"
expect_not_contains "$ERR" "held by the boundary"

# ---- a gate the trust file requires for prod: even a planner's delete waits ----
trust "$BOUND" "$PROD_RULES"
plan prod alice del.plan --var n=0 --var tag=b
expect_exit 3 "$MOKSHA_EXEC" apply del.plan && expect_contains "$ERR" "trust:prod-destroys"
expect_contains "$OUT" "updated  bucket.logs"
expect_not_contains "$OUT" "deleted  compute"

# ---- policy packs: dev requires the pack of policies/ ----
expect_exit 0 moksha policy digest policies
PACK=$(head -c 64 "$OUT")
trust "$BOUND" "{\"dev\":{\"policy_packs\":[\"$PACK\"]}}"
plan dev alice nopack.plan --var tag=f --var n=3
expect_exit 3 "$MOKSHA_EXEC" apply nopack.plan &&
    expect_contains "$ERR" "nopack.plan: the plan was not checked against the policy pack $PACK that the trust file requires for environment dev (environments.dev.policy_packs)"
expect_contains "$ERR" "nothing was applied"
expect_exit 3 "$MOKSHA_EXEC" verify nopack.plan && expect_contains "$ERR" "policy pack $PACK"
plan dev alice pack.plan --var tag=f --var n=3 --policies policies
expect_exit 0 "$MOKSHA_EXEC" apply pack.plan && expect_contains "$OUT" "updated  bucket.logs"
plan dev alice badpack.plan --var tag=g --var n=3 --policies policies
resign badpack.plan alice badpack2.plan 's/"policy_packs":\[{"name":"[^"]*","digest":"[0-9a-f]*"}\]/"policy_packs":[{"digest":"nope"}]/'
expect_exit 1 "$MOKSHA_EXEC" apply badpack2.plan &&
    expect_contains "$ERR" "badpack2.plan: the plan's \`policy_packs\` entry is not {\"name\", \"digest\": 64 hex digits}; the plan was not made by moksha"

# ---- an automation key is never an approver's ----
trust "$BOUND" "{}" "{\"bob\":\"$(pub bot)\",\"carol\":\"$(pub carol)\"}"
expect_exit 1 "$MOKSHA_EXEC" verify pack.plan &&
    expect_contains "$ERR" "payload \`approvers.bob\`: the same key as automation \`bot\`: an automation identity never approves"
cp "$K/payload" both.json
expect_exit 1 moksha trust sign both.json --key "$K/r1.key" &&
    expect_contains "$ERR" "is both an automation identity's and an approver's: an automation identity never approves"
leave
