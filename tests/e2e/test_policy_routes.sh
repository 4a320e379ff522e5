# test_policy_routes.sh — no route applies a plan whose policies fail. `plan
# -o` refuses to save it; `plan --format json` prints it without a signature;
# `apply` without a plan stops before moksha-exec; every other JSON moksha
# prints (show, graph, policy check, cost) is refused by moksha-exec; and
# nothing is ever created. A soft policy overridden with a reason is
# signed and applies.
. "$TOP/tests/e2e/lib.sh"

mkdir stack && cd stack
cat > main.moksha <<'M'
provider local { root = ".moksha/out" }
resource local.file f {
  path    = "a.txt"
  content = "x"
}
M
policy() { # policy ENFORCEMENT
    cat > policy.moksha <<P
policy "no-files" {
  enforcement = $1
  for r in resources where r.type == "local.file" {
    assert false : "\${r.address} is a file"
  }
}
P
}

nothing_applied() {
    [ -e .moksha/out/a.txt ] && fail "a.txt was created past a failing policy ($*)"
    [ -e .moksha/state.json ] && fail "the state was written past a failing policy ($*)"
    rm -rf .moksha/out .moksha/state.json
}

refused_by_exec() { # refused_by_exec FILE: each executor route refuses it
    for run in "moksha apply" "$MOKSHA_EXEC apply"; do
        # shellcheck disable=SC2086 # the command's words
        $run "$1" >"$OUT" 2>"$ERR" </dev/null
        rc=$?
        E2E_CHECKS=$((E2E_CHECKS + 1))
        [ "$rc" -eq 1 ] || [ "$rc" -eq 3 ] || fail "\`$run $1\` exited $rc: it was not refused"
        expect_not_contains "$OUT" "Apply complete"
        nothing_applied "$run $1"
    done
}

for enf in hard soft; do
    policy $enf
    # the JSON route: printed, but not signed, and applied by nobody
    expect_exit 3 moksha plan --format json
    cp "$OUT" p.json
    expect_contains "$ERR" "printed without a signature"
    expect_contains p.json '"status":"fail"'
    expect_not_contains p.json '"signature"'
    # in the file's form, as `-o` would have written it: its format first, its defaults left out
    [ "$(head -c 27 p.json)" = '{"format":"moksha.plan/v1",' ] || fail "the unsigned JSON does not begin with its format"
    expect_not_contains p.json '"destroy":false'
    expect_not_contains p.json '"depends_on":[]'
    refused_by_exec p.json
    expect_exit 1 "$MOKSHA_EXEC" apply p.json && expect_contains "$ERR" "not signed"
    expect_exit 1 "$MOKSHA_EXEC" verify p.json
    # moksha show refuses it, and says why it is unsigned
    expect_exit 1 moksha show p.json && expect_contains "$ERR" "its policies fail"
    # -o refuses to save it, and what it prints beside is not signed either
    expect_exit 3 moksha plan -o saved.plan --format json
    [ -e saved.plan ] && fail "plan -o saved a plan whose $enf policy fails"
    expect_not_contains "$OUT" '"signature"'
    cp "$OUT" q.json
    refused_by_exec q.json
    # the other JSON moksha prints is not a plan
    expect_exit 3 moksha policy check --format json && cp "$OUT" pc.json && refused_by_exec pc.json
    expect_exit 0 moksha graph --format json && cp "$OUT" g.json && refused_by_exec g.json
    expect_exit 0 moksha cost --format json && cp "$OUT" c.json && refused_by_exec c.json
    expect_exit 3 moksha plan --format markdown && cp "$OUT" m.md && refused_by_exec m.md
    # apply and destroy without a plan stop at the policy
    expect_exit 3 moksha apply --yes && expect_contains "$ERR" "a policy failed"
    nothing_applied "apply --yes"
done

# a soft policy overridden with its reason: signed, shown, applied
policy soft
expect_exit 0 moksha plan -o ok.plan --override no-files --reason "INC-7: a test file"
expect_contains ok.plan '"signature"'
expect_exit 0 moksha show ok.plan && expect_contains "$OUT" "overridden"
expect_not_contains "$OUT" "POLICY FAILED"
expect_exit 0 "$MOKSHA_EXEC" verify ok.plan
expect_exit 0 moksha apply ok.plan
expect_file .moksha/out/a.txt
grep -q '"event":"policy.override"' .moksha/audit.jsonl || fail "the override is not in the audit log"
