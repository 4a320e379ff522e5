/* backend_pg — the state in PostgreSQL, through libpq (runtime/backend.h;
 * the schema and its rules: docs/state.md). */
#include "runtime/backend_ops.h"

#include <stdio.h>

static bool pg_open(mk_backend *b, char *why, size_t whylen)
{
    (void)b;
    snprintf(why, whylen, "the postgres state backend is not built yet");
    return false;
}

static void pg_close(mk_backend *b) { (void)b; }

const mk_backend_ops mk_backend_pg_ops = {
    .kind = "postgres",
    .open = pg_open,
    .close = pg_close,
};
