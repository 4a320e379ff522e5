# test_vars.sh — variables from outside the source, end to end: one
# --var-file, several (a later file replaces a variable an earlier one set,
# whole: maps are not merged), precedence against MOKSHA_VAR_* and --var
# (default < file < environment < flag), bad files (file:line:col with a
# caret), and a secret from a var file never shown anywhere.
. "$TOP/tests/e2e/lib.sh"

export MOKSHA_KEY=0a250a250a250a250a250a250a250a250a250a250a250a250a250a250a250a25
mkdir stack && cd stack || exit 1
cat > main.moksha <<'EOF'
var replicas: int = 1 where replicas >= 1 && replicas <= 20 : "replicas must be 1..20"
var region: string = "eu-west-1"
var tags: map(string) = { team = "web" }
var memory: size = 1GiB
var db_password: secret

provider local { root = ".moksha/out" }

resource local.file motd {
  path    = "motd.txt"
  content = "replicas=${var.replicas} region=${var.region} memory=${var.memory} tags=${jsonencode(var.tags)}\n"
}

resource local.file secret {
  path    = "secret.txt"
  content = var.db_password
}
EOF
cat > base.yaml <<'EOF'
# the values every environment shares
replicas: 3
region: "us-east-1"
memory: 2GiB
tags:
  team: ops
  env: dev
db_password: s3cret-from-file
EOF
cat > prod.yaml <<'EOF'
replicas: 5
tags:
  owner: me
EOF

# ---- one file: every value, typed as its variable ----
expect_exit 0 moksha plan --var-file base.yaml &&
    expect_contains "$OUT" 'replicas=3 region=us-east-1 memory=2GiB tags={\"team\":\"ops\",\"env\":\"dev\"}'
expect_contains "$OUT" 'content = (sensitive)'
expect_exit 0 moksha check --var-file base.yaml

# ---- several files: the later one wins per variable; a map is replaced whole ----
expect_exit 0 moksha plan --var-file base.yaml --var-file prod.yaml &&
    expect_contains "$OUT" 'replicas=5 region=us-east-1 memory=2GiB tags={\"owner\":\"me\"}'
expect_exit 0 moksha plan --var-file prod.yaml --var-file base.yaml &&
    expect_contains "$OUT" 'replicas=3 region=us-east-1 memory=2GiB tags={\"team\":\"ops\",\"env\":\"dev\"}'
# a variable no file sets keeps its default
printf 'db_password: x\n' > only-secret.yaml
expect_exit 0 moksha plan --var-file only-secret.yaml &&
    expect_contains "$OUT" 'replicas=1 region=eu-west-1 memory=1GiB tags={\"team\":\"web\"}'
# an empty file sets nothing
: > empty.yaml
expect_exit 0 moksha plan --var-file empty.yaml --var-file only-secret.yaml &&
    expect_contains "$OUT" 'replicas=1 region=eu-west-1'

# ---- precedence: default < file < MOKSHA_VAR_* < --var ----
expect_exit 0 env MOKSHA_VAR_replicas=7 "$MOKSHA" plan --var-file base.yaml &&
    expect_contains "$OUT" 'replicas=7 region=us-east-1'
expect_exit 0 env MOKSHA_VAR_replicas=7 "$MOKSHA" plan --var-file base.yaml --var replicas=9 &&
    expect_contains "$OUT" 'replicas=9 region=us-east-1'
expect_exit 0 moksha plan --var replicas=9 --var-file base.yaml &&   # order on the line does not matter
    expect_contains "$OUT" 'replicas=9'
expect_exit 0 env MOKSHA_VAR_tags='{ a = "b" }' "$MOKSHA" plan --var-file base.yaml &&
    expect_contains "$OUT" 'tags={\"a\":\"b\"}'
# a value from the environment is checked at its own place, not the file's
expect_exit 1 env MOKSHA_VAR_replicas=40 "$MOKSHA" plan --var-file base.yaml &&
    expect_contains "$ERR" "replicas must be 1..20"
expect_contains "$ERR" "from MOKSHA_VAR_replicas"
expect_not_contains "$ERR" "base.yaml"

# ---- bad files: file:line:col, the line, a caret ----
printf 'replicas: [1, 2\nregion: us-east-1\n' > broken.yaml
expect_exit 1 moksha plan --var-file broken.yaml --var-file only-secret.yaml &&
    expect_match "$ERR" '^broken\.yaml:[0-9]+:[0-9]+: error\[E0212\]: invalid YAML'
expect_contains "$ERR" "    1 | replicas: [1, 2"
expect_match "$ERR" '^ +\| +\^'
expect_contains "$ERR" "help: a var file looks like"
printf 'replicas: 3\nmemory: 4\n' > typed.yaml
expect_exit 1 moksha plan --var-file typed.yaml --var-file only-secret.yaml &&
    expect_contains "$ERR" "typed.yaml:2:9: error[E0203]"
expect_contains "$ERR" "    2 | memory: 4"
printf 'replicas: 30\n' > range.yaml
expect_exit 1 moksha plan --var-file range.yaml --var-file only-secret.yaml &&
    expect_contains "$ERR" "range.yaml:1:11: error[E0205]: replicas must be 1..20"
printf 'replica: 3\n' > misspelt.yaml
expect_exit 1 moksha plan --var-file misspelt.yaml --var-file only-secret.yaml &&
    expect_contains "$ERR" "misspelt.yaml:1:1: error[E0212]: \`replica\` is not a variable of this stack"
expect_contains "$ERR" "did you mean \`replicas\`?"
printf -- '- 3\n' > list.yaml
expect_exit 1 moksha plan --var-file list.yaml && expect_contains "$ERR" "list.yaml:1:1: error[E0212]: a var file is a YAML mapping"
expect_exit 1 moksha plan --var-file no-such.yaml && expect_contains "$ERR" "cannot read var file \`no-such.yaml\`"

# ---- a secret from a var file is never shown ----
expect_exit 0 moksha plan --var-file base.yaml -o p.plan
expect_not_contains "$OUT" "s3cret-from-file"
expect_not_contains p.plan "s3cret-from-file"
expect_exit 0 moksha plan --var-file base.yaml --format json && expect_not_contains "$OUT" "s3cret-from-file"
expect_exit 0 moksha show p.plan && expect_not_contains "$OUT" "s3cret-from-file"
expect_exit 0 moksha apply p.plan && expect_not_contains "$OUT" "s3cret-from-file"
expect_not_contains "$ERR" "s3cret-from-file"
expect_not_contains .moksha/state.json "s3cret-from-file"
expect_not_contains .moksha/audit.jsonl "s3cret-from-file"
expect_contains .moksha/out/secret.txt "s3cret-from-file"   # the provider, and only it, gets the value
# ... nor in a diagnostic about the file: a misspelt or mistyped secret, a broken file
printf 'db_pasword: s3cret-misspelt\n' > leak1.yaml
expect_exit 1 moksha plan --var-file leak1.yaml && expect_contains "$ERR" "leak1.yaml:1:1"
expect_not_contains "$ERR" "s3cret-misspelt"
printf 'db_password: [s3cret-listed]\n' > leak2.yaml
expect_exit 1 moksha plan --var-file leak2.yaml && expect_contains "$ERR" "leak2.yaml:1:14: error[E0200]"
expect_not_contains "$ERR" "s3cret-listed"
printf 'db_password: s3cret-broken\nreplicas: [\n' > leak3.yaml
expect_exit 1 moksha plan --var-file leak3.yaml && expect_contains "$ERR" "leak3.yaml:"
expect_not_contains "$ERR" "s3cret-broken"
expect_exit 1 moksha check --format json --var-file leak1.yaml && expect_not_contains "$OUT" "s3cret-misspelt"

# ---- a --var naming no variable: an error with the closest name ----
expect_exit 1 moksha plan --var replica=3 --var-file only-secret.yaml &&
    expect_contains "$ERR" "--var sets \`replica\`, but the stack declares no such variable"
expect_contains "$ERR" "did you mean \`replicas\`?"
