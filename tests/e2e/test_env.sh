# test_env.sh — environments of one stack on the local backend
# (docs/environments.md): dev and prod applied and planned independently
# (their own state, audit log and simulated cloud under .moksha/env/NAME/),
# variables layered env/global.yaml < env/NAME.yaml < --var-file <
# MOKSHA_VAR_* < --var with a map merged across the layers, stack.env from
# --env, DESIGN's prod-destroy-approval gating only in prod, plans bound to
# their environment (exit 6 under another), an unknown environment refused,
# moksha-exec's state, audit and refresh per environment, and nothing of it
# without --env.
. "$TOP/tests/e2e/lib.sh"

export MOKSHA_KEY=be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c
unset MOKSHA_ENV
mkdir stack && cd stack || exit 1
mkdir env policies
cat > main.moksha <<'EOF'
stack shop {
  env = "dev"
}
var replicas: int = 1
var labels: map(string) = {}
var limits: map(map(int)) = {}
let tags = { env = stack.env } + var.labels
provider sim { latency = 1ms }
resource network main {
  cidr = "10.20.0.0/16"
  tags = tags
}
resource compute web {
  count   = var.replicas
  cpu     = 2
  memory  = 4GiB
  image   = "nginx:1.27"
  network = network.main
  tags    = tags + { index = "${count.index}" }
}
output limits = var.limits
EOF
cat > policies/prod.moksha <<'EOF'
policy "prod-destroy-approval" {
  enforcement = hard
  for c in changes where c.action in ["delete", "replace"] && stack.env == "prod" {
    require approval("sre") : "${c.address} will be ${c.action}d in prod"
  }
}
EOF
cat > env/global.yaml <<'EOF'
labels:
  cost_center: shop-42
  team: shop
limits:
  web:
    cpu: 2
    memory: 4
EOF
printf 'replicas: 1\n' > env/dev.yaml
cat > env/prod.yaml <<'EOF'
replicas: 2
labels:
  tier: critical
limits:
  web:
    cpu: 8
EOF

# ---- the layers: a map merged key by key across global, env and --var-file ----
cat > ../extra.yaml <<'EOF'
labels:
  team: checkout
limits:
  db:
    cpu: 4
EOF
expect_exit 0 moksha --env prod plan --format json --var-file ../extra.yaml
expect_contains "$OUT" '"env":"prod"'
expect_contains "$OUT" '"tags":{"env":"prod","cost_center":"shop-42","team":"checkout","tier":"critical"}'
expect_contains "$OUT" '"outputs":{"limits":{"web":{"cpu":8,"memory":4},"db":{"cpu":4}}}'
# MOKSHA_VAR_* and --var are layers too: over the files, merged the same way
expect_exit 0 env MOKSHA_VAR_labels='{ owner = "ops" }' "$MOKSHA" --env prod plan --format json --var 'limits={ web = { memory = 16 } }'
expect_contains "$OUT" '"tags":{"env":"prod","cost_center":"shop-42","team":"shop","tier":"critical","owner":"ops"}'
expect_contains "$OUT" '"outputs":{"limits":{"web":{"cpu":8,"memory":16}}}'
# a list or a scalar replaces: replicas is prod's, then --var's
expect_exit 0 moksha --env prod plan --var replicas=3
expect_contains "$OUT" 'Plan: 4 to create'
# without --env nothing is layered, and a var file's map replaces the default as before
expect_exit 0 moksha plan --format json --var-file ../extra.yaml
expect_contains "$OUT" '{"format":"moksha.plan/v1","stack":"shop","inputs_digest":'
expect_contains "$OUT" '"tags":{"env":"dev","team":"checkout"}'
# a bad env file is a var file's error, at file:line:col
printf 'replicas: [1\n' > env/broken.yaml
expect_exit 1 moksha --env broken plan
expect_contains "$ERR" "env/broken.yaml:2:1: error[E0212]: invalid YAML"
rm env/broken.yaml

# ---- an unknown environment: refused, with the closest name and the file to create ----
expect_exit 1 moksha --env prdo plan
expect_contains "$ERR" "this stack has no environment \`prdo\` (no env/prdo.yaml, and no state at .moksha/env/prdo/state.json): did you mean \`prod\`?"
expect_contains "$ERR" "create env/prdo.yaml"
expect_exit 1 env MOKSHA_ENV=Prod "$MOKSHA" plan
expect_contains "$ERR" "MOKSHA_ENV: \`Prod\` is not an environment's name"
expect_exit 1 moksha plan --env global
expect_contains "$ERR" "\`global\` is not an environment"
[ ! -e .moksha/env ] && e2e_ok || e2e_bad "a refused environment made a directory"

# ---- dev and prod applied independently ----
expect_exit 0 moksha --env dev apply --yes --policies policies
expect_file .moksha/env/dev/state.json
expect_file .moksha/env/dev/sim/network.main.json
[ ! -e .moksha/state.json ] && [ ! -e .moksha/sim ] && e2e_ok || e2e_bad "dev's apply wrote the no-environment files"
expect_exit 0 env MOKSHA_ENV=prod "$MOKSHA" apply --yes --policies policies
expect_file .moksha/env/prod/sim/compute.web_5b1_5d.json
[ ! -e .moksha/env/dev/sim/compute.web_5b1_5d.json ] && e2e_ok || e2e_bad "prod's apply made an object in dev's cloud"
expect_exit 0 "$MOKSHA_EXEC" state list --env prod
expect_match "$OUT" '^compute\.web\[1\] '
expect_exit 0 "$MOKSHA_EXEC" --env dev state list
expect_not_contains "$OUT" 'compute.web[1]'
expect_exit 0 moksha --env prod state list
expect_match "$OUT" '^compute\.web\[1\] '

# dev changes; prod's state, audit log and cloud stay byte for byte
(cd .moksha/env/prod && find . -type f -exec sha256sum {} + | sort) > ../prod.before
printf 'replicas: 2\nlabels:\n  stage: qa\n' > env/dev.yaml
expect_exit 0 moksha --env dev apply --yes --policies policies
expect_contains "$OUT" '1 created, 2 updated'
(cd .moksha/env/prod && find . -type f -exec sha256sum {} + | sort) > ../prod.after
expect_same ../prod.before ../prod.after
# prod plans against its own state: only its own change
printf 'replicas: 2\nlabels:\n  tier: critical\n  on_call: sre\n' > env/prod.yaml
expect_exit 2 moksha --env prod plan --detailed-exitcode
expect_contains "$OUT" 'moksha will make these changes to stack shop, environment prod:'
expect_contains "$OUT" 'Plan: 0 to create, 3 to update, 0 to replace, 0 to delete.'
expect_not_contains "$OUT" 'stage'
expect_exit 0 moksha --env dev plan --detailed-exitcode
expect_contains "$OUT" 'No changes in environment dev: the infrastructure matches the spec.'

# ---- stack.env and DESIGN's prod-destroy-approval: a gate in prod only ----
expect_exit 0 moksha --env dev plan --policies policies --var replicas=1
expect_contains "$OUT" '0 approval gates'
expect_exit 0 moksha --env prod plan --policies policies --var replicas=1 -o ../prod-shrink.plan
expect_contains "$OUT" 'approval by sre needed for compute.web[1]: compute.web[1] will be deleted in prod'
expect_exit 3 "$MOKSHA_EXEC" apply ../prod-shrink.plan   # (what the gate does not hold is applied: the new tags)
expect_contains "$ERR" 'approval gate prod-destroy-approval on compute.web[1] is closed'
expect_contains "$OUT" '2 updated, 0 replaced, 0 deleted'
expect_exit 0 moksha --env dev apply --yes --policies policies --var replicas=1
expect_contains "$OUT" '1 deleted'

# ---- plans are bound to their environment ----
expect_exit 0 moksha --env prod plan -o ../prod.plan
expect_exit 0 "$MOKSHA_EXEC" verify ../prod.plan
expect_contains "$OUT" "valid plan for stack shop, environment prod (state serial"
expect_exit 0 moksha show ../prod.plan
expect_contains "$OUT" 'moksha will make these changes to stack shop, environment prod:'
cp .moksha/env/dev/state.json ../dev.state
expect_exit 6 "$MOKSHA_EXEC" --env dev apply ../prod.plan
expect_contains "$ERR" 'the plan was made for environment prod, and --env (or MOKSHA_ENV) selects environment dev'
expect_contains "$ERR" 'nothing was applied'
expect_exit 6 moksha --env dev apply ../prod.plan
expect_same ../dev.state .moksha/env/dev/state.json
expect_exit 0 moksha --env prod plan -o ../dev-as-prod.plan
expect_exit 6 env MOKSHA_ENV=dev "$MOKSHA_EXEC" apply ../dev-as-prod.plan
# a plan without an environment under --env, and the other way round
expect_exit 0 moksha plan -o ../none.plan
expect_exit 6 "$MOKSHA_EXEC" --env prod apply ../none.plan
expect_contains "$ERR" 'the plan was made without an environment'
# the plan's own environment when none is selected; the edit of its env breaks its signature
expect_exit 0 "$MOKSHA_EXEC" apply ../prod.plan
expect_contains "$OUT" '1 updated'
expect_exit 0 moksha --env prod plan --detailed-exitcode
sed 's/"env":"prod"/"env":"dev"/' ../prod.plan > ../edited.plan
expect_exit 1 "$MOKSHA_EXEC" --env dev apply ../edited.plan
expect_contains "$ERR" 'the signature does not match'

# ---- audit, refresh and the simulated cloud, per environment ----
expect_exit 0 "$MOKSHA_EXEC" --env prod audit verify
expect_exit 0 moksha --env dev audit verify
"$MOKSHA_EXEC" --env dev sim set network.main cidr='"10.99.0.0/16"' >/dev/null
expect_exit 0 moksha --env prod refresh
expect_file .moksha/env/prod/observed.json
[ ! -e .moksha/env/dev/observed.json ] && e2e_ok || e2e_bad "prod's refresh wrote dev's observations"
expect_exit 2 moksha --env dev drift
expect_contains "$OUT" 'network.main'
expect_exit 0 moksha --env dev refresh
expect_exit 2 moksha --env dev plan --detailed-exitcode
expect_contains "$OUT" 'Changed outside moksha since the last apply'
expect_exit 0 moksha --env prod plan --detailed-exitcode
expect_exit 0 "$MOKSHA_EXEC" --env prod audit show
expect_contains "$OUT" 'refresh'
expect_exit 0 "$MOKSHA_EXEC" --env dev audit show
expect_contains "$OUT" 'refresh'

# ---- without --env: the stack's own files, and plans as before ----
expect_exit 0 moksha apply --yes
expect_file .moksha/state.json
expect_file .moksha/sim/network.main.json
expect_exit 0 "$MOKSHA_EXEC" state list
expect_not_contains "$OUT" 'compute.web[1]'
expect_exit 1 "$MOKSHA_EXEC" --env 'Dev!' state list
expect_contains "$ERR" "is not an environment's name"
expect_exit 1 "$MOKSHA_EXEC" serve --env dev
expect_contains "$ERR" 'serve takes no --env'
expect_exit 1 moksha fmt --env dev
expect_contains "$ERR" 'fmt takes no --env'

# ---- the project key is every environment's: rotating it for one is refused ----
(cd .moksha && find . -type f -name 'state.json' -exec sha256sum {} + | sort) > ../states.before
expect_exit 1 env MOKSHA_NEW_KEY=0b250b250b250b250b250b250b250b250b250b250b250b250b250b250b250b25 "$MOKSHA_EXEC" --env dev key rotate
expect_contains "$ERR" "the project key is shared by this stack's environments: the stack's own (.moksha/state.json), prod hold a state too"
(cd .moksha && find . -type f -name 'state.json' -exec sha256sum {} + | sort) > ../states.after
expect_same ../states.before ../states.after
