# test_apply_cbd.sh — lifecycle { create_before_destroy = true }: the
# replacement is made first, what depends on it moves to it, and only then is
# the old object deleted (retired); a failure rolls everything back to the old
# object with its old id; an object left set aside (--no-rollback, kill -9)
# comes back in the next plan as a deposed delete and is cleaned up.
. "$TOP/tests/e2e/lib.sh"

mkdir stack && cd stack

stack() { # stack IMAGE FAIL_ON LATENCY
    cat > main.moksha <<M
provider local { root = ".moksha/out" }
provider sim { latency = ${3:-5ms}, fail_on = [$2] }
resource network main { cidr = "10.0.0.0/16" }
resource compute web {
  cpu     = 2
  memory  = 4GiB
  image   = "$1"
  network = network.main
  lifecycle { create_before_destroy = true }
}
resource load_balancer front {
  network = network.main
  targets = [compute.web]
  tags    = { web_ip = compute.web.ip, web_id = compute.web.id }
}
resource local.file conf {
  path    = "conf-$1.txt"
  content = "upstream \${compute.web.ip}\n"
  lifecycle { create_before_destroy = true }
}
M
}

web_id() { "$MOKSHA_EXEC" state show compute.web | sed -n 's/.*"id": "\([^"]*\)".*/\1/p' | head -n 1; }

stack app-1 ""
expect_exit 0 moksha apply --yes
expect_exit 0 moksha plan --detailed-exitcode
old_id=$(web_id)
[ -n "$old_id" ] || fail "no id for compute.web in the state"

# ---- the replacement first, the dependents next, the old object last ----
stack app-2 ""
expect_exit 2 moksha plan --detailed-exitcode
expect_contains "$OUT" "compute.web (create before destroy)"
expect_contains "$OUT" "local.file.conf (create before destroy)"
expect_exit 0 moksha apply --yes
expect_contains "$OUT" "retired  compute.web"
expect_contains "$OUT" "1 updated, 2 replaced"
new_id=$(web_id)
[ "$new_id" != "$old_id" ] || fail "compute.web kept its id through a replace"
# in the audit log: replace of web, then the update of front, then the retire
seq_of() { grep "\"address\":\"$1\",\"action\":\"$2\",\"status\":\"ok\"" .moksha/audit.jsonl | tail -n 1 | sed 's/.*"seq":\([0-9]*\).*/\1/'; }
r=$(seq_of compute.web replace); u=$(seq_of load_balancer.front update); d=$(seq_of compute.web retire)
[ -n "$r" ] && [ -n "$u" ] && [ -n "$d" ] && [ "$r" -lt "$u" ] && [ "$u" -lt "$d" ] ||
    fail "expected replace < update of front < retire in the audit log, got $r, $u, $d"
grep -q "\"deposed_id\":\"$old_id\"" .moksha/audit.jsonl || fail "the retire does not name the old id $old_id"
expect_exit 0 "$MOKSHA_EXEC" state show load_balancer.front && expect_contains "$OUT" "\"web_id\": \"$new_id\""
ls .moksha/sim | grep -q '~' && fail "an object set aside is still in the sim world"
[ -f .moksha/out/conf-app-2.txt ] || fail "the new local file is missing"
[ -f .moksha/out/conf-app-1.txt ] && fail "the old local file was not deleted"
expect_exit 0 moksha plan --detailed-exitcode
expect_not_contains .moksha/state.json '"deposed"'

# ---- a failure after the replacement: all back, the old object keeps its id ----
snapshot before.txt
stack app-3 '"load_balancer.front"'
expect_exit 4 moksha apply --yes && expect_contains "$OUT" "restore"
snapshot after.txt
expect_same before.txt after.txt
[ "$(web_id)" = "$new_id" ] || fail "after the rollback compute.web is $(web_id), not $new_id"
expect_exit 0 moksha audit verify

# ---- --no-rollback leaves the old object set aside; the next plan deletes it ----
expect_exit 5 moksha apply --yes --no-rollback --parallelism 1
expect_contains .moksha/state.json '"deposed"'
stack app-3 ""
expect_exit 2 moksha plan --detailed-exitcode
expect_contains "$OUT" "deposed object $new_id"
expect_exit 0 moksha apply --yes && expect_contains "$OUT" "deleted"
expect_not_contains .moksha/state.json '"deposed"'
ls .moksha/sim | grep -q '~' && fail "the deposed object is still in the sim world"
expect_exit 0 moksha plan --detailed-exitcode

# ---- kill -9 between the replacement and the retire ----
stack app-4 "" 400ms
moksha plan -o p.plan > /dev/null
"$MOKSHA_EXEC" apply p.plan > apply.log 2>&1 &
pid=$!
i=0
while [ $i -lt 100 ] && ! grep -q '"deposed"' .moksha/state.json 2>/dev/null; do sleep 0.05; i=$((i + 1)); done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
grep -q '"deposed"' .moksha/state.json || fail "the state never recorded the object set aside"
expect_exit 0 moksha state unlock "$(sed -n 's/.*"id": *"\([^"]*\)".*/\1/p' .moksha/state.lock)"
stack app-4 ""
expect_exit 0 moksha apply --yes
expect_not_contains .moksha/state.json '"deposed"'
expect_exit 0 moksha plan --detailed-exitcode
[ "$(ls .moksha/sim | grep -c '^compute')" = 1 ] || fail "expected one compute object in the sim world: $(ls .moksha/sim)"
expect_exit 0 moksha audit verify

# ---- a deposed object left behind stays accounted for whatever else happens ----
leave_deposed() { # IMAGE: a replace whose dependent fails, kept with --no-rollback
    stack "$1" '"load_balancer.front"'
    expect_exit 5 moksha apply --yes --no-rollback --parallelism 1
    expect_contains .moksha/state.json '"deposed"'
}
aside_count() { ls .moksha/sim | grep -c '~'; }

# a gate on the resource's replace holds that replace, not the deposed object's delete
leave_deposed app-5
stack app-6 ""
cat > gate.moksha <<'M'
policy "web-replace-approval" {
  for c in changes where c.type == "compute" && c.action == "replace" {
    require approval("sre") : "${c.address} is replaced"
  }
}
M
expect_exit 3 moksha apply --yes && expect_contains "$ERR" "held: replace compute.web"
rm gate.moksha
expect_exit 0 moksha apply --yes
expect_not_contains .moksha/state.json '"deposed"'
[ "$(aside_count)" = 0 ] || fail "objects set aside remain after the gate opened: $(ls .moksha/sim)"

# the deposed delete held (--auto-approve-risk low): the other change there waits too, nothing is forgotten
leave_deposed app-7
stack app-7 ""
sed -i 's/web_ip = compute.web.ip/web_ip = compute.web.ip, note = "x"/' main.moksha
expect_exit 3 moksha apply --yes --auto-approve-risk low
expect_contains .moksha/state.json '"deposed"'
[ "$(aside_count)" = 1 ] || fail "expected the deposed object still in the sim world: $(ls .moksha/sim)"
expect_exit 0 moksha apply --yes
expect_not_contains .moksha/state.json '"deposed"'
[ "$(aside_count)" = 0 ] || fail "the deposed object outlived its delete: $(ls .moksha/sim)"

# a deposed delete and a new create_before_destroy replace at one address, in one apply
leave_deposed app-8
stack app-9 ""
expect_exit 0 moksha apply --yes
expect_not_contains .moksha/state.json '"deposed"'
[ "$(aside_count)" = 0 ] || fail "an object set aside remains: $(ls .moksha/sim)"
expect_exit 0 moksha plan --detailed-exitcode

# a replacement that times out after it was made is taken back: the world is as before
snapshot before.txt
stack app-10 "" 300ms
expect_exit 4 moksha apply --yes --timeout 100ms --retries 0
snapshot after.txt
expect_same before.txt after.txt
expect_exit 0 moksha audit verify
