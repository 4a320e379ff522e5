# test_pg_conn.sh — the connection rules through the executor, on a server
# of this test's own that asks TCP sessions for the password in cleartext
# (tests/pg.sh --tcp --auth-host password): an apply of a postgres.role is
# refused, the role never made and the password never sent; the same
# connection with allow_cleartext_password applies it. A connection to a
# metadata address is refused before any packet. The server's password
# appears in no output and no file of the stack. A spec's fail_on is
# refused before the first step unless the connection says
# allow_fault_injection, and honoured (rolled back) when it does.
. "$TOP/tests/e2e/lib.sh"

settings=$(sh "$TOP/tests/pg.sh" start --tcp --auth-host password) || { fail "cannot start a server"; exit 1; }
CLEAR=$(echo "$settings" | sed -n "s/.*MOKSHA_TEST_PG='\([^']*\)'.*/\1/p")
trap 'sh "$TOP/tests/pg.sh" stop "$CLEAR"; e2e_finish' EXIT
PORT=$(cat "$CLEAR/port")
export PGPASSWORD="$(cat "$CLEAR/password")"
export MOKSHA_KEY=c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0
ROLE=t$$_clear

sql() { psql "host=$CLEAR/sock port=$PORT user=moksha dbname=postgres" -qAt -c "$1"; }

mkdir cfg st && chmod 700 cfg
export MOKSHA_EXEC_CONFIG="$WORK/cfg/exec.json"
config() { # config EXTRA: connection dev over TCP to 127.0.0.1, with EXTRA keys
    printf '{"format": "moksha.exec-config/v1", "connections": {"dev": {"kind": "postgres", "conninfo": "host=127.0.0.1 port=%s user=moksha dbname=postgres sslmode=disable"%s}}}\n' \
        "$PORT" "$1" > "$MOKSHA_EXEC_CONFIG"
    chmod 600 "$MOKSHA_EXEC_CONFIG"
}
cat > st/main.moksha <<EOF2
stack clear {}
provider postgres { connection = "dev" }
resource postgres.role app { name = "$ROLE", login = true }
EOF2
enter st

# ---- cleartext asked: refused, nothing made ----
config ''
expect_exit 0 moksha plan -o p.plan
"$MOKSHA_EXEC" apply p.plan >"$OUT" 2>"$ERR" </dev/null
rc=$?
[ "$rc" -ne 0 ] && e2e_ok || e2e_bad "apply against a cleartext-asking server exited 0"
expect_contains "$ERR" "the server asks for the password in cleartext (pg_hba.conf method \`password\`): refused"
[ -z "$(sql "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" ] && e2e_ok || e2e_bad "the role was made"
cp "$OUT" out.refused; cp "$ERR" err.refused

# ---- allowed by the connection ----
config ', "allow_cleartext_password": true'
expect_exit 0 "$MOKSHA_EXEC" apply p.plan
[ "$(sql "SELECT rolcanlogin FROM pg_roles WHERE rolname = '$ROLE'")" = t ] && e2e_ok || e2e_bad "the role was not made"
cp "$OUT" out.allowed; cp "$ERR" err.allowed

# ---- a metadata address: refused before any packet ----
printf '{"format": "moksha.exec-config/v1", "connections": {"dev": {"kind": "postgres", "conninfo": "host=169.254.169.254 user=moksha"}}}\n' > "$MOKSHA_EXEC_CONFIG"
sed -i "s/login = true/login = false/" main.moksha
expect_exit 0 moksha plan -o p2.plan
"$MOKSHA_EXEC" apply p2.plan >"$OUT" 2>"$ERR" </dev/null
[ $? -ne 0 ] && e2e_ok || e2e_bad "apply to a metadata address exited 0"
expect_contains "$ERR" "169.254.169.254 resolves to 169.254.169.254, link-local (169.254.0.0/16, where clouds serve instance metadata): refused"

# ---- the password: in no output, no file of the stack ----
if grep -rqF "$PGPASSWORD" . "$OUT" "$ERR" 2>/dev/null; then e2e_bad "the server's password is in $(grep -rlF "$PGPASSWORD" . | head -3)"; else e2e_ok; fi
leave

# ---- fail_on: the spec's, so honoured only where the connection allows it ----
faults() { # faults DIR ROLE: a stack whose provider block injects a failure into ROLE's create
    mkdir "$1" && cat > "$1/main.moksha" <<EOF2
stack faults {}
provider postgres { connection = "dev", fail_on = ["postgres.role.other"] }
resource postgres.role other { name = "$2" }
EOF2
}
faults st2 "${ROLE}_f"
enter st2
expect_exit 0 moksha plan -o f.plan
config ', "allow_cleartext_password": true'
"$MOKSHA_EXEC" apply f.plan >"$OUT" 2>"$ERR" </dev/null
rc=$?
if grep -q "injected failure" "$ERR"; then e2e_bad "fail_on honoured on a connection that does not allow it"; else e2e_ok; fi
if [ "$rc" -ne 0 ]; then # the executor asks each step's check before the first one
    [ "$rc" -eq 1 ] && e2e_ok || e2e_bad "refused by the check, but exit $rc"
    expect_contains "$ERR" "postgres: postgres.role.other: provider postgres asks for injected failures (fail_on), which connection dev does not allow: set \"allow_fault_injection\": true"
    [ -z "$(sql "SELECT 1 FROM pg_roles WHERE rolname = '${ROLE}_f'")" ] && e2e_ok || e2e_bad "refused, but the role was made"
fi
leave
faults st3 "${ROLE}_g"
enter st3
expect_exit 0 moksha plan -o f.plan
config ', "allow_cleartext_password": true, "allow_fault_injection": true'
"$MOKSHA_EXEC" apply f.plan >"$OUT" 2>"$ERR" </dev/null
[ $? -ne 0 ] && e2e_ok || e2e_bad "an injected failure exited 0"
expect_contains "$ERR" "postgres: postgres.role.other: injected failure (provider postgres, fail_on)"
[ -z "$(sql "SELECT 1 FROM pg_roles WHERE rolname = '${ROLE}_g'")" ] && e2e_ok || e2e_bad "the failed create left its role"
leave
sql "DROP ROLE IF EXISTS $ROLE" >/dev/null
sql "DROP ROLE IF EXISTS ${ROLE}_f" >/dev/null
sql "DROP ROLE IF EXISTS ${ROLE}_g" >/dev/null
