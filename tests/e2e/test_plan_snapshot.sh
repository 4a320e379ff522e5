# test_plan_snapshot.sh — plans read .moksha/ without a lock, so what they read
# must never be a file half written: plans running while an apply writes the
# state after every step each see one whole state (every resource either in
# it or planned for creation, serials only growing), and plans started
# together on a fresh stack all find the one project key made by the first.
. "$TOP/tests/e2e/lib.sh"

mkdir stack && cd stack
{
    echo 'provider sim { latency = 50ms }'  # an apply of ~1 s: several plans fit beside it, even under ASan
    echo 'resource network n { cidr = "10.5.0.0/16" }'
    i=0
    while [ $i -lt 40 ]; do
        echo "resource bucket b$i { versioning = true }"
        i=$((i + 1))
    done
} > main.moksha

# ---- plans started together on a fresh stack: one key, all plans valid ----
round=0
while [ $round -lt 10 ]; do
    rm -rf .moksha
    for i in 1 2 3 4 5 6; do "$MOKSHA" plan -o "p$i.plan" >/dev/null 2>"$WORK/e$i" & done
    wait
    for i in 1 2 3 4 5 6; do
        [ -s "$WORK/e$i" ] && { fail "round $round: a plan started beside others failed: $(cat "$WORK/e$i")"; }
        "$MOKSHA_EXEC" verify "p$i.plan" >/dev/null 2>&1 || fail "round $round: p$i.plan is not signed with the stack's key"
    done
    round=$((round + 1))
done
e2e_ok

# ---- plans in a loop while an apply writes the state after every step ----
rm -rf .moksha
expect_exit 0 moksha plan -o apply.plan
"$MOKSHA_EXEC" apply --parallelism 2 apply.plan >"$WORK/apply.out" 2>&1 &
pid=$!
n=0 last=-1 seen=""
while kill -0 $pid 2>/dev/null; do
    if ! "$MOKSHA" plan -o loop.plan >/dev/null 2>"$WORK/plan.err"; then
        fail "a plan beside the apply failed: $(cat "$WORK/plan.err")"
        break
    fi
    serial=$(sed -n 's/.*"state":{[^}]*"serial":\([0-9]*\)}.*/\1/p' loop.plan)
    create=$(sed -n 's/.*"totals":{"create":\([0-9]*\),.*/\1/p' loop.plan)
    noop=$(sed -n 's/.*"totals":{[^}]*"noop":\([0-9]*\)}.*/\1/p' loop.plan)
    [ -n "$serial" ] && [ -n "$create" ] && [ -n "$noop" ] || { fail "a plan beside the apply has no state serial or totals"; break; }
    [ $((create + noop)) -eq 41 ] || fail "a plan at serial $serial saw $create to create and $noop unchanged, not 41 in all"
    [ "$serial" -ge "$last" ] || fail "a plan saw serial $serial after serial $last"
    [ "$serial" != "$last" ] && seen="$seen $serial"
    last=$serial
    n=$((n + 1))
done
wait $pid || fail "the apply beside the plans failed: $(tail -n 3 "$WORK/apply.out")"
[ "$n" -ge 3 ] || fail "only $n plans ran beside the apply"
[ "$(echo $seen | wc -w)" -ge 2 ] || fail "the plans saw only the serials$seen; the apply wrote more"
expect_exit 0 moksha plan --detailed-exitcode
expect_exit 0 moksha audit verify
