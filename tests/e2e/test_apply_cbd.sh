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

# its own id (an attribute, four spaces in), not the id beside its reference to the network
web_id() { "$MOKSHA_EXEC" state show compute.web | sed -n 's/^    "id": "\([^"]*\)".*/\1/p' | head -n 1; }

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

# ---- an object in the sim world is replaced whole, never rewritten in place ----
# (a kill -9 between the truncate and the write of an in-place update left
# load_balancer.front empty: absent to the sim, so every later update of it
# failed with "no such object" and no apply converged again)
front=.moksha/sim/load_5fbalancer.front.json
ln "$front" front.old
stack app-3 ""
sed -i 's/web_ip = compute.web.ip/web_ip = compute.web.ip, note = "y"/' main.moksha
expect_exit 0 moksha apply --yes
expect_contains "$front" '"note": "y"'
expect_not_contains front.old '"note"'
rm front.old
[ "$(ls -A .moksha/sim | grep -c '^\.')" = 0 ] || fail "a temporary is left in the sim world: $(ls -A .moksha/sim)"

# ---- kill -9 between the replacement and the retire ----
stack app-4 "" 400ms
moksha plan -o p.plan > /dev/null
"$MOKSHA_EXEC" apply p.plan > apply.log 2>&1 &
pid=$!
i=0
while [ $i -lt 600 ] && ! grep -q '"deposed"' .moksha/state.json 2>/dev/null; do sleep 0.05; i=$((i + 1)); done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
grep -q '"deposed"' .moksha/state.json || fail "the state never recorded the object set aside"
expect_exit 0 moksha state unlock "$(sed -n 's/.*"id": *"\([^"]*\)".*/\1/p' .moksha/state.lock)" --reason "test: the holder was killed"
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

# every call timing out, the guard's reads first: nothing is changed (exit 6)
snapshot before.txt
stack app-10 "" 300ms
expect_exit 6 moksha apply --yes --timeout 100ms --retries 0
expect_contains "$ERR" "compute.web: cannot be read"
snapshot after.txt
expect_same before.txt after.txt
# a replacement whose create fails is taken back: the world is as before
"$MOKSHA_EXEC" sim fail compute.web write >/dev/null
snapshot before.txt
stack app-10 ""
expect_exit 4 moksha apply --yes && expect_contains "$ERR" "Apply failed: compute.web"
snapshot after.txt
expect_same before.txt after.txt
"$MOKSHA_EXEC" sim fail compute.web none >/dev/null
expect_exit 0 moksha audit verify

# ---- references by address move to the replacement: targets (in a list), attachments ----
mkdir ../refs && cd ../refs || exit 1
refs() { # refs IMAGE CBD [GATE]
    cat > main.moksha <<M
provider sim { latency = 2ms }
resource network main { cidr = "10.0.0.0/16" }
resource compute web {
  cpu     = 2
  memory  = 4GiB
  image   = "$1"
  network = network.main
  lifecycle { create_before_destroy = $2 }
}
resource load_balancer front {
  network = network.main
  targets = [compute.web]
}
resource volume data {
  size        = 10GiB
  attached_to = compute.web
}
M
    if [ -n "${3:-}" ]; then
        cat > gate.moksha <<'M'
policy "disk-approval" {
  for c in changes where c.type == "volume" && c.action == "update" {
    require approval("storage") : "${c.address} is re-attached"
  }
}
M
    else
        rm -f gate.moksha
    fi
}
# the id each referrer holds for compute.web, in the state and in the sim world
points_at() { # ADDRESS FILE: the ids next to "$ref": "compute.web", one per line
    "$MOKSHA_EXEC" state show "$1" | grep -A1 '"\$ref": "compute.web"' | sed -n 's/.*"id": "\([^"]*\)".*/\1/p' | sort -u
}
world_points_at() { grep -A1 '"\$ref": "compute.web"' ".moksha/sim/$1.json" | sed -n 's/.*"id": "\([^"]*\)".*/\1/p' | sort -u; }

refs img-1 true
expect_exit 0 moksha apply --yes
id1=$(web_id)
[ "$(points_at load_balancer.front)" = "$id1" ] || fail "the load balancer's target is $(points_at load_balancer.front), not $id1"
[ "$(world_points_at volume.data)" = "$id1" ] || fail "the sim's volume is attached to $(world_points_at volume.data), not $id1"
expect_exit 0 moksha plan --detailed-exitcode

for cbd in true false; do
    refs "img-2-$cbd" $cbd
    expect_exit 2 moksha plan --detailed-exitcode
    expect_contains "$OUT" "attached_to = compute.web → (known after apply)"
    expect_contains "$OUT" "targets = [compute.web] → (known after apply)"
    expect_exit 0 moksha apply --yes
    id2=$(web_id)
    [ "$id2" != "$id1" ] || fail "compute.web kept its id through a replace (cbd $cbd)"
    for r in load_balancer.front volume.data; do
        [ "$(points_at $r)" = "$id2" ] || fail "$r points at $(points_at $r), not the new $id2 (cbd $cbd)"
    done
    [ "$(world_points_at load_5fbalancer.front)" = "$id2" ] || fail "the sim's load balancer targets $(world_points_at load_5fbalancer.front) (cbd $cbd)"
    [ "$(world_points_at volume.data)" = "$id2" ] || fail "the sim's volume is attached to $(world_points_at volume.data) (cbd $cbd)"
    expect_exit 0 moksha plan --detailed-exitcode
    id1=$id2
done

# ---- a dependent held at a gate keeps the old object alive until it moves ----
refs img-3 true gate
expect_exit 3 moksha apply --yes
expect_contains "$ERR" "held: update volume.data"
expect_contains "$ERR" "compute.web: the old object stays"
expect_not_contains "$OUT" "retired  compute.web"
[ "$(ls .moksha/sim | grep -c '^compute.web~')" = 1 ] || fail "the old object of compute.web was retired under a held dependent: $(ls .moksha/sim)"
expect_contains .moksha/state.json '"deposed"'
[ "$(world_points_at volume.data)" = "$id1" ] || fail "the held volume moved: $(world_points_at volume.data)"
grep -q "\"id\": \"$id1\"" .moksha/sim/compute.web~*.json || fail "the object the held volume points at is not the one set aside"
expect_exit 2 moksha plan --detailed-exitcode && expect_contains "$OUT" "deposed object $id1"
expect_exit 0 moksha apply --yes --approve disk-approval
id3=$(web_id)
[ "$(world_points_at volume.data)" = "$id3" ] || fail "the volume did not move to $id3 once approved"
expect_not_contains .moksha/state.json '"deposed"'
if ls .moksha/sim | grep -q '~'; then fail "the old object outlived its dependents: $(ls .moksha/sim)"; fi
expect_exit 0 moksha plan --detailed-exitcode
expect_exit 0 moksha audit verify
