/* postgres — the provider of roles, databases, schemas, extensions and
 * privileges on a PostgreSQL server (docs/providers.md, "The postgres
 * provider"), and of the abstract `database` on one ("Self-hosted
 * databases"). postgres.c is the provider: its constructor
 * (mk_prov_postgres_new, in provider.h), the dispatch of each operation to
 * its type, the sessions it keeps per database, and what every type shares,
 * declared here. Each type is a table of operations in a file of its own:
 *
 *   postgres_role.c       postgres.role
 *   postgres_database.c   postgres.database
 *   postgres_schema.c     postgres.schema, postgres.extension
 *   postgres_grant.c      postgres.grant, postgres.default_privileges
 *   postgres_selfhosted.c database (the abstract type, engine postgres)
 *
 * Every operation of a type gets the provider (mk_pgp) and the op, exactly
 * as mk_prov_fn; it takes a session with mk_prov_postgres_session, runs its
 * statements through mk_prov_postgres_exec (values as parameters; a name
 * in SQL only through mk_prov_postgres_ident), and gives the session back. */
#ifndef MK_PROV_POSTGRES_H
#define MK_PROV_POSTGRES_H

#include <jansson.h>
#include <libpq-fe.h>

#include "runtime/providers/provider.h"

typedef struct mk_pgp mk_pgp;

typedef mk_prov_status (*mk_pgp_fn)(mk_pgp *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen);

typedef struct mk_pgtype {
    const char *type;  /* "postgres.role", …, or "database" */
    unsigned caps;     /* MK_PROV_CAN_RECREATE, MK_PROV_KEEPS_IDS: what the rollback may count on */
    mk_pgp_fn create, read, update, del;
    mk_pgp_fn import;  /* NULL: cannot */
    mk_pgp_fn check;   /* NULL: nothing beyond the connection to check */
} mk_pgtype;

extern const mk_pgtype mk_prov_postgres_role_type;
extern const mk_pgtype mk_prov_postgres_database_type;
extern const mk_pgtype mk_prov_postgres_schema_type, mk_prov_postgres_schema_extension_type;
extern const mk_pgtype mk_prov_postgres_grant_type, mk_prov_postgres_grant_defaults_type;
extern const mk_pgtype mk_prov_postgres_selfhosted_type;

/* A session on database db (NULL: the connection's own database) for op:
 * taken from those kept, else made (by op->deadline_ms); its
 * statement_timeout set for op's deadline. NULL with a status (FAILED or
 * RETRYABLE) in *st and why ("postgres: ADDRESS: connection NAME: …"). */
PGconn *mk_prov_postgres_session(mk_pgp *p, const char *db, const mk_prov_op *op, mk_prov_status *st, char *why,
                                 size_t whylen);
/* Give it back: kept for the next call when ok and idle, else closed. */
void mk_prov_postgres_release(mk_pgp *p, const char *db, PGconn *c, bool ok);

/* Close every kept session on database db: a DROP or RENAME DATABASE
 * waits for no session of the provider's own. */
void mk_prov_postgres_forget(mk_pgp *p, const char *db);

/* Run sql with n text parameters (NULL: SQL NULL). MK_PROV_OK with *res
 * (when res is not NULL; PQclear it) or a status with why:
 * "postgres: ADDRESS: WHAT: the server says: MESSAGE (SQLSTATE)", WHAT a
 * few words of what was tried ("create role app"), never the statement's
 * text (it may hold a verifier) nor a parameter. */
mk_prov_status mk_prov_postgres_exec(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *what, const char *sql,
                                     int n, const char *const *params, PGresult **res, char *why, size_t whylen);

/* An identifier or a literal for SQL text, quoted by libpq
 * (PQescapeIdentifier, PQescapeLiteral); free with PQfreemem. NULL: out of
 * memory or an encoding libpq refuses. */
char *mk_prov_postgres_ident(PGconn *c, const char *name);
char *mk_prov_postgres_literal(PGconn *c, const char *text);

/* note [pg sql]: a utility statement (no parameters) built in a buffer
 * that grows, so no statement is ever cut short and sent: a cut can land
 * after a whole quoted name and make the statement act on another object.
 * A name longer than a PostgreSQL name (63 bytes), which the server would
 * cut itself, spoils it too: the name checked and the name acted on must
 * be one. A spoilt statement is refused, never run. */
typedef struct mk_pgsql {
    char *s;           /* NUL-terminated; NULL until something is added */
    size_t len, cap;
    const char *bad;   /* NULL, or why the statement cannot be made */
} mk_pgsql;
void mk_prov_postgres_sql_add(mk_pgsql *b, const char *text);
/* name quoted as an identifier (PQescapeIdentifier); over 63 bytes: bad */
void mk_prov_postgres_sql_ident(mk_pgsql *b, PGconn *c, const char *name);
/* text quoted as a literal (PQescapeLiteral), the quoted copy wiped */
void mk_prov_postgres_sql_literal(mk_pgsql *b, PGconn *c, const char *text);
/* " KEYWORD value", value quoted as an identifier (ident) or a literal */
void mk_prov_postgres_sql_clause(mk_pgsql *b, PGconn *c, const char *keyword, const char *value, bool ident);
/* Run it (mk_prov_postgres_exec, no parameters), or FAILED with why
 * "postgres: ADDRESS: WHAT: the statement cannot be made (WHY)"; then
 * wiped and freed (it may hold a verifier). */
mk_prov_status mk_prov_postgres_sql_run(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *what, mk_pgsql *b,
                                        char *why, size_t whylen);
void mk_prov_postgres_sql_free(mk_pgsql *b);

/* note [pg owner]: who made an object. Objects that take a COMMENT (role,
 * database, schema, extension) carry one moksha writes in the same
 * transaction as the object: {"moksha": {"stack": ID, "run": ID}}, plus
 * type-specific members (the self-hosted database's tags). */
typedef enum {
    MK_PGOWN_NONE,       /* no comment of moksha's: made outside moksha (foreign) */
    MK_PGOWN_OTHER,      /* another stack's */
    MK_PGOWN_EARLIER,    /* this stack's, an earlier run: adopt (*op->adopted) */
    MK_PGOWN_THIS_RUN    /* this very run (a retried call): not adopted, the undo deletes it */
} mk_pgown;
/* The comment text for op's object (a new string: free it); extra (may be
 * NULL) is merged in beside "moksha". */
char *mk_prov_postgres_tag(const mk_prov_op *op, json_t *extra);
/* Whose is the object with this comment (NULL: none)? Without a stack_id
 * nothing is this stack's (NONE or OTHER): unlike the sim, a real server
 * fails closed. */
mk_pgown mk_prov_postgres_owner(const mk_prov_op *op, const char *comment);
/* Is an object there, and whose? sql, run with its n parameters, answers
 * one row (the object's comment, or NULL) when it is there, none when it
 * is not. */
typedef struct mk_pgwho {
    bool there, tagged; /* tagged: it has a comment, moksha's or not */
    mk_pgown own;       /* NONE when it is not there */
} mk_pgwho;
mk_prov_status mk_prov_postgres_whose(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *sql, int n,
                                      const char *const *params, mk_pgwho *who, char *why, size_t whylen);
/* note [pg hands off] (postgres_role.c): what each type never imports,
 * takes over, changes or drops, whatever its tag says. sql, run with its n
 * parameters, answers one row whose first value says why the object named
 * name may not be touched ("a superuser"), or NULL (or no row) when it may:
 * FAILED with why "postgres: ADDRESS: WHAT NAME is WHY: moksha does not
 * import, …", else OK. */
mk_prov_status mk_prov_postgres_hands_off(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *what,
                                          const char *name, const char *sql, int n, const char *const *params,
                                          char *why, size_t whylen);

/* A change needs the stack it is made for: FAILED with why when op has no
 * stack_id (its tag would name nobody, and nothing could be told apart
 * from what others made), else OK. */
mk_prov_status mk_prov_postgres_stacked(const mk_prov_op *op, char *why, size_t whylen);
/* An update's rule: FAILED with why when the object is there and not this
 * stack's (made outside moksha, or again by someone else under the name;
 * another stack's), naming the import that would make it the stack's;
 * else OK. */
mk_prov_status mk_prov_postgres_mine(const mk_prov_op *op, const char *what, const char *id, const mk_pgwho *who,
                                     char *why, size_t whylen);
/* A delete's rule: FAILED with why when the object is there and not this
 * stack's (no tag of moksha's: made again by someone else under the name;
 * another stack's), else OK. what: "role", "database", … */
mk_prov_status mk_prov_postgres_ours(const mk_prov_op *op, const char *what, const char *id, const mk_pgwho *who,
                                     char *why, size_t whylen);
/* An import's rule: FAILED with why when the object is not there or is
 * another stack's, or a failure is injected; else OK, with *tag true when
 * the caller must write the owner tag (it has none of moksha's). */
mk_prov_status mk_prov_postgres_importable(mk_pgp *p, const mk_prov_op *op, const char *what, const char *id,
                                           const mk_pgwho *who, bool *tag, char *why, size_t whylen);
/* The failure a create of a foreign object gets, in why. */
mk_prov_status mk_prov_postgres_foreign(const mk_prov_op *op, const char *what, const char *id, char *why, size_t whylen);

/* The end of a type's check on session c (of the connection's own
 * database): c given back; FAILED with why "postgres: ADDRESS: PROBLEM"
 * when problem is not empty, else st. */
mk_prov_status mk_prov_postgres_checked(mk_pgp *p, PGconn *c, const mk_prov_op *op, mk_prov_status st,
                                        const char *problem, char *why, size_t whylen);

/* Fault injection (provider_postgres.fail_on): true, with why, when op's
 * address is listed; a change calls it after its first statement, so the
 * failure leaves what a crash there would. */
bool mk_prov_postgres_injected(mk_pgp *p, const mk_prov_op *op, char *why, size_t whylen);

/* Attributes of op->attrs (or another object): a string (NULL when
 * missing or null), a boolean and an integer with defaults. */
const char *mk_prov_postgres_str(json_t *attrs, const char *name);
bool mk_prov_postgres_bool(json_t *attrs, const char *name, bool dflt);
long long mk_prov_postgres_int(json_t *attrs, const char *name, long long dflt);

/* A name given as an attribute's value: a string, or a reference
 * ({"$ref": ADDRESS, "id": ID}: another resource of the stack, whose id is
 * its name); NULL otherwise. */
const char *mk_prov_postgres_name(json_t *v);
/* Does the array names hold name (as above)? */
bool mk_prov_postgres_has_name(json_t *names, const char *name);
/* Are a and b the same set of names (arrays of names as above, in any
 * order, repeats counting once)? */
bool mk_prov_postgres_same_names(json_t *a, json_t *b);
/* A read's answer from the object's whole view (taken): with
 * op->import_id, all of it; else only the attributes op->attrs records
 * (docs/providers.md, "What a read returns"). */
json_t *mk_prov_postgres_as_recorded(const mk_prov_op *op, json_t *view);

/* A transaction on c: BEGIN, and the end of one — COMMIT when st is
 * MK_PROV_OK (its failure becomes the status), else ROLLBACK — then the
 * session given back (kept only when all went well). mk_prov_postgres_done
 * returns the final status. */
mk_prov_status mk_prov_postgres_begin(mk_pgp *p, PGconn *c, const mk_prov_op *op, char *why, size_t whylen);
mk_prov_status mk_prov_postgres_done(mk_pgp *p, const char *db, PGconn *c, const mk_prov_op *op, mk_prov_status st,
                                     char *why, size_t whylen);

/* The connection's name and its settings in the executor's configuration,
 * and the pgconn, for what a type needs of them (the self-hosted
 * database's attestations, the endpoint). */
const struct mk_config_conn *mk_prov_postgres_conn(const mk_pgp *p);
const char *mk_prov_postgres_conn_name(const mk_pgp *p);
struct mk_pgconn *mk_prov_postgres_pgconn(const mk_pgp *p);
/* The server's version (server_version_num, e.g. 150008) of any session. */
int mk_prov_postgres_server_version(const mk_pgp *p);

#endif
