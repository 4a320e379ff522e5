# serve_lib.sh — what the tests of `moksha-exec serve` share (sourced by
# test_serve.sh and test_serve_read.sh after setting SERVE_TEST to their
# name): two system users, the service's (SVC) and a submitter's (SUB), in
# one group (GRP) that may use the socket; the binaries and the standard
# library under BASE where both can read them; the service's configuration
# readable by it alone; running as each, starting and stopping the service,
# and a submitter's stack. Needs root (useradd, setpriv): the test is
# skipped otherwise.
. "$TOP/tests/e2e/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
    echo "$SERVE_TEST: skipped: it makes two system users and runs as each, which needs root"
    exit 0
fi

SVC=mkserve$$
SUB=mksub$$
GRP=mksubmit$$
BASE=$(mktemp -d /tmp/moksha-serve.XXXXXX)
chmod 755 "$BASE"
SP=
cleanup() {
    [ -n "$SP" ] && kill -TERM "$SP" 2>/dev/null && wait "$SP" 2>/dev/null
    userdel "$SVC" 2>/dev/null
    userdel "$SUB" 2>/dev/null
    groupdel "$GRP" 2>/dev/null
    rm -rf "$BASE"
}
trap 'cleanup; e2e_finish' EXIT

groupadd --system "$GRP" || { fail "groupadd $GRP"; exit 1; }
useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin -G "$GRP" "$SVC" || { fail "useradd $SVC"; exit 1; }
useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin -G "$GRP" "$SUB" || { fail "useradd $SUB"; exit 1; }

# the binaries and the standard library where both users can read them,
# whatever the checkout's permissions
mkdir -p "$BASE/bin" "$BASE/share" "$BASE/etc" "$BASE/run" "$BASE/sub" "$BASE/stacks"
cp "$MOKSHA" "$MOKSHA_EXEC" "$BASE/bin/"
cp -r "$TOP/stdlib" "$TOP/policies" "$BASE/share/"
chmod -R a+rX "$BASE/bin" "$BASE/share"
KEY=be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c
SOCK=$BASE/run/exec.sock

# service_config MODE: the service's configuration, readable by it alone
service_config() {
    printf '{"format": "moksha.exec-config/v1",\n "service": {"socket": "%s", "group": "%s", "mode": "%s", "stacks": "%s"}}\n' \
        "$SOCK" "$GRP" "$1" "$BASE/stacks" > "$BASE/etc/exec.json"
    chown -R "$SVC:$SVC" "$BASE/etc" "$BASE/run" "$BASE/stacks" # (systemd: StateDirectory=, RuntimeDirectory=)
    chmod 700 "$BASE/etc" "$BASE/stacks"
    chmod 600 "$BASE/etc/exec.json"
}

# as_service CMD...: as the service user, with only its own environment
as_service() {
    setpriv --reuid="$SVC" --regid="$SVC" --init-groups env -i PATH=/usr/bin:/bin HOME=/nonexistent \
        MOKSHA_EXEC_CONFIG="$BASE/etc/exec.json" MOKSHA_KEY=$KEY SIM_TOKEN=sim-secret-4f2a NO_COLOR=1 "$@"
}

# as_submitter CMD...: as the submitter, who knows the socket and the project key, not the secret
as_submitter() {
    setpriv --reuid="$SUB" --regid="$SUB" --init-groups env -i PATH=/usr/bin:/bin HOME=/nonexistent \
        MOKSHA_SHARE="$BASE/share" MOKSHA_EXEC_SOCKET="$SOCK" MOKSHA_KEY=$KEY NO_COLOR=1 "$@"
}

start_service() {
    # ready when a socket made after this mark is there: a stale one left by
    # a killed service is still there until the new service replaces it
    touch "$BASE/start.mark"
    sleep 0.02
    (cd / && exec setpriv --reuid="$SVC" --regid="$SVC" --init-groups env -i PATH=/usr/bin:/bin HOME=/nonexistent \
        MOKSHA_EXEC_CONFIG="$BASE/etc/exec.json" MOKSHA_KEY=$KEY SIM_TOKEN=sim-secret-4f2a NO_COLOR=1 \
        "$BASE/bin/moksha-exec" serve) 2>>"$BASE/serve.log" &
    SP=$!
    w=0
    while ! { [ -S "$SOCK" ] && [ -n "$(find "$SOCK" -newer "$BASE/start.mark" 2>/dev/null)" ]; } && [ $w -lt 250 ]; do
        sleep 0.02
        w=$((w + 1))
    done
    [ -S "$SOCK" ] || { fail "the service did not start"; e2e_show "$BASE/serve.log" "the service's log"; exit 1; }
}

stop_service() {
    kill -TERM "$SP"
    wait "$SP"
    rc=$?
    SP=
}

# a stack of the submitter's: a network and N computes, each call LATENCY long
make_stack() {
    mkdir -p "$BASE/sub/$1"
    {
        echo "provider sim { latency = $2 }"
        echo 'resource network n { cidr = "10.3.0.0/16" }'
        i=0
        while [ $i -lt "$3" ]; do
            echo "resource compute c$i { cpu = 1, memory = 1GiB, image = \"app:1\", network = network.n }"
            i=$((i + 1))
        done
    } > "$BASE/sub/$1/main.moksha"
    chown -R "$SUB:$SUB" "$BASE/sub"
}

service_dir() { echo "$BASE/stacks/$(cat "$BASE/sub/$1/.moksha/stack-id")"; }
