/* postgres — the provider of objects on a PostgreSQL server (postgres.h;
 * docs/providers.md, "The postgres provider"): the constructor, the
 * dispatch to each type's table, the sessions kept per database, and what
 * every type shares. */
#include "runtime/providers/postgres.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/clock.h"
#include "runtime/config.h"
#include "runtime/pgconn.h"
#include "runtime/providers/fault.h"

#define KEEP 16 /* idle sessions kept, over every database */

typedef struct idle {
    char db[64];
    PGconn *c;
} idle;

struct mk_pgp {
    mk_prov base;
    const mk_config_conn *cc;
    mk_pgconn *pc;
    char alias[64];
    json_t *fail_on;      /* owned */
    pthread_mutex_t mu;   /* the idle sessions */
    idle idle[KEEP];
    int nidle;
    int server_version;
};

static const mk_pgtype *const TYPES[] = {
    &mk_prov_postgres_role_type,   &mk_prov_postgres_database_type,        &mk_prov_postgres_schema_type,
    &mk_prov_postgres_schema_extension_type, &mk_prov_postgres_grant_type, &mk_prov_postgres_grant_defaults_type,
    &mk_prov_postgres_selfhosted_type,
};

static const mk_pgtype *type_of(const char *type)
{
    for (size_t i = 0; type && i < sizeof TYPES / sizeof *TYPES; i++)
        if (strcmp(TYPES[i]->type, type) == 0)
            return TYPES[i];
    return NULL;
}

static mk_prov_status no_type(const mk_prov_op *op, char *why, size_t whylen)
{
    snprintf(why, whylen, "postgres: %s: the postgres provider has no type %s", op->address, op->type ? op->type : "(none)");
    return MK_PROV_FAILED;
}

#define DISPATCH(NAME, FIELD)                                                                                           \
    static mk_prov_status NAME(mk_prov *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)                \
    {                                                                                                                   \
        const mk_pgtype *t = type_of(op->type);                                                                         \
        if (!t)                                                                                                         \
            return no_type(op, why, whylen);                                                                            \
        if (!t->FIELD)                                                                                                  \
            return snprintf(why, whylen, "postgres: %s: a %s cannot be " #FIELD "ed", op->address, op->type),          \
                   MK_PROV_FAILED;                                                                                      \
        return t->FIELD((mk_pgp *)p, op, out, why, whylen);                                                             \
    }
DISPATCH(do_create, create)
DISPATCH(do_read, read)
DISPATCH(do_update, update)
DISPATCH(do_del, del)
DISPATCH(do_import, import)

static bool fault_named(const mk_pgp *p, const mk_prov_op *op);

static mk_prov_status do_check(mk_prov *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    const mk_pgtype *t = type_of(op->type);
    if (!t)
        return no_type(op, why, whylen);
    if (fault_named((mk_pgp *)p, op) && !((mk_pgp *)p)->cc->allow_fault_injection)
        return snprintf(why, whylen, "postgres: %s: provider %s asks for injected failures (fail_on), which connection "
                        "%s does not allow: set \"allow_fault_injection\": true on it in the executor's configuration "
                        "(docs/providers.md, \"Rules for every provider\")", op->address, ((mk_pgp *)p)->alias,
                        ((mk_pgp *)p)->cc->name), MK_PROV_FAILED;
    mk_prov_status st;
    PGconn *c = mk_prov_postgres_session((mk_pgp *)p, NULL, op, &st, why, whylen);
    if (!c)
        return st;
    mk_prov_postgres_release((mk_pgp *)p, NULL, c, true);
    return t->check ? t->check((mk_pgp *)p, op, out, why, whylen) : MK_PROV_OK;
}

static unsigned caps_of(mk_prov *p, const char *type)
{
    (void)p;
    const mk_pgtype *t = type_of(type);
    return t ? t->caps : 0;
}

static void pgp_free(mk_prov *base)
{
    mk_pgp *p = (mk_pgp *)base;
    for (int i = 0; i < p->nidle; i++)
        PQfinish(p->idle[i].c);
    mk_pgconn_free(p->pc);
    json_decref(p->fail_on);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

mk_prov *mk_prov_postgres_new(json_t *settings, const mk_config *cfg, const char *alias, char *why, size_t whylen)
{
    const char *name = json_string_value(json_object_get(settings, "connection"));
    if (!name)
        return snprintf(why, whylen, "provider %s: no connection named (`provider postgres { connection = \"NAME\" }`)",
                        alias ? alias : "postgres"), NULL;
    const mk_config_conn *cc = mk_config_conn_find(cfg, name);
    if (!cc)
        return snprintf(why, whylen, "provider %s: the executor's configuration (%s) has no connection `%s`: a spec "
                        "names a connection, the executor says where it goes (docs/providers.md, \"Connections\")",
                        alias ? alias : "postgres", cfg && cfg->path[0] ? cfg->path : "none: MOKSHA_EXEC_CONFIG", name), NULL;
    if (strcmp(cc->kind, "postgres") != 0)
        return snprintf(why, whylen, "provider %s: connection `%s` is a %s connection, not postgres",
                        alias ? alias : "postgres", name, cc->kind), NULL;
    mk_pgp *p = calloc(1, sizeof *p);
    if (!p)
        return snprintf(why, whylen, "out of memory"), NULL;
    p->pc = mk_pgconn_new(cc, why, whylen);
    if (!p->pc) {
        free(p);
        return NULL;
    }
    p->cc = cc;
    snprintf(p->alias, sizeof p->alias, "%s", alias ? alias : "postgres");
    json_t *fo = json_object_get(settings, "fail_on");
    p->fail_on = json_is_array(fo) ? json_incref(fo) : json_array();
    pthread_mutex_init(&p->mu, NULL);
    p->base = (mk_prov){.kind = "postgres", .caps = 0, .create = do_create, .read = do_read, .update = do_update,
                        .del = do_del, .import = do_import, .move = NULL, .check = do_check, .caps_of = caps_of,
                        .free = pgp_free, .impl = p};
    return &p->base;
}

/* ---- sessions ---- */

/* The server's notices and warnings ("there is no transaction in
 * progress", an extension's chatter) are not the executor's output: libpq
 * would print them on stderr. What matters comes back as an error. */
static void quiet(void *arg, const char *message) { (void)arg, (void)message; }

PGconn *mk_prov_postgres_session(mk_pgp *p, const char *db, const mk_prov_op *op, mk_prov_status *st, char *why,
                                 size_t whylen)
{
    PGconn *c = NULL;
    pthread_mutex_lock(&p->mu);
    for (int i = p->nidle - 1; i >= 0 && !c; i--)
        if (strcmp(p->idle[i].db, db ? db : "") == 0) {
            c = p->idle[i].c;
            p->idle[i] = p->idle[--p->nidle];
        }
    pthread_mutex_unlock(&p->mu);
    if (c && PQstatus(c) != CONNECTION_OK) {
        PQfinish(c);
        c = NULL;
    }
    if (!c) {
        mk_pgconn_status cs;
        char w[600];
        c = mk_pgconn_connect(p->pc, db, op ? op->deadline_ms : 0, &cs, w, sizeof w);
        if (!c) {
            *st = cs == MK_PGCONN_RETRYABLE ? MK_PROV_RETRYABLE : MK_PROV_FAILED;
            snprintf(why, whylen, "postgres: %s: %s", op && op->address ? op->address : p->alias, w);
            return NULL;
        }
        if (!p->server_version)
            p->server_version = PQserverVersion(c);
        PQsetNoticeProcessor(c, quiet, NULL);
    }
    char w[600];
    if (!mk_pgconn_deadline(p->pc, c, op ? op->deadline_ms : 0, w, sizeof w)) {
        *st = mk_pgconn_classify(c, NULL) == MK_PGCONN_RETRYABLE ? MK_PROV_RETRYABLE : MK_PROV_FAILED;
        snprintf(why, whylen, "postgres: %s: %s", op && op->address ? op->address : p->alias, w);
        PQfinish(c);
        return NULL;
    }
    *st = MK_PROV_OK;
    return c;
}

void mk_prov_postgres_release(mk_pgp *p, const char *db, PGconn *c, bool ok)
{
    if (!c)
        return;
    if (ok && PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) == PQTRANS_IDLE) {
        pthread_mutex_lock(&p->mu);
        if (p->nidle < KEEP) {
            snprintf(p->idle[p->nidle].db, sizeof p->idle[p->nidle].db, "%s", db ? db : "");
            p->idle[p->nidle++].c = c;
            c = NULL;
        }
        pthread_mutex_unlock(&p->mu);
    }
    if (c)
        PQfinish(c);
}

void mk_prov_postgres_forget(mk_pgp *p, const char *db)
{
    pthread_mutex_lock(&p->mu);
    for (int i = p->nidle - 1; i >= 0; i--)
        if (strcmp(p->idle[i].db, db) == 0) {
            PQfinish(p->idle[i].c);
            p->idle[i] = p->idle[--p->nidle];
        }
    pthread_mutex_unlock(&p->mu);
}

mk_prov_status mk_prov_postgres_exec(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *what, const char *sql,
                                     int n, const char *const *params, PGresult **res, char *why, size_t whylen)
{
    if (res)
        *res = NULL;
    /* the deadline kept by the client too: a server gone silent is not waited on */
    PGresult *r;
    char msg[512];
    double by = op ? op->deadline_ms : 0;
    mk_pgconn_status cs = mk_pgconn_exec(p->pc, c, sql, n, params, by, &r, msg, sizeof msg);
    if (cs == MK_PGCONN_OK) {
        if (res)
            *res = r;
        else
            PQclear(r);
        return MK_PROV_OK;
    }
    snprintf(why, whylen, "postgres: %s: %s: %s%s", op && op->address ? op->address : "-", what,
             r ? "the server says: " : "", msg);
    PQclear(r);
    if (PQtransactionStatus(c) == PQTRANS_INERROR && mk_pgconn_exec(p->pc, c, "ROLLBACK", 0, NULL, by, &r, msg, sizeof msg) != MK_PGCONN_RETRYABLE)
        PQclear(r);
    return cs == MK_PGCONN_RETRYABLE ? MK_PROV_RETRYABLE : MK_PROV_FAILED;
}

char *mk_prov_postgres_ident(PGconn *c, const char *name) { return PQescapeIdentifier(c, name, strlen(name)); }
char *mk_prov_postgres_literal(PGconn *c, const char *text) { return PQescapeLiteral(c, text, strlen(text)); }

/* ---- statements: note [pg sql] ---- */

#define NAMEMAX 63 /* NAMEDATALEN - 1: the server cuts a longer name */

static void grow(mk_pgsql *b, const char *text, size_t n)
{
    if (b->bad)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *s = malloc(cap);
        if (!s) {
            b->bad = "out of memory";
            return;
        }
        size_t len = b->len;
        if (b->s) {
            memcpy(s, b->s, len + 1);
            mk_prov_postgres_sql_free(b);
        }
        b->s = s, b->cap = cap, b->len = len;
    }
    memcpy(b->s + b->len, text, n);
    b->len += n;
    b->s[b->len] = 0;
}

void mk_prov_postgres_sql_add(mk_pgsql *b, const char *text) { grow(b, text, strlen(text)); }

static void quoted(mk_pgsql *b, char *q, const char *what)
{
    if (!q && !b->bad)
        b->bad = what;
    if (q) {
        grow(b, q, strlen(q));
        OPENSSL_cleanse(q, strlen(q));
        PQfreemem(q);
    }
}

void mk_prov_postgres_sql_ident(mk_pgsql *b, PGconn *c, const char *name)
{
    if (!b->bad && (!name || !name[0] || strlen(name) > NAMEMAX))
        b->bad = "a name is 1 to 63 bytes";
    if (!b->bad)
        quoted(b, mk_prov_postgres_ident(c, name), "a name libpq cannot quote");
}

void mk_prov_postgres_sql_literal(mk_pgsql *b, PGconn *c, const char *text)
{
    if (!b->bad)
        quoted(b, text ? mk_prov_postgres_literal(c, text) : NULL, "a value libpq cannot quote");
}

void mk_prov_postgres_sql_clause(mk_pgsql *b, PGconn *c, const char *keyword, const char *value, bool ident)
{
    mk_prov_postgres_sql_add(b, " ");
    mk_prov_postgres_sql_add(b, keyword);
    mk_prov_postgres_sql_add(b, " ");
    if (ident)
        mk_prov_postgres_sql_ident(b, c, value);
    else
        mk_prov_postgres_sql_literal(b, c, value);
}

void mk_prov_postgres_sql_free(mk_pgsql *b)
{
    if (b->s) {
        OPENSSL_cleanse(b->s, b->cap);
        free(b->s);
    }
    b->s = NULL, b->len = b->cap = 0;
}

mk_prov_status mk_prov_postgres_sql_run(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *what, mk_pgsql *b,
                                        char *why, size_t whylen)
{
    mk_prov_status st;
    if (b->bad || !b->s)
        st = (snprintf(why, whylen, "postgres: %s: %s: the statement cannot be made (%s)", op->address, what,
                       b->bad ? b->bad : "empty"), MK_PROV_FAILED);
    else
        st = mk_prov_postgres_exec(p, c, op, what, b->s, 0, NULL, NULL, why, whylen);
    mk_prov_postgres_sql_free(b);
    b->bad = NULL;
    return st;
}

/* ---- owners: note [pg owner] ---- */

char *mk_prov_postgres_tag(const mk_prov_op *op, json_t *extra)
{
    json_t *doc = json_object();
    json_t *who = json_pack("{s:s?, s:s?}", "stack", op->stack_id, "run", op->run_id);
    json_object_set_new(doc, "moksha", who);
    if (json_is_object(extra))
        json_object_update_missing(doc, extra);
    char *s = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(doc);
    return s;
}

mk_pgown mk_prov_postgres_owner(const mk_prov_op *op, const char *comment)
{
    json_t *doc = comment ? json_loads(comment, 0, NULL) : NULL;
    json_t *who = json_object_get(doc, "moksha");
    const char *stack = json_string_value(json_object_get(who, "stack"));
    const char *run = json_string_value(json_object_get(who, "run"));
    mk_pgown o = !stack                          ? MK_PGOWN_NONE
                 : !op->stack_id || strcmp(stack, op->stack_id) ? MK_PGOWN_OTHER
                 : run && op->run_id && !strcmp(run, op->run_id) ? MK_PGOWN_THIS_RUN
                                                 : MK_PGOWN_EARLIER;
    json_decref(doc);
    return o;
}

mk_prov_status mk_prov_postgres_foreign(const mk_prov_op *op, const char *what, const char *id, char *why, size_t whylen)
{
    snprintf(why, whylen, "postgres: %s: %s %s already exists and this stack did not make it: not taken over; to manage "
             "it, `moksha import %s %s`", op->address, what, id, op->address, id);
    return MK_PROV_FAILED;
}

mk_prov_status mk_prov_postgres_whose(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *sql, int n,
                                      const char *const *params, mk_pgwho *who, char *why, size_t whylen)
{
    PGresult *r;
    mk_prov_status st = mk_prov_postgres_exec(p, c, op, "look up the owner tag", sql, n, params, &r, why, whylen);
    if (st != MK_PROV_OK)
        return st;
    const char *comment = PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) ? PQgetvalue(r, 0, 0) : NULL;
    who->there = PQntuples(r) == 1;
    who->tagged = comment != NULL;
    who->own = who->there ? mk_prov_postgres_owner(op, comment) : MK_PGOWN_NONE;
    PQclear(r);
    return MK_PROV_OK;
}

mk_prov_status mk_prov_postgres_stacked(const mk_prov_op *op, char *why, size_t whylen)
{
    if (op->stack_id && op->stack_id[0])
        return MK_PROV_OK;
    snprintf(why, whylen, "postgres: %s: no stack id: the postgres provider changes nothing without the stack its owner "
             "tag names (note [pg owner])", op->address);
    return MK_PROV_FAILED;
}

mk_prov_status mk_prov_postgres_mine(const mk_prov_op *op, const char *what, const char *id, const mk_pgwho *who,
                                     char *why, size_t whylen)
{
    if (!who->there || who->own == MK_PGOWN_EARLIER || who->own == MK_PGOWN_THIS_RUN)
        return MK_PROV_OK;
    snprintf(why, whylen, "postgres: %s: %s %s is not this stack's (%s): not changed; to manage it, `moksha import %s %s`",
             op->address, what, id, who->own == MK_PGOWN_NONE ? "it has no owner tag of moksha's" : "another stack made it",
             op->address, id);
    return MK_PROV_FAILED;
}

mk_prov_status mk_prov_postgres_hands_off(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *what,
                                          const char *name, const char *sql, int n, const char *const *params,
                                          char *why, size_t whylen)
{
    PGresult *r;
    mk_prov_status st = mk_prov_postgres_exec(p, c, op, "look up whether it may be touched", sql, n, params, &r, why,
                                              whylen);
    if (st != MK_PROV_OK)
        return st;
    if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
        snprintf(why, whylen, "postgres: %s: %s %s is %s: moksha does not import, take over, change or drop it, "
                 "whatever its owner tag says", op->address, what, name, PQgetvalue(r, 0, 0));
        st = MK_PROV_FAILED;
    }
    PQclear(r);
    return st;
}

mk_prov_status mk_prov_postgres_ours(const mk_prov_op *op, const char *what, const char *id, const mk_pgwho *who,
                                     char *why, size_t whylen)
{
    if (!who->there || who->own == MK_PGOWN_EARLIER || who->own == MK_PGOWN_THIS_RUN)
        return MK_PROV_OK;
    snprintf(why, whylen, "postgres: %s: %s %s is not this stack's (%s): not dropped", op->address, what, id,
             who->own == MK_PGOWN_NONE ? "it has no owner tag of moksha's" : "another stack made it");
    return MK_PROV_FAILED;
}

mk_prov_status mk_prov_postgres_importable(mk_pgp *p, const mk_prov_op *op, const char *what, const char *id,
                                           const mk_pgwho *who, bool *tag, char *why, size_t whylen)
{
    *tag = false;
    if (!who->there)
        return snprintf(why, whylen, "postgres: import %s: no %s %s on connection %s", op->address, what, id,
                        p->cc->name), MK_PROV_FAILED;
    if (who->own == MK_PGOWN_OTHER)
        return snprintf(why, whylen, "postgres: import %s: %s %s is another stack's: not taken over", op->address,
                        what, id), MK_PROV_FAILED;
    if (mk_prov_postgres_injected(p, op, why, whylen))
        return MK_PROV_FAILED;
    /* a comment not of moksha's gives way to the tag */
    *tag = who->own == MK_PGOWN_NONE || !who->tagged;
    return MK_PROV_OK;
}

mk_prov_status mk_prov_postgres_checked(mk_pgp *p, PGconn *c, const mk_prov_op *op, mk_prov_status st,
                                        const char *problem, char *why, size_t whylen)
{
    mk_prov_postgres_release(p, NULL, c, st == MK_PROV_OK);
    if (st == MK_PROV_OK && problem && problem[0])
        return snprintf(why, whylen, "postgres: %s: %s", op->address, problem), MK_PROV_FAILED;
    return st;
}

static bool fault_named(const mk_pgp *p, const mk_prov_op *op)
{
    return mk_prov_fault_named(p->fail_on, op->address);
}

/* fail_on is the spec's, so any change to it could make a production
 * apply fail half-way: honoured only where the connection allows it
 * (allow_fault_injection), refused by the check elsewhere. */
bool mk_prov_postgres_injected(mk_pgp *p, const mk_prov_op *op, char *why, size_t whylen)
{
    if (!p->cc->allow_fault_injection || !fault_named(p, op))
        return false;
    snprintf(why, whylen, "postgres: %s: injected failure (provider %s, fail_on)", op->address, p->alias);
    return true;
}

/* ---- attributes ---- */

const char *mk_prov_postgres_str(json_t *attrs, const char *name)
{
    return json_string_value(json_object_get(attrs, name));
}

bool mk_prov_postgres_bool(json_t *attrs, const char *name, bool dflt)
{
    json_t *v = json_object_get(attrs, name);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

long long mk_prov_postgres_int(json_t *attrs, const char *name, long long dflt)
{
    json_t *v = json_object_get(attrs, name);
    return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

const char *mk_prov_postgres_name(json_t *v)
{
    if (json_is_string(v))
        return json_string_value(v);
    return json_is_string(json_object_get(v, "$ref")) ? json_string_value(json_object_get(v, "id")) : NULL;
}

bool mk_prov_postgres_has_name(json_t *names, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v)
        if (name && mk_prov_postgres_name(v) && strcmp(name, mk_prov_postgres_name(v)) == 0)
            return true;
    return false;
}

static bool names_within(json_t *a, json_t *b)
{
    size_t i;
    json_t *x;
    json_array_foreach(a, i, x)
        if (!mk_prov_postgres_has_name(b, mk_prov_postgres_name(x)))
            return false;
    return true;
}

bool mk_prov_postgres_same_names(json_t *a, json_t *b)
{
    return json_is_array(a) && json_is_array(b) && names_within(a, b) && names_within(b, a);
}

json_t *mk_prov_postgres_as_recorded(const mk_prov_op *op, json_t *view)
{
    if (op->import_id || !json_is_object(op->attrs))
        return view;
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(view, k, v)
        if (json_object_get(op->attrs, k))
            json_object_set(out, k, v);
    json_decref(view);
    return out;
}

/* ---- transactions ---- */

mk_prov_status mk_prov_postgres_begin(mk_pgp *p, PGconn *c, const mk_prov_op *op, char *why, size_t whylen)
{
    return mk_prov_postgres_exec(p, c, op, "begin", "BEGIN", 0, NULL, NULL, why, whylen);
}

mk_prov_status mk_prov_postgres_done(mk_pgp *p, const char *db, PGconn *c, const mk_prov_op *op, mk_prov_status st,
                                     char *why, size_t whylen)
{
    if (PQtransactionStatus(c) != PQTRANS_IDLE) {
        if (st == MK_PROV_OK)
            st = mk_prov_postgres_exec(p, c, op, "commit", "COMMIT", 0, NULL, NULL, why, whylen);
        else
            PQclear(PQexec(c, "ROLLBACK"));
    }
    mk_prov_postgres_release(p, db, c, st == MK_PROV_OK);
    return st;
}

const mk_config_conn *mk_prov_postgres_conn(const mk_pgp *p) { return p->cc; }
const char *mk_prov_postgres_conn_name(const mk_pgp *p) { return p->cc->name; }
struct mk_pgconn *mk_prov_postgres_pgconn(const mk_pgp *p) { return p->pc; }
int mk_prov_postgres_server_version(const mk_pgp *p) { return p->server_version; }
