# test_http_provider.sh — the http provider against a real REST service on
# loopback (tests/http/server.py), next to the simulated cloud, through
# `moksha` as a user runs it (docs/providers.md, "The http provider"):
# objects made by PUT and by POST planned, applied and re-planned to no
# changes; changed and deleted outside moksha, seen by `moksha drift` and
# put back by `moksha reconcile`; a failure injected at every step of a
# plan rolls the service and the state back; kill -9 in the middle of an
# apply of POST-made objects, then an apply again, converges with every
# object made once (the Idempotency-Key); destroy leaves nothing. The
# bearer token is in no file of the stack, no output and not in the
# service's request log — and the check that says so catches a planted one.
. "$TOP/tests/e2e/lib.sh"
. "$TOP/tests/e2e/http_lib.sh"

unset MOKSHA_STACK MOKSHA_ENV MOKSHA_KEY
HTTP_TOKEN="tok-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
export HTTP_TOKEN
trap 'http_stop; e2e_finish' EXIT
http_start "$WORK/svc" --token-env HTTP_TOKEN --latency-ms 3

mkdir cfg && chmod 700 cfg
cat >cfg/exec.json <<JSON
{ "format": "moksha.exec-config/v1",
  "connections": { "inventory": { "kind": "http", "endpoint": "$HTTP_URL/api",
    "credentials": {"bearer_env": "INVENTORY_TOKEN"}, "headers": {"X-Team": "platform"},
    "allow_fault_injection": true, "allow_plaintext": true } } }
JSON
chmod 0600 cfg/exec.json
export MOKSHA_EXEC_CONFIG=$WORK/cfg/exec.json INVENTORY_TOKEN=$HTTP_TOKEN

# the service's objects, without what it adds itself (revision counts writes)
objects() { jq -S 'map_values(del(.revision))' "$HTTP_DIR/objects.json"; }
same() { [ "$2" = "$3" ] && e2e_ok || e2e_bad "$1: got [$2], expected [$3]"; }

# spec [FAIL_ON] [EXTRA]: a sim network beside three objects of the service
spec() {
    cat >main.moksha <<M
stack inventory {}
provider sim { latency = 1ms }
provider http inventory {
  connection = "inventory"
  fail_on    = [${1:-}]
}
resource network main { cidr = "10.7.0.0/16" }
resource http.object web {
  path     = "/items/web"
  body     = jsonencode({name = "web", size = 3, tags = {team = "a"}})
  computed = { kind = "/kind" }
  headers  = { "X-Request-Source" = "moksha" }
}
resource http.object job {
  path       = "/jobs"
  create     = "POST"
  id_pointer = "/id"
  body       = "{\"name\":\"nightly\",\"item\":\"\${http.object.web.id}\"}"
}
resource http.object conf {
  path   = "/config/web"
  update = "PATCH"
  body   = jsonencode({replicas = 2, mode = "fast"})
}
${2:-}
M
}

mkdir app
enter app || exit 1

# ---- plan, apply, re-plan to no changes ----
spec
expect_exit 0 moksha plan -o p.plan
expect_contains "$OUT" "+ http.object.web"
expect_contains "$OUT" "Plan: 4 to create"
expect_exit 0 moksha apply p.plan
expect_contains "$OUT" "Apply complete: 4 created"
expect_match "$OUT" "created  http.object.web  \\[inventory\\]  id=/items/web"
job_id=$("$MOKSHA_EXEC" state show http.object.job | jq -r .attributes.id)
same "the job's path" "$(jq -r --arg p "/jobs/$job_id" '.[$p].item' "$HTTP_DIR/objects.json")" /items/web
same "the web object" "$(hobj /items/web | jq -c 'del(.revision)')" \
    '{"id":"web","kind":"item","name":"web","size":3,"tags":{"team":"a"}}'
same "the web object's computed value" "$("$MOKSHA_EXEC" state show http.object.web | jq -c .attributes.values)" '{"kind":"item"}'
expect_exit 0 moksha plan --detailed-exitcode
expect_contains "$OUT" "No changes"
expect_exit 0 moksha refresh
expect_exit 0 moksha drift
# every request carried the connection's header, the object's, and the token
jq -se 'map(select(.path | startswith("/api/"))) | length > 0 and all(.authenticated == true and .headers["X-Team"] == "platform")' \
    "$HTTP_DIR/requests.log" >/dev/null && e2e_ok || e2e_bad "a request went without the token or the connection's header"
jq -se 'map(select(.method == "PUT" and .path == "/api/items/web")) | length == 1 and all(.headers["X-Request-Source"] == "moksha")' \
    "$HTTP_DIR/requests.log" >/dev/null && e2e_ok || e2e_bad "the web object's PUT is not once, with its own header"
jq -se 'map(select(.method == "POST")) | length == 1 and (.[0].idempotency_key | test("^mk-[0-9a-f]{64}$"))' \
    "$HTTP_DIR/requests.log" >/dev/null && e2e_ok || e2e_bad "the POST did not carry an Idempotency-Key"

# ---- changed outside moksha: seen by drift, put back by reconcile ----
# fields the body does not set (extra, the service's own kind, which a
# computed value reads) are not drift
hq POST /_admin/edit/items/web '{"size": 5, "extra": true, "kind": "relabelled"}' >/dev/null
hq POST /_admin/edit/config/web '{"mode": "slow"}' >/dev/null
hq POST "/_admin/delete/jobs/$job_id" >/dev/null
expect_exit 2 moksha drift
expect_contains "$OUT" "http.object.web changed outside moksha"
expect_contains "$OUT" '\"size\":3'
expect_contains "$OUT" '\"size\":5'
expect_contains "$OUT" "http.object.conf changed outside moksha"
expect_contains "$OUT" "http.object.job was deleted outside moksha"
expect_not_contains "$OUT" "extra"
expect_not_contains "$OUT" "relabelled"
expect_exit 0 moksha reconcile --auto-approve-risk high
expect_exit 0 moksha drift
expect_contains "$OUT" "No drift"
same "the web object after reconcile" "$(hobj /items/web | jq -c '{size, extra}')" '{"size":3,"extra":null}'
same "the config after reconcile (PATCH)" "$(hobj /config/web | jq -c '{replicas, mode}')" '{"replicas":2,"mode":"fast"}'
jq -se 'map(select(.method == "PATCH" and .path == "/api/config/web")) | length == 1 and .[0].content_type == "application/merge-patch+json"' \
    "$HTTP_DIR/requests.log" >/dev/null && e2e_ok || e2e_bad "the config was not put back by one merge PATCH"
new_job=$("$MOKSHA_EXEC" state show http.object.job | jq -r .attributes.id)
[ "$new_job" != "$job_id" ] && [ "$(hobj "/jobs/$new_job" | jq -r .name)" = nightly ] && e2e_ok ||
    e2e_bad "the deleted job was not made again (state id $new_job, was $job_id)"
expect_exit 0 moksha plan --detailed-exitcode

# an update in the spec: PATCH drops a field the body no longer sets
sed 's/replicas = 2, mode = "fast"/replicas = 4/' main.moksha >m && mv m main.moksha
expect_exit 0 moksha apply --yes
expect_contains "$OUT" "1 updated"
same "the config after a PATCH update" "$(hobj /config/web | jq -c '{replicas, mode}')" '{"replicas":4,"mode":null}'
spec
expect_exit 0 moksha apply --yes

# ---- a failure injected at every step rolls back ----
# base: an object to delete; the plan then makes two (one by POST), changes
# one and deletes one, with the sim's network beside them
OLD='resource http.object old {
  path = "/items/old"
  body = jsonencode({name = "old"})
}'
spec "" "$OLD"
expect_exit 0 moksha apply --yes
snapshot before.txt
objects >before.objects
changed() { # changed FAIL_ON
    spec "$1" 'resource http.object ops {
  path = "/items/ops"
  body = jsonencode({name = "ops", owner = http.object.web.id})
}
resource http.object task {
  path       = "/jobs"
  create     = "POST"
  id_pointer = "/id"
  body       = jsonencode({name = "task"})
}'
    sed 's/size = 3/size = 7/' main.moksha >m && mv m main.moksha
}
changed ""
expect_exit 2 moksha plan --detailed-exitcode
expect_contains "$OUT" "Plan: 2 to create, 1 to update, 0 to replace, 1 to delete"
for target in http.object.ops http.object.task http.object.web http.object.old; do
    changed "\"$target\""
    expect_exit 4 moksha apply --yes --parallelism 2
    expect_contains "$OUT" "Rolled back"
    expect_contains "$ERR" "Apply failed: $target"
    expect_contains "$ERR" "injected failure"
    snapshot after.txt
    expect_same before.txt after.txt
    objects >after.objects
    expect_same before.objects after.objects
done
expect_exit 0 moksha audit verify
changed ""
expect_exit 0 moksha apply --yes
same "the old object after the plan applies" "$(hobj /items/old)" null
same "the web object after the plan applies" "$(hobj /items/web | jq .size)" 7
expect_exit 0 moksha plan --detailed-exitcode

# ---- kill -9 mid-apply, then apply again: each object made once ----
# a chain of POST-made objects, each naming the one before, made one at a time
chain() {
    spec
    echo 'resource http.object k0 {
  path       = "/chain"
  create     = "POST"
  id_pointer = "/id"
  body       = "{\"n\":0}"
}' >>main.moksha
    i=1
    while [ $i -lt 40 ]; do
        echo "resource http.object k$i {
  path       = \"/chain\"
  create     = \"POST\"
  id_pointer = \"/id\"
  body       = \"{\\\"n\\\":$i,\\\"after\\\":\\\"\${http.object.k$((i - 1)).id}\\\"}\"
}" >>main.moksha
        i=$((i + 1))
    done
}
count_k() { jq '[keys[] | select(startswith("/chain/"))] | length' "$HTTP_DIR/objects.json"; }
for at in 1 10 25; do
    spec
    expect_exit 0 moksha apply --yes # no chain
    same "the chain before" "$(count_k)" 0
    chain
    expect_exit 0 moksha plan -o k.plan
    kill_apply_at k.plan count_k $at --parallelism 1
    made=$(count_k)
    [ "$made" -gt 0 ] && [ "$made" -lt 40 ] && e2e_ok ||
        e2e_bad "after kill -9 at the ${at}th object the service holds $made of the chain's 40 objects (expected some, not all)"
    unlock_dead
    expect_exit 0 moksha apply --yes
    same "the chain's objects after recovery" "$(count_k)" 40
    same "the chain's objects in the state" "$("$MOKSHA_EXEC" state list | grep -c "^http.object.k")" 40
    # each names the one before by the id the state records for it
    for i in 5 39; do
        prev=$("$MOKSHA_EXEC" state show "http.object.k$((i - 1))" | jq -r .attributes.id)
        id=$("$MOKSHA_EXEC" state show "http.object.k$i" | jq -r .attributes.id)
        same "k$i's predecessor" "$(hobj "/chain/$id" | jq -r .after)" "$prev"
    done
    expect_exit 0 moksha plan --detailed-exitcode
    expect_exit 0 moksha audit verify
done
# three times 40 objects made, never one more: a create the kill cut short
# was answered again by its Idempotency-Key, never made twice
same "the chain's objects ever made" \
    "$(jq -s 'map(select(.method == "POST" and .path == "/api/chain" and .status == 201 and .replayed == false)) | length' "$HTTP_DIR/requests.log")" 120

# ---- destroy: nothing of the stack left on the service ----
spec
expect_exit 0 moksha destroy --yes
same "the service after destroy" "$(jq -c . "$HTTP_DIR/objects.json")" '{}'
expect_exit 0 moksha audit verify
leave

# ---- the token is the executor's environment's alone ----
leaks() { grep -rlF -- "$HTTP_TOKEN" "$@" 2>/dev/null; }
if leaks app "$HTTP_DIR"; then e2e_bad "the token is in the files above"; else e2e_ok; fi
[ "$(wc -l <"$HTTP_DIR/requests.log")" -gt 100 ] && e2e_ok || e2e_bad "the request log is nearly empty: the leak check saw nothing"
mkdir planted && cp -r app/.moksha planted/ && printf '%s\n' "seen: $HTTP_TOKEN" >>planted/.moksha/audit.jsonl
[ -n "$(leaks planted)" ] && e2e_ok || e2e_bad "the leak check misses a token planted in the audit log"
