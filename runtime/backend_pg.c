/* backend_pg — the state in PostgreSQL, through libpq (runtime/backend.h;
 * the schema and its rules: docs/state.md). A state is the row of stacks
 * keyed (stack, env), its resources one row each in the state's order,
 * every serial a hash-chained delta in history, the audit log's lines as
 * rows with the head beside the state, the lock an advisory lock of this
 * executor's session plus a row naming the holder, and the intents of the
 * steps under way. Every value goes to the server as a parameter
 * (runtime/pgsql.h); the only name in SQL text is the schema, quoted.
 *
 * It is not the session: what is written when, and what the audit lines
 * say, is session.c's and exec.c's; this file stores and checks. One
 * connection per backend, used under mu: the session's thread, the apply's
 * tick (lock_held) and the group commit of intents take turns on it. */
#include "runtime/backend_ops.h"

#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/clock.h"
#include "runtime/config.h"
#include "runtime/pgsql.h"
#include "runtime/rand.h"
#include "runtime/sha256.h"

static const char ZEROS[65] = "0000000000000000000000000000000000000000000000000000000000000000";
/* to_char's pattern for the times moksha writes (mk_clock_iso_time's) */
#define ISO "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'"

/* note [entries digest]: what binds the resources rows to the chain. A
 * row's digest is SHA-256(address "\n" pos "\n" entry); the state's is the
 * sum of its rows' mod 2^256, so a write adds what it puts and subtracts
 * what it replaces or removes without reading the other rows, and a read
 * sums the rows it read. Each history row records the sum its serial left,
 * inside the hash that chains it: a row added, removed, moved or edited
 * outside moksha reads as damage, never as a smaller state. */
typedef struct digest {
    unsigned char b[32];
} digest;

/* A caller of intend waiting for its group's commit (note [intent group commit]). */
typedef struct intent {
    const char *run, *address, *action;
    char change[24];
    bool done, ok;
    char why[300];
    struct intent *next;
} intent;

typedef struct pg {
    PGconn *c;
    pthread_mutex_t mu; /* the connection */
    char id[24];        /* stacks.id as text; "" when the stack has no row yet */
    char name[200];     /* "web/prod", for messages */
    bool locked, lost, in_tx;
    char lock_id[37];
    double checked_ms;  /* last time lock_held asked the server */
    json_t *pos;        /* address → its pos, of the state loaded and written since */
    json_t *rowsum;     /* address → its row's digest, hex (note [entries digest]) */
    digest sum;         /* the entries' digest, of the same */
    long long next_pos;
    bool have_pos;
    bool breaking;      /* holds the advisory lock of a stale lock it is breaking */
    char *why;          /* the persist under way's, for the audit store */
    size_t whylen;
    pthread_mutex_t qmu; /* intents waiting, and who commits them */
    pthread_cond_t qcv;
    intent *queue;
    bool leader;
} pg;

static pg *impl(mk_backend *b) { return b->impl; }

/* ---- growing text ---- */

typedef struct tbuf {
    char *s;
    size_t n, cap;
    bool oom;
} tbuf;

static void put(tbuf *t, const char *s, size_t n)
{
    if (t->oom)
        return;
    if (t->n + n + 1 > t->cap) {
        size_t cap = (t->n + n + 1) * 2;
        char *m = realloc(t->s, cap);
        if (!m) {
            t->oom = true;
            return;
        }
        t->s = m, t->cap = cap;
    }
    memcpy(t->s + t->n, s, n);
    t->n += n;
    t->s[t->n] = 0;
}

static void puts_(tbuf *t, const char *s) { put(t, s, strlen(s)); }

/* s as a JSON string. */
static void put_json_string(tbuf *t, const char *s)
{
    json_t *v = json_string(s);
    char *q = v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;
    if (q)
        puts_(t, q);
    else
        t->oom = true;
    free(q);
    json_decref(v);
}

/* ---- the entries' digest (note [entries digest]) ---- */

static void row_digest(const char *addr, const char *pos, const char *entry, size_t n, digest *out)
{
    const void *parts[] = {addr, "\n", pos, "\n", entry};
    const size_t lens[] = {strlen(addr), 1, strlen(pos), 1, n};
    mk_sha256_parts(5, parts, lens, out->b);
}

/* acc += d, or acc -= d when sub, mod 2^256 (big-endian). */
static void digest_add(digest *acc, const digest *d, bool sub)
{
    int carry = 0;
    for (int i = 31; i >= 0; i--) {
        int v = sub ? acc->b[i] - d->b[i] - carry : acc->b[i] + d->b[i] + carry;
        carry = sub ? v < 0 : v > 255;
        acc->b[i] = (unsigned char)(v & 255);
    }
}

static void digest_hex(const digest *d, char out[65])
{
    static const char X[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++)
        out[2 * i] = X[d->b[i] >> 4], out[2 * i + 1] = X[d->b[i] & 15];
    out[64] = 0;
}

static int nibble(char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; }

static bool digest_parse(const char *hex, digest *out)
{
    for (int i = 0; i < 32; i++) {
        int hi = nibble(hex[2 * i]), lo = hi < 0 ? -1 : nibble(hex[2 * i + 1]);
        if (lo < 0)
            return false;
        out->b[i] = (unsigned char)(hi << 4 | lo);
    }
    return hex[64] == 0;
}

/* Subtract the digest the row of addr had, if it had one. */
static void digest_drop(const pg *p, digest *acc, const char *addr)
{
    digest old;
    const char *hex = json_string_value(json_object_get(p->rowsum, addr));
    if (hex && digest_parse(hex, &old))
        digest_add(acc, &old, true);
}

/* ---- statements ---- */

/* A statement on the connection (mu held); a failure that lost the
 * connection marks the session lost (its advisory lock is gone with it). */
static PGresult *q(pg *p, const char *sql, int n, const char *const *params, char *why, size_t whylen)
{
    PGresult *r = mk_pgsql_exec(p->c, sql, n, params, NULL, why, whylen);
    if (!r && PQstatus(p->c) != CONNECTION_OK)
        p->lost = true;
    return r;
}

static bool qdo(pg *p, const char *sql, int n, const char *const *params, char *why, size_t whylen)
{
    PGresult *r = q(p, sql, n, params, why, whylen);
    PQclear(r);
    return r != NULL;
}

/* A statement of many rows: head, then tmpl once per row ('?' the row's
 * next parameter, "$1"… the shared ones), joined by ",", then tail; sent
 * in chunks so no statement has more than ~30,000 parameters. */
typedef struct rows {
    const char *head, *tmpl, *tail;
    int nshared, per;
    const char *const *shared;
} rows;

static bool rows_chunk(pg *p, const rows *r, const char *const *vals, size_t count, char *why, size_t whylen)
{
    tbuf sql = {0};
    int next = r->nshared + 1;
    puts_(&sql, r->head);
    for (size_t i = 0; i < count; i++) {
        if (i)
            puts_(&sql, ",");
        for (const char *c = r->tmpl; *c; c++) {
            char ph[16];
            int k = *c == '?' ? snprintf(ph, sizeof ph, "$%d", next++) : (ph[0] = *c, ph[1] = 0, 1);
            put(&sql, ph, (size_t)k);
        }
    }
    puts_(&sql, r->tail);
    size_t np = (size_t)r->nshared + count * (size_t)r->per;
    const char **params = malloc((np + 1) * sizeof *params);
    bool ok = !sql.oom && params;
    if (ok) {
        memcpy(params, r->shared, (size_t)r->nshared * sizeof *params);
        memcpy(params + r->nshared, vals, count * (size_t)r->per * sizeof *params);
        ok = qdo(p, sql.s, (int)np, params, why, whylen);
    } else
        snprintf(why, whylen, "out of memory");
    free(params);
    free(sql.s);
    return ok;
}

static bool rows_exec(pg *p, const rows *r, const char *const *vals, size_t nrows, char *why, size_t whylen)
{
    size_t chunk = (size_t)(30000 / r->per);
    for (size_t i = 0; i < nrows; i += chunk)
        if (!rows_chunk(p, r, vals + i * (size_t)r->per, nrows - i < chunk ? nrows - i : chunk, why, whylen))
            return false;
    return true;
}

/* ---- open, close ---- */

static const mk_config_pg *pg_settings(const mk_config *cfg, const char *env, const char **schema)
{
    static const mk_config_pg none = {"", "moksha"};
    const mk_config_pg *base = cfg ? &cfg->state.pg : &none, *own = base;
    for (size_t i = 0; cfg && *env && i < cfg->state.nenvs; i++)
        if (!strcmp(cfg->state.envs[i].name, env))
            own = &cfg->state.envs[i].pg;
    *schema = own->schema[0] ? own->schema : base->schema[0] ? base->schema : "moksha";
    return own->conninfo[0] ? own : base;
}

static bool stack_allowed(const mk_backend *b, char *why, size_t whylen)
{
    if (!b->info.stack[0]) {
        snprintf(why, whylen, "the postgres state backend keys a state by its stack's name: pass --stack NAME (or "
                 "MOKSHA_STACK), or a plan");
        return false;
    }
    if (!b->cfg || !b->cfg->state.nstacks)
        return true;
    for (size_t i = 0; i < b->cfg->state.nstacks; i++)
        if (!strcmp(b->cfg->state.stacks[i], b->info.stack))
            return true;
    snprintf(why, whylen, "the executor's configuration does not let it use the stack `%s` on postgres (state.stacks)",
             b->info.stack);
    return false;
}

/* The stack's row id, when it has one ("" otherwise). */
static bool find_row(pg *p, const mk_backend *b, char *why, size_t whylen)
{
    const char *v[] = {b->info.stack, b->info.env};
    PGresult *r = q(p, "SELECT id FROM stacks WHERE stack = $1 AND env = $2", 2, v, why, whylen);
    if (!r)
        return false;
    snprintf(p->id, sizeof p->id, "%s", PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    return true;
}

/* A row for the stack (serial 0: no state yet), which the lock's key and
 * every other row refer to. */
static bool ensure_row(pg *p, const mk_backend *b, char *why, size_t whylen)
{
    if (p->id[0])
        return true;
    const char *v[] = {b->info.stack, b->info.env, ZEROS};
    return qdo(p, "INSERT INTO stacks (stack, env, lineage, serial, header, history_hash) VALUES ($1, $2, '', 0, '{}', $3) "
               "ON CONFLICT (stack, env) DO NOTHING", 3, v, why, whylen) &&
           find_row(p, b, why, whylen);
}

static bool pg_open(mk_backend *b, char *why, size_t whylen)
{
    if (!stack_allowed(b, why, whylen))
        return false;
    const char *schema;
    const mk_config_pg *s = pg_settings(b->cfg, b->info.env, &schema);
    PGconn *c = mk_pgsql_connect(s->conninfo, schema, why, whylen);
    if (!c)
        return false;
    pg *p = calloc(1, sizeof *p);
    p->c = c;
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->qmu, NULL);
    pthread_cond_init(&p->qcv, NULL);
    p->pos = json_object();
    p->rowsum = json_object();
    snprintf(p->name, sizeof p->name, "%s%s%s", b->info.stack, b->info.env[0] ? "/" : "", b->info.env);
    snprintf(b->info.location, sizeof b->info.location, "postgres dbname=%s host=%s%s%s schema=%s", PQdb(c), PQhost(c),
             PQport(c) && *PQport(c) ? " port=" : "", PQport(c) ? PQport(c) : "", schema);
    b->impl = p;
    if (find_row(p, b, why, whylen))
        return true;
    b->ops->close(b);
    return false;
}

static void pg_unlock(mk_backend *b, const char *id);

static void pg_close(mk_backend *b)
{
    pg *p = impl(b);
    if (!p)
        return;
    if (p->locked)
        pg_unlock(b, p->lock_id);
    PQfinish(p->c);
    json_decref(p->pos);
    json_decref(p->rowsum);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->qmu);
    pthread_cond_destroy(&p->qcv);
    free(p);
    b->impl = NULL;
}

/* ---- the lock ---- */

/* The locks row, and whether its session still holds the advisory lock. */
static PGresult *lock_row(pg *p, char *why, size_t whylen)
{
    const char *v[] = {p->id};
    return q(p, "SELECT l.lock_id, l.holder, l.\"user\", l.host, l.pid, l.operation, l.plan_sha256, "
             "to_char(l.since AT TIME ZONE 'UTC', " ISO "), l.backend_pid, EXISTS (SELECT 1 FROM pg_locks k WHERE "
             "k.locktype = 'advisory' AND k.database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND "
             "k.classid = 27755 AND k.objid = l.stack_id::oid AND k.objsubid = 2 AND "
             "k.pid = l.backend_pid AND k.granted), to_char(l.since AT TIME ZONE 'UTC', 'HH24:MI:SS') "
             "FROM locks l WHERE l.stack_id = $1", 1, v, why, whylen);
}

static json_t *lock_doc(PGresult *r)
{
    const char *plan = PQgetisnull(r, 0, 6) ? NULL : PQgetvalue(r, 0, 6);
    return json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s?, s:s, s:i}", "id", PQgetvalue(r, 0, 0), "holder",
                     PQgetvalue(r, 0, 1), "user", PQgetvalue(r, 0, 2), "host", PQgetvalue(r, 0, 3), "pid",
                     atoi(PQgetvalue(r, 0, 4)), "operation", PQgetvalue(r, 0, 5), "plan_sha256", plan, "time",
                     PQgetvalue(r, 0, 7), "backend_pid", atoi(PQgetvalue(r, 0, 8)));
}

static bool row_alive(PGresult *r) { return PQntuples(r) && strcmp(PQgetvalue(r, 0, 9), "t") == 0; }

/* Who holds it, for the loser of a race: "web/prod is locked by apply
 * (plan 3f2a…) of deploy@ci-2 pid 4121 since 10:42:07 UTC". */
static void describe_holder(pg *p, char *why, size_t whylen)
{
    char err[300];
    PGresult *r = lock_row(p, err, sizeof err);
    /* the holder writes its row just after it takes the lock: a race lost
     * by a hair finds none yet, so give it a moment */
    for (int i = 0; i < 20 && r && !row_alive(r); i++) {
        PQclear(r);
        mk_clock_sleep_ms(25);
        r = lock_row(p, err, sizeof err);
    }
    if (!r || !row_alive(r)) {
        snprintf(why, whylen, "%s is locked by another executor's session, which has not named itself yet: try again",
                 p->name);
        PQclear(r);
        return;
    }
    char plan[32] = "";
    if (!PQgetisnull(r, 0, 6))
        snprintf(plan, sizeof plan, " (plan %.12s…)", PQgetvalue(r, 0, 6));
    snprintf(why, whylen, "%s is locked by %s%s of %s@%s pid %s since %s UTC (lock %s): wait for it to finish, or wait for "
             "it with --lock-timeout DURATION", p->name, PQgetvalue(r, 0, 5), plan, PQgetvalue(r, 0, 2),
             PQgetvalue(r, 0, 3), PQgetvalue(r, 0, 4), PQgetvalue(r, 0, 10), PQgetvalue(r, 0, 0));
    PQclear(r);
}

/* The row naming us, over whatever stale row was there. */
static bool write_lock_row(pg *p, const char *operation, const char *plan_sha256, char id[37], json_t **info, char *why,
                           size_t whylen)
{
    char host[256] = "?", holder[400], pid[16];
    gethostname(host, sizeof host - 1);
    struct passwd *pw = getpwuid(getuid());
    const char *user = pw ? pw->pw_name : getenv("USER") ? getenv("USER") : "?";
    snprintf(holder, sizeof holder, "%s@%s pid %d", user, host, (int)getpid());
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    mk_rand_uuid(id);
    const char *v[] = {p->id, id, holder, user, host, pid, operation, plan_sha256};
    if (!qdo(p, "INSERT INTO locks VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now(), pg_backend_pid()) ON CONFLICT "
             "(stack_id) DO UPDATE SET lock_id = $2, holder = $3, \"user\" = $4, host = $5, pid = $6, operation = $7, "
             "plan_sha256 = $8, since = now(), backend_pid = pg_backend_pid()", 8, v, why, whylen))
        return false;
    PGresult *r = info ? lock_row(p, why, whylen) : NULL;
    if (info && !r)
        return false;
    if (info)
        *info = PQntuples(r) ? lock_doc(r) : NULL;
    PQclear(r);
    return true;
}

/* One try: 1 taken, 0 held by another session, -1 error. */
static int try_lock(pg *p, const char *operation, const char *plan_sha256, char id[37], json_t **info, char *why,
                    size_t whylen)
{
    const char *v[] = {p->id};
    PGresult *r = q(p, "SELECT pg_try_advisory_lock(27755, $1::int)", 1, v, why, whylen);
    if (!r)
        return -1;
    bool got = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (!got)
        return 0;
    if (write_lock_row(p, operation, plan_sha256, id, info, why, whylen))
        return 1;
    qdo(p, "SELECT pg_advisory_unlock(27755, $1::int)", 1, v, why, whylen);
    return -1;
}

static mk_lock_status pg_lock(mk_backend *b, const char *operation, const char *plan_sha256, double wait_ms,
                              char id_out[37], json_t **info, char *why, size_t whylen)
{
    pg *p = impl(b);
    double until = mk_clock_now_ms() + (wait_ms > 0 ? wait_ms : 0);
    pthread_mutex_lock(&p->mu);
    int got = ensure_row(p, b, why, whylen) ? 0 : -1;
    while (got == 0 && (got = try_lock(p, operation, plan_sha256, id_out, info, why, whylen)) == 0) {
        double left = until - mk_clock_now_ms();
        if (left <= 0)
            break;
        pthread_mutex_unlock(&p->mu);
        mk_clock_sleep_ms(left < 100 ? left : 100); /* a poll: the holder's session does not tell us */
        pthread_mutex_lock(&p->mu);
    }
    if (got == 0)
        describe_holder(p, why, whylen);
    if (got == 1) {
        p->locked = true, p->lost = false;
        p->checked_ms = mk_clock_now_ms();
        snprintf(p->lock_id, sizeof p->lock_id, "%s", id_out);
    }
    pthread_mutex_unlock(&p->mu);
    return got == 1 ? MK_LOCK_TAKEN : got == 0 ? MK_LOCK_HELD : MK_LOCK_ERROR;
}

static void pg_unlock(mk_backend *b, const char *id)
{
    pg *p = impl(b);
    char why[300];
    pthread_mutex_lock(&p->mu);
    if (p->locked && id && !strcmp(id, p->lock_id) && !p->lost) {
        const char *v[] = {p->id, id};
        /* a run that ends has no call under way: its intents are moot */
        qdo(p, "DELETE FROM intents WHERE stack_id = $1 AND run = $2", 2, v, why, sizeof why);
        qdo(p, "DELETE FROM locks WHERE stack_id = $1 AND lock_id = $2", 2, v, why, sizeof why);
        qdo(p, "SELECT pg_advisory_unlock(27755, $1::int)", 1, v, why, sizeof why);
    }
    if (id && !strcmp(id, p->lock_id))
        p->locked = false;
    pthread_mutex_unlock(&p->mu);
}

/* Asked by the apply's tick: never waits for the connection (a statement
 * under way reports a lost session itself), and asks the server at most
 * once a second. */
static bool pg_lock_held(mk_backend *b)
{
    pg *p = impl(b);
    if (pthread_mutex_trylock(&p->mu) != 0)
        return p->locked && !p->lost;
    if (PQstatus(p->c) != CONNECTION_OK)
        p->lost = true;
    double now = mk_clock_now_ms();
    if (p->locked && !p->lost && now - p->checked_ms >= 1000) {
        char why[300];
        p->checked_ms = now;
        qdo(p, "SELECT 1", 0, NULL, why, sizeof why);
    }
    bool held = p->locked && !p->lost;
    pthread_mutex_unlock(&p->mu);
    return held;
}

static json_t *pg_lock_info(mk_backend *b, char *why, size_t whylen)
{
    pg *p = impl(b);
    *why = 0;
    if (!p->id[0])
        return NULL;
    pthread_mutex_lock(&p->mu);
    PGresult *r = lock_row(p, why, whylen);
    json_t *doc = r && row_alive(r) ? lock_doc(r) : NULL;
    PQclear(r);
    pthread_mutex_unlock(&p->mu);
    return doc;
}

/* Whether the stack's advisory lock is free, asked of the lock itself (the
 * locks row only names a holder, and anyone who can write rows can write
 * it): taken, it stays ours until the break is done (p->breaking), so no
 * run can start between the check, the audit line and the row's removal.
 * 1 taken, 0 held by a live session, -1 error. */
static int take_for_break(pg *p, char *why, size_t whylen)
{
    if (p->breaking)
        return 1;
    if (p->locked)
        return 0; /* our own run's: pg_try_advisory_lock would say yes to its own session */
    const char *v[] = {p->id};
    PGresult *r = q(p, "SELECT pg_try_advisory_lock(27755, $1::int)", 1, v, why, whylen);
    if (!r)
        return -1;
    p->breaking = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    return p->breaking;
}

static void end_break(pg *p)
{
    char why[300];
    if (p->breaking)
        qdo(p, "SELECT pg_advisory_unlock(27755, $1::int)", 1, (const char *[]){p->id}, why, sizeof why);
    p->breaking = false;
}

static int force_locked(pg *p, const char *id, bool check_only, json_t **info, char *why, size_t whylen)
{
    PGresult *r = lock_row(p, why, whylen);
    if (!r)
        return 1;
    int rc = 0, free_ = -1;
    if (!PQntuples(r) || strcmp(PQgetvalue(r, 0, 0), id) != 0) {
        snprintf(why, whylen, "%s has no lock %s%s%s", p->name, id, PQntuples(r) ? "; its lock is " : "",
                 PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
        rc = 1;
    } else if ((free_ = take_for_break(p, why, whylen)) <= 0) {
        if (free_ == 0)
            snprintf(why, whylen, "the lock %s on %s is held by %s, whose server session still holds the advisory lock: "
                     "it is never broken from under it; stop that run (its session's end frees the lock at once)", id,
                     p->name, PQgetvalue(r, 0, 1));
        rc = free_ == 0 ? 2 : 1;
    } else {
        *info = lock_doc(r);
        const char *v[] = {p->id, id};
        if (!check_only && !qdo(p, "DELETE FROM locks WHERE stack_id = $1 AND lock_id = $2", 2, v, why, whylen)) {
            json_decref(*info);
            *info = NULL;
            rc = 1;
        }
    }
    if (!check_only || rc != 0)
        end_break(p);
    PQclear(r);
    return rc;
}

static int pg_lock_force(mk_backend *b, const char *id, bool check_only, json_t **info, char *why, size_t whylen)
{
    pg *p = impl(b);
    *info = NULL;
    if (!p->id[0]) {
        snprintf(why, whylen, "%s has no lock %s", p->name, id);
        return 1;
    }
    pthread_mutex_lock(&p->mu);
    int rc = force_locked(p, id, check_only, info, why, whylen);
    pthread_mutex_unlock(&p->mu);
    return rc;
}

/* ---- reading the state ---- */

/* The damage that makes a state unreadable, named: never "no state". */
static void damaged(pg *p, char *why, size_t whylen, const char *what)
{
    snprintf(why, whylen, "error[E0300]: the state cannot be read: postgres %s: %s", p->name, what);
}

/* The stack's row and its last history row, checked against each other
 * (in the reader's transaction): the chain must reach the current serial,
 * with the stack's hash and header that row's. Each delta's own hash is
 * checked where the deltas are read (history, an older serial's state):
 * the current state is the resources rows, and hashing the last delta on
 * every read would cost a read of a state just imported (one delta of
 * every entry) a quarter of a second. */
static PGresult *head_rows(pg *p, char *why, size_t whylen)
{
    const char *v[] = {p->id};
    PGresult *r = q(p, "SELECT s.serial, s.header, h.serial, h.hash = s.history_hash, "
                    "h.header::text = s.header::text, h.digest, h.serial IS NOT NULL OR EXISTS (SELECT 1 FROM resources "
                    "WHERE stack_id = s.id) FROM stacks s LEFT JOIN LATERAL (SELECT serial, hash, header, digest FROM "
                    "history WHERE stack_id = s.id ORDER BY serial DESC LIMIT 1) h ON true WHERE s.id = $1", 1, v, why,
                    whylen);
    /* serial 0 is no state only when nothing was ever written: a serial
     * set back to 0 must not make the rows read as none */
    if (!r || !PQntuples(r) || (!strcmp(PQgetvalue(r, 0, 0), "0") && strcmp(PQgetvalue(r, 0, 6), "t") != 0))
        return r;
    char m[300];
    const char *serial = PQgetvalue(r, 0, 0);
    if (!strcmp(serial, "0"))
        snprintf(m, sizeof m, "the stack is at serial 0 (no state) but it has history or resources rows: its serial was "
                 "rewritten");
    else if (PQgetisnull(r, 0, 2))
        snprintf(m, sizeof m, "the stack is at serial %s but its history holds no serial: the chain does not reach it",
                 serial);
    else if (strcmp(PQgetvalue(r, 0, 2), serial) != 0)
        snprintf(m, sizeof m, "its history ends at serial %s, but the stack is at serial %s: the chain does not reach the "
                 "current serial", PQgetvalue(r, 0, 2), serial);
    else if (strcmp(PQgetvalue(r, 0, 3), "t") != 0)
        snprintf(m, sizeof m, "the stack's history_hash is not the hash of history row serial %s", serial);
    else if (strcmp(PQgetvalue(r, 0, 4), "t") != 0)
        snprintf(m, sizeof m, "the stack's header is not the one history row serial %s recorded", serial);
    else
        return r;
    PQclear(r);
    damaged(p, why, whylen, m);
    return NULL;
}

/* The rows' digest against the one the chain's last row recorded (a row
 * written before schema 2 recorded none). */
static bool digest_matches(pg *p, PGresult *h, const digest *sum, char *why, size_t whylen)
{
    char hex[65], m[300];
    if (PQgetisnull(h, 0, 5))
        return true;
    digest_hex(sum, hex);
    if (!strcmp(hex, PQgetvalue(h, 0, 5)))
        return true;
    snprintf(m, sizeof m, "the resources rows are not the entries history row serial %s recorded (their digest "
             "differs): a row was added, removed, moved or edited outside moksha", PQgetvalue(h, 0, 0));
    damaged(p, why, whylen, m);
    return false;
}

/* Forget the rows known: the state is empty (or about to be read). */
static void forget_rows(pg *p)
{
    json_object_clear(p->pos);
    json_object_clear(p->rowsum);
    memset(&p->sum, 0, sizeof p->sum);
    p->next_pos = 1, p->have_pos = true;
}

/* Row i of (address, pos, …, entry at col) known as written: its pos and
 * its digest, added to the sum. */
static long long know_row(pg *p, PGresult *r, int i, int col)
{
    const char *addr = PQgetvalue(r, i, 0);
    digest d;
    char hex[65];
    row_digest(addr, PQgetvalue(r, i, 1), PQgetvalue(r, i, col), (size_t)PQgetlength(r, i, col), &d);
    digest_add(&p->sum, &d, false);
    digest_hex(&d, hex);
    json_object_set_new(p->rowsum, addr, json_string(hex));
    long long pos = atoll(PQgetvalue(r, i, 1));
    json_object_set_new(p->pos, addr, json_integer(pos));
    return pos;
}

static PGresult *resource_rows(pg *p, char *why, size_t whylen)
{
    const char *v[] = {p->id};
    return q(p, "SELECT address, pos, serial, entry FROM resources WHERE stack_id = $1 ORDER BY pos", 1, v, why, whylen);
}

/* Row i as a state entry: parses, is whole, and is its address's. */
static json_t *row_entry(pg *p, PGresult *r, int i, long long serial, char *why, size_t whylen)
{
    const char *addr = PQgetvalue(r, i, 0);
    json_t *e = json_loadb(PQgetvalue(r, i, 3), (size_t)PQgetlength(r, i, 3), JSON_REJECT_DUPLICATES, NULL);
    const char *a = json_string_value(json_object_get(e, "address"));
    bool whole = a && json_is_string(json_object_get(e, "type")) && json_is_object(json_object_get(e, "attributes"));
    char m[600];
    if (!e)
        snprintf(m, sizeof m, "resources row `%s`: its entry does not parse", addr);
    else if (!whole)
        snprintf(m, sizeof m, "resources row `%s`: its entry lacks its address, type or attributes", addr);
    else if (strcmp(a, addr) != 0)
        snprintf(m, sizeof m, "resources row `%s`: its entry is `%s`'s", addr, a);
    else if (atoll(PQgetvalue(r, i, 2)) > serial)
        snprintf(m, sizeof m, "resources row `%s` was written by serial %s, after the state's %lld", addr,
                 PQgetvalue(r, i, 2), serial);
    else
        return e;
    json_decref(e);
    damaged(p, why, whylen, m);
    return NULL;
}

/* For the state's bytes alone (a planner parses them, and refuses an entry
 * that is not whole): the server has checked each is JSON (a json column),
 * and a row that holds another's entry, or none, is found without parsing
 * it — its own address must be in it, as a JSON string after "address". */
static bool row_names(pg *p, PGresult *r, int i, long long serial, char *why, size_t whylen)
{
    const char *addr = PQgetvalue(r, i, 0), *e = PQgetvalue(r, i, 3);
    size_t n = (size_t)PQgetlength(r, i, 3);
    char want[300], m[600];
    int k = snprintf(want, sizeof want, "\"%s\"", addr);
    const char *at = memmem(e, n, "\"address\"", 9);
    const char *val = at ? at + 9 + strspn(at + 9, " :") : NULL;
    bool named = strpbrk(addr, "\"\\") || (k > 0 && (size_t)k < sizeof want && val &&
                                              (size_t)(e + n - val) >= (size_t)k && !memcmp(val, want, (size_t)k));
    if (!named)
        snprintf(m, sizeof m, "resources row `%s`: its entry is not `%s`'s", addr, addr);
    else if (atoll(PQgetvalue(r, i, 2)) > serial)
        snprintf(m, sizeof m, "resources row `%s` was written by serial %s, after the state's %lld", addr,
                 PQgetvalue(r, i, 2), serial);
    else
        return true;
    damaged(p, why, whylen, m);
    return false;
}

/* The rows as an mk_rtstate: made empty by rtstate's own constructor (a
 * path that cannot exist), then filled without going through put, which
 * would count every entry as changed since the load (note [state delta]). */
static mk_rtstate *rows_state(pg *p, PGresult *h, PGresult *r, char *why, size_t whylen)
{
    mk_rtstate *s = mk_rtstate_load("", why, whylen);
    json_t *doc = s ? json_loadb(PQgetvalue(h, 0, 1), (size_t)PQgetlength(h, 0, 1), JSON_PRESERVE_ORDER, NULL) : NULL;
    if (!json_is_object(doc)) {
        json_decref(doc);
        mk_rtstate_free(s);
        damaged(p, why, whylen, "the stack's header is not a JSON object");
        return NULL;
    }
    json_object_set_new(doc, "resources", json_array());
    json_decref(s->doc);
    s->doc = doc;
    long long serial = mk_rtstate_serial(s), maxpos = 0;
    forget_rows(p);
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *e = row_entry(p, r, i, serial, why, whylen);
        if (!e)
            break;
        const char *addr = PQgetvalue(r, i, 0);
        json_object_set_new(s->by_addr, addr, e);
        json_object_set_new(s->texts, addr, json_stringn_nocheck(PQgetvalue(r, i, 3), (size_t)PQgetlength(r, i, 3)));
        long long pos = know_row(p, r, i, 3);
        maxpos = pos > maxpos ? pos : maxpos;
    }
    p->next_pos = maxpos + 1;
    if (json_object_size(p->pos) == (size_t)PQntuples(r) && digest_matches(p, h, &p->sum, why, whylen))
        return s;
    mk_rtstate_free(s);
    forget_rows(p);
    p->have_pos = false; /* learnt again before a write */
    return NULL;
}

/* A reader's transaction: one snapshot of every row it reads. */
static bool begin_read(pg *p, char *why, size_t whylen)
{
    return qdo(p, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL, why, whylen);
}

static mk_rtstate *load_locked(pg *p, char *why, size_t whylen)
{
    if (!begin_read(p, why, whylen))
        return NULL;
    PGresult *h = head_rows(p, why, whylen), *r = NULL;
    mk_rtstate *s = NULL;
    if (h && (!PQntuples(h) || !strcmp(PQgetvalue(h, 0, 0), "0"))) {
        s = mk_rtstate_load("", why, whylen); /* a row and no serial: locked or refreshed, never written */
        forget_rows(p);
    } else if (h && (r = resource_rows(p, why, whylen)))
        s = rows_state(p, h, r, why, whylen);
    PQclear(h);
    PQclear(r);
    mk_pgsql_rollback(p->c);
    return s;
}

static mk_rtstate *pg_load(mk_backend *b, char *why, size_t whylen)
{
    pg *p = impl(b);
    pthread_mutex_lock(&p->mu);
    mk_rtstate *s = p->id[0] || (find_row(p, b, why, whylen) && p->id[0]) ? load_locked(p, why, whylen)
                                                                          : mk_rtstate_load("", why, whylen);
    if (s && !p->id[0])
        forget_rows(p);
    pthread_mutex_unlock(&p->mu);
    return s;
}

/* The state file's bytes from its header and entry texts, exactly as
 * mk_rtstate_text and mk_rtstate_save_text make them (note [state text]). */
static char *compose(const char *header, size_t hn, const char *const *texts, const size_t *lens, size_t count,
                     size_t *n)
{
    tbuf t = {0};
    if (hn < 2)
        return NULL;
    put(&t, header, hn - 2); /* without the closing "\n}" */
    puts_(&t, hn > 3 ? ",\n \"resources\": [" : "\n \"resources\": [");
    for (size_t i = 0; i < count; i++) {
        puts_(&t, i ? ",\n  " : "\n  ");
        put(&t, texts[i], lens[i]);
    }
    puts_(&t, count ? "\n ]\n}\n" : "]\n}\n");
    if (t.oom) {
        free(t.s);
        return NULL;
    }
    *n = t.n;
    return t.s;
}

static char *current_text(pg *p, size_t *n, bool *absent, char *why, size_t whylen)
{
    PGresult *h = head_rows(p, why, whylen), *r = NULL;
    char *out = NULL;
    *absent = h && (!PQntuples(h) || !strcmp(PQgetvalue(h, 0, 0), "0"));
    if (h && !*absent && (r = resource_rows(p, why, whylen))) {
        size_t count = (size_t)PQntuples(r);
        const char **texts = malloc((count + 1) * sizeof *texts);
        size_t *lens = malloc((count + 1) * sizeof *lens);
        long long serial = atoll(PQgetvalue(h, 0, 0));
        bool ok = texts && lens;
        digest sum = {{0}}, d;
        for (size_t i = 0; ok && i < count; i++) {
            ok = row_names(p, r, (int)i, serial, why, whylen); /* a damaged row is named, not copied */
            texts[i] = PQgetvalue(r, (int)i, 3);
            lens[i] = (size_t)PQgetlength(r, (int)i, 3);
            row_digest(PQgetvalue(r, (int)i, 0), PQgetvalue(r, (int)i, 1), texts[i], lens[i], &d);
            digest_add(&sum, &d, false);
        }
        ok = ok && digest_matches(p, h, &sum, why, whylen);
        out = ok ? compose(PQgetvalue(h, 0, 1), (size_t)PQgetlength(h, 0, 1), texts, lens, count, n) : NULL;
        free(texts);
        free(lens);
    }
    PQclear(h);
    PQclear(r);
    return out;
}

/* ---- history ---- */

/* A row since schema 2 hashes its entries' digest too (NULL: an older row). */
static void chain_hash(const char *prev, const char *serial, const char *header, size_t hn, const char *delta, size_t dn,
                       const char *digest_, char out[65])
{
    const void *parts[] = {prev, "\n", serial, "\n", header, "\n", delta, "\n", digest_};
    const size_t lens[] = {strlen(prev), 1, strlen(serial), 1, hn, 1, dn, 1, digest_ ? strlen(digest_) : 0};
    mk_sha256_hex_parts(digest_ ? 9 : 7, parts, lens, out);
}

static PGresult *history_rows(pg *p, const char *upto, char *why, size_t whylen)
{
    const char *v[] = {p->id, upto};
    return q(p, "SELECT serial, to_char(time AT TIME ZONE 'UTC', " ISO "), operation, run, header, delta, prev_hash, hash, "
             "digest FROM history WHERE stack_id = $1 AND ($2::bigint IS NULL OR serial <= $2::bigint) ORDER BY serial", 2, v,
             why, whylen);
}

/* Row i's link: its prev_hash is the hash before it, its hash is over it. */
static bool row_links(pg *p, PGresult *r, int i, char *why, size_t whylen)
{
    const char *prev = i ? PQgetvalue(r, i - 1, 7) : ZEROS, *serial = PQgetvalue(r, i, 0);
    char h[65], m[300];
    chain_hash(PQgetvalue(r, i, 6), serial, PQgetvalue(r, i, 4), (size_t)PQgetlength(r, i, 4), PQgetvalue(r, i, 5),
               (size_t)PQgetlength(r, i, 5), PQgetisnull(r, i, 8) ? NULL : PQgetvalue(r, i, 8), h);
    if (i && atoll(serial) != atoll(PQgetvalue(r, i - 1, 0)) + 1)
        snprintf(m, sizeof m, "history: serial %s follows serial %s: the serials between were removed", serial,
                 PQgetvalue(r, i - 1, 0));
    else if (strcmp(PQgetvalue(r, i, 6), prev) != 0)
        snprintf(m, sizeof m, "history row serial %s does not link to the row before it (its prev_hash differs)", serial);
    else if (strcmp(PQgetvalue(r, i, 7), h) != 0)
        snprintf(m, sizeof m, "history row serial %s: its hash does not match its delta (the row was altered)", serial);
    else
        return true;
    damaged(p, why, whylen, m);
    return false;
}

/* What a delta changed: the addresses put and removed. */
static json_t *delta_summary(PGresult *r, int i)
{
    json_t *d = json_loadb(PQgetvalue(r, i, 5), (size_t)PQgetlength(r, i, 5), 0, NULL), *changed = json_array(), *e;
    size_t k;
    json_array_foreach(json_object_get(d, "put"), k, e)
        json_array_append(changed, json_array_get(e, 0));
    json_t *removed = json_incref(json_object_get(d, "removed"));
    json_decref(d);
    return json_pack("{s:o, s:o}", "changed", changed, "removed", removed ? removed : json_array());
}

static json_t *history_locked(pg *p, char *why, size_t whylen)
{
    PGresult *r = history_rows(p, NULL, why, whylen), *h = NULL;
    json_t *list = r ? json_array() : NULL;
    for (int i = 0; list && i < PQntuples(r); i++) {
        if (!row_links(p, r, i, why, whylen)) {
            json_decref(list);
            list = NULL;
            break;
        }
        json_t *item = delta_summary(r, i);
        json_object_update_new(item, json_pack("{s:I, s:s, s:s, s:s?, s:s}", "serial",
                                               (json_int_t)atoll(PQgetvalue(r, i, 0)), "time", PQgetvalue(r, i, 1),
                                               "operation", PQgetvalue(r, i, 2),
                                               "run", PQgetisnull(r, i, 3) ? NULL : PQgetvalue(r, i, 3), "hash",
                                               PQgetvalue(r, i, 7)));
        json_array_append_new(list, item);
    }
    if (list && !(h = head_rows(p, why, whylen))) { /* the first serial that fails first; then the chain's end */
        json_decref(list);
        list = NULL;
    }
    PQclear(h);
    PQclear(r);
    return list;
}

static json_t *pg_history(mk_backend *b, char *why, size_t whylen)
{
    pg *p = impl(b);
    if (!p->id[0])
        return json_array();
    pthread_mutex_lock(&p->mu);
    json_t *list = begin_read(p, why, whylen) ? history_locked(p, why, whylen) : NULL;
    mk_pgsql_rollback(p->c);
    pthread_mutex_unlock(&p->mu);
    return list;
}

/* Apply delta i to at (address → [pos, text]). */
static bool replay(pg *p, PGresult *r, int i, json_t *at, char *why, size_t whylen)
{
    json_t *d = json_loadb(PQgetvalue(r, i, 5), (size_t)PQgetlength(r, i, 5), JSON_PRESERVE_ORDER, NULL), *e;
    size_t k;
    json_array_foreach(json_object_get(d, "put"), k, e) {
        const char *a = json_string_value(json_array_get(e, 0));
        char *t = json_dumps(json_array_get(e, 2), JSON_PRESERVE_ORDER);
        if (!a || !t) {
            free(t);
            json_decref(d);
            char m[200];
            snprintf(m, sizeof m, "history row serial %s: its delta is not {\"put\": [[address, pos, entry]…]}",
                     PQgetvalue(r, i, 0));
            damaged(p, why, whylen, m);
            return false;
        }
        json_object_set_new(at, a, json_pack("[O, s]", json_array_get(e, 1), t));
        free(t);
    }
    json_array_foreach(json_object_get(d, "removed"), k, e)
        json_object_del(at, json_string_value(e) ? json_string_value(e) : "");
    json_decref(d);
    return true;
}

static int by_pos(const void *x, const void *y)
{
    json_int_t a = json_integer_value(json_array_get(*(json_t *const *)x, 0));
    json_int_t b = json_integer_value(json_array_get(*(json_t *const *)y, 0));
    return a < b ? -1 : a > b;
}

static char *replayed_text(json_t *at, PGresult *r, int last, size_t *n)
{
    size_t count = json_object_size(at), i = 0;
    json_t **v = malloc((count + 1) * sizeof *v), *e;
    const char **texts = malloc((count + 1) * sizeof *texts), *k;
    size_t *lens = malloc((count + 1) * sizeof *lens);
    char *out = NULL;
    if (v && texts && lens) {
        json_object_foreach(at, k, e)
            v[i++] = e;
        qsort(v, count, sizeof *v, by_pos);
        for (i = 0; i < count; i++) {
            texts[i] = json_string_value(json_array_get(v[i], 1));
            lens[i] = strlen(texts[i]);
        }
        out = compose(PQgetvalue(r, last, 4), (size_t)PQgetlength(r, last, 4), texts, lens, count, n);
    }
    free(v);
    free(texts);
    free(lens);
    return out;
}

/* The state at an older serial: the deltas up to it replayed, each link checked. */
static char *serial_text(pg *p, long long serial, size_t *n, bool *absent, char *why, size_t whylen)
{
    char upto[24];
    snprintf(upto, sizeof upto, "%lld", serial);
    PGresult *r = history_rows(p, upto, why, whylen);
    int m = r ? PQntuples(r) : 0;
    if (r && (!m || atoll(PQgetvalue(r, m - 1, 0)) != serial)) {
        *absent = true;
        snprintf(why, whylen, "%s has no serial %lld in its history%s", p->name, serial,
                 m ? " (its first serial is later)" : "");
        PQclear(r);
        return NULL;
    }
    json_t *at = json_object();
    bool ok = r != NULL;
    for (int i = 0; ok && i < m; i++)
        ok = row_links(p, r, i, why, whylen) && replay(p, r, i, at, why, whylen);
    char *out = ok ? replayed_text(at, r, m - 1, n) : NULL;
    json_decref(at);
    PQclear(r);
    return out;
}

static char *pg_state_text(mk_backend *b, long long serial, size_t *n, bool *absent, char *why, size_t whylen)
{
    pg *p = impl(b);
    if (!p->id[0] && !find_row(p, b, why, whylen))
        return NULL;
    if (!p->id[0]) {
        *absent = true;
        return NULL;
    }
    pthread_mutex_lock(&p->mu);
    char *out = NULL;
    if (begin_read(p, why, whylen)) {
        PGresult *h = serial >= 0 ? head_rows(p, why, whylen) : NULL;
        bool current = serial < 0 || (h && PQntuples(h) && atoll(PQgetvalue(h, 0, 0)) == serial);
        if (serial < 0 || h)
            out = current ? current_text(p, n, absent, why, whylen) : serial_text(p, serial, n, absent, why, whylen);
        PQclear(h);
        mk_pgsql_rollback(p->c);
    }
    pthread_mutex_unlock(&p->mu);
    return out;
}

/* ---- writing the state ---- */

/* The serial's delta as history keeps it, {"put": [[address, pos, entry]…],
 * "removed": [address…]}, and the rows' parameters beside it. */
typedef struct delta_rows {
    tbuf delta;
    const char **put;  /* address, pos, entry: per entry */
    char (*pos)[24];
    char (*dig)[65];   /* each put row's digest */
    size_t nput;
    const char **removed;
    size_t nremoved;
    digest sum;        /* the entries' digest once written */
} delta_rows;

static void change_free(delta_rows *c)
{
    free(c->delta.s);
    free(c->put);
    free(c->pos);
    free(c->dig);
    free(c->removed);
}

static long long pos_of(pg *p, const char *addr)
{
    json_t *v = json_object_get(p->pos, addr);
    return v ? json_integer_value(v) : p->next_pos++;
}

static bool change_put(const pg *p, delta_rows *c, size_t i, const char *addr, long long pos, json_t *text_)
{
    digest d;
    snprintf(c->pos[i], sizeof c->pos[i], "%lld", pos);
    if (!json_string_value(text_))
        return false;
    digest_drop(p, &c->sum, addr);
    row_digest(addr, c->pos[i], json_string_value(text_), json_string_length(text_), &d);
    digest_add(&c->sum, &d, false);
    digest_hex(&d, c->dig[i]);
    c->put[3 * i] = addr, c->put[3 * i + 1] = c->pos[i], c->put[3 * i + 2] = json_string_value(text_);
    puts_(&c->delta, i ? ",[" : "[");
    put_json_string(&c->delta, addr);
    puts_(&c->delta, ",");
    puts_(&c->delta, c->pos[i]);
    puts_(&c->delta, ",");
    put(&c->delta, json_string_value(text_), json_string_length(text_));
    puts_(&c->delta, "]");
    return true;
}

static void change_removed(const pg *p, delta_rows *c, json_t *removed)
{
    size_t i;
    json_t *a;
    c->removed = malloc((json_array_size(removed) + 1) * sizeof *c->removed);
    puts_(&c->delta, "],\"removed\":[");
    json_array_foreach(removed, i, a) {
        if (!json_string_value(a) || !c->removed)
            continue;
        c->removed[c->nremoved++] = json_string_value(a);
        digest_drop(p, &c->sum, json_string_value(a));
        if (c->nremoved > 1)
            puts_(&c->delta, ",");
        put_json_string(&c->delta, json_string_value(a));
    }
    puts_(&c->delta, "]}");
}

/* The change from the snapshot's "delta" (rtstate.h note [state delta]):
 * {"put": {ADDRESS: TEXT}, "removed": [ADDRESS]}. Borrows it. */
static bool change_of(pg *p, json_t *delta, delta_rows *c)
{
    json_t *puts = json_object_get(delta, "put"), *t;
    const char *addr;
    size_t i = 0, n = json_object_size(puts);
    c->put = malloc((3 * n + 1) * sizeof *c->put);
    c->pos = malloc((n + 1) * sizeof *c->pos);
    c->dig = malloc((n + 1) * sizeof *c->dig);
    c->sum = p->sum;
    bool ok = c->put && c->pos && c->dig;
    puts_(&c->delta, "{\"put\":[");
    json_object_foreach(puts, addr, t) {
        if (ok)
            ok = change_put(p, c, i++, addr, pos_of(p, addr), t);
    }
    c->nput = i;
    change_removed(p, c, json_object_get(delta, "removed"));
    return ok && !c->delta.oom;
}

/* Without a delta (a state written whole): every entry is put, and what
 * the state had that it lacks is removed. Borrows texts. */
static json_t *whole_delta(pg *p, json_t *texts)
{
    json_t *d = json_pack("{s:o, s:[]}", "put", json_object(), "removed"), *seen = json_object(), *t;
    size_t i;
    json_array_foreach(texts, i, t) {
        json_t *e = json_loads(json_string_value(t), 0, NULL);
        const char *a = json_string_value(json_object_get(e, "address"));
        if (a) {
            json_object_set(json_object_get(d, "put"), a, t);
            json_object_set_new(seen, a, json_true());
        }
        json_decref(e);
    }
    const char *a;
    json_object_foreach(p->pos, a, t)
        if (!json_object_get(seen, a))
            json_array_append_new(json_object_get(d, "removed"), json_string(a));
    json_decref(seen);
    return d;
}

static bool write_rows(pg *p, const delta_rows *c, const char *serial, char *why, size_t whylen)
{
    const char *shared[] = {p->id, serial};
    rows up = {"INSERT INTO resources (stack_id, address, pos, entry, serial) VALUES ", "($1,?,?,?,$2)",
               " ON CONFLICT (stack_id, address) DO UPDATE SET pos = EXCLUDED.pos, entry = EXCLUDED.entry, "
               "serial = EXCLUDED.serial", 2, 3, shared};
    rows rm = {"DELETE FROM resources WHERE stack_id = $1 AND address IN (", "?", ")", 1, 1, shared};
    return rows_exec(p, &up, c->put, c->nput, why, whylen) && rows_exec(p, &rm, c->removed, c->nremoved, why, whylen);
}

/* Check-and-swap the serial: 0 rows means another run wrote it. */
static bool swap_serial(pg *p, const char *serial, const char *expect, const char *header, const char *lineage,
                        char prev[65], char *why, size_t whylen)
{
    const char *v[] = {p->id, serial, expect, header, lineage};
    PGresult *r = q(p, "UPDATE stacks SET serial = $2, header = $4, lineage = $5, updated = now() WHERE id = $1 AND "
                    "serial = $3 RETURNING history_hash", 5, v, why, whylen);
    if (r && PQntuples(r) == 1) {
        snprintf(prev, 65, "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
        return true;
    }
    PQclear(r);
    if (!r)
        return false;
    r = q(p, "SELECT serial FROM stacks WHERE id = $1", 1, v, why, whylen);
    snprintf(why, whylen, "the state of %s is at serial %s, not %s as this run expected: another run wrote it; nothing "
             "was written", p->name, r && PQntuples(r) ? PQgetvalue(r, 0, 0) : "?", expect);
    PQclear(r);
    return false;
}

static bool write_history(pg *p, const char *serial, const char *header, const delta_rows *c, const char *prev,
                          const char *operation, const char *run, char *why, size_t whylen)
{
    char hash[65], sum[65];
    digest_hex(&c->sum, sum);
    chain_hash(prev, serial, header, strlen(header), c->delta.s, c->delta.n, sum, hash);
    const char *v[] = {p->id, serial, operation ? operation : "apply", run, header, c->delta.s, prev, hash, sum};
    return qdo(p, "INSERT INTO history (stack_id, serial, time, operation, run, header, delta, prev_hash, hash, digest) "
               "VALUES ($1, $2, now(), $3, $4, $5, $6, $7, $8, $9)", 9, v, why, whylen) &&
           qdo(p, "UPDATE stacks SET history_hash = $2 WHERE id = $1", 2, (const char *[]){p->id, hash}, why, whylen);
}

/* The header as mk_rtstate_text writes it: the document without its resources. */
static char *header_of(json_t *doc)
{
    json_t *h = json_copy(doc);
    json_object_del(h, "resources");
    json_object_del(h, "delta");
    char *t = json_dumps(h, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(h);
    return t;
}

/* After the commit: the positions now held. */
static void keep_positions(pg *p, const delta_rows *c)
{
    for (size_t i = 0; i < c->nput; i++) {
        json_object_set_new(p->pos, c->put[3 * i], json_integer(atoll(c->pos[i])));
        json_object_set_new(p->rowsum, c->put[3 * i], json_string(c->dig[i]));
    }
    for (size_t i = 0; i < c->nremoved; i++) {
        json_object_del(p->pos, c->removed[i]);
        json_object_del(p->rowsum, c->removed[i]);
    }
    if (c->dig) /* a write of the state, not of audit lines alone */
        p->sum = c->sum;
}

/* The next free position, when no load told us. */
static bool learn_positions(pg *p, char *why, size_t whylen)
{
    if (p->have_pos)
        return true;
    const char *v[] = {p->id};
    PGresult *r = q(p, "SELECT address, pos, entry FROM resources WHERE stack_id = $1", 1, v, why, whylen);
    if (!r)
        return false;
    forget_rows(p);
    for (int i = 0; i < PQntuples(r); i++) {
        long long pos = know_row(p, r, i, 2);
        p->next_pos = pos >= p->next_pos ? pos + 1 : p->next_pos;
    }
    PQclear(r);
    return true;
}

static bool write_state(pg *p, mk_backend_write *w, delta_rows *c, char *why, size_t whylen)
{
    json_t *snap = w->snapshot, *delta = json_incref(json_object_get(snap, "delta"));
    if (!learn_positions(p, why, whylen)) {
        json_decref(delta);
        return false;
    }
    if (!delta)
        delta = whole_delta(p, json_object_get(snap, "resources"));
    char serial[24], expect[24], prev[65], *header = header_of(snap);
    snprintf(serial, sizeof serial, "%lld", w->serial);
    snprintf(expect, sizeof expect, "%lld", w->expect);
    long long next = p->next_pos;
    bool ok = header && change_of(p, delta, c);
    if (!ok)
        snprintf(why, whylen, "out of memory");
    ok = ok && swap_serial(p, serial, expect, header, json_string_value(json_object_get(snap, "lineage")) ?: "", prev,
                           why, whylen) &&
         write_rows(p, c, serial, why, whylen) &&
         write_history(p, serial, header, c, prev, w->operation, w->run, why, whylen);
    if (!ok)
        p->next_pos = next;
    free(header);
    json_decref(delta);
    return ok;
}

/* The intents this write settles: those it names, or else those of the
 * entries it puts and removes (a step's outcome recorded is its address in
 * the delta). */
static bool settle_intents(pg *p, const mk_backend_write *w, const delta_rows *c, char *why, size_t whylen)
{
    const char *shared[] = {p->id, w->run};
    rows rm = {"DELETE FROM intents WHERE stack_id = $1 AND run = $2 AND address IN (", "?", ")", 2, 1, shared};
    if (!w->run)
        return true;
    if (w->ndone)
        return rows_exec(p, &rm, (const char *const *)w->done, w->ndone, why, whylen);
    const char **addrs = malloc((c->nput + 1) * sizeof *addrs);
    for (size_t i = 0; addrs && i < c->nput; i++)
        addrs[i] = c->put[3 * i];
    bool ok = addrs && rows_exec(p, &rm, addrs, c->nput, why, whylen) &&
              rows_exec(p, &rm, c->removed, c->nremoved, why, whylen);
    free(addrs);
    return ok;
}

static bool persist_locked(pg *p, mk_audit *a, mk_backend_write *w, delta_rows *c, char *why, size_t whylen)
{
    if (!qdo(p, "BEGIN", 0, NULL, why, whylen))
        return false;
    p->in_tx = true, p->why = why, p->whylen = whylen;
    *why = 0;
    bool ok = !w->nlines || !a || mk_audit_write(a, w->lines, w->nlines);
    ok = ok && (!w->snapshot || write_state(p, w, c, why, whylen));
    ok = ok && (!a || mk_audit_seal(a, w->serial));
    ok = ok && settle_intents(p, w, c, why, whylen);
    p->in_tx = false;
    if (ok)
        return qdo(p, "COMMIT", 0, NULL, why, whylen);
    if (!*why)
        snprintf(why, whylen, "postgres %s: the audit lines could not be stored", p->name);
    mk_pgsql_rollback(p->c);
    return false;
}

static bool store_alone(pg *p, const char *sql, const char *text, size_t n, bool lines);

static bool pg_persist(mk_backend *b, mk_audit *a, mk_backend_write *w, char *why, size_t whylen)
{
    pg *p = impl(b);
    delta_rows c = {0};
    pthread_mutex_lock(&p->mu);
    bool ok = p->id[0] || ensure_row(p, b, why, whylen);
    ok = ok && persist_locked(p, a, w, &c, why, whylen);
    if (ok)
        keep_positions(p, &c);
    pthread_mutex_unlock(&p->mu);
    /* as on local, where the lines are on disk before the state is tried:
     * kept, after the head, for the next run to adopt (note [audit head]) */
    if (!ok && a && w->nlines && !p->lost)
        store_alone(p, NULL, w->lines, w->nlines, true);
    change_free(&c);
    json_decref(w->snapshot);
    w->snapshot = NULL;
    return ok;
}

/* ---- the audit log (note [audit store] in audit.h) ---- */

/* Lines as rows: each one's seq is its own "seq" (the chain's; the audit
 * code checks it). text is copied so each line ends in a NUL. */
static bool insert_lines(pg *p, const char *lines, size_t n, char *why, size_t whylen)
{
    char *copy = malloc(n + 1), (*seq)[24] = malloc((n / 40 + 2) * sizeof *seq);
    const char **vals = malloc((n / 20 + 4) * sizeof *vals);
    size_t count = 0;
    bool ok = copy && seq && vals;
    if (ok)
        memcpy(copy, lines, n), copy[n] = 0;
    for (char *l = copy, *nl; ok && l && *l; l = nl ? nl + 1 : NULL) {
        nl = strchr(l, '\n');
        if (nl)
            *nl = 0;
        const char *s = strstr(l, "\"seq\":");
        ok = s != NULL;
        snprintf(seq[count], sizeof seq[count], "%lld", s ? atoll(s + 6) : 0);
        vals[2 * count] = seq[count], vals[2 * count + 1] = l;
        count++;
    }
    const char *shared[] = {p->id};
    rows ins = {"INSERT INTO audit (stack_id, seq, line) VALUES ", "($1,?,?)", "", 1, 2, shared};
    if (!ok && !*why)
        snprintf(why, whylen, "postgres %s: an audit line without its seq", p->name);
    ok = ok && rows_exec(p, &ins, vals, count, why, whylen);
    free(copy);
    free(seq);
    free(vals);
    return ok;
}

/* Outside a persist (mk_audit_append's one-off events): a transaction of its own. */
static bool store_alone(pg *p, const char *sql, const char *text, size_t n, bool lines)
{
    char why[400];
    pthread_mutex_lock(&p->mu);
    bool ok = qdo(p, "BEGIN", 0, NULL, why, sizeof why);
    if (ok && lines)
        ok = insert_lines(p, text, n, why, sizeof why);
    else if (ok)
        ok = qdo(p, sql, 2, (const char *[]){p->id, text}, why, sizeof why);
    ok = ok && qdo(p, "COMMIT", 0, NULL, why, sizeof why);
    if (!ok) {
        mk_pgsql_rollback(p->c);
        fprintf(stderr, "moksha-exec: error: %s\n", why);
    }
    pthread_mutex_unlock(&p->mu);
    return ok;
}

static bool store_write(void *ctx, const char *lines, size_t n)
{
    pg *p = ctx;
    if (p->in_tx)
        return insert_lines(p, lines, n, p->why, p->whylen);
    return store_alone(p, NULL, lines, n, true);
}

static bool store_seal(void *ctx, const char *head, size_t n)
{
    pg *p = ctx;
    static const char sql[] = "UPDATE stacks SET audit_head = $2 WHERE id = $1";
    (void)n;
    if (p->in_tx)
        return qdo(p, sql, 2, (const char *[]){p->id, head}, p->why, p->whylen);
    return store_alone(p, sql, head, n, false);
}

/* The log's lines as audit.jsonl holds them, and the head's text. */
static char *read_audit(pg *p, size_t *n, char **head, char *why, size_t whylen)
{
    const char *v[] = {p->id};
    PGresult *r = q(p, "SELECT line FROM audit WHERE stack_id = $1 ORDER BY seq", 1, v, why, whylen);
    PGresult *h = r ? q(p, "SELECT audit_head FROM stacks WHERE id = $1", 1, v, why, whylen) : NULL;
    tbuf t = {0};
    for (int i = 0; h && i < PQntuples(r); i++) {
        put(&t, PQgetvalue(r, i, 0), (size_t)PQgetlength(r, i, 0));
        puts_(&t, "\n");
    }
    *n = t.n;
    *head = h && PQntuples(h) && !PQgetisnull(h, 0, 0) ? strdup(PQgetvalue(h, 0, 0)) : NULL;
    bool ok = h && !t.oom;
    PQclear(r);
    PQclear(h);
    if (!ok) {
        free(t.s);
        free(*head);
        *head = NULL, *n = 0;
        if (!*why)
            snprintf(why, whylen, "out of memory");
        return NULL;
    }
    return t.s;
}

static char *audit_locked(mk_backend *b, size_t *n, char **head, bool *ok, char *why, size_t whylen)
{
    pg *p = impl(b);
    *why = 0;
    char *lines = NULL;
    *head = NULL, *n = 0;
    *ok = begin_read(p, why, whylen);
    if (*ok && p->id[0]) {
        lines = read_audit(p, n, head, why, whylen);
        *ok = lines || !*why;
    }
    mk_pgsql_rollback(p->c);
    return lines;
}

static mk_audit *pg_audit_open(mk_backend *b, const struct mk_keyring *k, const mk_audit_mark *mark, char *why,
                               size_t whylen)
{
    pg *p = impl(b);
    size_t n;
    char *head, label[240];
    bool ok;
    pthread_mutex_lock(&p->mu);
    char *lines = audit_locked(b, &n, &head, &ok, why, whylen);
    pthread_mutex_unlock(&p->mu);
    if (!ok)
        return NULL;
    snprintf(label, sizeof label, "postgres %s", p->name);
    mk_audit_store store = {store_write, store_seal, p};
    mk_audit *a = mk_audit_open_text(label, lines, n, head, k, mark, &store, why, whylen);
    free(lines);
    free(head);
    return a;
}

static char *pg_audit_text(mk_backend *b, size_t *n, char **head, char *why, size_t whylen)
{
    pg *p = impl(b);
    bool ok;
    char *h = NULL;
    pthread_mutex_lock(&p->mu);
    char *lines = audit_locked(b, n, &h, &ok, why, whylen);
    pthread_mutex_unlock(&p->mu);
    if (head)
        *head = h;
    else
        free(h);
    return lines;
}

/* ---- observations ---- */

static char *pg_observed_text(mk_backend *b, size_t *n, bool *absent, char *why, size_t whylen)
{
    pg *p = impl(b);
    *absent = true;
    if (!p->id[0])
        return NULL;
    pthread_mutex_lock(&p->mu);
    const char *v[] = {p->id};
    PGresult *r = q(p, "SELECT observed FROM stacks WHERE id = $1", 1, v, why, whylen);
    char *out = NULL;
    if (r && PQntuples(r) && !PQgetisnull(r, 0, 0)) {
        *absent = false;
        *n = (size_t)PQgetlength(r, 0, 0);
        out = strdup(PQgetvalue(r, 0, 0));
    }
    *absent = r && !out;
    PQclear(r);
    pthread_mutex_unlock(&p->mu);
    return out;
}

static bool pg_observed_write(mk_backend *b, const char *t, size_t n, char *why, size_t whylen)
{
    pg *p = impl(b);
    char *copy = strndup(t, n);
    pthread_mutex_lock(&p->mu);
    bool ok = copy && ensure_row(p, b, why, whylen) &&
              qdo(p, "UPDATE stacks SET observed = $2 WHERE id = $1", 2, (const char *[]){p->id, copy}, why, whylen);
    pthread_mutex_unlock(&p->mu);
    free(copy);
    return ok;
}

/* ---- intents ---- */

/* note [intent group commit]: a worker about to call its provider queues
 * its intent and waits; whoever finds no commit under way becomes the
 * leader, takes every intent queued by then, and commits them in one
 * transaction (one fsync on the server for the lot), then wakes them.
 * Intents queued meanwhile wait for the next leader — one of themselves.
 * So fifty workers starting together pay for a few commits, not fifty. */
static void commit_intents(pg *p, intent *batch)
{
    size_t n = 0;
    for (intent *i = batch; i; i = i->next)
        n++;
    const char **vals = malloc((4 * n + 1) * sizeof *vals);
    char why[300] = "out of memory";
    size_t k = 0;
    for (intent *i = batch; vals && i; i = i->next, k++)
        vals[4 * k] = i->run, vals[4 * k + 1] = i->address, vals[4 * k + 2] = i->action,
        vals[4 * k + 3] = i->change[0] ? i->change : NULL;
    const char *shared[] = {p->id};
    rows ins = {"INSERT INTO intents (stack_id, run, address, action, change, time) VALUES ", "($1,?,?,?,?,now())",
                " ON CONFLICT (stack_id, run, address) DO UPDATE SET action = EXCLUDED.action, change = EXCLUDED.change, "
                "time = EXCLUDED.time", 1, 4, shared};
    pthread_mutex_lock(&p->mu);
    bool ok = vals && p->locked && !p->lost && rows_exec(p, &ins, vals, n, why, sizeof why);
    if (vals && (!p->locked || p->lost))
        snprintf(why, sizeof why, "the lock on %s was lost (its server session ended)", p->name);
    pthread_mutex_unlock(&p->mu);
    free(vals);
    pthread_mutex_lock(&p->qmu);
    for (intent *i = batch; i; i = i->next) {
        i->ok = ok, i->done = true;
        snprintf(i->why, sizeof i->why, "%s", ok ? "" : why);
    }
    pthread_cond_broadcast(&p->qcv);
    pthread_mutex_unlock(&p->qmu);
}

static bool pg_intend(mk_backend *b, const char *run, const char *address, const char *action, long long change,
                      char *why, size_t whylen)
{
    pg *p = impl(b);
    intent me = {.run = run, .address = address, .action = action};
    if (change >= 0)
        snprintf(me.change, sizeof me.change, "%lld", change);
    pthread_mutex_lock(&p->qmu);
    me.next = p->queue, p->queue = &me;
    while (!me.done) {
        if (p->leader) {
            pthread_cond_wait(&p->qcv, &p->qmu);
            continue;
        }
        p->leader = true;
        intent *batch = p->queue;
        p->queue = NULL;
        pthread_mutex_unlock(&p->qmu);
        commit_intents(p, batch);
        pthread_mutex_lock(&p->qmu);
        p->leader = false;
        pthread_cond_broadcast(&p->qcv);
    }
    pthread_mutex_unlock(&p->qmu);
    if (!me.ok)
        snprintf(why, whylen, "cannot record the intent of %s (%s): %s", address, action, me.why);
    return me.ok;
}

static json_t *take_locked(pg *p, char *why, size_t whylen)
{
    const char *v[] = {p->id, p->lock_id};
    PGresult *r = q(p, "DELETE FROM intents WHERE stack_id = $1 AND run <> $2 RETURNING run, address, action, change, "
                    "to_char(time AT TIME ZONE 'UTC', " ISO ")", 2, v, why, whylen);
    if (!r)
        return NULL;
    json_t *list = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:o, s:s}", "run", PQgetvalue(r, i, 0), "address",
                                              PQgetvalue(r, i, 1), "action", PQgetvalue(r, i, 2), "change",
                                              PQgetisnull(r, i, 3) ? json_null()
                                                                   : json_integer(atoll(PQgetvalue(r, i, 3))),
                                              "time", PQgetvalue(r, i, 4)));
    PQclear(r);
    return list;
}

static int by_time(const void *x, const void *y)
{
    const char *a = json_string_value(json_object_get(*(json_t *const *)x, "time"));
    const char *b = json_string_value(json_object_get(*(json_t *const *)y, "time"));
    return strcmp(a ? a : "", b ? b : "");
}

static json_t *pg_take_intents(mk_backend *b, char *why, size_t whylen)
{
    pg *p = impl(b);
    if (!p->id[0])
        return json_array();
    pthread_mutex_lock(&p->mu);
    json_t *list = take_locked(p, why, whylen);
    pthread_mutex_unlock(&p->mu);
    size_t n = json_array_size(list); /* oldest first, as they were made */
    json_t **v = n ? malloc(n * sizeof *v) : NULL;
    for (size_t i = 0; v && i < n; i++)
        v[i] = json_incref(json_array_get(list, i));
    if (v) {
        qsort(v, n, sizeof *v, by_time);
        json_array_clear(list);
        for (size_t i = 0; i < n; i++)
            json_array_append_new(list, v[i]);
    }
    free(v);
    return list;
}

/* ---- environments, emptiness, import ---- */

static json_t *pg_envs(mk_backend *b, char *why, size_t whylen)
{
    pg *p = impl(b);
    const char *v[] = {b->info.stack};
    pthread_mutex_lock(&p->mu);
    PGresult *r = q(p, "SELECT env, serial, (SELECT count(*) FROM resources WHERE stack_id = s.id), to_char(updated AT "
                    "TIME ZONE 'UTC', " ISO ") FROM stacks s WHERE stack = $1 AND (serial > 0 OR audit_head IS NOT NULL "
                    "OR observed IS NOT NULL) ORDER BY env", 1, v, why, whylen);
    pthread_mutex_unlock(&p->mu);
    json_t *list = r ? json_array() : NULL;
    for (int i = 0; r && i < PQntuples(r); i++)
        json_array_append_new(list, json_pack("{s:s, s:I, s:I, s:s}", "env", PQgetvalue(r, i, 0), "serial",
                                              (json_int_t)atoll(PQgetvalue(r, i, 1)), "resources",
                                              (json_int_t)atoll(PQgetvalue(r, i, 2)), "time", PQgetvalue(r, i, 3)));
    PQclear(r);
    return list;
}

static bool empty_locked(pg *p, bool *empty, char *why, size_t whylen)
{
    const char *v[] = {p->id};
    PGresult *r = q(p, "SELECT serial = 0 AND audit_head IS NULL AND observed IS NULL AND NOT EXISTS (SELECT 1 FROM "
                    "resources WHERE stack_id = $1) AND NOT EXISTS (SELECT 1 FROM audit WHERE stack_id = $1) AND NOT "
                    "EXISTS (SELECT 1 FROM history WHERE stack_id = $1) FROM stacks WHERE id = $1", 1, v, why, whylen);
    if (r)
        *empty = !PQntuples(r) || !strcmp(PQgetvalue(r, 0, 0), "t");
    PQclear(r);
    return r != NULL;
}

static bool pg_is_empty(mk_backend *b, bool *empty, char *why, size_t whylen)
{
    pg *p = impl(b);
    *empty = true;
    pthread_mutex_lock(&p->mu);
    bool ok = (p->id[0] || find_row(p, b, why, whylen)) && (!p->id[0] || empty_locked(p, empty, why, whylen));
    pthread_mutex_unlock(&p->mu);
    return ok;
}

/* A migrated state, whole: its entries put at positions 1…, its serial's
 * history row the first of the chain. Refused unless it reads back as the
 * very bytes given. */
static bool import_state(pg *p, const char *state, size_t nstate, char *why, size_t whylen)
{
    json_t *doc = json_loadb(state, nstate, JSON_REJECT_DUPLICATES, NULL), *res = json_object_get(doc, "resources"), *e;
    json_t *texts = json_array(), *d = json_pack("{s:o, s:[]}", "put", json_object(), "removed");
    size_t i;
    json_array_foreach(res, i, e) {
        char *t = json_dumps(e, JSON_PRESERVE_ORDER);
        json_array_append_new(texts, json_string(t ? t : ""));
        json_object_set(json_object_get(d, "put"), json_string_value(json_object_get(e, "address")) ?: "",
                        json_array_get(texts, i));
        free(t);
    }
    json_t *head = json_copy(doc);
    json_object_set_new(head, "resources", texts);
    char *out = NULL, *h = json_is_object(doc) ? header_of(doc) : NULL;
    size_t n = 0, count = json_array_size(texts);
    const char **tv = malloc((count + 1) * sizeof *tv);
    size_t *lens = malloc((count + 1) * sizeof *lens);
    for (i = 0; tv && lens && i < count; i++)
        tv[i] = json_string_value(json_array_get(texts, i)), lens[i] = json_string_length(json_array_get(texts, i));
    if (h && tv && lens && json_is_array(res) && json_object_size(json_object_get(d, "put")) == count)
        out = compose(h, strlen(h), tv, lens, count, &n);
    bool ok = out && n == nstate && memcmp(out, state, n) == 0;
    if (!ok)
        snprintf(why, whylen, "the state to import is not a moksha.state/v1 file as the executor writes it (one resource "
                 "per line, unique addresses): it would not read back byte for byte");
    mk_backend_write w = {.snapshot = NULL, .serial = json_integer_value(json_object_get(doc, "serial")), .expect = 0,
                          .operation = "migrate"};
    delta_rows c = {0};
    char serial[24], prev[65];
    snprintf(serial, sizeof serial, "%lld", w.serial);
    forget_rows(p);
    ok = ok && change_of(p, d, &c) &&
         swap_serial(p, serial, "0", h, json_string_value(json_object_get(doc, "lineage")) ?: "", prev, why, whylen) &&
         write_rows(p, &c, serial, why, whylen) && write_history(p, serial, h, &c, prev, "migrate", NULL, why, whylen);
    if (ok)
        keep_positions(p, &c);
    change_free(&c);
    free(out), free(h), free(tv), free(lens);
    json_decref(head), json_decref(doc), json_decref(d);
    return ok;
}

static bool import_locked(pg *p, mk_backend *b, const char *state, size_t nstate, const char *lines, size_t nlines,
                          const char *head, const char *observed, size_t nobserved, char *why, size_t whylen)
{
    bool empty = false;
    if (!ensure_row(p, b, why, whylen) || !qdo(p, "BEGIN", 0, NULL, why, whylen))
        return false;
    bool ok = empty_locked(p, &empty, why, whylen);
    if (ok && !empty)
        snprintf(why, whylen, "postgres %s is not empty: a migration writes only into an empty state", p->name);
    ok = ok && empty && (!nstate || import_state(p, state, nstate, why, whylen));
    ok = ok && (!nlines || insert_lines(p, lines, nlines, why, whylen));
    ok = ok && (!head || qdo(p, "UPDATE stacks SET audit_head = $2 WHERE id = $1", 2, (const char *[]){p->id, head},
                             why, whylen));
    char *obs = observed ? strndup(observed, nobserved) : NULL;
    ok = ok && (!obs || qdo(p, "UPDATE stacks SET observed = $2 WHERE id = $1", 2, (const char *[]){p->id, obs}, why,
                            whylen));
    free(obs);
    if (ok)
        return qdo(p, "COMMIT", 0, NULL, why, whylen);
    mk_pgsql_rollback(p->c);
    return false;
}

static bool pg_import(mk_backend *b, const char *state, size_t nstate, const char *lines, size_t nlines,
                      const char *head, const char *observed, size_t nobserved, char *why, size_t whylen)
{
    pg *p = impl(b);
    pthread_mutex_lock(&p->mu);
    bool ok = import_locked(p, b, state, nstate, lines, nlines, head, observed, nobserved, why, whylen);
    pthread_mutex_unlock(&p->mu);
    return ok;
}

const mk_backend_ops mk_backend_pg_ops = {
    .kind = "postgres",
    .open = pg_open,
    .close = pg_close,
    .lock = pg_lock,
    .unlock = pg_unlock,
    .lock_held = pg_lock_held,
    .lock_info = pg_lock_info,
    .lock_force = pg_lock_force,
    .load = pg_load,
    .state_text = pg_state_text,
    .persist = pg_persist,
    .intend = pg_intend,
    .take_intents = pg_take_intents,
    .audit_open = pg_audit_open,
    .audit_text = pg_audit_text,
    .observed_text = pg_observed_text,
    .observed_write = pg_observed_write,
    .history = pg_history,
    .envs = pg_envs,
    .is_empty = pg_is_empty,
    .import = pg_import,
};
