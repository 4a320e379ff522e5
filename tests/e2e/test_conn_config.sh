# test_conn_config.sh — the executor configuration's `connections` as an
# operator meets them through `moksha-exec config check`: a valid
# connection described in one line (no secret in it), and each kind of
# mistake refused with exit 1, naming the file and the key.
. "$TOP/tests/e2e/lib.sh"

mkdir cfg stack && chmod 700 cfg
export MOKSHA_EXEC_CONFIG="$WORK/cfg/exec.json"
enter stack # the configuration is never in the directory the executor runs in

conn() { # conn JSON: the configuration with connection "dev" = JSON
    printf '{"format": "moksha.exec-config/v1", "connections": {"dev": %s}}\n' "$1" > "$MOKSHA_EXEC_CONFIG"
    chmod 600 "$MOKSHA_EXEC_CONFIG"
}

conn '{"kind": "postgres", "conninfo": "host=db.internal user=deploy sslmode=verify-full", "password_command": ["/usr/local/bin/db-token", "--role", "deploy"], "credential_ttl": "5m", "allow_addresses": ["169.254.10.0/24"], "connect_timeout": "3s", "statement_timeout": "2m"}'
expect_exit 0 "$MOKSHA_EXEC" config check
expect_contains "$OUT" "connection dev: postgres, password from password_command /usr/local/bin/db-token, cleartext password refused, unverified TLS refused, 1 allowed address range, connect timeout 3000 ms, statement timeout 120000 ms"
expect_not_contains "$OUT" "deploy"

refused() { # refused JSON KEY WORDS
    conn "$1"
    expect_exit 1 "$MOKSHA_EXEC" config check
    expect_contains "$ERR" "exec.json: key \`$2\`: "
    expect_contains "$ERR" "$3"
}
refused '{"kind": "postgres", "conninfo": "host=db password=hunter2"}' connections.dev.conninfo "a password in the connection string is refused"
expect_not_contains "$ERR" "hunter2"
refused '{"kind": "postgres", "conninfo": "host=a,b"}' connections.dev.conninfo "one server per connection"
refused '{"kind": "postgres", "conninfo": "host=db", "password_command": "db-token"}' connections.dev.password_command "expected a command as a list"
refused '{"kind": "postgres", "conninfo": "host=db", "password_command": ["db-token"]}' "connections.dev.password_command[0]" "absolute path"
refused '{"kind": "postgres", "conninfo": "host=db", "allow_addresses": ["169.254.169.254/16"]}' "connections.dev.allow_addresses[0]" "the network is 169.254.0.0/16"
refused '{"kind": "postgres", "conninfo": "host=db", "allow_cleartext": true}' connections.dev.allow_cleartext "unknown setting"
refused '{"kind": "postgres", "conninfo": "host=db", "statement_timeout": "forever"}' connections.dev.statement_timeout "1ms to 24h"
leave
