# test_apply_crash.sh — kill -9 at random moments of an apply: the lock names
# the dead holder, `state unlock` frees it, and the next apply accounts for
# every object the dead one made (one sim object per address, each recorded
# once in the state), re-plans to no changes, and the audit log verifies.
# Then: tampering with the audit log (alter, delete, insert any line) is caught.
. "$TOP/tests/e2e/lib.sh"

mkdir stack && cd stack
{
    # 100 ms a call: the instances take 0.6 s after the network, so a kill
    # at 0.15 s lands mid-apply even when a loaded machine holds this shell's
    # sleep and kill back by a few hundred ms (at 40 ms it finished first)
    echo 'provider sim { latency = 100ms }'
    echo 'resource network n { cidr = "10.2.0.0/16" }'
    i=0
    while [ $i -lt 24 ]; do
        echo "resource compute c$i { cpu = 1, memory = 1GiB, image = \"app:1\", network = network.n }"
        i=$((i + 1))
    done
} > main.moksha

for delay in 0.01 0.08 0.15; do
    rm -rf .moksha/sim .moksha/state.json* .moksha/audit.*
    expect_exit 0 moksha plan -o p.plan
    kill_apply p.plan 'ls .moksha/sim 2>/dev/null | wc -l' $delay --parallelism 4
    made=$(ls .moksha/sim | wc -l)
    [ "$made" -gt 0 ] && [ "$made" -lt 25 ] || fail "after kill -9 at ${delay}s the sim world holds $made objects (expected some, not all)"
    unlock_dead
    expect_exit 0 moksha apply --yes
    [ "$(ls .moksha/sim | wc -l)" -eq 25 ] || fail "after recovery the sim world holds $(ls .moksha/sim | wc -l) objects, not 25"
    [ "$("$MOKSHA_EXEC" state list | wc -l)" -eq 25 ] || fail "after recovery the state holds $("$MOKSHA_EXEC" state list | wc -l) resources, not 25"
    # every object's id is the one the state records
    for f in .moksha/sim/*.json; do
        oid=$(sed -n 's/^ "id": "\(.*\)",$/\1/p' "$f")
        grep -q "$oid" .moksha/state.json || fail "$f (id $oid) is not in the state"
    done
    expect_exit 0 moksha plan --detailed-exitcode
    expect_exit 0 moksha audit verify
done

# ---- tampering with the audit log ----
n=$(wc -l < .moksha/audit.jsonl)
[ "$n" -gt 10 ] || fail "expected a longer audit log, have $n lines"
cp .moksha/audit.jsonl good.jsonl
for k in 1 5 $((n / 2)) $((n - 1)) $n; do
    # alter line k
    cp good.jsonl .moksha/audit.jsonl
    sed -i "${k}s/\"seq\":/\"tampered\":1,\"seq\":/" .moksha/audit.jsonl
    expect_exit 1 moksha audit verify && expect_contains "$OUT" "entry at line $k was altered"
    # delete line k
    cp good.jsonl .moksha/audit.jsonl
    sed -i "${k}d" .moksha/audit.jsonl
    if [ "$k" -eq "$n" ]; then
        expect_exit 1 moksha audit verify && expect_contains "$OUT" "entries after line $((n - 1)) were removed"
    else
        expect_exit 1 moksha audit verify && expect_contains "$OUT" "entry before line $k was removed"
    fi
    # insert a copy of line k after it
    cp good.jsonl .moksha/audit.jsonl
    sed -i "${k}p" .moksha/audit.jsonl
    expect_exit 1 moksha audit verify && expect_contains "$OUT" "entry at line $((k + 1)) was inserted"
done
# a forged entry with the right seq and prev is caught by the next line
cp good.jsonl .moksha/audit.jsonl
k=3
prev=$(sed -n "$((k - 1))p" good.jsonl | tr -d '\n' | sha256sum | cut -c1-64)
forged="{\"format\":\"moksha.audit/v1\",\"seq\":$k,\"time\":\"2020-01-01T00:00:00.000Z\",\"prev\":\"$prev\",\"event\":\"forged\"}"
sed -i "$((k - 1))a $forged" .moksha/audit.jsonl
expect_exit 1 moksha audit verify && expect_contains "$OUT" "entry at line $k was inserted"
cp good.jsonl .moksha/audit.jsonl
expect_exit 0 moksha audit verify
# a log cut short is refused for appending
head -n 5 good.jsonl > .moksha/audit.jsonl
echo 'resource bucket extra {}' >> main.moksha
expect_exit 1 moksha apply --yes && expect_contains "$ERR" "entries after line 5 were removed (the head names entry"
