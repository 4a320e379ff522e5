# test_apply_signal.sh — stopping an apply from outside: SIGTERM or SIGINT
# sent to the `moksha apply` (or `moksha destroy`) process reaches moksha-exec,
# which rolls back (exit 4), and moksha exits with that code; a signal sent to
# the whole process group (both processes get it, and moksha forwards it) is
# still one interrupt, not two (which would stop the rollback).
. "$TOP/tests/e2e/lib.sh"

mkdir stack && cd stack
{
    echo 'provider sim { latency = 400ms }'
    echo 'resource network n { cidr = "10.3.0.0/16" }'
    for i in 0 1 2 3; do
        echo "resource compute c$i { cpu = 1, memory = 1GiB, image = \"app:1\", network = network.n }"
    done
} > main.moksha

# wait_made N: until the sim world holds N objects (at most 10 s)
wait_made() {
    w=0
    while [ "$(ls .moksha/sim 2>/dev/null | grep -c json)" -lt "$1" ] && [ $w -lt 500 ]; do sleep 0.02; w=$((w + 1)); done
}

# stop_apply SIG HOW [destroy]: start `moksha apply --yes` (or destroy), send SIG
# once the network exists (to the process, or to its group), wait; $rc holds its exit code
stop_apply() {
    cmd=apply
    [ "${3:-}" = destroy ] && cmd=destroy
    rm -f "$WORK/pgid"
    if [ "$2" = group ]; then
        # a session (and process group) of its own, led by moksha
        setsid -w sh -c 'echo $$ > "$1"; exec "$2" "$3" --yes' sh "$WORK/pgid" "$MOKSHA" $cmd >"$WORK/out" 2>"$WORK/err" </dev/null &
    else
        "$MOKSHA" $cmd --yes >"$WORK/out" 2>"$WORK/err" </dev/null &
    fi
    pid=$!
    if [ "$cmd" = apply ]; then
        wait_made 1
    else
        sleep 0.5
    fi
    if [ "$2" = group ]; then kill "-$1" "-$(cat "$WORK/pgid")"; else kill "-$1" "$pid"; fi
    wait $pid
    rc=$?
}

for sig in TERM INT; do
    for how in process group; do
        rm -rf .moksha/sim .moksha/state.json* .moksha/audit.* .moksha/state.lock
        stop_apply $sig $how
        [ "$rc" -eq 4 ] || { fail "SIG$sig to the moksha apply $how: exit $rc, expected 4 (rolled back)"; e2e_show "$WORK/err" stderr; }
        expect_contains "$WORK/out" "Rolled back"
        [ "$(ls .moksha/sim 2>/dev/null | grep -c json)" -eq 0 ] || fail "SIG$sig to the $how: the sim world still holds $(ls .moksha/sim)"
        [ ! -e .moksha/state.lock ] || fail "SIG$sig to the $how: the lock is left behind"
        expect_exit 0 "$MOKSHA_EXEC" state list && expect_empty "$OUT"
        expect_exit 0 moksha audit verify
        expect_contains .moksha/audit.jsonl '"outcome":"rolled back","exit_code":4'
        expect_contains .moksha/audit.jsonl '"interrupted":true'
        tail -n 1 .moksha/audit.jsonl | grep -q '"event":"unlock".*"exit_code":4' || fail "SIG$sig: the last audit entry does not carry exit_code 4"
    done
done

# destroy, stopped: the deletes done are undone (the sim re-creates), exit 4
rm -rf .moksha/sim .moksha/state.json* .moksha/audit.* .moksha/state.lock
expect_exit 0 moksha apply --yes
snapshot before.txt
stop_apply TERM process destroy
[ "$rc" -eq 4 ] || { fail "SIGTERM to moksha destroy: exit $rc, expected 4"; e2e_show "$WORK/err" stderr; }
snapshot after.txt
expect_exit 0 moksha plan --detailed-exitcode
expect_exit 0 moksha audit verify

# ---- SIGHUP (the terminal went away) rolls back too ----
rm -rf .moksha/sim .moksha/state.json* .moksha/audit.* .moksha/state.lock
stop_apply HUP process
[ "$rc" -eq 4 ] || { fail "SIGHUP to moksha apply: exit $rc, expected 4"; e2e_show "$WORK/err" stderr; }
[ "$(ls .moksha/sim 2>/dev/null | grep -c json)" -eq 0 ] || fail "SIGHUP: the sim world still holds $(ls .moksha/sim)"

# ---- a closed stdout (`| head`) does not kill the executor mid-apply ----
rm -rf .moksha/sim .moksha/state.json* .moksha/audit.* .moksha/state.lock
expect_exit 0 moksha plan -o p.plan
"$MOKSHA_EXEC" apply --progress lines p.plan | head -c 1 >/dev/null
[ ! -e .moksha/state.lock ] || fail "an apply whose stdout was closed left its lock (it was killed mid-apply)"
[ "$("$MOKSHA_EXEC" state list | wc -l)" -eq 5 ] || fail "an apply whose stdout was closed recorded $("$MOKSHA_EXEC" state list | wc -l) of 5 resources"
expect_exit 0 moksha audit verify
