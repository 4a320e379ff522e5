# pg_lib.sh — a PostgreSQL database of its own for an e2e test, on the
# suite's throwaway server (make test starts one: tests/with_pg.sh) or, when
# the test runs alone, on one it starts and stops itself (tests/pg.sh).
# Source it after lib.sh:
#   . "$TOP/tests/e2e/lib.sh"
#   . "$TOP/tests/e2e/pg_lib.sh"
# It exports PGHOST, PGPORT, PGUSER and PGPASSWORD (the executor's
# credentials: its environment, never a file) and PGDATABASE, a database
# made for this test (dropped at the end), and defines
#   pg_sql SQL     run SQL on that database (psql -qAt), stdout its rows
#   pg_run CODE ARG...
#                  moksha ARG... must exit CODE (expect_exit); its stdout and
#                  stderr are also appended to $PG_OUTPUTS, every output of
#                  the test in one file for its leak check (grep the secret)
#   pg_same WHAT GOT WANT
#                  fail unless GOT is WANT (a query's answer), saying WHAT
#   pg_config FILE [BACKEND]
#                  write an executor configuration to FILE whose state
#                  backend is BACKEND (default postgres) on this database
PG_OWN=
if [ -z "${MOKSHA_TEST_PG:-}" ]; then
    pg_settings=$(sh "$TOP/tests/pg.sh" start) || { fail "cannot start a PostgreSQL server (tests/pg.sh)"; exit 1; }
    eval "$pg_settings"
    PG_OWN=$MOKSHA_TEST_PG
fi
PGHOST=${PGHOST:-$MOKSHA_TEST_PG/sock}
PGPORT=${PGPORT:-$(cat "$MOKSHA_TEST_PG/port")}
PGUSER=moksha
PGPASSWORD=${PGPASSWORD:-$(cat "$MOKSHA_TEST_PG/password")}
PGDATABASE=t_$$_$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
export PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE
psql -d postgres -qAt -c "CREATE DATABASE $PGDATABASE" >/dev/null || { fail "cannot create database $PGDATABASE"; exit 1; }

pg_finish() {
    psql -d postgres -qAt -c "DROP DATABASE IF EXISTS $PGDATABASE WITH (FORCE)" >/dev/null 2>&1
    [ -n "$PG_OWN" ] && sh "$TOP/tests/pg.sh" stop "$PG_OWN"
}
# run before lib.sh's own end (or serve_lib.sh's cleanup), which exits
trap 'pg_finish; e2e_finish' EXIT

pg_sql() { psql -qAt -v ON_ERROR_STOP=1 -c "$1"; }

PG_OUTPUTS=$E2E_SCRATCH/pg_outputs
: >"$PG_OUTPUTS"
pg_run() {
    _want=$1
    shift
    expect_exit "$_want" moksha "$@"
    cat "$OUT" "$ERR" >>"$PG_OUTPUTS"
}

pg_same() {
    [ "$2" = "$3" ] && { e2e_ok; return 0; }
    e2e_bad "$1 is \`$2\`, expected \`$3\`"
}

pg_config() {
    cat >"$1" <<JSON
{ "format": "moksha.exec-config/v1",
  "state": { "backend": "${2:-postgres}",
             "postgres": { "conninfo": "host=$PGHOST port=$PGPORT user=$PGUSER dbname=$PGDATABASE" } } }
JSON
    chmod 0600 "$1"
}
