# test_observed_stale.sh — an observation holds only while the state entry
# it was made of is current (docs/drift.md, "Observations"): every entry an
# apply (or `state mv`) writes names its run, and the observation's `entry`
# digest covers it. So once a drift correction is applied — the entry's
# attributes written back exactly as they were — the old observation no
# longer matches: the next plan shows no drift and plans nothing, and its
# apply is not refused. An apply rolled back restores the entry with its
# old run, and the observation is current again. An observed.json that is
# not a regular file (a FIFO, a link) is refused, never read.
. "$TOP/tests/e2e/lib.sh"

export MOKSHA_KEY=6a7e4b1c2d3f40516273849506a7b8c9d0e1f2031425364758697a8b9cadbecf

mkdir stack && cd stack
cat > main.moksha <<'M'
var size: int = 2
provider sim { }
resource network main { cidr = "10.0.0.0/16" }
resource compute web { cpu = var.size, memory = 4GiB, image = "nginx:1.27", network = network.main }
M
expect_exit 0 moksha apply --yes
lock=$(jq -r '[.resources[].run] | unique | join(",")' .moksha/state.json)
expect_exit 0 "$MOKSHA_EXEC" audit show --format json
[ "$(jq -r '[.entries // . | .[] | select(.event == "lock")] | last | .lock_id' "$OUT")" = "$lock" ] ||
    fail "the entries do not name the apply's lock id: runs $lock"

# the digest: attributes as compact sorted JSON, a NUL, the run
expect_exit 0 "$MOKSHA_EXEC" refresh
attrs=$(jq -c '.resources[] | select(.address == "network.main") | .attributes' .moksha/state.json | jq -cS . | tr -d '\n')
digest=$({ printf '%s' "$attrs"; printf '\0%s' "$lock"; } | sha256sum | cut -c1-64)
[ "$(jq -r '.resources["network.main"].entry' .moksha/observed.json)" = "$digest" ] ||
    fail "network.main's entry digest is not over its attributes and run"

# ---- a drift corrected: the observation goes stale ----
expect_exit 0 "$MOKSHA_EXEC" sim set compute.web cpu=3
expect_exit 0 "$MOKSHA_EXEC" refresh
expect_exit 0 moksha plan -o fix.plan
expect_contains "$OUT" "cpu = 3 → 2"
expect_exit 0 moksha apply --yes fix.plan
expect_contains "$OUT" "1 updated"
run=$(jq -r '.resources[] | select(.address == "compute.web") | .run' .moksha/state.json)
[ "$run" != "$lock" ] && [ -n "$run" ] || fail "the corrected entry does not name the run that wrote it: $run"
[ "$(jq -r '.resources[] | select(.address == "network.main") | .run' .moksha/state.json)" = "$lock" ] ||
    fail "an entry the apply did not write changed its run"
expect_exit 0 moksha plan -o again.plan
expect_not_contains "$OUT" "changed outside moksha"
expect_contains "$OUT" "No changes: the infrastructure matches the spec."
expect_exit 0 moksha plan --var size=4 -o next.plan
expect_not_contains "$OUT" "corrects drift"
expect_exit 0 moksha apply --yes next.plan
expect_contains "$OUT" "1 updated"

# ---- an apply rolled back: the old entry, old run, current observation ----
expect_exit 0 "$MOKSHA_EXEC" sim set compute.web cpu=5
expect_exit 0 "$MOKSHA_EXEC" refresh
cp .moksha/state.json state.before
expect_exit 0 moksha plan --var size=8 -o fail.plan
expect_exit 0 "$MOKSHA_EXEC" sim fail compute.web write "quota exceeded"
expect_exit 4 moksha apply --yes fail.plan
expect_exit 0 "$MOKSHA_EXEC" sim fail compute.web none
[ "$(jq -c '.resources' state.before)" = "$(jq -c '.resources' .moksha/state.json)" ] ||
    fail "the rollback did not put the entries back as they were"
expect_exit 0 moksha plan -o still.plan
expect_contains "$OUT" "compute.web changed outside moksha: cpu 4 → 5"

# ---- an observed.json that is not a regular file: refused, never read ----
# (a FIFO would hang the refresh, holding the lock)
rm .moksha/observed.json && mkfifo .moksha/observed.json
expect_exit 1 timeout 20 "$MOKSHA_EXEC" refresh
expect_contains "$ERR" ".moksha/observed.json is not a regular file: remove it, and refresh again"
[ -p .moksha/observed.json ] || fail "the refresh replaced the FIFO"
expect_exit 0 "$MOKSHA_EXEC" state list
rm .moksha/observed.json && ln -s ../state.json .moksha/observed.json
expect_exit 1 "$MOKSHA_EXEC" refresh
expect_contains "$ERR" "is not a regular file"
rm .moksha/observed.json
expect_exit 0 "$MOKSHA_EXEC" refresh
