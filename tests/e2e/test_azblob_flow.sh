# test_azblob_flow.sh — buckets as containers on azurite, next to the
# simulated cloud, through `moksha` as a user runs it (docs/providers.md,
# "The azure_blob provider"): planned, applied (tags and the owner tag in
# the container's metadata, `public` as its access level) and re-planned to
# no changes; changed outside moksha (metadata, access level, the container
# deleted) and seen by `moksha drift`, put back by `moksha reconcile`; a
# container another stack or nobody made is not taken over, and `moksha
# import` takes one; a destroy refuses a container holding a blob before
# the first step, and force_destroy deletes it. A wrong account key is
# refused by azurite, which checks every Shared Key signature, before the
# first step. The key is in no file of the stack, no output and not in
# azurite's log — and that search is shown to find a planted one.
. "$TOP/tests/e2e/lib.sh"
. "$TOP/tests/e2e/az_lib.sh"

unset MOKSHA_STACK MOKSHA_ENV MOKSHA_KEY
az_config "$WORK/cfg/exec.json"
export MOKSHA_EXEC_CONFIG=$WORK/cfg/exec.json

# spec [EXTRA]: the sim's network beside two buckets on the store
spec() {
    cat >main.moksha <<M
stack azapp {}
provider sim { latency = 1ms }
provider azure_blob store { connection = "blobs", buckets = true }
resource network main { cidr = "10.7.0.0/16" }
resource bucket logs { tags = { team = "ops", CostCenter = "42" } }
resource bucket assets {
  bucket_name = "acme-assets"
  public      = true
  ${1:-}
}
M
}

mkdir app
enter app || exit 1

# ---- plan, apply, re-plan to no changes ----
spec
az_run 0 plan -o p.plan
expect_contains "$OUT" "+ bucket.logs  on azure/eastus"
az_run 0 apply p.plan
expect_contains "$OUT" "Apply complete: 3 created"
expect_match "$OUT" "created  bucket.logs  \\[store azure/eastus\\]  id=logs"
expect_match "$OUT" "created  bucket.assets  \\[store azure/eastus\\]  id=acme-assets"
stack_id=$(cat .moksha/stack-id)
az_same "the account's containers" "$(az_world)" \
    "{\"acme-assets\":{\"access\":\"blob\",\"blobs\":[],\"metadata\":{\"moksha_address\":\"bucket.assets\",\"moksha_stack\":\"$stack_id\"}},\"logs\":{\"access\":\"\",\"blobs\":[],\"metadata\":{\"costcenter\":\"42\",\"moksha_address\":\"bucket.logs\",\"moksha_stack\":\"$stack_id\",\"team\":\"ops\"}}}"
az_same "the endpoint recorded" "$("$MOKSHA_EXEC" state show bucket.logs | jq -r '.attributes.endpoint')" "$AZ_ENDPOINT/logs"
az_run 0 plan --refresh --detailed-exitcode
expect_contains "$OUT" "No changes"
az_run 0 drift
expect_contains "$OUT" "No drift"
# azurite computed and compared a signature for every request moksha sent
grep -q "Signature 1 matched" "$AZ_DIR/debug.log" && e2e_ok || e2e_bad "azurite's log shows no signature it checked"
if grep "BlobSharedKeyAuthenticator:validate() Validation failed" "$AZ_DIR/debug.log" >/dev/null; then
    e2e_bad "azurite refused a signature of moksha's"
else e2e_ok; fi

# ---- changed outside moksha: seen by drift, put back by reconcile ----
az meta logs --keep-owner team=dev CostCenter=42 added=1
az access acme-assets container
az_run 2 drift
expect_contains "$OUT" "bucket.logs changed outside moksha: tags"
expect_contains "$OUT" '"team":"dev"'
expect_contains "$OUT" '"added":"1"'
expect_contains "$OUT" 'bucket.assets changed outside moksha: public true → "container"'
az access acme-assets private
az_run 2 drift
expect_contains "$OUT" "public true → false"
az_run 0 reconcile --auto-approve-risk medium
az_run 0 drift
expect_contains "$OUT" "No drift"
az_same "logs' metadata after reconcile" "$(az show logs | jq -c '.metadata | del(.moksha_run)')" \
    "{\"costcenter\":\"42\",\"moksha_address\":\"bucket.logs\",\"moksha_stack\":\"$stack_id\",\"team\":\"ops\"}"
az_same "assets' access after reconcile" "$(az show acme-assets | jq -r .access)" blob
# a container deleted outside moksha is gone; making a stateful object again
# is high risk, so only a wide boundary does
az rm logs
az_run 2 drift
expect_contains "$OUT" "bucket.logs was deleted outside moksha"
az_run 3 reconcile
az_run 0 reconcile --auto-approve-risk high
az_same "logs made again" "$(az show logs | jq -c '.metadata | del(.moksha_run)')" \
    "{\"costcenter\":\"42\",\"moksha_address\":\"bucket.logs\",\"moksha_stack\":\"$stack_id\",\"team\":\"ops\"}"
az_run 0 plan --refresh --detailed-exitcode

# ---- foreign containers: never taken over; import takes one ----
az mk shared team=web
spec
cat >>main.moksha <<'M'
resource bucket shared { tags = { team = "web" } }
M
az_run 1 apply --yes
expect_contains "$ERR" "before its first step; nothing was applied"
expect_contains "$ERR" "container shared already exists and this stack did not make it (it has no owner tag of moksha's): not taken over; to manage it, \`moksha import bucket.shared shared\`"
az_same "the foreign container" "$(az show shared | jq -c .metadata)" '{"team":"web"}'
# tagged by another stack: foreign too
az mk other moksha_stack=0123456789abcdef0123456789abcdef moksha_run=x moksha_address=bucket.other
cat >>main.moksha <<'M'
resource bucket other {}
M
az_run 1 apply --yes
expect_contains "$ERR" "container other already exists and this stack did not make it (another stack or address made it)"
spec
cat >>main.moksha <<'M'
resource bucket other {}
M
az_run 4 import --yes bucket.other other
expect_contains "$ERR" "container other is another stack's"
az rm other
spec
cat >>main.moksha <<'M'
resource bucket shared { tags = { team = "web" } }
M
az_run 0 import --yes bucket.shared shared
az_same "the imported container's owner" "$(az show shared | jq -r '.metadata.moksha_stack + " " + .metadata.moksha_address + " " + .metadata.team')" \
    "$stack_id bucket.shared web"
az_run 0 plan --refresh --detailed-exitcode
expect_contains "$OUT" "No changes"

# ---- destroy: a container holding a blob is refused, force_destroy deletes it ----
az put acme-assets report.csv "a,b"
az_run 1 destroy --yes
expect_contains "$ERR" "container acme-assets holds objects (\`report.csv\`…): not deleted, nothing is lost; to delete them with it, set force_destroy = true"
az_same "the containers after a refused destroy" "$(az ls | sort | tr '\n' ' ')" "acme-assets logs shared "
az_same "the blob after a refused destroy" "$(az show acme-assets | jq -c .blobs)" '["report.csv"]'
spec "force_destroy = true"
cat >>main.moksha <<'M'
resource bucket shared { tags = { team = "web" } }
M
az_run 0 apply --yes
az_run 0 destroy --yes
az_same "the containers after destroy" "$(az ls | tr '\n' ' ')" ""
az_run 0 audit verify

# ---- a wrong key: azurite refuses the signature, before the first step ----
spec
TEST_AZ_KEY=$(head -c 64 /dev/urandom | base64 -w0) az_run 1 apply --yes
expect_contains "$ERR" "reach the storage account: connection blobs answered 403 AuthorizationFailure: Server failed to authenticate the request"
az_same "the containers after a wrong key" "$(az ls | tr '\n' ' ')" ""
grep -q "BlobSharedKeyAuthenticator:validate() Validation failed" "$AZ_DIR/debug.log" && e2e_ok ||
    e2e_bad "azurite's log does not show the wrong signature refused"
# a key that is no base64 is refused without a request
TEST_AZ_KEY='not base64!' az_run 1 apply --yes
expect_contains "$ERR" "the account key (TEST_AZ_KEY) is not base64"
expect_not_contains "$ERR" "not base64!"
az_run 0 apply --yes

# ---- the key from a credential_command: {"account_key", "expires_in"} ----
(umask 077 && printf '%s' "$AZ_KEY" >"$WORK/cfg/key")
cat >"$WORK/cfg/key.sh" <<EOF
#!/bin/sh
printf '{"%s": "%s", "expires_in": 600}\n' "\${1:-account_key}" "\$(cat "$WORK/cfg/key")"
EOF
az_config "$WORK/cfg/exec.json" "" true "\"credential_command\": [\"/bin/sh\", \"$WORK/cfg/key.sh\"]"
spec
cat >>main.moksha <<'M'
resource bucket viacmd {}
M
env -u TEST_AZ_KEY "$MOKSHA" apply --yes >"$OUT" 2>"$ERR" && e2e_ok || e2e_bad "the apply with a credential_command failed: $(cat "$ERR")"
cat "$OUT" "$ERR" >>"$AZ_OUTPUTS"
az_same "the container made with the command's key" "$(az show viacmd | jq -r .metadata.moksha_address)" bucket.viacmd
# a command answering postgres's key is refused, naming the one it must say
az_config "$WORK/cfg/exec.json" "" true "\"credential_command\": [\"/bin/sh\", \"$WORK/cfg/key.sh\", \"password\"]"
spec
env -u TEST_AZ_KEY "$MOKSHA" apply --yes >"$OUT" 2>"$ERR"
az_same "the apply with a command saying password" "$?" 1
expect_contains "$ERR" 'password_command printed JSON that is not {"account_key": "…", "expires_in": SECONDS}'
cat "$OUT" "$ERR" >>"$AZ_OUTPUTS"
az_config "$WORK/cfg/exec.json"
az_run 0 apply --yes --auto-approve-risk high
leave

# ---- the key is the executor's alone ----
if grep -rlF -- "$AZ_KEY" "$AZ_OUTPUTS" app "$AZ_DIR/debug.log" "$AZ_DIR/data" 2>/dev/null; then
    e2e_bad "the account key is in the files above"
else e2e_ok; fi
grep -q "STRING TO SIGN" "$AZ_DIR/debug.log" && e2e_ok || e2e_bad "azurite's log holds no request: the leak check saw nothing"
# the search finds a key where one is: a planted leak in an output and in the log
echo "oops $AZ_KEY" >>"$AZ_OUTPUTS"
grep -qF -- "$AZ_KEY" "$AZ_OUTPUTS" && e2e_ok || e2e_bad "the leak check does not find a planted key"
