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
