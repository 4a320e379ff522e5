# test_keys.sh — the project key and the stack's identity: weak keys are
# refused by both binaries, a passphrase key is stretched and salted per
# stack, commands that sign nothing create no key, and a plan applies only in
# the stack it was made in.
. "$TOP/tests/e2e/lib.sh"

export MOKSHA_VAR_db_password="correct-horse-battery-staple-77"
STRONG=3c9d0f6a1b2e4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5

# ---- read-only commands create no key, no stack id, no .moksha at all ----
copy_example webapp
enter webapp
expect_exit 0 moksha check
expect_exit 0 moksha fmt --check
expect_exit 0 moksha plan && expect_contains "$OUT" "Plan: 6 to create"
expect_exit 0 moksha plan --format markdown
expect_exit 0 moksha graph
expect_exit 0 moksha cost
expect_exit 0 moksha policy check
expect_exit 0 moksha state list
moksha audit verify >/dev/null 2>&1 # (no log, no key: nothing to check; whatever it says, it creates nothing)
expect_exit 1 moksha show nothing.json
[ ! -e .moksha ] || fail "read-only commands created .moksha: $(find .moksha | tr '\n' ' ')"
# a command that signs makes the key (0600) and the stack id
expect_exit 0 moksha plan -o plan.json
expect_match .moksha/key '^[0-9a-f]{64}$'
expect_match .moksha/stack-id '^[0-9a-f]{32}$'
expect_contains plan.json "\"stack_id\":\"$(cat .moksha/stack-id)\""
leave

# ---- weak keys: a clear error, exit 1, in both binaries ----
copy_example webapp
enter webapp
for weak in x golden-test-key-0123 passphrase:too-short 0123456789abcdef0123456789abcdef; do
    expect_exit 1 env MOKSHA_KEY="$weak" "$MOKSHA" plan -o plan.json &&
        expect_match "$ERR" "MOKSHA_KEY( is not a strong key: give 32 random bytes|: the passphrase is .* needs at least 16)"
    expect_exit 1 env MOKSHA_KEY="$weak" "$MOKSHA" plan && expect_contains "$ERR" "MOKSHA_KEY"
    expect_exit 1 env MOKSHA_KEY="$weak" "$MOKSHA_EXEC" verify plan.json && expect_contains "$ERR" "MOKSHA_KEY"
done
[ ! -e plan.json ] || fail "a weak key signed a plan"
# a weak key file is refused too, and one others can read
mkdir -p .moksha && printf 'short\n' > .moksha/key && chmod 600 .moksha/key
expect_exit 1 moksha plan -o plan.json && expect_contains "$ERR" ".moksha/key is not a strong key"
printf '%s\n' "$STRONG" > .moksha/key && chmod 644 .moksha/key
expect_exit 1 moksha plan -o plan.json && expect_contains "$ERR" "chmod 600"
expect_exit 1 "$MOKSHA_EXEC" verify plan.json && expect_contains "$ERR" "chmod 600"
chmod 600 .moksha/key
expect_exit 0 moksha plan -o plan.json
expect_exit 0 "$MOKSHA_EXEC" verify plan.json
# base64 of the same 32 bytes is the same key
B64=$(printf '%s' "$STRONG" | xxd -r -p | base64)
expect_exit 0 env MOKSHA_KEY="$B64" "$MOKSHA_EXEC" verify plan.json
leave

# ---- a passphrase: stretched, salted with the stack id ----
copy_example webapp
enter webapp
export MOKSHA_KEY="passphrase:a shared CI passphrase of some length"
expect_exit 0 moksha plan -o plan.json
expect_exit 0 "$MOKSHA_EXEC" verify plan.json
[ ! -e .moksha/key ] || fail "a key from MOKSHA_KEY should not write .moksha/key"
expect_exit 0 moksha apply plan.json && expect_contains "$OUT" "Apply complete"
leave
unset MOKSHA_KEY

# ---- a plan applies only in its own stack (one MOKSHA_KEY shared by CI) ----
export MOKSHA_KEY="$STRONG"
rm -rf a b c
copy_example hello-local && mv hello-local a
copy_example hello-local && cp -R hello-local c && mv hello-local b
enter a
expect_exit 0 moksha plan -o ../a.plan
leave
enter b   # a fresh stack: no stack id, no state
expect_exit 6 "$MOKSHA_EXEC" apply ../a.plan && expect_contains "$ERR" "this stack has none"
expect_exit 0 "$MOKSHA_EXEC" verify ../a.plan && expect_contains "$OUT" "not this one (this stack has no id yet): apply would refuse it"
expect_exit 6 moksha apply ../a.plan
[ ! -e .moksha/out ] || fail "a plan of another stack wrote files in b"
expect_exit 0 moksha plan -o b.plan   # now b has its own id: a's plan is still refused
expect_exit 6 "$MOKSHA_EXEC" apply ../a.plan && expect_contains "$ERR" "the plan was made for stack id $(cat ../a/.moksha/stack-id), this stack's is $(cat .moksha/stack-id)"
expect_exit 0 "$MOKSHA_EXEC" apply b.plan
expect_contains .moksha/state.json "\"stack_id\": \"$(cat .moksha/stack-id)\""
leave
enter a
expect_exit 0 "$MOKSHA_EXEC" apply ../a.plan && expect_contains "$OUT" "Apply complete"
leave
# a state copied from a into another stack is refused there
enter c
expect_exit 0 moksha plan -o c.plan
cp ../a/.moksha/state.json ../a/.moksha/audit.jsonl ../a/.moksha/audit.head .moksha/
expect_exit 0 moksha plan -o c.plan
expect_exit 6 "$MOKSHA_EXEC" apply c.plan && expect_contains "$ERR" "the state belongs to stack id $(cat ../a/.moksha/stack-id)"
leave
unset MOKSHA_KEY

# ---- key rotate: a new key, the state's secrets re-sealed, old plans refused ----
copy_example webapp
enter webapp
expect_exit 0 moksha apply --yes && expect_contains "$OUT" "Apply complete"
expect_exit 0 moksha plan -o old.plan
OLD_KEY=$(cat .moksha/key)
OLD_SEALED=$(grep -o '"sealed": "[^"]*"' .moksha/state.json)
SERIAL=$(grep -o '"serial": [0-9]*' .moksha/state.json | grep -o '[0-9]*$')
expect_exit 0 "$MOKSHA_EXEC" key rotate && expect_contains "$OUT" "1 secret re-sealed"
expect_contains "$OUT" "Plans signed with the old key are refused"
expect_match .moksha/key '^[0-9a-f]{64}$'
[ "$(cat .moksha/key)" != "$OLD_KEY" ] || fail "key rotate kept the old key"
[ "$(stat -c %a .moksha/key)" = 600 ] || fail ".moksha/key should have mode 600 after rotate"
[ "$(cat .moksha/key.*.old)" = "$OLD_KEY" ] || fail "the old key should be kept as .moksha/key.ID.old"
[ "$(stat -c %a .moksha/key.*.old)" = 600 ] || fail "the old key copy should have mode 600"
[ ! -e .moksha/key.next ] || fail "key rotate left .moksha/key.next"
[ "$(grep -o '"sealed": "[^"]*"' .moksha/state.json)" != "$OLD_SEALED" ] || fail "the state's secret was not re-sealed"
expect_contains .moksha/state.json "\"serial\": $((SERIAL + 1))"
expect_not_contains .moksha/state.json "correct-horse-battery-staple-77"
expect_exit 1 "$MOKSHA_EXEC" apply old.plan && expect_contains "$ERR" "another project key"
expect_exit 1 moksha show old.plan
# an interrupted rotation (the state written, key.next not yet renamed): every
# command refuses the key until `key rotate` finishes it
NEW_KEY=$(cat .moksha/key)
mv .moksha/key .moksha/key.next && cp .moksha/key.*.old .moksha/key
expect_exit 1 moksha plan && expect_contains "$ERR" "an interrupted \`moksha-exec key rotate\` left .moksha/key.next"
expect_exit 1 "$MOKSHA_EXEC" verify old.plan && expect_contains "$ERR" "interrupted"
expect_exit 0 "$MOKSHA_EXEC" key rotate && expect_contains "$OUT" "Finished an interrupted rotation"
[ "$(cat .moksha/key)" = "$NEW_KEY" ] || fail "finishing the rotation should make key.next the key"
[ ! -e .moksha/key.next ] || fail "key.next is still there"
# one interrupted before the state write: key.next is dropped, the rotation runs
openssl rand -hex 32 > .moksha/key.next
expect_exit 0 "$MOKSHA_EXEC" key rotate && expect_contains "$OUT" "1 secret re-sealed"
[ "$(cat .moksha/key)" != "$NEW_KEY" ] || fail "the second rotation kept the key"
# the re-sealed secret opens with the new key: the stack still plans to no change
expect_exit 0 moksha plan --detailed-exitcode && expect_contains "$OUT" "Plan: 0 to create, 0 to update"
expect_contains .moksha/audit.jsonl '"event":"key.rotate"'
expect_exit 0 "$MOKSHA_EXEC" audit verify
# and a change of the secret goes through with the new key
expect_exit 0 env MOKSHA_VAR_db_password=another-password-99 "$MOKSHA" apply --yes && expect_contains "$OUT" "Apply complete"
leave

# from MOKSHA_KEY: the new key must come in MOKSHA_NEW_KEY, and goes nowhere on disk
copy_example webapp
enter webapp
export MOKSHA_KEY="$STRONG"
expect_exit 0 moksha apply --yes
expect_exit 1 "$MOKSHA_EXEC" key rotate && expect_contains "$ERR" "set MOKSHA_NEW_KEY"
expect_exit 1 env MOKSHA_NEW_KEY=weak "$MOKSHA_EXEC" key rotate && expect_contains "$ERR" "MOKSHA_NEW_KEY is not a strong key"
NEW=$(openssl rand -hex 32)
expect_exit 0 env MOKSHA_NEW_KEY="$NEW" "$MOKSHA_EXEC" key rotate && expect_contains "$OUT" "Store the new key"
[ ! -e .moksha/key ] || fail "rotating a MOKSHA_KEY key wrote .moksha/key"
expect_exit 0 env MOKSHA_KEY="$NEW" "$MOKSHA" plan --detailed-exitcode
expect_exit 0 env MOKSHA_KEY="$NEW" "$MOKSHA_EXEC" audit verify   # the audit head is keyed with the new key
expect_exit 1 "$MOKSHA_EXEC" audit verify
expect_exit 2 moksha plan --detailed-exitcode   # the old key no longer opens the state's secret: it looks changed
leave
unset MOKSHA_KEY
