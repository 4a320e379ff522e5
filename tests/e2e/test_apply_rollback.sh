# test_apply_rollback.sh — rollback at scale and under kill -9: undos run at
# the apply's parallelism in reverse dependency order (the instances before
# the network they sit on), up to 20 at once, as the audit log's times show;
# and an undo is recorded as durably as a step (intent before the provider
# call, result after), so a kill -9 in the middle of a rollback leaves a
# state from which the next apply converges: every object the state lists
# exists with that id, nothing exists that the state does not list.
. "$TOP/tests/e2e/lib.sh"

mkdir stack && cd stack

# stack N LATENCY FAIL: a network, N instances on it, and a queue that waits
# for all of them; with FAIL=yes the queue's create fails (the last step)
stack() {
    {
        if [ "$3" = yes ]; then
            echo "provider sim { latency = $2, fail_on = [\"queue.last\"] }"
        else
            echo "provider sim { latency = $2 }"
        fi
        echo 'resource network n { cidr = "10.4.0.0/16" }'
        deps=""
        i=0
        while [ $i -lt "$1" ]; do
            echo "resource compute c$i { cpu = 1, memory = 1GiB, image = \"app:1\", network = network.n }"
            deps="$deps${deps:+, }compute.c$i"
            i=$((i + 1))
        done
        echo "resource queue last { depends_on = [$deps] }"
    } > main.moksha
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ---- parallel and in order: 60 undos at --parallelism 20 overlap ----
stack 60 100ms no
expect_exit 0 moksha plan -o ok.plan
t0=$(now_ms)
expect_exit 0 "$MOKSHA_EXEC" apply --parallelism 20 ok.plan
apply_ms=$(($(now_ms) - t0))
rm -rf .moksha/sim .moksha/state.json* .moksha/audit.*
stack 60 100ms yes
expect_exit 0 moksha plan -o fail.plan
t0=$(now_ms)
expect_exit 4 "$MOKSHA_EXEC" apply --parallelism 20 fail.plan && expect_contains "$OUT" "Rolled back 61 steps"
total_ms=$(($(now_ms) - t0))
# Parallel or serial is read from the audit log, not from wall time: each
# `rollback` entry is made as its undo ends and carries the undo's own ms,
# so [time - ms, time] is when it ran. Wall time compared two runs, and a
# failed apply makes about 85 fsyncs (five a flush): while another job's
# writeback makes each take 100 ms, a parallel rollback's run takes over
# 6 s, as long as a serial one. Serial, no two undos overlap; here up to 20.
overlap=$(grep '"event":"rollback",' .moksha/audit.jsonl |
    sed -n 's/.*"time":"[0-9-]*T\([0-9]*\):\([0-9]*\):\([0-9.]*\)Z".*"ms":\([0-9]*\).*/\1 \2 \3 \4/p' |
    awk '{ e = (($1 * 60 + $2) * 60 + $3) * 1000; if (NR == 1) b = e; if (e < b - 43200000) e += 86400000
           printf "%.0f 1\n%.0f -1\n", e - $4, e }' |
    sort -k1,1n -k2,2n | awk '{ n += $2; if (n > m) m = n } END { print m + 0 }')
echo "apply ${apply_ms} ms, failed apply and rollback ${total_ms} ms, at most ${overlap} undos at once"
[ "$overlap" -ge 10 ] || fail "at most ${overlap} of the 61 undos ran at once at --parallelism 20: undos do not run in parallel"
[ "$(ls .moksha/sim | grep -c json)" -eq 0 ] || fail "after the rollback the sim world holds $(ls .moksha/sim | wc -l) objects"
expect_exit 0 "$MOKSHA_EXEC" state list && expect_empty "$OUT"
expect_exit 0 moksha audit verify
# order: the network is undone after every instance; each undo's intent is persisted before it
net=$(grep -n '"event":"rollback","address":"network.n"' .moksha/audit.jsonl | cut -d: -f1)
last_c=$(grep -n '"event":"rollback","address":"compute.c' .moksha/audit.jsonl | tail -n 1 | cut -d: -f1)
net_intent=$(grep -n '"event":"rollback.intent","address":"network.n"' .moksha/audit.jsonl | cut -d: -f1)
[ -n "$net" ] && [ -n "$last_c" ] && [ "$net_intent" -gt "$last_c" ] && [ "$net" -gt "$net_intent" ] ||
    fail "the network's undo (line $net, intent line $net_intent) does not follow every instance's (last at line $last_c)"
[ "$(grep -c '"event":"rollback.intent"' .moksha/audit.jsonl)" -eq 61 ] || fail "not every undo has its intent in the audit log"
for a in compute.c0 compute.c59; do
    i=$(grep -n "\"event\":\"rollback.intent\",\"address\":\"$a\"" .moksha/audit.jsonl | cut -d: -f1)
    u=$(grep -n "\"event\":\"rollback\",\"address\":\"$a\"" .moksha/audit.jsonl | cut -d: -f1)
    [ -n "$i" ] && [ -n "$u" ] && [ "$i" -lt "$u" ] || fail "$a: intent at line $i, result at line $u"
done

# ---- kill -9 in the middle of a rollback ----
with_intents=0
for delay in 0.05 0.3 0.6; do
    rm -rf .moksha/sim .moksha/state.json* .moksha/audit.* .moksha/state.lock
    stack 8 300ms yes
    expect_exit 0 moksha plan -o p.plan
    : >"$WORK/out" # emptied before the start: the last round's "Rolling back" must not set off this kill
    "$MOKSHA_EXEC" apply --parallelism 4 p.plan >"$WORK/out" 2>"$WORK/err" &
    pid=$!
    w=0
    while ! grep -q "Rolling back" "$WORK/out" 2>/dev/null && [ $w -lt 500 ]; do sleep 0.02; w=$((w + 1)); done
    sleep $delay
    kill -9 $pid
    wait $pid 2>/dev/null
    grep -q "Rolled back" "$WORK/out" && { fail "the rollback finished before kill -9 at ${delay}s"; continue; }
    pending=$(grep -c '"intents"' .moksha/state.json 2>/dev/null)
    pending=${pending:-0} # no state yet: killed before its first write
    with_intents=$((with_intents + pending))
    id=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' .moksha/state.lock)
    expect_exit 0 moksha state unlock "$id" --reason "test: the holder was killed"
    stack 8 300ms no
    expect_exit 0 moksha apply --yes
    [ "$pending" -eq 0 ] || expect_contains "$ERR" "a rollback was stopped while undoing"
    expect_exit 0 moksha plan --detailed-exitcode
    [ "$(ls .moksha/sim | grep -c json)" -eq 10 ] || fail "kill -9 at ${delay}s into the rollback: the sim world holds $(ls .moksha/sim | wc -l) objects, not 10"
    [ "$("$MOKSHA_EXEC" state list | wc -l)" -eq 10 ] || fail "kill -9 at ${delay}s: the state holds $("$MOKSHA_EXEC" state list | wc -l) resources, not 10"
    for a in $("$MOKSHA_EXEC" state list | awk '{print $1}'); do
        [ -f ".moksha/sim/$a.json" ] || fail "kill -9 at ${delay}s: the state lists $a, which the sim world does not hold"
    done
    for f in .moksha/sim/*.json; do
        oid=$(sed -n 's/^ "id": "\(.*\)",$/\1/p' "$f")
        grep -q "$oid" .moksha/state.json || fail "kill -9 at ${delay}s: $f (id $oid) is not in the state"
    done
    expect_not_contains .moksha/state.json '"intents"'
    expect_exit 0 moksha audit verify
done
[ "$with_intents" -gt 0 ] || fail "no kill -9 landed while an undo was under way (no intents in the state)"
