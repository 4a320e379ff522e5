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
