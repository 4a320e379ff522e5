# s3_lib.sh — an S3 emulator of its own for an e2e test: s3rver behind the
# verifying proxy (tests/s3/s3rver.sh), on loopback ports the system picks,
# stopped when the test ends whatever happens (its trap, or, killed, the
# launcher's watch on its process). Source it after lib.sh:
#   . "$TOP/tests/e2e/lib.sh"
#   . "$TOP/tests/e2e/s3_lib.sh"
# It exports AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (the executor's
# credentials: its environment, never a file), S3_ENDPOINT (the proxy),
# S3_DIRECT (s3rver itself, for changes made out of band) and writes the
# executor's configuration cfg/exec.json (MOKSHA_EXEC_CONFIG) with one
# connection `store` through the proxy. It defines
#   s3_run CODE ARG...   moksha ARG... must exit CODE; stdout and stderr also
#                        go to $S3_OUTPUTS, every output of the test in one
#                        file for the leak check
#   s3_config [JSON]     rewrite cfg/exec.json: connection store's keys beside
#                        kind and endpoint (default: "implements": [],
#                        "allow_fault_injection": true)
#   s3_buckets           the buckets s3rver holds, one line each
#   s3_keys BUCKET       the keys of its objects, one line each
#   s3_put BUCKET KEY    put an object out of band (straight to s3rver)
#   s3_same WHAT GOT WANT
#   s3_leak_check        fail if the secret is in any output, the stack's
#                        files or the emulator's logs (shown first to catch
#                        a secret planted there)
s3_settings=$(S3_OWNER_PID=$$ BUILD=$(dirname "$MOKSHA") sh "$TOP/tests/s3/s3rver.sh" start) || { fail "cannot start s3rver (tests/s3/s3rver.sh)"; exit 1; }
eval "$s3_settings"
S3_OWN=$MOKSHA_TEST_S3
s3_finish() { [ -n "$S3_OWN" ] && BUILD=$(dirname "$MOKSHA") sh "$TOP/tests/s3/s3rver.sh" stop "$S3_OWN"; S3_OWN=; }
trap 's3_finish; e2e_finish' EXIT

mkdir -p "$WORK/cfg" && chmod 700 "$WORK/cfg"
export MOKSHA_EXEC_CONFIG=$WORK/cfg/exec.json
s3_config() {
    cat >"$MOKSHA_EXEC_CONFIG" <<JSON
{ "format": "moksha.exec-config/v1",
  "connections": { "store": { "kind": "s3", "endpoint": "$S3_ENDPOINT",
    ${1:-"\"implements\": [], \"allow_fault_injection\": true"} } } }
JSON
    chmod 0600 "$MOKSHA_EXEC_CONFIG"
}
s3_config

S3_OUTPUTS=$E2E_SCRATCH/s3_outputs
: >"$S3_OUTPUTS"
s3_run() {
    _want=$1
    shift
    expect_exit "$_want" moksha "$@"
    cat "$OUT" "$ERR" >>"$S3_OUTPUTS"
}
s3_buckets() { ls "$MOKSHA_TEST_S3/data" | sort; }
s3_keys() { curl -s "$S3_DIRECT/$1?list-type=2" | grep -o '<Key>[^<]*</Key>' | sed 's/<[^>]*>//g' | sort; }
s3_put() { printf 'made by hand\n' | curl -s -o /dev/null -w '%{http_code}' -X PUT --data-binary @- "$S3_DIRECT/$1/$2" | grep -q '^200$'; }
s3_same() {
    [ "$2" = "$3" ] && { e2e_ok; return 0; }
    e2e_bad "$1 is \`$2\`, expected \`$3\`"
}
s3_leak_check() {
    # the check itself: a secret planted in a file it searches is found
    printf 'planted %s\n' "$AWS_SECRET_ACCESS_KEY" >"$MOKSHA_TEST_S3/planted"
    grep -rqF -- "$AWS_SECRET_ACCESS_KEY" "$MOKSHA_TEST_S3" && e2e_ok || e2e_bad "the leak check misses a planted secret"
    rm -f "$MOKSHA_TEST_S3/planted" "$MOKSHA_TEST_S3/secret"
    if grep -rlF -- "$AWS_SECRET_ACCESS_KEY" "$S3_OUTPUTS" "$WORK" "$MOKSHA_TEST_S3" 2>/dev/null; then
        e2e_bad "the secret access key is in the files above"
    else
        e2e_ok
    fi
    grep -q '^ok PUT' "$MOKSHA_TEST_S3/proxy.log" && e2e_ok || e2e_bad "the proxy saw no signed PUT: the leak check saw nothing"
}
