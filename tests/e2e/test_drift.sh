# test_drift.sh — the world read back (docs/drift.md), as a user meets it:
# sim objects and local files changed and deleted out of band are exactly
# what `moksha drift` reports (exit 2, its JSON checked whole), and it
# writes nothing; `plan --refresh` plans them back; `reconcile
# --auto-approve-risk low` restores what is low risk, holds the rest (exit
# 3) and is audited; a second reconcile with a wider boundary converges;
# `--watch 1s --cycles 2` runs two cycles and SIGTERM stops a watch between
# cycles; lifecycle drift "report" and "ignore"; an object that cannot be
# read makes drift exit 1, never 0. test_drift_guard.sh has the guarded
# steps, import, moved and kill -9.
. "$TOP/tests/e2e/lib.sh"

export MOKSHA_KEY=d41f7d41f7d41f7d41f7d41f7d41f7d41f7d41f7d41f7d41f7d41f7d41f7d41f
# needs PART…: the executor's and the compiler's parts a check reads (the
# refresh, plans that show drift, the guard, the blocks), each known by
# what it adds to a command; one missing fails the test and skips what
# would only fail after it.
needs() {
    for part in "$@"; do
        case $part in
        refresh) "$MOKSHA_EXEC" --help | grep -q '^  refresh ' ;;
        plandrift) printf 'provider local { root = "o" }\nresource local.file f {\n  path = "f"\n  lifecycle { drift = "report" }\n}\n' >"$WORK/needs.moksha" &&
            "$MOKSHA" check "$WORK/needs.moksha" >/dev/null 2>&1 ;;
        esac || { e2e_bad "$part is not built in: ${section:-?} not checked"; return 1; }
    done
}
sim() { "$MOKSHA_EXEC" sim "$@"; }
sha() { printf '%s' "$1" | sha256sum | cut -c1-64; }
# the last audit entry of an event, as compact JSON
last_event() { jq -c --arg e "$1" 'select(.event == $e)' .moksha/audit.jsonl | tail -n 1; }

mkdir world && enter world || exit 1
cat >main.moksha <<'EOF'
stack shop { env = "dev" }
provider sim { latency = 1ms }
provider local { root = ".moksha/out" }
resource network main { cidr = "10.0.0.0/16" }
resource compute web {
  cpu     = 1
  memory  = 1GiB
  image   = "app:1"
  network = network.main
}
resource bucket assets { encrypted = true }
resource local.file motd {
  path    = "motd.txt"
  content = "hello\n"
}
resource local.file notes {
  path    = "notes.txt"
  content = "notes\n"
}
EOF
expect_exit 0 moksha apply --yes
serial=$(jq .serial .moksha/state.json)

section="drift of a world changed out of band"
if needs refresh; then
# ---- nothing touched: no drift, exit 0 ----
expect_exit 0 moksha drift && expect_contains "$OUT" "No drift: all 5 resources read back as recorded."
expect_exit 0 moksha drift --format json && [ "$(jq -c .counts "$OUT")" = '{"resources":5,"in_sync":5,"drifted":0,"gone":0,"unreadable":0,"ignored":0}' ] ||
    e2e_bad "counts of an untouched world: $(cat "$OUT")"

# ---- out of band: a sim object edited and one deleted, a file edited and one deleted ----
expect_exit 0 sim set compute.web 'tags={"owner":"someone"}'
expect_exit 0 sim rm bucket.assets
printf 'edited by hand\n' >.moksha/out/motd.txt
rm .moksha/out/notes.txt
lines=$(wc -l <.moksha/audit.jsonl)

expect_exit 2 moksha drift --format json
cp "$OUT" drift.json
[ "$(jq -c '[.format, .dry_run, .counts]' drift.json)" = '["moksha.drift/v1",true,{"resources":5,"in_sync":1,"drifted":2,"gone":2,"unreadable":0,"ignored":0}]' ] ||
    e2e_bad "drift header: $(jq -c '[.format, .dry_run, .counts]' drift.json)"
want=$(printf '[%s,%s,%s,%s]' \
    '{"address":"bucket.assets","type":"bucket","provider":"sim","status":"gone","mode":"correct"}' \
    '{"address":"compute.web","type":"compute","provider":"sim","status":"drifted","mode":"correct","attributes":["tags"],"recorded":{"tags":{}},"observed":{"tags":{"owner":"someone"}}}' \
    "{\"address\":\"local.file.motd\",\"type\":\"local.file\",\"provider\":\"local\",\"status\":\"drifted\",\"mode\":\"correct\",\"attributes\":[\"content\",\"sha256\"],\"recorded\":{\"content\":\"hello\\n\",\"sha256\":\"$(sha 'hello
')\"},\"observed\":{\"content\":\"edited by hand\\n\",\"sha256\":\"$(sha 'edited by hand
')\"}}" \
    '{"address":"local.file.notes","type":"local.file","provider":"local","status":"gone","mode":"correct"}')
got=$(jq -c '.resources | sort_by(.address)' drift.json)
[ "$got" = "$want" ] && e2e_ok || e2e_bad "drift resources:
    got  $got
    want $want"

expect_exit 2 moksha drift
cat >want.txt <<'EOF'
Drift: 4 of 5 resources changed outside moksha (2 changed, 2 gone).

  - bucket.assets was deleted outside moksha
  ~ compute.web changed outside moksha: tags {} → {"owner":"someone"}
EOF
head -n 4 "$OUT" >got.txt
expect_same got.txt want.txt
expect_match "$OUT" '^  ~ local\.file\.motd changed outside moksha: content "hello\\n" → "edited by hand\\n", sha256 "[0-9a-f]{64}" → "[0-9a-f]{64}"$'
expect_contains "$OUT" "  - local.file.notes was deleted outside moksha"
expect_contains "$OUT" '`moksha plan --refresh` plans it back to the stack'
expect_not_contains "$OUT" "network.main"
expect_not_contains "$OUT" "$(printf '\033')"  # colour only on a terminal

expect_exit 2 moksha drift --format markdown
expect_contains "$OUT" "| - | \`bucket.assets\` | deleted outside moksha |"
expect_contains "$OUT" "| ~ | \`compute.web\` | changed: \`tags\` \`{}\` → \`{\"owner\":\"someone\"}\` |"
expect_contains "$OUT" "| - | \`local.file.notes\` | deleted outside moksha |"
expect_exit 1 moksha drift --format yaml && expect_contains "$ERR" "--format takes text, json or markdown, not \`yaml\`"
expect_exit 1 moksha drift --parallelism 0 && expect_contains "$ERR" "--parallelism takes a number of workers from 1 to 1024"

# drift wrote nothing: no observation, no audit entry, no lock, the state as it was
[ ! -e .moksha/observed.json ] && e2e_ok || e2e_bad "moksha drift wrote .moksha/observed.json"
[ "$(wc -l <.moksha/audit.jsonl)" = "$lines" ] && e2e_ok || e2e_bad "moksha drift wrote to the audit log"
[ "$(jq .serial .moksha/state.json)" = "$serial" ] && e2e_ok || e2e_bad "moksha drift moved the serial"

fi
section="plan --refresh and reconcile"
if needs refresh plandrift; then
# ---- plan --refresh: the refresh first (its report on stderr), then the plan puts it back ----
expect_exit 1 moksha plan --parallelism 50
expect_contains "$ERR" "say how --refresh reads: add --refresh"
expect_exit 2 moksha plan --refresh --parallelism 50 --retries 2 --detailed-exitcode -o back.plan
expect_contains "$ERR" "Drift: 4 of 5 resources changed outside moksha (2 changed, 2 gone)."
expect_match "$OUT" '^Read from the providers [0-9]+ s ago\.$'
expect_contains "$OUT" "Changed outside moksha since the last apply:"
expect_contains "$OUT" "- bucket.assets was deleted outside moksha"
expect_match "$OUT" '^ *\+ bucket\.assets .*\(gone outside moksha\).*\(risk: high\)'
expect_match "$OUT" '^ *~ compute\.web .*\(corrects drift\)'
expect_match "$OUT" '^ *~ local\.file\.motd .*\(corrects drift\).*\(risk: medium\)'
expect_match "$OUT" '^ *\+ local\.file\.notes .*\(gone outside moksha\)'
expect_contains "$OUT" "Plan: 2 to create, 2 to update, 0 to replace, 0 to delete."
expect_exit 0 jq -e '.format == "moksha.observed/v1"' .moksha/observed.json
[ "$(jq .serial .moksha/state.json)" = "$serial" ] && e2e_ok || e2e_bad "a refresh moved the serial"
expect_exit 0 moksha show --format json back.plan
[ "$(jq -c '[.drift[] | [.address, .status]] | sort' "$OUT")" = '[["bucket.assets","gone"],["compute.web","changed"],["local.file.motd","changed"],["local.file.notes","gone"]]' ] ||
    e2e_bad "the plan's drift: $(jq -c .drift "$OUT")"
[ "$(jq -c '[.changes[] | [.address, .action, .risk // "low", .drift.status]] | sort' "$OUT")" = '[["bucket.assets","create","high","gone"],["compute.web","update","low","changed"],["local.file.motd","update","medium","changed"],["local.file.notes","create","low","gone"]]' ] ||
    e2e_bad "the plan's changes: $(jq -c '[.changes[] | [.address, .action, .risk, .drift]]' "$OUT")"
# the refresh was audited as a refresh, naming the plan it was given
[ "$(last_event refresh | jq -c '[.by, .counts.drifted, .counts.gone]')" = '["refresh",2,2]' ] ||
    e2e_bad "refresh audit entry: $(last_event refresh)"

# ---- reconcile --auto-approve-risk low: what is low risk comes back, the rest is held ----
expect_exit 3 moksha reconcile --auto-approve-risk low
[ "$(wc -l <"$OUT")" = 1 ] && e2e_ok || e2e_bad "reconcile printed more than its one line: $(cat "$OUT")"
expect_contains "$OUT" "reconcile: cycle 1: 2 changed, 2 gone, 0 unreadable; 4 changes planned; some changes held"
expect_contains "$OUT" "(exit 3)"
expect_contains "$ERR" "bucket.assets is high risk, above --auto-approve-risk low: held"
expect_contains "$ERR" "local.file.motd is medium risk, above --auto-approve-risk low: held"
expect_exit 0 sim show compute.web && [ "$(jq -c .attributes.tags "$OUT")" = '{}' ] || e2e_bad "compute.web's tags not restored: $(cat "$OUT")"
printf 'notes\n' >want-notes
expect_same .moksha/out/notes.txt want-notes
printf 'edited by hand\n' >want-motd
expect_same .moksha/out/motd.txt want-motd
expect_exit 1 sim show bucket.assets
# audited: the cycle's refresh by reconcile, then the apply that held some
[ "$(last_event refresh | jq -c '[.by, .counts.drifted, .counts.gone]')" = '["reconcile",2,2]' ] ||
    e2e_bad "reconcile's refresh entry: $(last_event refresh)"
[ "$(last_event apply.end | jq -c '[.outcome, .exit_code]')" = '["applied, some held",3]' ] ||
    e2e_bad "reconcile's apply entry: $(last_event apply.end)"
jq -c 'select(.event == "step") | .address' .moksha/audit.jsonl | tail -n 2 | sort >steps
printf '"compute.web"\n"local.file.notes"\n' >want-steps
expect_same steps want-steps
expect_exit 0 moksha audit verify

# what was held is still drift; a wider boundary converges, and then there is nothing to do
expect_exit 2 moksha drift --format json
[ "$(jq -c '[.resources[] | [.address, .status]] | sort' "$OUT")" = '[["bucket.assets","gone"],["local.file.motd","drifted"]]' ] ||
    e2e_bad "drift after reconcile: $(jq -c .resources "$OUT")"
expect_exit 0 moksha reconcile --auto-approve-risk high
expect_contains "$OUT" "reconcile: cycle 1: 1 changed, 1 gone, 0 unreadable; 2 changes planned; applied (exit 0)"
expect_exit 0 moksha drift && expect_contains "$OUT" "No drift: all 5 resources read back as recorded."
expect_exit 0 moksha reconcile
expect_contains "$OUT" "reconcile: cycle 1: 0 changed, 0 gone, 0 unreadable; 0 changes planned; nothing to do (exit 0)"
lines=$(wc -l <.moksha/audit.jsonl)

fi
section="reconcile --watch"
if needs refresh; then
# ---- --watch 1s --cycles 2: two cycles, a second apart, each audited ----
t0=$(date +%s)
expect_exit 0 moksha reconcile --watch 1s --cycles 2
[ "$(grep -c '^reconcile: cycle [12]: .*nothing to do (exit 0)$' "$OUT")" = 2 ] && e2e_ok || e2e_bad "two cycles: $(cat "$OUT")"
[ $(($(date +%s) - t0)) -ge 1 ] && e2e_ok || e2e_bad "--watch 1s did not wait between cycles"
[ "$(tail -n +$((lines + 1)) .moksha/audit.jsonl | jq -c 'select(.event == "refresh") | .by' | tr -d '\n')" = '"reconcile""reconcile"' ] ||
    e2e_bad "the two cycles' refreshes are not audited by reconcile"
# a stop signal ends a watch between cycles at once, with the last cycle's code
"$MOKSHA" reconcile --watch 30s >watch.out 2>watch.err &
pid=$!
n=0
while ! grep -q "cycle 1" watch.out 2>/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
kill -TERM $pid
wait $pid
rc=$?
[ "$rc" = 0 ] && e2e_ok || e2e_bad "a watch stopped by SIGTERM exited $rc: $(cat watch.err)"
expect_contains watch.err "reconcile stopped by"
[ "$(grep -c '^reconcile: cycle' watch.out)" = 1 ] && e2e_ok || e2e_bad "the stopped watch: $(cat watch.out)"
expect_exit 1 moksha reconcile --watch 5 && expect_contains "$ERR" "--watch takes an interval above zero with its unit"
expect_exit 1 moksha reconcile --cycles 0 && expect_contains "$ERR" "--cycles takes a number of cycles from 1"
expect_exit 1 moksha reconcile --auto-approve-risk none && expect_contains "$ERR" "--auto-approve-risk takes low, medium or high"
expect_exit 1 moksha reconcile --yes && expect_contains "$ERR" "unknown option \`--yes\` for reconcile"

fi
section="an unreadable object"
if needs refresh plandrift; then
# ---- an object that cannot be read: exit 1, never 0, whatever else is seen ----
expect_exit 0 sim fail compute.web read "permission denied"
expect_exit 1 moksha drift
expect_contains "$OUT" "? compute.web could not be read"
expect_contains "$OUT" "1 of 5 could not be read"
expect_exit 1 moksha drift --format json && [ "$(jq -c '[.counts.unreadable, .counts.drifted]' "$OUT")" = '[1,0]' ] ||
    e2e_bad "unreadable counts: $(jq -c .counts "$OUT")"
rm .moksha/out/notes.txt
expect_exit 1 moksha drift && expect_contains "$OUT" "- local.file.notes was deleted outside moksha"
# plan --refresh goes on, with a warning; the unreadable one is planned from the state
expect_exit 0 moksha plan --refresh
expect_contains "$ERR" "some objects could not be read"
expect_match "$OUT" '^ *\+ local\.file\.notes .*\(gone outside moksha\)'
expect_not_contains "$OUT" "~ compute.web"
expect_exit 0 sim fail compute.web none
expect_exit 0 moksha reconcile
expect_exit 0 moksha drift
fi
leave

# ---- lifecycle drift: "report" is shown and never corrected, "ignore" is neither ----
section="lifecycle drift report and ignore"
if needs refresh plandrift; then
mkdir modes && enter modes || exit 1
cat >main.moksha <<'EOF'
provider local { root = ".moksha/out" }
resource local.file readme {
  path      = "readme.txt"
  content   = "read me\n"
  lifecycle { drift = "report" }
}
resource local.file scratch {
  path      = "scratch.txt"
  content   = "scratch\n"
  lifecycle { drift = "ignore" }
}
resource local.file kept {
  path    = "kept.txt"
  content = "kept\n"
}
EOF
expect_exit 0 moksha apply --yes
printf 'hand-edited\n' >.moksha/out/readme.txt
printf 'scribbles\n' >.moksha/out/scratch.txt
expect_exit 2 moksha drift --format json
[ "$(jq -c '[.counts.drifted, .counts.ignored, [.resources[] | [.address, .mode]]]' "$OUT")" = '[1,1,[["local.file.readme","report"]]]' ] ||
    e2e_bad "report and ignore: $(cat "$OUT")"
expect_exit 2 moksha drift
expect_contains "$OUT" '~ local.file.readme changed outside moksha: content "read me\n" → "hand-edited\n"'
expect_contains "$OUT" '(drift = "report": not corrected)'
expect_contains "$OUT" '1 ignored (lifecycle drift = "ignore")'
expect_not_contains "$OUT" "scratch"
expect_exit 0 moksha plan --refresh --detailed-exitcode
expect_contains "$OUT" "local.file.readme changed outside moksha"
expect_not_contains "$OUT" "scratch"
expect_exit 0 moksha reconcile --auto-approve-risk high
expect_contains "$OUT" "0 changes planned; nothing to do (exit 0)"
printf 'hand-edited\n' >want
expect_same .moksha/out/readme.txt want
printf 'scribbles\n' >want
expect_same .moksha/out/scratch.txt want
fi
leave
