# test_destroy_vars.sh — destroy needs only the variables it uses: the state
# records what is deleted, so a secret (or any variable) that only resources
# read need not be set; one a provider block or a policy reads must be, or a
# policy would pass, or a gate vanish, on an unknown. The destroy's cost is
# nothing left to pay.
. "$TOP/tests/e2e/lib.sh"

mkdir stack && cd stack
cat > main.moksha <<'M'
var db_password: secret
var replicas: int
var out: string
var env: string
let prod = var.env == "prod"
provider local { root = var.out }
provider sim { latency = 1ms }
resource database orders {
  engine   = "postgres"
  version  = "16"
  cpu      = 2
  memory   = 4GiB
  storage  = 10GiB
  password = var.db_password
}
resource network net {
  count = var.replicas
  cidr  = "10.${count.index}.0.0/16"
}
resource local.file f {
  path    = "a.txt"
  content = "x"
}
M
cat > policy.moksha <<'M'
policy "prod-destroy" {
  enforcement = hard
  for c in changes where c.action == "delete" && prod {
    require approval("sre") : "${c.address} will be deleted in prod"
  }
}
M
expect_exit 0 moksha apply --yes --var db_password=hunter2 --var replicas=2 --var out=.moksha/out --var env=prod

# plan still wants every variable
expect_exit 1 moksha plan && expect_contains "$ERR" "variable \`db_password\` has no value"

# a provider's variable and a policy's are needed, each said once, at its use
expect_exit 1 moksha destroy --yes
expect_contains "$ERR" "variable \`out\` has no value"
expect_contains "$ERR" "a provider block reads it"
expect_contains "$ERR" "variable \`env\` has no value"
expect_contains "$ERR" "a policy reads it"
expect_not_contains "$ERR" "db_password"
expect_not_contains "$ERR" "replicas"
expect_exit 0 "$MOKSHA_EXEC" state list && expect_contains "$OUT" "database.orders"

# given those, the unused secret and count need nothing; the policy still holds the gate in prod
expect_exit 3 moksha destroy --yes --var out=.moksha/out --var env=prod
expect_contains "$ERR" "prod-destroy"
expect_exit 0 "$MOKSHA_EXEC" state list && expect_contains "$OUT" "database.orders"
expect_exit 0 moksha destroy --yes --var out=.moksha/out --var env=dev
expect_contains "$OUT" "4 to delete"
expect_contains "$OUT" "Cost: \$0.00 a month (-\$"
expect_not_contains "$OUT" "hunter2"
expect_exit 0 "$MOKSHA_EXEC" state list && expect_empty "$OUT"
if [ -e .moksha/out/a.txt ]; then fail "the local file was not deleted"; fi
if ls .moksha/sim | grep -q .; then fail "the sim world still holds $(ls .moksha/sim)"; fi
