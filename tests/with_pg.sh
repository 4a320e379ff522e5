#!/bin/sh
# Run CMD with a throwaway PostgreSQL server (tests/pg.sh) for its whole
# run: started first, its settings exported (PGHOST, PGPORT, PGUSER,
# PGDATABASE, PGPASSWORD, MOKSHA_TEST_PG), stopped and removed when CMD
# ends, however it ends. A server already given (MOKSHA_TEST_PG set) is used
# as it is.
#
#   sh tests/with_pg.sh CMD [ARG...]
set -u
[ $# -gt 0 ] || { echo "usage: sh tests/with_pg.sh CMD [ARG...]" >&2; exit 2; }
if [ -n "${MOKSHA_TEST_PG:-}" ]; then
    exec "$@"
fi
here=$(cd "$(dirname "$0")" && pwd)
settings=$(sh "$here/pg.sh" start) || exit 1
eval "$settings"
trap 'sh "$here/pg.sh" stop "$MOKSHA_TEST_PG"' EXIT
trap 'exit 130' INT TERM HUP
"$@"
