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
