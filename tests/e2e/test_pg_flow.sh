# test_pg_flow.sh — a team's whole flow on PostgreSQL through `moksha`
# alone, without MOKSHA_STACK: examples/team applied as dev, planned and
# applied as prod from a plan file, its environments listed, prod's state,
# history, audit chain, refresh and drift read from the database; a dev
# plan refused under prod (exit 6); a second working copy of the same
# repository planning prod from prod's state; the password in no output.
. "$TOP/tests/e2e/lib.sh"
. "$TOP/tests/e2e/pg_lib.sh"

export MOKSHA_KEY=be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c
unset MOKSHA_STACK MOKSHA_ENV
pg_config "$WORK/exec.json"
export MOKSHA_EXEC_CONFIG="$WORK/exec.json"

all="$WORK/all.out"
same() { # same WHAT GOT WANT
    [ "$2" = "$3" ] && { e2e_ok; return 0; }
    e2e_bad "$1 is \`$2\`, expected \`$3\`"
}
run() { # run CODE ARGS…: moksha ARGS… exits CODE; its output kept for the leak check
    want=$1
    shift
    expect_exit "$want" moksha "$@"
    cat "$OUT" "$ERR" >>"$all"
}

copy_example team
enter team || exit 1
run 0 --env dev apply --yes
run 0 --env prod plan -o p.plan
run 0 apply p.plan
expect_contains "$OUT" "Apply complete"
run 0 env list
expect_contains "$OUT" dev
expect_contains "$OUT" prod
run 0 --env prod state list
expect_contains "$OUT" network.main
expect_contains "$OUT" compute.web
run 0 --env prod state history
expect_match "$OUT" '^ *1 '
run 0 --env prod audit verify
run 0 --env prod audit show
expect_contains "$OUT" "apply"
run 0 --env prod refresh
run 0 --env prod drift
# the rows are the shop stack's, named by its block, never a guess
same "the database's states" "$(pg_sql "SELECT stack || '/' || env FROM moksha.stacks ORDER BY env" | tr '\n' ' ')" "shop/dev shop/prod "

# a plan of dev is dev's: under prod it is refused, nothing written
serial=$(pg_sql "SELECT serial FROM moksha.stacks WHERE env = 'prod'")
run 0 --env dev plan -o dev.plan
run 6 --env prod apply dev.plan
same "prod's serial" "$(pg_sql "SELECT serial FROM moksha.stacks WHERE env = 'prod'")" "$serial"
# nor can a plan made for another stack apply to this one
MOKSHA_STACK=other expect_exit 0 moksha --env prod plan -o other.plan
expect_exit 6 "$MOKSHA_EXEC" --env prod apply other.plan
expect_contains "$ERR" "other/prod"
# a --stack of the command's own wins over the spec's too
run 0 --env prod state list --stack other
expect_not_contains "$OUT" network.main
run 0 --env prod state list --stack shop
expect_contains "$OUT" network.main
same "prod's serial" "$(pg_sql "SELECT serial FROM moksha.stacks WHERE env = 'prod'")" "$serial"
leave

# another working copy, the same configuration: prod's state is the database's
mkdir second
(cd second && copy_example team) || exit 1
enter second/team || exit 1
run 0 --env prod plan
expect_contains "$OUT" "No changes"
leave

expect_not_contains "$all" "$PGPASSWORD"
