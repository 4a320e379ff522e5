# test_policy.sh — policies as CI runs them: exit codes, SARIF fit for GitHub
# code scanning, overrides recorded in the plan, and the built-in library's
# own tests.
. "$TOP/tests/e2e/lib.sh"

sh "$TOP/tests/clean_copy.sh" "$TOP/tests/golden/policy/text" shop
cd shop
export MOKSHA_KEY=e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0

expect_exit 3 moksha policy check && expect_contains "$OUT" "fail       storage-encrypted (hard)"
expect_exit 3 moksha plan && expect_contains "$OUT" "Policies: 1 passed, 3 failed"
expect_exit 3 moksha plan -o plan.json && expect_contains "$ERR" "the plan was not saved"
[ -e plan.json ] && fail "a plan that fails its policies must not be saved"

# ---- SARIF 2.1.0 with what GitHub code scanning requires ----
expect_exit 3 moksha policy check --format sarif
cp "$OUT" results.sarif
for field in '"version": "2.1.0"' '"$schema"' '"driver"' '"name": "moksha"' '"rules"' '"shortDescription"' \
             '"ruleId": "storage-encrypted"' '"level": "error"' '"level": "warning"' '"message"' '"locations"' \
             '"physicalLocation"' '"artifactLocation"' '"uri": "main.moksha"' '"startLine": 22' '"partialFingerprints"'; do
    expect_contains results.sarif "$field"
done
expect_not_contains results.sarif '"uri": "/'   # repository-relative, never absolute

# ---- overrides: soft only, recorded with the reason ----
cat > main.moksha <<'MOKSHA'
stack shop {
  env   = "prod"
  owner = "web"
}

provider sim {}

resource network main {
  cidr = "10.0.0.0/16"
}

resource firewall edge {
  network = network.main
  ingress {
    from_port = 443
    cidrs     = ["0.0.0.0/0"]
  }
}

resource bucket assets {
  encrypted  = true
  public     = true
  versioning = true
}
MOKSHA
expect_exit 3 moksha plan && expect_contains "$OUT" "fail       no-public-buckets (soft)"
expect_exit 1 moksha plan --override no-public-buckets && expect_contains "$ERR" "needs --reason"
expect_exit 0 moksha plan --override no-public-buckets --reason "static site, public by design" -o plan.json &&
    expect_contains "$OUT" "overridden no-public-buckets (soft)"
expect_contains plan.json '"status":"overridden"'
expect_contains plan.json '"reason":"static site, public by design"'
expect_contains plan.json '"group":"sre"'
expect_exit 3 moksha apply plan.json      # the firewall waits at its gate; the rest applies
expect_exit 0 moksha audit show && expect_contains "$OUT" "policy.override"
expect_contains .moksha/audit.jsonl '"reason":"static site, public by design"'

# ---- the built-in library's tests all pass ----
cd "$WORK"
if [ -d "$TOP/policies" ] && ls "$TOP"/policies/*/ >/dev/null 2>&1; then
    expect_exit 0 moksha policy test "$TOP/policies" && expect_match "$OUT" '^[0-9]+ passed, 0 failed$'
fi

# ---- approval gates: the rest applies, the gated change waits for --approve ----
mkdir -p "$WORK/gated" && cd "$WORK/gated"
cat > main.moksha <<'MOKSHA'
stack shop {
  env = "prod"
}

provider sim {}

resource network main {
  cidr = "10.0.0.0/16"
}

resource firewall edge {
  network = network.main
}

resource bucket logs {}

policy "prod-approval" {
  enforcement = hard
  for c in changes where c.type == "firewall" && stack.env == "prod" {
    require approval("sre") : "${c.address} changes who can reach the network"
  }
}
MOKSHA
expect_exit 0 moksha plan -o p.plan && expect_contains "$OUT" "approval by sre needed for firewall.edge"
expect_exit 3 moksha apply p.plan && expect_contains "$ERR" "held: create firewall.edge"
expect_exit 0 moksha state list && expect_not_contains "$OUT" "firewall.edge"
expect_contains "$OUT" "bucket.logs"
expect_exit 0 moksha plan -o p2.plan
expect_exit 0 moksha apply --approve prod-approval:firewall.edge p2.plan
expect_exit 0 moksha state list && expect_contains "$OUT" "firewall.edge"
expect_exit 0 moksha audit show && expect_contains "$OUT" "gate.closed"
expect_contains "$OUT" "gate.approved"
expect_exit 0 moksha audit verify

# ---- require risk(): a policy raises a change's risk; --auto-approve-risk holds it ----
mkdir -p "$WORK/risky" && cd "$WORK/risky"
cp /dev/null main.moksha
cat > main.moksha <<'MOKSHA'
stack s {
  env = "dev"
}

provider sim {}

resource bucket logs {}

resource bucket data {
  versioning = true
}

policy "data-buckets-are-high-risk" {
  enforcement = advisory
  for c in changes where c.type == "bucket" && c.after != null && c.after.versioning {
    require risk("high") : "${c.address} holds data"
  }
}
MOKSHA
expect_exit 0 moksha plan -o p.plan && expect_contains "$OUT" "raises bucket.data to high risk"
expect_contains p.plan '"risk_raised_by":"data-buckets-are-high-risk"'
expect_exit 3 moksha apply --auto-approve-risk medium p.plan && expect_contains "$ERR" "held: create bucket.data"
expect_exit 0 moksha state list && expect_contains "$OUT" "bucket.logs"
expect_not_contains "$OUT" "bucket.data"

# ---- placement under policies: the plan, policy check and the executor agree ----
mkdir -p "$WORK/placed" && cd "$WORK/placed"
cat > main.moksha <<'MOKSHA'
provider sim {}

resource database orders {
  engine  = "postgres"
  version = "16"
  cpu     = 2
  memory  = 8GiB
  storage = 100GiB
}

policy "data-in-eu" {
  for r in resources where r.type == "database" {
    assert startswith(r.placement.region, "europe-") : "${r.address} must stay in the EU"
  }
}
MOKSHA
expect_exit 0 moksha plan -o p.plan --explain && expect_contains "$OUT" "but it breaks policy data-in-eu"
expect_contains p.plan '"regions":["europe-'
expect_exit 0 moksha policy check && expect_contains "$OUT" "pass"
expect_exit 0 moksha cost --format json && expect_contains "$OUT" '"region":"europe-'
expect_exit 0 moksha apply p.plan && expect_match "$OUT" "database.orders +\[sim gcp/europe-"
expect_exit 0 moksha plan --detailed-exitcode

# ---- CI formats name files from the repository's root (the nearest .git) ----
# A workflow with `working-directory: infra/shop` and a shared policy
# directory: GitHub places annotations only by repository-relative paths.
mkdir -p "$WORK/repo/.git" "$WORK/repo/infra/shop" "$WORK/repo/org/policies"
cd "$WORK/repo/infra/shop"
cat > main.moksha <<'MOKSHA'
resource bucket assets {
  encrypted = false
}
MOKSHA
cat > ../../org/policies/storage.moksha <<'MOKSHA'
policy "storage-encrypted" {
  for r in resources where r.type == "bucket" {
    assert r.encrypted : "${r.address} must set encrypted = true"
  }
}

policy "always" {
  assert false : "a policy-level finding"
}
MOKSHA
cd "$WORK/repo"
expect_exit 3 moksha -C infra/shop policy check --policies ../../org/policies --format sarif &&
    expect_contains "$OUT" '"uri": "infra/shop/main.moksha"'
expect_contains "$OUT" '"uri": "org/policies/storage.moksha"'
expect_contains "$OUT" '"originalUriBaseIds"'
expect_contains "$OUT" "\"uri\": \"file://$(cd "$WORK/repo" && pwd -P)/\""
expect_not_contains "$OUT" '../'
expect_exit 3 moksha -C infra/shop policy check --policies ../../org/policies --format github &&
    expect_contains "$OUT" '::error file=infra/shop/main.moksha,line=1,'
expect_contains "$OUT" '::error file=org/policies/storage.moksha,line=8,'
expect_exit 3 moksha -C infra/shop policy check --policies ../../org/policies --format junit &&
    expect_contains "$OUT" 'file="org/policies/storage.moksha" line="1"'
expect_exit 3 moksha -C infra/shop policy check --policies ../../org/policies --format markdown &&
    expect_contains "$OUT" '(`infra/shop/main.moksha:1`)'
# --path-prefix: the stack's directory is that path in the repository
expect_exit 3 moksha -C infra/shop policy check --policies ../../org/policies --format github --path-prefix deploy/shop &&
    expect_contains "$OUT" '::error file=deploy/shop/main.moksha,line=1,'
expect_contains "$OUT" '::error file=org/policies/storage.moksha,line=8,'
expect_exit 3 moksha -C infra/shop policy check --policies ../../org/policies --format sarif --path-prefix infra/shop &&
    expect_contains "$OUT" "\"uri\": \"file://$(cd "$WORK/repo" && pwd -P)/\""
# plan's markdown comment appends the same policy comment, with the same paths
expect_exit 3 moksha -C infra/shop plan --policies ../../org/policies --format markdown &&
    expect_contains "$OUT" '(`infra/shop/main.moksha:1`)'
expect_exit 3 moksha -C infra/shop plan --policies ../../org/policies --format markdown --path-prefix deploy/shop &&
    expect_contains "$OUT" '(`deploy/shop/main.moksha:1`)'
# without a repository, the stack's directory is the root
rm -rf "$WORK/repo/.git"
expect_exit 3 moksha -C infra/shop policy check --policies ../../org/policies --format github &&
    expect_contains "$OUT" '::error file=main.moksha,line=1,'
# text output keeps the paths as typed
expect_exit 3 moksha -C infra/shop policy check --policies ../../org/policies &&
    expect_contains "$OUT" '../../org/policies/storage.moksha:8: a policy-level finding'
