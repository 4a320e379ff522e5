# test_plugin_sqlite.sh — the sqlite example plugin (examples/sqlite-plugin/plugins/sqlite)
# through moksha: plan, apply, re-plan to no changes, drift made out of band
# and reconciled, destroy; an injected failure rolls back; kill -9 mid-apply
# then re-apply converges; a plugin not on the allowlist, a folder changed
# since it was allowed and a plan compiled against another schema are
# refused before the first step; the plugin's environment holds only what
# its connection grants, and a granted secret it prints is redacted.
. "$TOP/tests/e2e/lib.sh"

mkdir -p opt etc data stack
cp -r "$TOP/examples/sqlite-plugin/plugins/sqlite" opt/sqlite
cp -r "$TOP/tests/plugins/envprobe" opt/envprobe
chmod -R go-w opt
DIG=$("$MOKSHA_EXEC" plugin digest opt/sqlite) || fail "plugin digest"
PDIG=$("$MOKSHA_EXEC" plugin digest opt/envprobe) || fail "plugin digest envprobe"
TOKEN=probe-token-9c1e77d2a4
OTHER=not-granted-5b0f3e
config() { # $1: the sqlite plugin's digest
    cat >"$WORK/etc/exec.json" <<J
{"format": "moksha.exec-config/v1",
 "connections": {
   "sq": {"kind": "plugin", "settings": {"root": "$WORK/data"}},
   "probe": {"kind": "plugin", "credentials": {"env": ["PROBE_TOKEN"]}}},
 "plugins": {
   "sqlite": {"dir": "$WORK/opt/sqlite", "digest": "$1", "connection": "sq", "timeout": "5s",
              "allow_fault_injection": true},
   "envprobe": {"dir": "$WORK/opt/envprobe", "digest": "$PDIG", "connection": "probe"}}}
J
}
config "$DIG"
export MOKSHA_EXEC_CONFIG="$WORK/etc/exec.json" PROBE_TOKEN=$TOKEN OTHER_SECRET=$OTHER

stack() { # $1: fail_on list, $2: the users table's columns
    cat >"$WORK/stack/main.moksha" <<M
provider plugin db { plugin = "sqlite", source = "$WORK/opt/sqlite", fail_on = [$1] }
resource sqlite.database app { path = "app.db" }
resource sqlite.table users {
  database = sqlite.database.app.path
  name     = "users"
  columns  = $2
}
M
}
cols() { python3 -c "import sqlite3,sys; c=sqlite3.connect('$WORK/data/app.db'); print(sorted(r[1] for r in c.execute(\"select * from pragma_table_info('\" + sys.argv[1] + \"')\")))" "$1"; }

# ---- the conformance test: the example passes ----
expect_exit 0 "$MOKSHA_EXEC" plugin test opt/sqlite && expect_contains "$OUT" "sqlite: " && expect_contains "$OUT" "0 failed: conformant"

enter stack || exit 1
stack "" '{ id = "INTEGER", name = "TEXT" }'

# ---- plan, apply, re-plan ----
expect_exit 2 moksha plan --detailed-exitcode && expect_contains "$OUT" "Plan: 2 to create"
expect_exit 0 moksha apply --yes && expect_contains "$OUT" "2 created" && expect_contains "$OUT" "id=app.db#users"
[ "$(cols users)" = "['id', 'name']" ] || fail "the table's columns are $(cols users)"
expect_exit 0 moksha plan --detailed-exitcode

# ---- an update in place, then one the plugin's diff refuses before the first step ----
stack "" '{ id = "INTEGER", name = "TEXT", email = "TEXT" }'
expect_exit 0 moksha apply --yes && expect_contains "$OUT" "1 updated"
[ "$(cols users)" = "['email', 'id', 'name']" ] || fail "the column was not added: $(cols users)"
stack "" '{ id = "TEXT", name = "TEXT", email = "TEXT" }'
expect_exit 1 moksha apply --yes && expect_contains "$ERR" "cannot change [\"columns\"] in place"
[ "$(cols users)" = "['email', 'id', 'name']" ] || fail "a refused update changed the table"
stack "" '{ id = "INTEGER", name = "TEXT", email = "TEXT" }'
expect_exit 0 moksha plan --detailed-exitcode

# ---- drift out of band, seen and put back ----
python3 -c "import sqlite3; sqlite3.connect('$WORK/data/app.db').execute('ALTER TABLE users ADD COLUMN extra TEXT')"
expect_exit 2 moksha drift && expect_contains "$OUT" "sqlite.table.users changed outside moksha: columns"
expect_exit 0 moksha reconcile --auto-approve-risk high
[ "$(cols users)" = "['email', 'id', 'name']" ] || fail "reconcile did not put the table back: $(cols users)"
expect_exit 0 moksha drift && expect_contains "$OUT" "No drift"
python3 -c "import sqlite3; sqlite3.connect('$WORK/data/app.db').execute('DROP TABLE users')"
expect_exit 2 moksha drift && expect_contains "$OUT" "sqlite.table.users" && expect_contains "$OUT" "1 gone"
expect_exit 0 moksha reconcile --auto-approve-risk high
[ "$(cols users)" = "['email', 'id', 'name']" ] || fail "reconcile did not make the table again"

# ---- a failure injected at every step rolls every step back ----
world() { # the databases, their tables and columns, and the state's addresses
    python3 - "$WORK/data" >"$1" <<'PY'
import os, sqlite3, sys
for f in sorted(os.listdir(sys.argv[1])):
    print("file", f)
    if f.endswith(".db"):
        c = sqlite3.connect(os.path.join(sys.argv[1], f))
        for (t,) in c.execute("select name from sqlite_master where type='table' order by name"):
            print(" ", t, sorted((r[1], r[2]) for r in c.execute("select * from pragma_table_info(?)", (t,))))
PY
    moksha state list >>"$1"
}
world before.txt
cat >>main.moksha <<'M'
resource sqlite.database logs { path = "logs.db" }
resource sqlite.table events {
  database = sqlite.database.logs.path
  name     = "events"
  columns  = { at = "INTEGER" }
}
M
sed -i 's/email = "TEXT" }/email = "TEXT", age = "INTEGER" }/' main.moksha
expect_exit 2 moksha plan --detailed-exitcode && expect_contains "$OUT" "Plan: 2 to create, 1 to update"
for target in sqlite.database.logs sqlite.table.events sqlite.table.users; do
    sed -i "s/fail_on = \[[^]]*\]/fail_on = [\"$target\"]/" main.moksha
    expect_exit 4 moksha apply --yes --parallelism 1 && expect_contains "$OUT" "Rolled back"
    expect_contains "$ERR" "Apply failed: $target" && expect_contains "$ERR" "injected failure"
    world after.txt
    expect_same before.txt after.txt
done
sed -i 's/fail_on = \[[^]]*\]/fail_on = []/' main.moksha
expect_exit 0 moksha apply --yes && expect_contains "$OUT" "2 created, 1 updated"
expect_exit 0 moksha plan --detailed-exitcode

# ---- kill -9 mid-apply, then re-apply converges ----
cat >many.moksha <<'M'
resource sqlite.table t {
  count    = 200
  database = sqlite.database.logs.path
  name     = "t${count.index}"
  columns  = { v = "TEXT" }
}
M
expect_exit 0 moksha plan -o p.plan
kill_apply p.plan "python3 -c \"import sqlite3; print(sqlite3.connect('$WORK/data/logs.db').execute(\\\"select count(*) from sqlite_master where name like 't%'\\\").fetchone()[0])\"" 0 --parallelism 1
m=$(python3 -c "import sqlite3; print(sqlite3.connect('$WORK/data/logs.db').execute(\"select count(*) from sqlite_master where type='table' and name like 't%'\").fetchone()[0])")
[ "$m" -gt 0 ] && [ "$m" -lt 200 ] || fail "the kill did not land mid-apply: $m of 200 tables made"
unlock_dead
expect_exit 0 moksha apply --yes
expect_exit 0 moksha plan --detailed-exitcode
n=$(python3 -c "import sqlite3; print(sqlite3.connect('$WORK/data/logs.db').execute(\"select count(*) from sqlite_master where type='table' and name like 't%'\").fetchone()[0])")
[ "$n" = 200 ] || fail "after kill -9 and re-apply logs.db holds $n of the 200 tables"
rm many.moksha
expect_exit 0 moksha apply --yes

# ---- a database made outside moksha: foreign to a create, adopted by an import ----
python3 -c "import sqlite3; sqlite3.connect('$WORK/data/legacy.db').execute('CREATE TABLE old (x INTEGER)')"
cat >legacy.moksha <<'M'
resource sqlite.database legacy { path = "legacy.db" }
M
expect_exit 4 moksha apply --yes && expect_contains "$ERR" "database legacy.db already exists and this stack did not make it: not taken over"
expect_exit 0 moksha import sqlite.database.legacy legacy.db --yes && expect_contains "$OUT" "imported"
expect_exit 0 moksha plan --detailed-exitcode
rm legacy.moksha

# ---- the allowlist: a changed folder, another schema, an unlisted plugin ----
snap() { python3 -c "import sqlite3; c=sqlite3.connect('$WORK/data/app.db'); print(sorted(c.execute('select name from sqlite_master')))" >"$1"; ls "$WORK/data" >>"$1"; }
snap before.txt
stack "" '{ id = "INTEGER", name = "TEXT" }'   # a change that would drop columns
cat >>main.moksha <<'M'
resource sqlite.database logs { path = "logs.db" }
resource sqlite.table events {
  database = sqlite.database.logs.path
  name     = "events"
  columns  = { at = "INTEGER" }
}
M
chmod u+w "$WORK/opt/sqlite" && echo "# changed" >>"$WORK/opt/sqlite/plugin" && chmod go-w "$WORK/opt/sqlite"
expect_exit 1 moksha apply --yes && expect_contains "$ERR" "changed since it was allowed" && expect_contains "$ERR" "not run"
config "$("$MOKSHA_EXEC" plugin digest "$WORK/opt/sqlite")"   # re-allowed as it is now
echo "# a schema the executor's folder does not have" >"$WORK/stack/schema.moksha.txt"
mkdir -p "$WORK/other" && cp -r "$WORK/opt/sqlite" "$WORK/other/sqlite" && echo "# edited" >>"$WORK/other/sqlite/schema.moksha"
sed -i "s|source = \"$WORK/opt/sqlite\"|source = \"$WORK/other/sqlite\"|" main.moksha
expect_exit 1 moksha apply --yes && expect_contains "$ERR" "the plan was compiled against schema"
sed -i "s|source = \"$WORK/other/sqlite\"|source = \"$WORK/opt/sqlite\"|" main.moksha
sed -i 's/plugin = "sqlite"/plugin = "sqlite_dev"/' main.moksha
cp -r "$WORK/opt/sqlite" "$WORK/other/sqlite_dev"
sed -i 's/sqlite\./sqlite_dev./g' "$WORK/other/sqlite_dev/schema.moksha" main.moksha
sed -i "s|source = \"$WORK/opt/sqlite\"|source = \"$WORK/other/sqlite_dev\"|" main.moksha
expect_exit 1 moksha apply --yes && expect_contains "$ERR" "plugin \`sqlite_dev\` is not on this executor's allowlist"
snap after.txt
expect_same before.txt after.txt
leave

# ---- the environment: only what the connection grants; its secret redacted ----
mkdir probe && enter probe || exit 1
cat >main.moksha <<M
provider plugin { plugin = "envprobe", source = "$WORK/opt/envprobe" }
resource envprobe.note hello { text = "hi" }
M
expect_exit 0 moksha apply --yes
expect_contains "$ERR" "plugin envprobe: env: HOME LANG PATH PROBE_TOKEN"
expect_contains "$ERR" "plugin envprobe: token: [redacted]"
if [ "$(id -u)" != 0 ]; then
    expect_contains "$ERR" "plugin envprobe: parent environ: refused"
    expect_contains "$ERR" "plugin envprobe: parent fd: refused"
fi
expect_not_contains "$ERR" "OTHER_SECRET"
leave
for f in "$OUT" "$ERR"; do grep -q "$TOKEN" "$f" && fail "the granted token is in $(basename "$f")"; done
if grep -rq "$TOKEN" stack probe etc opt data; then fail "the granted token is in a file of the stack"; fi
# the grep catches a planted leak
echo "$TOKEN" >probe/.moksha/planted
grep -rq "$TOKEN" probe || fail "the secret grep cannot see a planted leak"
rm probe/.moksha/planted

# ---- the executor's environment and descriptors, through /proc: refused ----
# (a plugin runs as the executor's user; root may read any process's, so
# as root the probe runs as nobody, from a folder nobody can read)
P=$(mktemp -d /tmp/moksha-e2e-probe.XXXXXX) && cp -r "$TOP/tests/plugins/envprobe" "$P/envprobe" &&
    chmod -R go-w,a+rX "$P" || fail "copy envprobe"
AS=""
[ "$(id -u)" = 0 ] && AS="setpriv --reuid=65534 --regid=65534 --clear-groups"
PROBE=$(cd "$P" && $AS "$MOKSHA_EXEC" plugin test "$P/envprobe" 2>&1)
case $PROBE in *"parent environ: refused"*"parent fd: refused"*) ;; *) fail "a plugin reads the executor's /proc: $PROBE" ;; esac
rm -rf "$P"

# ---- destroy ----
enter stack || exit 1
sed -i 's|other/sqlite_dev|opt/sqlite|; s/sqlite_dev/sqlite/g' main.moksha
expect_exit 0 moksha destroy --yes && expect_contains "$OUT" "deleted"
[ -e "$WORK/data/app.db" ] && fail "destroy left app.db"
[ -e "$WORK/data/logs.db" ] && fail "destroy left logs.db"
[ -e "$WORK/data/legacy.db" ] && fail "destroy left the imported legacy.db"
leave

# ---- the example stack as shipped: its own copy of the schema, the allowed folder's program ----
copy_example sqlite-plugin
enter sqlite-plugin || exit 1
expect_exit 0 moksha apply --yes && expect_contains "$OUT" "2 created"
expect_exit 0 moksha plan --detailed-exitcode
[ "$(python3 -c "import sqlite3; print(sqlite3.connect('$WORK/data/app.db').execute('PRAGMA journal_mode').fetchone()[0])")" = wal ] \
    || fail "the example's database is not in WAL mode"
expect_exit 0 moksha destroy --yes
[ -e "$WORK/data/app.db" ] && fail "destroy left the example's app.db"
leave
