# test_plan.sh — `moksha plan`, `show` and `graph` on the webapp example as a
# user runs them: six creates, a saved plan that show and moksha-exec verify
# accept, tampering refused, the detailed exit code, and no secret anywhere.
. "$TOP/tests/e2e/lib.sh"

SECRET="correct-horse-battery-staple-77"
copy_example webapp
cd webapp

# ---- plan: the design's stack is six creates ----
expect_exit 1 moksha plan && expect_contains "$ERR" "error[E0211]: variable \`db_password\` has no value"
export MOKSHA_VAR_db_password="$SECRET"
expect_exit 2 moksha plan --detailed-exitcode -o plan.json &&
    expect_contains "$OUT" "Plan: 6 to create, 0 to update, 0 to replace, 0 to delete."
expect_match "$OUT" "password +=  ?\(sensitive\)"
expect_file plan.json
expect_file .moksha/key
expect_match .moksha/key '^[0-9a-f]{64}$'
[ "$(stat -c %a .moksha/key)" = 600 ] || fail ".moksha/key should have mode 600, has $(stat -c %a .moksha/key)"

# ---- show and the executor's verification accept the saved plan ----
expect_exit 0 moksha show plan.json && expect_contains "$OUT" "Plan: 6 to create"
expect_exit 0 "$MOKSHA_EXEC" verify plan.json && expect_contains "$OUT" "valid plan for stack webapp"
expect_exit 0 moksha show --format markdown plan.json && expect_contains "$OUT" "| ➕ | \`database.orders\` | create | low |"

# ---- an altered plan is refused by both ----
sed 's/"cpu":2/"cpu":64/' plan.json > altered.json
expect_exit 1 moksha show altered.json && expect_contains "$ERR" "altered after it was signed"
expect_exit 1 "$MOKSHA_EXEC" verify altered.json && expect_contains "$ERR" "altered after it was signed"
expect_exit 1 env MOKSHA_KEY=0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e "$MOKSHA_EXEC" verify plan.json &&
    expect_contains "$ERR" "another project key"

# ---- graph ----
expect_exit 0 moksha graph && expect_contains "$OUT" "digraph plan"
expect_contains "$OUT" "compute.web[0]"
expect_exit 0 moksha graph --format json && expect_contains "$OUT" "\"moksha.graph/v1\""

# ---- no secret in any output or file ----
for f in "$OUT" "$ERR" plan.json; do
    expect_not_contains "$f" "$SECRET"
done
moksha plan --format json > plan-stdout.json 2>plan-stderr.txt
moksha plan --format markdown > plan.md 2>&1
moksha show --format json plan.json > show.json 2>&1
if grep -r -l -- "$SECRET" . >/dev/null 2>&1; then
    fail "the secret appears in: $(grep -r -l -- "$SECRET" . | tr '\n' ' ')"
fi

# ---- a state that matches: no changes, exit 0 ----
mkdir -p .moksha
cp "$TOP/tests/golden/plan/noop_webapp/state.json" .moksha/state.json
expect_exit 0 env MOKSHA_KEY=60e1d3c2b4a5968778695a4b3c2d1e0f60e1d3c2b4a5968778695a4b3c2d1e0f MOKSHA_VAR_db_password=hunter2 "$MOKSHA" plan --detailed-exitcode &&
    expect_contains "$OUT" "No changes"
# replicas 2 → 3 is exactly one more compute and the motd's content
expect_exit 2 env MOKSHA_KEY=60e1d3c2b4a5968778695a4b3c2d1e0f60e1d3c2b4a5968778695a4b3c2d1e0f MOKSHA_VAR_db_password=hunter2 "$MOKSHA" plan --detailed-exitcode --var replicas=3 &&
    expect_contains "$OUT" "Plan: 1 to create, 1 to update, 0 to replace, 0 to delete."
expect_contains "$OUT" "+ compute.web[2]"
expect_contains "$OUT" '~ local.file.motd'

# ---- the same plan in every run: providers and modules nobody refers to
# come in the order they are written, not in the order of names in memory
# (note [declaration order] in eval.c) ----
mkdir -p order/m
enter order && {
    cat > main.moksha <<'SPEC'
stack order {}
provider sim {}
provider local { root = ".moksha/out" }
provider sim other {}
provider local b { root = ".moksha/out/b" }
module zeta = "./m" { n = "z" }
module alpha = "./m" { n = "a" }
module mid = "./m" { n = "m" }
module omega = "./m" { n = "o" }
SPEC
    cat > m/main.moksha <<'SPEC'
var n: string
resource local.file f {
  path    = "${var.n}.txt"
  content = var.n
}
SPEC
    moksha plan --format json > run0.json 2>&1
    expect_contains run0.json '"providers":{"sim":'
    expect_match run0.json '"providers":\{"sim":.*"local":.*"other":.*"b":'
    expect_match run0.json '"address":"module.zeta.local.file.f".*"address":"module.alpha.local.file.f".*"address":"module.mid.local.file.f".*"address":"module.omega.local.file.f"'
    for i in 1 2 3 4 5; do
        moksha plan --format json > "run$i.json" 2>&1
        expect_same run0.json "run$i.json"
    done
    leave
}
