# test_azblob_rollback.sh — the azure_blob provider when things go wrong,
# against azurite (docs/providers.md, "The azure_blob provider"): a failure
# injected at every step of a plan (fail_on) rolls the containers and the
# state back to what they were, the sim's world with them; kill -9 at
# moments of an apply, then an apply again, converges with every container
# made once, tagged by the stack and recorded once; what a container cannot
# be made to hold (the account's settings not vouched for, encrypted =
# false, a metadata name Azure refuses, a header smuggled in a tag) and
# fail_on on a connection that does not allow it are refused before the
# first step, with nothing changed.
. "$TOP/tests/e2e/lib.sh"
. "$TOP/tests/e2e/az_lib.sh"

unset MOKSHA_STACK MOKSHA_ENV MOKSHA_KEY
az_config "$WORK/cfg/exec.json"
export MOKSHA_EXEC_CONFIG=$WORK/cfg/exec.json

# spec FAIL_ON EXTRA...: the sim's network and buckets on the store
spec() {
    fo=$1
    shift
    {
        echo 'stack azroll {}'
        echo 'provider sim { latency = 1ms }'
        echo "provider azure_blob store { connection = \"blobs\", buckets = true, fail_on = [$fo] }"
        echo 'resource network main { cidr = "10.7.0.0/16" }'
        for r in "$@"; do printf '%s\n' "$r"; done
    } >main.moksha
}

mkdir app
enter app || exit 1

# ---- a failure injected at every step rolls back ----
# base: a bucket to keep and change, one to delete; the plan then makes two,
# changes one and deletes one
spec "" 'resource bucket keep { tags = { v = "1" } }' 'resource bucket old {}'
az_run 0 apply --yes
snapshot before.txt
az_world >before.world
changed() {
    spec "$1" 'resource bucket keep { tags = { v = "2" }, public = true }' 'resource bucket new1 {}' \
        'resource bucket new2 { tags = { a = "b" } }' 'resource network side { cidr = "10.8.0.0/16" }'
}
changed ""
az_run 2 plan --detailed-exitcode
expect_contains "$OUT" "Plan: 3 to create, 1 to update, 0 to replace, 1 to delete"
for target in bucket.new1 bucket.new2 bucket.keep bucket.old; do
    changed "\"$target\""
    az_run 4 apply --yes --parallelism 2
    expect_contains "$OUT" "Rolled back"
    expect_contains "$ERR" "Apply failed: $target"
    expect_contains "$ERR" "injected failure"
    snapshot after.txt
    expect_same before.txt after.txt
    az_world >after.world
    expect_same before.world after.world
done
az_run 0 audit verify
changed ""
az_run 0 apply --yes
az_same "the containers after the plan applies" "$(az ls | sort | tr '\n' ' ')" "keep new1 new2 "
az_same "keep's access" "$(az show keep | jq -r .access)" blob
az_run 0 plan --refresh --detailed-exitcode

# ---- kill -9 mid-apply, then apply again: each container made once, recorded once ----
many() {
    set --
    i=0
    while [ $i -lt 80 ]; do
        set -- "$@" "resource bucket k$i { tags = { n = \"$i\" } }"
        i=$((i + 1))
    done
    spec "" "$@"
}
count_k() { az ls | grep -c '^k'; }
# the probe: what the state records (the apply writes it after every step; fast to read)
recorded_k() { [ -f .moksha/state.json ] && grep -o '"bucket\.k[0-9]*"' .moksha/state.json | sort -u | wc -l || echo 0; }
stack_id=$(cat .moksha/stack-id)
# the moment to kill: as the state records the 1st, then the 20th container
for need in 1 20; do
    spec ""
    az_run 0 apply --yes --auto-approve-risk high   # no k containers
    az_same "the k containers before" "$(count_k)" 0
    many
    az_run 0 plan -o k.plan
    kill_apply_at k.plan recorded_k $need --parallelism 1
    made=$(count_k)
    [ "$made" -gt 0 ] && [ "$made" -lt 80 ] && e2e_ok ||
        e2e_bad "after kill -9 at $need recorded azurite holds $made of the 80 containers (expected some, not all)"
    unlock_dead
    az_run 0 apply --yes
    az_same "the k containers after recovery" "$(count_k)" 80
    az_same "the k containers in the state" "$("$MOKSHA_EXEC" state list | grep -c "^bucket.k")" 80
    tagged=$(az dump | jq --arg s "$stack_id" '[to_entries[] | select(.key | startswith("k")) |
        select(.value.metadata.moksha_stack == $s and .value.metadata.moksha_address == "bucket." + (.key | rtrimstr("x"))
               and .value.metadata.n == (.key | ltrimstr("k") | rtrimstr("x")))] | length')
    az_same "the k containers tagged by this stack at their address" "$tagged" 80
    az_run 0 plan --refresh --detailed-exitcode
    az_run 0 audit verify
done
spec ""
az_run 0 apply --yes --auto-approve-risk high
az_same "the containers after the k ones are destroyed" "$(az ls | tr '\n' ' ')" ""

# ---- refused before the first step: nothing changed ----
refused() { # refused WORDS RESOURCE...: the apply refuses, naming WORDS; the world as it was
    _w=$1
    shift
    spec "" "$@"
    az_run 1 apply --yes
    expect_contains "$ERR" "before its first step; nothing was applied"
    expect_contains "$ERR" "$_w"
    az_same "the containers after a refusal" "$(az ls | tr '\n' ' ')" ""
    az_same "the sim after a refusal" "$(ls .moksha/sim | tr '\n' ' ')" "network.main.json "
}
refused "encrypted = false: Azure encrypts every storage account at rest" 'resource bucket b { encrypted = false }'
refused 'versioning = true: blob versioning is the storage account'"'"'s, which a container cannot set: connection blobs does not vouch for it (`vouches`: {"versioning": true})' \
    'resource bucket b { versioning = true }'
refused 'public_access_block = true: blocking public access is the storage account'"'"'s setting' \
    'resource bucket b { public_access_block = true }'
refused 'storage_class = "archive"' 'resource bucket b { storage_class = "archive" }'
refused 'kms_key: a customer-managed key is the storage account'"'"'s' 'resource bucket b { kms_key = "k1" }'
refused 'tags.cost-center: a metadata name is letters, digits and _' 'resource bucket b { tags = { "cost-center" = "1" } }'
refused 'tags.moksha_stack: a metadata name' 'resource bucket b { tags = { moksha_stack = "0123" } }'
refused 'tags.Team and tags.team: Azure'"'"'s metadata names ignore case' 'resource bucket b { tags = { team = "a", Team = "b" } }'
# a tag's value cannot carry a header of its own into the request
refused 'tags.x: a metadata value is printable ASCII' \
    'resource bucket b { tags = { x = "1\nx-ms-blob-public-access: container" } }'
# two refusals, one message
spec "" 'resource bucket b { encrypted = false, versioning = true }'
az_run 1 apply --yes
expect_contains "$ERR" "encrypted = false"
expect_contains "$ERR" "versioning = true"

# the account's settings, vouched for by the executor's configuration, are let through
az_config "$WORK/cfg/exec.json" '{ "encrypted": true, "versioning": true, "public_access_block": false }' true \
    '"implements": ["tagging", "public_access"]'
spec "" 'resource bucket b { versioning = true, public_access_block = false }'
az_run 0 apply --yes
az_same "the vouched container" "$(az ls | tr '\n' ' ')" "bxx "
# …and a connection that says the account versions every blob refuses a bucket asking otherwise
spec "" 'resource bucket b { versioning = false, public_access_block = false }'
az_run 1 apply --yes
expect_contains "$ERR" "versioning = false: connection blobs vouches that the storage account versions every blob"
az_config "$WORK/cfg/exec.json"
spec ""
az_run 0 apply --yes --auto-approve-risk high

# fail_on on a connection that does not allow fault injection
az_config "$WORK/cfg/exec.json" "" false
spec '"bucket.b"' 'resource bucket b {}'
az_run 1 apply --yes
expect_contains "$ERR" "provider store asks for injected failures (fail_on), which connection blobs does not allow"
az_same "the containers after fail_on refused" "$(az ls | tr '\n' ' ')" ""
# a connection the executor does not have
az_config "$WORK/cfg/exec.json"
spec "" 'resource bucket b {}'
sed 's/connection = "blobs"/connection = "nowhere"/' main.moksha >m && mv m main.moksha
az_run 1 apply --yes
expect_contains "$ERR" "has no connection \`nowhere\`"
leave

if grep -rlF -- "$AZ_KEY" "$AZ_OUTPUTS" app "$AZ_DIR/debug.log" 2>/dev/null; then
    e2e_bad "the account key is in the files above"
else e2e_ok; fi
