/* postgres_role — what postgres.role's file offers beside its table
 * (mk_prov_postgres_role_type, declared in postgres.h with the others): the
 * comparison of a server's password verifier with a password, note [pg
 * password] in postgres_role.c. */
#ifndef MK_PROV_POSTGRES_ROLE_H
#define MK_PROV_POSTGRES_ROLE_H

/* Is the server's verifier (pg_authid.rolpassword) made from password?
 * CANNOT: it cannot be told (a non-ASCII password, whose SASLprep moksha
 * does not redo, or a failure of the digest). Anything but a SCRAM-SHA-256
 * verifier in PostgreSQL's form, or one of more than 1,000,000 iterations
 * (no client writes that many: computing it would only stall the read),
 * DIFFERS. */
typedef enum { MK_PGSCRAM_SAME, MK_PGSCRAM_DIFFERS, MK_PGSCRAM_CANNOT } mk_pgscram;
mk_pgscram mk_prov_postgres_role_scram_compare(const char *verifier, const char *password);

#endif
