#!/bin/sh
# An S3 emulator for the tests and the demo: s3rver (npm, installed by
# tests/deps.sh into build/tools/npm) on a loopback port the system picks,
# its buckets in a fresh directory, behind tests/s3/sigv4proxy.js, which
# checks every request's SigV4 signature (s3rver accepts any).
#
#   sh tests/s3/s3rver.sh start [DIR]   start both (DIR: a new /tmp/mks3.XXXXXX) and print the
#                                       settings to eval: S3_ENDPOINT (the proxy: what moksha is
#                                       given), S3_DIRECT (s3rver itself, for changes made out of
#                                       band), AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, MOKSHA_TEST_S3
#   sh tests/s3/s3rver.sh stop DIR      stop both and remove DIR
#
# The secret is random, made at start and kept in DIR/secret (0600): tests
# hand it to the executor in its environment, never in a file under
# review. s3rver's log is DIR/s3rver.log, the proxy's verdicts DIR/proxy.log.
# S3_OWNER_PID: a process whose end stops them (a test that crashed);
# S3_REGION (default us-east-1) is the region the proxy accepts signatures for;
# BUILD (default build) the build directory whose tools/npm holds s3rver.
set -u

die() {
    echo "s3rver: $*" >&2
    exit 1
}

TOP=$(cd "$(dirname "$0")/../.." && pwd)
# the npm tools tests/deps.sh installed into $BUILD/tools/npm (BUILD: the
# build directory, default the repository's build/)
case ${BUILD:-} in
"") B=$TOP/build ;;
/*) B=$BUILD ;;
*) B=$(pwd)/$BUILD ;;
esac
MODULES=$B/tools/npm/node_modules
# a build flavour (build/sanitize, build/allocfail) has no npm tools of its
# own: tests/deps.sh installs them once, under its parent (build/), else
# the repository's build/
[ -d "$MODULES/s3rver" ] || MODULES=$(dirname "$B")/tools/npm/node_modules
[ -d "$MODULES/s3rver" ] || MODULES=$TOP/build/tools/npm/node_modules

# wait_file FILE PID: until FILE has a port in it (10 s), while PID lives
wait_file() {
    i=0
    while [ ! -s "$1" ]; do
        kill -0 "$2" 2>/dev/null || return 1
        i=$((i + 1))
        [ $i -gt 200 ] && return 1
        sleep 0.05
    done
}

start() {
    [ -d "$MODULES/s3rver" ] || die "s3rver is not installed under $MODULES (sh tests/deps.sh test)"
    command -v node >/dev/null || die "node not found (sh tests/deps.sh test)"
    dir=${1:-$(mktemp -d /tmp/mks3.XXXXXX)} || die "cannot make a directory"
    mkdir -p "$dir/data" || die "cannot use $dir"
    (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/secret")
    NODE_PATH=$MODULES nohup node -e '
const S3rver = require("s3rver"), fs = require("fs");
new S3rver({ address: "127.0.0.1", port: 0, directory: process.argv[1], allowMismatchedSignatures: true, silent: false })
  .run().then(a => fs.writeFileSync(process.argv[2], String(a.port)),
              e => { console.error(e); process.exit(1); });' "$dir/data" "$dir/s3rver.port" \
        >"$dir/s3rver.log" 2>&1 </dev/null &
    echo $! >"$dir/s3rver.pid"
    wait_file "$dir/s3rver.port" "$(cat "$dir/s3rver.pid")" || { cat "$dir/s3rver.log" >&2; stop "$dir"; die "s3rver did not start"; }
    S3PROXY_KEY_ID=S3RVER S3PROXY_SECRET=$(cat "$dir/secret") S3PROXY_REGION=${S3_REGION:-us-east-1} NODE_PATH=$MODULES \
        nohup node "$TOP/tests/s3/sigv4proxy.js" "$(cat "$dir/s3rver.port")" "$dir/proxy.port" \
        >"$dir/proxy.log" 2>&1 </dev/null &
    echo $! >"$dir/proxy.pid"
    wait_file "$dir/proxy.port" "$(cat "$dir/proxy.pid")" || { cat "$dir/proxy.log" >&2; stop "$dir"; die "the proxy did not start"; }
    # S3_OWNER_PID: both are stopped, and DIR removed, once that process is
    # gone, even when it could not stop them itself (killed, crashed)
    if [ -n "${S3_OWNER_PID:-}" ]; then
        (
            while kill -0 "$S3_OWNER_PID" 2>/dev/null && [ -d "$dir/data" ]; do sleep 1; done
            [ -d "$dir/data" ] && stop "$dir"
        ) >/dev/null 2>&1 </dev/null &
    fi
    printf "S3_ENDPOINT='http://127.0.0.1:%s' S3_DIRECT='http://127.0.0.1:%s' AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY='%s' MOKSHA_TEST_S3='%s'\n" \
        "$(cat "$dir/proxy.port")" "$(cat "$dir/s3rver.port")" "$(cat "$dir/secret")" "$dir"
    printf "export S3_ENDPOINT S3_DIRECT AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY MOKSHA_TEST_S3\n"
}

stop() {
    [ -n "${1:-}" ] && [ -d "$1/data" ] || die "stop: no s3rver directory given"
    for p in proxy s3rver; do
        [ -f "$1/$p.pid" ] && kill "$(cat "$1/$p.pid")" 2>/dev/null
    done
    for p in proxy s3rver; do
        i=0
        while [ -f "$1/$p.pid" ] && kill -0 "$(cat "$1/$p.pid")" 2>/dev/null && [ $i -lt 40 ]; do
            sleep 0.05
            i=$((i + 1))
        done
        [ -f "$1/$p.pid" ] && kill -9 "$(cat "$1/$p.pid")" 2>/dev/null
    done
    rm -rf "$1"
}

case ${1:-} in
start) shift; start "$@" ;;
stop) shift; stop "$@" ;;
*) die "usage: sh tests/s3/s3rver.sh start [DIR] | stop DIR" ;;
esac
