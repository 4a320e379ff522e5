/* pgtest — what the unit tests on the suite's PostgreSQL server
 * (tests/with_pg.sh) share: SQL run as the administrator, its first value
 * back. Include after unit.h (cmocka's fail_msg). */
#ifndef MK_TEST_PGTEST_H
#define MK_TEST_PGTEST_H

#include <libpq-fe.h>
#include <stdarg.h>

/* The SQL fmt makes, on session c: the first value of its first row ("" for
 * no row or a command, "(null)" for NULL), in a buffer the next call
 * reuses; the test fails on an error. */
static inline const char *mk_test_pg_value(PGconn *c, const char *fmt, ...)
{
    static char out[512];
    char sql[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    PGresult *r = PQexec(c, sql);
    ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    snprintf(out, sizeof out, "%s", s != PGRES_TUPLES_OK || !PQntuples(r) ? "" : PQgetisnull(r, 0, 0) ? "(null)"
                                                                                : PQgetvalue(r, 0, 0));
    PQclear(r);
    return out;
}

/* Drop every database and role whose name starts with pfx (this
 * process's, t<pid>_…): whatever a test left, even a failed one. */
static inline void mk_test_pg_drop_prefixed(PGconn *c, const char *pfx)
{
    static const char *const kinds[][2] = {
        {"SELECT datname FROM pg_database WHERE starts_with(datname, $1)", "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)"},
        {"SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)", "DROP ROLE IF EXISTS \"%s\""}};
    for (int k = 0; k < 2; k++) {
        PGresult *r = PQexecParams(c, kinds[k][0], 1, NULL, (const char *[]){pfx}, NULL, NULL, 0);
        for (int i = 0; i < PQntuples(r); i++)
            mk_test_pg_value(c, kinds[k][1], PQgetvalue(r, i, 0));
        PQclear(r);
    }
}

#endif
