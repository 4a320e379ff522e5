/* pgsql — connecting, parameterised statements and the schema's versions
 * for the postgres state backend (runtime/pgsql.h).
 *
 * note [schema versions]: meta.schema_version says which of MIGRATIONS the
 * schema has had; connecting runs the ones after it, in order, in one
 * transaction under pg_advisory_xact_lock(0x6d6b, 0) (stack ids start at
 * 1, so the key is no stack's), so two executors meeting a new database at
 * once make the schema once, and an executor older than the schema refuses
 * it rather than write rows it does not understand. */
#include "runtime/pgsql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const MIGRATIONS[MK_PGSQL_SCHEMA_VERSION] = {
    /* 1: docs/state.md, "Schema" */
    "CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);"
    "CREATE TABLE stacks (id bigserial PRIMARY KEY, stack text NOT NULL, env text NOT NULL, lineage text NOT NULL,"
    " serial bigint NOT NULL, header json NOT NULL, history_hash text NOT NULL, audit_head text, observed json,"
    " updated timestamptz NOT NULL DEFAULT now(), UNIQUE (stack, env));"
    "CREATE TABLE resources (stack_id bigint NOT NULL REFERENCES stacks(id), address text NOT NULL,"
    " pos bigint NOT NULL, entry json NOT NULL, serial bigint NOT NULL, PRIMARY KEY (stack_id, address));"
    /* a read takes the entries in the state's order: by this index, not an external sort of every entry */
    "CREATE INDEX resources_order ON resources (stack_id, pos);"
    "CREATE TABLE history (stack_id bigint NOT NULL REFERENCES stacks(id), serial bigint NOT NULL,"
    " time timestamptz NOT NULL, operation text NOT NULL, run text, header json NOT NULL, delta json NOT NULL,"
    " prev_hash text NOT NULL, hash text NOT NULL, PRIMARY KEY (stack_id, serial));"
    /* a migrated state's delta holds every entry: stored as it is, not compressed on the way in */
    "ALTER TABLE history ALTER COLUMN delta SET STORAGE EXTERNAL;"
    "CREATE TABLE audit (stack_id bigint NOT NULL REFERENCES stacks(id), seq bigint NOT NULL, line text NOT NULL,"
    " PRIMARY KEY (stack_id, seq));"
    "CREATE TABLE locks (stack_id bigint PRIMARY KEY REFERENCES stacks(id), lock_id text NOT NULL, holder text,"
    " \"user\" text, host text, pid int, operation text, plan_sha256 text, since timestamptz NOT NULL,"
    " backend_pid int NOT NULL);"
    "CREATE TABLE intents (stack_id bigint NOT NULL REFERENCES stacks(id), run text NOT NULL, address text NOT NULL,"
    " action text NOT NULL, change bigint, time timestamptz NOT NULL, PRIMARY KEY (stack_id, run, address));"
    "INSERT INTO meta VALUES ('database_id', gen_random_uuid()::text);",
    /* 2: each history row's digest of the entries its serial left (note
     * [entries digest] in backend_pg.c); a row written before it has none */
    "ALTER TABLE history ADD COLUMN digest text;",
};

/* The server's message without its trailing newline, on one line. */
static void say_error(const char *what, const char *msg, char *why, size_t whylen)
{
    char m[400];
    snprintf(m, sizeof m, "%s", msg && *msg ? msg : "the connection was lost");
    for (char *p = m; *p; p++)
        if (*p == '\n')
            *p = p[1] ? ' ' : 0;
    snprintf(why, whylen, "postgres: %s: %s", what, m);
}

PGresult *mk_pgsql_exec(PGconn *c, const char *sql, int n, const char *const *params, const int *lens, char *why,
                        size_t whylen)
{
    PGresult *r = PQexecParams(c, sql, n, NULL, params, lens, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (r && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK))
        return r;
    char what[48];
    snprintf(what, sizeof what, "%.40s%s", sql, strlen(sql) > 40 ? "…" : "");
    say_error(what, r ? PQresultErrorMessage(r) : PQerrorMessage(c), why, whylen);
    PQclear(r);
    return NULL;
}

bool mk_pgsql_do(PGconn *c, const char *sql, int n, const char *const *params, char *why, size_t whylen)
{
    PGresult *r = mk_pgsql_exec(c, sql, n, params, NULL, why, whylen);
    PQclear(r);
    return r != NULL;
}

void mk_pgsql_rollback(PGconn *c) { PQclear(PQexec(c, "ROLLBACK")); }

/* A migration: several statements of moksha's own text, no values, so
 * the simple protocol (which takes more than one statement). */
static bool exec_script(PGconn *c, const char *sql, char *why, size_t whylen)
{
    PGresult *r = PQexec(c, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        say_error("migrating the schema", r ? PQresultErrorMessage(r) : PQerrorMessage(c), why, whylen);
    PQclear(r);
    return ok;
}

/* The schema's version: 0 when it has no meta table yet; -1 on error. */
static int schema_version(PGconn *c, char *why, size_t whylen)
{
    PGresult *r = mk_pgsql_exec(c, "SELECT to_regclass('meta') IS NOT NULL", 0, NULL, NULL, why, whylen);
    if (!r)
        return -1;
    bool has = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (!has)
        return 0;
    r = mk_pgsql_exec(c, "SELECT value FROM meta WHERE key = 'schema_version'", 0, NULL, NULL, why, whylen);
    if (!r)
        return -1;
    int v = PQntuples(r) ? atoi(PQgetvalue(r, 0, 0)) : 0;
    PQclear(r);
    return v;
}

/* note [schema versions] */
static bool migrate(PGconn *c, const char *quoted, char *why, size_t whylen)
{
    char create[200];
    snprintf(create, sizeof create, "CREATE SCHEMA IF NOT EXISTS %s", quoted);
    if (!mk_pgsql_do(c, "BEGIN", 0, NULL, why, whylen))
        return false;
    bool ok = mk_pgsql_do(c, "SELECT pg_advisory_xact_lock(27755, 0)", 0, NULL, why, whylen) &&
              mk_pgsql_do(c, create, 0, NULL, why, whylen);
    int v = ok ? schema_version(c, why, whylen) : -1;
    if (v > MK_PGSQL_SCHEMA_VERSION)
        snprintf(why, whylen, "postgres: the schema %s is version %d, newer than this executor knows (%d): use a newer "
                 "moksha-exec", quoted, v, MK_PGSQL_SCHEMA_VERSION);
    ok = v >= 0 && v <= MK_PGSQL_SCHEMA_VERSION;
    for (int i = v; ok && i < MK_PGSQL_SCHEMA_VERSION; i++)
        ok = exec_script(c, MIGRATIONS[i], why, whylen);
    char ver[16];
    snprintf(ver, sizeof ver, "%d", MK_PGSQL_SCHEMA_VERSION);
    const char *p[] = {ver};
    if (ok && v < MK_PGSQL_SCHEMA_VERSION)
        ok = mk_pgsql_do(c, "INSERT INTO meta VALUES ('schema_version', $1) ON CONFLICT (key) DO UPDATE SET value = $1",
                         1, p, why, whylen);
    if (ok)
        return mk_pgsql_do(c, "COMMIT", 0, NULL, why, whylen);
    mk_pgsql_rollback(c);
    return false;
}

static void quiet(void *arg, const char *msg) { (void)arg, (void)msg; }

PGconn *mk_pgsql_connect(const char *conninfo, const char *schema, char *why, size_t whylen)
{
    /* later keywords win: the configuration's conninfo over our defaults */
    const char *const keys[] = {"application_name", "connect_timeout", "dbname", NULL};
    const char *const vals[] = {"moksha-exec", "10", conninfo, NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        say_error("cannot connect", c ? PQerrorMessage(c) : "out of memory", why, whylen);
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, quiet, NULL); /* "schema … already exists": ours to know, not the terminal's */
    char *quoted = PQescapeIdentifier(c, schema, strlen(schema));
    const char *p[] = {quoted};
    bool ok = quoted && strlen(quoted) < 150 &&
              mk_pgsql_do(c, "SELECT set_config('search_path', $1, false)", 1, p, why, whylen) &&
              migrate(c, quoted, why, whylen);
    if (!quoted)
        snprintf(why, whylen, "postgres: the schema name `%s` cannot be quoted", schema);
    else if (strlen(quoted) >= 150)
        snprintf(why, whylen, "postgres: the schema name is too long");
    PQfreemem(quoted);
    if (!ok) {
        PQfinish(c);
        return NULL;
    }
    return c;
}
