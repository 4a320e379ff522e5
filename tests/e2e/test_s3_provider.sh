# test_s3_provider.sh — buckets on s3rver next to the simulated cloud,
# through `moksha` as a user runs it (docs/providers.md, "The s3
# provider"), every request checked by the verifying SigV4 proxy: planned,
# applied and re-planned to no changes; changed outside moksha (an object
# put in, the owner marker removed, a bucket deleted) and seen by `moksha
# drift`, put back by `moksha reconcile`; imported by name; destroyed,
# a bucket holding objects refused before the first step unless
# force_destroy empties it. The secret is in no file, output or log.
. "$TOP/tests/e2e/lib.sh"
. "$TOP/tests/e2e/s3_lib.sh"
unset MOKSHA_STACK MOKSHA_ENV MOKSHA_KEY

spec() {
    cat >main.moksha <<M
stack s3app {}
provider sim { latency = 1ms }
provider s3 store { connection = "store", buckets = true }
resource network main { cidr = "10.7.0.0/16" }
resource bucket logs { encrypted = false }
resource bucket assets { for_each = ["eu"], encrypted = false, force_destroy = ${1:-true} }
${2:-}
M
}

mkdir app
enter app || exit 1

# ---- plan, apply, re-plan to no changes ----
spec
s3_run 0 plan -o p.plan
expect_contains "$OUT" "+ bucket.logs  on aws/us-east-1 s3-standard"
s3_run 0 apply p.plan
expect_contains "$OUT" "Apply complete: 3 created"
expect_match "$OUT" "created  bucket.logs  \\[store aws/us-east-1\\]  id=logs"
expect_match "$OUT" "created  bucket.assets\\[\"eu\"\\]  \\[store aws/us-east-1\\]  id=assets-eu"
s3_same "the buckets" "$(s3_buckets | tr '\n' ' ')" "assets-eu logs "
stack_id=$(cat .moksha/stack-id)
# the owner marker (s3rver has no bucket tagging) names this stack
curl -s "$S3_DIRECT/logs/.moksha-owner" >owner.json
s3_same "the owner marker's stack" "$(jq -r .stack owner.json)" "$stack_id"
s3_same "the owner marker's address" "$(jq -r .address owner.json)" "bucket.logs"
jq -e '.resources[] | select(.address == "bucket.logs") | .attributes.endpoint == "'"$S3_ENDPOINT"'/logs"' \
    .moksha/state.json >/dev/null && e2e_ok || e2e_bad "bucket.logs's endpoint is not recorded"
s3_run 0 plan --detailed-exitcode
expect_contains "$OUT" "No changes"
s3_run 0 drift
expect_contains "$OUT" "No drift"
# every request was signed right, and the proxy denied none
grep -q '^deny' "$MOKSHA_TEST_S3/proxy.log" && e2e_bad "the proxy denied a request: $(grep '^deny' "$MOKSHA_TEST_S3/proxy.log")" || e2e_ok
grep -q '^ok PUT /logs$' "$MOKSHA_TEST_S3/proxy.log" && e2e_ok || e2e_bad "CreateBucket did not pass the proxy"

# ---- changed outside moksha: seen by drift, put back by reconcile ----
s3_put logs by-hand.txt || fail "cannot put an object out of band"
curl -s -X DELETE "$S3_DIRECT/assets-eu/.moksha-owner" >/dev/null
curl -s -X DELETE "$S3_DIRECT/assets-eu" >/dev/null
s3_run 2 drift
expect_contains "$OUT" "bucket.assets[\"eu\"] was deleted outside moksha"
expect_not_contains "$OUT" "bucket.logs"
s3_run 3 reconcile
expect_contains "$ERR" "is high risk"
s3_run 0 reconcile --auto-approve-risk high
s3_same "the buckets after reconcile" "$(s3_buckets | tr '\n' ' ')" "assets-eu logs "
s3_run 0 drift
expect_contains "$OUT" "No drift"

# a bucket someone else made at a bucket's name is not taken over: refused
# before the first step
curl -s -X PUT "$S3_DIRECT/other-team" >/dev/null
s3_put other-team data.bin
spec true 'resource bucket theirs { encrypted = false, bucket_name = "other-team" }'
s3_run 1 apply --yes
expect_contains "$ERR" "before its first step; nothing was applied"
expect_contains "$ERR" "bucket.theirs already holds a bucket this stack did not make (bucket other-team): not taken over"
expect_contains "$ERR" "moksha import bucket.theirs other-team"
s3_same "the foreign bucket's objects" "$(s3_keys other-team | tr '\n' ' ')" "data.bin "
# …unless imported by name
s3_run 0 import bucket.theirs other-team --yes
s3_same "the imported bucket's owner" "$(curl -s "$S3_DIRECT/other-team/.moksha-owner" | jq -r .stack)" "$stack_id"
s3_run 0 plan --detailed-exitcode
expect_contains "$OUT" "No changes"

# ---- destroy: a bucket that holds objects is refused before the first step ----
spec false 'resource bucket theirs { encrypted = false, bucket_name = "other-team" }'
s3_run 0 apply --yes
s3_put assets-eu kept.txt
s3_run 1 destroy --yes
expect_contains "$ERR" "before its first step; nothing was applied"
expect_contains "$ERR" "bucket logs holds objects (by-hand.txt)"
expect_contains "$ERR" "bucket assets-eu holds objects (kept.txt)"
expect_contains "$ERR" "force_destroy = true deletes them first"
s3_same "the buckets after a refused destroy" "$(s3_buckets | tr '\n' ' ')" "assets-eu logs other-team "
s3_same "the kept object" "$(curl -s "$S3_DIRECT/assets-eu/kept.txt")" "made by hand"
# force_destroy empties them, page by page, then deletes them
spec true 'resource bucket theirs { encrypted = false, bucket_name = "other-team", force_destroy = true }'
sed 's/resource bucket logs { encrypted = false }/resource bucket logs { encrypted = false, force_destroy = true }/' main.moksha >m &&
    mv m main.moksha
s3_run 0 apply --yes
i=0
while [ $i -lt 25 ]; do s3_put assets-eu "many/$i" || break; i=$((i + 1)); done
s3_run 0 destroy --yes
expect_contains "$OUT" "Apply complete: 0 created, 0 updated, 0 replaced, 4 deleted"
s3_same "the buckets after destroy" "$(s3_buckets)" ""
s3_run 0 audit verify
leave
s3_leak_check
