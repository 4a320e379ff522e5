#!/bin/sh
# A throwaway Azure Blob emulator for the tests: azurite-blob 3.35.0 from
# build/tools/npm (sh tests/deps.sh test installs it), on 127.0.0.1 at a
# port the system picks free (--blobPort 0), its data and debug log in a
# fresh directory. Nothing outside the directory is touched.
#
#   sh tests/azure/azurite.sh start [DIR]   start one (DIR: a new /tmp/mkaz.XXXXXX),
#                                           print the settings to eval:
#                                           AZ_DIR AZ_PORT AZ_ENDPOINT AZ_ACCOUNT AZ_KEY
#   sh tests/azure/azurite.sh stop DIR      stop it and remove DIR
#
# The account is azurite's well-known devstoreaccount1, but its key is made
# at random at start (AZURITE_ACCOUNTS) and kept in DIR/key (mode 0600), so
# that a test can look for it everywhere: the well-known key is public.
# azurite checks every request's Shared Key signature against it. Its
# debug log (DIR/debug.log) records each string to sign and each
# signature it computed, never the key.
set -u

die() {
    echo "azurite: $*" >&2
    exit 1
}

TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$TOP/build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
BIN=$BUILD/tools/npm/node_modules/.bin/azurite-blob
# a build flavour (build/sanitize, build/allocfail) has no npm tools of its
# own: tests/deps.sh installs them once, under its parent (build/), else
# the repository's build/
[ -x "$BIN" ] || BIN=$(dirname "$BUILD")/tools/npm/node_modules/.bin/azurite-blob
[ -x "$BIN" ] || BIN=$TOP/build/tools/npm/node_modules/.bin/azurite-blob

start() {
    [ -x "$BIN" ] || die "$BIN not found: run sh tests/deps.sh test"
    dir=${1:-$(mktemp -d /tmp/mkaz.XXXXXX)} || die "cannot make a directory"
    mkdir -p "$dir/data" || die "cannot use $dir"
    (umask 077 && head -c 64 /dev/urandom | base64 -w0 >"$dir/key") || die "cannot make a key"
    key=$(cat "$dir/key")
    # its own process group (setsid), so stop ends node and whatever it starts
    AZURITE_ACCOUNTS="devstoreaccount1:$key" setsid "$BIN" --blobHost 127.0.0.1 --blobPort 0 \
        --location "$dir/data" --debug "$dir/debug.log" --disableTelemetry --disableProductStyleUrl --silent \
        >"$dir/out.log" 2>&1 </dev/null &
    echo $! >"$dir/pid"
    port=
    i=0
    while [ $i -lt 600 ]; do
        port=$(sed -n 's|.*successfully listens on http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$dir/out.log" 2>/dev/null)
        [ -n "$port" ] && break
        kill -0 "$(cat "$dir/pid")" 2>/dev/null || { cat "$dir/out.log" >&2; rm -rf "$dir"; die "azurite exited"; }
        sleep 0.1
        i=$((i + 1))
    done
    [ -n "$port" ] || { kill -- -"$(cat "$dir/pid")" 2>/dev/null; cat "$dir/out.log" >&2; rm -rf "$dir"; die "azurite did not start in 60s"; }
    echo "$port" >"$dir/port"
    printf "AZ_DIR='%s' AZ_PORT='%s' AZ_ENDPOINT='http://127.0.0.1:%s/devstoreaccount1' AZ_ACCOUNT=devstoreaccount1 AZ_KEY='%s'\n" \
        "$dir" "$port" "$port" "$key"
    printf "export AZ_DIR AZ_PORT AZ_ENDPOINT AZ_ACCOUNT AZ_KEY\n"
}

stop() {
    [ -n "${1:-}" ] && [ -f "$1/pid" ] || die "stop: no emulator directory given"
    pid=$(cat "$1/pid")
    kill -- -"$pid" 2>/dev/null || kill "$pid" 2>/dev/null
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    kill -9 -- -"$pid" 2>/dev/null
    rm -rf "$1"
}

case ${1:-} in
start) shift; start "$@" ;;
stop) shift; stop "$@" ;;
*) die "usage: sh tests/azure/azurite.sh start [DIR] | stop DIR" ;;
esac
