# test_policy_packs.sh — a plan records the policy packs it was checked
# against (note [policy packs]): each imported directory and each
# --policies DIR with its digest, which `moksha policy digest DIR` gives
# alike; a pack's edit changes it; `require approval(G, count = N)` puts
# its count on the plan's gate.
. "$TOP/tests/e2e/lib.sh"

mkdir -p st/central && enter st
cat >main.moksha <<'EOF2'
import "policies/security"
stack packs { env = "prod" }
provider sim { latency = 1ms }
resource bucket b { encrypted = true }
EOF2
cat >central/prod.moksha <<'EOF2'
policy "two-sre" {
  enforcement = hard
  for c in changes where c.action == "delete" {
    require approval("sre", count = 2) : "${c.address} goes"
  }
}
EOF2
expect_exit 0 moksha plan -o p.plan --policies central
digest() { python3 -c "import json,sys; print([p['digest'] for p in json.load(open('p.plan'))['policy_packs'] if p['name']==sys.argv[1]][0])" "$1"; }
expect_exit 0 moksha policy digest central "$TOP/policies/security"
expect_contains "$OUT" "$(digest central)  central"
expect_contains "$OUT" "$(digest policies/security)  $TOP/policies/security"
before=$(digest central)
echo '# a comment changes the pack' >>central/prod.moksha
expect_exit 0 moksha plan -o p.plan --policies central
[ "$(digest central)" != "$before" ] || fail "an edited pack kept its digest"
expect_exit 0 moksha policy digest central && expect_contains "$OUT" "$(digest central)  central"
expect_exit 1 moksha policy digest nowhere && expect_contains "$ERR" "cannot read directory \`nowhere\`"
mkdir empty && expect_exit 1 moksha policy digest empty && expect_contains "$ERR" "no .moksha files in \`empty\`"

# a gate's count, and the named argument refused elsewhere
expect_exit 0 moksha apply --yes --policies central
sed -i '/resource bucket b/d' main.moksha
expect_exit 0 moksha plan -o d.plan --policies central
expect_exit 0 python3 -c "import json; g=json.load(open('d.plan'))['gates']; assert g[0]['count']==2 and g[0]['group']=='sre', g"
expect_exit 0 moksha policy check --policies central && expect_contains "$OUT" "approval by sre (2 distinct approvers) needed for bucket.b"
cat >central/bad.moksha <<'EOF2'
policy "bad" {
  for c in changes {
    require approval("sre", cout = 2) : "x"
  }
}
EOF2
expect_exit 1 moksha check --policies central && expect_contains "$ERR" "approval() takes no argument \`cout\`"
printf 'policy "bad" {\n  for c in changes {\n    require approval("sre", count = 40) : "x"\n  }\n}\n' >central/bad.moksha
expect_exit 1 moksha check --policies central && expect_contains "$ERR" "\`count\` is a whole number from 1 to 16"
printf 'let x = max(1, n = 2)\n' >central/bad.moksha
expect_exit 1 moksha check --policies central && expect_contains "$ERR" "\`max\` takes no named argument (\`n = …\`)"
leave
