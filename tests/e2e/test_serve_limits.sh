# test_serve_limits.sh — what one connection or one user can take of the
# service (docs/trust.md, "The service"), and what the client checks of
# the socket: a plan larger than service.max_plan_bytes is refused; a
# first apply that is refused leaves no stack directory behind; a stack
# directory that is a symlink is refused, its target untouched; one user
# holding 8 connections is refused a ninth; the client refuses a socket in
# a directory anyone may write (unless sticky) and, with MOKSHA_EXEC_USER
# set, a service of any other user. Needs root (useradd, setpriv): skipped
# otherwise.
SERVE_TEST=test_serve_limits
. "$TOP/tests/e2e/serve_lib.sh"

service_config 0660
sed -i 's|"stacks"|"max_plan_bytes": 8192, "stacks"|' "$BASE/etc/exec.json"
start_service

# ---- a plan over service.max_plan_bytes; a refused first apply leaves no directory ----
make_stack big 0ms 40
enter "$BASE/sub/big" || exit 1
expect_exit 1 as_submitter "$BASE/bin/moksha" apply --yes
expect_contains "$ERR" "the plan is larger than service.max_plan_bytes (8192 bytes)"
[ ! -e "$(service_dir big)" ] || fail "a refused plan left its stack directory $(service_dir big)"
leave
make_stack small 0ms 1
enter "$BASE/sub/small" || exit 1
expect_exit 0 as_submitter "$BASE/bin/moksha" plan -o p.plan
sed 's/"app:1"/"app:2"/' p.plan >bad.plan
chown "$SUB" bad.plan
expect_exit 1 as_submitter "$BASE/bin/moksha" apply bad.plan
expect_contains "$ERR" "the signature does not match"
[ ! -e "$(service_dir small)" ] || fail "a plan that did not verify left its stack directory $(service_dir small)"
expect_exit 0 as_submitter "$BASE/bin/moksha" apply p.plan
expect_contains "$(service_dir small)/.moksha/state.json" '"address": "compute.c0"'
leave

# ---- a stack directory that is a symlink ----
make_stack link 0ms 1
enter "$BASE/sub/link" || exit 1
expect_exit 0 as_submitter "$BASE/bin/moksha" plan -o p.plan
mkdir "$BASE/elsewhere" && chown "$SVC:$SVC" "$BASE/elsewhere" && chmod 700 "$BASE/elsewhere"
ln -s "$BASE/elsewhere" "$(service_dir link)"
expect_exit 1 as_submitter "$BASE/bin/moksha" apply p.plan
expect_contains "$ERR" "cannot make or enter the stack's directory"
[ -z "$(ls -A "$BASE/elsewhere")" ] || fail "the apply wrote through the symlink: $(ls -A "$BASE/elsewhere")"
leave

# ---- one user, 8 connections at once: a ninth is refused ----
enter "$BASE/sub/small" || exit 1
as_submitter python3 -c '
import socket, sys, time
held = [socket.socket(socket.AF_UNIX) for _ in range(8)]
for s in held: s.connect(sys.argv[1])
open(sys.argv[2], "w").close(); time.sleep(3)' "$SOCK" "$BASE/sub/held" &
HP=$!
w=0
while [ ! -e "$BASE/sub/held" ] && [ $w -lt 250 ]; do sleep 0.02; w=$((w + 1)); done
sleep 0.2
expect_exit 1 as_submitter "$BASE/bin/moksha" state list
expect_contains "$ERR" "the service is busy (8 requests of this user at once)"
wait "$HP"
expect_exit 0 as_submitter "$BASE/bin/moksha" state list
expect_contains "$OUT" "compute.c0"

# ---- the client: the socket's directory, and who listens ----
mkdir -m 0777 "$BASE/open" && chmod 0777 "$BASE/open"
expect_exit 1 as_submitter env MOKSHA_EXEC_SOCKET="$BASE/open/exec.sock" "$BASE/bin/moksha" plan
expect_contains "$ERR" "its directory $BASE/open is writable by everyone (mode 0777)"
chmod 1777 "$BASE/open"
expect_exit 1 as_submitter env MOKSHA_EXEC_SOCKET="$BASE/open/exec.sock" "$BASE/bin/moksha" plan
expect_contains "$ERR" "cannot reach the executor service at $BASE/open/exec.sock"
expect_exit 1 as_submitter env MOKSHA_EXEC_USER="$SUB" "$BASE/bin/moksha" state list
expect_contains "$ERR" "does not run as MOKSHA_EXEC_USER \`$SUB\`: nothing was sent to it"
expect_exit 0 as_submitter env MOKSHA_EXEC_USER="$SVC" "$BASE/bin/moksha" state list
expect_contains "$OUT" "compute.c0"
leave
stop_service
