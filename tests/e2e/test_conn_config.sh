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
expect_contains "$OUT" "connection dev: postgres, password from password_command /usr/local/bin/db-token, cleartext password refused, unverified TLS refused, CREATEROLE refused, fault injection refused, 1 allowed address range, connect timeout 3000 ms, statement timeout 120000 ms"
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

# HTTP connections (docs/providers.md, "HTTP connections"): where, and the
# names of the variables holding the secrets, never a secret
conn '{"kind": "s3", "endpoint": "https://s3.eu-west-1.amazonaws.com", "region": "eu-west-1", "credentials": {"access_key_id_env": "STORE_KEY_ID", "secret_access_key_env": "STORE_SECRET"}, "implements": ["encryption", "versioning"], "vouches": {"encrypted": true}, "request_timeout": "20s"}'
expect_exit 0 "$MOKSHA_EXEC" config check
expect_contains "$OUT" "connection dev: s3 at https://s3.eu-west-1.amazonaws.com, region eu-west-1, credentials from {\"access_key_id_env\":\"STORE_KEY_ID\",\"secret_access_key_env\":\"STORE_SECRET\"}, unverified TLS refused, plaintext refused, fault injection refused, 0 allowed address ranges, connect timeout 10000 ms, request timeout 20000 ms"
refused '{"kind": "s3", "endpoint": "ftp://files.internal"}' connections.dev.endpoint "the scheme is http or https"
refused '{"kind": "s3", "endpoint": "https://AKIA:hunter2@s3.internal"}' connections.dev.endpoint "a user in the URL is refused"
expect_not_contains "$ERR" "hunter2"
refused '{"kind": "s3", "endpoint": "https://s3.internal/?x-amz-security-token=hunter2"}' connections.dev.endpoint "a query or fragment is refused"
expect_not_contains "$ERR" "hunter2"
refused '{"kind": "s3", "endpoint": "https://s3.internal", "credentials": {"secret_access_key_env": "wJalrXUtnFEMI/K7MDENG"}}' connections.dev.credentials.secret_access_key_env "the secret itself never goes in this file"
refused '{"kind": "s3", "endpoint": "https://s3.internal", "implements": ["encryption", "lifecycle"]}' connections.dev.implements "bucket APIs the server implements"
refused '{"kind": "s3", "endpoint": "https://s3.internal", "account": "acme"}' connections.dev.account "not a setting of a connection of this kind"
refused '{"kind": "s3", "endpoint": "https://s3.internal", "conninfo": "host=db"}' connections.dev.conninfo "unknown setting"
refused '{"kind": "azure_blob", "endpoint": "https://acme.blob.core.windows.net"}' connections.dev.account "the storage account's name"
refused '{"kind": "http", "endpoint": "https://api.internal", "headers": {"Authorization": "Bearer hunter2"}}' connections.dev.headers.Authorization "this header is the executor's"
expect_not_contains "$ERR" "hunter2"
refused '{"kind": "http", "endpoint": "https://api.internal", "credentials": {"bearer_env": "TOKEN", "basic_user": "deploy", "password_env": "PW"}}' connections.dev.credentials "bearer or basic, not both"
refused '{"kind": "http", "endpoint": "https://api.internal", "credentials": {"basic_user": "deploy"}}' connections.dev.credentials "basic_user and password_env together"
refused '{"kind": "ldap", "endpoint": "ldap://x"}' connections.dev.kind "the kinds of connection this executor knows"

# the plugin allowlist (docs/plugins.md, "The allowlist")
printf '{"format": "moksha.exec-config/v1", "connections": {"hosts": {"kind": "plugin", "credentials": {"env": ["HOSTS_TOKEN"]}}}, "plugins": {"sqlite": {"dir": "/opt/moksha/plugins/sqlite", "digest": "sha256:%s", "connection": "hosts"}}}\n' \
    "$(printf '%064d' 0)" > "$MOKSHA_EXEC_CONFIG"
expect_exit 0 "$MOKSHA_EXEC" config check
expect_contains "$OUT" "connection hosts: plugin, 1 variable granted, settings none"
expect_contains "$OUT" "plugin sqlite: /opt/moksha/plugins/sqlite, sha256:$(printf '%064d' 0), connection hosts, timeout 30000 ms, fault injection refused"
printf '{"format": "moksha.exec-config/v1", "plugins": {"sqlite": {"dir": "/opt/p", "digest": "sha256:abc"}}}\n' > "$MOKSHA_EXEC_CONFIG"
expect_exit 1 "$MOKSHA_EXEC" config check
expect_contains "$ERR" 'key `plugins.sqlite.digest`: expected "sha256:" and 64 lowercase hex digits'
printf '{"format": "moksha.exec-config/v1", "plugins": {"sqlite": {"dir": "plugins/sqlite", "digest": "sha256:%s"}}}\n' "$(printf '%064d' 0)" > "$MOKSHA_EXEC_CONFIG"
expect_exit 1 "$MOKSHA_EXEC" config check
expect_contains "$ERR" 'key `plugins.sqlite.dir`: expected an absolute path'
printf '{"format": "moksha.exec-config/v1", "plugins": {"sqlite": {"dir": "/opt/p", "digest": "sha256:%s", "connection": "nope"}}}\n' "$(printf '%064d' 0)" > "$MOKSHA_EXEC_CONFIG"
expect_exit 1 "$MOKSHA_EXEC" config check
expect_contains "$ERR" 'key `plugins.sqlite.connection`: expected the name of a connection of kind "plugin"'
for name in MOKSHA_KEY PATH HOME LANG LD_PRELOAD PYTHONPATH PERL5LIB NODE_OPTIONS; do
    printf '{"format": "moksha.exec-config/v1", "connections": {"hosts": {"kind": "plugin", "credentials": {"env": ["HOSTS_TOKEN", "%s"]}}}}\n' "$name" > "$MOKSHA_EXEC_CONFIG"
    expect_exit 1 "$MOKSHA_EXEC" config check
    expect_contains "$ERR" "key \`connections.hosts.credentials.env\`: $name is not granted to a plugin"
done
leave
