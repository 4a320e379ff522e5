# test_plugin_conformance.sh — `moksha-exec plugin test DIR` passes the
# example plugin and fails, each with a clear message, the bad plugins of
# tests/plugins/: one that hangs, one that crashes, one that lies about ids
# and one that prints invalid JSON; `plugin digest` follows every byte of
# the folder and refuses what it cannot vouch for.
. "$TOP/tests/e2e/lib.sh"

P=$TOP/tests/plugins
expect_exit 0 "$MOKSHA_EXEC" plugin test "$TOP/examples/sqlite-plugin/plugins/sqlite" && expect_contains "$OUT" "0 failed: conformant"

expect_exit 1 "$MOKSHA_EXEC" plugin test "$P/hang" --timeout 1s
expect_contains "$OUT" "FAIL hang.thing.conformance_0: create answers an id: plugin hang: no answer within 1000 ms: it hangs"
expect_contains "$OUT" "not conformant"

expect_exit 1 "$MOKSHA_EXEC" plugin test "$P/crash"
expect_contains "$OUT" "FAIL crash.thing.conformance_0: create answers an id: plugin crash: crashed (killed by signal 9) before answering"
expect_contains "$OUT" "ok   it lives on after refusing"   # restarted after the crash, and answers again

expect_exit 1 "$MOKSHA_EXEC" plugin test "$P/liar"
expect_contains "$OUT" "FAIL liar.thing.conformance_0: create again (a retry) is idempotent, same id: it lies about ids"
expect_contains "$OUT" "read answers what was made, with its id: \`id\` reads \"other-"

expect_exit 1 "$MOKSHA_EXEC" plugin test "$P/badjson"
expect_contains "$OUT" "plugin badjson: printed invalid JSON on stdout, not a JSON object (\"created it!\")"

# ---- the digest ----
cp -r "$TOP/examples/sqlite-plugin/plugins/sqlite" s
d1=$("$MOKSHA_EXEC" plugin digest s)
printf '%s\n' "$d1" | grep -Eq '^sha256:[0-9a-f]{64}$' || fail "digest form: $d1"
[ "$("$MOKSHA_EXEC" plugin digest s)" = "$d1" ] || fail "the digest is not stable"
chmod -x s/plugin
[ "$("$MOKSHA_EXEC" plugin digest s)" != "$d1" ] || fail "the digest misses the executable bit"
chmod +x s/plugin
mkdir s/lib && echo x >s/lib/helper.py
[ "$("$MOKSHA_EXEC" plugin digest s)" != "$d1" ] || fail "the digest misses a file in a subfolder"
rm -r s/lib
[ "$("$MOKSHA_EXEC" plugin digest s)" = "$d1" ] || fail "the digest does not come back"
ln -s /etc/passwd s/link
expect_exit 1 "$MOKSHA_EXEC" plugin digest s && expect_contains "$ERR" "is a symlink: a plugin's folder holds only files and folders"

# ---- the compiler reads the schema and never runs the plugin ----
mkdir -p cstack/plugins/trap && enter cstack || exit 1
printf '#!/bin/sh\ntouch "%s/ran"\n' "$WORK" >plugins/trap/plugin
chmod +x plugins/trap/plugin
cat >plugins/trap/schema.moksha <<'M'
@resource type trap.thing {
  size: int = 1
  @computed id: string
}
M
cat >main.moksha <<'M'
provider plugin t { plugin = "trap" }
resource trap.thing a { size = 2 }
M
expect_exit 0 moksha check
expect_exit 0 moksha plan -o p.plan && expect_contains "$OUT" "+ trap.thing.a"
want="sha256:$(sha256sum plugins/trap/schema.moksha | cut -c1-64)"
expect_contains p.plan "\"schema_digest\":\"$want\""
[ -e "$WORK/ran" ] && fail "the compiler ran the plugin's program"
# a schema that is a link to a file elsewhere, or a relative source
# leaving the stack, is not read (its lines would be quoted in errors)
printf 'aws_secret_access_key = LinkedSecretValue77\n' >"$WORK/creds"
mkdir -p plugins/linked && ln -s "$WORK/creds" plugins/linked/schema.moksha
printf 'provider plugin t { plugin = "linked" }\n' >main.moksha
expect_exit 1 moksha check && expect_contains "$ERR" "plugin linked's schema"
expect_contains "$ERR" "is a symlink: not read"
expect_not_contains "$ERR" "LinkedSecretValue77"
mkdir -p "$WORK/outside" && cp plugins/trap/schema.moksha "$WORK/outside/"
printf 'provider plugin t { plugin = "trap", source = "../outside" }\n' >main.moksha
expect_exit 1 moksha check && expect_contains "$ERR" "is outside the stack"
printf 'provider plugin t { plugin = "trap", source = "%s/outside" }\nresource trap.thing a { size = 2 }\n' "$WORK" >main.moksha
expect_exit 0 moksha check
leave

# ---- a fixture that leaves out what the plugin serves is not conformant ----
mkdir -p cov/sqlite && cp "$TOP/examples/sqlite-plugin/plugins/sqlite/plugin" "$TOP/examples/sqlite-plugin/plugins/sqlite/schema.moksha" cov/sqlite/
chmod -R go-w cov
echo '{"objects": []}' > cov/sqlite/conformance.json
expect_exit 1 "$MOKSHA_EXEC" plugin test cov/sqlite && expect_contains "$OUT" "FAIL the fixture has objects"
expect_contains "$OUT" "FAIL the fixture makes a sqlite.database"
expect_contains "$OUT" "not conformant"
cat >cov/sqlite/conformance.json <<'J'
{"settings": {"root": "$TMP"}, "objects": [{"type": "sqlite.database", "attrs": {"path": "c.db", "journal_mode": "delete"}}]}
J
expect_exit 1 "$MOKSHA_EXEC" plugin test cov/sqlite
expect_contains "$OUT" "FAIL the fixture updates a sqlite.database"
expect_contains "$OUT" "FAIL the fixture makes a sqlite.table"
