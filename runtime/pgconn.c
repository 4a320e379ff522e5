/* pgconn — connections to the servers of the executor's configuration
 * (pgconn.h; docs/providers.md, "Connections"). */
#include "runtime/pgconn.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/clock.h"
#include "runtime/config.h"

struct mk_pgconn {
    const mk_config_conn *cc;
    pthread_mutex_t mu;
    char host[256];
    int port;
};

mk_pgconn *mk_pgconn_new(const mk_config_conn *cc, char *why, size_t whylen)
{
    mk_pgconn *pc = calloc(1, sizeof *pc);
    if (!pc)
        return snprintf(why, whylen, "out of memory"), NULL;
    pc->cc = cc;
    pthread_mutex_init(&pc->mu, NULL);
    PQconninfoOption *opts = PQconninfoParse(cc->conninfo, NULL);
    if (!opts) {
        free(pc);
        return snprintf(why, whylen, "connection %s: libpq cannot read its conninfo", cc->name), NULL;
    }
    const char *host = NULL, *port = NULL;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!strcmp(o->keyword, "host") && o->val && *o->val)
            host = o->val;
        if (!strcmp(o->keyword, "port") && o->val && *o->val)
            port = o->val;
    }
    if (!host)
        host = getenv("PGHOST");
    if (!port)
        port = getenv("PGPORT");
    snprintf(pc->host, sizeof pc->host, "%s", !host || !*host || host[0] == '/' ? "localhost" : host);
    pc->port = port && *port ? atoi(port) : 5432;
    PQconninfoFree(opts);
    return pc;
}

void mk_pgconn_free(mk_pgconn *pc)
{
    if (!pc)
        return;
    pthread_mutex_destroy(&pc->mu);
    free(pc);
}

PGconn *mk_pgconn_connect(mk_pgconn *pc, const char *dbname, double deadline_ms, mk_pgconn_status *st, char *why,
                          size_t whylen)
{
    PQconninfoOption *opts = PQconninfoParse(pc->cc->conninfo, NULL);
    *st = MK_PGCONN_FAILED;
    if (!opts)
        return snprintf(why, whylen, "connection %s: libpq cannot read its conninfo", pc->cc->name), NULL;
    const char *kw[64], *val[64];
    int n = 0;
    char timeout[32];
    double ms = pc->cc->connect_timeout_ms;
    if (deadline_ms > 0 && deadline_ms - mk_clock_now_ms() < ms)
        ms = deadline_ms - mk_clock_now_ms();
    snprintf(timeout, sizeof timeout, "%d", ms < 2000 ? 2 : (int)(ms / 1000)); /* libpq's least is 2 s */
    for (PQconninfoOption *o = opts; o->keyword && n < 60; o++) {
        if (!o->val || !*o->val || !strcmp(o->keyword, "dbname") || !strcmp(o->keyword, "connect_timeout"))
            continue;
        kw[n] = o->keyword, val[n++] = o->val;
    }
    if (dbname)
        kw[n] = "dbname", val[n++] = dbname;
    kw[n] = "connect_timeout", val[n++] = timeout;
    kw[n] = "application_name", val[n++] = "moksha-exec";
    kw[n] = NULL, val[n] = NULL;
    PGconn *c = PQconnectdbParams(kw, val, !dbname);
    PQconninfoFree(opts);
    if (!c)
        return snprintf(why, whylen, "connection %s: out of memory", pc->cc->name), NULL;
    if (PQstatus(c) != CONNECTION_OK) {
        char msg[512];
        *st = mk_pgconn_classify(c, NULL);
        snprintf(why, whylen, "connection %s: cannot connect: %s", pc->cc->name, mk_pgconn_message(c, NULL, msg, sizeof msg));
        PQfinish(c);
        return NULL;
    }
    *st = MK_PGCONN_OK;
    return c;
}

bool mk_pgconn_deadline(mk_pgconn *pc, PGconn *c, double deadline_ms, char *why, size_t whylen)
{
    double ms = pc->cc->statement_timeout_ms;
    if (deadline_ms > 0 && deadline_ms - mk_clock_now_ms() < ms)
        ms = deadline_ms - mk_clock_now_ms();
    if (ms < 1)
        ms = 1;
    char sql[64];
    snprintf(sql, sizeof sql, "SET statement_timeout = %lld", (long long)ms);
    PGresult *r = PQexec(c, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) {
        char msg[512];
        snprintf(why, whylen, "connection %s: %s", pc->cc->name, mk_pgconn_message(c, r, msg, sizeof msg));
    }
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
    if (!strncmp(state, "08", 2) || !strcmp(state, "40001") || !strcmp(state, "40P01") || !strncmp(state, "57P", 3) ||
        !strcmp(state, "53300") || !strcmp(state, "55P03") || !strcmp(state, "57014"))
        return MK_PGCONN_RETRYABLE;
    return MK_PGCONN_FAILED;
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
