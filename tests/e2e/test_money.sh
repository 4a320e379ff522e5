# test_money.sh — one figure for one price everywhere: `moksha cost` (text,
# markdown, json), `moksha plan` (text, markdown, json) and `moksha policy
# check` show the same cents for the same stack, money is exact in the
# language, and a price at half a cent rounds away from zero (note [money]
# in compiler/base/money.h). c6a.large is $0.0765 an hour in us-east-1: 730 hours
# are $55.845, and with its 20 GiB gp2 root disk ($2.00) $57.845, half a cent
# that `cost` once showed rounded down and `plan` up.
. "$TOP/tests/e2e/lib.sh"

export MOKSHA_KEY=3013e73013e73013e73013e73013e73013e73013e73013e73013e73013e73013
mkdir half && cd half || exit 1
cat > main.moksha <<'MOKSHA'
stack half { env = "dev" }

provider sim {}

resource compute web {
  count  = 2
  cpu    = 2
  memory = 4GiB
  image  = "nginx:1.27"
  placement { providers = [aws] }
}

let fee = $1.005

output fee   = "${fee} ${fee + $0.1 + $0.2} ${fee * 3} ${$10 / 3} ${-fee}"
output exact = [fee, $0.1 + $0.2, $10 / 3]

policy "budget" {
  enforcement = advisory
  # exact: $115.69 is the sum of two $57.845, which shows as $115.69, not $115.70
  assert plan.cost.monthly < $115.69 : "plan costs ${plan.cost.monthly}/month"
  for r in resources where r.type == "compute" {
    assert r.cost.monthly < $57.845 : "${r.address} costs ${r.cost.monthly}"
  }
}
MOKSHA

# ---- cost ----
expect_exit 0 moksha cost
expect_match "$OUT" '^compute\.web\[0\] .* c6a\.large +\$57\.85$'
expect_contains "$OUT" 'total: $115.69/month, delta +$115.69 against applied ($0.00)'
expect_not_contains "$OUT" '$57.84'
expect_exit 0 moksha cost --format markdown
expect_contains "$OUT" '| `compute.web[0]` | aws | us-east-1 | c6a.large | $57.85 |'
expect_contains "$OUT" '**Total: $115.69/month**'
expect_exit 0 moksha cost --format json
expect_contains "$OUT" '"monthly":"115.69","applied":"0.00","delta":"115.69"'
expect_contains "$OUT" '"offering":"c6a.large","monthly":"57.85"'

# ---- plan: text, markdown, json ----
expect_exit 0 moksha plan
expect_match "$OUT" '^ +\+ compute\.web\[0\]  on aws/us-east-1 c6a\.large  \$57\.85/month$'
expect_contains "$OUT" 'Cost: $115.69 a month (+$115.69).'
expect_contains "$OUT" 'compute.web[1] costs $57.85'
expect_contains "$OUT" 'plan costs $115.69/month'
expect_exit 0 moksha plan --format markdown
expect_contains "$OUT" '| ➕ | `compute.web[0]` | create | low | aws/us-east-1 c6a.large | $57.85 |'
expect_contains "$OUT" 'Cost: $115.69 a month (+$115.69).'
expect_exit 0 moksha plan --format json
# (a delta that is the monthly cost is left out: docs/formats.md, "Defaults")
expect_contains "$OUT" '"cost":{"monthly":"57.85","offering":"c6a.large"}'
expect_contains "$OUT" '"cost":{"currency":"USD","monthly":"115.69","applied":"0.00","delta":"115.69"'
# money never passes through binary floating point on its way out
expect_not_contains "$OUT" '57.844'
expect_not_contains "$OUT" '57.845000'
# the language: exact sums, one rounding for the text, every digit in JSON
expect_contains "$OUT" '"fee":"$1.01 $1.31 $3.02 $3.33 -$1.01"'
expect_contains "$OUT" '"exact":["$1.005","$0.30","$3.333333"]'

# ---- policy check: the same figures, and exact comparisons ----
expect_exit 0 moksha policy check
expect_contains "$OUT" 'plan costs $115.69/month'
expect_contains "$OUT" 'compute.web[0] costs $57.85'
expect_contains "$OUT" 'compute.web[1] costs $57.85'

# ---- bad money is an error at the literal, never rounded or wrapped ----
cat > bad.moksha <<'MOKSHA'
let tiny = $0.0000001
let huge = $9_000_000_000_000 * 2
MOKSHA
expect_exit 1 moksha check
expect_contains "$ERR" 'bad.moksha:1:12: error[E0004]: money has at most 6 decimal places'
expect_contains "$ERR" 'bad.moksha:2:12: error[E0209]: arithmetic overflow'
rm bad.moksha

# ---- placement policies see the price at the place they try, never null ----
cd .. && mkdir priced && cd priced || exit 1
cat > main.moksha <<'MOKSHA'
stack priced { env = "dev" }

provider sim {}

resource compute web {
  cpu    = 2
  memory = 4GiB
  image  = "nginx:1.27"
  placement { providers = [aws] }
}

policy "compute-under-50" {
  enforcement = soft
  for r in resources where r.type == "compute" {
    assert r.cost.monthly < $50 : "${r.address} costs ${r.cost.monthly} on ${r.placement.offering}"
  }
}
MOKSHA
expect_exit 3 moksha plan
expect_contains "$OUT" 'compute.web costs $57.85 on c6a.large'
expect_not_contains "$ERR" 'cannot compare'

# ---- a plan never shows a move it cannot make (note [no moves] in compiler/pipeline.c) ----
cd .. && mkdir moved && cd moved || exit 1
cat > main.moksha <<'MOKSHA'
stack moved { env = "dev" }

provider sim {}

resource compute web {
  cpu    = 2
  memory = 4GiB
  image  = "nginx:1.27"
  placement { providers = [aws] }
}
MOKSHA
expect_exit 0 moksha plan -o plan.json
expect_exit 0 moksha apply plan.json --yes
sed 's/providers = \[aws\]/providers = [gcp]/' main.moksha > main.new && mv main.new main.moksha
expect_exit 0 moksha cost --replace-placement compute.web
expect_match "$OUT" '^compute\.web +gcp +us-central1 +e2-standard-2 +\$49\.72$'
expect_exit 1 moksha plan --replace-placement compute.web
expect_contains "$ERR" 'error[E0402]: compute.web is applied on aws/us-east-1; --replace-placement finds gcp/us-central1 cheaper'
expect_exit 1 moksha plan -o plan2.json --replace-placement compute.web
[ -e plan2.json ] && fail "a plan that would move an applied resource must not be saved"
expect_exit 0 moksha plan
expect_contains "$OUT" 'No changes'
