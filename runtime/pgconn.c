/* pgconn — connections to the servers of the executor's configuration
 * (pgconn.h; docs/providers.md, "Rules for every provider"). The order of
 * a connect is the order of the rules: resolve and check the address, the
 * TLS rule, the password (a command's, while it lasts), ask the server how
 * it would authenticate (pgprobe.c), then libpq to the checked address. */
#include "runtime/pgconn.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/clock.h"
#include "runtime/config.h"
#include "runtime/netaddr.h"
#include "runtime/pgcred.h"
#include "runtime/pgprobe.h"

#define MAXOPT 48
#define MAXADDR 8 /* of a name's addresses, tried in order */

struct mk_pgconn {
    const mk_config_conn *cc;
    char host[256];           /* for the endpoint: as configured, "localhost" for a socket */
    int port;
    /* what libpq would use: the conninfo over libpq's defaults (the PG*
     * environment), read once so the rules judge what is used */
    char *kw[MAXOPT], *val[MAXOPT];
    int nopt;
    char name[256];           /* host: a name, an address, a socket directory, or "" */
    char hostaddr[64];        /* the conninfo's own hostaddr, or "" */
    char portstr[16], sslmode[16], binding[16], user[128], dbname[128];
    bool socket;              /* a unix socket: no address, no TLS */
    mk_netaddr_cidr *allow;
    size_t nallow;
    mk_pgcred *cred;          /* password_command's; NULL: libpq's own */
    bool env_password;        /* PGPASSWORD (libpq's default for password) */
    atomic_bool md5_said;     /* the md5 warning, once */
};

/* Options the connect sets itself, or that must not be passed on. */
static bool own_option(const char *k)
{
    static const char *const own[] = {"host", "hostaddr", "port", "dbname", "password", "sslpassword", "service",
                                      "connect_timeout", "application_name", "fallback_application_name",
                                      "replication", NULL};
    for (const char *const *p = own; *p; p++)
        if (!strcmp(*p, k))
            return true;
    return false;
}

static void keep(mk_pgconn *pc, const char *k, const char *v)
{
    struct { const char *k; char *out; size_t n; } rec[] = {
        {"host", pc->name, sizeof pc->name}, {"hostaddr", pc->hostaddr, sizeof pc->hostaddr},
        {"port", pc->portstr, sizeof pc->portstr}, {"sslmode", pc->sslmode, sizeof pc->sslmode},
        {"channel_binding", pc->binding, sizeof pc->binding}, {"user", pc->user, sizeof pc->user},
        {"dbname", pc->dbname, sizeof pc->dbname},
    };
    for (size_t i = 0; i < sizeof rec / sizeof *rec; i++)
        if (!strcmp(rec[i].k, k))
            snprintf(rec[i].out, rec[i].n, "%s", v);
    if (!own_option(k) && pc->nopt < MAXOPT)
        pc->kw[pc->nopt] = strdup(k), pc->val[pc->nopt++] = strdup(v);
}

/* A passed-on option's value, or NULL. */
static const char *option(const mk_pgconn *pc, const char *k)
{
    for (int i = 0; i < pc->nopt; i++)
        if (!strcmp(pc->kw[i], k))
            return pc->val[i];
    return NULL;
}

/* The conninfo's value for each option, else libpq's default for it. */
static bool effective(mk_pgconn *pc, char *why, size_t whylen)
{
    PQconninfoOption *mine = PQconninfoParse(pc->cc->conninfo, NULL), *defs = PQconndefaults();
    bool ok = mine && defs;
    for (PQconninfoOption *d = defs; ok && d->keyword; d++) {
        const char *v = d->val;
        for (PQconninfoOption *m = mine; m->keyword; m++)
            if (!strcmp(m->keyword, d->keyword) && m->val && *m->val)
                v = m->val;
        if (v && *v && strcmp(d->keyword, "password") != 0)
            keep(pc, d->keyword, v);
        else if (v && *v)
            pc->env_password = true;
    }
    PQconninfoFree(mine);
    PQconninfoFree(defs);
    if (!ok)
        snprintf(why, whylen, "connection %s: libpq cannot read its conninfo", pc->cc->name);
    return ok;
}

static bool read_allow(mk_pgconn *pc, char *why, size_t whylen)
{
    pc->allow = calloc(pc->cc->nallow_addresses + 1, sizeof *pc->allow);
    if (!pc->allow)
        return snprintf(why, whylen, "out of memory"), false;
    for (size_t i = 0; i < pc->cc->nallow_addresses; i++) {
        char w[160];
        if (!mk_netaddr_allow_parse(pc->cc->allow_addresses[i], &pc->allow[pc->nallow++], w, sizeof w))
            return snprintf(why, whylen, "connection %s: allow_addresses[%zu]: %s", pc->cc->name, i, w), false;
    }
    return true;
}

/* The environment may fill what the conninfo leaves out: the same rules as
 * the configuration's (one server, a numeric hostaddr). */
static bool shape_ok(mk_pgconn *pc, char *why, size_t whylen)
{
    mk_netaddr a;
    if (strchr(pc->name, ',') || strchr(pc->hostaddr, ',') || strchr(pc->portstr, ','))
        return snprintf(why, whylen, "connection %s: one server per connection: the host or port is a list", pc->cc->name),
               false;
    if (pc->hostaddr[0] && !mk_netaddr_parse(pc->hostaddr, &a))
        return snprintf(why, whylen, "connection %s: hostaddr is not a numeric address", pc->cc->name), false;
    pc->socket = !pc->hostaddr[0] && (!pc->name[0] || pc->name[0] == '/' || pc->name[0] == '@');
    return true;
}

mk_pgconn *mk_pgconn_new(const mk_config_conn *cc, char *why, size_t whylen)
{
    mk_pgconn *pc = calloc(1, sizeof *pc);
    if (!pc)
        return snprintf(why, whylen, "out of memory"), NULL;
    pc->cc = cc;
    snprintf(pc->portstr, sizeof pc->portstr, "5432");
    if (!effective(pc, why, whylen) || !shape_ok(pc, why, whylen) || !read_allow(pc, why, whylen) ||
        (cc->password_command && !(pc->cred = mk_pgcred_new(cc, why, whylen)))) {
        mk_pgconn_free(pc);
        return NULL;
    }
    const char *h = pc->name[0] ? pc->name : pc->hostaddr;
    snprintf(pc->host, sizeof pc->host, "%s", pc->socket ? "localhost" : h);
    pc->port = atoi(pc->portstr);
    return pc;
}

void mk_pgconn_free(mk_pgconn *pc)
{
    if (!pc)
        return;
    for (int i = 0; i < pc->nopt; i++)
        free(pc->kw[i]), free(pc->val[i]);
    free(pc->allow);
    mk_pgcred_free(pc->cred);
    free(pc);
}

/* ---- the address ---- */

static const char *address_refused(const mk_pgconn *pc, const mk_netaddr *a)
{
    const char *w = mk_netaddr_refused(a);
    for (size_t i = 0; w && i < pc->nallow; i++)
        if (mk_netaddr_in(a, &pc->allow[i]))
            w = NULL;
    return w;
}

/* The addresses to connect to: the conninfo's hostaddr, or those of the
 * host's addresses no rule refuses. One lookup, and libpq is handed its
 * answer (hostaddr), so a name cannot resolve to one address for the check
 * and another for the connect. */
typedef struct {
    mk_netaddr a[MAXADDR];
    int n;
} addrs;

static mk_pgconn_status lookup(const mk_pgconn *pc, addrs *out, char *why, size_t whylen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int e = getaddrinfo(pc->name, pc->portstr, &hints, &res);
    if (e)
        return snprintf(why, whylen, "connection %s: cannot resolve %s: %s", pc->cc->name, pc->name, gai_strerror(e)),
               e == EAI_AGAIN ? MK_PGCONN_RETRYABLE : MK_PGCONN_FAILED;
    const char *w = NULL;
    mk_netaddr first = {0};
    for (struct addrinfo *r = res; r && out->n < MAXADDR; r = r->ai_next) {
        mk_netaddr a;
        if (!mk_netaddr_from_sockaddr(r->ai_addr, &a))
            continue;
        const char *rw = address_refused(pc, &a);
        bool seen = false;
        for (int i = 0; i < out->n; i++)
            seen |= !memcmp(&out->a[i], &a, sizeof a);
        if (!rw && !seen)
            out->a[out->n++] = a;
        else if (rw && !w)
            w = rw, first = a;
    }
    freeaddrinfo(res);
    if (out->n)
        return MK_PGCONN_OK;
    char text[64];
    snprintf(why, whylen, "connection %s: %s resolves to %s, %s: refused unless allow_addresses lets it through",
             pc->cc->name, pc->name, w ? mk_netaddr_text(&first, text, sizeof text) : "no address", w ? w : "none usable");
    return MK_PGCONN_FAILED;
}

static mk_pgconn_status pick_address(const mk_pgconn *pc, addrs *out, char *why, size_t whylen)
{
    out->n = 0;
    if (!pc->hostaddr[0])
        return lookup(pc, out, why, whylen);
    mk_netaddr_parse(pc->hostaddr, &out->a[0]);
    out->n = 1;
    const char *w = address_refused(pc, &out->a[0]);
    if (!w)
        return MK_PGCONN_OK;
    snprintf(why, whylen, "connection %s: hostaddr %s is %s: refused unless allow_addresses lets it through",
             pc->cc->name, pc->hostaddr, w);
    return MK_PGCONN_FAILED;
}

/* ---- TLS ---- */

static bool verified(const mk_pgconn *pc)
{
    return !strcmp(pc->sslmode, "verify-ca") || !strcmp(pc->sslmode, "verify-full") || !strcmp(pc->binding, "require");
}

/* Off this machine, a session whose server is not proven (a verified
 * certificate, or SCRAM channel binding) can be anyone's on the path. */
static bool tls_ok(const mk_pgconn *pc, const addrs *as, char *why, size_t whylen)
{
    bool local = true;
    for (int i = 0; i < as->n; i++)
        local &= mk_netaddr_loopback(&as->a[i]);
    if (pc->socket || local || verified(pc) || pc->cc->allow_unverified_tls)
        return true;
    snprintf(why, whylen, "connection %s: %s is reached over TCP without proof of who answers (sslmode=%s): set "
             "sslmode=verify-full (or verify-ca) with the server's CA in sslrootcert, or channel_binding=require, or "
             "allow_unverified_tls (docs/providers.md, \"Rules for every provider\")", pc->cc->name, pc->host,
             pc->sslmode[0] ? pc->sslmode : "prefer");
    return false;
}

/* ---- the password: note [who hears the password] ----
 * libpq 15 answers a server's request for the password in cleartext with
 * the password, on the session itself. The probe (pgprobe.c) is another
 * connection: whoever holds the port can answer it one way and the session
 * another, so it is only the early, clear word about a server configured
 * to ask for cleartext, never the guard. A password (anything libpq would
 * send: a command's, PGPASSWORD, a password file) goes only where nobody
 * but the server can ask for it:
 *  - verified TLS (verify-ca, verify-full): only the proven server hears;
 *  - channel_binding=require: libpq takes nothing but SCRAM-SHA-256-PLUS;
 *  - libpq 16 or later, asked at run time: require_auth=!password, the
 *    refusal made on the session itself;
 *  - a unix socket whose directory nobody but its owner (and root) can
 *    write, or with requirepeer (libpq checks the server's OS user): no
 *    one else can put a listener there;
 * else, TCP (loopback too: any local user can take a port the server has
 * let go, while it restarts) only with allow_cleartext_password. */
#define REQUIRE_AUTH_LIBPQ 160000

/* Whether libpq enforces "no cleartext" on the session itself: version 16
 * or later, with no require_auth of the conninfo's letting it through. */
static bool refuses_cleartext(const mk_pgconn *pc)
{
    const char *ra = option(pc, "require_auth");
    bool names = ra && strstr(ra, "password"); /* "!password,…" refuses it; "password,…" lets it through */
    return PQlibVersion() >= REQUIRE_AUTH_LIBPQ && (!ra || (ra[0] == '!') == names);
}

/* Whether libpq has a password to give: a command's, PGPASSWORD, or a
 * password file it can read (PGPASSFILE, passfile, else ~/.pgpass). */
static bool would_send(const mk_pgconn *pc)
{
    if (pc->cred || pc->env_password)
        return true;
    const char *pf = option(pc, "passfile"), *home = getenv("HOME");
    char path[4096];
    if (!pf && home)
        snprintf(path, sizeof path, "%s/.pgpass", home), pf = path;
    return pf && access(pf, R_OK) == 0;
}

/* A socket nobody but the server's user (or root) could have made. */
static bool socket_private(const mk_pgconn *pc)
{
    if (option(pc, "requirepeer"))
        return true;
    const char *dir = pc->name[0] ? pc->name : MK_PGPROBE_SOCKET_DIR;
    struct stat sb;
    return dir[0] == '/' && stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode) && !(sb.st_mode & (S_IWGRP | S_IWOTH));
}

static bool password_ok(const mk_pgconn *pc, char *why, size_t whylen)
{
    if (verified(pc) || pc->cc->allow_cleartext_password || refuses_cleartext(pc) || !would_send(pc) ||
        (pc->socket && socket_private(pc)))
        return true;
    const char *dir = pc->name[0] ? pc->name : MK_PGPROBE_SOCKET_DIR;
    char over[400];
    if (pc->socket)
        snprintf(over, sizeof over, "a unix socket in %s, a directory others can write (or an abstract name)", dir);
    else
        snprintf(over, sizeof over, "plain TCP to %s port %s", pc->host, pc->portstr);
    snprintf(why, whylen, "connection %s: the password would go over %s, and libpq %d cannot refuse whoever answers "
             "there asking for it in cleartext: use sslmode=verify-full (or verify-ca), channel_binding=require, a "
             "socket in a directory only its owner can write (or requirepeer=USER), libpq 16 or later, or set "
             "allow_cleartext_password (docs/providers.md, \"Rules for every provider\")", pc->cc->name, over,
             PQlibVersion() / 10000);
    return false;
}

/* ---- the session ---- */

/* A connection failure's SQLSTATE, from the verbose message
 * ("FATAL:  28P01: password authentication failed …"), or "". */
static void failure_state(const char *msg, char out[6])
{
    out[0] = 0;
    const char *p = strstr(msg, ":  ");
    if (p && strlen(p + 3) > 6 && p[8] == ':' && strspn(p + 3, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") >= 5)
        memcpy(out, p + 3, 5), out[5] = 0;
}

static mk_pgconn_status state_status(const char *state)
{
    if (!*state)
        return MK_PGCONN_RETRYABLE; /* no answer from a server: unreachable, reset, timed out */
    if (!strncmp(state, "08", 2) || !strcmp(state, "40001") || !strcmp(state, "40P01") || !strncmp(state, "57P", 3) ||
        !strcmp(state, "53300") || !strcmp(state, "55P03") || !strcmp(state, "57014"))
        return MK_PGCONN_RETRYABLE;
    return MK_PGCONN_FAILED;
}

/* A server's NOTICEs are dropped: their text is the server's to choose,
 * and would reach the executor's stderr outside why and its rules. */
static void quiet(void *arg, const char *message)
{
    (void)arg, (void)message;
}

/* libpq's asynchronous connect, so the deadline is ours to keep (its own
 * connect_timeout counts whole seconds, per address). */
static PGconn *start(const char *const *kw, const char *const *val, double until_ms)
{
    PGconn *c = PQconnectStartParams(kw, val, 0);
    if (!c || PQstatus(c) == CONNECTION_BAD)
        return c;
    PQsetErrorVerbosity(c, PQERRORS_VERBOSE);
    PQsetNoticeProcessor(c, quiet, NULL);
    for (PostgresPollingStatusType s = PGRES_POLLING_WRITING; s != PGRES_POLLING_OK && s != PGRES_POLLING_FAILED;) {
        double left = until_ms - mk_clock_now_ms();
        struct pollfd p = {.fd = PQsocket(c), .events = s == PGRES_POLLING_READING ? POLLIN : POLLOUT};
        if (left <= 0 || poll(&p, 1, (int)(left < 1 ? 1 : left)) == 0)
            break; /* timed out: PQstatus is not OK */
        s = PQconnectPoll(c);
    }
    return c;
}

static double until(const mk_pgconn *pc, double deadline_ms)
{
    double t = mk_clock_now_ms() + pc->cc->connect_timeout_ms;
    return deadline_ms > 0 && deadline_ms < t ? deadline_ms : t;
}

typedef struct {
    const char *kw[MAXOPT + 20], *val[MAXOPT + 20];
    int n;
    char addr[MAXADDR * 48], names[MAXADDR * 257], timeout[16], idle[16], interval[16], user_timeout[16];
} params;

static void add(params *p, const char *k, const char *v)
{
    if (v && *v)
        p->kw[p->n] = k, p->val[p->n++] = v;
}

/* host=NAME,NAME… hostaddr=A,B…: libpq tries the checked addresses in
 * order, each under the name, which TLS checks the certificate against. */
static void pin(const mk_pgconn *pc, params *p, const addrs *as)
{
    size_t k = 0, m = 0;
    p->addr[0] = p->names[0] = 0;
    for (int i = 0; i < as->n; i++) {
        char t[64];
        k += (size_t)snprintf(p->addr + k, sizeof p->addr - k, "%s%s", i ? "," : "", mk_netaddr_text(&as->a[i], t, sizeof t));
        if (pc->name[0])
            m += (size_t)snprintf(p->names + m, sizeof p->names - m, "%s%s", i ? "," : "", pc->name);
    }
    add(p, "hostaddr", p->addr);
    add(p, "host", p->names);
}

/* A peer gone silent (a half-open connection, a route that drops
 * everything) is noticed within about connect_timeout, not the system's two
 * hours: keepalives from then, and data unacknowledged that long ends the
 * connection. The conninfo's own settings stand. */
static void liveness(const mk_pgconn *pc, params *p)
{
    int s = (int)(pc->cc->connect_timeout_ms / 1000);
    s = s < 1 ? 1 : s;
    snprintf(p->idle, sizeof p->idle, "%d", s);
    snprintf(p->interval, sizeof p->interval, "%d", s / 3 < 1 ? 1 : s / 3);
    snprintf(p->user_timeout, sizeof p->user_timeout, "%lld", (long long)pc->cc->connect_timeout_ms);
    const char *set[][2] = {{"keepalives", "1"}, {"keepalives_idle", p->idle}, {"keepalives_interval", p->interval},
                            {"keepalives_count", "3"}, {"tcp_user_timeout", p->user_timeout}};
    for (size_t i = 0; i < sizeof set / sizeof *set; i++)
        if (!option(pc, set[i][0]))
            add(p, set[i][0], set[i][1]);
}

static void build(const mk_pgconn *pc, params *p, const addrs *as, const char *db, const char *pw, double until_ms)
{
    p->n = 0;
    for (int i = 0; i < pc->nopt; i++)
        add(p, pc->kw[i], pc->val[i]);
    if (pc->socket)
        add(p, "host", pc->name);
    else
        pin(pc, p, as), liveness(pc, p);
    if (PQlibVersion() >= REQUIRE_AUTH_LIBPQ && !pc->cc->allow_cleartext_password && !option(pc, "require_auth"))
        add(p, "require_auth", "!password"); /* note [who hears the password] */
    add(p, "port", pc->portstr);
    add(p, "dbname", db ? db : pc->dbname);
    double s = (until_ms - mk_clock_now_ms()) / 1000;
    snprintf(p->timeout, sizeof p->timeout, "%d", s < 2 ? 2 : (int)s);
    add(p, "connect_timeout", p->timeout);
    add(p, "application_name", "moksha-exec");
    add(p, "password", pw);
    p->kw[p->n] = NULL, p->val[p->n] = NULL;
}

/* The first line of a failure, its SQLSTATE moved to the end:
 * "… failed: FATAL:  28P01: password authentication failed for user …". */
static void failure_words(const mk_pgconn *pc, const char *msg, const char *state, char *why, size_t whylen)
{
    const char *m = msg, *p = strstr(msg, ":  ");
    if (*state && p)
        m = p + 10;
    size_t len = strcspn(m, "\n");
    if (*state)
        snprintf(why, whylen, "connection %s: cannot connect: the server says: %.*s (%s)", pc->cc->name, (int)len, m, state);
    else
        snprintf(why, whylen, "connection %s: cannot connect: %.*s", pc->cc->name, (int)len, m);
}

/* Without a SQLSTATE the failure is libpq's: the server unreachable or
 * slow (worth another try), or a TLS or channel-binding rule it would
 * break again. */
static mk_pgconn_status local_status(const char *msg)
{
    return strstr(msg, "SSL") || strstr(msg, "certificate") || strstr(msg, "channel binding") ? MK_PGCONN_FAILED
                                                                                               : MK_PGCONN_RETRYABLE;
}

static PGconn *open_session(mk_pgconn *pc, const addrs *a, const char *db, double until_ms, bool *auth_failed,
                            mk_pgconn_status *st, char *why, size_t whylen)
{
    char *pw = NULL;
    bool retry = false;
    if (pc->cred && !(pw = mk_pgcred_get(pc->cred, until_ms, &retry, why, whylen)))
        return *st = retry ? MK_PGCONN_RETRYABLE : MK_PGCONN_FAILED, NULL;
    params p;
    build(pc, &p, a, db, pw, until_ms);
    PGconn *c = start(p.kw, p.val, until_ms);
    mk_pgcred_wipe(pw);
    if (c && PQstatus(c) == CONNECTION_OK)
        return *st = MK_PGCONN_OK, c;
    char state[6];
    const char *msg = c ? PQerrorMessage(c) : "out of memory";
    failure_state(msg, state);
    *st = *state ? state_status(state) : local_status(msg);
    *auth_failed = !strcmp(state, "28P01");
    if (c && !*msg)
        msg = "the server did not answer in time";
    failure_words(pc, msg, state, why, whylen);
    PQfinish(c);
    return NULL;
}

/* md5 passes, but is weak: an md5 verifier is as good as the password to
 * whoever reads it, and an impostor's challenge is a guess to try offline.
 * Said once per connection. */
static void md5_warning(mk_pgconn *pc, int method)
{
    if (method == 5 && !atomic_exchange(&pc->md5_said, true))
        fprintf(stderr, "moksha-exec: warning: connection %s: the server asks for the password by md5, which is weak: "
                "have it use scram-sha-256 (password_encryption and pg_hba.conf)\n", pc->cc->name);
}

/* Ask each address in turn until one answers; that one alone is used. The
 * question is asked as the session will be (pgprobe.h). */
static mk_pgconn_status probe(mk_pgconn *pc, addrs *as, const char *dbname, double until_ms, char *why, size_t whylen)
{
    mk_pgprobe_target t = {.socket = pc->socket, .dir = pc->name, .name = pc->name, .port = pc->port, .user = pc->user,
                           .db = dbname ? dbname : pc->dbname, .sslmode = pc->sslmode, .conn = pc->cc->name,
                           .appname = "moksha-exec", .options = option(pc, "options"),
                           .encoding = option(pc, "client_encoding")};
    mk_pgprobe_answer pa = MK_PGPROBE_RETRY;
    int i = 0, method;
    for (; i < (pc->socket ? 1 : as->n) && pa == MK_PGPROBE_RETRY; i++) {
        t.addr = as->a[i];
        pa = mk_pgprobe_ask(&t, until_ms, &method, why, whylen);
    }
    md5_warning(pc, method);
    if (pa == MK_PGPROBE_OK && !pc->socket)
        as->a[0] = as->a[i - 1], as->n = 1;
    return pa == MK_PGPROBE_OK ? MK_PGCONN_OK : pa == MK_PGPROBE_RETRY ? MK_PGCONN_RETRYABLE : MK_PGCONN_FAILED;
}

PGconn *mk_pgconn_connect(mk_pgconn *pc, const char *dbname, double deadline_ms, mk_pgconn_status *st, char *why,
                          size_t whylen)
{
    addrs as = {.n = 0};
    double u = until(pc, deadline_ms);
    *st = MK_PGCONN_FAILED;
    if (!pc->socket && ((*st = pick_address(pc, &as, why, whylen)) != MK_PGCONN_OK || !tls_ok(pc, &as, why, whylen)))
        return *st = *st == MK_PGCONN_OK ? MK_PGCONN_FAILED : *st, NULL;
    if (!pc->cc->allow_cleartext_password && !verified(pc) && (*st = probe(pc, &as, dbname, u, why, whylen)) != MK_PGCONN_OK)
        return NULL;
    if (!password_ok(pc, why, whylen))
        return *st = MK_PGCONN_FAILED, NULL;
    bool auth_failed = false;
    PGconn *c = open_session(pc, &as, dbname, u, &auth_failed, st, why, whylen);
    /* A command's password refused may have been revoked before its time:
     * once, with a new one. */
    if (!c && auth_failed && pc->cred && mk_pgcred_forget(pc->cred))
        c = open_session(pc, &as, dbname, u, &auth_failed, st, why, whylen);
    return c;
}

/* ---- statements ---- */

#define GRACE_MS 1000.0 /* past the server's own statement_timeout, so its 57014 comes first */

static void *cancel_run(void *arg)
{
    char e[256];
    PQcancel(arg, e, sizeof e);
    PQfreeCancel(arg);
    return NULL;
}

/* A statement past its time: the server asked to cancel it, from a thread
 * of its own (PQcancel waits for the server, which may not answer that
 * either), and the session shut under libpq, so nothing waits on it again
 * and whoever holds it sees it bad (a pool drops it). */
static void abandon(PGconn *c)
{
    PGcancel *cn = PQgetCancel(c);
    pthread_attr_t at;
    pthread_t t;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (cn && pthread_create(&t, &at, cancel_run, cn) != 0)
        PQfreeCancel(cn);
    pthread_attr_destroy(&at);
    shutdown(PQsocket(c), SHUT_RDWR);
    PQconsumeInput(c);
    for (PGresult *r; (r = PQgetResult(c));)
        PQclear(r);
}

/* Keep the first error, else the last result. */
static PGresult *keep_result(PGresult *last, PGresult *r)
{
    if (last && PQresultStatus(last) == PGRES_FATAL_ERROR)
        return PQclear(r), last;
    PQclear(last);
    return r;
}

/* The statement's result by until_ms; NULL with *late when time ran out. */
static PGresult *await(PGconn *c, double until_ms, bool *late)
{
    PGresult *last = NULL;
    *late = false;
    for (;;) {
        int f = PQflush(c);
        while (f >= 0 && !PQisBusy(c)) {
            PGresult *r = PQgetResult(c);
            if (!r)
                return last;
            last = keep_result(last, r);
        }
        double left = until_ms - mk_clock_now_ms();
        struct pollfd p = {.fd = PQsocket(c), .events = (short)(POLLIN | (f > 0 ? POLLOUT : 0))};
        int k = f < 0 ? -1 : left > 0 ? poll(&p, 1, (int)(left < 1 ? 1 : left)) : 0;
        if (k == 0)
            return PQclear(last), *late = true, NULL;
        if (k > 0 && PQconsumeInput(c))
            continue;
        if (k < 0 && f >= 0 && errno == EINTR)
            continue;
        for (PGresult *r; (r = PQgetResult(c));) /* the session broke: libpq's word for it */
            last = keep_result(last, r);
        return last;
    }
}

static double statement_until(const mk_pgconn *pc, double deadline_ms)
{
    double t = mk_clock_now_ms() + pc->cc->statement_timeout_ms;
    return (deadline_ms > 0 && deadline_ms < t ? deadline_ms : t) + GRACE_MS;
}

mk_pgconn_status mk_pgconn_exec(mk_pgconn *pc, PGconn *c, const char *sql, int n, const char *const *values,
                                double deadline_ms, PGresult **res, char *why, size_t whylen)
{
    double until_ms = statement_until(pc, deadline_ms), t0 = mk_clock_now_ms();
    bool late = false;
    *res = NULL;
    PQsetnonblocking(c, 1);
    PGresult *r = PQsendQueryParams(c, sql, n, NULL, values, NULL, NULL, 0) ? await(c, until_ms, &late) : NULL;
    if (late) {
        abandon(c);
        snprintf(why, whylen, "the server did not answer in time (%.0f ms): the statement cancelled, the session "
                 "closed", mk_clock_now_ms() - t0);
        return MK_PGCONN_RETRYABLE;
    }
    PQsetnonblocking(c, 0);
    *res = r;
    ExecStatusType s = PQresultStatus(r);
    if (r && (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK))
        return MK_PGCONN_OK;
    mk_pgconn_message(c, r, why, whylen);
    return r || PQstatus(c) != CONNECTION_OK ? mk_pgconn_classify(c, r) : MK_PGCONN_FAILED;
}

bool mk_pgconn_deadline(mk_pgconn *pc, PGconn *c, double deadline_ms, char *why, size_t whylen)
{
    double ms = pc->cc->statement_timeout_ms;
    if (deadline_ms > 0 && deadline_ms - mk_clock_now_ms() < ms)
        ms = deadline_ms - mk_clock_now_ms();
    if (ms < 1)
        ms = 1;
    char sql[64], msg[512];
    snprintf(sql, sizeof sql, "SET statement_timeout = %lld", (long long)ms);
    PGresult *r;
    bool ok = mk_pgconn_exec(pc, c, sql, 0, NULL, deadline_ms, &r, msg, sizeof msg) == MK_PGCONN_OK;
    if (!ok)
        snprintf(why, whylen, "connection %s: %s", pc->cc->name, msg);
    PQclear(r);
    return ok;
}

mk_pgconn_status mk_pgconn_classify(PGconn *c, const PGresult *r)
{
    if (!c || PQstatus(c) != CONNECTION_OK)
        return MK_PGCONN_RETRYABLE;
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (!state)
        return r && PQresultStatus(r) == PGRES_FATAL_ERROR ? MK_PGCONN_RETRYABLE : MK_PGCONN_FAILED;
    /* note [catalog races]: a unique violation of a system catalog's index
     * (pg_database_datname_index, pg_authid_rolname_index, …) is another
     * session writing the same name at the same moment — the server
     * session of a run killed mid-statement finishing its CREATE after the
     * client died, say. Retried: by then it is there, and read-before-create
     * finds it. */
    const char *con = PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME);
    if (strcmp(state, "23505") == 0 && con && strncmp(con, "pg_", 3) == 0)
        return MK_PGCONN_RETRYABLE;
    return state_status(state);
}

const char *mk_pgconn_message(PGconn *c, const PGresult *r, char *buf, size_t n)
{
    const char *m = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (!m)
        m = c ? PQerrorMessage(c) : "no session";
    size_t len = strcspn(m, "\n");
    if (state)
        snprintf(buf, n, "%.*s (%s)", (int)len, m, state);
    else
        snprintf(buf, n, "%.*s", (int)len, m);
    return buf;
}

const char *mk_pgconn_host(const mk_pgconn *pc) { return pc->host; }
int mk_pgconn_port(const mk_pgconn *pc) { return pc->port; }
