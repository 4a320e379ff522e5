# test_env_service.sh — environments through the executor service
# (docs/environments.md, docs/trust.md "The service"): with
# MOKSHA_EXEC_SOCKET set, `moksha --env NAME` plans against the state the
# service keeps for that environment, applies there, and reads its state
# list, audit log and observations there; dev's and prod's files are apart
# under the stack's directory; a plan of one environment submitted under
# another is refused (exit 6) and changes nothing; a request naming a bad
# environment is refused. Needs root (useradd, setpriv): skipped otherwise.
SERVE_TEST=test_env_service
. "$TOP/tests/e2e/serve_lib.sh"

service_config 0660
start_service
make_stack shop 1ms 1
mkdir -p "$BASE/sub/shop/env"
printf 'var tier: string = "none"\noutput tier = var.tier\n' >> "$BASE/sub/shop/main.moksha"
printf 'tier: low\n' > "$BASE/sub/shop/env/dev.yaml"
printf 'tier: critical\n' > "$BASE/sub/shop/env/prod.yaml"
chown -R "$SUB:$SUB" "$BASE/sub"
enter "$BASE/sub/shop" || exit 1

expect_exit 0 as_submitter "$BASE/bin/moksha" --env dev apply --yes
expect_contains "$OUT" 'Apply complete: 2 created'
DIR=$(service_dir shop)
[ -f "$DIR/.moksha/env/dev/state.json" ] && [ ! -e "$DIR/.moksha/state.json" ] && [ ! -e "$DIR/.moksha/env/prod" ] &&
    e2e_ok || e2e_bad "dev's apply through the service did not write dev's files alone"
# prod has no state at the service yet: its plan creates everything
expect_exit 2 as_submitter "$BASE/bin/moksha" --env prod plan --detailed-exitcode
expect_contains "$OUT" 'moksha will make these changes to stack stack, environment prod:'
expect_exit 0 as_submitter "$BASE/bin/moksha" --env dev plan --detailed-exitcode
expect_contains "$OUT" 'No changes in environment dev'
expect_exit 0 as_submitter "$BASE/bin/moksha" --env prod apply --yes
[ -f "$DIR/.moksha/env/prod/state.json" ] && e2e_ok || e2e_bad "prod's apply wrote no prod state at the service"

# the stack ops, per environment
expect_exit 0 as_service "$BASE/bin/moksha-exec" -C "$DIR" --env prod state list
cp "$OUT" "$WORK/svc-prod"
expect_exit 0 as_submitter "$BASE/bin/moksha" --env prod state list
expect_same "$OUT" "$WORK/svc-prod"
expect_exit 0 as_service "$BASE/bin/moksha-exec" -C "$DIR" --env dev state list
cp "$OUT" "$WORK/svc-dev"
if cmp -s "$WORK/svc-dev" "$WORK/svc-prod"; then e2e_bad "dev's and prod's states list the same ids"; else e2e_ok; fi
expect_exit 0 as_submitter "$BASE/bin/moksha" --env dev audit verify
expect_exit 0 as_submitter "$BASE/bin/moksha" --env prod refresh
[ -f "$DIR/.moksha/env/prod/observed.json" ] && [ ! -e "$DIR/.moksha/env/dev/observed.json" ] &&
    e2e_ok || e2e_bad "prod's refresh through the service did not write prod's observations alone"

# a plan of one environment submitted under another: refused, nothing applied
expect_exit 0 as_submitter "$BASE/bin/moksha" --env prod plan -o prod.plan
cp "$DIR/.moksha/env/dev/state.json" "$WORK/dev.state"
expect_exit 6 as_submitter "$BASE/bin/moksha" --env dev apply prod.plan
expect_contains "$ERR" 'the plan was made for environment prod, and --env (or MOKSHA_ENV) selects environment dev'
expect_same "$WORK/dev.state" "$DIR/.moksha/env/dev/state.json"
stop_service
expect_contains "$BASE/serve.log" "env dev"
