# test_lang.sh — the front end under hostile or unusual input: huge strings,
# empty inputs, secrets that must never reach plaintext, dependencies through
# module outputs.
. "$TOP/tests/e2e/lib.sh"

# ---- a 17 MiB string: E0007 at its opening quote, fast, a few lines of output ----
mkdir big
awk 'BEGIN { s = "aaaaaaaaaaaaaaaa"; while (length(s) < 17 * 1024 * 1024) s = s s; printf "let x = \"%s\"\n", s }' >big/main.moksha
expect_exit 1 timeout 5 "$MOKSHA" check big/main.moksha &&
    expect_contains "$ERR" "big/main.moksha:1:9: error[E0007]: string longer than 16 MiB"
expect_not_contains "$ERR" "E0002"
[ "$(wc -c <"$ERR")" -lt 2000 ] || fail "E0007 printed $(wc -c <"$ERR") bytes of diagnostics"
expect_contains "$ERR" "…"
rm -rf big

# ---- inputs that hold no .moksha file are E0010, never an empty green stack ----
mkdir empty stack
printf 'let x = 1\n' >stack/main.moksha
expect_exit 1 moksha check /dev/null &&
    expect_contains "$ERR" "error[E0010]: \`/dev/null\` is not a .moksha file"
expect_contains "$ERR" "help:"
expect_not_contains "$OUT" "ok:"
expect_exit 1 moksha check empty && expect_contains "$ERR" "error[E0010]: no .moksha files in \`empty\`"
enter empty && expect_exit 1 moksha check && expect_contains "$ERR" "error[E0010]: no .moksha files"
leave
expect_exit 1 moksha -C stack policy check --policies ../empty &&
    expect_contains "$ERR" "error[E0010]: no .moksha files in \`../empty\`"
expect_exit 1 moksha -C stack plan --policies "$WORK/empty" &&
    expect_contains "$ERR" "error[E0010]: no .moksha files in \`$WORK/empty\`"
printf 'import "../empty"\nlet x = 1\n' >stack/main.moksha
expect_exit 1 moksha check stack &&
    expect_contains "$ERR" "stack/main.moksha:1:1: error[E0010]: no .moksha files in \`stack/../empty\`"
expect_contains "$ERR" '1 | import "../empty"'
printf 'import "/dev/null"\n' >stack/main.moksha
expect_exit 1 moksha check stack && expect_contains "$ERR" "error[E0010]: \`/dev/null\` is not a .moksha file"
expect_exit 1 moksha fmt --check /dev/null && expect_contains "$ERR" "not a .moksha file"
expect_exit 1 moksha fmt --check empty && expect_contains "$ERR" "no .moksha files in \`empty\`"
printf 'module m = "../empty" {}\noutput o = module.m.x\n' >stack/main.moksha
expect_exit 1 moksha check stack &&
    expect_contains "$ERR" "stack/main.moksha:1:1: error[E0010]: no .moksha files in module directory \`stack/../empty\`"
expect_contains "$ERR" "moksha: 1 error"
printf 'let x = 1\n' >stack/main.moksha
expect_exit 0 moksha check stack

# ---- references through module outputs and lets are dependencies ----
# compute.web reads module.net.id (an output holding a let in the module):
# it is created after the network, with its id, and destroyed before it.
mkdir -p deps/net
cat >deps/net/main.moksha <<'M'
var cidr: string
resource network main {
  cidr = var.cidr
}
let nid = network.main.id
output id = nid
M
cat >deps/main.moksha <<'M'
stack deps {
  env = "dev"
}
provider sim { latency = 300ms }
module net = "./net" {
  cidr = "10.0.0.0/16"
}
let net_id = module.net.id
resource compute web {
  cpu    = 1
  memory = 1GiB
  image  = "nginx:1.27"
  tags   = { net = module.net.id, via_let = net_id }
}
M
enter deps
expect_exit 0 moksha graph && expect_contains "$OUT" 'n0 [label = "module.net.network.main\ncreate"'
expect_contains "$OUT" "n1 -> n0;"
expect_exit 0 moksha apply --yes && expect_contains "$OUT" "Apply complete: 2 created"
net_line=$(grep -n 'created  module.net.network.main' "$OUT" | cut -d: -f1)
web_line=$(grep -n 'created  compute.web' "$OUT" | cut -d: -f1)
[ -n "$net_line" ] && [ -n "$web_line" ] && [ "$net_line" -lt "$web_line" ] ||
    fail "the network must be created before the compute that reads its id"
expect_match "$OUT" 'Apply complete: .* in 0\.[6-9][0-9]s|in [1-9]\.[0-9]+s'   # two waves of 300 ms, not one
net_id=$(sed -n 's/.*"id": "\(vpc-[0-9a-f]*\)".*/\1/p' .moksha/sim/module.net.network.main.json | head -n 1)
[ -n "$net_id" ] || fail "no network id in the sim world"
expect_exit 0 moksha state show compute.web && expect_contains "$OUT" "\"net\": \"$net_id\""
expect_contains "$OUT" "\"via_let\": \"$net_id\""
expect_contains "$OUT" '"module.net.network.main"'   # depends_on, for destroy
expect_exit 0 moksha destroy --yes && expect_contains "$OUT" "2 deleted"
web_line=$(grep -n 'deleted  compute.web' "$OUT" | cut -d: -f1)
net_line=$(grep -n 'deleted  module.net.network.main' "$OUT" | cut -d: -f1)
[ -n "$net_line" ] && [ -n "$web_line" ] && [ "$web_line" -lt "$net_line" ] ||
    fail "the compute must be deleted before the network it reads"
expect_match "$OUT" 'Apply complete: .* in 0\.[6-9][0-9]s|in [1-9]\.[0-9]+s'
leave

# ---- secrets never become addresses, keys or diagnostic text ----
# Every output of every command, and every file under .moksha, is searched
# for the secrets' text (PW, and the key and value of a JSON secret).
PW=hunter2-plain-text-pw-4242
KEYPART=k3y-from-a-secret-777
VALPART=val-from-a-secret-555
mkdir sec
enter sec
cat >main.moksha <<'M'
stack sec {
  env = "dev"
}
provider local { root = ".moksha/out" }
provider sim { latency = 1ms }
var pw: secret where length(pw) >= 8 : "the password ${pw} has ${length(pw)} characters"
var cfg: secret
let creds = jsondecode(var.cfg)
resource local.file f {
  path    = "f.txt"
  content = "pw=${var.pw}"
}
resource bucket b {
  encrypted = true
  public    = false
  tags      = jsondecode(var.cfg)
}
resource bucket c {
  encrypted = true
  public    = false
  tags      = { for k, v in creds: k => upper(v) }
}
resource database db {
  engine   = "postgres"
  version  = "16"
  cpu      = 2
  memory   = 8GiB
  storage  = 10GiB
  password = var.pw
}
output names = keys(creds)
output first = [for k, v in creds: "${k}=${v}"]
policy "tag-keys" {
  enforcement = advisory
  for r in resources where r.type == "bucket" {
    for k, v in r.tags {
      assert false : "${r.address} tag ${k}=${v}"
    }
  }
}
policy "messages" {
  enforcement = advisory
  for r in resources where r.type == "local.file" {
    assert false : "${r.address}: ${r.content}, ${var.pw}, ${upper(var.pw)}, ${tostring(var.pw)}, ${format("%s", var.pw)}, ${jsonencode(var.pw)}"
  }
}
M
export MOKSHA_VAR_pw="$PW" MOKSHA_VAR_cfg="{\"$KEYPART\":\"$VALPART\"}"
: >all.out
# collect CMD...: run CMD, keep what it printed for the search at the end
collect() {
    "$@" >>all.out 2>&1
    echo "exit $?" >>all.out
}
expect_exit 0 moksha check
collect moksha check --format json
collect moksha plan
collect moksha plan --format json
collect moksha plan --format markdown
collect moksha graph
collect moksha cost
collect moksha policy check
for f in json sarif junit github markdown; do collect moksha policy check --format "$f"; done
expect_exit 0 moksha apply --yes && expect_contains "$OUT" "Apply complete: 4 created"
cat "$OUT" "$ERR" >>all.out
expect_contains .moksha/out/f.txt "pw=$PW"    # the provider got the secret itself
collect moksha state list
collect moksha state show bucket.b
collect moksha state show bucket.c
collect moksha state show database.db
collect moksha audit show
collect moksha plan --detailed-exitcode
expect_exit 0 moksha plan --detailed-exitcode   # sealed containers compare by fingerprint: no change
expect_contains "$OUT" "No changes"
# diagnostics: a constraint message and an enum mismatch with secrets in them
expect_exit 1 moksha plan --var pw=hunter2 && expect_contains "$ERR" "the password (sensitive) has (sensitive) characters"
cat "$ERR" >>all.out
collect moksha destroy --yes
for f in all.out $(find .moksha -type f ! -path '.moksha/out/*'); do
    expect_not_contains "$f" "$PW"
    expect_not_contains "$f" "hunter2"
    expect_not_contains "$f" "$KEYPART"
    expect_not_contains "$f" "$VALPART"
    expect_not_contains "$f" "$(echo "$VALPART" | tr a-z A-Z)"
done
expect_contains all.out "(sensitive)"

# a secret as a for_each key, a map key, a count or an index: a clear error
# at the place, and the secret nowhere in the output
cat >bad.moksha <<'M'
resource local.file by_key {
  for_each = {for k in [var.pw]: k => 1}
  path     = "a-${each.value}.txt"
  content  = "x"
}
resource local.file by_list {
  for_each = [var.pw]
  path     = "b.txt"
  content  = "x"
}
resource local.file by_count {
  count   = length(var.pw)
  path    = "c-${count.index}.txt"
  content = "x"
}
resource local.file by_map {
  for_each = jsondecode(var.cfg)
  path     = "d.txt"
  content  = "x"
}
let m = { a = 1 }
let l = [1, 2]
output missing_key = m[var.pw]
output missing_idx = l[length(var.pw)]
output no_hint     = creds["nope"]
resource local.file by_provider {
  provider = var.pw
  path     = "e.txt"
  content  = "x"
  lifecycle { ignore_changes = [var.pw] }
}
resource database bad_engine {
  engine   = var.pw
  version  = "16"
  cpu      = 2
  memory   = 8GiB
  storage  = 10GiB
  password = var.pw
}
M
expect_exit 1 moksha plan
expect_contains "$ERR" "bad.moksha:2:34: error[E0214]: a secret cannot be a map key"
expect_contains "$ERR" "bad.moksha:7:14: error[E0214]: a secret cannot be used as \`for_each\`"
expect_contains "$ERR" "bad.moksha:12:13: error[E0214]: a secret cannot be used as \`count\`"
expect_contains "$ERR" "bad.moksha:17:14: error[E0214]: a secret cannot be used as \`for_each\`"
expect_contains "$ERR" "no key (sensitive) in the map"
expect_contains "$ERR" "index (sensitive) is out of range"
expect_contains "$ERR" 'no key "nope" in the map'
expect_contains "$ERR" '(sensitive) is not one of "postgres"'
expect_contains "$ERR" "error[E0214]: a secret cannot name a provider"
expect_contains "$ERR" "ignore_changes names \`(sensitive)\`"
for f in "$OUT" "$ERR"; do
    expect_not_contains "$f" "$PW"
    expect_not_contains "$f" "$KEYPART"
done
expect_exit 1 moksha check && expect_contains "$ERR" "error[E0214]"
unset MOKSHA_VAR_pw MOKSHA_VAR_cfg
expect_exit 1 moksha check && expect_contains "$ERR" "bad.moksha:2:34: error[E0214]"   # without values too
expect_exit 1 moksha plan --var "$PW" && expect_contains "$ERR" "--var takes NAME=VALUE, found no \`=\`"
expect_not_contains "$ERR" "$PW"
# a mistake in a value that holds secrets is not quoted (source line, names)
rm bad.moksha
printf 'var pins: list(secret)\nvar creds: map(secret)\n' >vars.moksha
expect_exit 1 moksha check --var "pins=[$PW]" --var "creds={a = \"$PW}" &&
    expect_contains "$ERR" "--var pins: not a valid list(secret) (the value holds secrets, so it is not shown)"
expect_contains "$ERR" "--var creds: not a valid map(secret)"
expect_not_contains "$ERR" "$PW"
expect_exit 0 moksha check --var "pins=[\"$PW\"]" --var "creds={a = \"$PW\"}"
leave
