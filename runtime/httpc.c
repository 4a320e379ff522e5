/* httpc — HTTP requests under a connection's rules, through libcurl
 * (httpc.h). The lookup and the address check are ours; libcurl is told the
 * one address it may use. */
#include "runtime/httpc.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "runtime/clock.h"
#include "runtime/config.h"
#include "runtime/netaddr.h"

bool mk_httpc_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

bool mk_httpc_status_retryable(long status)
{
    return status == 408 || status == 425 || status == 429 || status == 500 || status == 502 || status == 503 ||
           status == 504;
}

void mk_httpc_resp_free(mk_httpc_resp *resp)
{
    if (!resp)
        return;
    free(resp->body);
    for (size_t i = 0; i < resp->nheaders; i++)
        free(resp->headers[i]);
    free(resp->headers);
    memset(resp, 0, sizeof *resp);
}

const char *mk_httpc_header(const mk_httpc_resp *resp, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < resp->nheaders; i++)
        if (strncmp(resp->headers[i], name, n) == 0 && resp->headers[i][n] == ':') {
            const char *v = resp->headers[i] + n + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            return v;
        }
    return NULL;
}

void mk_httpc_clean(char *s)
{
    for (unsigned char *p = (unsigned char *)s; p && *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            *p = ' ';
}

bool mk_httpc_dot_segment(const char *path)
{
    for (const char *p = path; p && *p && *p != '?' && *p != '#';) {
        const char *e = p + strcspn(p, "/?#");
        size_t n = (size_t)(e - p);
        if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return true;
        p = *e == '/' ? e + 1 : e;
    }
    return false;
}

/* Does s hold a byte that would end or split a header line (below 0x20
 * but tab, or 0x7f)? */
static bool has_control(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return true;
    return false;
}

char *mk_httpc_escape(const char *s, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = malloc(n * 3 + 1), *o = out;
    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
            c == '.' || c == '~' || (keep_slash && c == '/'))
            *o++ = (char)c;
        else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = 0;
    return out;
}

bool mk_httpc_url(const mk_config_conn *conn, const char *path, const char *query, char *buf, size_t n)
{
    size_t el = strlen(conn->endpoint);
    while (el > 0 && conn->endpoint[el - 1] == '/')
        el--;
    int w = snprintf(buf, n, "%.*s%s%s%s%s", (int)el, conn->endpoint, path && *path != '/' ? "/" : "", path ? path : "",
                     query && *query ? "?" : "", query ? query : "");
    return w >= 0 && (size_t)w < n;
}

/* ---- the target: scheme, host and port of a URL ---- */

typedef struct target {
    char scheme[8];
    char host[256];
    long port;
} target;

static bool target_of(const char *url, target *t)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;
    bool ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK && strlen(scheme) < sizeof t->scheme &&
              strlen(host) < sizeof t->host;
    if (ok) {
        snprintf(t->scheme, sizeof t->scheme, "%s", scheme);
        snprintf(t->host, sizeof t->host, "%s", host);
        t->port = strtol(port, NULL, 10);
    }
    curl_free(scheme), curl_free(host), curl_free(port);
    curl_url_cleanup(u);
    return ok;
}

static bool allowed_by(const mk_config_conn *c, const mk_netaddr *a)
{
    for (size_t i = 0; i < c->nallow_addresses; i++) {
        mk_netaddr_cidr cidr;
        char w[64];
        if (mk_netaddr_cidr_parse(c->allow_addresses[i], &cidr, w, sizeof w) && mk_netaddr_in(a, &cidr))
            return true;
    }
    return false;
}

/* The lookup, bounded by the call's time: getaddrinfo in a thread of its
 * own, waited for until wait_ms; one that is late is left to finish alone
 * (the last of the two to let go frees what they share). */
#define LOOKUP_LATE 1000001
#define LOOKUP_OOM 1000002

typedef struct lookup_job {
    pthread_mutex_t mu;
    pthread_cond_t done_cv;
    int refs, rc;
    bool done;
    struct addrinfo *res;
    char host[256];
} lookup_job;

static void lookup_release(lookup_job *j)
{
    pthread_mutex_lock(&j->mu);
    bool last = --j->refs == 0;
    pthread_mutex_unlock(&j->mu);
    if (last) {
        if (j->res)
            freeaddrinfo(j->res);
        pthread_cond_destroy(&j->done_cv);
        pthread_mutex_destroy(&j->mu);
        free(j);
    }
}

static void *lookup_thread(void *arg)
{
    lookup_job *j = arg;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    int rc = getaddrinfo(j->host, NULL, &hints, &res);
    pthread_mutex_lock(&j->mu);
    j->rc = rc;
    j->res = rc == 0 ? res : NULL;
    j->done = true;
    pthread_cond_signal(&j->done_cv);
    pthread_mutex_unlock(&j->mu);
    lookup_release(j);
    return NULL;
}

static int lookup(const char *host, double wait_ms, struct addrinfo **res)
{
    *res = NULL;
    lookup_job *j = calloc(1, sizeof *j);
    if (!j)
        return LOOKUP_OOM;
    snprintf(j->host, sizeof j->host, "%s", host);
    pthread_mutex_init(&j->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->done_cv, &ca);
    pthread_condattr_destroy(&ca);
    j->refs = 2;
    pthread_t t;
    pthread_attr_t ta;
    pthread_attr_init(&ta);
    pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
    int made = pthread_create(&t, &ta, lookup_thread, j);
    pthread_attr_destroy(&ta);
    if (made != 0) {
        j->refs = 1;
        lookup_release(j);
        return LOOKUP_OOM;
    }
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    long long ns = (long long)until.tv_nsec + (long long)((wait_ms > 0 ? wait_ms : 1) * 1e6);
    until.tv_sec += (time_t)(ns / 1000000000LL);
    until.tv_nsec = (long)(ns % 1000000000LL);
    int rc = LOOKUP_LATE;
    pthread_mutex_lock(&j->mu);
    while (!j->done && pthread_cond_timedwait(&j->done_cv, &j->mu, &until) == 0)
        ;
    if (j->done) {
        rc = j->rc;
        *res = j->res;
        j->res = NULL;
    }
    pthread_mutex_unlock(&j->mu);
    lookup_release(j);
    return rc;
}

/* Resolve t->host once and check every address it gives; the first one
 * into *a. A name whose addresses include a refused one is refused whole. */
static mk_prov_status resolve(const mk_config_conn *c, const target *t, double wait_ms, mk_netaddr *a, char *why,
                              size_t whylen)
{
    char host[256];
    size_t hl = strlen(t->host);
    if (t->host[0] == '[' && hl > 2 && t->host[hl - 1] == ']') /* IPv6 literal as curl gives it */
        snprintf(host, sizeof host, "%.*s", (int)(hl - 2), t->host + 1);
    else
        snprintf(host, sizeof host, "%s", t->host);
    struct addrinfo *res = NULL;
    int rc = lookup(host, wait_ms, &res);
    if (rc == LOOKUP_LATE)
        return snprintf(why, whylen, "connection %s: the lookup of %s did not end within the call's time", c->name,
                        host),
               MK_PROV_RETRYABLE;
    if (rc == LOOKUP_OOM)
        return snprintf(why, whylen, "out of memory"), MK_PROV_RETRYABLE;
    if (rc != 0) {
        snprintf(why, whylen, "connection %s: cannot resolve %s: %s", c->name, host, gai_strerror(rc));
        return rc == EAI_AGAIN ? MK_PROV_RETRYABLE : MK_PROV_FAILED;
    }
    bool have = false;
    mk_prov_status st = MK_PROV_OK;
    for (struct addrinfo *ai = res; ai && st == MK_PROV_OK; ai = ai->ai_next) {
        mk_netaddr x;
        if (!mk_netaddr_from_sockaddr(ai->ai_addr, &x))
            continue;
        const char *range = mk_netaddr_refused(&x);
        if (range && !allowed_by(c, &x)) {
            char text[64];
            snprintf(why, whylen, "connection %s: %s resolves to %s, %s: refused (a connection's allow_addresses can "
                     "let a range through)", c->name, host, mk_netaddr_text(&x, text, sizeof text), range);
            st = MK_PROV_FAILED;
        } else if (!have) {
            *a = x;
            have = true;
        }
    }
    freeaddrinfo(res);
    if (st == MK_PROV_OK && !have)
        return snprintf(why, whylen, "connection %s: %s has no address", c->name, host), MK_PROV_FAILED;
    return st;
}

/* ---- receiving ---- */

typedef struct sink {
    mk_httpc_resp *r;
    size_t cap;
    bool too_big;
    bool oom;
} sink;

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    sink *s = arg;
    size_t k = size * n;
    if (s->r->len + k > MK_HTTPC_MAX_BODY) {
        s->too_big = true;
        return 0;
    }
    if (s->r->len + k + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->r->len + k + 1)
            cap *= 2;
        char *b = realloc(s->r->body, cap);
        if (!b) {
            s->oom = true;
            return 0;
        }
        s->r->body = b;
        s->cap = cap;
    }
    memcpy(s->r->body + s->r->len, p, k);
    s->r->len += k;
    s->r->body[s->r->len] = 0;
    return k;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    sink *s = arg;
    mk_httpc_resp *r = s->r;
    size_t k = size * n;
    if (k >= 5 && strncmp(p, "HTTP/", 5) == 0) { /* a new status line (after a 100 Continue): start again */
        for (size_t i = 0; i < r->nheaders; i++)
            free(r->headers[i]);
        r->nheaders = 0;
        return k;
    }
    while (k > 0 && (p[k - 1] == '\r' || p[k - 1] == '\n'))
        k--;
    const char *colon = memchr(p, ':', k);
    if (!colon || r->nheaders >= 256)
        return size * n;
    char **h = realloc(r->headers, (r->nheaders + 2) * sizeof *h);
    if (!h)
        return s->oom = true, 0;
    r->headers = h;
    char *line = malloc(k + 1);
    if (!line)
        return s->oom = true, 0;
    memcpy(line, p, k);
    line[k] = 0;
    for (char *q = line; q < line + (colon - p); q++)
        if (*q >= 'A' && *q <= 'Z')
            *q = (char)(*q + 32);
    r->headers[r->nheaders++] = line;
    r->headers[r->nheaders] = NULL;
    return size * n;
}

/* ---- sending ---- */

static mk_prov_status curl_status(CURLcode rc)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return MK_PROV_RETRYABLE;
    default:
        return MK_PROV_FAILED;
    }
}

mk_prov_status mk_httpc_send(const mk_httpc_req *req, mk_httpc_resp *resp, char *why, size_t whylen)
{
    const mk_config_conn *c = req->conn;
    memset(resp, 0, sizeof *resp);
    target want, got;
    if (!target_of(c->endpoint, &want) || !target_of(req->url, &got))
        return snprintf(why, whylen, "connection %s: not a URL the endpoint can serve", c->name), MK_PROV_FAILED;
    if (strcmp(want.scheme, got.scheme) != 0 || strcasecmp(want.host, got.host) != 0 || want.port != got.port)
        return snprintf(why, whylen, "connection %s: a request to %s://%s:%ld refused: only the endpoint's host is "
                        "reached", c->name, got.scheme, got.host, got.port), MK_PROV_FAILED;
    /* what is sent is what was built (and signed): libcurl would drop a
     * dot segment from the path, so a path holding one is refused */
    const char *path = strstr(req->url, "://");
    path = path ? path + 3 + strcspn(path + 3, "/?#") : req->url;
    if (mk_httpc_dot_segment(path))
        return snprintf(why, whylen, "connection %s: a request path with a `.` or `..` segment is refused: it would "
                        "reach another path than the one asked", c->name), MK_PROV_FAILED;
    for (const char *const *p = req->headers; p && *p; p++)
        if (has_control(*p))
            return snprintf(why, whylen, "connection %s: a header holds a line break or another control byte (a "
                            "credential or a setting's value?): refused, it would split the request", c->name),
                   MK_PROV_FAILED;
    if ((req->aws_sigv4 && has_control(req->aws_sigv4)) || (req->aws_sigv4 && req->userpwd && has_control(req->userpwd)))
        return snprintf(why, whylen, "connection %s: the access key holds a line break or another control byte: "
                        "refused", c->name), MK_PROV_FAILED;
    double now = mk_clock_now_ms(), left = req->deadline_ms > 0 ? req->deadline_ms - now : c->request_timeout_ms;
    if (left <= 0)
        return snprintf(why, whylen, "connection %s: the call's deadline passed", c->name), MK_PROV_RETRYABLE;
    mk_netaddr a;
    mk_prov_status st = resolve(c, &got, left < c->request_timeout_ms ? left : c->request_timeout_ms, &a, why, whylen);
    if (st != MK_PROV_OK)
        return st;
    if (strcmp(got.scheme, "http") == 0 && !mk_netaddr_loopback(&a) && !c->allow_plaintext)
        return snprintf(why, whylen, "connection %s: plain http to %s, which is not loopback, is refused: anyone on "
                        "the way could read or change it (use https, or allow_plaintext)", c->name, got.host),
               MK_PROV_FAILED;

    CURL *h = curl_easy_init();
    if (!h)
        return snprintf(why, whylen, "out of memory"), MK_PROV_RETRYABLE;
    char text[64], pin[400];
    mk_netaddr_text(&a, text, sizeof text);
    const char *bare = got.host[0] == '[' ? NULL : got.host;
    char host6[256];
    if (!bare) {
        snprintf(host6, sizeof host6, "%.*s", (int)strlen(got.host) - 2, got.host + 1);
        bare = host6;
    }
    snprintf(pin, sizeof pin, a.family == AF_INET6 ? "%s:%ld:[%s]" : "%s:%ld:%s", bare, got.port, text);
    struct curl_slist *resolve_list = curl_slist_append(NULL, pin), *hdrs = NULL;
    /* no "Expect: 100-continue" (a body waits for nothing); under SigV4 the
     * bodies are small enough that curl adds none, and libcurl 7.88 would
     * sign the removal line as an empty header it never sends */
    if (!req->aws_sigv4)
        hdrs = curl_slist_append(hdrs, "Expect:");
    for (const char *const *p = req->headers; p && *p; p++)
        hdrs = curl_slist_append(hdrs, *p);
    sink s = {.r = resp};
    double tmo = left < c->request_timeout_ms ? left : c->request_timeout_ms;
    double ctmo = tmo < c->connect_timeout_ms ? tmo : c->connect_timeout_ms;
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L); /* never rewritten: what was signed is what is sent */
    curl_easy_setopt(h, CURLOPT_RESOLVE, resolve_list);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
    curl_easy_setopt(h, CURLOPT_DISALLOW_USERNAME_IN_URL, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, c->allow_unverified_tls ? 0L : 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->allow_unverified_tls ? 0L : 2L);
    if (c->ca_file[0])
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(ctmo > 1 ? ctmo : 1));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(tmo > 1 ? tmo : 1));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &s);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "moksha-exec/" MK_VERSION);
    if (strcmp(req->method, "HEAD") == 0)
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    else if (req->body || strcmp(req->method, "PUT") == 0 || strcmp(req->method, "POST") == 0 ||
             strcmp(req->method, "PATCH") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
    } else if (strcmp(req->method, "GET") != 0)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
    if (req->aws_sigv4) {
        curl_easy_setopt(h, CURLOPT_AWS_SIGV4, req->aws_sigv4);
        curl_easy_setopt(h, CURLOPT_USERPWD, req->userpwd);
    } else if (req->userpwd) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERPWD, req->userpwd);
    }
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    st = MK_PROV_OK;
    if (s.too_big)
        snprintf(why, whylen, "connection %s: the answer to %s was larger than %u MiB: refused", c->name, req->method,
                 MK_HTTPC_MAX_BODY >> 20), st = MK_PROV_FAILED;
    else if (s.oom)
        snprintf(why, whylen, "out of memory"), st = MK_PROV_RETRYABLE;
    else if (rc != CURLE_OK)
        snprintf(why, whylen, "connection %s: %s %s://%s:%ld: %s", c->name, req->method, got.scheme, got.host, got.port,
                 curl_easy_strerror(rc)), st = curl_status(rc);
    else if (resp->status >= 300 && resp->status < 400 && resp->status != 304) {
        const char *loc = mk_httpc_header(resp, "location");
        char where[201];
        snprintf(where, sizeof where, "%.200s", loc ? loc : "");
        mk_httpc_clean(where);
        snprintf(why, whylen, "connection %s: %s answered %ld, a redirect%s%s: never followed (point the "
                 "connection's endpoint where the service is)", c->name, got.host, resp->status, loc ? " to " : "",
                 where), st = MK_PROV_FAILED;
    }
    if (!resp->body && st == MK_PROV_OK) {
        resp->body = calloc(1, 1);
        if (!resp->body)
            snprintf(why, whylen, "out of memory"), st = MK_PROV_RETRYABLE;
    }
    curl_slist_free_all(resolve_list);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return st;
}
