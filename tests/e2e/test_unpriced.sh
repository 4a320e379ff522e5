# test_unpriced.sh — an unpriced resource says why, per resource, in every
# output: moksha cost (text, json, markdown), moksha plan (text, json,
# markdown) for a change and for an applied resource the plan leaves alone,
# and moksha show of the saved plan; never counted as $0 (docs/cost.md, "Rules").
. "$TOP/tests/e2e/lib.sh"

export MOKSHA_KEY=3013e73013e73013e73013e73013e73013e73013e73013e73013e73013e73013
mkdir far && cd far || exit 1
cat > main.moksha <<'MOKSHA'
stack far { env = "dev" }

provider sim {}

# the aws catalog has EBS prices for us-east-1 only
resource volume far {
  size = 10GiB
  placement {
    providers = [aws]
    regions   = ["us-west-2"]
  }
}

resource volume near {
  size = 10GiB
  placement { providers = [aws] }
}
MOKSHA
WHY='aws has no prices for region us-west-2: the catalog covers us-east-1 and GovCloud only; no public, licensed price table has its other regions'

# ---- cost ----
expect_exit 0 moksha cost
expect_match "$OUT" "^volume\\.far .* unpriced  volume\\.far: $WHY\$"
expect_contains "$OUT" 'total: $0.80/month, delta +$0.80 against applied ($0.00); 1 unpriced'
expect_exit 0 moksha cost --format json
expect_contains "$OUT" "\"unpriced\":[{\"address\":\"volume.far\",\"type\":\"volume\",\"provider\":null,\"region\":null,\"offering\":null,\"why\":\"volume.far: $WHY\"}]"
expect_exit 0 moksha cost --format markdown
expect_contains "$OUT" "| \`volume.far\` | - | - | - | unpriced: volume.far: $WHY |"

# ---- plan of the change ----
expect_exit 0 moksha plan
expect_contains "$OUT" "+ volume.far  (unpriced: volume.far: $WHY)"
expect_contains "$OUT" 'Cost: $0.80 a month (+$0.80); 1 resource unpriced.'
expect_exit 0 moksha plan --format markdown
expect_contains "$OUT" "| ➕ | \`volume.far\` | create | low | – | unpriced: volume.far: $WHY |"
expect_exit 0 moksha plan --format json
expect_contains "$OUT" "\"unpriced_because\":\"volume.far: $WHY\""

# ---- applied: the plan changes nothing, and still names it ----
expect_exit 0 moksha apply --yes
expect_exit 0 moksha plan
expect_contains "$OUT" 'No changes'
expect_contains "$OUT" 'Cost: $0.80 a month (+$0.00); 1 resource unpriced.'
expect_contains "$OUT" "    volume.far (no change) is unpriced: $WHY"
expect_exit 0 moksha plan --format markdown
expect_contains "$OUT" "- \`volume.far\` (no change) is unpriced: $WHY"
expect_exit 0 moksha plan --format json
expect_contains "$OUT" "\"unpriced\":1,\"unpriced_unchanged\":[{\"address\":\"volume.far\",\"why\":\"$WHY\"}]"
expect_exit 0 moksha plan -o same.plan
expect_exit 0 moksha show same.plan
expect_contains "$OUT" "    volume.far (no change) is unpriced: $WHY"
expect_exit 0 moksha apply same.plan --yes
expect_contains "$OUT" 'No changes'
