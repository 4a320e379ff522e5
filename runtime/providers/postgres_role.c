/* postgres_role — (to be written: docs/providers.md, "The postgres provider"). */
#include "runtime/providers/postgres.h"

#include <stdio.h>

static mk_prov_status todo(mk_pgp *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    (void)p, (void)out;
    snprintf(why, whylen, "postgres: %s: %s is not supported yet", op->address, op->type);
    return MK_PROV_FAILED;
}

const mk_pgtype mk_prov_postgres_role_type = {"postgres.role", 0, todo, todo, todo, todo, NULL, NULL};
