# test_trust_service.sh — trust mode the whole way (docs/trust.md): an
# executor service running as its own user, with its own keys, a trust file
# signed by two of three roots, and a submitter — another user — who holds
# only a planner key. The planner signs with Ed25519 and seals its secret
# to the key the service reports; the service applies, streams progress,
# rolls back on Ctrl-C; the submitter cannot read the service's environment,
# keys or configuration; a plan signed by an untrusted, a revoked or a
# wrong-role key, an HMAC plan and the bare --approve are refused; a trust
# file with a lower version, an expired one or one signed below threshold is
# refused; the planner's key and an executor of the submitter's own cannot
# open the sealed secret; and a sealed secret moved to another attribute
# fails to open. Needs root (useradd, setpriv): skipped otherwise.
SERVE_TEST=test_trust_service
. "$TOP/tests/e2e/serve_lib.sh"

ADM=$BASE/admin
mkdir -p "$ADM" "$BASE/sub/keys" && chmod 700 "$ADM"
# the roots' and the others' keys, made as their holders would make them
for k in r1 r2 r3 carol mallory; do
    "$MOKSHA" key new "$k" --dir "$ADM" >/dev/null || fail "key new $k"
done
"$MOKSHA" key new alice --dir "$BASE/sub/keys" >/dev/null || fail "key new alice"
pub() { cut -d' ' -f1 "$1"; }
ALICE=$(pub "$BASE/sub/keys/alice.pub")

# trust VERSION EXPIRES SIGNER...: the trust file, planners alice and carol
# (carol revoked), roots r1 r2 r3 (any two), signed by SIGNER...
trust() {
    printf '{"version": %s, "expires": "%s",\n "roots": {"threshold": 2, "keys": ["%s", "%s", "%s"]},\n "planners": {"alice": "%s", "carol": "%s"},\n "revoked": ["%s"]}\n' \
        "$1" "$2" "$(pub "$ADM/r1.pub")" "$(pub "$ADM/r2.pub")" "$(pub "$ADM/r3.pub")" "$ALICE" \
        "$(pub "$ADM/carol.pub")" "$(pub "$ADM/carol.pub")" >"$ADM/trust.json"
    shift 2
    for s in "$@"; do
        "$MOKSHA" trust sign "$ADM/trust.json" --key "$ADM/$s.key" >/dev/null || fail "trust sign --key $s"
    done
    install_trust
}
install_trust() {
    cp "$ADM/trust.json" "$BASE/etc/trust.json"
    chown "$SVC:$SVC" "$BASE/etc/trust.json"
}
# expired_trust VERSION: an expired trust file signed by r1 and r2 by hand
# (`moksha trust sign` refuses to sign one)
expired_trust() {
    trust "$1" 2099-01-01T00:00:00Z
    sed 's/2099-01-01T00:00:00Z/2020-01-01T00:00:00Z/' "$ADM/trust.json" | tr -d '\n' >"$ADM/payload"
    sigs=
    for k in r1 r2; do
        { printf 'moksha-signature/v1\000trust\000'; cat "$ADM/payload"; } >"$ADM/msg"
        sigs="$sigs${sigs:+,}{\"key\":\"$(pub "$ADM/$k.pub")\",\"value\":\"$(openssl pkeyutl -sign -rawin -inkey "$ADM/$k.key" -in "$ADM/msg" | base64 -w0)\"}"
    done
    printf '{"format":"moksha.trust/v1","payload":"%s","signatures":[%s]}\n' "$(sed 's/"/\\"/g' "$ADM/payload")" "$sigs" >"$ADM/trust.json"
    install_trust
}

# the service's configuration: trust on, its keys in a directory of its own
mkdir -p "$BASE/svckeys"
printf '{"format": "moksha.exec-config/v1",\n "trust": {"file": "%s", "keys": "%s",\n  "roots": {"threshold": 2, "keys": ["%s", "%s", "%s"]}},\n "service": {"socket": "%s", "group": "%s", "mode": "0660", "stacks": "%s"}}\n' \
    "$BASE/etc/trust.json" "$BASE/svckeys" "$(pub "$ADM/r1.pub")" "$(pub "$ADM/r2.pub")" "$(pub "$ADM/r3.pub")" \
    "$SOCK" "$GRP" "$BASE/stacks" >"$BASE/etc/exec.json"
chown -R "$SVC:$SVC" "$BASE/etc" "$BASE/run" "$BASE/stacks" "$BASE/svckeys"
chmod 700 "$BASE/etc" "$BASE/stacks" "$BASE/svckeys"
chmod 600 "$BASE/etc/exec.json"
chown -R "$SUB:$SUB" "$BASE/sub"
trust 2 2099-01-01T00:00:00Z r1 r3

# as_svc CMD...: the service's user and environment, with no project key
as_svc() {
    setpriv --reuid="$SVC" --regid="$SVC" --init-groups env -i PATH=/usr/bin:/bin HOME=/nonexistent \
        MOKSHA_EXEC_CONFIG="$BASE/etc/exec.json" SIM_TOKEN=sim-secret-4f2a NO_COLOR=1 "$@"
}
# as_planner CMD...: the submitter with alice's planner key, and no project key
PW=hunter2-orchid-41 NOTE=public
as_planner() {
    setpriv --reuid="$SUB" --regid="$SUB" --init-groups env -i PATH=/usr/bin:/bin HOME=/nonexistent \
        MOKSHA_SHARE="$BASE/share" MOKSHA_EXEC_SOCKET="$SOCK" MOKSHA_SIGNING_KEY="$BASE/sub/keys/alice.key" \
        MOKSHA_VAR_pw="$PW" MOKSHA_VAR_note="$NOTE" NO_COLOR=1 "$@"
}

expect_exit 0 as_svc "$BASE/bin/moksha-exec" key new
SEALID=$(as_svc "$BASE/bin/moksha-exec" key show --format json | sed -n 's/.*"id": *"\([0-9a-f]*\)".*/\1/p')
[ -n "$SEALID" ] || fail "moksha-exec key show --format json gave no id"
(cd / && exec setpriv --reuid="$SVC" --regid="$SVC" --init-groups env -i PATH=/usr/bin:/bin HOME=/nonexistent \
    MOKSHA_EXEC_CONFIG="$BASE/etc/exec.json" SIM_TOKEN=sim-secret-4f2a NO_COLOR=1 \
    "$BASE/bin/moksha-exec" serve) 2>>"$BASE/serve.log" &
SP=$!
w=0
while [ ! -S "$SOCK" ] && [ $w -lt 250 ]; do sleep 0.02; w=$((w + 1)); done
[ -S "$SOCK" ] || { fail "the service did not start"; e2e_show "$BASE/serve.log" "the service's log"; exit 1; }

# ---- a secret, sealed to the key the service reports, applied there ----
mkdir -p "$BASE/sub/sec"
cat >"$BASE/sub/sec/main.moksha" <<'EOF'
stack sealed {}
var pw: secret
provider local { root = ".moksha/out" }
resource local.file db { path = "db.txt", content = var.pw }
var note: string = "public"
resource local.file pub { path = "pub.txt", content = var.note }
EOF
chown -R "$SUB:$SUB" "$BASE/sub"
enter "$BASE/sub/sec" || exit 1
expect_exit 0 as_planner "$BASE/bin/moksha" plan -o p.plan
expect_not_contains p.plan "hunter2"
expect_contains p.plan '"content":{"$secret":{"to":"'"$SEALID"'","sealed":"'
expect_contains p.plan '"algorithm":"Ed25519","type":"plan","key":"'"$ALICE"'"'
[ ! -e .moksha/key ] || fail "planning with a planner key made a project key"
expect_exit 0 as_planner "$BASE/bin/moksha" apply p.plan
expect_contains "$OUT" "created  local.file.db"
DIR=$(service_dir sec)
[ "$(cat "$DIR/.moksha/out/db.txt")" = "hunter2-orchid-41" ] || fail "the service's provider did not get the secret's text"
expect_contains "$DIR/.moksha/state.json" '"fingerprint_key"'
expect_not_contains "$DIR/.moksha/state.json" "hunter2"
expect_contains "$DIR/.moksha/audit.jsonl" '"signer":"alice"'
expect_exit 0 as_planner "$BASE/bin/moksha" plan --detailed-exitcode
expect_contains "$OUT" "No changes"
# state rm and unlock are the operator's in trust mode: a submitter's request carries no signature
expect_exit 1 as_planner "$BASE/bin/moksha" state rm local.file.db
expect_contains "$ERR" "in trust mode the service does not run \`state rm\`"
expect_exit 1 as_planner "$BASE/bin/moksha" state unlock some-lock
expect_contains "$ERR" "in trust mode the service does not run \`state unlock\`"
expect_contains "$DIR/.moksha/state.json" '"local.file.db"'

# ---- the submitter reads none of the service's environment, keys or configuration ----
expect_exit 1 as_planner cat "/proc/$SP/environ"
expect_exit 1 as_planner cat "$BASE/svckeys/seal.key"
expect_exit 1 as_planner cat "$BASE/etc/exec.json"
expect_exit 1 as_planner cat "$BASE/etc/trust.json"

# ---- a planner key cannot open what it sealed, nor can an executor of the submitter's own ----
expect_exit 1 as_planner openssl pkeyutl -derive -inkey "$BASE/sub/keys/alice.key" -peerkey "$BASE/sub/keys/alice.key"
mkdir -p "$BASE/sub/own/keys" "$BASE/sub/own/cfg" "$BASE/sub/own/run"
cp "$ADM/trust.json" "$BASE/sub/own/trust.json"
printf '{"format": "moksha.exec-config/v1",\n "trust": {"file": "%s", "keys": "%s",\n  "roots": {"threshold": 2, "keys": ["%s", "%s", "%s"]}}}\n' \
    "$BASE/sub/own/trust.json" "$BASE/sub/own/keys" "$(pub "$ADM/r1.pub")" "$(pub "$ADM/r2.pub")" "$(pub "$ADM/r3.pub")" \
    >"$BASE/sub/own/cfg/exec.json"
chown -R "$SUB:$SUB" "$BASE/sub/own"
chmod -R go-rwx "$BASE/sub/own"
mkdir -p "$BASE/sub/own/run/.moksha"
cp .moksha/stack-id "$BASE/sub/own/run/.moksha/" && cp p.plan "$BASE/sub/own/run/p.plan"
chown -R "$SUB:$SUB" "$BASE/sub/own/run"
own_exec() {
    (cd "$BASE/sub/own/run" && setpriv --reuid="$SUB" --regid="$SUB" --init-groups env -i PATH=/usr/bin:/bin \
        HOME=/nonexistent MOKSHA_EXEC_CONFIG="$BASE/sub/own/cfg/exec.json" NO_COLOR=1 "$BASE/bin/moksha-exec" "$@")
}
own_exec key new >/dev/null || fail "the submitter's own moksha-exec key new"
expect_exit 1 own_exec apply p.plan
expect_contains "$ERR" "local.file.db"
[ ! -e "$BASE/sub/own/run/.moksha/out/db.txt" ] || fail "an executor of the submitter's own opened the secret"

# ---- a sealed secret moved to another attribute fails to open ----
PW=second-secret-77 NOTE=public2
expect_exit 0 as_planner "$BASE/bin/moksha" plan -o q.plan
sealed=$(sed -n 's/.*"content":\({"$secret":{"to":"[0-9a-f]*","sealed":"[^"]*"[^}]*}}\).*/\1/p' q.plan)
[ -n "$sealed" ] || fail "q.plan: no sealed content"
expect_contains q.plan '"content":"public2"'
e2e_resign q.plan "$BASE/sub/keys/alice.key" moved.plan "s|\"content\":\"public2\"|\"content\":$sealed|" ||
    fail "re-signing q.plan"
chown "$SUB:$SUB" moved.plan
expect_exit 1 as_planner "$BASE/bin/moksha" apply moved.plan
expect_contains "$ERR" "local.file.pub"
[ "$(cat "$DIR/.moksha/out/pub.txt")" = "public" ] || fail "a moved secret reached pub.txt"
[ "$(cat "$DIR/.moksha/out/db.txt")" = "hunter2-orchid-41" ] || fail "a refused plan changed db.txt"
# the same plan, signed as it was made, applies: the refusal was the move
expect_exit 0 as_planner "$BASE/bin/moksha" apply q.plan
[ "$(cat "$DIR/.moksha/out/db.txt")" = "second-secret-77" ] || fail "q.plan did not update db.txt"

# ---- plans the executor refuses: untrusted, revoked, wrong role, HMAC, bare --approve ----
PW=third-secret-99
expect_exit 0 as_planner "$BASE/bin/moksha" plan -o r.plan
for k in mallory carol r1; do
    e2e_resign r.plan "$ADM/$k.key" "$k.plan" || fail "re-signing as $k"
    chown "$SUB:$SUB" "$k.plan"
done
expect_exit 1 as_planner "$BASE/bin/moksha" apply mallory.plan
expect_contains "$ERR" "does not list"
expect_exit 1 as_planner "$BASE/bin/moksha" apply carol.plan
expect_contains "$ERR" "revokes"
expect_exit 1 as_planner "$BASE/bin/moksha" apply r1.plan
expect_contains "$ERR" "wrong role"
expect_exit 1 as_planner "$BASE/bin/moksha" apply r.plan --approve storage-encrypted
expect_contains "$ERR" "--approve"
setpriv --reuid="$SUB" --regid="$SUB" --init-groups env -i PATH=/usr/bin:/bin HOME=/nonexistent \
    MOKSHA_SHARE="$BASE/share" MOKSHA_EXEC_SOCKET="$SOCK" MOKSHA_KEY=$KEY MOKSHA_VAR_pw=x-secret-1234 \
    NO_COLOR=1 "$BASE/bin/moksha" plan -o hmac.plan >/dev/null 2>"$WORK/hmac.err" || fail "an HMAC plan could not be made"
expect_exit 1 as_planner "$BASE/bin/moksha" apply hmac.plan
expect_contains "$ERR" "HMAC"
[ "$(cat "$DIR/.moksha/out/db.txt")" = "second-secret-77" ] || fail "a refused plan changed db.txt"

# ---- trust files the executor refuses: a lower version, expired, below threshold ----
trust 1 2099-01-01T00:00:00Z r1 r2
expect_exit 1 as_planner "$BASE/bin/moksha" apply r.plan
expect_contains "$ERR" "version"
expired_trust 3
expect_exit 1 as_planner "$BASE/bin/moksha" apply r.plan
expect_contains "$ERR" "expired"
trust 3 2099-01-01T00:00:00Z r2
expect_exit 1 as_planner "$BASE/bin/moksha" apply r.plan
expect_contains "$ERR" "threshold"
[ "$(cat "$DIR/.moksha/out/db.txt")" = "second-secret-77" ] || fail "a plan under a refused trust file changed db.txt"
trust 3 2099-01-01T00:00:00Z r2 r3
expect_exit 0 as_planner "$BASE/bin/moksha" apply r.plan
[ "$(cat "$DIR/.moksha/out/db.txt")" = "third-secret-99" ] || fail "r.plan under trust version 3 did not apply"
leave

# ---- Ctrl-C: the service rolls back a planner-signed apply ----
make_stack slow 400ms 4
enter "$BASE/sub/slow" || exit 1
: >"$WORK/out"
(exec setpriv --reuid="$SUB" --regid="$SUB" --init-groups env -i PATH=/usr/bin:/bin HOME=/nonexistent \
    MOKSHA_SHARE="$BASE/share" MOKSHA_EXEC_SOCKET="$SOCK" MOKSHA_SIGNING_KEY="$BASE/sub/keys/alice.key" NO_COLOR=1 \
    "$BASE/bin/moksha" apply --yes) >"$WORK/out" 2>"$WORK/err" </dev/null &
CP=$!
w=0
while ! grep -q "created  network.n" "$WORK/out" && [ $w -lt 500 ]; do sleep 0.02; w=$((w + 1)); done
kill -INT "$CP"
wait "$CP"
rc=$?
[ "$rc" -eq 4 ] || { fail "SIGINT to a planner-signed apply through the service: exit $rc, expected 4"; e2e_show "$WORK/err" stderr; }
expect_contains "$WORK/out" "Rolled back"
expect_exit 0 as_svc "$BASE/bin/moksha-exec" -C "$(service_dir slow)" state list
expect_empty "$OUT"
leave
kill -TERM "$SP" && wait "$SP"
SP=
