# test_env_links.sh — an environment's directories are the stack's own
# (docs/environments.md): .moksha/env/prod a symbolic link to dev,
# .moksha/env or .moksha a link elsewhere, or a file in the place of one, is
# refused by moksha-exec (every command given --env, the apply before any
# write) and by moksha's plan (E0300), naming the path; dev's state and sim
# world are untouched; without --env nothing changes.
. "$TOP/tests/e2e/lib.sh"

export MOKSHA_KEY=be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c
unset MOKSHA_ENV
mkdir stack && cd stack || exit 1
mkdir env && : > env/dev.yaml && : > env/prod.yaml
cat > main.moksha <<'M'
stack shop {}
provider sim { latency = 1ms }
resource network main { cidr = "10.20.0.0/16", tags = { env = stack.env } }
M
expect_exit 0 moksha apply --env dev --yes
dev_files() { find .moksha/env/dev -type f | sort | xargs sha256sum; }
dev_files > "$WORK/dev.before"

# ---- .moksha/env/prod -> dev ----
ln -s dev .moksha/env/prod
expect_exit 1 moksha plan --env prod   # the executor, asked where the state is, refuses first
expect_contains "$ERR" "moksha-exec: error: --env: environment prod: .moksha/env/prod is a symbolic link"
# the compiler's own read, with no executor to ask (a copy of moksha alone)
mkdir "$WORK/alone" && cp "$MOKSHA" "$WORK/alone/moksha"
expect_exit 1 env PATH=/usr/bin:/bin "$WORK/alone/moksha" plan --env prod
expect_contains "$ERR" "error[E0300]: the state cannot be read: .moksha/env/prod is a symbolic link"
expect_exit 1 moksha apply --env prod --yes
expect_contains "$ERR" ".moksha/env/prod is a symbolic link"
expect_exit 1 "$MOKSHA_EXEC" --env prod state list
expect_contains "$ERR" ".moksha/env/prod is a symbolic link: an environment's directories are the stack's own"
expect_exit 1 env MOKSHA_ENV=prod "$MOKSHA_EXEC" audit verify
expect_contains "$ERR" ".moksha/env/prod is a symbolic link"
expect_exit 1 "$MOKSHA_EXEC" --env prod sim ls
dev_files > "$WORK/dev.after"
expect_same "$WORK/dev.before" "$WORK/dev.after"
rm .moksha/env/prod

# ---- a file in its place ----
: > .moksha/env/prod
expect_exit 1 env PATH=/usr/bin:/bin "$WORK/alone/moksha" plan --env prod
expect_contains "$ERR" ".moksha/env/prod is not a directory"
expect_exit 1 "$MOKSHA_EXEC" --env prod state list
expect_contains "$ERR" ".moksha/env/prod is not a directory"
rm .moksha/env/prod

# ---- .moksha/env, .moksha: links to another stack's ----
mkdir -p "$WORK/other/.moksha/env/prod"
mv .moksha/env "$WORK/env.kept" && ln -s "$WORK/other/.moksha/env" .moksha/env
expect_exit 1 env PATH=/usr/bin:/bin "$WORK/alone/moksha" plan --env prod
expect_contains "$ERR" ".moksha/env is a symbolic link"
expect_exit 1 "$MOKSHA_EXEC" --env prod state list
expect_contains "$ERR" ".moksha/env is a symbolic link"
rm .moksha/env && mv "$WORK/env.kept" .moksha/env
mv .moksha "$WORK/moksha.kept" && ln -s "$WORK/other/.moksha" .moksha
expect_exit 1 env PATH=/usr/bin:/bin "$WORK/alone/moksha" plan --env prod
expect_contains "$ERR" ".moksha is a symbolic link"
expect_exit 1 "$MOKSHA_EXEC" --env dev state list
expect_contains "$ERR" ".moksha is a symbolic link"
[ ! -e "$WORK/other/.moksha/env/prod/state.json" ] && e2e_ok || e2e_bad "a state was written through the link"
rm .moksha && mv "$WORK/moksha.kept" .moksha

# ---- plain directories: as before ----
expect_exit 0 moksha apply --env prod --yes
expect_file .moksha/env/prod/state.json
expect_exit 0 moksha plan --env dev --detailed-exitcode
