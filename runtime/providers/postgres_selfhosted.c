/* postgres_selfhosted — the abstract `database` on a PostgreSQL server
 * (docs/providers.md, "Self-hosted databases"): for a stack whose
 * `provider postgres { databases = true }` makes its databases land on a
 * connection rather than a cloud. Each is an owner role (`username`,
 * `password`) and a database of that name's owner, made, read, changed and
 * dropped through the postgres.role and postgres.database types
 * themselves (a sub-operation at the same address, so the password opens
 * where it was sealed, fault injection and the owner tags are theirs);
 * this file adds what only the abstract type has: the name on the server
 * (`db_name`, else the resource's name), `flags` as ALTER DATABASE … SET,
 * `tags` beside the owner tag in the database's comment, the computed
 * endpoint and port, deletion_protection, and the check that the server
 * vouches, in the executor's configuration (connections.NAME.self_hosted),
 * for every property the spec asks of it.
 *
 * Not for: what a cloud sells and a server cannot enforce (a customer key,
 * replicas, an instance class, a network): the check refuses those before
 * the first step. A dropped database's data cannot come back: no
 * MK_PROV_CAN_RECREATE. */
#include "runtime/providers/postgres.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/clock.h"
#include "runtime/config.h"
#include "runtime/pgconn.h"

/* ---- names and the sub-operations ---- */

/* The database's name on the server: db_name, else the resource's name
 * (what follows the last `database.` of the address) with [ ] " . made _. */
static void name_of(json_t *attrs, const char *address, char out[128])
{
    const char *given = mk_prov_postgres_str(attrs, "db_name"), *s = address, *t;
    if (given) {
        snprintf(out, 128, "%s", given);
        return;
    }
    for (t = strstr(address, "database."); t; t = strstr(t + 1, "database."))
        if (t == address || t[-1] == '.')
            s = t + 9;
    snprintf(out, 128, "%s", s);
    for (char *c = out; *c; c++)
        if (strchr("[]\".", *c))
            *c = '_';
}

static json_t *or_null(json_t *v) { return v ? json_incref(v) : json_null(); }

/* The owner role, as postgres.role records it. */
static json_t *role_attrs(json_t *a)
{
    return json_pack("{s:o, s:b, s:o, s:i, s:b, s:b, s:b, s:[], s:n}", "name", or_null(json_object_get(a, "username")),
                     "login", 1, "password", or_null(json_object_get(a, "password")), "connection_limit", -1,
                     "createdb", 0, "createrole", 0, "inherit", 1, "member_of", "valid_until");
}

/* The database, as postgres.database records it, owned by the role. */
static json_t *db_attrs(json_t *a, const char *name)
{
    return json_pack("{s:s, s:o, s:s, s:n, s:s, s:i, s:b}", "name", name, "owner",
                     or_null(json_object_get(a, "username")), "encoding", "UTF8", "locale", "template", "template0",
                     "connection_limit", -1, "allow_connections", 1);
}

/* op as the role's or the database's own operation: same address, keys,
 * deadline, owners and action; attrs (and prior) of that type. */
static mk_prov_op sub(const mk_prov_op *op, const mk_pgtype *t, json_t *attrs, json_t *prior, bool *adopted)
{
    mk_prov_op s = *op;
    s.type = t->type;
    s.attrs = attrs;
    s.prior = prior;
    s.adopted = adopted;
    return s;
}

/* Call type t's fn for op with the attributes made by mk (of op->attrs,
 * and of op->prior as the prior). */
static mk_prov_status call(mk_pgp *p, const mk_prov_op *op, const mk_pgtype *t, mk_pgp_fn fn, const char *name,
                           json_t **out, bool *adopted, char *why, size_t whylen)
{
    bool role = t == &mk_prov_postgres_role_type;
    json_t *a = role ? role_attrs(op->attrs) : db_attrs(op->attrs, name);
    json_t *pr = op->prior ? (role ? role_attrs(op->prior) : db_attrs(op->prior, name)) : NULL;
    mk_prov_op s = sub(op, t, a, pr, adopted);
    json_t *o = NULL;
    mk_prov_status st = fn(p, &s, &o, why, whylen);
    if (out)
        *out = o;
    else
        json_decref(o);
    json_decref(a), json_decref(pr);
    return st;
}

/* ---- flags and tags (in the connection's own database: both are the
 * server's catalogs, pg_db_role_setting and pg_shdescription) ---- */

static mk_prov_status one(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *what, const char *sql, int n,
                          const char *const *params, char **val, char *why, size_t whylen)
{
    PGresult *r;
    mk_prov_status st = mk_prov_postgres_exec(p, c, op, what, sql, n, params, &r, why, whylen);
    *val = st == MK_PROV_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) ? strdup(PQgetvalue(r, 0, 0)) : NULL;
    PQclear(r);
    return st;
}

/* The database's own settings, {"work_mem": "64MB"} (an empty map: none). */
static mk_prov_status flags_held(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *name, json_t **flags,
                                 char *why, size_t whylen)
{
    static const char *const sql =
        "SELECT coalesce(json_object_agg(split_part(x, '=', 1), substr(x, strpos(x, '=') + 1)), '{}')::text FROM "
        "pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase, unnest(s.setconfig) x "
        "WHERE d.datname = $1 AND s.setrole = 0";
    char *v;
    mk_prov_status st = one(p, c, op, "read the database's settings", sql, 1, (const char *[]){name}, &v, why, whylen);
    *flags = v ? json_loads(v, 0, NULL) : NULL;
    free(v);
    if (st == MK_PROV_OK && !*flags)
        *flags = json_object();
    return st;
}

/* ALTER DATABASE "d" SET "k" TO 'v' for each flag, RESET for each held
 * and not listed: the map is exact. */
static mk_prov_status flags_set(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *name, char *why, size_t whylen)
{
    json_t *want = json_object_get(op->attrs, "flags"), *held = NULL, *v;
    mk_prov_status st = flags_held(p, c, op, name, &held, why, whylen);
    const char *k;
    char *db = mk_prov_postgres_ident(c, name);
    json_object_foreach(held, k, v)
        if (st == MK_PROV_OK && !json_object_get(want, k)) {
            char *key = mk_prov_postgres_ident(c, k), *sql = NULL; /* never a statement cut short */
            if (db && key && asprintf(&sql, "ALTER DATABASE %s RESET %s", db, key) < 0)
                sql = NULL;
            st = sql ? mk_prov_postgres_exec(p, c, op, "reset a flag", sql, 0, NULL, NULL, why, whylen)
                     : (snprintf(why, whylen, "postgres: %s: a name libpq cannot quote", op->address), MK_PROV_FAILED);
            free(sql), PQfreemem(key);
        }
    json_object_foreach(want, k, v)
        if (st == MK_PROV_OK && !json_equal(v, json_object_get(held, k))) {
            char *key = mk_prov_postgres_ident(c, k), *lit = json_is_string(v) ? mk_prov_postgres_literal(c, json_string_value(v)) : NULL;
            char *sql = NULL;
            if (db && key && lit && asprintf(&sql, "ALTER DATABASE %s SET %s TO %s", db, key, lit) < 0)
                sql = NULL;
            st = sql ? mk_prov_postgres_exec(p, c, op, "set a flag", sql, 0, NULL, NULL, why, whylen)
                     : (snprintf(why, whylen, "postgres: %s: flags.%s: not a value libpq can quote", op->address, k), MK_PROV_FAILED);
            free(sql), PQfreemem(key), PQfreemem(lit);
        }
    PQfreemem(db);
    json_decref(held);
    return st;
}

/* The database's comment, parsed (NULL: none, or not JSON). */
static mk_prov_status comment_of(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *name, json_t **doc,
                                 char *why, size_t whylen)
{
    char *v;
    mk_prov_status st = one(p, c, op, "read the database's comment",
                            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1", 1,
                            (const char *[]){name}, &v, why, whylen);
    *doc = v ? json_loads(v, 0, NULL) : NULL;
    free(v);
    return st;
}

/* The tags beside the owner tag postgres.database wrote (kept as it is). */
static mk_prov_status tags_set(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *name, char *why, size_t whylen)
{
    json_t *doc = NULL, *tags = json_object_get(op->attrs, "tags");
    mk_prov_status st = comment_of(p, c, op, name, &doc, why, whylen);
    if (st != MK_PROV_OK || json_equal(json_object_get(doc, "tags"), tags) || (!tags && !json_object_get(doc, "tags"))) {
        json_decref(doc);
        return st;
    }
    if (!json_is_object(doc) || !json_object_get(doc, "moksha")) { /* no owner tag to keep: this op's */
        char *t = mk_prov_postgres_tag(op, NULL);
        json_decref(doc);
        doc = t ? json_loads(t, 0, NULL) : NULL;
        free(t);
    }
    if (!doc)
        return snprintf(why, whylen, "postgres: %s: out of memory", op->address), MK_PROV_FAILED;
    json_object_set(doc, "tags", tags ? tags : json_object());
    char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS), *lit = text ? mk_prov_postgres_literal(c, text) : NULL;
    char *db = mk_prov_postgres_ident(c, name), *sql = NULL;
    if (lit && db && asprintf(&sql, "COMMENT ON DATABASE %s IS %s", db, lit) < 0)
        sql = NULL;
    st = sql ? mk_prov_postgres_exec(p, c, op, "write the tags", sql, 0, NULL, NULL, why, whylen)
             : (snprintf(why, whylen, "postgres: %s: tags: not text libpq can quote", op->address), MK_PROV_FAILED);
    free(sql), free(text), PQfreemem(lit), PQfreemem(db);
    json_decref(doc);
    return st;
}

/* flags and tags, in one transaction */
static mk_prov_status extras(mk_pgp *p, const mk_prov_op *op, const char *name, char *why, size_t whylen)
{
    mk_prov_status st;
    PGconn *c = mk_prov_postgres_session(p, NULL, op, &st, why, whylen);
    if (!c)
        return st;
    st = mk_prov_postgres_begin(p, c, op, why, whylen);
    if (st == MK_PROV_OK)
        st = flags_set(p, c, op, name, why, whylen);
    if (st == MK_PROV_OK)
        st = tags_set(p, c, op, name, why, whylen);
    return mk_prov_postgres_done(p, NULL, c, op, st, why, whylen);
}

/* ---- the check: what the server vouches for ---- */

typedef struct vouch {
    char *buf;
    size_t len, cap;
    int n;
    const char *conn;
} vouch;

/* One more thing not vouched for: "ATTR = ASKED (connections.NAME.self_hosted.KEY)"
 * when a key of the configuration would allow it, else "(WHY)". */
static void refuse(vouch *v, const char *attr, const char *asked, const char *key, const char *whynot)
{
    int k = key ? snprintf(v->buf + v->len, v->cap - v->len, "%s%s = %s (connections.%s.self_hosted.%s)",
                           v->n ? "; " : "", attr, asked, v->conn, key)
                : snprintf(v->buf + v->len, v->cap - v->len, "%s%s = %s (%s)", v->n ? "; " : "", attr, asked, whynot);
    v->n++;
    if (k > 0)
        v->len = v->len + (size_t)k < v->cap ? v->len + (size_t)k : v->cap - 1;
}

/* A boolean the spec asks for (want) that the server must vouch equal. */
static void vouch_bool(vouch *v, json_t *a, json_t *sh, const char *attr, bool dflt, bool asks_when)
{
    bool want = mk_prov_postgres_bool(a, attr, dflt);
    json_t *has = json_object_get(sh, attr);
    if (want == asks_when && !(json_is_boolean(has) && json_is_true(has) == want)) {
        char key[64];
        snprintf(key, sizeof key, "%s: %s", attr, want ? "true" : "false");
        refuse(v, attr, want ? "true" : "false", key, NULL);
    }
}

/* A quantity the server must have at least: backup_retention, capacity. */
static void vouch_atleast(vouch *v, json_t *a, json_t *sh, const char *attr, const char *key)
{
    json_t *want = json_object_get(a, attr), *has = json_object_get(sh, key);
    if (strncmp(key, "capacity.", 9) == 0)
        has = json_object_get(json_object_get(sh, "capacity"), key + 9);
    double w = 0, h = -1;
    char asked[64];
    if (json_is_integer(want))
        w = (double)json_integer_value(want), snprintf(asked, sizeof asked, "%lld", (long long)json_integer_value(want));
    else if (json_is_string(want))
        snprintf(asked, sizeof asked, "%s", json_string_value(want));
    else
        return;
    bool dur = !strcmp(attr, "backup_retention");
    if (json_is_string(want) && !(dur ? mk_clock_parse_duration(asked, &w) : mk_config_size(asked, &w)))
        return refuse(v, attr, asked, NULL, "not a quantity the executor reads");
    if (json_is_integer(has))
        h = (double)json_integer_value(has);
    else if (json_is_string(has) && !(dur ? mk_clock_parse_duration(json_string_value(has), &h) : mk_config_size(json_string_value(has), &h)))
        h = -1;
    if (w > 0 && h < w) {
        char k[80];
        snprintf(k, sizeof k, "%s: %s or more", key, asked);
        refuse(v, attr, asked, k, NULL);
    }
}

/* What a server cannot be: each attribute asking for it refused. */
static void vouch_never(vouch *v, json_t *a)
{
    static const char *const cloud[] = {"kms_key", "instance_class", "edition", "storage_type", "iops", "network",
                                        "audit_retention"};
    for (size_t i = 0; i < sizeof cloud / sizeof *cloud; i++)
        if (json_object_get(a, cloud[i]) && !json_is_null(json_object_get(a, cloud[i])))
            refuse(v, cloud[i], "(set)", NULL, "a self-hosted server cannot enforce it");
    if (mk_prov_postgres_int(a, "replicas", 0) > 0)
        refuse(v, "replicas", "(more than 0)", NULL, "a self-hosted server cannot enforce it");
    if (mk_prov_postgres_bool(a, "private_endpoint", false))
        refuse(v, "private_endpoint", "true", NULL, "a self-hosted server cannot enforce it");
    if (mk_prov_postgres_bool(a, "backup_plan", false))
        refuse(v, "backup_plan", "true", NULL, "a self-hosted server cannot enforce it");
}

/* The engine, the version's major against the server's, the name. */
static mk_prov_status check_server(mk_pgp *p, const mk_prov_op *op, const char *name, char *why, size_t whylen)
{
    const char *engine = mk_prov_postgres_str(op->attrs, "engine"), *version = mk_prov_postgres_str(op->attrs, "version");
    int server = mk_prov_postgres_server_version(p) / 10000;
    if (!engine || strcmp(engine, "postgres") != 0)
        return snprintf(why, whylen, "postgres: %s: engine = %s: a self-hosted database on connection %s is postgres "
                        "only", op->address, engine ? engine : "null", mk_prov_postgres_conn_name(p)), MK_PROV_FAILED;
    if (version && server && atoi(version) != server)
        return snprintf(why, whylen, "postgres: %s: version = %s: the server behind connection %s is PostgreSQL %d",
                        op->address, version, mk_prov_postgres_conn_name(p), server), MK_PROV_FAILED;
    if (strlen(name) < 1 || strlen(name) > 63 || !strncmp(name, "mk_stage_", 9))
        return snprintf(why, whylen, "postgres: %s: the database's name `%s` is not 1 to 63 bytes, or starts with "
                        "mk_stage_ (set db_name)", op->address, name), MK_PROV_FAILED;
    return MK_PROV_OK;
}

static mk_prov_status check_vouched(mk_pgp *p, const mk_prov_op *op, char *why, size_t whylen)
{
    const mk_config_conn *cc = mk_prov_postgres_conn(p);
    json_t *a = op->attrs, *sh = cc->self_hosted;
    char list[1400] = "";
    vouch v = {list, 0, sizeof list, 0, cc->name};
    vouch_bool(&v, a, sh, "encrypted", true, true);
    vouch_bool(&v, a, sh, "public", false, false);
    vouch_bool(&v, a, sh, "multi_az", false, true);
    vouch_bool(&v, a, sh, "audit_logging", false, true);
    vouch_atleast(&v, a, sh, "backup_retention", "backup_retention");
    vouch_atleast(&v, a, sh, "cpu", "capacity.cpu");
    vouch_atleast(&v, a, sh, "memory", "capacity.memory");
    vouch_atleast(&v, a, sh, "storage", "capacity.storage");
    vouch_never(&v, a);
    if (!v.n)
        return MK_PROV_OK;
    snprintf(why, whylen, "postgres: %s: connection %s does not vouch for what this database asks (docs/providers.md, "
             "\"Self-hosted databases\"): %s", op->address, cc->name, list);
    return MK_PROV_FAILED;
}

static mk_prov_status check(mk_pgp *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    (void)out;
    char name[128];
    name_of(op->attrs, op->address, name);
    bool del = op->action && !strcmp(op->action, "delete");
    if (del && mk_prov_postgres_bool(op->attrs, "deletion_protection", false))
        return snprintf(why, whylen, "postgres: %s: deletion_protection is true: database %s is not dropped (set it "
                        "false first)", op->address, name), MK_PROV_FAILED;
    if (del)
        return MK_PROV_OK;
    mk_prov_status st = check_server(p, op, name, why, whylen);
    if (st == MK_PROV_OK)
        st = check_vouched(p, op, why, whylen);
    if (st == MK_PROV_OK && mk_prov_postgres_role_type.check)
        st = call(p, op, &mk_prov_postgres_role_type, mk_prov_postgres_role_type.check, name, NULL, NULL, why, whylen);
    if (st == MK_PROV_OK && mk_prov_postgres_database_type.check)
        st = call(p, op, &mk_prov_postgres_database_type, mk_prov_postgres_database_type.check, name, NULL, NULL, why,
                  whylen);
    return st;
}

/* ---- operations ---- */

static mk_prov_status computed(mk_pgp *p, const char *name, json_t **out)
{
    mk_pgconn *pc = mk_prov_postgres_pgconn(p);
    *out = json_pack("{s:s, s:s, s:i}", "id", name, "endpoint", mk_pgconn_host(pc), "port", mk_pgconn_port(pc));
    return MK_PROV_OK;
}

/* The role first (a transaction of its own), then the database under its
 * staging name, then flags and tags. A crash between them leaves a role
 * (or a database) of this stack that the create run again takes over.
 * Adopted only when the database was already there, this stack's: the
 * undo of a create that made the database drops it, role and all, and
 * must never drop data an earlier run made. */
static mk_prov_status create(mk_pgp *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    char name[128];
    bool role_adopted = false, db_adopted = false;
    name_of(op->attrs, op->address, name);
    mk_prov_status st = call(p, op, &mk_prov_postgres_role_type, mk_prov_postgres_role_type.create, name, NULL,
                             &role_adopted, why, whylen);
    if (st == MK_PROV_OK)
        st = call(p, op, &mk_prov_postgres_database_type, mk_prov_postgres_database_type.create, name, NULL,
                  &db_adopted, why, whylen);
    if (st == MK_PROV_OK)
        st = extras(p, op, name, why, whylen);
    if (st == MK_PROV_OK && op->adopted)
        *op->adopted = db_adopted;
    return st == MK_PROV_OK ? computed(p, name, out) : st;
}

/* A new username renames the role (its verifier is SCRAM's, which the
 * name does not enter), then the role and the database take the rest. */
static mk_prov_status rename_role(mk_pgp *p, const mk_prov_op *op, char *why, size_t whylen)
{
    const char *from = mk_prov_postgres_str(op->prior, "username"), *to = mk_prov_postgres_str(op->attrs, "username");
    if (!from || !to || !strcmp(from, to))
        return MK_PROV_OK;
    mk_prov_status st;
    PGconn *c = mk_prov_postgres_session(p, NULL, op, &st, why, whylen);
    if (!c)
        return st;
    char *a = mk_prov_postgres_ident(c, from), *b = mk_prov_postgres_ident(c, to), *sql = NULL;
    if (a && b && asprintf(&sql, "ALTER ROLE %s RENAME TO %s", a, b) < 0)
        sql = NULL;
    st = sql ? mk_prov_postgres_exec(p, c, op, "rename the owner role", sql, 0, NULL, NULL, why, whylen)
             : (snprintf(why, whylen, "postgres: %s: username: a name libpq cannot quote", op->address), MK_PROV_FAILED);
    free(sql), PQfreemem(a), PQfreemem(b);
    mk_prov_postgres_release(p, NULL, c, st == MK_PROV_OK);
    return st;
}

static mk_prov_status update(mk_pgp *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    char name[128];
    name_of(op->attrs, op->address, name);
    mk_prov_status st = rename_role(p, op, why, whylen);
    if (st == MK_PROV_OK)
        st = call(p, op, &mk_prov_postgres_role_type, mk_prov_postgres_role_type.update, name, NULL, NULL, why, whylen);
    if (st == MK_PROV_OK) /* an owner changed out of band is given back */
        st = call(p, op, &mk_prov_postgres_database_type, mk_prov_postgres_database_type.update, name, NULL, NULL, why,
                  whylen);
    if (st == MK_PROV_OK)
        st = extras(p, op, name, why, whylen);
    return st == MK_PROV_OK ? computed(p, name, out) : st;
}

/* The database first (its data is what deletion_protection guards), then
 * the role; both refuse what this stack did not make. */
static mk_prov_status del(mk_pgp *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    (void)out;
    char name[128];
    name_of(op->attrs, op->address, name);
    if (mk_prov_postgres_bool(op->attrs, "deletion_protection", false))
        return snprintf(why, whylen, "postgres: %s: deletion_protection is true: database %s is not dropped",
                        op->address, name), MK_PROV_FAILED;
    mk_prov_status st = call(p, op, &mk_prov_postgres_database_type, mk_prov_postgres_database_type.del, name, NULL,
                             NULL, why, whylen);
    return st == MK_PROV_OK ? call(p, op, &mk_prov_postgres_role_type, mk_prov_postgres_role_type.del, name, NULL,
                                   NULL, why, whylen)
                            : st;
}

/* The version as recorded while its major is the server's. */
static json_t *version_seen(mk_pgp *p, json_t *rec)
{
    int server = mk_prov_postgres_server_version(p) / 10000;
    if (json_is_string(rec) && atoi(json_string_value(rec)) == server)
        return json_incref(rec);
    char v[16];
    snprintf(v, sizeof v, "%d", server);
    return json_string(v);
}

/* flags and tags as held; a recorded null with none held reads null */
static mk_prov_status extras_seen(mk_pgp *p, const mk_prov_op *op, const char *name, json_t *out, char *why,
                                  size_t whylen)
{
    mk_prov_status st;
    PGconn *c = mk_prov_postgres_session(p, NULL, op, &st, why, whylen);
    if (!c)
        return st;
    json_t *flags = NULL, *doc = NULL;
    st = flags_held(p, c, op, name, &flags, why, whylen);
    if (st == MK_PROV_OK)
        st = comment_of(p, c, op, name, &doc, why, whylen);
    mk_prov_postgres_release(p, NULL, c, st == MK_PROV_OK);
    json_t *rf = json_object_get(out, "flags"), *tags = json_object_get(doc, "tags");
    if (st == MK_PROV_OK) {
        bool none = json_object_size(flags) == 0 && (!rf || json_is_null(rf));
        json_object_set(out, "flags", none ? json_null() : flags);
        json_object_set_new(out, "tags", json_is_object(tags) ? json_incref(tags) : json_object());
    }
    json_decref(flags), json_decref(doc);
    return st;
}

/* The object as the state records it: the database's owner is the
 * username, the role's password the password; what the server vouches for
 * (encrypted, capacity, …) and deletion_protection are moksha's and read
 * as recorded. Gone when the database is. */
static mk_prov_status rd(mk_pgp *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    char name[128];
    *out = NULL;
    if (op->import_id)
        snprintf(name, sizeof name, "%s", op->import_id);
    else
        name_of(op->attrs, op->address, name);
    json_t *rec = op->import_id ? json_pack("{s:s}", "engine", "postgres") : json_deep_copy(op->attrs);
    mk_prov_op o = *op;
    o.attrs = rec;
    json_t *db = NULL, *role = NULL;
    mk_prov_status st = call(p, &o, &mk_prov_postgres_database_type, mk_prov_postgres_database_type.read, name, &db,
                             NULL, why, whylen);
    if (st == MK_PROV_OK && db) {
        json_t *owner = json_object_get(db, "owner");
        json_object_set(rec, "username", owner ? owner : json_null());
        o.import_id = op->import_id ? mk_prov_postgres_name(owner) : NULL; /* an import reads the owner by name */
        st = o.import_id || !op->import_id ? call(p, &o, &mk_prov_postgres_role_type, mk_prov_postgres_role_type.read,
                                                  name, &role, NULL, why, whylen)
                                           : MK_PROV_OK;
    }
    if (st == MK_PROV_OK && db) {
        json_object_set_new(rec, "password", role ? json_incref(json_object_get(role, "password")) : json_null());
        json_object_set_new(rec, "version", version_seen(p, json_object_get(rec, "version")));
        json_t *c = NULL;
        computed(p, name, &c);
        json_object_update(rec, c);
        json_decref(c);
        st = extras_seen(p, op, name, rec, why, whylen);
    }
    if (st == MK_PROV_OK && db)
        *out = json_incref(rec);
    json_decref(db), json_decref(role), json_decref(rec);
    return st;
}

/* Import NAME: the database and its owner role become this stack's. */
static mk_prov_status import(mk_pgp *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    json_t *seen = NULL;
    char name[128];
    name_of(op->attrs, op->address, name);
    if (strcmp(name, op->import_id) != 0)
        return snprintf(why, whylen, "postgres: import %s: the id %s is not the database the spec names (%s)",
                        op->address, op->import_id, name), MK_PROV_FAILED;
    mk_prov_op r = *op;
    r.attrs = NULL;
    mk_prov_status st = rd(p, &r, &seen, why, whylen);
    if (st == MK_PROV_OK && !seen)
        return snprintf(why, whylen, "postgres: import %s: no database %s on connection %s", op->address,
                        op->import_id, mk_prov_postgres_conn_name(p)), MK_PROV_FAILED;
    const char *owner = mk_prov_postgres_str(seen, "username"), *want = mk_prov_postgres_str(op->attrs, "username");
    if (st == MK_PROV_OK && want && owner && strcmp(owner, want) != 0)
        st = (snprintf(why, whylen, "postgres: import %s: database %s is owned by %s, not the username the spec names "
                       "(%s)", op->address, op->import_id, owner, want), MK_PROV_FAILED);
    mk_prov_op s = *op;
    if (st == MK_PROV_OK) {
        s.import_id = owner;
        st = call(p, &s, &mk_prov_postgres_role_type, mk_prov_postgres_role_type.import, op->import_id, NULL, NULL,
                  why, whylen);
    }
    if (st == MK_PROV_OK)
        st = call(p, op, &mk_prov_postgres_database_type, mk_prov_postgres_database_type.import, op->import_id, NULL,
                  NULL, why, whylen);
    json_decref(seen);
    return st == MK_PROV_OK ? computed(p, op->import_id, out) : st;
}

/* A dropped database's data cannot come back: no MK_PROV_CAN_RECREATE. */
const mk_pgtype mk_prov_postgres_selfhosted_type = {"database", 0, create, rd, update, del, import, check};
