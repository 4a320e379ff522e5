# test_sim_tool.sh — `moksha-exec sim` changes the simulated cloud out of
# band, as a colleague with console access would (docs/providers.md): ls,
# show, set, unset, rm, put (no owner, prints the id, the id and computed
# attributes a create makes), fail; in the stack directory or with -C; it
# takes no lock and writes nothing but .moksha/sim (the state and the audit
# log stay byte for byte).
. "$TOP/tests/e2e/lib.sh"

mkdir stack && cd stack || exit 1
cat > main.moksha <<'M'
provider sim { latency = 1ms }
resource network main { cidr = "10.0.0.0/16" }
resource compute web {
  cpu     = 2
  memory  = 4GiB
  image   = "app-1"
  network = network.main
}
M
expect_exit 0 moksha apply --yes
cp .moksha/state.json ../state.before
cp .moksha/audit.jsonl ../audit.before
web_id=$(sed -n 's/^ "id": "\(.*\)",$/\1/p' .moksha/sim/compute.web.json)
[ -n "$web_id" ] && e2e_ok || e2e_bad "no id in the sim's compute.web"

expect_exit 0 "$MOKSHA_EXEC" sim ls
[ "$(wc -l < "$OUT")" -eq 2 ] && e2e_ok || e2e_bad "sim ls: two objects expected"
expect_match "$OUT" "^compute\\.web  compute  $web_id  "
expect_match "$OUT" '^network\.main  network  '

expect_exit 0 "$MOKSHA_EXEC" sim show compute.web
expect_contains "$OUT" '"address": "compute.web"'
expect_contains "$OUT" "\"id\": \"$web_id\""
expect_contains "$OUT" '"image": "app-1"'

# set: JSON, else a string; a computed attribute stays computed
expect_exit 0 "$MOKSHA_EXEC" sim set compute.web cpu=4 image=app-2 'tags={"team":"ops"}' ip=203.0.113.9
expect_exit 0 "$MOKSHA_EXEC" sim show compute.web
expect_contains "$OUT" '"cpu": 4'
expect_contains "$OUT" '"image": "app-2"'
expect_contains "$OUT" '"team": "ops"'
expect_match "$OUT" '^    "ip": "203\.0\.113\.9"'
expect_exit 1 "$MOKSHA_EXEC" sim set compute.web nonsense
expect_contains "$ERR" "expected NAME=JSON, not nonsense"

expect_exit 0 "$MOKSHA_EXEC" sim unset compute.web image tags
expect_exit 0 "$MOKSHA_EXEC" sim show compute.web
expect_not_contains "$OUT" '"image"'
expect_not_contains "$OUT" '"tags"'

# fail: read, write, none, with a message
expect_exit 0 "$MOKSHA_EXEC" sim fail compute.web read "denied by the audit team"
expect_exit 0 "$MOKSHA_EXEC" sim show compute.web
expect_contains "$OUT" '"fail": "read"'
expect_contains "$OUT" '"fail_message": "denied by the audit team"'
expect_exit 0 "$MOKSHA_EXEC" sim fail compute.web write
expect_exit 0 "$MOKSHA_EXEC" sim show compute.web
expect_contains "$OUT" '"fail": "write"'
expect_not_contains "$OUT" 'fail_message'
expect_exit 0 "$MOKSHA_EXEC" sim fail compute.web none
expect_exit 0 "$MOKSHA_EXEC" sim show compute.web
expect_not_contains "$OUT" '"fail"'
expect_exit 1 "$MOKSHA_EXEC" sim fail compute.web sometimes

# put: made outside moksha, no owner; the id on stdout
cd .. || exit 1
expect_exit 0 "$MOKSHA_EXEC" -C stack sim put compute.legacy compute cpu=8 --cloud gcp --region europe-west1
hand_id=$(cat "$OUT")
expect_match "$OUT" '^projects/moksha-sim/regions/europe-west1/instances/legacy-[0-9a-f]{6}$'
expect_exit 0 "$MOKSHA_EXEC" -C stack sim show compute.legacy
expect_contains "$OUT" '"cpu": 8'
expect_contains "$OUT" '"cloud": "gcp"'
expect_contains "$OUT" '"private_ip": "10.0.'
expect_not_contains "$OUT" '"owner"'
expect_exit 0 "$MOKSHA_EXEC" -C stack sim ls
expect_contains "$OUT" "compute.legacy  compute  $hand_id  -"
expect_exit 1 "$MOKSHA_EXEC" -C stack sim put compute.legacy compute
expect_contains "$ERR" "an object is already at compute.legacy"
expect_exit 1 "$MOKSHA_EXEC" -C stack sim put thing.x teapot
expect_contains "$ERR" "no such type teapot"
cd stack || exit 1

# rm: deleted outside moksha
expect_exit 0 "$MOKSHA_EXEC" sim rm compute.legacy
[ ! -e .moksha/sim/compute.legacy.json ] && e2e_ok || e2e_bad "sim rm left the object"
expect_exit 1 "$MOKSHA_EXEC" sim rm compute.legacy
expect_contains "$ERR" "no object at compute.legacy"
expect_exit 1 "$MOKSHA_EXEC" sim show compute.nosuch
expect_contains "$ERR" "no object at compute.nosuch"

# usage, help
expect_exit 1 "$MOKSHA_EXEC" sim
expect_contains "$ERR" "usage: moksha-exec sim ls"
expect_exit 1 "$MOKSHA_EXEC" sim show
expect_exit 0 "$MOKSHA_EXEC" sim --help
expect_contains "$OUT" "sim ls | show ADDRESS"

# nothing but the world changed; no lock was taken
expect_same .moksha/state.json ../state.before
expect_same .moksha/audit.jsonl ../audit.before
[ ! -e .moksha/state.lock ] && e2e_ok || e2e_bad "a lock was left"
