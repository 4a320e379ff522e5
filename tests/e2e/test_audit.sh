# test_audit.sh — the audit log as an auditor and an attacker see it: every
# run's last entry carries the exit code the process returned; `audit show`
# names the policy, gate, address, override reason and who ran it; the head is
# keyed and the state names the last entry written with it, so a log cut short
# (with or without a forged head), a NUL, a torn last line, a missing head or
# log are reported by `verify` and refused by the executor; a damaged lock
# file can be cleared.
. "$TOP/tests/e2e/lib.sh"

# last_code: the exit_code of the log's last entry
last_code() { tail -n 1 .moksha/audit.jsonl | sed -n 's/.*"exit_code":\([0-9]*\).*/\1/p'; }
# expect_last_code N WHAT
expect_last_code() {
    got=$(last_code)
    [ "$got" = "$1" ] && { e2e_ok; return 0; }
    e2e_bad "$2: the audit log's last entry has exit_code '${got}', the run exited $1"
    tail -n 2 .moksha/audit.jsonl | sed 's/^/    | /'
}

# ---- the exit code of every kind of run ----
mkdir codes && cd codes
cat > main.moksha <<'M'
stack shop {
  env = "prod"
}
provider sim { latency = 5ms }
resource network main { cidr = "10.0.0.0/16" }
resource bucket logs {}
M
expect_exit 0 moksha apply --yes && expect_last_code 0 "an apply"
expect_exit 0 moksha apply --yes && expect_last_code 0 "an apply with nothing to do"
cat >> main.moksha <<'M'
resource firewall edge { network = network.main }
policy "prod-approval" {
  enforcement = hard
  for c in changes where c.type == "firewall" {
    require approval("sre") : "${c.address} changes who can reach the network"
  }
}
M
expect_exit 3 moksha apply --yes && expect_last_code 3 "an apply with a change held at a gate"
echo 'resource bucket more {}' >> main.moksha
expect_exit 0 moksha plan -o old.plan
expect_exit 0 moksha apply --yes --approve prod-approval && expect_last_code 0 "an apply through an opened gate"
expect_exit 6 moksha apply old.plan && expect_last_code 6 "a stale plan"
sed -i 's/latency = 5ms/latency = 5ms, fail_on = ["bucket.late"]/' main.moksha
echo 'resource bucket late {}' >> main.moksha
echo 'resource queue q {}' >> main.moksha
expect_exit 4 moksha apply --yes --approve prod-approval && expect_last_code 4 "a rolled-back apply"
expect_exit 5 moksha apply --yes --approve prod-approval --no-rollback && expect_last_code 5 "a failed apply kept by --no-rollback"
expect_contains .moksha/audit.jsonl '"outcome":"failed, kept","exit_code":5'
cd "$WORK"

# ---- a damaged lock file: named, and cleared by `state unlock` with the id it is given ----
mkdir locks && cd locks
printf 'provider sim {}\nresource bucket b {}\n' > main.moksha
expect_exit 0 moksha apply --yes
# damage_lock KIND: make .moksha/state.lock empty, garbage, huge, a directory, or a FIFO
damage_lock() {
    rm -rf .moksha/state.lock
    case $1 in
    empty) : > .moksha/state.lock ;;
    garbage) printf '\001\002garbage{{' > .moksha/state.lock ;;
    noid) echo '{"holder":"x"}' > .moksha/state.lock ;;
    huge) head -c 3000000 /dev/zero | tr '\0' '{' > .moksha/state.lock ;;
    directory) mkdir .moksha/state.lock ;;
    fifo) mkfifo .moksha/state.lock ;;
    esac
}
for kind in empty garbage noid huge directory fifo; do
    damage_lock $kind
    echo "resource bucket $kind {}" >> main.moksha
    expect_exit 6 moksha apply --yes && expect_contains "$ERR" "damaged lock file .moksha/state.lock"
    id=$(sed -n 's/.*moksha state unlock \(damaged-[0-9a-f]*\).*/\1/p' "$ERR")
    [ -n "$id" ] || fail "$kind lock: the error names no id to unlock it by"
    expect_exit 1 moksha state unlock damaged-000000000000 --reason "test: a damaged lock" && expect_contains "$ERR" "is unlocked with \`moksha state unlock $id\`"
    [ -e .moksha/state.lock ] || fail "$kind lock: a wrong id removed it"
    expect_exit 0 moksha state unlock "$id" --reason "test: a damaged lock" && expect_contains "$OUT" "removed the damaged lock file"
    [ ! -e .moksha/state.lock ] || fail "$kind lock: still there after state unlock"
    tail -n 1 .moksha/audit.jsonl | grep -q '"event":"lock.broken".*"damage":".*"reason":"test: a damaged lock"' || fail "$kind lock: its removal is not audited"
    expect_exit 0 moksha apply --yes
done
# a lock with an id and nothing else: removed and audited all the same
echo '{"id":"abc"}' > .moksha/state.lock
expect_exit 0 moksha state unlock abc --reason "test: no holder" && expect_empty "$ERR"
tail -n 1 .moksha/audit.jsonl | grep -q '"event":"lock.broken","lock_id":"abc"' || fail "the removal of a lock without a holder is not audited"
expect_exit 0 moksha audit verify
cd "$WORK"

# ---- the lock of a run still going is not freed from under it: two runs would write one log ----
mkdir live && cd live
{ echo 'provider sim { latency = 300ms }'; for i in 1 2 3 4 5; do echo "resource bucket b$i {}"; done; } > main.moksha
expect_exit 0 moksha plan -o p.plan
"$MOKSHA_EXEC" apply --parallelism 1 p.plan > run.out 2>&1 &
run=$!
i=0
while [ $i -lt 100 ] && ! grep -q '"id"' .moksha/state.lock 2>/dev/null; do sleep 0.05; i=$((i + 1)); done
id=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' .moksha/state.lock)
expect_exit 6 moksha state unlock "$id" --reason "test: it is not gone" && expect_contains "$ERR" "which is still running (pid $run on this host)"
expect_contains "$ERR" "nothing was unlocked"
expect_file .moksha/state.lock
wait $run || fail "the apply whose lock was kept failed: $(tail -n 3 run.out)"
expect_exit 0 moksha audit verify && expect_contains "$OUT" "chain intact"
cd "$WORK"

# ---- laundering the log: every way of hiding entries is reported and refused ----
mkdir launder && cd launder
printf 'provider sim {}\nresource bucket a {}\n' > main.moksha
expect_exit 0 moksha apply --yes
cp .moksha/audit.head head1; cp .moksha/state.json state1; cp .moksha/audit.jsonl log1
echo 'resource bucket b {}' >> main.moksha
expect_exit 0 moksha apply --yes
echo 'resource bucket c {}' >> main.moksha
expect_exit 0 moksha apply --yes
expect_exit 0 moksha audit verify && expect_contains "$OUT" "chain intact, head and state agree"
expect_contains .moksha/audit.head '"mac":"'
state_mark() { tr -d ' \n' < "$1" | sed -n 's/.*"audit":{"seq":\([0-9]*\).*/\1/p'; }
state_serial() { tr -d ' \n' < "$1" | sed -n 's/.*"serial":\([0-9]*\).*/\1/p'; }
[ -n "$(state_mark .moksha/state.json)" ] || fail "the state names no audit entry"
mkdir good && cp .moksha/audit.jsonl .moksha/audit.head .moksha/state.json .moksha/state.json.prev good/
n=$(wc -l < good/audit.jsonl)
restore() { rm -f .moksha/audit.head .moksha/state.json; cp good/audit.jsonl good/audit.head good/state.json .moksha/; }
# refused WHAT TEXT: verify reports TEXT, an apply refuses (exit 1) saying it, the log is untouched
refused() {
    expect_exit 1 moksha audit verify && expect_contains "$OUT" "BROKEN: " && expect_contains "$OUT" "$2"
    cp .moksha/audit.jsonl before.jsonl 2>/dev/null || rm -f before.jsonl
    echo "resource bucket x$E2E_CHECKS {}" >> main.moksha
    expect_exit 1 moksha apply --yes && expect_contains "$ERR" "$2" && expect_contains "$ERR" "nothing will be appended"
    if [ -f before.jsonl ]; then cmp -s before.jsonl .moksha/audit.jsonl || fail "$1: the apply appended to the log"; fi
    restore
}
# the last entries and the head deleted
head -n $((n - 3)) good/audit.jsonl > .moksha/audit.jsonl; rm .moksha/audit.head
refused "cut, head deleted" "the head file .moksha/audit.head is missing, but the log has $((n - 3)) entries"
# the head garbled
echo 'garbage' > .moksha/audit.head
refused "garbled head" "the head file .moksha/audit.head is damaged, or was not written with this key"
# three entries cut and a new head written by hand (with and without a MAC)
head -n $((n - 3)) good/audit.jsonl > .moksha/audit.jsonl
h=$(tail -n 1 .moksha/audit.jsonl | tr -d '\n' | sha256sum | cut -c1-64)
echo "{\"seq\":$((n - 3)),\"hash\":\"$h\"}" > .moksha/audit.head
refused "hand-written head" "its MAC does not match"
echo "{\"seq\":$((n - 3)),\"hash\":\"$h\",\"mac\":\"$h\"}" > .moksha/audit.head
refused "hand-written head with a MAC" "its MAC does not match"
# the head of another key
cp good/audit.head .moksha/
expect_exit 1 env MOKSHA_KEY=a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0 "$MOKSHA" audit verify && expect_contains "$OUT" "not written with this key"
# an older, genuine head put back over a log cut to it: the state names a later entry
head -n "$(wc -l < log1)" good/audit.jsonl > .moksha/audit.jsonl; cp head1 .moksha/audit.head
refused "replayed head" "the state names audit entry $(state_mark good/state.json), but the log has only"
# log and head both deleted: the state still names an entry
rm .moksha/audit.jsonl .moksha/audit.head
refused "log and head deleted" "the state names audit entry"
# the log deleted, its head kept
rm .moksha/audit.jsonl
refused "log deleted" "the audit log is missing, but its head names entry $n"
# a NUL, and bytes after it
printf '\000{"format":"moksha.audit/v1","seq":99}\n' >> .moksha/audit.jsonl
refused "NUL at the end" "byte $(wc -c < good/audit.jsonl) (in line $((n + 1))) is a NUL byte"
sed -i '2s/"seq"/"se\x00q"/' .moksha/audit.jsonl
refused "NUL inside a line" "(in line 2) is a NUL byte"
# a log cut mid-line: reported, never extended
head -c $(($(wc -c < good/audit.jsonl) - 20)) good/audit.jsonl > .moksha/audit.jsonl
expect_exit 0 moksha audit show && expect_contains "$OUT" "(the log holds a torn last line: it is damaged"
refused "torn last line" "line $n is torn"
# not files at all: a directory or a FIFO in the log's, the head's or the state's place is refused, never waited on
rm .moksha/audit.jsonl; mkdir .moksha/audit.jsonl
expect_exit 1 timeout 20 "$MOKSHA" apply --yes && expect_contains "$ERR" "cannot read the audit log .moksha/audit.jsonl: Is a directory"
rmdir .moksha/audit.jsonl; restore
rm .moksha/audit.head; mkfifo .moksha/audit.head
refused "FIFO head" "the head file .moksha/audit.head is damaged"
rm .moksha/state.json; mkfifo .moksha/state.json
expect_exit 1 timeout 20 "$MOKSHA_EXEC" state list && expect_contains "$ERR" "state.json: not a regular file"
rm .moksha/state.json; restore
# an older state put back under the current log and head (state.json.prev, or a copy kept): an old plan
# made against it would run again; the head names the serial of the state written with it
cp state1 .moksha/state.json
refused "older state" "the state is older than the log: its serial is $(state_serial state1), but the head"
cp good/state.json.prev .moksha/state.json
refused "state.json.prev put back" "the state is older than the log"
rm .moksha/state.json
refused "state deleted" "the state is older than the log: its serial is 0"
# the state's audit record removed, with the log and head: the state still says an executor wrote it
sed -i '/"audit"/,/}/d' .moksha/state.json; rm .moksha/audit.jsonl .moksha/audit.head
expect_not_contains .moksha/state.json '"audit"'
refused "audit record, log and head removed" "names no audit entry, but every state the executor writes names"
# an older genuine head and state put back over the longer log: the entries after the head span runs
cp head1 .moksha/audit.head; cp state1 .moksha/state.json
refused "older head and state" "the entries after it are from more than one run"
# a crash between writing entries and moving the head: whole entries of one run after the head are
# accepted, then covered
l1=$(wc -l < log1)
head -n "$((l1 + 2))" good/audit.jsonl > .moksha/audit.jsonl; cp head1 .moksha/audit.head; cp state1 .moksha/state.json
expect_exit 0 moksha audit verify && expect_contains "$OUT" "after the head: a run stopped before it moved the head"
expect_exit 0 moksha apply --yes && expect_contains "$ERR" "the audit log holds 2 entries after its head"
expect_contains .moksha/audit.jsonl "\"event\":\"audit.adopted\",\"from_seq\":$((l1 + 1)),\"to_seq\":$((l1 + 2))"
expect_exit 0 moksha audit verify && expect_not_contains "$OUT" "after the head"
cd "$WORK"

# ---- audit show: policy, gate, address, override reason and who, in text and JSON ----
mkdir show && cd show
cat > main.moksha <<'M'
stack shop {
  env = "prod"
}
provider sim {}
resource network main { cidr = "10.0.0.0/16" }
resource firewall edge { network = network.main }
resource bucket assets { public = true }
policy "no-public-buckets-here" {
  enforcement = soft
  for c in changes where c.type == "bucket" && c.after != null && c.after.public {
    assert false : "${c.address} is public"
  }
}
policy "prod-approval" {
  enforcement = hard
  for c in changes where c.type == "firewall" {
    require approval("sre") : "${c.address} changes who can reach the network"
  }
}
M
expect_exit 0 moksha plan --override no-public-buckets-here --reason 'static site; "public" by design' -o p.plan
expect_exit 0 env GITHUB_ACTOR=octocat GITHUB_RUN_ID=4242 "$MOKSHA" apply --approve prod-approval:firewall.edge p.plan
me="$(id -un)@$(hostname)"
expect_exit 0 moksha audit show
expect_match "$OUT" "policy.override +policy=no-public-buckets-here enforcement=soft reason=\"static site; \\\\\"public\\\\\" by design\" .*GITHUB_ACTOR=octocat .*who=$me"
expect_match "$OUT" "gate.approved +policy=prod-approval group=sre address=firewall.edge by=--approve .*who=$me"
expect_match "$OUT" "lock .*holder=.*user=$(id -un) host=$(hostname) pid=[0-9]+.* GITHUB_ACTOR=octocat GITHUB_RUN_ID=4242"
expect_match "$OUT" "step .*address=bucket.assets action=create status=ok"
expect_match "$OUT" "unlock .*exit_code=0 .*who=$me"
expect_exit 0 moksha audit show --format json
expect_contains "$OUT" '"event": "policy.override"'
expect_contains "$OUT" '"reason": "static site; \"public\" by design"'
expect_contains "$OUT" '"event": "gate.approved"'
expect_contains "$OUT" '"group": "sre"'
expect_contains "$OUT" "\"user\": \"$(id -un)\""
expect_contains "$OUT" '"GITHUB_ACTOR": "octocat"'
expect_exit 1 moksha audit show --format yaml
cd "$WORK"
