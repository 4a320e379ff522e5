/* pgsql — the little of libpq the postgres state backend needs, said once:
 * connecting (the conninfo of the executor's configuration, credentials
 * only from its environment), statements whose every value is a parameter
 * (never text pasted into SQL: the one identifier moksha names, the
 * schema, is quoted by libpq and set as the search path's value), and the
 * schema's versions (docs/state.md, "Schema"). It is not the backend:
 * backend_pg.c says what the rows mean.
 *
 * Errors come back in why as the server's first line, never the conninfo
 * (which may name a password file) nor the environment. */
#ifndef MK_RUNTIME_PGSQL_H
#define MK_RUNTIME_PGSQL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

/* The newest schema this executor knows. */
#define MK_PGSQL_SCHEMA_VERSION 2

/* Connect with conninfo ("" : libpq's PG* environment alone) and set the
 * search path to schema (created, and its tables created or migrated
 * forward, under a transaction lock so two executors connecting to a new
 * database at once make it once). NULL with why; a schema newer than
 * MK_PGSQL_SCHEMA_VERSION is refused naming both. */
PGconn *mk_pgsql_connect(const char *conninfo, const char *schema, char *why, size_t whylen);

/* Run sql with n text parameters (NULL: SQL NULL); lens may be NULL
 * (NUL-terminated). A result of status ok (PGRES_COMMAND_OK or
 * PGRES_TUPLES_OK), or NULL with why (the statement's first words and the
 * server's message). PQclear it. */
PGresult *mk_pgsql_exec(PGconn *c, const char *sql, int n, const char *const *params, const int *lens, char *why,
                        size_t whylen);
/* The same, keeping only whether it worked. */
bool mk_pgsql_do(PGconn *c, const char *sql, int n, const char *const *params, char *why, size_t whylen);
/* ROLLBACK, when a statement of a transaction failed (its why is kept). */
void mk_pgsql_rollback(PGconn *c);

#endif
