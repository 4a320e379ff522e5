/* postgres_schema — postgres.schema and postgres.extension (docs/
 * providers.md, "The postgres provider"): objects of one database, each
 * changed in that database's session, in one transaction with its owner
 * tag (note [pg owner]). Their id is DATABASE/NAME. A drop is RESTRICT:
 * what others put in a schema, or made depend on an extension, makes it
 * fail with the server's word, never disappear with it. Privileges on them
 * are the grants'. */
#include "runtime/providers/postgres.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


typedef struct kind {
    const char *word;  /* "schema": messages */
    const char *sql;   /* "SCHEMA": statements */
    const char *whose; /* its comment by name ($1) */
    /* bring the object there (made now when !there) to op->attrs */
    mk_prov_status (*shape)(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *name, bool there, char *why,
                            size_t whylen);
    /* its row by name ($1) for view */
    const char *look;
    json_t *(*view)(const mk_prov_op *op, const char *db, const char *name, PGresult *r);
    /* by name ($1): why moksha may not manage it, or NULL */
    const char *manage;
} kind;

/* ---- names ---- */

/* The database and the object's name: from the attributes, or an
 * import's id DATABASE/NAME (split at the first slash). */
static bool names(const mk_prov_op *op, char *db, char *name, size_t n)
{
    if (op->import_id) {
        const char *slash = strchr(op->import_id, '/');
        if (!slash || slash == op->import_id || !slash[1] || (size_t)(slash - op->import_id) >= n)
            return false;
        snprintf(db, n, "%.*s", (int)(slash - op->import_id), op->import_id);
        return snprintf(name, n, "%s", slash + 1) < (int)n;
    }
    const char *d = mk_prov_postgres_name(json_object_get(op->attrs, "database"));
    const char *o = mk_prov_postgres_str(op->attrs, "name");
    return d && o && snprintf(db, n, "%s", d) < (int)n && snprintf(name, n, "%s", o) < (int)n;
}

static json_t *id_of(const char *db, const char *name) { return json_sprintf("%s/%s", db, name); }

/* "HEAD KIND name REST" run as one statement; rest (NULL: none) let go. */
static mk_prov_status stmt(mk_pgp *p, PGconn *c, const mk_prov_op *op, const kind *k, const char *head,
                           const char *name, mk_pgsql *rest, char *why, size_t whylen)
{
    char what[160];
    snprintf(what, sizeof what, "%s %s %.63s", head, k->word, name);
    for (char *w = what; *w; w++)
        *w = (char)(*w >= 'A' && *w <= 'Z' ? *w + 32 : *w);
    mk_pgsql b = {0};
    mk_prov_postgres_sql_add(&b, head);
    mk_prov_postgres_sql_add(&b, " ");
    mk_prov_postgres_sql_add(&b, k->sql);
    mk_prov_postgres_sql_add(&b, " ");
    mk_prov_postgres_sql_ident(&b, c, name);
    if (rest && rest->bad && !b.bad)
        b.bad = rest->bad;
    if (rest && rest->s)
        mk_prov_postgres_sql_add(&b, rest->s);
    if (rest)
        mk_prov_postgres_sql_free(rest);
    return mk_prov_postgres_sql_run(p, c, op, what, &b, why, whylen);
}

/* ---- schema ---- */

static mk_prov_status schema_shape(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *name, bool there,
                                   char *why, size_t whylen);
static json_t *schema_view(const mk_prov_op *op, const char *db, const char *name, PGresult *r);

static const kind SCHEMA = {"schema", "SCHEMA", "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace "
                                                "WHERE nspname = $1",
                            schema_shape,
                            "SELECT pg_get_userbyid(nspowner), pg_get_userbyid(nspowner) = session_user "
                            "FROM pg_namespace WHERE nspname = $1",
                            schema_view,
                            "SELECT CASE WHEN nspname LIKE 'pg\\_%' OR nspname = 'information_schema' "
                            "THEN 'a system schema' WHEN NOT pg_has_role(current_user, nspowner, 'MEMBER') "
                            "THEN 'owned by a role the connection''s user is not a member of' END "
                            "FROM pg_namespace WHERE nspname = $1"};

static mk_prov_status schema_shape(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *name, bool there,
                                   char *why, size_t whylen)
{
    const char *owner = mk_prov_postgres_name(json_object_get(op->attrs, "owner"));
    mk_pgsql rest = {0};
    if (owner)
        mk_prov_postgres_sql_clause(&rest, c, there ? "OWNER TO" : "AUTHORIZATION", owner, true);
    else if (there)
        mk_prov_postgres_sql_add(&rest, " OWNER TO SESSION_USER");
    return stmt(p, c, op, &SCHEMA, there ? "ALTER" : "CREATE", name, &rest, why, whylen);
}

static json_t *schema_view(const mk_prov_op *op, const char *db, const char *name, PGresult *r)
{
    json_t *rec = op->import_id ? NULL : json_object_get(op->attrs, "owner");
    const char *held = PQgetvalue(r, 0, 0), *n = mk_prov_postgres_name(rec);
    json_t *owner = !op->import_id && (!rec || json_is_null(rec)) && PQgetvalue(r, 0, 1)[0] == 't' ? json_null()
                    : n && !strcmp(n, held)                                                       ? json_deep_copy(rec)
                                                                                                  : json_string(held);
    json_t *dbv = op->import_id ? NULL : json_object_get(op->attrs, "database");
    return json_pack("{s:o, s:s, s:o, s:o}", "database", dbv ? json_deep_copy(dbv) : json_string(db), "name", name,
                     "owner", owner, "id", id_of(db, name));
}

/* ---- extension ---- */

static mk_prov_status ext_shape(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *name, bool there, char *why,
                                size_t whylen);
static json_t *ext_view(const mk_prov_op *op, const char *db, const char *name, PGresult *r);

static const kind EXTENSION = {"extension", "EXTENSION",
                               "SELECT obj_description(oid, 'pg_extension') FROM pg_extension WHERE extname = $1",
                               ext_shape,
                               "SELECT n.nspname, e.extversion FROM pg_extension e JOIN pg_namespace n "
                               "ON n.oid = e.extnamespace WHERE e.extname = $1",
                               ext_view,
                               "SELECT CASE WHEN NOT pg_has_role(current_user, extowner, 'MEMBER') "
                               "THEN 'owned by a role the connection''s user is not a member of' END "
                               "FROM pg_extension WHERE extname = $1"};

/* An extension there is moved to its schema and updated to its version
 * when they differ (ALTER EXTENSION … SET SCHEMA, UPDATE TO). */
static mk_prov_status ext_alter(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *name, char *why,
                                size_t whylen)
{
    const char *schema = mk_prov_postgres_name(json_object_get(op->attrs, "schema"));
    const char *version = mk_prov_postgres_str(op->attrs, "version");
    PGresult *r;
    mk_prov_status st = mk_prov_postgres_exec(p, c, op, "look up the extension", EXTENSION.look, 1,
                                              (const char *[]){name}, &r, why, whylen);
    if (st != MK_PROV_OK)
        return st;
    bool move = schema && PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), schema) != 0;
    bool up = version && PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 1), version) != 0;
    PQclear(r);
    mk_pgsql rest = {0};
    if (move) {
        mk_prov_postgres_sql_clause(&rest, c, "SET SCHEMA", schema, true);
        st = stmt(p, c, op, &EXTENSION, "ALTER", name, &rest, why, whylen);
    }
    if (st == MK_PROV_OK && up) {
        mk_prov_postgres_sql_clause(&rest, c, "UPDATE TO", version, false);
        st = stmt(p, c, op, &EXTENSION, "ALTER", name, &rest, why, whylen);
    }
    return st;
}

static mk_prov_status ext_shape(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *name, bool there, char *why,
                                size_t whylen)
{
    if (there)
        return ext_alter(p, c, op, name, why, whylen);
    const char *schema = mk_prov_postgres_name(json_object_get(op->attrs, "schema"));
    const char *version = mk_prov_postgres_str(op->attrs, "version");
    mk_pgsql rest = {0};
    if (schema)
        mk_prov_postgres_sql_clause(&rest, c, "SCHEMA", schema, true);
    if (version)
        mk_prov_postgres_sql_clause(&rest, c, "VERSION", version, false);
    return stmt(p, c, op, &EXTENSION, "CREATE", name, &rest, why, whylen);
}

/* schema and version recorded null (the server's choice, the default) read
 * null; recorded, as the server has them. */
static json_t *ext_view(const mk_prov_op *op, const char *db, const char *name, PGresult *r)
{
    json_t *rs = op->import_id ? NULL : json_object_get(op->attrs, "schema");
    json_t *rv = op->import_id ? NULL : json_object_get(op->attrs, "version");
    const char *schema = PQgetvalue(r, 0, 0), *version = PQgetvalue(r, 0, 1), *n = mk_prov_postgres_name(rs);
    json_t *dbv = op->import_id ? NULL : json_object_get(op->attrs, "database");
    return json_pack("{s:o, s:s, s:o, s:o, s:o}", "database", dbv ? json_deep_copy(dbv) : json_string(db), "name",
                     name, "schema",
                     !op->import_id && (!rs || json_is_null(rs)) ? json_null()
                     : n && !strcmp(n, schema)                   ? json_deep_copy(rs)
                                                                 : json_string(schema),
                     "version", !op->import_id && (!rv || json_is_null(rv)) ? json_null() : json_string(version), "id",
                     id_of(db, name));
}

/* ---- operations, shared ---- */

/* Does database db exist (asked on the connection's own database)? */
static mk_prov_status db_exists(mk_pgp *p, const mk_prov_op *op, const char *db, bool *yes, char *why, size_t whylen)
{
    mk_prov_status st;
    PGconn *c = mk_prov_postgres_session(p, NULL, op, &st, why, whylen);
    if (!c)
        return st;
    PGresult *r;
    st = mk_prov_postgres_exec(p, c, op, "look up the database", "SELECT 1 FROM pg_database WHERE datname = $1", 1,
                               (const char *[]){db}, &r, why, whylen);
    if (st == MK_PROV_OK) {
        *yes = PQntuples(r) == 1;
        PQclear(r);
    }
    mk_prov_postgres_release(p, NULL, c, st == MK_PROV_OK);
    return st;
}

/* A session on the object's database. NULL with *st: OK and *gone when
 * that database does not exist (so neither does the object). */
static PGconn *session(mk_pgp *p, const mk_prov_op *op, char *db, char *name, bool *gone, mk_prov_status *st,
                       char *why, size_t whylen)
{
    *gone = false;
    if (!names(op, db, name, 64)) {
        *st = MK_PROV_FAILED;
        snprintf(why, whylen, "postgres: %s: %s", op->address,
                 op->import_id ? "an id is DATABASE/NAME" : "no database or name, or one over 63 bytes");
        return NULL;
    }
    PGconn *c = mk_prov_postgres_session(p, db, op, st, why, whylen);
    bool there = true;
    /* however the failed connect is classified, a database that does not
     * exist holds no object */
    char w[8];
    if (!c && db_exists(p, op, db, &there, w, sizeof w) == MK_PROV_OK && !there) {
        *gone = true;
        *st = MK_PROV_OK;
    }
    return c;
}

static mk_prov_status rd(mk_pgp *p, const mk_prov_op *op, const kind *k, json_t **out, char *why, size_t whylen)
{
    char db[64], name[64];
    bool gone;
    mk_prov_status st;
    *out = NULL;
    PGconn *c = session(p, op, db, name, &gone, &st, why, whylen);
    if (!c)
        return st;
    PGresult *r;
    st = mk_prov_postgres_exec(p, c, op, "look up the object", k->look, 1, (const char *[]){name}, &r, why, whylen);
    if (st == MK_PROV_OK && PQntuples(r) == 1)
        *out = mk_prov_postgres_as_recorded(op, k->view(op, db, name, r));
    if (st == MK_PROV_OK)
        PQclear(r);
    mk_prov_postgres_release(p, db, c, st == MK_PROV_OK);
    return st;
}

typedef enum { CREATE, UPDATE, DELETE, IMPORT } act;

static mk_prov_status tag(mk_pgp *p, PGconn *c, const mk_prov_op *op, const kind *k, const char *name, char *why,
                          size_t whylen)
{
    char *t = mk_prov_postgres_tag(op, NULL);
    mk_pgsql rest = {0};
    mk_prov_postgres_sql_clause(&rest, c, "IS", t, false);
    free(t);
    return stmt(p, c, op, k, "COMMENT ON", name, &rest, why, whylen);
}

static mk_prov_status create_in(mk_pgp *p, PGconn *c, const mk_prov_op *op, const kind *k, const char *name,
                                const char *id, const mk_pgwho *who, char *why, size_t whylen)
{
    if (who->there && (who->own == MK_PGOWN_NONE || who->own == MK_PGOWN_OTHER))
        return mk_prov_postgres_foreign(op, k->word, id, why, whylen);
    mk_prov_status st = k->shape(p, c, op, name, who->there, why, whylen);
    if (st == MK_PROV_OK && mk_prov_postgres_injected(p, op, why, whylen))
        st = MK_PROV_FAILED;
    if (st == MK_PROV_OK && !who->there)
        st = tag(p, c, op, k, name, why, whylen);
    if (st == MK_PROV_OK && who->own == MK_PGOWN_EARLIER && op->adopted)
        *op->adopted = true;
    return st;
}

/* An import's id must be the object the spec names there. */
static mk_prov_status named(const mk_prov_op *op, const kind *k, const char *db, const char *name, char *why,
                            size_t whylen)
{
    const char *d = mk_prov_postgres_name(json_object_get(op->attrs, "database"));
    const char *n = mk_prov_postgres_str(op->attrs, "name");
    if ((!d || !strcmp(d, db)) && (!n || !strcmp(n, name)))
        return MK_PROV_OK;
    snprintf(why, whylen, "postgres: import %s: the id %s is not the %s the spec names (%s/%s)", op->address,
             op->import_id, k->word, d ? d : db, n ? n : name);
    return MK_PROV_FAILED;
}

static mk_prov_status change_in(mk_pgp *p, PGconn *c, const mk_prov_op *op, const kind *k, act a, const char *db,
                                const char *name, const mk_pgwho *who, char *why, size_t whylen)
{
    mk_prov_status st;
    bool retag;
    char id[130];
    snprintf(id, sizeof id, "%s/%s", db, name);
    switch (a) {
    case CREATE:
        return create_in(p, c, op, k, name, id, who, why, whylen);
    case UPDATE:
        st = mk_prov_postgres_mine(op, k->word, id, who, why, whylen);
        if (st == MK_PROV_OK)
            st = k->shape(p, c, op, name, who->there, why, whylen);
        return st == MK_PROV_OK && mk_prov_postgres_injected(p, op, why, whylen) ? MK_PROV_FAILED : st;
    case DELETE:
        st = mk_prov_postgres_ours(op, k->word, id, who, why, whylen);
        if (st != MK_PROV_OK || !who->there)
            return st;
        st = stmt(p, c, op, k, "DROP", name, NULL, why, whylen);
        return st == MK_PROV_OK && mk_prov_postgres_injected(p, op, why, whylen) ? MK_PROV_FAILED : st;
    case IMPORT:
        st = named(op, k, db, name, why, whylen);
        if (st == MK_PROV_OK)
            st = mk_prov_postgres_importable(p, op, k->word, id, who, &retag, why, whylen);
        return st == MK_PROV_OK && retag ? tag(p, c, op, k, name, why, whylen) : st;
    }
    return MK_PROV_FAILED;
}

/* note [pg hands off] for an object there, whatever its tag says: one owned by a
 * role the connection's user is not a member of (and a system schema) is
 * never imported, taken over, changed or dropped. */
static mk_prov_status manageable(mk_pgp *p, PGconn *c, const mk_prov_op *op, const kind *k, const char *name,
                                 char *why, size_t whylen)
{
    return mk_prov_postgres_hands_off(p, c, op, k->word, name, k->manage, 1, (const char *[]){name}, why, whylen);
}

/* One transaction in the object's database: a. */
static mk_prov_status change(mk_pgp *p, const mk_prov_op *op, const kind *k, act a, json_t **out, char *why,
                             size_t whylen)
{
    char db[64], name[64];
    bool gone = false;
    mk_prov_status st = mk_prov_postgres_stacked(op, why, whylen);
    PGconn *c = st == MK_PROV_OK ? session(p, op, db, name, &gone, &st, why, whylen) : NULL;
    if (!c && gone && a != DELETE)
        st = (snprintf(why, whylen, "postgres: %s: database %s does not exist", op->address, db), MK_PROV_FAILED);
    if (!c)
        return st;
    mk_pgwho who;
    st = mk_prov_postgres_begin(p, c, op, why, whylen);
    if (st == MK_PROV_OK)
        st = mk_prov_postgres_whose(p, c, op, k->whose, 1, (const char *[]){name}, &who, why, whylen);
    if (st == MK_PROV_OK && who.there)
        st = manageable(p, c, op, k, name, why, whylen);
    if (st == MK_PROV_OK)
        st = change_in(p, c, op, k, a, db, name, &who, why, whylen);
    st = mk_prov_postgres_done(p, db, c, op, st, why, whylen);
    if (st == MK_PROV_OK && out && a != DELETE)
        *out = json_pack("{s:o}", "id", id_of(db, name));
    return st;
}

/* ---- the tables ---- */

#define OPS(PFX, K)                                                                                                 \
    static mk_prov_status PFX##_create(mk_pgp *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)     \
    {                                                                                                               \
        return change(p, op, &K, CREATE, out, why, whylen);                                                         \
    }                                                                                                               \
    static mk_prov_status PFX##_read(mk_pgp *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)       \
    {                                                                                                               \
        return rd(p, op, &K, out, why, whylen);                                                                     \
    }                                                                                                               \
    static mk_prov_status PFX##_update(mk_pgp *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)     \
    {                                                                                                               \
        return change(p, op, &K, UPDATE, out, why, whylen);                                                         \
    }                                                                                                               \
    static mk_prov_status PFX##_del(mk_pgp *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)        \
    {                                                                                                               \
        return change(p, op, &K, DELETE, out, why, whylen);                                                         \
    }                                                                                                               \
    static mk_prov_status PFX##_import(mk_pgp *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)     \
    {                                                                                                               \
        return change(p, op, &K, IMPORT, out, why, whylen);                                                         \
    }
OPS(schema, SCHEMA)
OPS(ext, EXTENSION)

/* Before an extension's create: the server has it, in that version. */
static mk_prov_status ext_check(mk_pgp *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    (void)out;
    const char *name = mk_prov_postgres_str(op->attrs, "name"), *version = mk_prov_postgres_str(op->attrs, "version");
    if (!name || !op->action || (strcmp(op->action, "create") && strcmp(op->action, "update")))
        return MK_PROV_OK;
    mk_prov_status st;
    PGconn *c = mk_prov_postgres_session(p, NULL, op, &st, why, whylen);
    if (!c)
        return st;
    PGresult *r;
    st = mk_prov_postgres_exec(p, c, op, "look up the extension's versions",
                               "SELECT count(*) > 0, coalesce(bool_or(version = $2), $2 IS NULL) "
                               "FROM pg_available_extension_versions WHERE name = $1", 2,
                               (const char *[]){name, version}, &r, why, whylen);
    char problem[200] = "";
    if (st == MK_PROV_OK && PQgetvalue(r, 0, 0)[0] != 't')
        snprintf(problem, sizeof problem, "the server has no extension %s to install", name);
    else if (st == MK_PROV_OK && PQgetvalue(r, 0, 1)[0] != 't')
        snprintf(problem, sizeof problem, "the server has no version %s of extension %s", version, name);
    if (st == MK_PROV_OK)
        PQclear(r);
    return mk_prov_postgres_checked(p, c, op, st, problem, why, whylen);
}

const mk_pgtype mk_prov_postgres_schema_type = {"postgres.schema", MK_PROV_CAN_RECREATE | MK_PROV_KEEPS_IDS,
                                                schema_create, schema_read, schema_update, schema_del, schema_import,
                                                NULL};

const mk_pgtype mk_prov_postgres_schema_extension_type = {"postgres.extension", MK_PROV_CAN_RECREATE | MK_PROV_KEEPS_IDS,
                                                          ext_create, ext_read, ext_update, ext_del, ext_import,
                                                          ext_check};
