# test_apply.sh — `moksha apply` on the webapp example (local + sim): apply,
# re-plan to no changes, a change of `replicas` gives exactly that change, a
# stale plan and a concurrent apply exit 6, state and audit commands, and no
# secret in any file or output.
. "$TOP/tests/e2e/lib.sh"

SECRET="correct-horse-battery-staple-77"
export MOKSHA_VAR_db_password="$SECRET"
copy_example webapp
cd webapp

# ---- apply without a plan file needs --yes off a terminal ----
expect_exit 1 moksha apply && expect_contains "$ERR" "pass --yes"
expect_exit 0 moksha apply --yes && expect_contains "$OUT" "Apply complete: 6 created"
expect_not_contains "$OUT" "the follow-up plan"   # motd interpolates the database's id: filled in by the executor
expect_file .moksha/state.json
expect_file .moksha/state.json.prev
expect_file .moksha/out/motd.txt
expect_match .moksha/out/motd.txt '^web x2 in prod, db db-[0-9a-f]+$'
[ "$(ls .moksha/sim | wc -l)" -eq 5 ] || fail "the sim world should hold 5 objects, holds $(ls .moksha/sim | wc -l)"
expect_contains .moksha/sim/database.orders.json '"fingerprint"'

# ---- re-plan: nothing to do ----
expect_exit 0 moksha plan --detailed-exitcode && expect_contains "$OUT" "Plan: 0 to create, 0 to update, 0 to replace, 0 to delete."
expect_exit 0 moksha apply --yes && expect_contains "$OUT" "No changes."

# ---- state commands ----
expect_exit 0 moksha state list && expect_contains "$OUT" "compute.web[1]"
expect_match "$OUT" '^database\.orders +sim +aws/us-east-1 +db-'
expect_exit 0 moksha state show 'compute.web[0]' && expect_contains "$OUT" '"region": "europe-west1"'   # the cheapest of the allowed regions
expect_contains "$OUT" '"$ref": "network.main"'
expect_exit 1 moksha state show compute.nope && expect_contains "$ERR" "no resource"

# ---- replicas 2 → 3: exactly one create, and motd's content follows ----
expect_exit 2 moksha plan --detailed-exitcode --var replicas=3 -o three.plan
expect_contains "$OUT" "Plan: 1 to create, 1 to update, 0 to replace, 0 to delete."
expect_contains "$OUT" "+ compute.web[2]"
expect_contains "$OUT" "~ local.file.motd"
expect_exit 0 moksha apply three.plan && expect_contains "$OUT" "1 created, 1 updated"
expect_match .moksha/out/motd.txt '^web x3 in prod'
# web_ids was known only after that apply: the next plan shows it, and applying records it alone
expect_exit 2 moksha plan --detailed-exitcode --var replicas=3
expect_contains "$OUT" "Changes to outputs:"
expect_match "$OUT" '^    ~ web_ids: \(known after apply\) → \['
expect_exit 0 moksha apply --yes --var replicas=3 && expect_contains "$OUT" "the stack's outputs recorded"
expect_match .moksha/state.json '"web_ids": \['
expect_exit 0 moksha plan --detailed-exitcode --var replicas=3

# ---- the same plan again is stale ----
expect_exit 6 moksha apply three.plan && expect_contains "$ERR" "the plan is stale"
[ "$(grep -c "the plan is stale" "$ERR")" -eq 1 ] || fail "the stale message is not printed exactly once: $(cat "$ERR")"
expect_exit 6 "$MOKSHA_EXEC" apply three.plan

# ---- a second apply while one holds the lock ----
cat > slow.moksha <<'M'
resource bucket slow { versioning = true }
M
sed -i 's/provider sim { latency = 20ms }/provider sim { latency = 1500ms }/' main.moksha
expect_exit 2 moksha plan --detailed-exitcode --var replicas=3 -o slow.plan
moksha apply slow.plan >first.out 2>&1 &
first=$!
i=0
while [ ! -f .moksha/state.lock ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
expect_exit 6 moksha apply slow.plan && expect_contains "$ERR" "the state is locked by"
expect_contains "$ERR" "for apply since"
expect_contains "$ERR" "moksha state unlock"
wait $first || fail "the first apply failed: $(cat first.out)"
[ -f .moksha/state.lock ] && fail "the lock is still there after the first apply ended"

# ---- unlock frees a dead holder's lock ----
echo '{"id":"dead-beef","holder":"someone@elsewhere pid 1","pid":1,"host":"elsewhere","operation":"apply","time":"2020-01-01T00:00:00Z"}' > .moksha/state.lock
expect_exit 6 moksha apply --yes --var replicas=2 && expect_contains "$ERR" "someone@elsewhere"
expect_exit 1 moksha state unlock wrong-id --reason "test: a dead holder" && expect_contains "$ERR" "not wrong-id"
expect_exit 0 moksha state unlock dead-beef --reason "test: a dead holder" && expect_contains "$OUT" "Unlocked"

# ---- state rm forgets, the next plan creates again ----
expect_exit 0 moksha state rm bucket.slow && expect_contains "$OUT" "Removed bucket.slow"
expect_exit 2 moksha plan --detailed-exitcode --var replicas=3 && expect_contains "$OUT" "+ bucket.slow"

# ---- the audit log ----
expect_exit 0 moksha audit verify && expect_contains "$OUT" "chain intact"
expect_exit 0 moksha audit show && expect_contains "$OUT" "apply.start"
expect_contains "$OUT" "state.rm"
expect_match "$OUT" 'lock.broken .*reason="test: a dead holder" .*lock_id=dead-beef'

# ---- no secret anywhere ----
for f in $(find .moksha -type f) "$OUT" "$ERR" first.out; do
    expect_not_contains "$f" "$SECRET"
done

# ---- a secret in a template known only after apply: its text is sealed in
# the plan, the executor joins it and gives the file and the state the
# result, the state's sealed (note [secret templates] in vjson.c) ----
leave
mkdir -p tmpl
enter tmpl && {
    cat > main.moksha <<'SPEC'
stack tmpl {}
var db_password: secret
provider local { root = ".moksha/out" }
resource local.file id {
  path    = "id.txt"
  content = "x"
}
resource local.file conn {
  path    = "conn.txt"
  content = "${var.db_password}@${local.file.id.id}"
}
SPEC
    export MOKSHA_KEY=60e1d3c2b4a5968778695a4b3c2d1e0f60e1d3c2b4a5968778695a4b3c2d1e0f
    expect_exit 0 moksha plan -o t.plan
    expect_contains t.plan '"$template":[{"$secret":'
    expect_exit 0 moksha plan --format json
    expect_not_contains "$OUT" "$SECRET"
    expect_exit 0 moksha show --format json t.plan
    expect_not_contains "$OUT" "$SECRET"
    expect_exit 0 moksha apply t.plan
    expect_file .moksha/out/conn.txt
    expect_match .moksha/out/conn.txt "^$SECRET@"
    expect_contains .moksha/state.json '"$secret"'
    sed -i 's/content = "x"/content = "y"/' main.moksha
    expect_exit 0 moksha plan
    for f in $(find .moksha -type f ! -path '.moksha/out/*') t.plan "$OUT" "$ERR"; do
        expect_not_contains "$f" "$SECRET"
    done
    unset MOKSHA_KEY
    leave
}
