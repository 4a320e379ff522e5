# test_s3_faults.sh — the s3 provider when things go wrong, on s3rver
# behind the verifying proxy (docs/providers.md, "The s3 provider"): a
# failure injected at every step of a plan (fail_on) rolls the buckets,
# the sim and the state back to what they were; kill -9 mid-apply then an
# apply again converges, each bucket made once and recorded once; what
# the server does not implement is refused before the first step, and an
# API the connection wrongly lists fails with the server's NotImplemented;
# fail_on on a connection that does not allow it, and a signing region
# other than the block's, are refused; keys from a credential_command.
. "$TOP/tests/e2e/lib.sh"
. "$TOP/tests/e2e/s3_lib.sh"
unset MOKSHA_STACK MOKSHA_ENV MOKSHA_KEY

spec() { # spec FAIL_ON [MORE]
    cat >main.moksha <<M
stack s3faults {}
provider sim { latency = 1ms }
provider s3 store {
  connection = "store"
  buckets    = true
  fail_on    = [${1:-}]
}
resource network main { cidr = "10.7.0.0/16" }
resource bucket keep { encrypted = false }
${2:-}
M
}

mkdir app
enter app || exit 1

# ---- a failure injected at every step rolls back ----
# base: an old bucket to delete and one to change; the plan then makes
# two, changes one, deletes one, with the sim's network beside them
spec "" 'resource bucket old { encrypted = false }
resource bucket tuned { encrypted = false }'
s3_run 0 apply --yes
snapshot before.txt
s3_buckets >before.buckets
changed() {
    spec "$1" 'resource bucket tuned { encrypted = false, force_destroy = true }
resource bucket fresh { encrypted = false }
resource bucket other { encrypted = false, bucket_name = "other-name" }'
    sed 's/cidr = "10.7.0.0\/16"/cidr = "10.7.0.0\/16", tags = { tier = "b" }/' main.moksha >m && mv m main.moksha
}
changed ""
s3_run 2 plan --detailed-exitcode
expect_contains "$OUT" "Plan: 2 to create, 2 to update, 0 to replace, 1 to delete"
for target in bucket.fresh bucket.other bucket.tuned bucket.old network.main; do
    changed "\"$target\""
    [ "$target" = network.main ] && sed 's/latency = 1ms/latency = 1ms, fail_on = ["network.main"]/' main.moksha >m &&
        mv m main.moksha
    s3_run 4 apply --yes --parallelism 2
    expect_contains "$OUT" "Rolled back"
    expect_contains "$ERR" "Apply failed: $target"
    snapshot after.txt
    expect_same before.txt after.txt
    s3_buckets >after.buckets
    expect_same before.buckets after.buckets
done
s3_run 0 audit verify
changed ""
s3_run 0 apply --yes
s3_same "the buckets after the plan applies" "$(s3_buckets | tr '\n' ' ')" "fresh keep other-name tuned "
s3_run 0 plan --detailed-exitcode

# ---- kill -9 mid-apply, then apply again: each bucket made once ----
many() {
    spec
    i=0
    while [ $i -lt 40 ]; do
        echo "resource bucket k$i { encrypted = false }" >>main.moksha
        i=$((i + 1))
    done
}
count_k() { s3_buckets | grep -c '^k[0-9]'; }
for at in 1 15; do
    spec
    s3_run 0 apply --yes
    s3_same "the k buckets before" "$(count_k)" 0
    many
    s3_run 0 plan -o k.plan
    kill_apply_at k.plan count_k $at --parallelism 1
    made=$(count_k)
    [ "$made" -gt 0 ] && [ "$made" -lt 40 ] && e2e_ok ||
        e2e_bad "after kill -9 at the ${at}th bucket s3rver holds $made of the 40 buckets (expected some, not all)"
    unlock_dead
    s3_run 0 apply --yes
    s3_same "the k buckets after recovery" "$(count_k)" 40
    s3_same "the k buckets in the state" "$("$MOKSHA_EXEC" state list | grep -c "^bucket.k[0-9]")" 40
    s3_run 0 plan --detailed-exitcode
done
spec
s3_run 0 apply --yes
s3_same "the buckets after the k buckets go" "$(s3_buckets | tr '\n' ' ')" "keep "

# ---- refused before the first step: what s3rver does not implement ----
snapshot before.txt
spec "" 'resource bucket asks {
  versioning          = true
  public_access_block = true
  tags                = { team = "data" }
  storage_class       = "archive"
}'
s3_run 1 apply --yes
expect_contains "$ERR" "before its first step; nothing was applied"
expect_contains "$ERR" "s3: bucket.asks: cannot be enforced on connection store: encrypted = true"
expect_contains "$ERR" "versioning = true (would need \"versioning\" in connections.store.implements"
expect_contains "$ERR" "public_access_block = true"
expect_contains "$ERR" "tags (would need \"tagging\" in connections.store.implements)"
expect_contains "$ERR" "storage_class = \"archive\""
snapshot after.txt
expect_same before.txt after.txt
s3_same "the buckets after a refused apply" "$(s3_buckets | tr '\n' ' ')" "keep "
# the connection vouching for encryption lets encrypted = true through
s3_config '"implements": [], "vouches": {"encrypted": true}, "allow_fault_injection": true'
spec "" 'resource bucket sealed {}'
s3_run 0 apply --yes
s3_run 0 plan --detailed-exitcode
# a connection wrongly listing an API: the server's NotImplemented (tagging)
# fails the step clearly, and a read needing it is unreadable, never "gone";
# an answer that is not what the API returns (s3rver lists the bucket for
# ?versioning) fails the same way
s3_config '"implements": ["tagging"], "vouches": {"encrypted": true}, "allow_fault_injection": true'
spec "" 'resource bucket sealed {}
resource bucket tagme {}'
s3_run 4 apply --yes
expect_contains "$ERR" "bucket.tagme: PutBucketTagging: the server answered NotImplemented"
expect_contains "$ERR" "yet connection store lists this API in \`implements\`"
s3_same "the buckets after NotImplemented" "$(s3_buckets | tr '\n' ' ')" "keep sealed "
s3_run 1 drift
expect_contains "$OUT" "? bucket.sealed could not be read: s3: bucket.sealed: GetBucketTagging: the server answered NotImplemented"
s3_config '"implements": ["versioning"], "vouches": {"encrypted": true}, "allow_fault_injection": true'
spec "" 'resource bucket sealed {}
resource bucket wants { versioning = true }'
s3_run 4 apply --yes
expect_contains "$ERR" "GetBucketVersioning: the server answered with no VersioningConfiguration"
s3_same "the buckets after a wrong answer" "$(s3_buckets | tr '\n' ' ')" "keep sealed "
s3_config

# ---- the executor's rules ----
# fail_on without allow_fault_injection
s3_config '"implements": []'
spec '"bucket.sealed"' 'resource bucket sealed { encrypted = false }'
s3_run 1 apply --yes
expect_contains "$ERR" "asks for injected failures (fail_on), which connection store does not allow"
# a block in another region than the connection signs for (a stack of its own:
# this one's buckets are applied in us-east-1)
leave
mkdir region && enter region || exit 1
printf 'stack s3region {}\nprovider s3 store {\n  connection = "store"\n  buckets    = true\n  region     = "eu-west-1"\n}\nresource bucket far { encrypted = false }\n' >main.moksha
s3_run 1 apply --yes
expect_contains "$ERR" "its region is eu-west-1, but connection \`store\` signs for us-east-1"
leave
enter app || exit 1
# keys from a credential_command (JSON of the provider's own keys)
cat >"$WORK/cfg/keys.sh" <<SH
#!/bin/sh
printf '{"access_key_id": "S3RVER", "secret_access_key": "%s", "expires_in": 900}\n' "\$(cat "$WORK/cfg/secret")"
SH
chmod 700 "$WORK/cfg/keys.sh"
(umask 077 && printf '%s' "$AWS_SECRET_ACCESS_KEY" >"$WORK/cfg/secret")
s3_config '"implements": [], "credential_command": ["'"$WORK/cfg/keys.sh"'"]'
spec "" 'resource bucket bycmd { encrypted = false }'
expect_exit 0 env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$MOKSHA" apply --yes
cat "$OUT" "$ERR" >>"$S3_OUTPUTS"
expect_contains "$OUT" "created  bucket.bycmd"
rm -f "$WORK/cfg/secret"
s3_config
spec
s3_run 0 destroy --yes
s3_same "the buckets after destroy" "$(s3_buckets)" ""
leave
s3_leak_check
