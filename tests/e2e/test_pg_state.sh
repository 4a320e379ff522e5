# test_pg_state.sh — a stack's state on PostgreSQL (docs/state.md), on the
# suite's throwaway server: two executors started at once on one stack from
# two working copies (one applies, the other exits 6 naming it); kill -9 of
# the holder mid-apply (the lock free at once, a re-apply converging with
# nothing lost or made twice, the dead run's intents reported); the history
# chain verifying; a row damaged, edited or removed, a serial set back to 0
# and a broken chain are errors naming them, never "no state"; a lock row
# rewritten is no licence to unlock a live run; and the password never in
# any output, state, audit line or plan.
. "$TOP/tests/e2e/lib.sh"
. "$TOP/tests/e2e/pg_lib.sh"

export MOKSHA_KEY=be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c
pg_config "$WORK/exec.json"
export MOKSHA_EXEC_CONFIG="$WORK/exec.json"
# the stack's name, which keys its state, for the commands without a plan
# (`moksha plan` asking the executor for the state among them)
export MOKSHA_STACK=web

spec() { # spec N LATENCY: N computes behind a network, each call LATENCY
    echo 'stack web {}'
    echo "provider sim { latency = $2 }"
    echo 'resource network n { cidr = "10.2.0.0/16" }'
    i=0
    while [ "$i" -lt "$1" ]; do
        echo "resource compute c$i { cpu = 1, memory = 1GiB, image = \"app:1\", network = network.n }"
        i=$((i + 1))
    done
}

# ---- two executors at once, from two working copies ----
mkdir a b
spec 12 100ms > a/main.moksha
cp a/main.moksha b/main.moksha
enter a && expect_exit 0 moksha plan -o p.plan && leave
enter b && expect_exit 0 moksha plan -o p.plan && leave
(cd a && exec "$MOKSHA_EXEC" apply --parallelism 4 p.plan >out 2>err) &
pa=$!
(cd b && exec "$MOKSHA_EXEC" apply --parallelism 4 p.plan >out 2>err) &
pb=$!
wait $pa
ra=$?
wait $pb
rb=$?
case "$ra $rb" in
"0 6") winner=a loser=b ;;
"6 0") winner=b loser=a ;;
*) fail "two applies at once exited $ra and $rb, expected one 0 and one 6"; winner=a loser=b ;;
esac
expect_contains $loser/err "web is locked by apply (plan "
expect_contains $loser/err "@$(hostname) pid "
[ "$(pg_sql "SELECT serial > 0 FROM moksha.stacks WHERE stack = 'web' AND env = ''")" = t ] && e2e_ok ||
    e2e_bad "the winner's state is not in the database"
[ "$(pg_sql "SELECT count(*) FROM moksha.resources")" = 13 ] && e2e_ok ||
    e2e_bad "the database holds $(pg_sql "SELECT count(*) FROM moksha.resources") resources, not 13"
[ "$(pg_sql "SELECT count(*) FROM moksha.locks")" = 0 ] && e2e_ok || e2e_bad "the lock row outlived its run"
[ ! -e $winner/.moksha/state.json ] && e2e_ok || e2e_bad "a local state.json was written beside the postgres one"

# ---- kill -9 of the holder mid-apply ----
enter $winner
spec 24 100ms > main.moksha
expect_exit 0 moksha plan -o p.plan
"$MOKSHA_EXEC" apply --parallelism 4 p.plan >/dev/null 2>&1 &
pid=$!
w=0
while [ "$(pg_sql "SELECT count(*) FROM moksha.intents")" = 0 ] && [ $w -lt 300 ]; do sleep 0.02; w=$((w + 1)); done
sleep 0.15
kill -9 $pid
wait $pid 2>/dev/null
left=$(pg_sql "SELECT count(*) FROM moksha.intents")
[ "$left" -gt 0 ] && e2e_ok || e2e_bad "the killed apply left no intent"
# the server ended the dead session: the lock is free at once, no unlock needed
expect_exit 0 moksha apply --yes
expect_contains "$ERR" "was under way when run"
[ "$(pg_sql "SELECT count(*) FROM moksha.intents")" = 0 ] && e2e_ok || e2e_bad "intents were left after the re-apply"
[ "$(ls .moksha/sim | wc -l)" -eq 25 ] && e2e_ok || e2e_bad "the sim world holds $(ls .moksha/sim | wc -l) objects, not 25"
[ "$(pg_sql "SELECT count(*) FROM moksha.resources")" = 25 ] && e2e_ok ||
    e2e_bad "the state holds $(pg_sql "SELECT count(*) FROM moksha.resources") resources, not 25"
for f in .moksha/sim/*.json; do
    oid=$(sed -n 's/^ "id": "\(.*\)",$/\1/p' "$f")
    [ "$(pg_sql "SELECT count(*) FROM moksha.resources WHERE entry->'attributes'->>'id' = '$oid'")" = 1 ] ||
        fail "$f (id $oid) is not in the state exactly once"
done
expect_exit 0 moksha plan --detailed-exitcode
expect_exit 0 moksha audit verify --stack web
expect_contains "$OUT" "postgres web: ok: "
[ "$(pg_sql "SELECT count(*) FROM moksha.audit WHERE line LIKE '%\"event\":\"recovery.intent\"%'")" -ge 1 ] && e2e_ok ||
    e2e_bad "no recovery.intent in the audit log"

# ---- a lock row rewritten does not let an unlock break a live run ----
spec 24 100ms | sed 's/app:1/app:2/' > main.moksha
expect_exit 0 moksha plan -o p2.plan
"$MOKSHA_EXEC" apply --parallelism 1 p2.plan >apply2.out 2>apply2.err &
pid=$!
w=0
while [ -z "$(pg_sql "SELECT lock_id FROM moksha.locks")" ] && [ $w -lt 300 ]; do sleep 0.02; w=$((w + 1)); done
lock=$(pg_sql "SELECT lock_id FROM moksha.locks")
pg_sql "UPDATE moksha.locks SET backend_pid = 1" >/dev/null
expect_exit 6 moksha state unlock "$lock" --reason "the row says its session is gone"
expect_contains "$ERR" "whose server session still holds the advisory lock"
[ "$(pg_sql "SELECT lock_id FROM moksha.locks")" = "$lock" ] && e2e_ok || e2e_bad "the live run's lock row was removed"
wait $pid
[ $? = 0 ] && e2e_ok || { cat apply2.err; e2e_bad "the apply beside the refused unlock failed"; }
expect_exit 0 moksha plan --detailed-exitcode
expect_exit 0 moksha audit verify --stack web
[ "$(pg_sql "SELECT count(*) FROM moksha.audit WHERE line LIKE '%\"event\":\"lock.broken\"%'")" = 0 ] && e2e_ok ||
    e2e_bad "a lock.broken line was written for a live run"
spec 24 100ms > main.moksha
expect_exit 0 moksha apply --yes
expect_exit 0 moksha plan -o p.plan

# ---- the history chain ----
serial=$(pg_sql "SELECT serial FROM moksha.stacks WHERE stack = 'web'")
[ "$(pg_sql "SELECT count(*) FROM moksha.history")" = "$serial" ] && e2e_ok ||
    e2e_bad "history holds $(pg_sql "SELECT count(*) FROM moksha.history") serials, the state is at $serial"
# each row links to the one before it
[ "$(pg_sql "SELECT count(*) FROM moksha.history h JOIN moksha.history p ON p.stack_id = h.stack_id AND p.serial = h.serial - 1 WHERE h.prev_hash <> p.hash")" = 0 ] &&
    e2e_ok || e2e_bad "a history row does not link to the one before it"
expect_exit 0 "$MOKSHA_EXEC" state pull --stack web
cp "$OUT" pulled.json
expect_contains pulled.json "\"serial\": $serial"

# ---- damage is an error naming it, never "no state" ----
damaged_everywhere() { # damaged_everywhere SAYS APPLY_SAYS WHAT: pull and plan say SAYS, apply APPLY_SAYS
    expect_exit 1 "$MOKSHA_EXEC" state pull --stack web
    expect_contains "$ERR" "$1"
    moksha plan >plan.out 2>plan.err && fail "moksha plan made a plan from a state $3"
    expect_contains plan.err "$1"
    expect_exit 1 "$MOKSHA_EXEC" apply p.plan
    expect_contains "$ERR" "$2"
}
pg_sql "CREATE TABLE keep AS SELECT * FROM moksha.resources WHERE address = 'compute.c3'" >/dev/null
pg_sql "UPDATE moksha.resources SET entry = '{\"address\": \"compute.c4\", \"type\": \"compute\", \"attributes\": {}}' WHERE address = 'compute.c3'" >/dev/null
damaged_everywhere "postgres web: resources row \`compute.c3\`: its entry is not \`compute.c3\`'s" \
    "resources row \`compute.c3\`: its entry is \`compute.c4\`'s" "with a damaged row"
pg_sql "UPDATE moksha.resources SET entry = '{\"address\": \"compute.c3\"}' WHERE address = 'compute.c3'" >/dev/null
expect_exit 1 "$MOKSHA_EXEC" apply p.plan
expect_contains "$ERR" "resources row \`compute.c3\`: its entry lacks its address, type or attributes"
expect_not_contains "$ERR" "no state"
pg_sql "UPDATE moksha.resources r SET entry = k.entry FROM keep k WHERE r.address = k.address" >/dev/null
expect_exit 0 "$MOKSHA_EXEC" state pull --stack web
expect_same "$OUT" pulled.json
# the rows are bound to the chain: one edited, removed, or the serial set
# back to 0 is damage, never a smaller state to plan creates against
pg_sql "CREATE TABLE keep1 AS SELECT * FROM moksha.resources WHERE address = 'compute.c1'" >/dev/null
pg_sql "UPDATE moksha.resources SET entry = replace(entry::text, '\"cpu\": 1', '\"cpu\": 7')::json WHERE address = 'compute.c1'" >/dev/null
[ "$(pg_sql "SELECT count(*) FROM moksha.resources WHERE entry::text LIKE '%\"cpu\": 7%'")" = 1 ] || fail "the edit did not take"
for what in edited removed; do
    says="the resources rows are not the entries history row serial $serial recorded (their digest differs)"
    damaged_everywhere "$says" "$says" "with a row $what"
    pg_sql "DELETE FROM moksha.resources WHERE address = 'compute.c1'" >/dev/null
done
pg_sql "INSERT INTO moksha.resources SELECT * FROM keep1" >/dev/null
expect_exit 0 "$MOKSHA_EXEC" state pull --stack web
expect_same "$OUT" pulled.json
pg_sql "UPDATE moksha.stacks SET serial = 0 WHERE stack = 'web'" >/dev/null
says="the stack is at serial 0 (no state) but it has history or resources rows"
damaged_everywhere "$says" "$says" "whose serial was set back to 0"
pg_sql "UPDATE moksha.stacks SET serial = $serial WHERE stack = 'web'" >/dev/null
expect_exit 0 "$MOKSHA_EXEC" state pull --stack web
expect_same "$OUT" pulled.json
pg_sql "DELETE FROM moksha.history WHERE serial = $serial" >/dev/null
expect_exit 1 "$MOKSHA_EXEC" state pull --stack web
expect_contains "$ERR" "but the stack is at serial $serial: the chain does not reach the current serial"
expect_not_contains "$ERR" "no state"
leave

# ---- the password is nowhere ----
for f in a/out a/err b/out b/err a/p.plan b/p.plan $winner/pulled.json; do
    grep -qF "$PGPASSWORD" "$f" && fail "$f holds the database password"
done
pg_sql "SELECT line FROM moksha.audit" > audit.txt
pg_sql "SELECT entry::text FROM moksha.resources UNION ALL SELECT header::text FROM moksha.stacks UNION ALL SELECT delta::text FROM moksha.history UNION ALL SELECT holder FROM moksha.locks" > rows.txt
expect_not_contains audit.txt "$PGPASSWORD"
expect_not_contains rows.txt "$PGPASSWORD"
