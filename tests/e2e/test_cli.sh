# test_cli.sh — the command line as a user meets it: version, help, unknown
# commands, `check` on an example, diagnostics on stderr, colour, --stats, and
# `fmt` (--check, in-place rewrite, --stdout, files with syntax errors).
. "$TOP/tests/e2e/lib.sh"

# ---- version and help ----
expect_exit 0 moksha version &&
    expect_match "$OUT" '^moksha [0-9]+\.[0-9]+\.[0-9]+'

expect_exit 0 moksha --help && expect_contains "$OUT" "usage"
expect_contains "$OUT" "check"
expect_contains "$OUT" "fmt"
expect_exit 0 moksha check --help && expect_contains "$OUT" "usage"
expect_exit 0 moksha fmt --help && expect_contains "$OUT" "usage"
expect_exit 0 moksha fmt --help && expect_contains "$OUT" "--check"

# ---- usage errors: exit 1, a message on stderr, nothing on stdout ----
expect_exit 1 moksha chekc &&
    expect_contains "$ERR" "did you mean \`check\`?"
expect_empty "$OUT"
expect_exit 1 moksha fmtt && expect_contains "$ERR" "did you mean \`fmt\`?"
expect_exit 1 moksha check --no-such-option && expect_match "$ERR" '^moksha: error'
expect_exit 1 moksha check does-not-exist.moksha && expect_contains "$ERR" "does-not-exist.moksha"

# ---- check on an example: in the directory, with -C, and with a path ----
copy_example hello-local
enter hello-local && expect_exit 0 moksha check && expect_match "$OUT" '^ok: ' &&
    expect_empty "$ERR"
leave
expect_exit 0 moksha -C hello-local check && expect_match "$OUT" '^ok: '
expect_exit 0 moksha check hello-local && expect_match "$OUT" '^ok: '
expect_exit 0 moksha check hello-local/main.moksha

# ---- diagnostics: file:line:col: error[CODE], source line, caret; no colour ----
mkdir bad
cat >bad/main.moksha <<'EOF'
resource compute web {
  cpu    = 2
  memory = 4
  image  = "nginx:1.27"
}
EOF
expect_exit 1 moksha check bad/main.moksha &&
    expect_contains "$ERR" "bad/main.moksha:3:12: error[E0203]"
expect_contains "$ERR" "    3 |   memory = 4"
expect_match "$ERR" '^ +\| +\^'
expect_not_contains "$OUT" "ok:"
esc=$(printf '\033')
expect_not_contains "$ERR" "${esc}["
expect_exit 1 moksha --color always check bad/main.moksha && expect_contains "$ERR" "${esc}["
expect_exit 1 moksha check --color never bad/main.moksha && expect_not_contains "$ERR" "${esc}["
enter bad && expect_exit 1 moksha check &&
    expect_contains "$ERR" "main.moksha:3:12: error[E0203]"
leave

# --stats: one line on stderr after the command's own output
expect_exit 0 moksha --stats check hello-local &&
    expect_match "$ERR" '^stats: wall_ms=[0-9]+ peak_rss_kib=[0-9]+$'

# ---- fmt --check on the examples ----
for d in "$TOP"/examples/*/; do
    [ -d "$d" ] || continue
    ex=$(basename "$d")
    copy_example "$ex"
    enter "$ex" && expect_exit 0 moksha fmt --check && expect_empty "$OUT"
    leave
done

# ---- fmt rewrites a badly spaced file; then --check passes ----
mkdir ugly
cat >ugly/main.moksha <<'EOF'
stack   demo{
env="dev"
        owner =     "me"
}
resource    network   main {
cidr="10.0.0.0/16"
   tags={team="web",env=stack.env}
}
EOF
cp ugly/main.moksha ugly.orig
chmod 640 ugly/main.moksha
expect_exit 1 moksha fmt --check ugly/main.moksha && expect_contains "$OUT" "ugly/main.moksha"
expect_same ugly/main.moksha ugly.orig
expect_exit 0 moksha fmt --stdout ugly/main.moksha && cp "$OUT" ugly.stdout
expect_same ugly/main.moksha ugly.orig
# --check --stdout: the formatted text on stdout, the file named on stderr, exit 1
expect_exit 1 moksha fmt --check --stdout ugly/main.moksha && expect_same "$OUT" ugly.stdout
expect_contains "$ERR" "ugly/main.moksha"
expect_same ugly/main.moksha ugly.orig
expect_exit 1 moksha fmt --stdout --check ugly
enter ugly && expect_exit 0 moksha fmt && expect_empty "$OUT"
leave
if cmp -s ugly/main.moksha ugly.orig; then
    fail "moksha fmt left the badly spaced ugly/main.moksha unchanged"
fi
expect_same ugly/main.moksha ugly.stdout
# rewritten in place: the file keeps its mode, and no temp file is left beside it
[ "$(stat -c %a ugly/main.moksha)" = 640 ] || fail "fmt changed the mode to $(stat -c %a ugly/main.moksha), not 640"
[ "$(ls ugly)" = main.moksha ] || fail "fmt left more than the file: $(ls ugly | tr '\n' ' ')"
expect_contains ugly/main.moksha 'stack demo {'
expect_contains ugly/main.moksha '{ team = "web", env = stack.env }'
expect_exit 0 moksha fmt --check ugly/main.moksha && expect_empty "$OUT"
expect_exit 0 moksha fmt --check ugly && expect_empty "$OUT"
expect_exit 0 moksha fmt --check --stdout ugly/main.moksha && expect_same "$OUT" ugly/main.moksha
expect_empty "$ERR"
cp ugly/main.moksha ugly.once
expect_exit 0 moksha fmt ugly/main.moksha
expect_same ugly/main.moksha ugly.once
expect_exit 0 moksha check ugly

# ---- fmt leaves a file with a syntax error alone and says why ----
mkdir broken
printf 'stack s {\n  env = "dev"\n\nresource network main {\n  cidr="10.0.0.0/16"\n}\n' >broken/main.moksha
cp broken/main.moksha broken.orig
expect_exit 1 moksha fmt broken/main.moksha &&
    expect_match "$ERR" '^broken/main.moksha:[0-9]+:[0-9]+: error\[E[0-9]{4}\]'
expect_same broken/main.moksha broken.orig

# ---- usage errors: global options, extra and misplaced arguments ----
expect_exit 1 moksha -C && expect_contains "$ERR" "-C needs a directory"
expect_empty "$OUT"
expect_exit 1 moksha -C "" check && expect_contains "$ERR" "-C needs a directory"
expect_exit 1 moksha -C no-such-dir check && expect_contains "$ERR" "cannot enter directory \`no-such-dir\`"
expect_exit 1 moksha version extra && expect_contains "$ERR" "version takes no arguments"
expect_exit 1 moksha help check plan && expect_contains "$ERR" "help takes one command"
expect_exit 1 moksha check --override p --reason why hello-local &&
    expect_contains "$ERR" "--override is not an option of check"
expect_exit 1 moksha check --replace-placement x hello-local &&
    expect_contains "$ERR" "--replace-placement is not an option of check"
expect_exit 1 moksha -C hello-local graph --override p --reason why &&
    expect_contains "$ERR" "--override is not an option of graph"
expect_exit 1 moksha -C hello-local cost --override p --reason why &&
    expect_contains "$ERR" "--override is not an option of cost"
expect_exit 1 moksha policy test --format xml && expect_contains "$ERR" "--format takes text or json"
expect_exit 1 moksha policy test --verbose && expect_contains "$ERR" "unknown option \`--verbose\`"

# ---- names on the command line must name something ----
mkdir named
cat >named/main.moksha <<'EOF'
stack shop {
  env = "prod"
}

provider sim {}

resource network main {
  cidr = "10.0.0.0/16"
}

resource firewall edge {
  network = network.main
}

policy "prod-approval" {
  enforcement = hard
  for c in changes where c.type == "firewall" && stack.env == "prod" {
    require approval("sre") : "${c.address} changes who can reach the network"
  }
}

policy "budget" {
  enforcement = soft
  assert plan.cost.monthly <= $0 : "the stack costs money"
}
EOF
enter named
export MOKSHA_KEY=c11c11c11c11c11c11c11c11c11c11c11c11c11c11c11c11c11c11c11c11c11c
# --reason: blank is no reason
expect_exit 1 moksha plan --override budget --reason "" && expect_contains "$ERR" "--reason for --override budget is blank"
expect_exit 1 moksha plan --override budget --reason "   " && expect_contains "$ERR" "is blank"
expect_exit 1 moksha policy check --override budget --reason " " && expect_contains "$ERR" "is blank"
expect_empty "$OUT"
expect_exit 1 moksha apply --yes --override budget --reason "" && expect_contains "$ERR" "is blank"
# --override and --replace-placement name a policy and a resource
expect_exit 1 moksha plan --override budgte --reason "finance said yes" &&
    expect_contains "$ERR" "--override budgte: no policy of that name; did you mean \`budget\`?"
expect_exit 1 moksha policy check --override nothing-like-it --reason "finance said yes" &&
    expect_contains "$ERR" "there are: prod-approval, budget"
expect_exit 1 moksha plan --override budget --reason ok --replace-placement network.mian &&
    expect_contains "$ERR" "--replace-placement network.mian: no resource of that name; did you mean \`network.main\`?"
expect_exit 1 moksha cost --replace-placement network.mian && expect_contains "$ERR" "did you mean \`network.main\`?"
expect_exit 0 moksha cost --replace-placement network.main
expect_exit 0 moksha plan --override budget --reason "finance said yes" -o p.plan
# --approve names a policy of the plan, POLICY:ADDRESS one of its gates
expect_exit 1 moksha apply --approve prod-aproval p.plan &&
    expect_contains "$ERR" "--approve prod-aproval: the plan has no policy \`prod-aproval\`; did you mean \`prod-approval\`?"
expect_exit 1 moksha apply --approve prod-approval:firewall.egde p.plan &&
    expect_contains "$ERR" "did you mean \`firewall.edge\`?"
expect_exit 1 moksha apply --yes --approve prod-aproval --override budget --reason ok &&
    expect_contains "$ERR" "did you mean \`prod-approval\`?"
[ -e .moksha/state.json ] && fail "an --approve naming nothing must stop the apply before it starts"
# a saved plan takes no planning input, and one plan file only
expect_exit 1 moksha apply p.plan extra.plan && expect_contains "$ERR" "apply takes one plan file"
expect_exit 1 moksha apply p.plan --var region=x && expect_contains "$ERR" "--var does not apply to a saved plan"
expect_exit 1 moksha apply p.plan --var-file vars.yaml && expect_contains "$ERR" "--var-file does not apply to a saved plan"
expect_exit 1 moksha apply p.plan main.moksha && expect_contains "$ERR" "apply takes one plan file"
expect_exit 1 moksha apply p.plan --override budget --reason ok && expect_contains "$ERR" "--override is not an option of apply PLAN"
expect_exit 1 moksha apply nosuch.plan && expect_contains "$ERR" "plan file \`nosuch.plan\` does not exist"
expect_not_contains "$ERR" "moksha reads *.moksha files"
expect_exit 1 moksha show p.plan p.plan && expect_contains "$ERR" "show takes one plan file"
# apply options are checked before anything is planned
for bad in "--parallelism 0" "--parallelism=2000" "--retries -1" "--timeout 0s" "--timeout soon" \
           "--auto-approve-risk extreme" "--progress fancy"; do
    # shellcheck disable=SC2086 # the option and its value are two words
    expect_exit 1 moksha apply --yes --override budget --reason ok $bad && expect_match "$ERR" "^moksha: error: --[a-z-]+ takes"
    expect_empty "$OUT"   # nothing planned, nothing shown
done
expect_exit 1 moksha apply --parallelism && expect_contains "$ERR" "--parallelism needs a value"
expect_exit 1 moksha apply --parallelism 0 p.plan && expect_contains "$ERR" "--parallelism takes"
[ -e .moksha/state.json ] && fail "a bad apply option must stop the apply before it starts"
# the executor, run on its own, refuses them too
expect_exit 1 "$MOKSHA_EXEC" apply --approve prod-aproval p.plan && expect_contains "$ERR" "--approve prod-aproval names no policy"
expect_exit 1 "$MOKSHA_EXEC" apply --approve prod-approval:firewall.egde p.plan && expect_contains "$ERR" "names no gate"
[ -e .moksha/state.json ] && fail "moksha-exec must refuse an --approve naming nothing before it starts"
# the right names go through
expect_exit 0 moksha apply --approve prod-approval:firewall.edge p.plan
leave
# an override is given once, with its reason, in apply too; destroy takes no plan file
enter named
expect_exit 1 moksha apply --yes --override budget && expect_contains "$ERR" "--override budget needs --reason"
expect_exit 1 moksha plan --override budget --reason a --override budget --reason b &&
    expect_contains "$ERR" "--override budget is given twice"
expect_exit 1 moksha destroy --yes p.plan && expect_contains "$ERR" "destroy takes no plan file"
leave

# ---- apply without an executor to run the plan says so before it plans ----
mkdir lone && cp "$MOKSHA" lone/moksha
enter named
expect_exit 1 env PATH=/nonexistent "$WORK/lone/moksha" apply --yes --override budget --reason ok &&
    expect_contains "$ERR" "cannot find moksha-exec"
expect_empty "$OUT"   # nothing planned, nothing shown
leave
