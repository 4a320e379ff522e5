# test_base.sh — `moksha cost --base DIR` and `moksha plan --base DIR`: a
# pull request's own cost and policy delta against the target branch (a git
# worktree of it), beside the delta against applied state; both sides are
# priced against the same applied state, so an applied resource stays where
# it is applied on both (docs/cost.md, "Against the base branch").
. "$TOP/tests/e2e/lib.sh"

GIT="git -c user.name=moksha-test -c user.email=test@moksha.invalid -c init.defaultBranch=main"
command -v git >/dev/null 2>&1 || { echo "test_base: git is not installed"; exit 1; }
export MOKSHA_KEY=3013e73013e73013e73013e73013e73013e73013e73013e73013e73013e73013

mkdir repo && cd repo || exit 1
$GIT init -q . || exit 1
mkdir shop
cat > shop/main.moksha <<'MOKSHA'
stack shop { env = "dev" }

provider sim {}

resource compute web {
  cpu    = 2
  memory = 4GiB
  image  = "nginx:1.27"
  placement { providers = [aws] }
}

resource volume data {
  size = 100GiB
  placement { providers = [aws] }
}
MOKSHA
cat > shop/policies.moksha <<'MOKSHA'
policy "volumes-encrypted" {
  enforcement = advisory
  for r in resources where r.type == "volume" {
    assert r.encrypted : "${r.address} must set encrypted = true"
  }
}
MOKSHA
$GIT add shop && $GIT commit -qm base || exit 1
cd shop || exit 1
expect_exit 0 moksha apply --yes
expect_contains "$OUT" "Apply complete: 2 created"

# ---- the base is what is applied: the change's delta is the whole delta ----
$GIT checkout -qb change || exit 1
$GIT worktree add -q ../../base main || exit 1
sed -i 's/size = 100GiB/size = 200GiB/' main.moksha
cat >> main.moksha <<'MOKSHA'

resource volume scratch {
  size      = 10GiB
  encrypted = false
  placement { providers = [aws] }
}
MOKSHA
expect_exit 0 moksha cost --base ../../base/shop
expect_contains "$OUT" 'total: $74.65/month, delta +$8.80 against applied ($65.85)'
expect_contains "$OUT" 'Against the base (../../base/shop): $65.85 → $74.65 a month (+$8.80).'
expect_match "$OUT" '^    ~ volume\.data +\$8\.00 → \$16\.00 \(\+\$8\.00\)$'
expect_match "$OUT" '^    \+ volume\.scratch +\$0\.80 \(\+\$0\.80\)$'
expect_not_contains "$OUT" '~ compute.web'

# ---- the base moved on: the change's own delta is not the applied one ----
(cd ../../base/shop && sed -i 's/size = 100GiB/size = 150GiB/' main.moksha)
expect_exit 0 moksha cost --base ../../base/shop --format json
expect_contains "$OUT" '"monthly":"74.65","applied":"65.85","delta":"8.80"'
expect_contains "$OUT" '"base":{"path":"../../base/shop","monthly":"69.85","delta":"4.80"'
expect_contains "$OUT" '{"address":"volume.data","base":"12.00","head":"16.00","delta":"4.00"}'
expect_contains "$OUT" '{"address":"volume.scratch","base":null,"head":"0.80","delta":"0.80","added":true}'
expect_exit 0 moksha cost --base ../../base/shop --format markdown
expect_contains "$OUT" '#### Against the base branch'
expect_contains "$OUT" '| ✏️ | `volume.data` | $12.00 | $16.00 | +$4.00 |'
expect_contains "$OUT" '| ➕ | `volume.scratch` | – | $0.80 | +$0.80 |'

# ---- plan: the cost delta and the verdicts the change turns ----
expect_exit 0 moksha plan --base ../../base/shop
expect_contains "$OUT" 'Cost: $74.65 a month (+$8.80).'
expect_contains "$OUT" 'Against the base (../../base/shop): $69.85 → $74.65 a month (+$4.80).'
expect_contains "$OUT" 'volumes-encrypted: pass → warn; new: volume.scratch: volume.scratch must set encrypted = true'
expect_exit 0 moksha plan --base ../../base/shop --format json
expect_contains "$OUT" '{"plan":{"format":"moksha.plan/v1"'
expect_contains "$OUT" '"policies":[{"name":"volumes-encrypted","base":"pass","head":"warn","new":[{"message":"volume.scratch must set encrypted = true"'
# -o still saves the plan alone, which show verifies and apply takes
expect_exit 0 moksha plan --base ../../base/shop -o change.plan
expect_exit 0 moksha show change.plan
expect_contains "$OUT" '+ volume.scratch'

# ---- the same stack on both sides: nothing of the change moves a figure ----
expect_exit 0 moksha cost --base .
expect_contains "$OUT" 'Against the base (.): $74.65 → $74.65 a month (+$0.00).'
expect_not_contains "$OUT" '    ~ '

# ---- a base that cannot be planned is an error, and no figures are shown ----
expect_exit 1 moksha cost --base ../../nowhere
expect_contains "$ERR" 'moksha: error: --base ../../nowhere: the base cannot be planned (its diagnostics follow)'
expect_empty "$OUT"
echo 'resource volume broken {' > ../../base/shop/broken.moksha
expect_exit 1 moksha plan --base ../../base/shop
expect_contains "$ERR" 'the base cannot be planned'
expect_contains "$ERR" 'broken.moksha'

