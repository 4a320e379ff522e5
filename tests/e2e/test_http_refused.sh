# test_http_refused.sh — what the http provider refuses, and what it takes
# over, against the loopback REST service (tests/http/server.py;
# docs/providers.md, "The http provider"):
#
# - what a run that died between its create and the state's record left
#   (a POST answered, a PUT landed) is taken over by the next apply, once;
#   an object at the path with other fields is someone else's: refused,
#   untouched, and `moksha import` takes it on purpose;
# - a redirect, to another host or to the cloud's metadata address, is
#   never followed; an endpoint on a metadata or link-local address is never
#   reached; a missing or wrong token, and fail_on on a connection that
#   does not allow it, are refused before the first step, nothing changed;
# - a credential_command's token and basic credentials authenticate; TLS
#   verifies with the connection's ca_file, and without it is refused;
# - a 503 is retried; a 409 fails the step quoting the service's code and
#   message, and the apply rolls back.
. "$TOP/tests/e2e/lib.sh"
. "$TOP/tests/e2e/http_lib.sh"

unset MOKSHA_STACK MOKSHA_ENV MOKSHA_KEY
HTTP_TOKEN="tok-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
BASIC_PW="pw-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
export HTTP_TOKEN HTTP_BASIC="deploy:$BASIC_PW"
OTHER_PID= TLS_PID=
trap 'for p in $OTHER_PID $TLS_PID; do kill $p 2>/dev/null; done; http_stop; e2e_finish' EXIT

# a second service: another host (localhost, not 127.0.0.1) a redirect
# points at, and the one that takes basic credentials
http_start "$WORK/other" --token-env NO_TOKEN --basic-env HTTP_BASIC
OTHER_PID=$HTTP_PID OTHER_PORT=$HTTP_PORT OTHER_DIR=$HTTP_DIR
HTTP_PID=
# a third, over TLS, with a certificate for 127.0.0.1 the connection's
# ca_file trusts (and nothing else does)
mkdir tls
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout tls/key.pem -out tls/cert.pem \
    -days 1 -subj /CN=127.0.0.1 -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null || e2e_bad "openssl cannot make a certificate"
http_start "$WORK/tlssvc" --token-env HTTP_TOKEN --tls-cert tls/cert.pem --tls-key tls/key.pem
TLS_PID=$HTTP_PID TLS_PORT=$HTTP_PORT TLS_DIR=$HTTP_DIR
HTTP_PID=
http_start "$WORK/svc" --token-env HTTP_TOKEN --redirect-to "http://localhost:$OTHER_PORT/api"

mkdir cfg secret && chmod 700 cfg secret
printf '%s\n' "$HTTP_TOKEN" >secret/token
cat >cfg/exec.json <<JSON
{ "format": "moksha.exec-config/v1",
  "connections": {
    "api":    { "kind": "http", "endpoint": "$HTTP_URL/api", "credentials": {"bearer_env": "API_TOKEN"},
                "allow_fault_injection": true, "allow_plaintext": true },
    "strict": { "kind": "http", "endpoint": "$HTTP_URL/api", "credentials": {"bearer_env": "API_TOKEN"},
                "allow_plaintext": true },
    "clear":  { "kind": "http", "endpoint": "$HTTP_URL/api", "credentials": {"bearer_env": "API_TOKEN"} },
    "cmd":    { "kind": "http", "endpoint": "$HTTP_URL/api", "credential_command": ["/bin/cat", "$WORK/secret/token"],
                "allow_plaintext": true },
    "cmd_clear": { "kind": "http", "endpoint": "$HTTP_URL/api", "credential_command": ["/bin/cat", "$WORK/secret/token"] },
    "basic":  { "kind": "http", "endpoint": "http://127.0.0.1:$OTHER_PORT/api",
                "credentials": {"basic_user": "deploy", "password_env": "BASIC_PW"}, "allow_plaintext": true },
    "basic_clear": { "kind": "http", "endpoint": "http://127.0.0.1:$OTHER_PORT/api",
                "credentials": {"basic_user": "deploy", "password_env": "BASIC_PW"} },
    "bounce": { "kind": "http", "endpoint": "$HTTP_URL/redirect", "credentials": {"bearer_env": "API_TOKEN"},
                "allow_plaintext": true },
    "tls":    { "kind": "http", "endpoint": "https://127.0.0.1:$TLS_PORT/api", "ca_file": "$WORK/tls/cert.pem",
                "credentials": {"bearer_env": "API_TOKEN"} },
    "tls_noca": { "kind": "http", "endpoint": "https://127.0.0.1:$TLS_PORT/api", "credentials": {"bearer_env": "API_TOKEN"} },
    "meta":   { "kind": "http", "endpoint": "http://169.254.169.254/latest", "credentials": {"bearer_env": "API_TOKEN"},
                "allow_plaintext": true },
    "meta6":  { "kind": "http", "endpoint": "http://[fd00:ec2::254]/latest", "credentials": {"bearer_env": "API_TOKEN"},
                "allow_plaintext": true }
  } }
JSON
chmod 0600 cfg/exec.json
export MOKSHA_EXEC_CONFIG=$WORK/cfg/exec.json API_TOKEN=$HTTP_TOKEN BASIC_PW

same() { [ "$2" = "$3" ] && e2e_ok || e2e_bad "$1: got [$2], expected [$3]"; }
count() { jq --arg p "$1" '[keys[] | select(startswith($p))] | length' "$HTTP_DIR/objects.json"; }

# spec CONNECTION [FAIL_ON] [RESOURCES]: one block on CONNECTION
spec() {
    cat >main.moksha <<M
stack refused {}
provider sim { latency = 1ms }
provider http {
  connection = "$1"
  fail_on    = [${2:-}]
}
resource network main { cidr = "10.7.0.0/16" }
${3:-}
M
}
WEB='resource http.object web {
  path = "/items/web"
  body = jsonencode({name = "web", size = 3})
}'
JOB='resource http.object job {
  path       = "/jobs"
  create     = "POST"
  id_pointer = "/id"
  body       = jsonencode({name = "nightly"})
}'

mkdir app
enter app || exit 1
spec api
expect_exit 0 moksha apply --yes
stack_id=$(cat .moksha/stack-id)

# ---- a POST answered before the run died: the next apply takes it over ----
key=mk-$(printf 'moksha http.object\n%s\nhttp.object.job\n' "$stack_id" | sha256sum | cut -c1-64)
left=$(curl -s --noproxy '*' -X POST -H "Authorization: Bearer $HTTP_TOKEN" -H "Idempotency-Key: $key" \
    --data-binary '{"name":"nightly"}' "$HTTP_URL/api/jobs" | jq -r .id)
spec api "" "$JOB"
expect_exit 0 moksha apply --yes
same "the jobs after the apply" "$(count /jobs/)" 1
same "the job the state records" "$("$MOKSHA_EXEC" state show http.object.job | jq -r .attributes.id)" "$left"
expect_exit 0 moksha plan --detailed-exitcode

# ---- a PUT that landed: taken over; other fields there: someone else's ----
hq PUT /api/items/web '{"name":"web","size":3}' >/dev/null
spec api "" "$JOB
$WEB"
expect_exit 0 moksha apply --yes
expect_contains "$OUT" "1 created"
expect_exit 0 moksha plan --detailed-exitcode
spec api "" "$JOB"
expect_exit 0 moksha apply --yes
same "the web object after its delete" "$(hobj /items/web)" null
hq PUT /api/items/web '{"name":"someone else","size":9}' >/dev/null
spec api "" "$JOB
$WEB"
expect_exit 4 moksha apply --yes
expect_contains "$ERR" "/items/web already holds an object this stack did not make"
expect_contains "$ERR" "moksha import http.object.web /items/web"
same "someone else's object" "$(hobj /items/web | jq -c '{name, size}')" '{"name":"someone else","size":9}'
expect_exit 0 moksha import http.object.web /items/web --yes
expect_contains "$OUT" "body = \"{\\\"name\\\":\\\"someone else\\\",\\\"size\\\":9}\""
# the import takes it over and makes it what the spec says
same "the imported object" "$(hobj /items/web | jq -c '{name, size}')" '{"name":"web","size":3}'
expect_exit 0 moksha plan --detailed-exitcode
same "the imported object after the apply" "$(hobj /items/web | jq -c '{name, size}')" '{"name":"web","size":3}'

# ---- refused before the first step, nothing changed ----
snapshot base.txt
cp "$HTTP_DIR/objects.json" base.objects
NEW='resource http.object new {
  path = "/items/new"
  body = jsonencode({name = "new"})
}'
unchanged() {
    snapshot now.txt
    expect_same base.txt now.txt
    cmp -s base.objects "$HTTP_DIR/objects.json" && e2e_ok || e2e_bad "the service changed ($1)"
}
refused() { # refused CONNECTION TEXT [FAIL_ON]
    spec "$1" "${3:-}" "$JOB
$WEB
$NEW"
    expect_exit 1 moksha apply --yes
    expect_contains "$ERR" "$2"
    expect_not_contains "$ERR" "$HTTP_TOKEN"
    unchanged "$1"
}
before_other=$(cat "$OTHER_DIR/requests.log" 2>/dev/null | wc -l)
refused bounce "answered 302, a redirect to http://localhost:$OTHER_PORT/api/items/"
expect_contains "$ERR" "never followed"
same "requests the redirect's target saw" "$(cat "$OTHER_DIR/requests.log" 2>/dev/null | wc -l)" "$before_other"
refused tls_noca "SSL peer certificate or SSH remote key was not OK"
same "requests the TLS service answered unverified" "$(cat "$TLS_DIR/requests.log" 2>/dev/null | wc -l)" 0
refused meta "169.254.169.254"
expect_contains "$ERR" "refused"
refused meta6 "fd00:ec2::254"
refused strict "allow_fault_injection" '"http.object.new"'
API_TOKEN=wrong-token-value
refused api "answered 401: unauthorized: a valid bearer token is required"
expect_not_contains "$ERR" "wrong-token-value"
unset API_TOKEN
refused api "API_TOKEN, which is not set in the executor's environment"
export API_TOKEN=$HTTP_TOKEN
# credentials over plain http, loopback included, only with allow_plaintext
for c in clear cmd_clear basic_clear; do
    refused $c "would send its credentials over plain http"
    expect_contains "$ERR" "allow_plaintext"
done

# ---- a service's refusal is quoted; a 503 is retried ----
spec api "" "$JOB
$WEB
$NEW"
hq POST /_admin/fail '{"status": 409, "count": 1, "match": "/api/items/new", "method": "PUT"}' >/dev/null
expect_exit 4 moksha apply --yes
expect_contains "$ERR" "answered 409: injected: the service is failing on purpose"
unchanged "a 409"
hq POST /_admin/fail '{"status": 503, "count": 2, "match": "/api/items/new", "method": "PUT"}' >/dev/null
expect_exit 0 moksha apply --yes
same "the new object after two 503s" "$(hobj /items/new | jq -r .name)" new
same "the 503s answered" "$(jq -s 'map(select(.status == 503)) | length' "$HTTP_DIR/requests.log")" 2

# ---- a credential_command's token; basic credentials ----
spec cmd "" "$JOB
$WEB
$NEW"
expect_exit 0 moksha plan --detailed-exitcode
sed 's/name = "new"/name = "newer"/' main.moksha >m && mv m main.moksha
expect_exit 0 moksha apply --yes
same "the object a command's token changed" "$(hobj /items/new | jq -r .name)" newer
expect_exit 0 moksha destroy --yes
same "the service after destroy" "$(jq -c . "$HTTP_DIR/objects.json")" '{}'
leave
mkdir basic
enter basic || exit 1
spec basic "" "$WEB"
expect_exit 0 moksha apply --yes
same "the object made with basic credentials" "$(jq -r '.["/items/web"].name' "$OTHER_DIR/objects.json")" web
jq -se 'map(select(.path | startswith("/api/"))) | length > 0 and all(.authenticated)' "$OTHER_DIR/requests.log" >/dev/null &&
    e2e_ok || e2e_bad "a request went to the basic service unauthenticated"
expect_exit 0 moksha destroy --yes
leave

# ---- a body holding a secret: sealed in the plan and the state, sent
# opened, read back as sealed while the service holds it ----
API_KEY="key-$(od -An -N9 -tx1 /dev/urandom | tr -d ' \n')"
export MOKSHA_VAR_api_key=$API_KEY
mkdir sealed
enter sealed || exit 1
spec api "" 'var api_key: secret
resource http.object key {
  path = "/keys/ci"
  body = jsonencode({name = "ci", key = var.api_key})
}'
expect_exit 0 moksha plan -o k.plan
expect_contains "$OUT" "body     = (sensitive)"
expect_exit 0 moksha apply k.plan
same "the key the service holds" "$(hobj /keys/ci | jq -r .key)" "$API_KEY"
expect_exit 0 moksha plan --detailed-exitcode
expect_exit 0 moksha drift
hq POST /_admin/edit/keys/ci '{"key": "rotated-by-hand"}' >/dev/null
expect_exit 2 moksha drift
expect_contains "$OUT" "http.object.key changed outside moksha"
expect_not_contains "$OUT" "rotated-by-hand"
expect_exit 0 moksha reconcile --auto-approve-risk medium
same "the key after reconcile" "$(hobj /keys/ci | jq -r .key)" "$API_KEY"
# note [http sealed]: no pointer may bring a field of the sealed body back
# in plain text, and no answer carries a string of it into the state
cat "$OUT" "$ERR" >"$WORK/sealed.all"
for ptr in 'id_pointer = "/key"' 'computed = {leaked = "/key"}' 'computed = {all = ""}' 'computed = {k = "/key/0"}'; do
    spec api "" "var api_key: secret
resource http.object key {
  path = \"/keys/ci\"
  body = jsonencode({name = \"ci\", key = var.api_key})
}
resource http.object leak {
  path = \"/keys/leak\"
  body = jsonencode({name = \"leak\", key = var.api_key})
  $ptr
}"
    expect_exit 1 moksha apply --yes
    expect_contains "$ERR" "points into a field the sealed body sets"
    same "the leaking object ($ptr)" "$(hobj /keys/leak)" null
    cat "$OUT" "$ERR" >>"$WORK/sealed.all"
done
# a copy of it the service keeps elsewhere, read by a pointer, is scrubbed
spec api "" 'var api_key: secret
resource http.object key {
  path = "/keys/ci"
  body = jsonencode({name = "ci", key = var.api_key})
}
resource http.object copy {
  path     = "/keys/copy"
  body     = jsonencode({name = "copy", key = var.api_key})
  computed = {copy = "/copy", rev = "/revision"}
}'
hq PUT /api/keys/copy "{\"name\": \"copy\", \"key\": \"$API_KEY\", \"copy\": \"was $API_KEY\"}" >/dev/null
expect_exit 0 moksha import http.object.copy /keys/copy --yes
cat "$OUT" "$ERR" >>"$WORK/sealed.all"
expect_exit 0 moksha state show http.object.copy
cat "$OUT" "$ERR" >>"$WORK/sealed.all"
grep -rqF 'was ****' .moksha && e2e_ok || e2e_bad "the copy the import read is not there, scrubbed"
expect_exit 0 moksha destroy --yes
cat "$OUT" "$ERR" >>"$WORK/sealed.all"
grep -qF -- "$API_KEY" "$WORK/sealed.all" && e2e_bad "the secret body is in the output" || e2e_ok
ls .moksha/state.json.prev .moksha/audit.jsonl >/dev/null 2>&1 && e2e_ok || e2e_bad "no state.json.prev or audit.jsonl to look in"
if grep -rlF -- "$API_KEY" . 2>/dev/null; then e2e_bad "the secret body is in the stack's files above"; else e2e_ok; fi
unset MOKSHA_VAR_api_key
leave

# ---- over verified TLS ----
mkdir tlsapp
enter tlsapp || exit 1
spec tls "" "$WEB"
expect_exit 0 moksha apply --yes
same "the object made over TLS" "$(jq -r '.["/items/web"].name' "$TLS_DIR/objects.json")" web
expect_exit 0 moksha plan --detailed-exitcode
expect_exit 0 moksha destroy --yes
same "the TLS service after destroy" "$(jq -c . "$TLS_DIR/objects.json")" '{}'
leave

# ---- the secrets are the executor's environment's alone ----
leaks() { grep -rlF -e "$HTTP_TOKEN" -e "$BASIC_PW" "$@" 2>/dev/null; }
if leaks app basic tlsapp "$HTTP_DIR" "$OTHER_DIR" "$TLS_DIR"; then e2e_bad "a secret is in the files above"; else e2e_ok; fi
printf '%s\n' "$BASIC_PW" >planted
[ -n "$(leaks planted)" ] && e2e_ok || e2e_bad "the leak check misses a planted password"
