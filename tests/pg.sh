#!/bin/sh
# A throwaway PostgreSQL server for the tests and the demo, from Debian's
# `postgresql` package: initdb in a fresh directory, a unix socket (no TCP
# port unless --tcp), password authentication, run as an unprivileged user (the
# server refuses to run as root, and the suite may). Nothing outside the
# directory is touched (with --tcp, a port on 127.0.0.1 too).
#
#   sh tests/pg.sh start [--tcp] [--auth-host METHOD] [--ssl METHOD] [DIR]
#                                start one (DIR: a new /tmp/mkpg.XXXXXX), print
#                                the settings to eval: PGHOST PGPORT PGUSER
#                                PGDATABASE PGPASSWORD MOKSHA_TEST_PG;
#                                --tcp: listen on 127.0.0.1 too (same port),
#                                --auth-host: pg_hba's method for TCP sessions
#                                (default scram-sha-256; `password` asks for the
#                                password in cleartext, for the connection rules'
#                                tests); --ssl: TLS on (a throwaway self-signed
#                                certificate for localhost), and TCP sessions
#                                over TLS authenticate with METHOD (hostssl
#                                lines first), the others as --auth-host says
#   sh tests/pg.sh stop DIR      stop it and remove DIR
#   sh tests/pg.sh db DIR NAME   create database NAME on it
#
# The user `moksha` is the server's superuser; its password is random, made
# at start and kept in DIR/password (mode 0600): tests hand it to the
# executor in its environment (PGPASSWORD), never in a file under review.
set -u

die() {
    echo "pg: $*" >&2
    exit 1
}

bin() {
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/$1" ] && { echo "$d/$1"; return 0; }
    done
    command -v "$1" 2>/dev/null || return 1
}

# as_server CMD...: CMD as the server's user (the directory's owner).
as_server() {
    if [ "$(id -u)" -eq 0 ]; then
        setpriv --reuid=nobody --regid=nogroup --clear-groups --reset-env env PATH=/usr/bin:/bin LANG=C.UTF-8 "$@"
    else
        "$@"
    fi
}

start() {
    listen= auth_host=scram-sha-256 auth_ssl=
    while [ $# -gt 0 ]; do
        case $1 in
        --tcp) listen=127.0.0.1; shift ;;
        --auth-host) [ $# -ge 2 ] || die "--auth-host needs a method"; auth_host=$2; shift 2 ;;
        --ssl) [ $# -ge 2 ] || die "--ssl needs a method"; auth_ssl=$2; shift 2 ;;
        *) break ;;
        esac
    done
    for m in $auth_host $auth_ssl; do
        case $m in scram-sha-256|md5|password|trust|reject) ;; *) die "not a method: $m" ;; esac
    done
    initdb=$(bin initdb) || die "initdb not found: install Debian's postgresql (sh tests/deps.sh test)"
    pg_ctl=$(bin pg_ctl) || die "pg_ctl not found"
    dir=${1:-$(mktemp -d /tmp/mkpg.XXXXXX)} || die "cannot make a directory"
    mkdir -p "$dir" && chmod 0755 "$dir" || die "cannot use $dir"
    port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 20000 ))
    head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/password"
    chmod 0600 "$dir/password"
    mkdir -p "$dir/data" "$dir/sock"
    [ "$(id -u)" -eq 0 ] && chown nobody:nogroup "$dir/data" "$dir/sock" "$dir/password" # initdb reads it as that user
    as_server "$initdb" -D "$dir/data" -U moksha --auth-local=scram-sha-256 --auth-host="$auth_host" --pwfile="$dir/password" -E UTF8 \
        --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    [ "$(id -u)" -eq 0 ] && chown root:root "$dir/password"
    ssl=off
    [ -n "$auth_ssl" ] && { tls "$dir" "$auth_ssl" || die "cannot set up TLS"; ssl=on; }
    as_server "$pg_ctl" -D "$dir/data" -l "$dir/data/server.log" -w -t 30 \
        -o "-c listen_addresses=$listen -c unix_socket_directories=$dir/sock -p $port -c fsync=on -c max_connections=60 -c ssl=$ssl" \
        start >"$dir/start.log" 2>&1 || { cat "$dir/start.log" "$dir/data/server.log" >&2; die "the server did not start"; }
    echo "$port" >"$dir/port"
    pw=$(cat "$dir/password")
    PGPASSWORD=$pw psql -h "$dir/sock" -p "$port" -U moksha -d postgres -qAt -c "CREATE DATABASE moksha" >/dev/null ||
        die "cannot create the database"
    printf "PGHOST='%s' PGPORT='%s' PGUSER=moksha PGDATABASE=moksha PGPASSWORD='%s' MOKSHA_TEST_PG='%s'\n" \
        "$dir/sock" "$port" "$pw" "$dir"
    printf "export PGHOST PGPORT PGUSER PGDATABASE PGPASSWORD MOKSHA_TEST_PG\n"
}

# tls DIR METHOD: a certificate for the server, and hostssl lines ahead of
# initdb's (pg_hba.conf: the first line that matches decides).
tls() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost \
        -keyout "$1/data/server.key" -out "$1/data/server.crt" >/dev/null 2>&1 || return 1
    chmod 0600 "$1/data/server.key"
    [ "$(id -u)" -eq 0 ] && chown nobody:nogroup "$1/data/server.key" "$1/data/server.crt"
    hba=$1/data/pg_hba.conf
    { printf 'hostssl all all 127.0.0.1/32 %s\nhostssl all all ::1/128 %s\n' "$2" "$2"; cat "$hba"; } >"$1/hba.new" &&
        cat "$1/hba.new" >"$hba" && rm -f "$1/hba.new"
}

stop() {
    [ -n "${1:-}" ] && [ -d "$1/data" ] || die "stop: no server directory given"
    pg_ctl=$(bin pg_ctl) || die "pg_ctl not found"
    as_server "$pg_ctl" -D "$1/data" -m immediate -w -t 20 stop >/dev/null 2>&1
    rm -rf "$1"
}

db() {
    [ -n "${1:-}" ] && [ -n "${2:-}" ] || die "db: DIR NAME"
    PGPASSWORD=$(cat "$1/password") psql -h "$1/sock" -p "$(cat "$1/port")" -U moksha -d postgres -qAt \
        -c "CREATE DATABASE \"$2\"" >/dev/null
}

case ${1:-} in
start) shift; start "$@" ;;
stop) shift; stop "$@" ;;
db) shift; db "$@" ;;
*) die "usage: sh tests/pg.sh start [DIR] | stop DIR | db DIR NAME" ;;
esac
