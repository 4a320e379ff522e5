# test_notify.sh — the executor's hooks (docs/trust.md, "Notifications";
# docs/executor.md, the configuration's `notify`), as an operator meets
# them: a command hook gets each event on its stdin in a minimal
# environment, an http hook POSTs it to a REST service on loopback
# (tests/http/server.py) with its connection's bearer token; a failing, a
# hanging and an unreachable hook never fail an apply nor hold it past
# their timeouts, and each outcome is audited (notify.sent, notify.failed)
# and shown by `audit show`. Events: apply.finished, plan.held,
# gate.approved, drift.corrected (by reconcile), apply.failed (rolled
# back). A secret planted in the stack is in no event, no request the
# service saw and no audit entry — and the check that says so finds it
# where it belongs (the file the stack writes).
. "$TOP/tests/e2e/lib.sh"
. "$TOP/tests/e2e/http_lib.sh"

unset MOKSHA_STACK MOKSHA_ENV MOKSHA_KEY
HTTP_TOKEN="tok-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
SECRET="planted-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
export HTTP_TOKEN
trap 'http_stop; e2e_finish' EXIT
http_start "$WORK/svc" --token-env HTTP_TOKEN
same() { [ "$2" = "$3" ] && e2e_ok || e2e_bad "$1: got [$2], expected [$3]"; }
sim() { "$MOKSHA_EXEC" sim "$@"; }

# ---- the hooks: one that records, one over http, one failing, one hanging, one unreachable ----
H=$WORK/hooks
mkdir -p "$H" cfg && chmod 700 cfg && mkdir app0
cat >"$H/record.sh" <<EOF
#!/bin/sh
{ cat; echo; } >>"$H/events.jsonl"
env | sort >"$H/env.txt"
pwd >"$H/pwd.txt"
EOF
cat >"$H/fail.sh" <<'EOF'
#!/bin/sh
cat >/dev/null
echo "something went wrong" >&2
exit 7
EOF
cat >"$H/hang.sh" <<EOF
#!/bin/sh
sleep 30 &
echo \$! >"$H/bg.pid"
sleep 30
EOF
chmod 755 "$H"/*.sh
cat >cfg/exec.json <<JSON
{ "format": "moksha.exec-config/v1",
  "notify": [
    {"on": ["*"], "command": ["$H/record.sh"]},
    {"on": ["*"], "connection": "ops", "path": "/notify"},
    {"on": ["apply.finished", "apply.failed"], "command": ["$H/fail.sh"]},
    {"on": ["*"], "command": ["$H/hang.sh"], "timeout_ms": 600},
    {"on": ["apply.finished"], "connection": "down", "path": "/hook", "timeout_ms": 1500} ],
  "connections": {
    "ops": {"kind": "http", "endpoint": "$HTTP_URL/api", "credentials": {"bearer_env": "OPS_TOKEN"},
            "allow_plaintext": true},
    "down": {"kind": "http", "endpoint": "http://127.0.0.1:9/api"} } }
JSON
chmod 0600 cfg/exec.json
export MOKSHA_EXEC_CONFIG=$WORK/cfg/exec.json OPS_TOKEN=$HTTP_TOKEN

expect_exit 0 sh -c "cd app0 && exec \"\$0\" config check" "$MOKSHA_EXEC"
expect_contains "$OUT" "notify[0]: on *: command $H/record.sh, timeout 10000 ms"
expect_contains "$OUT" "notify[1]: on *: connection ops /notify at $HTTP_URL/api, timeout 10000 ms"
expect_contains "$OUT" "notify[2]: on apply.finished, apply.failed: command $H/fail.sh, timeout 10000 ms"
expect_contains "$OUT" "notify[3]: on *: command $H/hang.sh, timeout 600 ms"
expect_contains "$OUT" "notify[4]: on apply.finished: connection down /hook at http://127.0.0.1:9/api, timeout 1500 ms"
expect_not_contains "$OUT" "$HTTP_TOKEN"

# a hook the file gets wrong is refused naming its key
cp cfg/exec.json cfg/good.json
sed 's/"connection": "ops"/"connection": "nowhere"/' cfg/good.json >cfg/exec.json
expect_exit 1 sh -c "cd app0 && exec \"\$0\" config check" "$MOKSHA_EXEC"
expect_contains "$ERR" "key \`notify[1].connection\`: expected the name of a connection of kind \"http\" in this file (\`nowhere\` is not one)"
sed 's/"apply.failed"\]/"apply.broke"]/' cfg/good.json >cfg/exec.json
expect_exit 1 sh -c "cd app0 && exec \"\$0\" config check" "$MOKSHA_EXEC"
expect_contains "$ERR" "key \`notify[2].on[1]\`: not an event"
cp cfg/good.json cfg/exec.json

# last EVENT: the last event the recording hook got of that name
last() { grep "\"event\":\"$1\"" "$H/events.jsonl" | tail -n 1; }
# audited EVENT HOOK NOTIFIED: how many entries EVENT of HOOK for NOTIFIED the log holds
audited() { jq -s --arg e "$1" --arg h "$2" --arg n "$3" '[.[] | select(.event == $e and .hook == $h and .notify == $n)] | length' .moksha/audit.jsonl; }

mkdir app && enter app || exit 1
cat >main.moksha <<'M'
stack shop {}
var pw: secret
provider sim { latency = 1ms }
provider local { root = ".moksha/out" }
resource network main { cidr = "10.0.0.0/16" }
resource bucket logs {}
resource local.file pw {
  path    = "pw.txt"
  content = var.pw
}
M
export MOKSHA_VAR_pw=$SECRET

# ---- apply.finished: every hook told at once; the failing, hanging and unreachable ones do not fail it ----
t0=$(date +%s%N)
expect_exit 0 moksha apply --yes
t1=$(date +%s%N)
expect_contains "$OUT" "Apply complete: 3 created"
ms=$(( (t1 - t0) / 1000000 ))
[ "$ms" -lt 6000 ] && e2e_ok || e2e_bad "the apply took $ms ms: the hooks held it past their timeouts"
ev=$(last apply.finished)
same "the event's format" "$(echo "$ev" | jq -r .format)" moksha.notify/v1
same "the event's stack" "$(echo "$ev" | jq -r .stack_id)" "$(jq -r .stack_id .moksha/state.json)"
same "the event's run" "$(echo "$ev" | jq -r .run)" "$(jq -r 'select(.event == "lock") | .lock_id' .moksha/audit.jsonl | tail -n 1)"
same "the event's plan" "$(echo "$ev" | jq -r .plan_sha256)" "$(jq -r 'select(.event == "plan") | .plan_sha256' .moksha/audit.jsonl | tail -n 1)"
same "the event's fields" "$(echo "$ev" | jq -c 'keys')" '["at","details","env","event","format","plan_sha256","run","stack_id","summary"]'
same "the event's counts" "$(echo "$ev" | jq -c '.details.counts | [.create, .update, .delete]')" '[3,0,0]'
same "the event's summary" "$(echo "$ev" | jq -r .summary)" "shop: applied (3 created, 0 updated, 0 replaced, 0 deleted)"
# the command's environment: PATH, a temporary HOME, LANG (and what sh sets itself); none of the executor's
same "the hook's variables" "$(cut -d= -f1 "$H/env.txt" | grep -v '^PWD$' | tr '\n' ' ')" "HOME LANG PATH "
expect_contains "$H/env.txt" "PATH=/usr/bin:/bin"
expect_match "$H/env.txt" '^HOME=/.*/moksha-notify-'
expect_match "$H/pwd.txt" '/moksha-notify-'
expect_not_contains "$H/env.txt" "$HTTP_TOKEN"
[ ! -e "$(cat "$H/pwd.txt")" ] && e2e_ok || e2e_bad "the hook's temporary HOME was left behind"
# the hanging hook was killed with its process group: what it started too
sleep 0.2
bg=$(cat "$H/bg.pid")
if [ -e "/proc/$bg" ] && [ "$(cut -d' ' -f3 "/proc/$bg/stat")" != Z ]; then
    e2e_bad "the hanging hook's child $bg still runs"
else
    e2e_ok
fi
# the http hook: POSTed with the connection's bearer token
req=$(jq -c 'select(.method == "POST" and .path == "/api/notify")' "$HTTP_DIR/requests.log" | tail -n 1)
same "the http hook's request" "$(echo "$req" | jq -c '[.status, .authenticated, .content_type]')" '[201,true,"application/json"]'
same "the http hook's event" "$(echo "$req" | jq -r '.body | fromjson | .event')" apply.finished
same "the http hook's body is the command's" "$(echo "$req" | jq -c '.body | fromjson | del(.at)')" "$(echo "$ev" | jq -c 'del(.at)')"
# each outcome audited
same "notify.sent of the recorder" "$(audited notify.sent 'notify[0]' apply.finished)" 1
same "notify.sent of the http hook" "$(audited notify.sent 'notify[1]' apply.finished)" 1
same "notify.failed of the failing hook" "$(audited notify.failed 'notify[2]' apply.finished)" 1
same "notify.failed of the hanging hook" "$(audited notify.failed 'notify[3]' apply.finished)" 1
same "notify.failed of the unreachable hook" "$(audited notify.failed 'notify[4]' apply.finished)" 1
expect_exit 0 "$MOKSHA_EXEC" audit show
expect_match "$OUT" "notify\.failed +hook=notify\[2\] to=\"command .*fail\.sh\" notify=apply\.finished error=\".*fail\.sh exited with status 7\""
expect_match "$OUT" "notify\.failed +hook=notify\[3\] .* error=\"did not finish within its timeout of 600 ms: killed with its process group\""
expect_match "$OUT" "notify\.failed +hook=notify\[4\] to=\"connection down \\\\/hook\" notify=apply\.finished error=\"POST \\\\/hook: "
expect_match "$OUT" "notify\.sent +ms=[0-9]+ hook=notify\[1\] to=\"connection ops \\\\/notify\" notify=apply\.finished"
expect_not_contains "$OUT" "something went wrong"
expect_exit 0 "$MOKSHA_EXEC" audit verify
# the audit entries come before the run's end, inside its chain
same "the last entry" "$(tail -n 1 .moksha/audit.jsonl | jq -r .event)" unlock

# ---- plan.held: a gate closed, nothing applied ----
cat >>main.moksha <<'M'
resource firewall edge { network = network.main }
policy "prod-approval" {
  enforcement = hard
  for c in changes where c.type == "firewall" {
    require approval("sre") : "${c.address} changes who can reach the network"
  }
}
M
n0=$(grep -c . "$H/events.jsonl")
expect_exit 3 moksha apply --yes
ev=$(last plan.held)
same "plan.held's changes" "$(echo "$ev" | jq -c '.details | [.count, .held]')" '[1,[{"address":"firewall.edge","action":"create"}]]'
expect_contains "$H/events.jsonl" "1 change held: approve them"
same "events of a held run" "$(tail -n +$((n0 + 1)) "$H/events.jsonl" | jq -r .event | sort -u | tr '\n' ' ')" "plan.held "
same "plan.held audited" "$(audited notify.sent 'notify[1]' plan.held)" 1

# ---- gate.approved (--approve outside trust mode), then apply.finished ----
n0=$(grep -c . "$H/events.jsonl")
expect_exit 0 moksha apply --yes --approve prod-approval
ev=$(last gate.approved)
same "gate.approved's gate" "$(echo "$ev" | jq -c '.details | [.policy, .group, .address, .by]')" '["prod-approval","sre","firewall.edge","--approve"]'
same "events of an approved run" "$(tail -n +$((n0 + 1)) "$H/events.jsonl" | jq -r .event | tr '\n' ' ')" "gate.approved apply.finished "

# ---- drift.corrected: a tag changed out of band, put back by reconcile ----
expect_exit 0 sim set network.main 'tags={"owner":"someone"}'
n0=$(grep -c . "$H/events.jsonl")
expect_exit 0 moksha reconcile
ev=$(last drift.corrected)
same "drift.corrected's resources" "$(echo "$ev" | jq -c '.details | [.count, .corrected]')" \
    '[1,[{"address":"network.main","action":"update","status":"changed","attributes":["tags"]}]]'
same "events of a reconcile" "$(tail -n +$((n0 + 1)) "$H/events.jsonl" | jq -r .event | tr '\n' ' ')" "apply.finished drift.corrected "

# ---- apply.failed: a step fails, the apply rolls back ----
sed -i 's/resource bucket logs {}/resource bucket logs { versioning = true }/' main.moksha
expect_exit 0 sim fail bucket.logs write "injected"
n0=$(grep -c . "$H/events.jsonl")
expect_exit 4 moksha apply --yes
ev=$(last apply.failed)
same "apply.failed's outcome" "$(echo "$ev" | jq -c '.details | [.outcome, .exit_code, .failed]')" \
    '["failed and rolled back",4,[{"address":"bucket.logs","action":"update"}]]'
same "apply.failed audited" "$(audited notify.failed 'notify[2]' apply.failed)" 1
same "events of a failed run" "$(tail -n +$((n0 + 1)) "$H/events.jsonl" | jq -r .event | tr '\n' ' ')" "apply.failed "
expect_exit 0 sim fail bucket.logs none

# ---- no secret anywhere an event goes (and the check finds it where it is) ----
expect_contains .moksha/out/pw.txt "$SECRET"
expect_not_contains "$H/events.jsonl" "$SECRET"
expect_not_contains "$HTTP_DIR/requests.log" "$SECRET"
expect_not_contains "$HTTP_DIR/requests.log" "$HTTP_TOKEN"
expect_not_contains .moksha/audit.jsonl "$SECRET"
expect_exit 0 "$MOKSHA_EXEC" audit show --format json
expect_not_contains "$OUT" "$SECRET"
same "notify entries in audit show's JSON" "$(jq '[.entries[] | select(.event | startswith("notify."))] | length' "$OUT")" \
    "$(grep -c '"event":"notify\.' .moksha/audit.jsonl)"
leave
