/* postgres_grant — postgres.grant and postgres.default_privileges
 * (docs/providers.md, "Grants"): the privileges of one role (or PUBLIC,
 * written "public") on a database, a schema, named tables, sequences or
 * functions, or every one of a kind in a schema; and what objects an owner
 * creates later grant a role (pg_default_acl).
 *
 * Each is an exact set keyed by (role, database, object): a create or an
 * update revokes what the role holds there and the resource does not list,
 * grants what it lists, and sets the grant option as asked, in one
 * transaction. Grants carry no owner tag (PostgreSQL has no comment on a
 * privilege): a create that finds exactly the privileges it would grant
 * adopts them, so its undo does not revoke what it did not grant. Reads go
 * through aclexplode over the catalogs' ACLs (acldefault where an ACL is
 * still the built-in default), so what the server enforces is what is seen.
 *
 * Privileges other grantors gave the role are revoked as those grantors.
 *
 * Not for: roles, databases, schemas themselves (postgres_role.c,
 * postgres_database.c, postgres_schema.c), column privileges, large
 * objects, languages, tablespaces, foreign servers. */
#include "runtime/providers/postgres.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { K_DATABASE, K_SCHEMA, K_TABLE, K_SEQUENCE, K_FUNCTION, K_TYPE, K_N } kind;

static const char *const KIND_NAME[K_N] = {"database", "schema", "table", "sequence", "function", "type"};

/* The privileges, one bit each, in PostgreSQL's own order of GRANT. */
static const char *const PRIV[] = {"select", "insert", "update", "delete", "truncate", "references",
                                   "trigger", "usage", "create", "connect", "temporary", "execute"};
#define NPRIV (sizeof PRIV / sizeof *PRIV)
enum { P_SELECT = 1u << 0, P_INSERT = 1u << 1, P_UPDATE = 1u << 2, P_DELETE = 1u << 3, P_TRUNCATE = 1u << 4,
       P_REFERENCES = 1u << 5, P_TRIGGER = 1u << 6, P_USAGE = 1u << 7, P_CREATE = 1u << 8, P_CONNECT = 1u << 9,
       P_TEMPORARY = 1u << 10, P_EXECUTE = 1u << 11 };

/* What "all" is on each kind: every privilege it takes. */
static const unsigned FULL[K_N] = {
    [K_DATABASE] = P_CREATE | P_CONNECT | P_TEMPORARY,
    [K_SCHEMA] = P_USAGE | P_CREATE,
    [K_TABLE] = P_SELECT | P_INSERT | P_UPDATE | P_DELETE | P_TRUNCATE | P_REFERENCES | P_TRIGGER,
    [K_SEQUENCE] = P_USAGE | P_SELECT | P_UPDATE,
    [K_FUNCTION] = P_EXECUTE,
    [K_TYPE] = P_USAGE,
};

/* A grant or default privileges, from its attributes (borrowed). */
typedef struct target {
    bool defaults;              /* postgres.default_privileges */
    kind k;
    const char *role, *db, *schema, *owner; /* schema NULL: none (defaults: every schema) */
    json_t *objects;            /* names; NULL: all of the kind in the schema */
    json_t *privs;              /* as written */
    unsigned want;              /* privs, "all" expanded */
    bool grant_option;
} target;

/* What the role holds there: over every object (named, or all of the
 * kind), the privileges all of them hold and those any holds, and the same
 * for the grant option. */
typedef struct seen {
    bool missing;               /* the database, role, owner, schema or every named object is not there */
    int nobj;                   /* objects looked at (a named one missing holds nothing) */
    unsigned all_of, any_of, opt_all, opt_any;
    json_t *live;               /* named objects: those there (owned; NULL otherwise) */
} seen;

static int priv_of(const char *s)
{
    for (size_t i = 0; s && i < NPRIV; i++)
        if (strcmp(PRIV[i], s) == 0)
            return (int)i;
    return -1;
}

static int kind_of(const char *s)
{
    for (int i = 0; s && i < K_N; i++)
        if (strcmp(KIND_NAME[i], s) == 0)
            return i;
    return -1;
}

static mk_prov_status fail(const mk_prov_op *op, char *why, size_t whylen, const char *fmt, const char *arg)
{
    int k = snprintf(why, whylen, "postgres: %s: ", op->address ? op->address : "-");
    if (k >= 0 && (size_t)k < whylen)
        snprintf(why + k, whylen - (size_t)k, fmt, arg);
    return MK_PROV_FAILED;
}

/* privileges as a mask for kind k; false (why) on one the kind does not take */
static bool privs_mask(const mk_prov_op *op, json_t *privs, kind k, unsigned *mask, char *why, size_t whylen)
{
    size_t i;
    json_t *v;
    *mask = 0;
    if (!json_is_array(privs))
        return fail(op, why, whylen, "privileges: expected a set of privilege names%s", ""), false;
    json_array_foreach(privs, i, v) {
        const char *s = json_string_value(v);
        int b = priv_of(s);
        if (s && strcmp(s, "all") == 0)
            *mask |= FULL[k];
        else if (b < 0 || !(FULL[k] & (1u << b))) {
            char what[128];
            snprintf(what, sizeof what, "%s on a %s", s ? s : "(not a name)", KIND_NAME[k]);
            return fail(op, why, whylen, "privileges: PostgreSQL has no privilege %s", what), false;
        }
        else
            *mask |= 1u << b;
    }
    return true;
}

/* A name PostgreSQL keeps as written: 1 to 63 bytes (it cuts a longer one
 * short, so two long names would be one object) and no NUL. */
static bool name_ok(json_t *v)
{
    if (!json_is_string(v)) /* a reference to a role or database of the stack: its id is its name */
        v = json_object_get(v, "id");
    size_t n = json_string_length(v);
    return json_is_string(v) && n >= 1 && n <= 63 && strlen(json_string_value(v)) == n;
}

static bool names_ok(const mk_prov_op *op, json_t *attrs, json_t *objects, bool defaults, char *why, size_t whylen)
{
    static const char *const keys[] = {"role", "database", "owner", "schema"};
    for (size_t i = 0; i < 4; i++) {
        json_t *v = json_object_get(attrs, keys[i]);
        if ((i < 2 || (i == 2 && defaults) || v) && !json_is_null(v) && !name_ok(v))
            return fail(op, why, whylen, "%s: expected a name of 1 to 63 bytes", keys[i]), false;
    }
    size_t i;
    json_t *v;
    if (objects && (!json_is_array(objects) || json_array_size(objects) == 0))
        return fail(op, why, whylen, "objects: expected a set of one name or more (null: all of them)%s", ""), false;
    json_array_foreach(objects, i, v)
        if (!name_ok(v)) {
            char n[24];
            snprintf(n, sizeof n, "%zu", i + 1);
            return fail(op, why, whylen, "objects: element %s is not a name of 1 to 63 bytes", n), false;
        }
    return true;
}

/* Read attrs into t, checking what the schema alone cannot: which kinds
 * take a schema and objects, and which privileges each kind has. */
static bool target_of(const mk_prov_op *op, json_t *attrs, bool defaults, target *t, char *why, size_t whylen)
{
    memset(t, 0, sizeof *t);
    t->defaults = defaults;
    t->role = mk_prov_postgres_name(json_object_get(attrs, "role"));
    t->db = mk_prov_postgres_name(json_object_get(attrs, "database"));
    t->schema = mk_prov_postgres_str(attrs, "schema");
    t->owner = defaults ? mk_prov_postgres_name(json_object_get(attrs, "owner")) : NULL;
    json_t *objs = json_object_get(attrs, "objects");
    t->objects = json_is_null(objs) ? NULL : objs;
    t->privs = json_object_get(attrs, "privileges");
    t->grant_option = mk_prov_postgres_bool(attrs, "with_grant_option", false);
    int k = kind_of(mk_prov_postgres_str(attrs, "object_type"));
    if (!t->role || !t->db || (defaults && !t->owner))
        return fail(op, why, whylen, "role, database%s and object_type are required", defaults ? ", owner" : ""), false;
    if (!names_ok(op, attrs, t->objects, defaults, why, whylen))
        return false;
    if (k < 0 || (defaults ? k == K_DATABASE : k == K_TYPE))
        return fail(op, why, whylen, "object_type: not a kind %s takes", defaults ? "default privileges" : "a grant"), false;
    t->k = (kind)k;
    if (defaults && t->k == K_SCHEMA && t->schema)
        return fail(op, why, whylen, "schema: default privileges on schemas are the database's, never one schema's "
                    "(PostgreSQL refuses IN SCHEMA with ON SCHEMAS)%s", ""), false;
    if (!defaults && (t->k == K_DATABASE) != !t->schema)
        return fail(op, why, whylen, t->schema ? "schema: a grant on a database takes no schema%.0s"
                                                : "schema: a grant on a %s names its schema", KIND_NAME[t->k]), false;
    if ((defaults || t->k == K_DATABASE || t->k == K_SCHEMA) && t->objects)
        return fail(op, why, whylen, "objects: only grants on tables, sequences and functions name objects%s", ""), false;
    return privs_mask(op, t->privs, t->k, &t->want, why, whylen);
}

/* ---- ids: ROLE@DB/OBJECT_TYPE[/SCHEMA[/OBJ,OBJ…]] and
 * ROLE@DB/defaults/OWNER/OBJECT_TYPE[/SCHEMA]; a name's %, /, @ and , are
 * written %25, %2F, %40, %2C so that every id parses back to one target ---- */

static void put_part(FILE *f, const char *s)
{
    for (; *s; s++)
        if (strchr("%/@,", *s))
            fprintf(f, "%%%02X", (unsigned char)*s);
        else
            fputc(*s, f);
}

static char *id_of(const target *t)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f)
        return NULL;
    put_part(f, t->role), fputc('@', f), put_part(f, t->db);
    if (t->defaults)
        fputs("/defaults/", f), put_part(f, t->owner);
    fprintf(f, "/%s", KIND_NAME[t->k]);
    if (t->schema)
        fputc('/', f), put_part(f, t->schema);
    size_t i;
    json_t *v;
    json_array_foreach(t->objects, i, v)
        fputc(i ? ',' : '/', f), put_part(f, json_string_value(v));
    fclose(f);
    return buf;
}

/* one part of an id, decoded; NULL on a bad escape or an empty part */
static char *get_part(const char *s, size_t n)
{
    char *out = malloc(n + 1), *o = out;
    for (size_t i = 0; out && i < n; i++) {
        unsigned x;
        if (s[i] != '%')
            *o++ = s[i];
        else if (i + 2 < n && strchr("0123456789ABCDEFabcdef", s[i + 1]) && strchr("0123456789ABCDEFabcdef", s[i + 2]) &&
                 sscanf(s + i + 1, "%2x", &x) == 1 && x && strchr("%/@,", (int)x))
            *o++ = (char)x, i += 2; /* only what put_part writes: one id, one spelling */
        else
            return free(out), NULL;
    }
    if (out)
        *o = 0;
    if (out && !*out)
        return free(out), NULL;
    return out;
}

static bool id_add(json_t *attrs, const char *key, const char *s, size_t n)
{
    char *v = get_part(s, n);
    if (v)
        json_object_set_new(attrs, key, json_string(v));
    free(v);
    return v != NULL;
}

/* the attributes an id names (role, database, object_type, schema,
 * objects, owner), or NULL when it is not one */
static json_t *id_attrs(const char *id, bool defaults)
{
    json_t *a = json_object();
    const char *at = strchr(id, '@');
    const char *slash = at ? strchr(at, '/') : NULL;
    bool ok = at && slash && id_add(a, "role", id, (size_t)(at - id)) && id_add(a, "database", at + 1, (size_t)(slash - at - 1));
    const char *p = slash ? slash + 1 : "";
    if (ok && defaults) {
        const char *o = strchr(p, '/');
        ok = strncmp(p, "defaults/", 9) == 0 && (o = strchr(p + 9, '/')) && id_add(a, "owner", p + 9, (size_t)(o - p - 9));
        p = o ? o + 1 : "";
    }
    size_t n = strcspn(p, "/");
    ok = ok && id_add(a, "object_type", p, n);
    p += n;
    json_object_set_new(a, "schema", json_null());
    if (ok && *p == '/') {
        n = strcspn(++p, "/");
        ok = id_add(a, "schema", p, n);
        p += n;
    }
    json_t *objs = json_array();
    json_object_set_new(a, "objects", json_null());
    if (ok && !defaults && *p == '/') {
        do {
            n = strcspn(++p, ",/");
            char *v = get_part(p, n);
            ok = v != NULL;
            json_array_append_new(objs, json_string(v ? v : ""));
            free(v);
            p += n;
        } while (ok && *p == ',');
        json_object_set(a, "objects", objs);
    }
    json_decref(objs);
    if (!ok || *p)
        return json_decref(a), NULL;
    return a;
}

/* ---- statements ---- */

/* The grantee, quoted: PUBLIC for "public" (no role can be called that). */
static char *grantee(PGconn *c, const char *role)
{
    if (strcmp(role, "public") == 0)
        return strdup("PUBLIC");
    char *q = mk_prov_postgres_ident(c, role), *s = q ? strdup(q) : NULL;
    PQfreemem(q);
    return s;
}

static void put_ident(FILE *f, PGconn *c, const char *name, bool *ok)
{
    char *q = mk_prov_postgres_ident(c, name);
    if (!q)
        *ok = false;
    else
        fputs(q, f);
    PQfreemem(q);
}

/* ROUTINE "s"."f"("pg_catalog"."int4", …), … for every function of a
 * listed name: each argument type quoted by its schema and name, so no text
 * the server formats goes back into a statement */
static mk_prov_status routines(mk_pgp *p, PGconn *c, const mk_prov_op *op, const target *t, FILE *f, char *why,
                               size_t whylen)
{
    static const char *const sql =
        "SELECT p.proname, coalesce((SELECT json_agg(json_build_array(tn.nspname, ty.typname) ORDER BY a.ord) "
        "FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY a(typ, ord) JOIN pg_type ty ON ty.oid = a.typ "
        "JOIN pg_namespace tn ON tn.oid = ty.typnamespace), '[]')::text FROM pg_proc p JOIN pg_namespace n ON "
        "n.oid = p.pronamespace WHERE n.nspname = $1 AND p.proname IN (SELECT json_array_elements_text($2::json)) "
        "ORDER BY p.oid";
    char *names = json_dumps(t->objects, JSON_COMPACT);
    const char *params[] = {t->schema, names};
    PGresult *r;
    mk_prov_status st = mk_prov_postgres_exec(p, c, op, "list the functions", sql, 2, params, &r, why, whylen);
    free(names);
    if (st != MK_PROV_OK)
        return st;
    bool ok = PQntuples(r) > 0;
    if (!ok)
        fail(op, why, whylen, "schema %s has none of the functions listed in objects", t->schema);
    fputs("ROUTINE ", f);
    for (int i = 0; ok && i < PQntuples(r); i++) {
        json_t *args = json_loads(PQgetvalue(r, i, 1), 0, NULL);
        fputs(i ? ", " : "", f), put_ident(f, c, t->schema, &ok), fputc('.', f), put_ident(f, c, PQgetvalue(r, i, 0), &ok);
        size_t j;
        json_t *a;
        fputc('(', f);
        json_array_foreach(args, j, a) {
            fputs(j ? ", " : "", f), put_ident(f, c, json_string_value(json_array_get(a, 0)), &ok);
            fputc('.', f), put_ident(f, c, json_string_value(json_array_get(a, 1)), &ok);
        }
        fputc(')', f);
        json_decref(args);
    }
    PQclear(r);
    return ok ? MK_PROV_OK : MK_PROV_FAILED;
}

/* What a statement acts on: `DATABASE "d"`, `ALL TABLES IN SCHEMA "s"`,
 * `TABLE "s"."a", "s"."b"`, …; for default privileges the prefix
 * `ALTER DEFAULT PRIVILEGES FOR ROLE "o" [IN SCHEMA "s"]` in *pre and the
 * plural (`TABLES`) as the clause. */
static mk_prov_status clause_of(mk_pgp *p, PGconn *c, const mk_prov_op *op, const target *t, char **pre,
                                char **clause, char *why, size_t whylen)
{
    static const char *const PLURAL[K_N] = {"DATABASES", "SCHEMAS", "TABLES", "SEQUENCES", "FUNCTIONS", "TYPES"};
    static const char *const ONE[K_N] = {"DATABASE", "SCHEMA", "TABLE", "SEQUENCE", "ROUTINE", "TYPE"};
    size_t n;
    bool ok = true;
    mk_prov_status st = MK_PROV_OK;
    FILE *f = open_memstream(pre, &n);
    if (f && t->defaults) {
        fputs("ALTER DEFAULT PRIVILEGES FOR ROLE ", f), put_ident(f, c, t->owner, &ok);
        if (t->schema)
            fputs(" IN SCHEMA ", f), put_ident(f, c, t->schema, &ok);
        fputc(' ', f);
    }
    if (f)
        fclose(f);
    f = open_memstream(clause, &n);
    if (!f)
        return fail(op, why, whylen, "out of memory%s", "");
    if (t->defaults)
        fputs(PLURAL[t->k], f);
    else if (t->k == K_DATABASE || t->k == K_SCHEMA)
        fprintf(f, "%s ", ONE[t->k]), put_ident(f, c, t->k == K_DATABASE ? t->db : t->schema, &ok);
    else if (!t->objects)
        fprintf(f, "ALL %s IN SCHEMA ", PLURAL[t->k]), put_ident(f, c, t->schema, &ok);
    else if (t->k == K_FUNCTION)
        st = routines(p, c, op, t, f, why, whylen);
    else {
        size_t i;
        json_t *v;
        fprintf(f, "%s ", ONE[t->k]);
        json_array_foreach(t->objects, i, v)
            fputs(i ? ", " : "", f), put_ident(f, c, t->schema, &ok), fputc('.', f), put_ident(f, c, json_string_value(v), &ok);
    }
    fclose(f);
    if (st == MK_PROV_OK && (!ok || !*pre || !*clause))
        st = fail(op, why, whylen, "a name libpq cannot quote%s", "");
    return st;
}

static char *privs_text(unsigned mask)
{
    char buf[256];
    size_t n = 0;
    for (size_t i = 0; i < NPRIV; i++)
        if (mask & (1u << i)) {
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s", n ? ", " : "");
            for (const char *s = PRIV[i]; *s; s++)
                buf[n++] = (char)(*s - 'a' + 'A');
        }
    buf[n] = 0;
    return strdup(buf);
}

/* PRE VERB [GRANT OPTION FOR] PRIVS ON CLAUSE TO|FROM GRANTEE [WITH GRANT OPTION] */
static mk_prov_status run(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *what, const char *pre, bool grant,
                          bool option, unsigned mask, const char *clause, const char *who, char *why, size_t whylen)
{
    if (!mask)
        return MK_PROV_OK;
    char *privs = privs_text(mask), *sql = NULL;
    size_t n;
    FILE *f = open_memstream(&sql, &n);
    if (f && privs) {
        fprintf(f, "%s%s %s%s ON %s %s %s%s", pre, grant ? "GRANT" : "REVOKE", !grant && option ? "GRANT OPTION FOR " : "",
                privs, clause, grant ? "TO" : "FROM", who, grant && option ? " WITH GRANT OPTION" : "");
        fclose(f);
    }
    free(privs);
    mk_prov_status st = sql ? mk_prov_postgres_exec(p, c, op, what, sql, 0, NULL, NULL, why, whylen)
                            : fail(op, why, whylen, "out of memory%s", "");
    free(sql);
    return st;
}

/* ---- what is held ---- */

/* The grantee's oid as text ("0": PUBLIC) into oid ("" when there is no
 * such role), and whether the schema is there (no schema: yes). */
static mk_prov_status lookup(mk_pgp *p, PGconn *c, const mk_prov_op *op, const target *t, char oid[16], bool *schema,
                             char *why, size_t whylen)
{
    static const char *const sql =
        "SELECT CASE WHEN $1 = 'public' THEN '0' ELSE (SELECT oid::text FROM pg_roles WHERE rolname = $1) END, "
        "$2::text IS NULL OR EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $2)";
    const char *params[] = {t->role, t->schema};
    PGresult *r;
    mk_prov_status st = mk_prov_postgres_exec(p, c, op, "look up the role", sql, 2, params, &r, why, whylen);
    oid[0] = 0;
    *schema = false;
    if (st == MK_PROV_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
        snprintf(oid, 16, "%s", PQgetvalue(r, 0, 0));
    if (st == MK_PROV_OK && PQntuples(r) == 1)
        *schema = strcmp(PQgetvalue(r, 0, 1), "t") == 0;
    PQclear(r);
    return st;
}

/* Fold rows (key, privilege, grantable, live name) into s: one object per
 * key, in order. */
static void fold(PGresult *r, seen *s)
{
    unsigned held = 0, opt = 0;
    const char *key = NULL;
    for (int i = 0; i <= PQntuples(r); i++) {
        if (key && (i == PQntuples(r) || strcmp(key, PQgetvalue(r, i, 0)) != 0)) {
            s->all_of &= held, s->any_of |= held, s->opt_all &= opt, s->opt_any |= opt;
            s->nobj++, held = opt = 0;
        }
        if (i == PQntuples(r))
            break;
        key = PQgetvalue(r, i, 0);
        if (s->live && !PQgetisnull(r, i, 3)) {
            json_t *name = json_string(PQgetvalue(r, i, 3));
            size_t n = json_array_size(s->live);
            if (!n || !json_equal(json_array_get(s->live, n - 1), name))
                json_array_append(s->live, name);
            json_decref(name);
        }
        char low[32] = "";
        const char *pt = PQgetvalue(r, i, 1);
        for (size_t j = 0; pt[j] && j < sizeof low - 1; j++)
            low[j] = (char)(pt[j] >= 'A' && pt[j] <= 'Z' ? pt[j] - 'A' + 'a' : pt[j]);
        int b = PQgetisnull(r, i, 1) ? -1 : priv_of(low); /* one moksha does not know (MAINTAIN) is not counted */
        if (b >= 0)
            held |= 1u << b, opt |= strcmp(PQgetvalue(r, i, 2), "t") == 0 ? 1u << b : 0;
    }
}

static const char *const OBJECTS[K_N] = { /* oid, name, acl, owner */
    [K_DATABASE] = "SELECT d.oid, d.datname::text AS name, coalesce(d.datacl, acldefault('d', d.datdba)) AS acl, "
                   "d.datdba AS owner FROM pg_database d WHERE d.datname = $1",
    [K_SCHEMA] = "SELECT n.oid, n.nspname::text AS name, coalesce(n.nspacl, acldefault('n', n.nspowner)) AS acl, "
                 "n.nspowner AS owner FROM pg_namespace n WHERE n.nspname = $1",
    [K_TABLE] = "SELECT c.oid, c.relname::text AS name, coalesce(c.relacl, acldefault('r', c.relowner)) AS acl, c.relowner "
                "AS owner FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND "
                "c.relkind IN ('r','v','m','f','p')",
    [K_SEQUENCE] = "SELECT c.oid, c.relname::text AS name, coalesce(c.relacl, acldefault('s', c.relowner)) AS acl, "
                   "c.relowner AS owner FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE "
                   "n.nspname = $1 AND c.relkind = 'S'",
    /* ALL FUNCTIONS IN SCHEMA leaves procedures out; a named one is any routine */
    [K_FUNCTION] = "SELECT p.oid, p.proname::text AS name, coalesce(p.proacl, acldefault('f', p.proowner)) AS acl, "
                   "p.proowner AS owner FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE "
                   "n.nspname = $1 AND ($2::json IS NOT NULL OR p.prokind <> 'p')",
};

/* Every object of the kind in the schema, or each named one (a missing
 * name a row of its own, with nothing held), with the grantee's
 * privileges on it. */
static mk_prov_status seen_grant(mk_pgp *p, PGconn *c, const mk_prov_op *op, const target *t, const char *grantee_oid,
                                 seen *s, char *why, size_t whylen)
{
    char sql[1600];
    snprintf(sql, sizeof sql, "WITH o AS (%s), w AS (SELECT json_array_elements_text($2::json) AS name), "
             "j AS (SELECT o.oid, o.name, o.acl FROM o WHERE $2::json IS NULL UNION ALL SELECT o.oid, w.name, o.acl "
             "FROM w LEFT JOIN o ON o.name = w.name) SELECT coalesce(j.oid::text, 'missing ' || j.name), "
             "a.privilege_type, a.is_grantable, CASE WHEN j.oid IS NULL THEN NULL ELSE j.name END FROM j LEFT JOIN "
             "LATERAL (SELECT * FROM aclexplode(j.acl) x WHERE x.grantee = $3::oid) a ON true ORDER BY 1",
             OBJECTS[t->k]);
    char *names = t->objects ? json_dumps(t->objects, JSON_COMPACT) : NULL;
    const char *params[] = {t->k == K_DATABASE ? t->db : t->schema, names, grantee_oid};
    PGresult *r;
    mk_prov_status st = mk_prov_postgres_exec(p, c, op, "read the privileges", sql, 3, params, &r, why, whylen);
    free(names);
    if (st != MK_PROV_OK)
        return st;
    s->live = t->objects ? json_array() : NULL;
    fold(r, s);
    PQclear(r);
    /* every object of a schema that has none: vacuously as granted */
    s->missing = t->objects ? json_array_size(s->live) == 0 : t->k <= K_SCHEMA && s->nobj == 0;
    return MK_PROV_OK;
}

static const char DEFACL[K_N] = {[K_SCHEMA] = 'n', [K_TABLE] = 'r', [K_SEQUENCE] = 'S', [K_FUNCTION] = 'f', [K_TYPE] = 'T'};
static const char ACLDEF[K_N] = {[K_SCHEMA] = 'n', [K_TABLE] = 'r', [K_SEQUENCE] = 's', [K_FUNCTION] = 'f', [K_TYPE] = 'T'};

/* pg_default_acl's entry for (owner, schema, kind); with no schema and no
 * entry, the built-in default (acldefault), which the entry replaces; a
 * schema's entry only adds to that. */
static mk_prov_status seen_defaults(mk_pgp *p, PGconn *c, const mk_prov_op *op, const target *t, const char *grantee_oid,
                                    seen *s, char *why, size_t whylen)
{
    static const char *const sql =
        "WITH w AS (SELECT (SELECT oid FROM pg_roles WHERE rolname = $1) AS owner, CASE WHEN $2::text IS NULL THEN 0::oid "
        "ELSE (SELECT oid FROM pg_namespace WHERE nspname = $2) END AS nsp) SELECT 'x', a.privilege_type, a.is_grantable, "
        "NULL FROM w LEFT JOIN LATERAL (SELECT * FROM aclexplode(coalesce((SELECT d.defaclacl FROM pg_default_acl d WHERE "
        "d.defaclrole = w.owner AND d.defaclnamespace = w.nsp AND d.defaclobjtype = $3::\"char\"), CASE WHEN w.nsp = 0 "
        "THEN acldefault($4::\"char\", w.owner) ELSE NULL::aclitem[] END)) x WHERE x.grantee = $5::oid) a ON true "
        "WHERE w.owner IS NOT NULL AND w.nsp IS NOT NULL";
    char dk[2] = {DEFACL[t->k], 0}, ak[2] = {ACLDEF[t->k], 0};
    const char *params[] = {t->owner, t->schema, dk, ak, grantee_oid};
    PGresult *r;
    mk_prov_status st = mk_prov_postgres_exec(p, c, op, "read the default privileges", sql, 5, params, &r, why, whylen);
    if (st != MK_PROV_OK)
        return st;
    fold(r, s);
    s->missing = PQntuples(r) == 0;
    PQclear(r);
    return MK_PROV_OK;
}

/* Does the database exist? (Asked on the connection's own database: a
 * session cannot be opened on one that does not.) */
static mk_prov_status db_exists(mk_pgp *p, const mk_prov_op *op, const char *db, bool *yes, char *why, size_t whylen)
{
    mk_prov_status st;
    PGconn *c = mk_prov_postgres_session(p, NULL, op, &st, why, whylen);
    if (!c)
        return st;
    PGresult *r;
    const char *params[] = {db};
    st = mk_prov_postgres_exec(p, c, op, "look up the database", "SELECT 1 FROM pg_database WHERE datname = $1", 1,
                               params, &r, why, whylen);
    *yes = st == MK_PROV_OK && PQntuples(r) == 1;
    PQclear(r);
    mk_prov_postgres_release(p, NULL, c, st == MK_PROV_OK);
    return st;
}

/* What the grantee holds on t, in session c (on t's database). */
static mk_prov_status seen_on(mk_pgp *p, PGconn *c, const mk_prov_op *op, const target *t, seen *s, char *why,
                              size_t whylen)
{
    char oid[16];
    bool schema;
    mk_prov_status st = lookup(p, c, op, t, oid, &schema, why, whylen);
    if (st != MK_PROV_OK || !oid[0] || !schema)
        return st;
    s->missing = false;
    st = t->defaults ? seen_defaults(p, c, op, t, oid, s, why, whylen) : seen_grant(p, c, op, t, oid, s, why, whylen);
    if (!s->nobj && !s->missing) /* all of none: what was granted */
        s->all_of = s->any_of = t->want, s->opt_all = s->opt_any = t->grant_option ? t->want : 0;
    return st;
}

/* The session a target's statements run in: a database grant in the
 * connection's own database (it names the database in the statement),
 * everything else in its database. */
static const char *session_db(const target *t) { return !t->defaults && t->k == K_DATABASE ? NULL : t->db; }

static mk_prov_status look(mk_pgp *p, const mk_prov_op *op, const target *t, seen *s, char *why, size_t whylen)
{
    bool there = false;
    *s = (seen){.missing = true, .all_of = ~0u, .opt_all = ~0u};
    mk_prov_status st = db_exists(p, op, t->db, &there, why, whylen);
    if (st != MK_PROV_OK || !there)
        return st;
    PGconn *c = mk_prov_postgres_session(p, session_db(t), op, &st, why, whylen);
    if (!c)
        return st;
    st = seen_on(p, c, op, t, s, why, whylen);
    mk_prov_postgres_release(p, session_db(t), c, st == MK_PROV_OK);
    if (s->missing || !s->nobj)
        s->all_of &= s->any_of, s->opt_all &= s->opt_any;
    return st;
}

/* Nothing held where something was granted: the grant is gone. */
static bool gone(const target *t, const seen *s) { return s->missing || (t->want && s->any_of == 0); }

/* ---- answers ---- */

/* A mask as the read answers it: as recorded when it means the same; else
 * every privilege by name in PostgreSQL's order, or ["all"] for all. */
static json_t *privs_json(const target *t, unsigned mask)
{
    if (mask == t->want)
        return json_incref(t->privs);
    if (mask == FULL[t->k])
        return json_pack("[s]", "all");
    json_t *a = json_array();
    for (size_t i = 0; i < NPRIV; i++)
        if (mask & (1u << i))
            json_array_append_new(a, json_string(PRIV[i]));
    return a;
}

/* One set for objects that differ: the one that shows how they differ from
 * what was granted — what all hold when some lack a privilege granted, else
 * what any holds (some hold one that was not). */
static unsigned one_mask(unsigned want, unsigned all_of, unsigned any_of)
{
    return all_of != want ? all_of : any_of;
}

static json_t *answer(const target *t, json_t *attrs, const seen *s)
{
    json_t *out = json_deep_copy(attrs);
    bool opt = t->grant_option ? s->opt_all == s->all_of && s->all_of : s->opt_any != 0;
    json_object_set_new(out, "privileges", privs_json(t, one_mask(t->want, s->all_of, s->any_of)));
    json_object_set_new(out, "with_grant_option", json_boolean(opt));
    char *id = id_of(t);
    json_object_set_new(out, "id", id ? json_string(id) : json_null());
    free(id);
    return out;
}

static bool exact(const target *t, const seen *s)
{
    unsigned m = one_mask(t->want, s->all_of, s->any_of);
    bool opt = t->want ? (t->grant_option ? s->opt_all == s->all_of : s->opt_any == 0) : true;
    return m == t->want && s->all_of == s->any_of && opt;
}

/* ---- operations ---- */

static const char *const OBJECTS[K_N];

/* The roles other than an object's owner that granted the grantee what a
 * REVOKE by the connection's user does not reach (pg_class.relacl keeps
 * one entry per grantor), as a JSON array of names. */
static mk_prov_status grantors(mk_pgp *p, PGconn *c, const mk_prov_op *op, const target *t, json_t **names,
                               char *why, size_t whylen)
{
    char sql[1600];
    snprintf(sql, sizeof sql, "WITH o AS (%s) SELECT coalesce(json_agg(DISTINCT g.rolname::text), '[]')::text FROM o, "
             "aclexplode(o.acl) a, pg_roles g WHERE g.oid = a.grantor AND a.grantor <> o.owner AND a.grantee = CASE "
             "WHEN $3 = 'public' THEN 0::oid ELSE (SELECT oid FROM pg_roles WHERE rolname = $3) END AND ($2::json IS "
             "NULL OR o.name IN (SELECT json_array_elements_text($2::json)))", OBJECTS[t->k]);
    char *objs = t->objects ? json_dumps(t->objects, JSON_COMPACT) : NULL;
    const char *params[] = {t->k == K_DATABASE ? t->db : t->schema, objs, t->role};
    PGresult *r;
    mk_prov_status st = mk_prov_postgres_exec(p, c, op, "read the grantors", sql, 3, params, &r, why, whylen);
    free(objs);
    *names = st == MK_PROV_OK && PQntuples(r) == 1 ? json_loads(PQgetvalue(r, 0, 0), 0, NULL) : NULL;
    PQclear(r);
    return st;
}

/* The revokes of statements() again as each other grantor (SET LOCAL
 * ROLE: PostgreSQL 15 takes GRANTED BY only for the current user). */
static mk_prov_status as_grantors(mk_pgp *p, PGconn *c, const mk_prov_op *op, const target *t, bool del,
                                  const char *pre, const char *clause, const char *who, char *why, size_t whylen)
{
    json_t *names = NULL, *g;
    size_t i;
    mk_prov_status st = t->defaults ? MK_PROV_OK : grantors(p, c, op, t, &names, why, whylen);
    json_array_foreach(names, i, g) {
        char *q = st == MK_PROV_OK ? mk_prov_postgres_ident(c, json_string_value(g)) : NULL, sql[160];
        if (st == MK_PROV_OK && (!q || snprintf(sql, sizeof sql, "SET LOCAL ROLE %s", q) >= (int)sizeof sql))
            st = fail(op, why, whylen, "a grantor's name libpq cannot quote%s", "");
        if (st == MK_PROV_OK)
            st = mk_prov_postgres_exec(p, c, op, "act as a grantor", sql, 0, NULL, NULL, why, whylen);
        if (st == MK_PROV_OK)
            st = run(p, c, op, "revoke as a grantor", pre, false, false, del ? t->want : FULL[t->k] & ~t->want,
                     clause, who, why, whylen);
        if (st == MK_PROV_OK && !del && !t->grant_option)
            st = run(p, c, op, "revoke the grant option as a grantor", pre, false, true, t->want, clause, who, why,
                     whylen);
        if (st == MK_PROV_OK)
            st = mk_prov_postgres_exec(p, c, op, "act as the connection's user", "RESET ROLE", 0, NULL, NULL, why,
                                       whylen);
        PQfreemem(q);
    }
    json_decref(names);
    return st;
}

/* The statements of a change, after the lock: the exact set (what is not
 * wanted revoked, what is granted, the grant option taken back where not
 * asked for), or for a delete the revoke of what the grant lists. */
static mk_prov_status statements(mk_pgp *p, PGconn *c, const mk_prov_op *op, const target *t, bool del,
                                 const char *pre, const char *clause, const char *who, char *why, size_t whylen)
{
    unsigned first = del ? t->want : FULL[t->k] & ~t->want;
    mk_prov_status st = run(p, c, op, del ? "revoke" : "revoke what is not granted", pre, false, false, first, clause,
                            who, why, whylen);
    if (st == MK_PROV_OK && mk_prov_postgres_injected(p, op, why, whylen))
        st = MK_PROV_FAILED;
    if (st == MK_PROV_OK && !del)
        st = run(p, c, op, "grant", pre, true, t->grant_option, t->want, clause, who, why, whylen);
    if (st == MK_PROV_OK && !del && !t->grant_option)
        st = run(p, c, op, "revoke the grant option", pre, false, true, t->want, clause, who, why, whylen);
    return st == MK_PROV_OK ? as_grantors(p, c, op, t, del, pre, clause, who, why, whylen) : st;
}

/* A change in one transaction. Concurrent GRANTs on one catalog row fail
 * ("tuple concurrently updated", not worth a retry by its SQLSTATE): an
 * advisory lock per database makes moksha's own wait for each other. */
static mk_prov_status apply(mk_pgp *p, PGconn *c, const mk_prov_op *op, const target *t, bool del, char *why,
                            size_t whylen)
{
    char *pre = NULL, *clause = NULL, *who = grantee(c, t->role);
    mk_prov_status st = who ? mk_prov_postgres_begin(p, c, op, why, whylen) : fail(op, why, whylen, "out of memory%s", "");
    if (st == MK_PROV_OK)
        st = mk_prov_postgres_exec(p, c, op, "lock the grants", "SELECT pg_advisory_xact_lock(hashtext('moksha.grant'))",
                                   0, NULL, NULL, why, whylen);
    /* a grantor's REVOKE warns of what it could not revoke (another's): no
     * news, and libpq would print it on the executor's stderr */
    if (st == MK_PROV_OK)
        st = mk_prov_postgres_exec(p, c, op, "quiet the warnings", "SET LOCAL client_min_messages = error", 0, NULL,
                                   NULL, why, whylen);
    if (st == MK_PROV_OK)
        st = clause_of(p, c, op, t, &pre, &clause, why, whylen);
    if (st == MK_PROV_OK)
        st = statements(p, c, op, t, del, pre, clause, who, why, whylen);
    if (st == MK_PROV_OK)
        st = mk_prov_postgres_exec(p, c, op, "commit", "COMMIT", 0, NULL, NULL, why, whylen);
    if (st != MK_PROV_OK && PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE)
        PQclear(PQexec(c, "ROLLBACK"));
    free(pre), free(clause), free(who);
    return st;
}

static mk_prov_status computed(const target *t, json_t **out)
{
    char *id = id_of(t);
    *out = id ? json_pack("{s:s}", "id", id) : NULL;
    free(id);
    return MK_PROV_OK;
}

static mk_prov_status change(mk_pgp *p, const mk_prov_op *op, bool defaults, bool creating, json_t **out, char *why,
                             size_t whylen)
{
    target t;
    seen s = {0};
    if (!target_of(op, op->attrs, defaults, &t, why, whylen))
        return MK_PROV_FAILED;
    mk_prov_status st = creating ? look(p, op, &t, &s, why, whylen) : MK_PROV_OK;
    json_decref(s.live);
    if (st != MK_PROV_OK)
        return st;
    if (creating && !s.missing && exact(&t, &s)) { /* already exactly so: adopted, the undo revokes nothing */
        if (op->adopted)
            *op->adopted = true;
        return computed(&t, out);
    }
    PGconn *c = mk_prov_postgres_session(p, session_db(&t), op, &st, why, whylen);
    if (!c)
        return st;
    st = apply(p, c, op, &t, false, why, whylen);
    mk_prov_postgres_release(p, session_db(&t), c, st == MK_PROV_OK);
    return st == MK_PROV_OK ? computed(&t, out) : st;
}

static mk_prov_status read_any(mk_pgp *p, const mk_prov_op *op, bool defaults, json_t **out, char *why, size_t whylen)
{
    json_t *attrs = op->import_id ? id_attrs(op->import_id, defaults) : json_incref(op->attrs);
    target t;
    seen s = {0};
    *out = NULL;
    if (!attrs)
        return fail(op, why, whylen, "`%s` is not an id of this type (docs/providers.md, \"Grants\")", op->import_id);
    if (op->import_id) { /* answered with every attribute: "all" for a full set */
        json_object_set_new(attrs, "privileges", json_pack("[s]", "all"));
        json_object_set_new(attrs, "with_grant_option", json_false());
    }
    mk_prov_status st = target_of(op, attrs, defaults, &t, why, whylen) ? look(p, op, &t, &s, why, whylen) : MK_PROV_FAILED;
    if (st == MK_PROV_OK && !gone(&t, &s))
        *out = answer(&t, attrs, &s);
    json_decref(s.live);
    json_decref(attrs);
    return st;
}

/* Revoke what the grant lists (and with it the grant option), on what of
 * it is still there: deleting what is gone succeeds. */
static mk_prov_status del_any(mk_pgp *p, const mk_prov_op *op, bool defaults, char *why, size_t whylen)
{
    target t;
    seen s = {0};
    if (!target_of(op, op->attrs, defaults, &t, why, whylen))
        return MK_PROV_FAILED;
    mk_prov_status st = look(p, op, &t, &s, why, whylen);
    PGconn *c = st == MK_PROV_OK && !s.missing ? mk_prov_postgres_session(p, session_db(&t), op, &st, why, whylen) : NULL;
    if (c) {
        if (t.objects)
            t.objects = s.live;
        st = apply(p, c, op, &t, true, why, whylen);
        mk_prov_postgres_release(p, session_db(&t), c, st == MK_PROV_OK);
    }
    json_decref(s.live);
    return st;
}

static mk_prov_status import_any(mk_pgp *p, const mk_prov_op *op, bool defaults, json_t **out, char *why, size_t whylen)
{
    json_t *seen_attrs = NULL;
    mk_prov_status st = read_any(p, op, defaults, &seen_attrs, why, whylen);
    if (st != MK_PROV_OK)
        return st;
    if (!seen_attrs)
        return fail(op, why, whylen, "%s: the role holds no privileges there to import", op->import_id);
    *out = json_pack("{s:O}", "id", json_object_get(seen_attrs, "id"));
    json_decref(seen_attrs);
    return MK_PROV_OK;
}

static mk_prov_status check_any(const mk_prov_op *op, bool defaults, char *why, size_t whylen)
{
    target t;
    if (op->action && strcmp(op->action, "delete") == 0)
        return MK_PROV_OK;
    return target_of(op, op->attrs, defaults, &t, why, whylen) ? MK_PROV_OK : MK_PROV_FAILED;
}

#define OPS(NAME, DEFAULTS)                                                                                            \
    static mk_prov_status NAME##_create(mk_pgp *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)     \
    { return change(p, op, DEFAULTS, true, out, why, whylen); }                                                       \
    static mk_prov_status NAME##_update(mk_pgp *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)     \
    { return change(p, op, DEFAULTS, false, out, why, whylen); }                                                      \
    static mk_prov_status NAME##_read(mk_pgp *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)       \
    { return read_any(p, op, DEFAULTS, out, why, whylen); }                                                           \
    static mk_prov_status NAME##_del(mk_pgp *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)        \
    { (void)out; return del_any(p, op, DEFAULTS, why, whylen); }                                                      \
    static mk_prov_status NAME##_import(mk_pgp *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)     \
    { return import_any(p, op, DEFAULTS, out, why, whylen); }                                                         \
    static mk_prov_status NAME##_check(mk_pgp *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)      \
    { (void)p, (void)out; return check_any(op, DEFAULTS, why, whylen); }
OPS(grant, false)
OPS(defaults, true)

/* A revoked grant can be granted again, with the same id (it is made of
 * the names). */
const mk_pgtype mk_prov_postgres_grant_type = {"postgres.grant", MK_PROV_CAN_RECREATE | MK_PROV_KEEPS_IDS,
                                               grant_create, grant_read, grant_update, grant_del, grant_import,
                                               grant_check};

const mk_pgtype mk_prov_postgres_grant_defaults_type = {"postgres.default_privileges",
                                                        MK_PROV_CAN_RECREATE | MK_PROV_KEEPS_IDS, defaults_create,
                                                        defaults_read, defaults_update, defaults_del, defaults_import,
                                                        defaults_check};
