/* postgres_database — postgres.database (docs/providers.md, "The postgres
 * provider"): a database of the server, made under a staging name so that
 * it never exists under its own name without its owner tag (note [pg
 * staging]), changed in place (owner, connection limit, whether it takes
 * connections), dropped only when this stack made it. What is inside a
 * database is the other types' (schemas, extensions, grants). A dropped
 * database's data cannot come back: the type has no MK_PROV_CAN_RECREATE. */
#include "runtime/providers/postgres.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/sha256.h"


/* note [pg staging]: CREATE DATABASE cannot run in a transaction, so the
 * owner tag (note [pg owner]) cannot be written with it: a crash between
 * the two would leave an untagged database under the name, which the next
 * run must call foreign. So a database is made as
 * mk_stage_<16 hex of SHA-256(stack_id "\n" address)>, owned by the
 * connection's user; then one transaction gives it its owner and its tag
 * and renames it to its name. A crash leaves either the database, whole,
 * or an untagged staging database of the connection user's — never one a
 * role of the spec owns, which would keep the rollback (or a destroy) from
 * dropping that role. The name under which it is
 * made is this stack's and this address's alone, and no spec can name a
 * database mk_stage_… (the type refuses it): a create finding one there
 * (untagged, or tagged by this stack) finds what a crash of its own left,
 * drops it and begins again. */
static void staging_name(const mk_prov_op *op, char out[32])
{
    const char *stack = op->stack_id ? op->stack_id : "";
    const void *parts[] = {stack, "\n", op->address};
    const size_t len[] = {strlen(stack), 1, strlen(op->address)};
    char hex[65];
    mk_sha256_hex_parts(3, parts, len, hex);
    snprintf(out, 32, "mk_stage_%.16s", hex);
}

static const char *db_name(const mk_prov_op *op)
{
    return op->import_id ? op->import_id : mk_prov_postgres_str(op->attrs, "name");
}

/* "VERB DATABASE name" begun in b (note [pg sql]). */
static void head(mk_pgsql *b, PGconn *c, const char *verb, const char *name)
{
    mk_prov_postgres_sql_add(b, verb);
    mk_prov_postgres_sql_add(b, " DATABASE ");
    mk_prov_postgres_sql_ident(b, c, name);
}

/* "VERB DATABASE name REST" run, rest a fixed text. */
static mk_prov_status on_db(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *what, const char *verb,
                            const char *name, const char *rest, char *why, size_t whylen)
{
    mk_pgsql b = {0};
    head(&b, c, verb, name);
    mk_prov_postgres_sql_add(&b, rest);
    return mk_prov_postgres_sql_run(p, c, op, what, &b, why, whylen);
}

/* b run when st is OK, else let go. */
static mk_prov_status run(mk_pgp *p, PGconn *c, const mk_prov_op *op, mk_prov_status st, const char *what,
                          mk_pgsql *b, char *why, size_t whylen)
{
    if (st == MK_PROV_OK)
        return mk_prov_postgres_sql_run(p, c, op, what, b, why, whylen);
    mk_prov_postgres_sql_free(b);
    return st;
}

/* ---- the database as the server has it ---- */

static mk_prov_status look(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *name, PGresult **r, char *why,
                           size_t whylen)
{
    const char *sql = "SELECT pg_get_userbyid(datdba), pg_get_userbyid(datdba) = session_user, "
                      "pg_encoding_to_char(encoding), datcollate, datctype, datconnlimit, datallowconn "
                      "FROM pg_database WHERE datname = $1";
    return mk_prov_postgres_exec(p, c, op, "look up the database", sql, 1, (const char *[]){name}, r, why, whylen);
}

static mk_prov_status whose(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *name, mk_pgwho *who, char *why,
                            size_t whylen)
{
    return mk_prov_postgres_whose(p, c, op,
                                  "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1", 1,
                                  (const char *[]){name}, who, why, whylen);
}

/* An encoding as PostgreSQL matches one: case and punctuation aside. */
static bool same_encoding(const char *a, const char *b)
{
    for (;; a++, b++) {
        while (*a && !((*a >= '0' && *a <= '9') || ((*a | 32) >= 'a' && (*a | 32) <= 'z')))
            a++;
        while (*b && !((*b >= '0' && *b <= '9') || ((*b | 32) >= 'a' && (*b | 32) <= 'z')))
            b++;
        if ((*a | 32) != (*b | 32))
            return false;
        if (!*a)
            return true;
    }
}

static json_t *rec(const mk_prov_op *op, const char *attr)
{
    return op->import_id ? NULL : json_object_get(op->attrs, attr);
}

/* The owner: null recorded and the connection's user holding it reads
 * null; a recorded name (or reference) as recorded while it is the owner. */
static json_t *owner_seen(const mk_prov_op *op, PGresult *r)
{
    json_t *v = rec(op, "owner");
    const char *held = PQgetvalue(r, 0, 0), *n = mk_prov_postgres_name(v);
    if ((!v || json_is_null(v)) && !op->import_id && PQgetvalue(r, 0, 1)[0] == 't')
        return json_null();
    return n && !strcmp(n, held) ? json_deep_copy(v) : json_string(held);
}

/* The locale: lc_collate and lc_ctype both; null recorded reads null (the
 * template's, whatever it was). */
static json_t *locale_seen(const mk_prov_op *op, PGresult *r)
{
    json_t *v = rec(op, "locale");
    const char *collate = PQgetvalue(r, 0, 3), *ctype = PQgetvalue(r, 0, 4);
    if (!op->import_id && (!v || json_is_null(v)))
        return json_null();
    if (json_is_string(v) && !strcmp(json_string_value(v), collate) && !strcmp(collate, ctype))
        return json_deep_copy(v);
    return json_string(collate);
}

/* The server does not keep the template a database was made from: a read
 * answers what was recorded (an import, the type's default). */
static json_t *view_of(const mk_prov_op *op, const char *name, PGresult *r)
{
    json_t *enc = rec(op, "encoding"), *tpl = rec(op, "template");
    const char *held = PQgetvalue(r, 0, 2);
    return json_pack("{s:s, s:o, s:o, s:o, s:o, s:I, s:b, s:s}", "name", name, "owner", owner_seen(op, r), "encoding",
                     json_is_string(enc) && same_encoding(json_string_value(enc), held) ? json_deep_copy(enc)
                                                                                        : json_string(held),
                     "locale", locale_seen(op, r), "template",
                     json_is_string(tpl) ? json_deep_copy(tpl) : json_string("template0"), "connection_limit",
                     (json_int_t)atoll(PQgetvalue(r, 0, 5)), "allow_connections", PQgetvalue(r, 0, 6)[0] == 't', "id",
                     name);
}

/* A session on the connection's own database for op's database (*name). */
static PGconn *session(mk_pgp *p, const mk_prov_op *op, const char **name, mk_prov_status *st, char *why,
                       size_t whylen)
{
    *name = db_name(op);
    if (!*name || !**name || strlen(*name) > 63 || !strncmp(*name, "mk_stage_", 9)) {
        *st = MK_PROV_FAILED;
        snprintf(why, whylen, "postgres: %s: %s", op->address,
                 !*name                      ? "no database name"
                 : !**name || strlen(*name) > 63 ? "a database name is 1 to 63 bytes"
                                             : "a database name cannot start with mk_stage_ (the executor's staging "
                                               "names)");
        return NULL;
    }
    return mk_prov_postgres_session(p, NULL, op, st, why, whylen);
}

static mk_prov_status rd(mk_pgp *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    const char *name;
    mk_prov_status st;
    PGconn *c = session(p, op, &name, &st, why, whylen);
    if (!c)
        return st;
    PGresult *r;
    *out = NULL;
    st = look(p, c, op, name, &r, why, whylen);
    if (st == MK_PROV_OK && PQntuples(r) == 1)
        *out = mk_prov_postgres_as_recorded(op, view_of(op, name, r));
    if (st == MK_PROV_OK)
        PQclear(r);
    mk_prov_postgres_release(p, NULL, c, st == MK_PROV_OK);
    return st;
}

/* ---- changes ---- */

static mk_prov_status tag(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *db, char *why, size_t whylen)
{
    char *t = mk_prov_postgres_tag(op, NULL);
    mk_pgsql b = {0};
    head(&b, c, "COMMENT ON", db);
    mk_prov_postgres_sql_clause(&b, c, "IS", t, false);
    free(t);
    return mk_prov_postgres_sql_run(p, c, op, "tag the database", &b, why, whylen);
}

/* What ALTER DATABASE can change, as one statement each, in a transaction. */
static mk_prov_status alter(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *name, char *why, size_t whylen)
{
    char rest[120];
    const char *owner = mk_prov_postgres_name(json_object_get(op->attrs, "owner"));
    mk_prov_status st = mk_prov_postgres_begin(p, c, op, why, whylen);
    mk_pgsql b = {0};
    head(&b, c, "ALTER", name);
    if (owner)
        mk_prov_postgres_sql_clause(&b, c, "OWNER TO", owner, true);
    else
        mk_prov_postgres_sql_add(&b, " OWNER TO SESSION_USER");
    st = run(p, c, op, st, "alter the database's owner", &b, why, whylen);
    if (st == MK_PROV_OK && mk_prov_postgres_injected(p, op, why, whylen))
        st = MK_PROV_FAILED;
    snprintf(rest, sizeof rest, " WITH CONNECTION LIMIT %lld ALLOW_CONNECTIONS %s",
             mk_prov_postgres_int(op->attrs, "connection_limit", -1),
             mk_prov_postgres_bool(op->attrs, "allow_connections", true) ? "true" : "false");
    if (st == MK_PROV_OK)
        st = on_db(p, c, op, "alter the database", "ALTER", name, rest, why, whylen);
    return mk_prov_postgres_done(p, NULL, c, op, st, why, whylen);
}

/* CREATE DATABASE's options for op->attrs; not the owner (note [pg
 * staging]). */
static void create_options(PGconn *c, const mk_prov_op *op, mk_pgsql *b)
{
    const char *enc = mk_prov_postgres_str(op->attrs, "encoding");
    const char *locale = mk_prov_postgres_str(op->attrs, "locale");
    const char *tpl = mk_prov_postgres_str(op->attrs, "template");
    char rest[120];
    mk_prov_postgres_sql_clause(b, c, "ENCODING", enc ? enc : "UTF8", false);
    if (locale)
        mk_prov_postgres_sql_clause(b, c, "LOCALE", locale, false);
    mk_prov_postgres_sql_clause(b, c, "TEMPLATE", tpl ? tpl : "template0", true);
    snprintf(rest, sizeof rest, " CONNECTION LIMIT %lld ALLOW_CONNECTIONS %s",
             mk_prov_postgres_int(op->attrs, "connection_limit", -1),
             mk_prov_postgres_bool(op->attrs, "allow_connections", true) ? "true" : "false");
    mk_prov_postgres_sql_add(b, rest);
}

/* note [pg staging]: what a crash of this address's create left under its
 * staging name is dropped; anything else there is refused. */
static mk_prov_status clear_stage(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *stage, char *why,
                                  size_t whylen)
{
    mk_pgwho who;
    mk_prov_status st = whose(p, c, op, stage, &who, why, whylen);
    if (st != MK_PROV_OK || !who.there)
        return st;
    if (who.own == MK_PGOWN_OTHER)
        return snprintf(why, whylen, "postgres: %s: database %s, this address's staging name, is another stack's: "
                        "not dropped", op->address, stage), MK_PROV_FAILED;
    mk_prov_postgres_forget(p, stage);
    return on_db(p, c, op, "drop what a crash left under the staging name", "DROP", stage, " WITH (FORCE)", why,
                 whylen);
}

/* In one transaction: the staging database given its owner and tag,
 * and renamed to its name (note [pg staging]). */
static mk_prov_status finish(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *stage, const char *name,
                             char *why, size_t whylen)
{
    const char *owner = mk_prov_postgres_name(json_object_get(op->attrs, "owner"));
    mk_prov_status st = mk_prov_postgres_begin(p, c, op, why, whylen);
    mk_pgsql b = {0};
    if (owner) {
        head(&b, c, "ALTER", stage);
        mk_prov_postgres_sql_clause(&b, c, "OWNER TO", owner, true);
        st = run(p, c, op, st, "give the database its owner", &b, why, whylen);
    }
    if (st == MK_PROV_OK)
        st = tag(p, c, op, stage, why, whylen);
    head(&b, c, "ALTER", stage);
    mk_prov_postgres_sql_clause(&b, c, "RENAME TO", name, true);
    st = run(p, c, op, st, "rename the database from its staging name", &b, why, whylen);
    if (st == MK_PROV_OK)
        return mk_prov_postgres_exec(p, c, op, "commit", "COMMIT", 0, NULL, NULL, why, whylen);
    if (PQtransactionStatus(c) != PQTRANS_IDLE)
        PQclear(PQexec(c, "ROLLBACK"));
    return st;
}

static mk_prov_status make(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *name, char *why, size_t whylen)
{
    char stage[32], what[120];
    staging_name(op, stage);
    mk_prov_status st = clear_stage(p, c, op, stage, why, whylen);
    mk_pgsql b = {0};
    head(&b, c, "CREATE", stage);
    create_options(c, op, &b);
    snprintf(what, sizeof what, "create database %s (as %s)", name, stage);
    st = run(p, c, op, st, what, &b, why, whylen);
    /* a failure injected here leaves what a crash would: the staging
     * database, untagged and the connection user's */
    if (st != MK_PROV_OK)
        return st;
    if (mk_prov_postgres_injected(p, op, why, whylen))
        return MK_PROV_FAILED;
    st = finish(p, c, op, stage, name, why, whylen);
    /* a failure that is no crash leaves nothing (the next create would
     * clear it, but a role of the spec may be dropped first) */
    if (st != MK_PROV_OK && PQstatus(c) == CONNECTION_OK) {
        char w[8];
        mk_prov_postgres_forget(p, stage);
        on_db(p, c, op, "drop the staging database", "DROP", stage, " WITH (FORCE)", w, sizeof w);
    }
    return st;
}

/* note [pg hands off] for a database there, whatever its tag says: a template, the
 * connection's own database (the executor's way in) and one owned by a
 * role the connection's user is not a member of are never imported, taken
 * over, changed or dropped. */
static mk_prov_status manageable(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *name, char *why,
                                 size_t whylen)
{
    return mk_prov_postgres_hands_off(
        p, c, op, "database", name,
        "SELECT CASE WHEN datistemplate THEN 'a template database' WHEN datname = current_database() "
        "THEN 'the connection''s own database' WHEN NOT pg_has_role(current_user, datdba, 'MEMBER') "
        "THEN 'owned by a role the connection''s user is not a member of' END FROM pg_database WHERE datname = $1",
        1, (const char *[]){name}, why, whylen);
}

typedef mk_prov_status (*db_fn)(mk_pgp *p, PGconn **c, const mk_prov_op *op, const char *name, const mk_pgwho *who,
                                char *why, size_t whylen);

/* fn on a session, told whether the database is there and whose; a
 * function that gives the session back sets *c NULL. */
static mk_prov_status with_who(mk_pgp *p, const mk_prov_op *op, db_fn fn, json_t **out, char *why, size_t whylen)
{
    const char *name;
    mk_prov_status st = mk_prov_postgres_stacked(op, why, whylen);
    PGconn *c = st == MK_PROV_OK ? session(p, op, &name, &st, why, whylen) : NULL;
    if (!c)
        return st;
    mk_pgwho who;
    st = whose(p, c, op, name, &who, why, whylen);
    if (st == MK_PROV_OK && who.there)
        st = manageable(p, c, op, name, why, whylen);
    if (st == MK_PROV_OK)
        st = fn(p, &c, op, name, &who, why, whylen);
    if (c)
        mk_prov_postgres_release(p, NULL, c, st == MK_PROV_OK);
    if (st == MK_PROV_OK && out)
        *out = json_pack("{s:s}", "id", name);
    return st;
}

static mk_prov_status create_on(mk_pgp *p, PGconn **c, const mk_prov_op *op, const char *name, const mk_pgwho *who,
                                char *why, size_t whylen)
{
    if (!who->there)
        return make(p, *c, op, name, why, whylen);
    if (who->own == MK_PGOWN_NONE || who->own == MK_PGOWN_OTHER)
        return mk_prov_postgres_foreign(op, "database", name, why, whylen);
    /* made by this stack: an earlier run's is adopted, this run's own (a
     * retry) is not; both take the desired attributes */
    mk_prov_status st = alter(p, *c, op, name, why, whylen);
    *c = NULL;
    if (st == MK_PROV_OK && who->own == MK_PGOWN_EARLIER && op->adopted)
        *op->adopted = true;
    return st;
}

static mk_prov_status create(mk_pgp *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    return with_who(p, op, create_on, out, why, whylen);
}

static mk_prov_status update_on(mk_pgp *p, PGconn **c, const mk_prov_op *op, const char *name, const mk_pgwho *who,
                                char *why, size_t whylen)
{
    mk_prov_status st = mk_prov_postgres_mine(op, "database", name, who, why, whylen);
    if (st != MK_PROV_OK)
        return st;
    st = alter(p, *c, op, name, why, whylen);
    *c = NULL;
    return st;
}

static mk_prov_status update(mk_pgp *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    return with_who(p, op, update_on, out, why, whylen);
}

/* A database that is gone is deleted; one this stack did not make is not
 * dropped. Sessions others hold on it make the drop fail (the server's
 * message says so): moksha does not end them. */
static mk_prov_status del_on(mk_pgp *p, PGconn **c, const mk_prov_op *op, const char *name, const mk_pgwho *who,
                             char *why, size_t whylen)
{
    mk_prov_status st = mk_prov_postgres_ours(op, "database", name, who, why, whylen);
    if (st != MK_PROV_OK || !who->there)
        return st;
    if (mk_prov_postgres_injected(p, op, why, whylen))
        return MK_PROV_FAILED;
    char what[120];
    mk_prov_postgres_forget(p, name);
    snprintf(what, sizeof what, "drop database %s", name);
    return on_db(p, *c, op, what, "DROP", name, "", why, whylen);
}

static mk_prov_status del(mk_pgp *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    (void)out;
    return with_who(p, op, del_on, NULL, why, whylen);
}

/* Import: the database named import_id becomes this stack's — tagged when
 * it has no tag of moksha's, refused when another stack's. */
static mk_prov_status import_on(mk_pgp *p, PGconn **c, const mk_prov_op *op, const char *name, const mk_pgwho *who,
                                char *why, size_t whylen)
{
    const char *want = mk_prov_postgres_str(op->attrs, "name");
    if (want && strcmp(want, name) != 0)
        return snprintf(why, whylen, "postgres: import %s: the id %s is not the database the spec names (%s)",
                        op->address, name, want), MK_PROV_FAILED;
    bool retag;
    mk_prov_status st = mk_prov_postgres_importable(p, op, "database", name, who, &retag, why, whylen);
    return st == MK_PROV_OK && retag ? tag(p, *c, op, name, why, whylen) : st;
}

static mk_prov_status import(mk_pgp *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    return with_who(p, op, import_on, out, why, whylen);
}

/* Before the first step of a create: the connection's user may create
 * databases, the encoding is one the server knows, the template exists. */
static mk_prov_status check(mk_pgp *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    (void)out;
    const char *name;
    mk_prov_status st;
    PGconn *c = session(p, op, &name, &st, why, whylen);
    if (!c || !op->action || strcmp(op->action, "create") != 0) {
        if (c)
            mk_prov_postgres_release(p, NULL, c, true);
        return c ? MK_PROV_OK : st;
    }
    const char *enc = mk_prov_postgres_str(op->attrs, "encoding"), *tpl = mk_prov_postgres_str(op->attrs, "template");
    PGresult *r;
    st = mk_prov_postgres_exec(p, c, op, "check the database's settings",
                               "SELECT (SELECT rolsuper OR rolcreatedb FROM pg_roles WHERE rolname = current_user), "
                               "pg_char_to_encoding($1) >= 0, EXISTS (SELECT 1 FROM pg_database WHERE datname = $2)",
                               2, (const char *[]){enc ? enc : "UTF8", tpl ? tpl : "template0"}, &r, why, whylen);
    char problem[200] = "";
    if (st == MK_PROV_OK && PQgetvalue(r, 0, 0)[0] != 't')
        snprintf(problem, sizeof problem, "the user of connection %s cannot create databases (it needs CREATEDB)",
                 mk_prov_postgres_conn_name(p));
    else if (st == MK_PROV_OK && PQgetvalue(r, 0, 1)[0] != 't')
        snprintf(problem, sizeof problem, "the server knows no encoding %s", enc);
    else if (st == MK_PROV_OK && PQgetvalue(r, 0, 2)[0] != 't')
        snprintf(problem, sizeof problem, "the server has no template database %s", tpl);
    if (st == MK_PROV_OK)
        PQclear(r);
    return mk_prov_postgres_checked(p, c, op, st, problem, why, whylen);
}

const mk_pgtype mk_prov_postgres_database_type = {"postgres.database", 0, create, rd, update, del, import, check};
