# test_pg_provider.sh — the postgres provider against the suite's real
# server, next to the simulated cloud, through `moksha` as a user runs it
# (docs/providers.md, "The postgres provider"): roles planned, applied and
# re-planned to no changes; changed outside moksha (a role altered, its
# membership revoked, its password set, the role dropped) and seen by
# `moksha drift`, corrected by `moksha reconcile` within its risk boundary;
# a failure injected at every step of a plan (fail_on) rolls the world and
# the state back to what they were; kill -9 at moments of an apply, then
# an apply again, converges with every role made once and recorded once; a
# destroy leaves nothing. The password is in no file of the stack, no
# output and not in the server's log, which records every statement.
. "$TOP/tests/e2e/lib.sh"
. "$TOP/tests/e2e/pg_lib.sh"

unset MOKSHA_STACK MOKSHA_ENV MOKSHA_KEY
P=t$$ # every role of this test: the server's roles are shared by the suite
APP_PW="app-pw-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
export MOKSHA_VAR_app_password=$APP_PW

cleanup_roles() {
    roles=$(psql -d postgres -qAt -c "SELECT string_agg(quote_ident(rolname), ', ') FROM pg_roles WHERE rolname LIKE '${P}\\_%'")
    [ -n "$roles" ] && psql -d postgres -qAt -c "DROP ROLE $roles" >/dev/null 2>&1
}
trap 'cleanup_roles; pg_finish; e2e_finish' EXIT

# the executor's configuration, outside the stack; every statement the
# provider sends is logged by the server, to look for the password there
mkdir cfg && chmod 700 cfg
cat >cfg/exec.json <<JSON
{ "format": "moksha.exec-config/v1",
  "connections": { "dev": { "kind": "postgres",
    "conninfo": "host=$PGHOST port=$PGPORT user=moksha dbname=postgres options='-c log_statement=all'",
    "allow_fault_injection": true } } }
JSON
chmod 0600 cfg/exec.json
export MOKSHA_EXEC_CONFIG=$WORK/cfg/exec.json
SERVER_LOG=$MOKSHA_TEST_PG/data/server.log

q() { psql -d postgres -qAt -c "$1"; }
# the server's view of this test's roles: attributes, memberships, whose tag
roles() {
    q "SELECT r.rolname, r.rolcanlogin, r.rolconnlimit, r.rolcreatedb,
              coalesce((SELECT string_agg(g.rolname, ',' ORDER BY g.rolname) FROM pg_auth_members m
                        JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid), ''),
              coalesce(shobj_description(r.oid, 'pg_authid')::json->'moksha'->>'stack', 'untagged')
       FROM pg_roles r WHERE r.rolname LIKE '${P}\\_%' ORDER BY 1"
}
login_ok() { PGPASSWORD=$APP_PW psql -U "${P}_app" -d postgres -qAt -c "SELECT 1" >/dev/null 2>&1; }

# spec [FAIL_ON] [EXTRA]: the stack — the sim's network beside two roles
spec() {
    cat >main.moksha <<M
stack pgapp {}
var app_password: secret
provider sim { latency = 1ms }
provider postgres {
  connection = "dev"
  fail_on    = [${1:-}]
}
resource network main { cidr = "10.7.0.0/16" }
resource postgres.role readers { name = "${P}_readers" }
resource postgres.role app {
  name             = "${P}_app"
  login            = true
  password         = var.app_password
  connection_limit = 5
  member_of        = [postgres.role.readers.name]
}
${2:-}
M
}

mkdir app
enter app || exit 1

# ---- plan, apply, re-plan to no changes ----
spec
pg_run 0 plan -o p.plan
expect_contains "$OUT" "+ postgres.role.app"
expect_contains "$OUT" "password         = (sensitive)"
expect_not_contains "$OUT" "unpriced"
pg_run 0 apply p.plan
expect_contains "$OUT" "Apply complete: 3 created"
expect_match "$OUT" "created  postgres.role.app  \\[postgres\\]  id=${P}_app"
stack_id=$(cat .moksha/stack-id)
pg_same "the roles" "$(roles | tr '\n' ' ')" \
    "${P}_app|t|5|f|${P}_readers|$stack_id ${P}_readers|f|-1|f||$stack_id "
login_ok && e2e_ok || e2e_bad "${P}_app cannot log in with its password"
pg_run 0 plan --detailed-exitcode
expect_contains "$OUT" "No changes"
pg_run 0 refresh
pg_run 0 drift
jq -e '.resources | map(select(.provider == "postgres")) | all(.placement == null)' .moksha/state.json >/dev/null &&
    e2e_ok || e2e_bad "a role is recorded on a cloud: $(jq -c '.resources | map(.placement)' .moksha/state.json)"

# ---- changed outside moksha: seen by drift, corrected by reconcile ----
q "ALTER ROLE ${P}_app CONNECTION LIMIT 9" >/dev/null
q "REVOKE ${P}_readers FROM ${P}_app" >/dev/null
q "ALTER ROLE ${P}_app PASSWORD 'set-by-hand'" >/dev/null
pg_run 2 drift
expect_contains "$OUT" "postgres.role.app changed outside moksha"
expect_contains "$OUT" "connection_limit 5 → 9"
expect_contains "$OUT" "member_of"
expect_contains "$OUT" "password (sensitive) → (sensitive, changed)"
# an update is medium risk: the default boundary (low) holds it
pg_run 3 reconcile
pg_same "the connection limit after a held reconcile" "$(q "SELECT rolconnlimit FROM pg_roles WHERE rolname = '${P}_app'")" 9
pg_run 0 reconcile --auto-approve-risk medium
pg_run 0 drift
expect_contains "$OUT" "No drift"
pg_same "the roles after reconcile" "$(roles | tr '\n' ' ')" \
    "${P}_app|t|5|f|${P}_readers|$stack_id ${P}_readers|f|-1|f||$stack_id "
login_ok && e2e_ok || e2e_bad "the password was not put back"

# a role dropped outside moksha is gone; making a stateful object again is
# high risk (what it held is not in the spec), so only a wide boundary does
q "DROP ROLE ${P}_app" >/dev/null
pg_run 2 drift
expect_contains "$OUT" "postgres.role.app was deleted outside moksha"
pg_run 3 reconcile
expect_contains "$ERR" "postgres.role.app is high risk"
pg_run 0 reconcile --auto-approve-risk high
pg_same "the roles after the drop is reconciled" "$(roles | tr '\n' ' ')" \
    "${P}_app|t|5|f|${P}_readers|$stack_id ${P}_readers|f|-1|f||$stack_id "
login_ok && e2e_ok || e2e_bad "the role made again cannot log in"
pg_run 0 plan --detailed-exitcode

# ---- a failure injected at every step rolls back ----
# base: an old role to delete; the plan then makes two, changes one and
# deletes one, with the sim's network beside them
OLD='resource postgres.role old { name = "'$P'_old", createdb = true }'
spec "" "$OLD"
pg_run 0 apply --yes
snapshot before.txt
roles >before.roles
changed() { # changed FAIL_ON
    spec "$1" 'resource postgres.role ops { name = "'$P'_ops" }
resource postgres.role ci {
  name      = "'$P'_ci"
  login     = true
  member_of = [postgres.role.ops.name, postgres.role.readers.name]
}'
    sed 's/connection_limit = 5/connection_limit = 7/' main.moksha >m && mv m main.moksha
}
changed ""
pg_run 2 plan --detailed-exitcode
expect_contains "$OUT" "Plan: 2 to create, 1 to update, 0 to replace, 1 to delete"
for target in postgres.role.ops postgres.role.ci postgres.role.app postgres.role.old; do
    changed "\"$target\""
    pg_run 4 apply --yes --parallelism 2
    expect_contains "$OUT" "Rolled back"
    expect_contains "$ERR" "Apply failed: $target"
    expect_contains "$ERR" "injected failure"
    snapshot after.txt
    expect_same before.txt after.txt
    roles >after.roles
    expect_same before.roles after.roles
    # the delete of a role is irreversible: it starts only once every other
    # step succeeded, so a failure elsewhere never reaches it
    jq -rs '(map(.event) | rindex("apply.start")) as $i | .[$i:] | map(select(.event == "step") | .address) | join(" ")' \
        .moksha/audit.jsonl >steps.txt
    if [ "$target" = postgres.role.old ]; then
        expect_match steps.txt " postgres.role.old$"
    else
        expect_not_contains steps.txt postgres.role.old
    fi
done
pg_run 0 audit verify
changed ""
pg_run 0 apply --yes
pg_same "the roles after the plan applies" "$(roles | tr '\n' ' ')" \
    "${P}_app|t|7|f|${P}_readers|$stack_id ${P}_ci|t|-1|f|${P}_ops,${P}_readers|$stack_id ${P}_ops|f|-1|f||$stack_id ${P}_readers|f|-1|f||$stack_id "
pg_run 0 plan --detailed-exitcode

# ---- kill -9 mid-apply, then apply again: each role made once, recorded once ----
# a chain of roles, each a member of the one before, made one at a time
chain() {
    spec
    i=1
    echo "resource postgres.role k0 { name = \"${P}_k0\" }" >>main.moksha
    while [ $i -lt 100 ]; do
        echo "resource postgres.role k$i { name = \"${P}_k$i\", member_of = [postgres.role.k$((i - 1)).name] }" >>main.moksha
        i=$((i + 1))
    done
}
count_k() { q "SELECT count(*) FROM pg_roles WHERE rolname LIKE '${P}\\_k%'"; }
for at in 1 30 60; do
    spec
    pg_run 0 apply --yes   # no k roles
    pg_same "the chain's roles before" "$(count_k)" 0
    chain
    pg_run 0 plan -o k.plan
    kill_apply_at k.plan count_k $at --parallelism 1
    made=$(count_k)
    [ "$made" -gt 0 ] && [ "$made" -lt 100 ] && e2e_ok ||
        e2e_bad "after kill -9 at the ${at}th role the server holds $made of the chain's 100 roles (expected some, not all)"
    unlock_dead
    pg_run 0 apply --yes
    pg_same "the chain's roles after recovery" "$(count_k)" 100
    pg_same "the chain's roles in the state" "$("$MOKSHA_EXEC" state list | grep -c "^postgres.role.k")" 100
    pg_same "the chain's roles tagged by this stack" \
        "$(q "SELECT count(*) FROM pg_roles WHERE rolname LIKE '${P}\\_k%' AND shobj_description(oid, 'pg_authid')::json->'moksha'->>'stack' = '$stack_id'")" 100
    pg_same "the last role's membership" "$(roles | grep "^${P}_k99|" | cut -d'|' -f5)" "${P}_k98"
    pg_run 0 plan --detailed-exitcode
    pg_run 0 audit verify
done

# ---- destroy: nothing of this test's left on the server ----
spec
pg_run 0 destroy --yes
pg_same "the roles after destroy" "$(roles)" ""
pg_run 0 audit verify
leave

# ---- the password is the spec's variable and the executor's alone ----
if grep -rlF -- "$APP_PW" "$PG_OUTPUTS" app "$SERVER_LOG" 2>/dev/null; then
    e2e_bad "the role's password is in the files above"
else
    e2e_ok
fi
grep -q "CREATE ROLE" "$SERVER_LOG" && e2e_ok || e2e_bad "the server log holds no statement: the leak check saw nothing"
if grep -rlF -- "$PGPASSWORD" "$PG_OUTPUTS" app 2>/dev/null; then e2e_bad "the connection's password is in the files above"; else e2e_ok; fi
