# test_approvals.sh — signed approvals in trust mode (docs/trust.md,
# "Approvals", "Overrides and waivers", "Break glass"): a gate needing two
# of sre opens with two distinct approvers, not one, not one person signing
# twice, not with an expired approval, not with an approval of another
# change, not with the plan signer's own; an approval survives a re-plan
# of the same change; automation keys never approve, override or waive; an
# override needs the policy's override_by group; break glass needs two of
# its group for this very plan; the audit log names every approver.
. "$TOP/tests/e2e/lib.sh"

umask 022
mkdir ids exec-keys && chmod 700 ids exec-keys
K=$WORK/ids
for who in root ci bot alice bob carol; do
    expect_exit 0 moksha key new $who --dir "$K" >/dev/null
done
pub() { cut -d' ' -f1 "$K/$1.pub"; }
cat >trust.json <<EOF
{"version": 1, "expires": "2099-01-01T00:00:00Z",
 "roots": {"threshold": 1, "keys": ["$(pub root)"]},
 "planners": {"ci": "$(pub ci)", "alice": "$(pub alice)"},
 "automation": {"bot": {"key": "$(pub bot)", "boundary": {"max_risk": "high"}}},
 "approvers": {"alice": "$(pub alice)", "bob": "$(pub bob)", "carol": "$(pub carol)"},
 "groups": {"sre": ["alice", "bob"], "finops": ["carol"]},
 "break_glass": {"group": "sre", "count": 2}}
EOF
expect_exit 0 moksha trust sign trust.json --key "$K/root.key"
expect_exit 0 "$MOKSHA_EXEC" key new --dir "$WORK/exec-keys"
cat >exec.json <<EOF
{"format": "moksha.exec-config/v1",
 "trust": {"file": "$WORK/trust.json", "keys": "$WORK/exec-keys", "roots": {"threshold": 1, "keys": ["$(pub root)"]}}}
EOF
chmod 600 exec.json
export MOKSHA_EXEC_CONFIG=$WORK/exec.json MOKSHA_SIGNING_KEY=$K/ci.key

mkdir st && enter st
cat >main.moksha <<'EOF'
stack gated { env = "prod" }
var keep_a: bool = true
var keep_b: bool = true
var budget: money = $1000
var tag: string = "1"
provider sim { latency = 1ms }
resource bucket a {
  count     = var.keep_a ? 1 : 0
  encrypted = true
  tags      = { v = var.tag }
}
resource bucket b {
  count     = var.keep_b ? 1 : 0
  encrypted = true
}
policy "two-sre" {
  enforcement = hard
  for c in changes where c.action in ["delete", "replace"] {
    require approval("sre", count = 2) : "${c.address} goes"
  }
}
policy "budget" {
  enforcement = soft
  override_by = "finops"
  assert plan.cost.monthly < var.budget : "over budget"
}
EOF
expect_exit 0 moksha apply --yes
appr() { _k=$1 _o=$2; shift 2; expect_exit 0 moksha approve "$@" --key "$K/$_k.key" --reason "checked by $_k" -o "$_o"; }

# ---- two of sre: not one, not one person twice, not expired, not another change's ----
expect_exit 0 moksha plan --var keep_a=false -o p1.plan
expect_exit 3 moksha apply p1.plan && expect_contains "$ERR" "approval gate two-sre on bucket.a[0] is closed: 0 of 2 distinct approvals by \`sre\`"
expect_contains "$ERR" "moksha approve p1.plan two-sre:bucket.a[0] --key KEY --reason TEXT"
appr alice a1.approval p1.plan
expect_exit 3 moksha apply p1.plan --approval a1.approval && expect_contains "$ERR" "1 of 2 distinct approvals by \`sre\` (alice)"
appr alice a2.approval p1.plan two-sre:bucket.a[0]
expect_exit 3 moksha apply p1.plan --approval a1.approval --approval a2.approval &&
    expect_contains "$ERR" "1 of 2 distinct approvals by \`sre\` (alice)"
expect_exit 0 moksha approve p1.plan --key "$K/bob.key" --reason "short" --expires 1s -o bshort.approval
sleep 2
expect_exit 3 moksha apply p1.plan --approval a1.approval --approval bshort.approval &&
    expect_contains "$ERR" "bshort.approval refused: it expired at"
[ "$(moksha state list 2>/dev/null | grep -c 'bucket\.a')" = 1 ] || fail "bucket.a went with a closed gate"
# carol is no member of sre; the bot never approves; the ci planner is no approver
appr carol c1.approval p1.plan
appr bot bot.approval p1.plan
appr ci ci.approval p1.plan
expect_exit 3 moksha apply p1.plan --approval a1.approval --approval c1.approval --approval bot.approval --approval ci.approval &&
    expect_contains "$ERR" "an approval by someone outside the group does not count"
expect_contains "$ERR" "bot.approval refused: key $(sed -n 's/.*"key_id": *"\([0-9a-f]*\)".*/\1/p' bot.approval | head -1) is automation \`bot\`'s key: an automation identity never approves"
expect_contains "$ERR" "ci.approval refused: key"
expect_contains "$ERR" "is no approver's in the trust file"
# a tampered approval does not verify (moksha refuses it before the executor does)
appr bob b1.approval p1.plan
sed 's/checked by bob/checked by eve/' b1.approval >tampered.approval
expect_exit 1 moksha apply p1.plan --approval a1.approval --approval tampered.approval &&
    expect_contains "$ERR" "tampered.approval"
expect_exit 3 "$MOKSHA_EXEC" apply p1.plan --approval a1.approval --approval tampered.approval &&
    expect_contains "$ERR" "tampered.approval refused: its signature does not verify"

# ---- another change at the same address: the approvals count for nothing ----
expect_exit 0 moksha apply --yes --var tag=2     # bucket.a changes: its delete is another change now
expect_exit 0 moksha plan --var keep_a=false --var tag=2 -o p3.plan
expect_exit 3 moksha apply p3.plan --approval a1.approval --approval b1.approval &&
    expect_contains "$ERR" "an approval of this gate for another change does not count"
[ "$(moksha state list 2>/dev/null | grep -c 'bucket\.a')" = 1 ] || fail "bucket.a went with a closed gate"

# ---- the same change planned again: its approvals still count ----
appr alice a3.approval p3.plan
appr bob b3.approval p3.plan
expect_exit 0 moksha plan --var keep_a=false --var tag=2 -o p3again.plan
expect_exit 0 moksha apply p3again.plan --approval a3.approval --approval b3.approval &&
    expect_contains "$OUT" "deleted  bucket.a[0]"
expect_exit 0 "$MOKSHA_EXEC" audit show --format json
expect_match "$OUT" '"event": "gate.approved"'
expect_exit 0 python3 - <<'EOF'
import json, subprocess, os
out = subprocess.run([os.environ["MOKSHA_EXEC"], "audit", "show", "--format", "json"], capture_output=True, text=True).stdout
entries = [json.loads(l) for l in out.splitlines() if l.strip().startswith("{")] or json.loads(out)
if isinstance(entries, dict):
    entries = entries.get("entries", [])
opened = [e for e in entries if e.get("event") == "gate.approved"]
assert opened, "no gate.approved"
names = sorted(b["name"] for b in opened[-1]["by"])
assert names == ["alice", "bob"], names
assert all(len(b["key_id"]) == 16 for b in opened[-1]["by"]), opened[-1]
EOF

# ---- the signer's own approval never counts ----
export MOKSHA_SIGNING_KEY=$K/alice.key
expect_exit 0 moksha plan --var keep_a=false --var keep_b=false --var tag=2 -o p2.plan
appr alice own.approval p2.plan
appr bob b2.approval p2.plan
expect_exit 3 moksha apply p2.plan --approval own.approval --approval b2.approval &&
    expect_contains "$ERR" "the plan's signer's own approval does not count"
export MOKSHA_SIGNING_KEY=$K/ci.key

# ---- overrides: by the policy's override_by group, never automation ----
expect_exit 0 moksha plan --var budget=\$0 --override budget --reason "a spike" -o po.plan
expect_exit 3 moksha apply po.plan && expect_contains "$ERR" "overriding policy \`budget\` needs a signed approval by a member of \`finops\`"
appr bot obot.approval po.plan --override budget
expect_exit 3 moksha apply po.plan --approval obot.approval && expect_contains "$ERR" "an automation identity never approves"
appr alice oalice.approval po.plan --override budget
expect_exit 3 moksha apply po.plan --approval oalice.approval && expect_contains "$ERR" "one by someone outside the group does not count"
appr carol ocarol.approval po.plan --override budget
expect_exit 0 moksha apply po.plan --approval ocarol.approval
expect_exit 0 "$MOKSHA_EXEC" audit show --format json && expect_match "$OUT" '"event": "override.approved"'

# ---- waivers: embedded in the plan, checked by the executor ----
mkdir waivers
appr bot waivers/bot.approval --waiver budget:bucket.b[0]
cat >>main.moksha <<'EOF'
policy "named" {
  enforcement = soft
  override_by = "finops"
  for r in resources where r.type == "bucket" {
    assert r.name == "a" : "${r.address} is not a"
  }
}
EOF
expect_exit 0 moksha approve --waiver named:bucket.b[0] --key "$K/bot.key" --reason "bot says so" -o waivers/bot2.approval
expect_exit 0 moksha plan -o pw.plan && expect_contains "$OUT" "waived for bucket.b[0]"
expect_exit 3 moksha apply pw.plan && expect_contains "$ERR" "waivers[0] refused: key"
expect_contains "$ERR" "an automation identity never approves"
rm waivers/bot2.approval waivers/bot.approval
expect_exit 0 moksha approve --waiver named:bucket.b[0] --key "$K/carol.key" --reason "b is fine" -o waivers/carol.approval
expect_exit 0 moksha plan -o pw.plan && expect_contains "$OUT" "waived for bucket.b[0]"
expect_exit 0 moksha apply pw.plan
expect_exit 0 "$MOKSHA_EXEC" audit show --format json && expect_match "$OUT" '"event": "waiver.used"'

# ---- break glass: two of its group, for this very plan ----
sed -i '/^policy "named"/,$d' main.moksha
rm -rf waivers
expect_exit 0 moksha plan --var keep_b=false -o pg.plan
appr alice g1.approval pg.plan --break-glass
expect_exit 3 moksha apply pg.plan --approval g1.approval && expect_contains "$ERR" "break glass needs 2 distinct members of \`sre\` for this plan, has 1 (alice)"
appr bob g2.approval pg.plan --break-glass
expect_exit 0 moksha apply pg.plan --approval g1.approval --approval g2.approval &&
    expect_contains "$ERR" "BREAK GLASS: every gate of this plan opens"
expect_exit 0 "$MOKSHA_EXEC" audit show --format json && expect_match "$OUT" '"event": "break_glass"'

# ---- approvals kept by the stack (moksha approval add), and revoked ----
expect_exit 0 moksha plan --var keep_a=false --var keep_b=false -o pk.plan
appr alice ka.approval pk.plan
appr bob kb.approval pk.plan
expect_exit 0 moksha approval add ka.approval && expect_contains "$OUT" "Kept gate approval"
expect_exit 0 moksha approval add kb.approval
expect_exit 0 moksha approve --revoke kb.approval --key "$K/bob.key" --reason "not yet" -o rb.approval
expect_exit 0 moksha approval add rb.approval
expect_exit 0 moksha approval list && expect_contains "$OUT" "REVOKED"
expect_exit 3 moksha apply pk.plan && expect_contains "$ERR" "1 of 2 distinct approvals by \`sre\` (alice)"
expect_exit 1 moksha approval add tampered.approval
appr bob kb2.approval pk.plan
expect_exit 0 moksha approval add kb2.approval
expect_exit 0 moksha apply pk.plan && expect_contains "$OUT" "deleted  bucket.a[0]"
expect_exit 0 "$MOKSHA_EXEC" audit show --format json && expect_match "$OUT" '"event": "approval.revoked"'
expect_match "$OUT" '"event": "approval.added"'

# ---- outside trust mode --approval means nothing: refused ----
expect_exit 1 env MOKSHA_EXEC_CONFIG=/nonexistent-config "$MOKSHA_EXEC" apply pg.plan --approval g1.approval
expect_exit 0 "$MOKSHA_EXEC" audit verify
leave
