# test_serve_read.sh — reading a stack the executor service holds
# (docs/trust.md, "The service"): with MOKSHA_EXEC_SOCKET set, `moksha state
# list`, `state show`, `audit verify`, `audit show` and `cost` as the
# submitter say what the service's own `moksha-exec state …` says of its
# stack (and `graph` and `policy check` read its state too); `state rm`
# runs there, under its lock, audited with the submitter's uid; a
# .moksha/state.json the submitter plants is ignored (an attacker's local
# state changes none of plan, cost, graph, policy check); a stack never
# planned, an unknown op, a bad argument and a dead socket are each a clear
# error. Needs root (useradd, setpriv): skipped otherwise.
SERVE_TEST=test_serve_read
. "$TOP/tests/e2e/serve_lib.sh"

service_config 0660
start_service
make_stack one 1ms 2
enter "$BASE/sub/one" || exit 1

# ---- a stack nothing was planned for: the service holds nothing of it ----
expect_exit 1 as_submitter "$BASE/bin/moksha" state list
expect_contains "$ERR" "this stack has no stack id yet (.moksha/stack-id): no plan has been made for it"

# ---- what the submitter reads is what the service holds ----
expect_exit 0 as_submitter "$BASE/bin/moksha" apply --yes
DIR=$(service_dir one)
expect_exit 0 as_service "$BASE/bin/moksha-exec" -C "$DIR" state list
cp "$OUT" "$WORK/svc-list"
expect_exit 0 as_submitter "$BASE/bin/moksha" state list
expect_contains "$OUT" "compute.c1"
expect_same "$OUT" "$WORK/svc-list"
expect_exit 0 as_service "$BASE/bin/moksha-exec" -C "$DIR" state show compute.c0
cp "$OUT" "$WORK/svc-show"
expect_exit 0 as_submitter "$BASE/bin/moksha" state show compute.c0
expect_contains "$OUT" '"type": "compute"'
expect_same "$OUT" "$WORK/svc-show"
expect_exit 1 as_submitter "$BASE/bin/moksha" state show compute.nope
expect_contains "$ERR" "the state has no resource \`compute.nope\`"
expect_exit 0 as_service "$BASE/bin/moksha-exec" -C "$DIR" audit verify
cp "$OUT" "$WORK/svc-verify"
expect_exit 0 as_submitter "$BASE/bin/moksha" audit verify
expect_same "$OUT" "$WORK/svc-verify"
expect_exit 0 as_service "$BASE/bin/moksha-exec" -C "$DIR" audit show --format json
cp "$OUT" "$WORK/svc-audit"
expect_exit 0 as_submitter "$BASE/bin/moksha" audit show --format json
expect_contains "$OUT" '"event": "plan"'
expect_same "$OUT" "$WORK/svc-audit"
# cost against the service's state is cost against a copy of that state
expect_exit 0 as_submitter "$BASE/bin/moksha" cost
cp "$OUT" "$WORK/cost"
expect_exit 0 as_submitter "$BASE/bin/moksha" graph --format json
cp "$OUT" "$WORK/graph"
expect_contains "$OUT" '"action": "noop"'
expect_exit 0 as_submitter "$BASE/bin/moksha" policy check --format json
cp "$OUT" "$WORK/policy"
mkdir -p "$WORK/copy/.moksha"
cp main.moksha "$WORK/copy/"
cp "$DIR/.moksha/state.json" "$DIR/.moksha/stack-id" "$WORK/copy/.moksha/"
(cd "$WORK/copy" && MOKSHA_SHARE="$BASE/share" "$MOKSHA" cost) > "$WORK/cost-copy"
expect_same "$WORK/cost" "$WORK/cost-copy"

# ---- an attacker's local state is ignored ----
# a real state of another shape: the network alone, applied here without the service
mkdir "$WORK/other" && cd "$WORK/other" || exit 1
printf 'provider sim { latency = 1ms }\nresource network n { cidr = "10.3.0.0/16" }\n' > main.moksha
expect_exit 0 env MOKSHA_KEY=$KEY "$MOKSHA" apply --yes
cd "$BASE/sub/one" || exit 1
cp "$WORK/other/.moksha/state.json" .moksha/state.json
chown "$SUB:$SUB" .moksha/state.json
# read, it would change the plan (so ignoring it is what keeps the answer true)
expect_exit 2 as_submitter env MOKSHA_EXEC_SOCKET= "$BASE/bin/moksha" plan --detailed-exitcode
expect_exit 0 as_submitter "$BASE/bin/moksha" plan --detailed-exitcode
expect_contains "$OUT" "No changes"
expect_exit 0 as_submitter "$BASE/bin/moksha" cost
expect_same "$OUT" "$WORK/cost"
expect_exit 0 as_submitter "$BASE/bin/moksha" graph --format json
expect_same "$OUT" "$WORK/graph"
expect_exit 0 as_submitter "$BASE/bin/moksha" policy check --format json
expect_same "$OUT" "$WORK/policy"

# ---- state rm through the service: its lock, its audit entry, the submitter named ----
expect_exit 0 as_submitter "$BASE/bin/moksha" state rm compute.c1
expect_contains "$OUT" "Removed compute.c1 from the state"
expect_contains "$DIR/.moksha/audit.jsonl" "\"event\":\"state.rm\",\"address\":\"compute.c1\",\"submitter\":{\"uid\":$(id -u "$SUB")"
expect_exit 0 as_service "$BASE/bin/moksha-exec" -C "$DIR" state list
expect_not_contains "$OUT" "compute.c1"
expect_exit 0 as_submitter "$BASE/bin/moksha" audit verify
expect_exit 1 as_submitter "$BASE/bin/moksha" state unlock no-such-lock
expect_exit 1 as_submitter "$BASE/bin/moksha" state list extra
expect_contains "$ERR" "usage: moksha state list"

# ---- the service refuses what it does not take ----
if command -v python3 >/dev/null; then
    ID=$(cat .moksha/stack-id)
    ask() { # ask JSON: the service's answer, frame by frame, as TYPE:TEXT lines
        as_submitter python3 -c '
import socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); q = sys.argv[2].encode()
s.sendall(b"Q" + struct.pack(">I", len(q)) + q); f = s.makefile("rb")
while True:
    h = f.read(5)
    if len(h) < 5: break
    p = f.read(struct.unpack(">I", h[1:])[0])
    print(chr(h[0]) + ":" + (str(p[0]) if h[0] == 88 else p.decode().strip()))' "$SOCK" "$1"
    }
    expect_exit 0 ask '{"op": "state drop", "stack_id": "'$ID'"}'
    expect_contains "$OUT" "E:moksha-exec serve: error: unknown op \`state drop\`"
    expect_contains "$OUT" "X:1"
    expect_exit 0 ask '{"op": "state show", "stack_id": "'$ID'"}'
    expect_contains "$OUT" "\`state show\` needs \`address\`, a string of 1 to 1024 bytes"
    expect_exit 0 ask '{"op": "state list", "stack_id": "'$ID'", "address": "x"}'
    expect_contains "$OUT" "\`state list\` takes no \`address\`"
    expect_exit 0 ask '{"op": "audit show", "stack_id": "'$ID'", "format": "yaml"}'
    expect_contains "$OUT" "takes the format text or json"
    expect_exit 0 ask '{"op": "state list", "stack_id": "0123456789abcdef0123456789abcdef"}'
    expect_contains "$OUT" "the service holds no stack 0123456789abcdef0123456789abcdef"
fi

# ---- a dead socket: exit 1, naming it ----
stop_service
expect_exit 1 as_submitter "$BASE/bin/moksha" state list
expect_contains "$ERR" "cannot reach the executor service at $SOCK (MOKSHA_EXEC_SOCKET)"
expect_exit 1 as_submitter "$BASE/bin/moksha" cost
expect_contains "$ERR" "cannot reach the executor service at $SOCK (MOKSHA_EXEC_SOCKET)"
expect_exit 1 as_submitter "$BASE/bin/moksha" audit verify
leave
