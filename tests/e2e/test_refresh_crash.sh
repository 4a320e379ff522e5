# test_refresh_crash.sh — kill -9 at moments of a refresh (note [refresh
# crash] in runtime/refresh.c): the state is byte for byte as it was,
# observed.json is the old one or the new one, whole, never torn; the lock
# names the dead holder, `state unlock` frees it, the audit log verifies,
# and the next refresh works.
. "$TOP/tests/e2e/lib.sh"

mkdir stack && cd stack
{
    # 50 ms a read, two at a time: a refresh of 25 objects takes ~0.6 s
    echo 'provider sim { latency = 50ms }'
    echo 'resource network n { cidr = "10.2.0.0/16" }'
    i=0
    while [ $i -lt 24 ]; do
        echo "resource bucket b$i { }"
        i=$((i + 1))
    done
} > main.moksha
expect_exit 0 moksha apply --yes
expect_exit 0 "$MOKSHA_EXEC" refresh
cp .moksha/state.json state.before

n=0
killed=0
for delay in 0 0.05 0.2 0.4; do
    n=$((n + 1))
    cp .moksha/observed.json observed.before
    f=.moksha/sim/bucket.b$n.json
    jq '.attributes.versioning = true' "$f" > x && mv x "$f"
    "$MOKSHA_EXEC" refresh --parallelism 2 >/dev/null 2>&1 &
    pid=$!
    w=0
    while [ ! -f .moksha/state.lock ] && [ $w -lt 200 ]; do sleep 0.01; w=$((w + 1)); done
    sleep $delay
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
    cmp -s .moksha/state.json state.before || fail "after kill -9 at ${delay}s the state changed"
    jq -e '.format == "moksha.observed/v1"' .moksha/observed.json >/dev/null ||
        fail "after kill -9 at ${delay}s observed.json is not whole: $(head -c 300 .moksha/observed.json)"
    if ! cmp -s .moksha/observed.json observed.before; then
        [ "$(jq -r ".resources[\"bucket.b$n\"].drift[0]" .moksha/observed.json)" = versioning ] ||
            fail "after kill -9 at ${delay}s observed.json is neither the old nor the new one"
    fi
    if [ -f .moksha/state.lock ]; then
        killed=$((killed + 1))
        id=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' .moksha/state.lock)
        expect_exit 6 "$MOKSHA_EXEC" refresh
        expect_exit 0 moksha state unlock "$id" --reason "test: the holder was killed"
    fi
    expect_exit 0 moksha audit verify
    expect_exit 2 "$MOKSHA_EXEC" refresh --detailed-exitcode
    [ "$(jq "[.resources[] | select(.status == \"present\" and has(\"drift\"))] | length" .moksha/observed.json)" = $n ] ||
        fail "after recovery observed.json does not record the $n drifted buckets"
    cmp -s .moksha/state.json state.before || fail "the refresh after the kill changed the state"
    expect_exit 0 moksha audit verify
done
# the reads take long enough that most kills land in the middle of one
[ $killed -ge 2 ] || fail "only $killed of 4 kills landed during a refresh"
