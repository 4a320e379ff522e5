# test_drift_service.sh — refresh, drift, plan --refresh and reconcile with
# MOKSHA_EXEC_SOCKET set (docs/cli.md): each runs in the executor service,
# on the world and the state it holds for this stack — drift reports the
# service's world and writes nothing there, refresh records there, plan
# --refresh plans from the service's observations, reconcile applies
# there — and nothing of the local directory is read or written but the
# stack id. Needs root (serve_lib.sh).
SERVE_TEST=test_drift_service
. "$TOP/tests/e2e/serve_lib.sh"
if ! "$MOKSHA_EXEC" --help | grep -q '^  refresh '; then
    fail "moksha-exec has no refresh"
    exit 1
fi

service_config 0660
start_service
make_stack one 1ms 2
enter "$BASE/sub/one" || exit 1
expect_exit 0 as_submitter "$BASE/bin/moksha" apply --yes
DIR=$(service_dir one)
expect_exit 0 as_submitter "$BASE/bin/moksha" drift && expect_contains "$OUT" "No drift: all 3 resources read back as recorded."

# the service's world changed behind its back
expect_exit 0 as_service "$BASE/bin/moksha-exec" -C "$DIR" sim set compute.c1 'image="app:7"'
lines=$(wc -l <"$DIR/.moksha/audit.jsonl")
expect_exit 2 as_submitter "$BASE/bin/moksha" drift
expect_contains "$OUT" '~ compute.c1 changed outside moksha: image "app:1" → "app:7"'
expect_exit 2 as_submitter "$BASE/bin/moksha" drift --format json &&
    [ "$(jq -c '[.dry_run, .counts.drifted, [.resources[].address]]' "$OUT")" = '[true,1,["compute.c1"]]' ] ||
    e2e_bad "the service's drift report: $(cat "$OUT")"
[ ! -e "$DIR/.moksha/observed.json" ] && e2e_ok || e2e_bad "drift through the service recorded an observation"
[ "$(wc -l <"$DIR/.moksha/audit.jsonl")" = "$lines" ] && e2e_ok || e2e_bad "drift through the service wrote to its log"

# refresh records there, and only there
expect_exit 0 as_submitter "$BASE/bin/moksha" refresh
expect_file "$DIR/.moksha/observed.json"
[ ! -e .moksha/observed.json ] && e2e_ok || e2e_bad "a refresh through the service wrote a local observed.json"

# plans that show drift and the guarded steps' replace are other parts: without them, stop here
printf 'provider local { root = "o" }\nresource local.file f {\n  path = "f"\n  lifecycle { drift = "report" }\n}\n' >"$WORK/needs.moksha"
if ! "$MOKSHA" check "$WORK/needs.moksha" >/dev/null 2>&1 || ! "$MOKSHA_EXEC" --help | grep -q '^  state .*| mv FROM TO'; then
    fail "plans that show drift or the guarded steps are not built in: reconcile and plan --refresh not checked"
    leave
    stop_service
    exit 1
fi

# reconcile: the service plans' inputs, its apply; the image is put back (a replace: high, held at low)
expect_exit 3 as_submitter "$BASE/bin/moksha" reconcile
expect_contains "$OUT" "reconcile: cycle 1: 1 changed, 0 gone, 0 unreadable; 1 change planned"
expect_exit 0 as_submitter "$BASE/bin/moksha" reconcile --auto-approve-risk high
expect_contains "$OUT" "applied (exit 0)"
expect_exit 0 as_service "$BASE/bin/moksha-exec" -C "$DIR" sim show compute.c1 &&
    [ "$(jq -r .attributes.image "$OUT")" = app:1 ] || e2e_bad "compute.c1 in the service's world: $(cat "$OUT")"
expect_exit 0 as_submitter "$BASE/bin/moksha" drift
expect_exit 0 as_submitter "$BASE/bin/moksha" plan --refresh --detailed-exitcode
[ "$(jq -c '[.[] | select(.event == "refresh") | .by]' -s "$DIR/.moksha/audit.jsonl")" = '["refresh","reconcile","reconcile","refresh"]' ] ||
    e2e_bad "the service's refresh entries: $(jq -c '[.[] | select(.event == "refresh") | .by]' -s "$DIR/.moksha/audit.jsonl")"
expect_exit 0 as_service "$BASE/bin/moksha-exec" -C "$DIR" audit verify
leave
stop_service
