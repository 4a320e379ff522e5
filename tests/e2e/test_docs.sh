#!/bin/sh
# What the docs say about behaviour that is easy to describe wrongly, checked
# against the binaries: --auto-approve-risk (docs/cli.md, executor.md,
# policies.md, --help), values known only after apply (executor.md,
# formats.md), what the audit log records of overrides and gates
# (policies.md), and that a plan never reads the world (README, cli.md,
# architecture.md).
. "$TOP/tests/e2e/lib.sh"

export MOKSHA_KEY=0d0c5e2e0d0c5e2e0d0c5e2e0d0c5e2e0d0c5e2e0d0c5e2e0d0c5e2e0d0c5e2e  # 32 bytes in hex

# ---- --auto-approve-risk LEVEL: changes above LEVEL are held, the rest applies ----
mkdir risk && enter risk
cat >main.moksha <<'EOF'
stack risk { env = "dev" }
provider sim { latency = 1ms }
resource bucket a { encrypted = true }
EOF
expect_exit 0 moksha apply --yes
cat >main.moksha <<'EOF'
stack risk { env = "dev" }
provider sim { latency = 1ms }
resource bucket a {
  encrypted  = true
  versioning = true
}
resource bucket b { encrypted = true }
EOF
expect_exit 0 moksha plan -o p.plan && expect_match "$OUT" "~ bucket\.a .*risk: medium"
expect_exit 3 moksha apply --auto-approve-risk low p.plan &&
    expect_contains "$ERR" "bucket.a is medium risk, above --auto-approve-risk low: held"
expect_contains "$OUT" "created  bucket.b"
expect_not_contains "$OUT" "bucket.a"
# it opens no gate, and `high` holds nothing
expect_exit 0 moksha plan -o p.plan && expect_contains "$OUT" "Plan: 0 to create, 1 to update"
expect_exit 0 moksha apply --auto-approve-risk high p.plan && expect_contains "$OUT" "updated  bucket.a"
expect_exit 1 moksha apply --auto-approve-risk none p.plan
leave
# one description everywhere: the three levels, and "held", never "refused"
expect_exit 0 moksha apply --help &&
    expect_contains "$OUT" "--auto-approve-risk LEVEL    hold changes riskier than LEVEL (low|medium|high)"
expect_contains "$OUT" "3 changes held"
expect_exit 0 "$MOKSHA_EXEC" --help &&
    expect_contains "$OUT" "--auto-approve-risk LEVEL    hold changes riskier than LEVEL (low|medium|high)"
# every command of moksha-exec takes --help too: the usage, on stdout, exit 0
for c in apply verify serve "key new" "key show" "state list" "audit verify" "config check"; do
    expect_exit 0 "$MOKSHA_EXEC" $c --help && expect_contains "$OUT" "usage: moksha-exec"
done
grep -n -- '--auto-approve-risk low|medium' "$TOP/README.md" "$TOP"/docs/*.md | grep -v 'low|medium|high' >levels
expect_empty levels
grep -n -i -- 'auto-approve-risk.*refuse\|refuses a\( plan holding\)' "$TOP/README.md" "$TOP"/docs/*.md >refuses
expect_empty refuses

# ---- values known only after apply ----
mkdir later && enter later
cat >main.moksha <<'EOF'
stack later { env = "dev" }
provider local { root = ".moksha/out" }
provider sim { latency = 1ms }
resource database db {
  engine  = "postgres"
  version = "16"
  cpu     = 1
  memory  = 2GiB
  storage = 20GiB
}
resource local.file a {
  path    = "a.txt"
  content = "id ${database.db.id}\n"
}
resource local.file b {
  path    = "b.txt"
  content = upper(database.db.id)
}
EOF
cp main.moksha ../later.moksha
expect_exit 0 moksha plan -o p.json
# an interpolation of computed attributes is a template; a function of one is null
expect_contains p.json '"content":{"$template":["id ",{"$ref":"database.db","attr":"id"},"\n"]}'
expect_exit 0 moksha show --format json p.json && expect_match "$OUT" '"content": ?null'
expect_exit 0 moksha apply p.json
cat "$OUT" "$ERR" >apply.log
expect_contains apply.log "local.file.b: content was unknown when planned"
id=$("$MOKSHA_EXEC" state show database.db | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p' | head -n 1)
[ -n "$id" ] && e2e_ok || e2e_bad "no id for database.db in the state"
printf 'id %s\n' "$id" >want-a
expect_same .moksha/out/a.txt want-a
# the next plan updates only the null one
expect_exit 2 moksha plan --detailed-exitcode && expect_contains "$OUT" "~ local.file.b"
expect_not_contains "$OUT" "local.file.a"
leave
# `moksha apply` without a plan file converges in one command
mkdir later2 && cp later.moksha later2/main.moksha && enter later2
expect_exit 0 moksha apply --yes && expect_contains "$OUT" "Some values were known only after apply; the follow-up plan:"
expect_exit 0 moksha plan --detailed-exitcode && expect_contains "$OUT" "No changes"
leave
# both formats docs say so
expect_contains "$TOP/docs/executor.md" '{"$template": …}'
expect_contains "$TOP/docs/executor.md" 'upper(database.orders.id)'
expect_contains "$TOP/docs/formats.md" 'upper(database.orders.id)'
expect_not_contains "$TOP/docs/executor.md" 'the plan carries no
expression for it'

# ---- what the audit log records of overrides and gates ----
mkdir audit && enter audit
cat >main.moksha <<'EOF'
stack shop {
  env   = "prod"
  owner = "web"
}
provider sim { latency = 1ms }
resource bucket assets {
  encrypted = true
  public    = true
}
resource bucket logs { encrypted = true }
policy "no-public-buckets" {
  enforcement = soft
  for r in resources where r.type == "bucket" {
    assert !r.public : "${r.address} is public"
  }
}
policy "logs-approval" {
  enforcement = hard
  for c in changes where c.address == "bucket.logs" {
    require approval("sre") : "${c.address} needs sre"
  }
}
EOF
expect_exit 0 moksha plan -o p.plan --override no-public-buckets --reason "a static site"
expect_exit 0 moksha apply --approve logs-approval p.plan
sha=$(sha256sum p.plan | cut -d' ' -f1)
log=.moksha/audit.jsonl
expect_match "$log" '"event":"lock".*"holder":"[^"@]+@[^"]+ pid [0-9]+"'
expect_match "$log" "\"event\":\"plan\",\"plan_sha256\":\"$sha\""
expect_match "$log" '"event":"policy.override","policy":"no-public-buckets","enforcement":"soft","reason":"a static site"'
expect_match "$log" '"event":"gate.approved","policy":"logs-approval","group":"sre","address":"bucket.logs"'
# the policy results are in the plan file, not in the log
expect_contains p.plan '"name":"no-public-buckets"'
expect_not_contains "$log" '"status":"overridden"'
leave

# ---- a plan never reads the world: drift is seen only once the executor read it ----
mkdir world && enter world
cat >main.moksha <<'EOF'
stack world { env = "dev" }
provider local { root = ".moksha/out" }
provider sim { latency = 1ms }
resource bucket b { encrypted = true }
resource local.file f {
  path    = "f.txt"
  content = "as declared\n"
}
EOF
expect_exit 0 moksha apply --yes
# someone changes the world behind moksha's back
rm -f .moksha/sim/bucket.b.json
echo "changed by hand" >.moksha/out/f.txt
expect_exit 0 moksha plan --detailed-exitcode && expect_contains "$OUT" "No changes"
expect_contains "$OUT" "Never refreshed"
# …until the executor reads it: then the plan shows the drift and plans it back
expect_exit 2 moksha plan --refresh --detailed-exitcode && expect_contains "$OUT" "- bucket.b was deleted outside moksha"
expect_contains "$OUT" "~ local.file.f changed outside moksha"
leave
expect_contains "$TOP/docs/cli.md" "never reads the world"
expect_contains "$TOP/docs/architecture.md" "never reads the world"
expect_contains "$TOP/README.md" "never reads the world"

# ---- every diagnostic code the sources can give is in docs/diagnostics.md ----
grep -rhoE '"E[0-9]{4}"' "$TOP/compiler" "$TOP/grammar" "$TOP/runtime" | tr -d '"' | sort -u >codes
expect_exit 0 test -s codes
while read -r code; do
    grep -q "^| $code |" "$TOP/docs/diagnostics.md" || echo "$code"
done <codes >undocumented
expect_empty undocumented

# ---- the library's table in docs/policies.md is the library ----
find "$TOP/policies" -name '*.moksha' ! -name '*_test.moksha' -exec awk '
    /^policy "/ { name = $2; gsub(/"/, "", name) }
    name != "" && /^  enforcement *=/ { print name, $3; name = "" }
' {} + | sort >library
sed -n 's/^| \[`\([a-z0-9-]*\)`\](#[a-z0-9-]*) | [a-z/0-9]* | \([a-z]*\).*/\1 \2/p' "$TOP/docs/policies.md" | sort >table
expect_exit 0 test -s library
expect_same library table
n=$(wc -l <library | tr -d ' ')
expect_contains "$TOP/docs/policies.md" "five packs — $n policies"
expect_contains "$TOP/README.md" "with the $n built-in policies"

# ---- every field of a real plan and state is in docs/formats.md ----
mkdir fields && enter fields
cat >main.moksha <<'EOF2'
stack fields { env = "dev" }
provider local { root = ".moksha/out" }
resource local.directory d { path = "d" }
EOF2
expect_exit 0 moksha plan -o p.json
expect_exit 0 moksha apply p.json
# the keys at every depth, less the directory's own attributes (its schema's fields)
sed -n '/^@resource type local.directory {/,/^}/p' "$TOP/stdlib/types/local.moksha" |
    sed -n 's/^ *\(@[a-z_]* \)*\([a-z_][a-z_0-9]*\):.*/\2/p' >attrs
expect_exit 0 grep -qx path attrs
for f in p.json .moksha/state.json; do
    grep -o '"[A-Za-z_$]*":' "$f" | tr -d '":' | sort -u | grep -v -x -f attrs
done | sort -u >keys
expect_exit 0 grep -qx signature keys
while read -r k; do
    grep -q "\"$k\"\|\`$k\`" "$TOP/docs/formats.md" || echo "$k"
done <keys >undocumented-keys
expect_empty undocumented-keys
leave
