# test_serve_refresh.sh — the service's `refresh` and `observed` ops
# (docs/executor.md, "The service protocol"; note [service refresh] in
# runtime/serve.c): `observed` answers "none" before a refresh and then
# the stack's observed.json, byte for byte; `refresh` runs moksha-exec
# refresh in the stack's directory with the options it takes, its report
# streamed and its exit code last, with a signed plan sent after the
# request, audited with the submitter; bad options and a stack the service
# does not hold are refused. Needs root (useradd, setpriv) and python3 (a
# client of the frames): skipped otherwise.
SERVE_TEST=test_serve_refresh
. "$TOP/tests/e2e/serve_lib.sh"
if ! command -v python3 >/dev/null; then
    echo "test_serve_refresh: skipped: no python3 to speak the frames"
    exit 0
fi

service_config 0660
start_service
make_stack one 1ms 2
enter "$BASE/sub/one" || exit 1
expect_exit 0 as_submitter "$BASE/bin/moksha" apply --yes
DIR=$(service_dir one)
ID=$(cat .moksha/stack-id)

# ask JSON [PLAN]: the request (and the plan's pieces), then the answer frame
# by frame: S pieces together on stderr, the rest as TYPE:TEXT lines on stdout
ask() {
    as_submitter python3 -c '
import socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); q = sys.argv[2].encode()
s.sendall(b"Q" + struct.pack(">I", len(q)) + q)
if len(sys.argv) > 3:
    data = open(sys.argv[3], "rb").read()
    s.sendall(b"P" + struct.pack(">I", len(data)) + data + b"P" + struct.pack(">I", 0))
f = s.makefile("rb"); got = b""
while True:
    h = f.read(5)
    if len(h) < 5: break
    p = f.read(struct.unpack(">I", h[1:])[0])
    if h[0] == 83: got += p; continue
    print(chr(h[0]) + ":" + (str(p[0]) if h[0] == 88 else p.decode().rstrip("\n")))
sys.stdout.flush()
sys.stderr.write(got.decode())' "$SOCK" "$@"
}

# ---- observed before any refresh: none ----
expect_exit 0 ask '{"op": "observed", "stack_id": "'$ID'"}'
expect_contains "$OUT" "N:"

# ---- refresh: the report streamed, the exit code last ----
expect_exit 0 ask '{"op": "refresh", "stack_id": "'$ID'", "options": {"format": "json", "detailed_exitcode": true, "parallelism": 2}}'
expect_contains "$OUT" '"format": "moksha.drift/v1"'
expect_contains "$OUT" '"in_sync": 3'
expect_contains "$OUT" "X:0"
expect_file "$DIR/.moksha/observed.json"
# observed: the file's bytes
expect_exit 0 ask '{"op": "observed", "stack_id": "'$ID'"}'
expect_same "$ERR" "$DIR/.moksha/observed.json"

# ---- drift in the service's world: exit 2, named ----
f=$DIR/.moksha/sim/compute.c1.json
as_service sh -c "jq '.attributes.image = \"app:7\"' '$f' > '$f.new' && mv '$f.new' '$f'"
expect_exit 0 ask '{"op": "refresh", "stack_id": "'$ID'", "options": {"detailed_exitcode": true}}'
expect_contains "$OUT" 'O:~ compute.c1 changed outside moksha: image "app:1" → "app:7"'
expect_contains "$OUT" "X:2"
expect_exit 0 ask '{"op": "refresh", "stack_id": "'$ID'", "options": {"dry_run": true, "format": "json"}}'
expect_contains "$OUT" '"dry_run": true'
expect_contains "$OUT" "X:0"

# ---- with a signed plan, audited with the submitter and the plan's digest ----
expect_exit 0 as_submitter "$BASE/bin/moksha" plan -o "$BASE/sub/one/p.plan"
chmod a+r "$BASE/sub/one/p.plan"
expect_exit 0 ask '{"op": "refresh", "stack_id": "'$ID'", "plan": true, "options": {"by": "reconcile"}}' "$BASE/sub/one/p.plan"
expect_contains "$OUT" "X:0"
expect_exit 0 as_service "$BASE/bin/moksha-exec" -C "$DIR" audit show --format json
jq -c '[.entries // . | .[] | select(.event == "refresh")] | last | [.by, .plan_sha256, .submitter.uid]' "$OUT" > "$WORK/ev"
[ "$(cat "$WORK/ev")" = "[\"reconcile\",\"$(sha256sum "$BASE/sub/one/p.plan" | cut -c1-64)\",$(id -u "$SUB")]" ] ||
    fail "the service's refresh entry: $(cat "$WORK/ev")"
expect_exit 0 as_service "$BASE/bin/moksha-exec" -C "$DIR" audit verify
# a plan that is not signed so is refused by the worker, as apply refuses it
sed '0,/"stack"/s/"stack"/"stack" /' "$BASE/sub/one/p.plan" > "$BASE/sub/one/bad.plan"
chmod a+r "$BASE/sub/one/bad.plan"
expect_exit 0 ask '{"op": "refresh", "stack_id": "'$ID'", "plan": true}' "$BASE/sub/one/bad.plan"
expect_contains "$OUT" "X:1"
# and planning through the service still works with observations there
expect_exit 0 as_submitter "$BASE/bin/moksha" plan

# ---- refused ----
expect_exit 0 ask '{"op": "refresh", "stack_id": "'$ID'", "options": {"no_rollback": true}}'
expect_contains "$OUT" "refresh option \`no_rollback\` is not one the service takes"
expect_contains "$OUT" "X:1"
expect_exit 0 ask '{"op": "refresh", "stack_id": "0123456789abcdef0123456789abcdef"}'
expect_contains "$OUT" "the service holds no stack 0123456789abcdef0123456789abcdef"
expect_exit 0 ask '{"op": "observed", "stack_id": "nope"}'
expect_contains "$OUT" "\`observed\` needs a stack_id of 32 hex digits"
expect_exit 0 ask '{"op": "refresh", "stack_id": "0123456789abcdef0123456789abcdef", "plan": true}' "$BASE/sub/one/p.plan"
expect_contains "$OUT" "the service holds no stack"
leave
stop_service
