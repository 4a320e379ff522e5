# test_s3_sigv4.sh — the signatures moksha sends are checked, and the
# check catches a bad one (tests/s3/sigv4proxy.js recomputes each with
# AWS's own signer, since s3rver accepts any): a wrong secret, a signing
# region other than the server's, a body changed after signing, an
# unsigned request and a stale date are all denied, and an apply with a
# wrong secret is refused before its first step, changing nothing.
. "$TOP/tests/e2e/lib.sh"
# the npm tools: the build's own, else the repository's build/ (a build
# flavour such as build/sanitize has none of its own)
MODULES=$(dirname "$MOKSHA")/tools/npm/node_modules
[ -d "$MODULES/@smithy/signature-v4" ] || MODULES=$(dirname "$(dirname "$MOKSHA")")/tools/npm/node_modules
[ -d "$MODULES/@smithy/signature-v4" ] || MODULES=$TOP/build/tools/npm/node_modules
. "$TOP/tests/e2e/s3_lib.sh"
unset MOKSHA_STACK MOKSHA_ENV MOKSHA_KEY
# the proxy's verdicts since the last mark, in $LOG (its own log is only appended to)
mark() { MARK=$(wc -l <"$MOKSHA_TEST_S3/proxy.log"); }
LOG=$WORK/verdicts
verdicts() { tail -n +$((MARK + 1)) "$MOKSHA_TEST_S3/proxy.log" >"$LOG"; }
mark
EMPTY=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

mkdir app
enter app || exit 1
cat >main.moksha <<'M'
stack s3sig {}
provider sim { latency = 1ms }
provider s3 store { connection = "store", buckets = true }
resource network main { cidr = "10.7.0.0/16" }
resource bucket signed { encrypted = false }
M

# the right secret: every request passes
s3_run 0 apply --yes
s3_same "the buckets" "$(s3_buckets)" "signed"
verdicts
grep -q '^deny' "$LOG" && e2e_bad "a request signed with the right secret was denied: $(grep '^deny' "$LOG")" || e2e_ok

# a wrong secret: the proxy denies it, the check refuses the apply before
# its first step, and nothing changes (the sim's network neither)
snapshot before.txt
sed 's/bucket signed { encrypted = false }/bucket signed { encrypted = false }\nresource bucket forged { encrypted = false }/' \
    main.moksha >m && mv m main.moksha
mark
expect_exit 1 env AWS_SECRET_ACCESS_KEY="not-the-$AWS_SECRET_ACCESS_KEY" "$MOKSHA" apply --yes
cat "$OUT" "$ERR" >>"$S3_OUTPUTS"
expect_contains "$ERR" "before its first step; nothing was applied"
expect_contains "$ERR" "SignatureDoesNotMatch"
verdicts
expect_match "$LOG" "^deny SignatureDoesNotMatch GET /: "
grep -q '^ok' "$LOG" && e2e_bad "a request with a wrong secret got through: $(grep '^ok' "$LOG")" || e2e_ok
snapshot after.txt
expect_same before.txt after.txt
s3_same "the buckets after a forged apply" "$(s3_buckets)" "signed"

# a connection signing for another region (as a block in it would)
leave
mkdir far && enter far || exit 1
s3_config '"implements": [], "region": "eu-west-1"'
printf 'stack s3far {}\nprovider s3 store {\n  connection = "store"\n  buckets    = true\n  region     = "eu-west-1"\n}\nresource bucket far { encrypted = false }\n' >main.moksha
mark
s3_run 1 apply --yes
expect_contains "$ERR" "AuthorizationHeaderMalformed"
verdicts
expect_match "$LOG" "^deny AuthorizationHeaderMalformed GET /: signed for region eu-west-1, not us-east-1"
s3_config
leave

# what an attacker on the way might send: the proxy denies each
mark
sig() { curl -s -o /dev/null -w '%{http_code}' --aws-sigv4 aws:amz:us-east-1:s3 -u "S3RVER:$AWS_SECRET_ACCESS_KEY" "$@"; }
# a body other than the one signed
s3_same "a body changed after signing" \
    "$(printf 'evil' | sig -X PUT -H "x-amz-content-sha256: $EMPTY" --data-binary @- "$S3_ENDPOINT/signed/x")" 400
# no signature at all
s3_same "an unsigned request" "$(curl -s -o /dev/null -w '%{http_code}' -X PUT "$S3_ENDPOINT/unsigned")" 403
# a request signed right an hour ago, sent again now (a replay), and the
# same signature on another method: signed by AWS's signer here, sent by curl
signed_headers() { # METHOD PATH AGE_SECONDS: the headers, one "Name: value" a line
    NODE_PATH=$MODULES node -e '
const { SignatureV4 } = require("@smithy/signature-v4"), { Sha256 } = require("@aws-crypto/sha256-js");
const [method, path, age, port] = process.argv.slice(1);
new SignatureV4({ credentials: { accessKeyId: "S3RVER", secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY },
  region: "us-east-1", service: "s3", sha256: Sha256, uriEscapePath: false })
  .sign({ method, protocol: "http:", hostname: "127.0.0.1", port: +port, path, query: {},
          headers: { host: "127.0.0.1:" + port, "x-amz-content-sha256": process.argv[5] } },
        { signingDate: new Date(Date.now() - age * 1000) })
  .then(r => { for (const h of ["authorization", "x-amz-date"]) console.log(h + ": " + r.headers[h]); });' \
        "$1" "$2" "$3" "${S3_ENDPOINT##*:}" "$EMPTY"
}
send() { # METHOD PATH HEADERS-FILE
    curl -s -o /dev/null -w '%{http_code}' -X "$1" -H "@$3" -H "x-amz-content-sha256: $EMPTY" "$S3_ENDPOINT$2"
}
signed_headers GET / 0 >fresh.h
s3_same "a request signed by AWS's signer now" "$(send GET / fresh.h)" 200
signed_headers GET / 3600 >stale.h
s3_same "a request signed an hour ago" "$(send GET / stale.h)" 403
signed_headers GET /signed 0 >moved.h
s3_same "a signature for GET sent with DELETE" "$(send DELETE /signed moved.h)" 403
verdicts
expect_match "$LOG" "^deny XAmzContentSHA256Mismatch PUT /signed/x"
expect_match "$LOG" "^deny AccessDenied PUT /unsigned: not signed"
expect_match "$LOG" "^ok GET /$"
expect_match "$LOG" "^deny RequestTimeTooSkewed GET /"
expect_match "$LOG" "^deny SignatureDoesNotMatch DELETE /signed"
s3_same "the bucket after the forgeries" "$(s3_buckets)" "signed"
s3_same "its objects after the forgeries" "$(s3_keys signed | tr '\n' ' ')" ".moksha-owner "

# every bucket API's request is signed right, though s3rver implements
# none of them: a connection listing each in turn, a bucket asking for
# what it sets; the step fails on the server's answer, never the signature
api_case() { # API QUERY ATTRIBUTES
    s3_config "\"implements\": [\"$1\"], \"vouches\": {\"encrypted\": true}"
    printf 'stack s3api {}\nprovider s3 store {\n  connection = "store"\n  buckets    = true\n}\nresource bucket api { %s }\n' "$3" >main.moksha
    mark
    s3_run 4 apply --yes
    verdicts
    expect_match "$LOG" "^ok [A-Z]+ /api\\?$2="
    grep -q '^deny' "$LOG" && e2e_bad "$1: a request was denied: $(grep '^deny' "$LOG")" || e2e_ok
}
mkdir apis && enter apis || exit 1
api_case tagging tagging 'tags = { team = "media" }'
api_case encryption encryption 'encrypted = true'
api_case versioning versioning 'versioning = true'
api_case public_access_block publicAccessBlock 'public_access_block = true'
api_case policy policy 'public = true'
api_case public_access acl 'public = true'
s3_config
s3_same "the buckets after the API cases" "$(s3_buckets)" "signed"
leave

enter app || exit 1
s3_run 0 destroy --yes
leave
s3_leak_check
