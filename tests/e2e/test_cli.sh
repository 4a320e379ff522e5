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
expect_exit 1 moksha fmt --check ugly/main.moksha && expect_contains "$OUT" "ugly/main.moksha"
expect_same ugly/main.moksha ugly.orig
expect_exit 0 moksha fmt --stdout ugly/main.moksha && cp "$OUT" ugly.stdout
expect_same ugly/main.moksha ugly.orig
enter ugly && expect_exit 0 moksha fmt && expect_empty "$OUT"
leave
if cmp -s ugly/main.moksha ugly.orig; then
    fail "moksha fmt left the badly spaced ugly/main.moksha unchanged"
fi
expect_same ugly/main.moksha ugly.stdout
expect_contains ugly/main.moksha 'stack demo {'
expect_contains ugly/main.moksha '{ team = "web", env = stack.env }'
expect_exit 0 moksha fmt --check ugly/main.moksha && expect_empty "$OUT"
expect_exit 0 moksha fmt --check ugly && expect_empty "$OUT"
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
