# test_serve.sh — the executor as a service of its own user (docs/trust.md,
# "The service"): `moksha-exec serve` runs as one system user with an
# environment of its own (a secret, SIM_TOKEN, only there) and a submitter,
# another user, applies through its socket (MOKSHA_EXEC_SOCKET): progress
# streams while the apply runs, Ctrl-C (SIGINT to `moksha apply`) rolls back
# (exit 4, nothing left in the service's state or world) and a second one
# stops the rollback (exit 5), destroy goes through it too, the submitter cannot
# read the service's environment, configuration or stacks, a socket mode that
# leaves the submitter out refuses it, a second service on a live socket is
# refused and a stale one is replaced, and SIGTERM stops the service, rolling
# back the apply that runs, and removes its socket. Needs root (useradd,
# setpriv): skipped otherwise.
SERVE_TEST=test_serve
. "$TOP/tests/e2e/serve_lib.sh"

# submit_in_background N [OPTION...]: `moksha apply --yes OPTION...` as the
# submitter, in the background ($CP: exec, so it is moksha itself, as
# setpriv and env exec in turn), until N steps are reported created
submit_in_background() {
    n=$1
    shift
    : >"$WORK/out" # (the last run's lines must not be taken for this one's)
    (exec setpriv --reuid="$SUB" --regid="$SUB" --init-groups env -i PATH=/usr/bin:/bin HOME=/nonexistent \
        MOKSHA_SHARE="$BASE/share" MOKSHA_EXEC_SOCKET="$SOCK" MOKSHA_KEY=$KEY NO_COLOR=1 \
        "$BASE/bin/moksha" apply --yes "$@") >"$WORK/out" 2>"$WORK/err" </dev/null &
    CP=$!
    w=0
    while [ "$(grep -c "  created  " "$WORK/out")" -lt "$n" ] && [ $w -lt 500 ]; do sleep 0.02; w=$((w + 1)); done
}


service_config 0660
start_service
expect_contains "$BASE/serve.log" "listening on $SOCK (mode 0660, group $GRP)"
[ "$(stat -c '%U %G %a' "$SOCK")" = "$SVC $GRP 660" ] || fail "the socket is $(stat -c '%U %G %a' "$SOCK"), expected $SVC $GRP 660"

# ---- an apply through the socket: it runs as the service, in its stack directory ----
make_stack one 20ms 2
enter "$BASE/sub/one" || exit 1
expect_exit 0 as_submitter "$BASE/bin/moksha" apply --yes
expect_contains "$OUT" "created  network.n"
expect_contains "$OUT" "created  compute.c1"
expect_contains "$OUT" "Apply complete: 3 created"
[ ! -e .moksha/state.json ] || fail "the state was written into the submitter's stack, not the service's"
DIR=$(service_dir one)
[ "$(stat -c '%U %a' "$DIR")" = "$SVC 700" ] || fail "the service's stack directory is $(stat -c '%U %a' "$DIR"), expected $SVC 700"
expect_contains "$DIR/.moksha/state.json" '"address": "compute.c1"'
expect_contains "$DIR/.moksha/audit.jsonl" "\"submitter\":{\"uid\":$(id -u "$SUB"),\"gid\":$(id -g "$SUB")"
# the plan is made against the service's state: nothing left to do
expect_exit 0 as_submitter "$BASE/bin/moksha" plan --detailed-exitcode
expect_contains "$OUT" "No changes"
leave

# ---- Ctrl-C mid-apply: the service rolls back, exit 4 ----
make_stack two 400ms 4
enter "$BASE/sub/two" || exit 1
submit_in_background 1
# progress streams while the apply runs: the network's line comes before the computes are done
expect_contains "$WORK/out" "created  network.n"
expect_not_contains "$WORK/out" "created  compute.c0"
DIR=$(service_dir two)
kill -INT "$CP"
wait "$CP"
rc=$?
[ "$rc" -eq 4 ] || { fail "SIGINT to the submitting moksha apply: exit $rc, expected 4 (rolled back)"; e2e_show "$WORK/err" stderr; }
expect_contains "$WORK/err" "Apply interrupted"
expect_contains "$WORK/out" "Rolled back"
[ "$(ls "$DIR/.moksha/sim" 2>/dev/null | grep -c json)" -eq 0 ] || fail "after the rollback the service's sim world holds $(ls "$DIR/.moksha/sim")"
expect_exit 0 as_service "$BASE/bin/moksha-exec" -C "$DIR" state list
expect_empty "$OUT"
expect_exit 2 as_submitter "$BASE/bin/moksha" plan --detailed-exitcode
expect_contains "$OUT" "Plan: 5 to create"

# two Ctrl-C: the second stops the rollback too (exit 5); destroy through the service removes the rest.
# One step at a time (an option the service takes): the first Ctrl-C comes while the third step
# runs, the second before the rollback reaches the network.
submit_in_background 2 --parallelism 1
kill -INT "$CP"
sleep 0.2
kill -INT "$CP"
wait "$CP"
rc=$?
[ "$rc" -eq 5 ] || { fail "two SIGINTs to the submitting moksha apply: exit $rc, expected 5"; e2e_show "$WORK/err" stderr; }
expect_contains "$WORK/err" "network.n (create): interrupted (second Ctrl-C)"
expect_exit 0 as_submitter "$BASE/bin/moksha" destroy --yes
expect_contains "$OUT" "deleted  network.n"
[ "$(ls "$DIR/.moksha/sim" 2>/dev/null | grep -c json)" -eq 0 ] || fail "after destroy the service's sim world holds $(ls "$DIR/.moksha/sim")"
leave

# ---- what the submitter cannot read ----
expect_contains "/proc/$SP/environ" "SIM_TOKEN=sim-secret-4f2a"
expect_exit 1 as_submitter cat "/proc/$SP/environ"
expect_not_contains "$OUT" "sim-secret"
expect_exit 1 as_submitter cat "$BASE/etc/exec.json"
expect_exit 2 as_submitter ls "$BASE/stacks"
expect_exit 1 as_submitter cat "$DIR/.moksha/state.json"

# ---- one service a socket: a second one is refused; the first stops on SIGTERM ----
expect_exit 1 as_service "$BASE/bin/moksha-exec" serve
expect_contains "$ERR" "a service already listens on $SOCK"
expect_exit 1 as_service "$BASE/bin/moksha-exec" serve --socket /tmp/moksha-serve-$$.sock
expect_contains "$ERR" "the socket's directory /tmp is writable by everyone"
# SIGTERM to the service mid-apply: the apply rolls back (exit 4), then the service stops
enter "$BASE/sub/two" || exit 1
submit_in_background 1
stop_service
[ "$rc" -eq 0 ] || fail "SIGTERM to the service: exit $rc, expected 0"
wait "$CP"
rc=$?
[ "$rc" -eq 4 ] || { fail "the apply of a service stopped by SIGTERM: exit $rc, expected 4"; e2e_show "$WORK/err" stderr; }
expect_contains "$WORK/out" "Rolled back"
[ ! -e "$SOCK" ] || fail "the stopped service left its socket behind"
leave
enter "$BASE/sub/one" || exit 1
expect_exit 1 as_submitter "$BASE/bin/moksha" apply --yes
expect_contains "$ERR" "cannot reach the executor service at $SOCK (MOKSHA_EXEC_SOCKET)"
leave

# ---- a socket mode that leaves the submitter out; a stale socket replaced ----
service_config 0600
start_service
kill -KILL "$SP"
wait "$SP" 2>/dev/null
SP=
[ -S "$SOCK" ] || fail "a killed service should leave its socket"
start_service
enter "$BASE/sub/one" || exit 1
expect_exit 1 as_submitter "$BASE/bin/moksha" plan
expect_contains "$ERR" "cannot reach the executor service at $SOCK (MOKSHA_EXEC_SOCKET): Permission denied"
leave
stop_service
