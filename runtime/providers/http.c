/* http — the http provider: `http.object`, one JSON object of a REST
 * service, over the connection's endpoint (docs/providers.md, "The http
 * provider"). Every request goes through runtime/httpc.c, which keeps the
 * connection's rules (its host only, checked and pinned addresses, verified
 * TLS, no redirects, no proxy). Authentication is the connection's: a bearer
 * token or basic credentials from the executor's environment, or a
 * credential_command's token; never the spec's.
 *
 * Where an object lives: create = "PUT", at `path` (its id is the path,
 * or what `id_pointer` finds in the answer); create = "POST", at PATH/ID,
 * the id the service answered at `id_pointer`. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "runtime/clock.h"
#include "runtime/config.h"
#include "runtime/httpc.h"
#include "runtime/keyring.h"
#include "runtime/pgcred.h"
#include "runtime/providers/fault.h"
#include "runtime/providers/provider.h"
#include "runtime/providers/seen.h"
#include "runtime/sha256.h"

typedef struct hp {
    mk_prov base;
    const mk_config_conn *cc;
    char alias[64];
    json_t *fail_on;  /* owned */
    mk_pgcred *cred;  /* the connection's credential_command, or NULL */
    pthread_mutex_t mu;
    json_t *made;     /* {address: true}: the creates this provider sent (this run), under mu */
    char *tok_seen;   /* the credential_command's last token (scrubbed from what an operation gives), under mu */
} hp;

#define HTTP_TYPE "http.object"

/* ---- JSON pointers (RFC 6901) ---- */

/* The value at ptr in doc (borrowed), or NULL; *bad when ptr is not a
 * pointer ("" is the whole document; else "/" and tokens, `~0` for ~ and
 * `~1` for /). */
static json_t *pointer_get(json_t *doc, const char *ptr, bool *bad)
{
    *bad = false;
    if (!ptr || !*ptr)
        return doc;
    if (*ptr != '/')
        return *bad = true, NULL;
    json_t *at = doc;
    const char *p = ptr;
    while (*p == '/') {
        p++;
        char tok[512];
        size_t n = 0;
        for (; *p && *p != '/'; p++) {
            char c = *p;
            if (c == '~') {
                if (p[1] != '0' && p[1] != '1')
                    return *bad = true, NULL;
                c = p[1] == '0' ? '~' : '/';
                p++;
            }
            if (n + 1 >= sizeof tok)
                return *bad = true, NULL;
            tok[n++] = c;
        }
        tok[n] = 0;
        if (json_is_object(at))
            at = json_object_get(at, tok);
        else if (json_is_array(at)) {
            if (!n || strspn(tok, "0123456789") != n || (n > 1 && tok[0] == '0') || n > 9)
                return NULL;
            at = json_array_get(at, strtoul(tok, NULL, 10));
        } else
            return NULL;
        if (!at)
            return NULL;
    }
    return at;
}

static bool pointer_ok(const char *ptr)
{
    bool bad;
    pointer_get(json_null(), ptr, &bad);
    return !bad;
}

/* ---- the fields a body sets ---- */

/* What held has of the fields want sets: objects member by member (the
 * members want names, in want's order), anything else whole. A new value. */
static json_t *project(json_t *want, json_t *held)
{
    if (!json_is_object(want) || !json_is_object(held))
        return json_deep_copy(held);
    json_t *out = json_object();
    const char *k;
    json_t *w;
    json_object_foreach(want, k, w) {
        json_t *h = json_object_get(held, k);
        if (h)
            json_object_set_new(out, k, project(w, h));
    }
    return out;
}

/* A JSON merge patch (RFC 7396) from prior to want: want's fields, and
 * null for each field prior set that want no longer does. A new value. */
static json_t *merge_patch(json_t *prior, json_t *want)
{
    json_t *out = json_deep_copy(want);
    const char *k;
    json_t *v;
    if (!json_is_object(prior) || !json_is_object(want))
        return out;
    json_object_foreach(prior, k, v) {
        json_t *w = json_object_get(want, k);
        if (!w)
            json_object_set_new(out, k, json_null());
        else if (json_is_object(w) && json_is_object(v))
            json_object_set_new(out, k, merge_patch(v, w));
    }
    return out;
}

static char *encode(json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
}

/* ---- attributes ---- */

static const char *attr_str(json_t *attrs, const char *name)
{
    return json_string_value(json_object_get(attrs, name));
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* A segment a server or a gateway could take for "." or "..": the part
 * before its first ";" (Tomcat's and Spring's path parameters: "..;x"). */
static bool dot_segment(const char *seg, size_t n)
{
    const char *semi = memchr(seg, ';', n);
    size_t core = semi ? (size_t)(semi - seg) : n;
    return (core == 1 && seg[0] == '.') || (core == 2 && seg[0] == '.' && seg[1] == '.') || (semi && core == 0);
}

/* note [http path]: a path as the type allows it, and as every request is
 * sent: "/" and segments, none empty, "." or ".." — nor one a server reads
 * as a dot segment ("..;", ".;x", ";x") —, no query, fragment, backslash,
 * space or control byte, and no percent escape a server could decode into
 * something that changes where the request goes: an unreserved character
 * ("%2e" is "."), "/", "\", "%" (decoded twice) or a control byte. Checked
 * again here, on the spec's path and on every path built with a service's
 * id: libcurl would resolve dot segments, servers and gateways decode and
 * normalise, and a request must reach the path the plan names, under the
 * endpoint's base path. */
static bool path_ok(const char *path)
{
    if (!path || path[0] != '/' || strlen(path) > 2048)
        return false;
    for (const char *p = path; *p; p++) {
        if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '?' || *p == '#' || *p == '\\')
            return false;
        if (*p == '%') {
            int h = hexval(p[1]), l = h < 0 ? -1 : hexval(p[2]);
            if (l < 0)
                return false;
            int c = h * 16 + l;
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                c == '_' || c == '~' || c == '/' || c == '\\' || c == '%' || c < 0x20 || c == 0x7f)
                return false;
        }
    }
    for (const char *seg = path + 1;; ) {
        const char *end = strchr(seg, '/');
        size_t n = end ? (size_t)(end - seg) : strlen(seg);
        if ((n == 0 && end) || dot_segment(seg, n))
            return false;
        if (!end)
            return true;
        seg = end + 1;
    }
}

/* An id a service gave, fit to be a path segment: not empty, and not one
 * a server reads as a dot segment (note [http path]; the path built with
 * it is checked again, escaped). */
static bool id_ok(const char *id)
{
    return id && *id && !dot_segment(id, strlen(id));
}

static bool is_post(json_t *attrs)
{
    const char *c = attr_str(attrs, "create");
    return c && strcmp(c, "POST") == 0;
}

static void wipe_free(char *s)
{
    if (s)
        OPENSSL_cleanse(s, strlen(s)), free(s);
}

/* The body's text (opened when sealed; the caller wipe_free()s it), NULL
 * with why when there is none or it does not open. */
static char *body_text(const mk_prov_op *op, json_t *attrs, char *why, size_t whylen)
{
    json_t *b = json_object_get(attrs, "body");
    if (json_is_string(b))
        return strdup(json_string_value(b));
    if (mk_prov_seen_is_secret(b)) {
        char *t = op->keys ? mk_keyring_open_attr(op->keys, b, op->address, "body") : NULL;
        if (!t)
            snprintf(why, whylen, "http: %s: the body is sealed with a key this executor does not have", op->address);
        return t;
    }
    snprintf(why, whylen, "http: %s: no body (a value another step computes that was not known)", op->address);
    return NULL;
}

/* The body parsed: a JSON object, else NULL with why. */
static json_t *body_json(const mk_prov_op *op, const char *text, char *why, size_t whylen)
{
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        snprintf(why, whylen, "http: %s: the body is not a JSON object's text (write it with jsonencode({…}))", op->address);
        return NULL;
    }
    return j;
}

/* The object's path under the endpoint: PATH, or PATH/ID for a POST
 * create. A new string, or NULL with why. */
static char *object_path(const mk_prov_op *op, json_t *attrs, const char *id, char *why, size_t whylen)
{
    const char *path = attr_str(attrs, "path");
    if (!path_ok(path))
        return snprintf(why, whylen, "http: %s: path %.200s is not a path under the endpoint (\"/\" and segments, "
                        "none empty, . or .., no escaped dot, slash or backslash: note [http path])", op->address,
                        path ? path : "(none)"), NULL;
    if (!is_post(attrs))
        return strdup(path);
    if (!id_ok(id))
        return snprintf(why, whylen, "http: %s: no usable id (%s): where it lives is unknown", op->address,
                        id ? id : "none"), NULL;
    char *e = mk_httpc_escape(id, false);
    size_t n = strlen(path) + strlen(e ? e : "") + 2;
    char *out = e ? malloc(n) : NULL;
    if (out)
        snprintf(out, n, "%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/", e);
    free(e);
    if (out && !path_ok(out)) {
        snprintf(why, whylen, "http: %s: the service's id %.200s does not make a path under the endpoint (note "
                 "[http path]): where it lives is unknown", op->address, id);
        free(out);
        return NULL;
    }
    return out;
}

/* ---- requests ---- */

/* A server's word about an error, one line: {"error": {"code", "message"}},
 * {"code", "message"}, {"error": "…", "message": "…"}; printable bytes only. */
static void server_word(const mk_httpc_resp *r, char *buf, size_t n)
{
    buf[0] = 0;
    json_t *j = r->body && r->len ? json_loadb(r->body, r->len, 0, NULL) : NULL;
    json_t *e = json_object_get(j, "error"), *src = json_is_object(e) ? e : j;
    const char *code = json_string_value(json_object_get(src, "code"));
    const char *msg = json_string_value(json_object_get(src, "message"));
    if (!code && json_is_string(e))
        code = json_string_value(e);
    if (code || msg)
        snprintf(buf, n, ": %.80s%s%.200s", code ? code : "", code && msg ? ": " : "", msg ? msg : "");
    for (char *p = buf; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    json_decref(j);
}

/* The Authorization of a request: *hdr a header line or *userpwd basic
 * credentials (the caller wipe_free()s both), from the connection. */
static mk_prov_status auth_of(hp *p, const mk_prov_op *op, char **hdr, char **userpwd, char *why, size_t whylen)
{
    *hdr = *userpwd = NULL;
    json_t *c = p->cc->credentials;
    /* note [http plaintext]: a credential goes over plain http only where
     * the connection says allow_plaintext, loopback included: another
     * local user can hold a loopback port while the service restarts */
    bool sends = p->cred || attr_str(c, "bearer_env") || attr_str(c, "password_env");
    if (sends && strncasecmp(p->cc->endpoint, "https://", 8) != 0 && !p->cc->allow_plaintext)
        return snprintf(why, whylen, "http: %s: connection %s would send its credentials over plain http (%.200s), "
                        "which anyone holding the port could read (loopback too: another local user can hold it); use "
                        "https, or set \"allow_plaintext\": true on the connection", op->address, p->cc->name,
                        p->cc->endpoint), MK_PROV_FAILED;
    if (p->cred) {
        bool retry = false;
        char tw[256];
        char *tok = mk_pgcred_get(p->cred, op->deadline_ms, &retry, tw, sizeof tw);
        if (!tok)
            return snprintf(why, whylen, "http: %s: %s", op->address, tw), retry ? MK_PROV_RETRYABLE : MK_PROV_FAILED;
        size_t n = strlen(tok) + 32;
        pthread_mutex_lock(&p->mu);
        if (!p->tok_seen || strcmp(p->tok_seen, tok) != 0)
            wipe_free(p->tok_seen), p->tok_seen = strdup(tok);
        pthread_mutex_unlock(&p->mu);
        *hdr = malloc(n);
        if (*hdr)
            snprintf(*hdr, n, "Authorization: Bearer %s", tok);
        mk_pgcred_wipe(tok);
        return *hdr ? MK_PROV_OK : (snprintf(why, whylen, "out of memory"), MK_PROV_RETRYABLE);
    }
    const char *bearer = attr_str(c, "bearer_env"), *user = attr_str(c, "basic_user"), *pwenv = attr_str(c, "password_env");
    const char *env = bearer ? bearer : pwenv;
    if (!env)
        return MK_PROV_OK; /* no credentials: the service is open */
    const char *v = getenv(env);
    if (!v || !*v)
        return snprintf(why, whylen, "http: %s: connection %s: credentials.%s names %s, which is not set in the "
                        "executor's environment", op->address, p->cc->name, bearer ? "bearer_env" : "password_env", env),
               MK_PROV_FAILED;
    if (strpbrk(v, "\r\n"))
        return snprintf(why, whylen, "http: %s: connection %s: the secret in %s holds a line break", op->address,
                        p->cc->name, env), MK_PROV_FAILED;
    size_t n = strlen(v) + (bearer ? 32 : strlen(user) + 2);
    char *s = malloc(n);
    if (!s)
        return snprintf(why, whylen, "out of memory"), MK_PROV_RETRYABLE;
    if (bearer)
        snprintf(s, n, "Authorization: Bearer %s", v), *hdr = s;
    else
        snprintf(s, n, "%s:%s", user, v), *userpwd = s;
    return MK_PROV_OK;
}

/* note [http headers]: a spec's header name is a token (RFC 9110 5.6.2:
 * letters, digits and !#$%&'*+-.^_`|~; no space or tab, nothing a lenient
 * front end trims into another header), and never one of those the
 * connection owns or a backend trusts: credentials, cookies, the request's
 * framing and routing (Host, Content-Length, Transfer-Encoding, Connection,
 * Upgrade, TE, Trailer, Keep-Alive, Expect, Content-Type), the proxy's
 * (Proxy-*), the client's address (Forwarded, X-Forwarded-*, X-Real-IP)
 * and the method (X-HTTP-Method-Override, X-HTTP-Method,
 * X-Method-Override), whatever their case. */
static bool header_token(const char *k)
{
    size_t n = k ? strlen(k) : 0;
    return n && n <= 128 && strspn(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~") == n;
}

static bool header_reserved(const char *k)
{
    static const char *const reserved[] = {"authorization", "proxy-authorization", "cookie", "set-cookie", "host",
                                           "content-length", "transfer-encoding", "connection", "content-type",
                                           "idempotency-key", "upgrade", "te", "trailer", "keep-alive", "expect",
                                           "forwarded", "x-real-ip", "x-http-method-override", "x-http-method",
                                           "x-method-override", NULL};
    static const char *const prefixes[] = {"proxy-", "x-forwarded-", NULL};
    for (const char *const *r = reserved; *r; r++)
        if (strcasecmp(k, *r) == 0)
            return true;
    for (const char *const *r = prefixes; *r; r++)
        if (strncasecmp(k, *r, strlen(*r)) == 0)
            return true;
    return false;
}

static void add_headers(const char **lines, char **own, size_t *n, size_t cap, json_t *h, bool spec)
{
    const char *k;
    json_t *v;
    json_object_foreach(h, k, v) {
        const char *s = json_string_value(v);
        if (!s || *n + 1 >= cap || !header_token(k) || (spec && header_reserved(k)) || strpbrk(s, "\r\n"))
            continue;
        size_t len = strlen(k) + strlen(s) + 3;
        char *line = malloc(len);
        if (!line)
            continue;
        snprintf(line, len, "%s: %s", k, s);
        own[*n] = line;
        lines[(*n)++] = line;
    }
}

/* ---- secrets: what no answer may carry back ---- */

/* Strings nothing this provider gives (an error, an id, a value, a read's
 * body) may hold: the connection's credential and, with a sealed body,
 * each string of the opened body (note [http echo], [http sealed]). Owned
 * copies, wiped by sec_free. */
typedef struct secrets {
    char **s;
    size_t n, cap;
} secrets;

static void sec_add(secrets *z, const char *v)
{
    if (!v || strlen(v) < 4)
        return;
    for (size_t i = 0; i < z->n; i++)
        if (strcmp(z->s[i], v) == 0)
            return;
    if (z->n == z->cap) {
        size_t cap = z->cap ? z->cap * 2 : 8;
        char **s = realloc(z->s, cap * sizeof *s);
        if (!s)
            return;
        z->s = s, z->cap = cap;
    }
    if ((z->s[z->n] = strdup(v)) != NULL)
        z->n++;
}

static void sec_free(secrets *z)
{
    for (size_t i = 0; i < z->n; i++)
        wipe_free(z->s[i]);
    free(z->s);
    *z = (secrets){0};
}

/* The credential a request carries: a bearer token, or basic's password
 * and base64 of user:password. */
static void sec_auth(secrets *z, const char *auth, const char *userpwd)
{
    if (auth && strncmp(auth, "Authorization: Bearer ", 22) == 0)
        sec_add(z, auth + 22);
    if (userpwd && strchr(userpwd, ':')) {
        sec_add(z, strchr(userpwd, ':') + 1);
        size_t n = strlen(userpwd);
        unsigned char b64[1200];
        if (n <= 896) {
            EVP_EncodeBlock(b64, (const unsigned char *)userpwd, (int)n);
            sec_add(z, (const char *)b64);
        }
        OPENSSL_cleanse(b64, sizeof b64);
    }
}

/* The connection's credential as it stands: the environment's, or the
 * credential_command's last token. */
static void sec_conn(hp *p, secrets *z)
{
    json_t *c = p->cc->credentials;
    const char *bearer = attr_str(c, "bearer_env"), *user = attr_str(c, "basic_user"), *pwenv = attr_str(c, "password_env");
    const char *v = bearer ? getenv(bearer) : pwenv ? getenv(pwenv) : NULL;
    if (v && bearer) {
        sec_add(z, v);
    } else if (v && user) {
        size_t n = strlen(user) + strlen(v) + 2;
        char *up = malloc(n);
        if (up)
            snprintf(up, n, "%s:%s", user, v), sec_auth(z, NULL, up), wipe_free(up);
    }
    pthread_mutex_lock(&p->mu);
    sec_add(z, p->tok_seen);
    pthread_mutex_unlock(&p->mu);
}

/* Each string of v, but those the plan shows anyway (in the address or
 * the path: "web" of /items/web is no secret). */
static void sec_leaves(secrets *z, json_t *v, const char *address, const char *path)
{
    size_t i;
    const char *k;
    json_t *e;
    if (json_is_string(v)) {
        const char *t = json_string_value(v);
        if (!(address && strstr(address, t)) && !(path && strstr(path, t)))
            sec_add(z, t);
    } else if (json_is_array(v))
        json_array_foreach(v, i, e) sec_leaves(z, e, address, path);
    else if (json_is_object(v))
        json_object_foreach(v, k, e) sec_leaves(z, e, address, path);
}

/* note [http sealed]: each string of a sealed body (opened), from attrs'
 * body. */
static void sec_body(const mk_prov_op *op, json_t *attrs, secrets *z)
{
    json_t *b = json_object_get(attrs, "body");
    if (!mk_prov_seen_is_secret(b) || !op->keys)
        return;
    char *t = mk_keyring_open_attr(op->keys, b, op->address, "body");
    if (!t)
        return;
    json_t *j = json_loads(t, 0, NULL);
    sec_leaves(z, j, op->address, attr_str(attrs, "path"));
    sec_add(z, t);
    json_decref(j);
    wipe_free(t);
}

/* Every copy of pat (n bytes) in buf (len bytes) overwritten with '*';
 * fold: ASCII case ignored (a percent escape's hex digits). True when one
 * was. */
static bool scrub_one(char *buf, size_t len, const char *pat, size_t n, bool fold)
{
    bool hit = false;
    if (!buf || n < 4 || n > len)
        return false;
    for (size_t i = 0; i + n <= len; i++)
        if (fold ? strncasecmp(buf + i, pat, n) == 0 && !memchr(buf + i, 0, n) : memcmp(buf + i, pat, n) == 0) {
            memset(buf + i, '*', n);
            i += n - 1;
            hit = true;
        }
    return hit;
}

/* Every secret of z in buf overwritten, in each form a service or a URL
 * writes it: as it is, JSON-escaped (jansson's way, with "\/", and all
 * ASCII) and percent-encoded. True when one was there. */
static bool scrub(char *buf, size_t len, const secrets *z)
{
    bool hit = false;
    for (size_t i = 0; buf && i < z->n; i++) {
        const char *s = z->s[i];
        hit |= scrub_one(buf, len, s, strlen(s), false);
        json_t *js = json_string(s);
        static const size_t flags[] = {0, JSON_ESCAPE_SLASH, JSON_ENSURE_ASCII, JSON_ENSURE_ASCII | JSON_ESCAPE_SLASH};
        for (size_t f = 0; js && f < sizeof flags / sizeof *flags; f++) {
            char *e = json_dumps(js, JSON_ENCODE_ANY | flags[f]);
            if (e && strlen(e) >= 2 && strcmp(e, "\"") != 0) {
                size_t n = strlen(e) - 2;
                if (n != strlen(s) || memcmp(e + 1, s, n) != 0)
                    hit |= scrub_one(buf, len, e + 1, n, false);
            }
            wipe_free(e);
        }
        json_decref(js);
        char *pe = mk_httpc_escape(s, false);
        if (pe && strcmp(pe, s) != 0)
            hit |= scrub_one(buf, len, pe, strlen(pe), true);
        wipe_free(pe);
    }
    return hit;
}

static bool scrub_str(char *s, const secrets *z)
{
    return s ? scrub(s, strlen(s), z) : false;
}

/* v with every string (and member name) scrubbed: a new value; *hit when
 * one changed. */
static json_t *scrub_json(json_t *v, const secrets *z, bool *hit)
{
    if (json_is_string(v)) {
        size_t n = json_string_length(v);
        char *c = malloc(n + 1);
        if (!c)
            return json_incref(v);
        memcpy(c, json_string_value(v), n + 1);
        json_t *out = scrub(c, n, z) ? (*hit = true, json_stringn(c, n)) : json_incref(v);
        wipe_free(c);
        return out;
    }
    size_t i;
    const char *k;
    json_t *e;
    if (json_is_array(v)) {
        json_t *out = json_array();
        json_array_foreach(v, i, e) json_array_append_new(out, scrub_json(e, z, hit));
        return out;
    }
    if (json_is_object(v)) {
        json_t *out = json_object();
        json_object_foreach(v, k, e) {
            char *kk = strdup(k);
            if (kk && scrub_str(kk, z))
                *hit = true;
            json_object_set_new(out, kk ? kk : k, scrub_json(e, z, hit));
            wipe_free(kk);
        }
        return out;
    }
    return json_incref(v);
}

/* note [http echo]: a service may repeat what it was sent — a debugging
 * endpoint echoing headers, an error quoting the Authorization it refused,
 * a Location carrying a token —, as it is, JSON-escaped ("\/", "\u0074")
 * or percent-encoded. Whatever it answers is scrubbed of the credential
 * sent (the token; the password and basic's base64 of user:password)
 * before anything reads it: its bytes in every form above, then each
 * string of the JSON as decoded (the answer written again when one
 * changed), so no error, computed value or state entry can carry it. Each
 * operation's error and what it gives are scrubbed once more at its end
 * (finish). */
static void unecho(mk_httpc_resp *r, char *hw, const char *auth, const char *userpwd)
{
    secrets z = {0};
    sec_auth(&z, auth, userpwd);
    if (!z.n)
        return;
    scrub(r->body, r->len, &z);
    for (size_t h = 0; h < r->nheaders; h++)
        scrub_str(r->headers[h], &z);
    scrub_str(hw, &z);
    json_t *j = r->body && r->len ? json_loadb(r->body, r->len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL) : NULL;
    if (!j && r->body && r->len)
        j = json_loadb(r->body, r->len, JSON_DECODE_ANY, NULL);
    bool hit = false;
    json_t *clean = j ? scrub_json(j, &z, &hit) : NULL;
    char *t = hit ? json_dumps(clean, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) : NULL;
    if (t) {
        OPENSSL_cleanse(r->body, r->len);
        free(r->body);
        r->body = t, r->len = strlen(t);
    } else if (hit) { /* cannot write it again: nothing of it is read */
        OPENSSL_cleanse(r->body, r->len);
        r->body[0] = 0, r->len = 0;
    }
    json_decref(clean);
    json_decref(j);
    sec_free(&z);
}

/* One request about op's object: method to path (under the endpoint),
 * with body (content type ctype) and the Idempotency-Key idem (NULL:
 * none). *r gets the answer. OK when an answer came (any status), else
 * why names the address. A credential_command's token refused (401) is
 * fetched once more. */
static mk_prov_status send(hp *p, const mk_prov_op *op, json_t *attrs, const char *method, const char *path,
                           const char *body, const char *ctype, const char *idem, mk_httpc_resp *r, char *why,
                           size_t whylen)
{
    char url[2048];
    memset(r, 0, sizeof *r);
    if (!mk_httpc_url(p->cc, path, NULL, url, sizeof url))
        return snprintf(why, whylen, "http: %s: the URL is too long", op->address), MK_PROV_FAILED;
    for (int attempt = 0;; attempt++) {
        enum { CAP = 160 };
        const char *lines[CAP];
        char *own[CAP] = {0};
        size_t n = 0, nown;
        add_headers(lines, own, &n, CAP - 8, p->cc->headers, false);
        add_headers(lines, own, &n, CAP - 8, json_object_get(attrs, "headers"), true);
        nown = n;
        lines[n++] = "Accept: application/json";
        char ct[96], ik[128];
        if (body) {
            snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
            lines[n++] = ct;
        }
        if (idem) {
            snprintf(ik, sizeof ik, "Idempotency-Key: %s", idem);
            lines[n++] = ik;
        }
        char *auth = NULL, *userpwd = NULL;
        mk_prov_status st = auth_of(p, op, &auth, &userpwd, why, whylen);
        if (st == MK_PROV_OK) {
            if (auth)
                lines[n++] = auth;
            lines[n] = NULL;
            mk_httpc_req req = {.conn = p->cc, .method = method, .url = url, .headers = lines, .body = body,
                                .body_len = body ? strlen(body) : 0, .userpwd = userpwd, .deadline_ms = op->deadline_ms};
            char hw[768];
            st = mk_httpc_send(&req, r, hw, sizeof hw);
            unecho(r, hw, auth, userpwd);
            if (st != MK_PROV_OK)
                snprintf(why, whylen, "http: %s: %s %s: %s", op->address, method, path, hw);
        }
        wipe_free(auth);
        wipe_free(userpwd);
        for (size_t i = 0; i < nown; i++)
            free(own[i]);
        if (st == MK_PROV_OK && r->status == 401 && p->cred && attempt == 0 && mk_pgcred_forget(p->cred)) {
            mk_httpc_resp_free(r);
            continue; /* revoked early: a fresh token */
        }
        return st;
    }
}

/* A status that is not 2xx as the call's end: retryable or failed, the
 * server's error code and message quoted. */
static mk_prov_status refused(const mk_prov_op *op, const char *method, const char *path, const mk_httpc_resp *r,
                              char *why, size_t whylen)
{
    char word[320];
    server_word(r, word, sizeof word);
    snprintf(why, whylen, "http: %s: %s %s answered %ld%s%s", op->address, method, path, r->status, word,
             r->status == 401 || r->status == 403 ? " (the connection's credentials were refused)" : "");
    return mk_httpc_status_retryable(r->status) ? MK_PROV_RETRYABLE : MK_PROV_FAILED;
}

static bool ok_status(long s) { return s >= 200 && s < 300; }

/* The answer as a JSON object, or NULL. */
static json_t *answer_json(const mk_httpc_resp *r)
{
    if (!r->body || !r->len)
        return NULL;
    json_t *j = json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(j))
        return json_decref(j), NULL;
    return j;
}

/* GET the object at path: *obj the object, NULL when gone (404, 410). */
static mk_prov_status get_object(hp *p, const mk_prov_op *op, json_t *attrs, const char *path, json_t **obj, char *why,
                                 size_t whylen)
{
    mk_httpc_resp r;
    *obj = NULL;
    mk_prov_status st = send(p, op, attrs, "GET", path, NULL, NULL, NULL, &r, why, whylen);
    if (st == MK_PROV_OK && (r.status == 404 || r.status == 410))
        ;
    else if (st == MK_PROV_OK && !ok_status(r.status))
        st = refused(op, "GET", path, &r, why, whylen);
    else if (st == MK_PROV_OK && !(*obj = answer_json(&r)))
        st = MK_PROV_FAILED, snprintf(why, whylen, "http: %s: GET %s answered %ld with no JSON object", op->address,
                                      path, r.status);
    mk_httpc_resp_free(&r);
    return st;
}

/* {"id", "values"} of an object: values from the `computed` pointers, a
 * string as it is, anything else as its JSON; a pointer that finds nothing
 * gives no value. */
static json_t *values_of(json_t *attrs, json_t *obj)
{
    json_t *vals = json_object();
    const char *k;
    json_t *ptr;
    json_object_foreach(json_object_get(attrs, "computed"), k, ptr) {
        bool bad;
        json_t *v = pointer_get(obj, json_string_value(ptr), &bad);
        if (!v || bad)
            continue;
        if (json_is_string(v))
            json_object_set_new(vals, k, json_string(json_string_value(v)));
        else {
            char *t = encode(v);
            json_object_set_new(vals, k, json_string(t ? t : "null"));
            free(t);
        }
    }
    return vals;
}

/* The id an answer gives at id_pointer, as text; NULL when none. */
static char *id_in(json_t *attrs, json_t *ans)
{
    bool bad;
    json_t *v = pointer_get(ans, attr_str(attrs, "id_pointer"), &bad);
    if (json_is_string(v) && id_ok(json_string_value(v)) && strlen(json_string_value(v)) == json_string_length(v))
        return strdup(json_string_value(v));
    if (json_is_integer(v)) {
        char b[32];
        snprintf(b, sizeof b, "%lld", (long long)json_integer_value(v));
        return strdup(b);
    }
    return NULL;
}

/* ---- fault injection (fail_on: the connection must allow it) ---- */

static bool fault_named(const hp *p, const mk_prov_op *op)
{
    return mk_prov_fault_named(p->fail_on, op->address);
}

static bool injected(hp *p, const mk_prov_op *op, char *why, size_t whylen)
{
    if (!p->cc->allow_fault_injection || !fault_named(p, op))
        return false;
    snprintf(why, whylen, "http: %s: injected failure (provider %s, fail_on)", op->address, p->alias);
    return true;
}

static mk_prov_status no_type(const mk_prov_op *op, char *why, size_t whylen)
{
    return snprintf(why, whylen, "http: %s: the http provider serves http.object, not %s", op->address, op->type),
           MK_PROV_FAILED;
}

/* ---- create ---- */

static bool made_here(hp *p, const char *address, bool mark)
{
    pthread_mutex_lock(&p->mu);
    bool was = json_object_get(p->made, address) != NULL;
    if (mark)
        json_object_set_new(p->made, address, json_true());
    pthread_mutex_unlock(&p->mu);
    return was;
}

/* note [http idempotency key]: the key of a POST create is
 * SHA-256("moksha http.object" \n stack \n address \n PREVIOUS), PREVIOUS
 * "" at first. The same for every try of the create — this run's retries
 * and the next run's after a crash — so a service that keeps keys answers
 * them all with the one object. A service keeps a key past the object's
 * delete, so an answer naming an object that is gone (or the one being
 * replaced, create_before_destroy) is the earlier life's: the create asks
 * again with that id as PREVIOUS, which is as deterministic. */
static void idem_key(const mk_prov_op *op, const char *previous, char out[72])
{
    const char *stack = op->stack_id ? op->stack_id : "";
    const void *parts[] = {"moksha http.object\n", stack, "\n", op->address, "\n", previous};
    size_t lens[] = {19, strlen(stack), 1, strlen(op->address), 1, strlen(previous)};
    char hex[65];
    mk_sha256_hex_parts(6, parts, lens, hex);
    snprintf(out, 72, "mk-%.64s", hex);
}

static json_t *computed_of(json_t *attrs, const char *id, json_t *obj)
{
    return json_pack("{s:s, s:o}", "id", id, "values", values_of(attrs, obj));
}

static mk_prov_status create_put(hp *p, const mk_prov_op *op, const char *text, json_t *want, json_t **out, char *why,
                                 size_t whylen)
{
    const char *path = attr_str(op->attrs, "path");
    json_t *held = NULL;
    /* note [http adopt]: what is at the path already is taken over only
     * when this run sent it (a retry), or it holds the very fields the
     * body sets (what a run that died before recording it left): anything
     * else is someone else's, and the create fails leaving it as it was */
    mk_prov_status st = get_object(p, op, op->attrs, path, &held, why, whylen);
    if (st != MK_PROV_OK)
        return st;
    bool ours = made_here(p, op->address, false);
    if (held && !ours) {
        json_t *seen = project(want, held);
        bool same = json_equal(seen, want);
        json_decref(seen);
        if (!same && op->stack_id) {
            json_decref(held);
            return snprintf(why, whylen, "http: %s: %s already holds an object this stack did not make (its fields "
                            "differ from the body): not taken over; to manage it, `moksha import %s %s`", op->address,
                            path, op->address, path), MK_PROV_FAILED;
        }
        if (op->adopted)
            *op->adopted = true;
    }
    json_decref(held);
    made_here(p, op->address, true); /* only once it is ours to write: a refused one stays someone else's */
    mk_httpc_resp r;
    st = send(p, op, op->attrs, "PUT", path, text, "application/json", NULL, &r, why, whylen);
    if (st == MK_PROV_OK && !ok_status(r.status))
        st = refused(op, "PUT", path, &r, why, whylen);
    json_t *ans = st == MK_PROV_OK ? answer_json(&r) : NULL;
    mk_httpc_resp_free(&r);
    if (st != MK_PROV_OK)
        return st;
    if (!ans && (st = get_object(p, op, op->attrs, path, &ans, why, whylen)) != MK_PROV_OK)
        return st;
    if (!ans)
        return snprintf(why, whylen, "http: %s: PUT %s succeeded, and a GET then found nothing there", op->address,
                        path), MK_PROV_RETRYABLE;
    char *id = attr_str(op->attrs, "id_pointer") ? id_in(op->attrs, ans) : strdup(path);
    if (!id) {
        json_decref(ans);
        return snprintf(why, whylen, "http: %s: the answer to PUT %s has no id at %s (id_pointer)", op->address, path,
                        attr_str(op->attrs, "id_pointer")), MK_PROV_FAILED;
    }
    *out = computed_of(op->attrs, id, ans);
    free(id);
    json_decref(ans);
    return MK_PROV_OK;
}

static mk_prov_status create_post(hp *p, const mk_prov_op *op, const char *text, json_t **out, char *why,
                                  size_t whylen)
{
    const char *path = attr_str(op->attrs, "path");
    char previous[512] = "";
    bool ours = made_here(p, op->address, true);
    for (int life = 0; life < 16; life++) {
        char key[72];
        idem_key(op, previous, key);
        mk_httpc_resp r;
        mk_prov_status st = send(p, op, op->attrs, "POST", path, text, "application/json", key, &r, why, whylen);
        if (st == MK_PROV_OK && !ok_status(r.status))
            st = refused(op, "POST", path, &r, why, whylen);
        json_t *ans = st == MK_PROV_OK ? answer_json(&r) : NULL;
        const char *rh = st == MK_PROV_OK ? mk_httpc_header(&r, "idempotent-replayed") : NULL;
        bool replayed = rh && strcasecmp(rh, "true") == 0;
        mk_httpc_resp_free(&r);
        if (st != MK_PROV_OK)
            return st;
        char *id = ans ? id_in(op->attrs, ans) : NULL;
        json_decref(ans);
        if (!id)
            return snprintf(why, whylen, "http: %s: the answer to POST %s has no id at %s (id_pointer)", op->address,
                            path, attr_str(op->attrs, "id_pointer")), MK_PROV_FAILED;
        json_t *obj = NULL;
        char *where = object_path(op, op->attrs, id, why, whylen);
        st = where ? get_object(p, op, op->attrs, where, &obj, why, whylen) : MK_PROV_FAILED;
        free(where);
        bool replaced = op->deposing && strcmp(op->deposing, id) == 0;
        if (st != MK_PROV_OK || !obj || replaced) {
            json_decref(obj);
            if (st != MK_PROV_OK || strlen(id) >= sizeof previous) {
                free(id);
                return st != MK_PROV_OK ? st : (snprintf(why, whylen, "http: %s: the service's id is too long",
                                                         op->address), MK_PROV_FAILED);
            }
            snprintf(previous, sizeof previous, "%s", id); /* an earlier life's answer: ask again */
            free(id);
            continue;
        }
        if (replayed && !ours && op->adopted)
            *op->adopted = true; /* made by an earlier run of this stack that died before recording it */
        *out = computed_of(op->attrs, id, obj);
        free(id);
        json_decref(obj);
        return MK_PROV_OK;
    }
    return snprintf(why, whylen, "http: %s: POST %s kept answering with objects that are gone (Idempotency-Key)",
                    op->address, path), MK_PROV_FAILED;
}

static mk_prov_status create_op(mk_prov *base, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    hp *p = base->impl;
    if (strcmp(op->type, HTTP_TYPE) != 0)
        return no_type(op, why, whylen);
    if (injected(p, op, why, whylen))
        return MK_PROV_FAILED;
    char *where = object_path(op, op->attrs, "new", why, whylen); /* the path, checked */
    if (!where)
        return MK_PROV_FAILED;
    free(where);
    char *text = body_text(op, op->attrs, why, whylen);
    json_t *want = text ? body_json(op, text, why, whylen) : NULL;
    mk_prov_status st = MK_PROV_FAILED;
    if (want)
        st = is_post(op->attrs) ? create_post(p, op, text, out, why, whylen)
                                : create_put(p, op, text, want, out, why, whylen);
    json_decref(want);
    wipe_free(text);
    return st;
}

/* ---- read ---- */

/* note [http import id]: an object is imported by its path under the
 * endpoint — "/items/web" (PUT: the spec's path), "/jobs/2c6e…" (POST:
 * the spec's collection and one segment). *path the object's path, *id
 * the id the state records (the id_pointer's in obj when it has one, else
 * the path for PUT, the segment for POST; known once obj is read: NULL
 * before). Without attrs (the executor's look before the import) only the
 * path. */
static char *import_path(const mk_prov_op *op, json_t *attrs, char *why, size_t whylen)
{
    const char *want = attr_str(attrs, "path"), *iid = op->import_id;
    if (!path_ok(iid))
        return snprintf(why, whylen, "http: %s: import an http.object by its path under the endpoint (\"/items/web\", "
                        "\"/jobs/ID\"), not %s", op->address, iid ? iid : "nothing"), NULL;
    if (!json_is_object(attrs))
        return strdup(iid);
    size_t n = want ? strlen(want) : 0;
    while (n > 1 && want[n - 1] == '/')
        n--;
    bool ok = want && (is_post(attrs) ? strncmp(iid, want, n) == 0 && iid[n] == '/' && iid[n + 1] && !strchr(iid + n + 1, '/')
                                      : strcmp(iid, want) == 0);
    if (!ok)
        return snprintf(why, whylen, "http: %s: %s is not where this object lives: %s%s", op->address, iid,
                        want ? want : "?", is_post(attrs) ? "/ID (one segment under the collection)" : " (its path)"),
               NULL;
    return strdup(iid);
}

static char *import_id_of(json_t *attrs, const char *path, json_t *obj)
{
    char *id = attr_str(attrs, "id_pointer") ? id_in(attrs, obj) : NULL;
    if (id)
        return id;
    if (!is_post(attrs))
        return strdup(path);
    return strdup(strrchr(path, '/') + 1);
}


static mk_prov_status read_op(mk_prov *base, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    hp *p = base->impl;
    *out = NULL;
    if (strcmp(op->type, HTTP_TYPE) != 0)
        return no_type(op, why, whylen);
    json_t *attrs = op->attrs;
    if (!json_is_object(attrs) && !op->import_id)
        return snprintf(why, whylen, "http: %s: nothing says where the object lives", op->address), MK_PROV_FAILED;
    char *path = op->import_id ? import_path(op, attrs, why, whylen)
                               : object_path(op, attrs, attr_str(attrs, "id"), why, whylen);
    if (!path)
        return MK_PROV_FAILED;
    json_t *held = NULL;
    mk_prov_status st = get_object(p, op, attrs, path, &held, why, whylen);
    if (st != MK_PROV_OK || !held) {
        free(path);
        return st;
    }
    if (!json_is_object(attrs)) { /* by its path alone: what it holds */
        char *t = encode(held);
        *out = json_pack("{s:s, s:s?}", "path", path, "body", t);
        free(t), free(path), json_decref(held);
        return MK_PROV_OK;
    }
    char *iid = op->import_id ? import_id_of(attrs, path, held) : NULL;
    free(path);
    json_t *res = json_deep_copy(attrs);
    json_t *rec = json_object_get(attrs, "body");
    char tw[256];
    char *text = json_is_string(rec) || mk_prov_seen_is_secret(rec) ? body_text(op, attrs, tw, sizeof tw) : NULL;
    json_t *want = text ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : NULL;
    json_t *seen = json_is_object(want) ? project(want, held) : json_deep_copy(held);
    bool same = want && json_equal(seen, want);
    if (mk_prov_seen_is_secret(rec)) {
        if (!text)
            ; /* sealed with a key this executor no longer has: the record stands */
        else
            json_object_set_new(res, "body", same ? json_deep_copy(rec) : mk_prov_seen_differs());
    } else if (!same || op->import_id) {
        char *t = encode(same ? want : seen);
        json_object_set_new(res, "body", t ? json_string(t) : json_null());
        free(t);
    }
    wipe_free(text);
    json_decref(want);
    json_decref(seen);
    if (iid)
        json_object_set_new(res, "id", json_string(iid));
    free(iid);
    /* values are the service's (a revision, a timestamp it moves on its
     * own): read as recorded, taken anew by each create and update; an
     * import has none recorded */
    if (op->import_id)
        json_object_set_new(res, "values", values_of(attrs, held));
    json_decref(held);
    *out = res;
    return MK_PROV_OK;
}

/* ---- update, delete, import ---- */

static mk_prov_status update_op(mk_prov *base, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    hp *p = base->impl;
    if (strcmp(op->type, HTTP_TYPE) != 0)
        return no_type(op, why, whylen);
    if (injected(p, op, why, whylen))
        return MK_PROV_FAILED;
    const char *id = attr_str(op->attrs, "id") ? attr_str(op->attrs, "id") : attr_str(op->prior, "id");
    const char *method = attr_str(op->attrs, "update") ? attr_str(op->attrs, "update") : "PUT";
    bool patch = strcmp(method, "PATCH") == 0;
    char *path = object_path(op, op->attrs, id, why, whylen);
    char *text = path ? body_text(op, op->attrs, why, whylen) : NULL;
    json_t *want = text ? body_json(op, text, why, whylen) : NULL;
    mk_prov_status st = MK_PROV_FAILED;
    char *send_text = NULL;
    if (want && patch) {
        char pw[256];
        char *ptext = op->prior ? body_text(op, op->prior, pw, sizeof pw) : NULL;
        json_t *prior = ptext ? json_loads(ptext, 0, NULL) : NULL;
        json_t *mp = merge_patch(prior, want);
        send_text = encode(mp);
        json_decref(mp), json_decref(prior), wipe_free(ptext);
    } else if (want)
        send_text = strdup(text);
    if (send_text) {
        mk_httpc_resp r;
        st = send(p, op, op->attrs, method, path, send_text, patch ? "application/merge-patch+json" : "application/json",
                  NULL, &r, why, whylen);
        if (st == MK_PROV_OK && (r.status == 404 || r.status == 410))
            st = MK_PROV_FAILED, snprintf(why, whylen, "http: %s: %s %s answered %ld: the object is gone (a refresh "
                                          "sees it, and a plan makes it again)", op->address, method, path, r.status);
        else if (st == MK_PROV_OK && !ok_status(r.status))
            st = refused(op, method, path, &r, why, whylen);
        json_t *ans = st == MK_PROV_OK ? answer_json(&r) : NULL;
        mk_httpc_resp_free(&r);
        if (st == MK_PROV_OK && !ans && (st = get_object(p, op, op->attrs, path, &ans, why, whylen)) == MK_PROV_OK &&
            !ans)
            st = MK_PROV_RETRYABLE, snprintf(why, whylen, "http: %s: %s %s succeeded, and a GET then found nothing "
                                             "there", op->address, method, path);
        if (st == MK_PROV_OK)
            *out = computed_of(op->attrs, id ? id : path, ans);
        json_decref(ans);
    }
    wipe_free(send_text);
    json_decref(want);
    wipe_free(text);
    free(path);
    return st;
}

static mk_prov_status del_op(mk_prov *base, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    hp *p = base->impl;
    (void)out;
    if (strcmp(op->type, HTTP_TYPE) != 0)
        return no_type(op, why, whylen);
    if (injected(p, op, why, whylen))
        return MK_PROV_FAILED;
    char *path = object_path(op, op->attrs, attr_str(op->attrs, "id"), why, whylen);
    if (!path)
        return MK_PROV_FAILED;
    mk_httpc_resp r;
    mk_prov_status st = send(p, op, op->attrs, "DELETE", path, NULL, NULL, NULL, &r, why, whylen);
    if (st == MK_PROV_OK && !ok_status(r.status) && r.status != 404 && r.status != 410)
        st = refused(op, "DELETE", path, &r, why, whylen);
    mk_httpc_resp_free(&r);
    free(path);
    return st;
}

static mk_prov_status import_op(mk_prov *base, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    hp *p = base->impl;
    if (strcmp(op->type, HTTP_TYPE) != 0)
        return no_type(op, why, whylen);
    if (injected(p, op, why, whylen))
        return MK_PROV_FAILED;
    char *path = import_path(op, op->attrs, why, whylen);
    if (!path)
        return MK_PROV_FAILED;
    json_t *obj = NULL;
    mk_prov_status st = get_object(p, op, op->attrs, path, &obj, why, whylen);
    if (st == MK_PROV_OK && !obj)
        st = MK_PROV_FAILED, snprintf(why, whylen, "http: %s: there is no object at %s to import", op->address, path);
    if (st == MK_PROV_OK) {
        char *id = import_id_of(op->attrs, path, obj);
        *out = computed_of(op->attrs, id, obj);
        free(id);
    }
    json_decref(obj);
    free(path);
    return st;
}

/* Whether ptr lands on a field body sets, or under one (a member of an
 * array or a string of the body's included); "" is the whole document. */
static bool into_body(json_t *body, const char *ptr)
{
    char pre[1024];
    size_t n = strlen(ptr);
    if (n >= sizeof pre)
        return true;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && ptr[i] != '/')
            continue;
        memcpy(pre, ptr, i), pre[i] = 0;
        bool bad;
        json_t *v = pointer_get(body, pre, &bad);
        if (!v || bad)
            return false;
        if (i == n || !json_is_object(v))
            return true;
    }
    return false;
}

/* ---- check: refused before the first step ---- */

static mk_prov_status check_op(mk_prov *base, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    hp *p = base->impl;
    (void)out;
    if (strcmp(op->type, HTTP_TYPE) != 0)
        return no_type(op, why, whylen);
    if (fault_named(p, op) && !p->cc->allow_fault_injection)
        return snprintf(why, whylen, "http: %s: provider %s asks for injected failures (fail_on), which connection "
                        "%s does not allow: set \"allow_fault_injection\": true on it in the executor's configuration "
                        "(docs/providers.md, \"Rules for every provider\")", op->address, p->alias, p->cc->name),
               MK_PROV_FAILED;
    json_t *a = op->attrs;
    if (op->action && strcmp(op->action, "delete") != 0 && json_is_object(a)) {
        if (attr_str(a, "path") && !path_ok(attr_str(a, "path")))
            return snprintf(why, whylen, "http: %s: path %.200s is not a path under the endpoint (\"/\" and segments, "
                            "none empty, . or .., no escaped dot, slash or backslash: note [http path])", op->address,
                            attr_str(a, "path")), MK_PROV_FAILED;
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(a, "headers"), k, v) {
            if (!header_token(k))
                return snprintf(why, whylen, "http: %s: header name %.100s is not a token (letters, digits and "
                                "!#$%%&'*+-.^_`|~: note [http headers])", op->address, k), MK_PROV_FAILED;
            if (header_reserved(k))
                return snprintf(why, whylen, "http: %s: header %s is refused: credentials, the request's framing, "
                                "routing and method are the connection's, never the spec's (note [http headers])",
                                op->address, k), MK_PROV_FAILED;
            if (!json_is_string(v) || strpbrk(json_string_value(v), "\r\n"))
                return snprintf(why, whylen, "http: %s: header %s: a header's value is one line of plain text (a "
                                "secret belongs in the connection's credentials)", op->address, k), MK_PROV_FAILED;
        }
        if (is_post(a) && !attr_str(a, "id_pointer"))
            return snprintf(why, whylen, "http: %s: create = \"POST\" needs id_pointer: where the service's answer "
                            "holds the new object's id", op->address), MK_PROV_FAILED;
        if (attr_str(a, "id_pointer") && !pointer_ok(attr_str(a, "id_pointer")))
            return snprintf(why, whylen, "http: %s: id_pointer %s is not a JSON pointer (RFC 6901)", op->address,
                            attr_str(a, "id_pointer")), MK_PROV_FAILED;
        json_object_foreach(json_object_get(a, "computed"), k, v)
            if (!json_is_string(v) || !pointer_ok(json_string_value(v)))
                return snprintf(why, whylen, "http: %s: computed.%s is not a JSON pointer (RFC 6901)", op->address, k),
                       MK_PROV_FAILED;
        json_t *b = json_object_get(a, "body");
        if (mk_prov_seen_is_secret(b)) { /* note [http sealed] */
            char tw[256];
            char *t = body_text(op, a, tw, sizeof tw);
            json_t *j = t ? json_loads(t, 0, NULL) : NULL;
            wipe_free(t);
            const char *ip = attr_str(a, "id_pointer"), *bad = NULL;
            char what[160] = "id_pointer";
            if (j && ip && into_body(j, ip))
                bad = ip;
            json_object_foreach(j ? json_object_get(a, "computed") : NULL, k, v)
                if (!bad && into_body(j, json_string_value(v)))
                    bad = json_string_value(v), snprintf(what, sizeof what, "computed.%s", k);
            json_decref(j);
            if (bad)
                return snprintf(why, whylen, "http: %s: %s (%s) points into a field the sealed body sets: it would "
                                "bring the secret back in plain text (note [http sealed]); point at what the service "
                                "adds (an id, a revision)", op->address, what, bad),
                       MK_PROV_FAILED;
        }
        if (json_is_string(b)) {
            json_t *j = body_json(op, json_string_value(b), why, whylen);
            if (!j)
                return MK_PROV_FAILED;
            json_decref(j);
        }
    }
    /* note [http probe]: the connection as configured, before anything
     * changes — a GET of the object's path (or its collection's), which
     * changes nothing: its address refused, TLS that does not verify, a
     * redirect, credentials missing or refused (401, 403) fail the check;
     * any other answer (404 included) shows the service is there */
    const char *path = attr_str(a, "path");
    if (!path)
        return MK_PROV_OK;
    mk_httpc_resp r;
    mk_prov_status st = send(p, op, a, "GET", path, NULL, NULL, NULL, &r, why, whylen);
    if (st == MK_PROV_OK && (r.status == 401 || r.status == 403))
        st = refused(op, "GET", path, &r, why, whylen);
    mk_httpc_resp_free(&r);
    return st;
}

/* note [http sealed]: a sealed body's secret never comes back in plain
 * text. The check refuses an id_pointer or a computed pointer that lands
 * on a field the body sets, or under one; and what every operation gives
 * is scrubbed at its end of each string of the opened body (4 bytes or
 * more, but those the plan shows anyway: a part of the address or the
 * path) and of the connection's credential: the error, each value, a
 * read's body; an id found at id_pointer that holds one is refused, not
 * recorded (a wrong id would lose the object). */
static mk_prov_status finish(hp *p, const mk_prov_op *op, mk_prov_status st, json_t **out, char *why, size_t whylen)
{
    secrets z = {0};
    sec_conn(p, &z);
    sec_body(op, op->attrs, &z);
    sec_body(op, op->prior, &z);
    if (st == MK_PROV_OK && out && json_is_object(*out)) {
        json_t *o = *out, *id = json_object_get(o, "id");
        char *c = json_is_string(id) && attr_str(op->attrs, "id_pointer") ? strdup(json_string_value(id)) : NULL;
        if (c && scrub_str(c, &z)) {
            json_decref(o), *out = NULL;
            st = MK_PROV_FAILED;
            snprintf(why, whylen, "http: %s: the service's answer puts a credential or a string of the sealed body "
                     "where the id is (id_pointer %s): not recorded — id_pointer must find the service's own id "
                     "(note [http sealed])", op->address, attr_str(op->attrs, "id_pointer") ? attr_str(op->attrs, "id_pointer") : "none");
        }
        wipe_free(c);
        const char *k;
        json_t *v;
        json_t *vals = st == MK_PROV_OK ? json_object_get(o, "values") : NULL;
        json_object_foreach(vals, k, v) {
            char *t = json_is_string(v) ? strdup(json_string_value(v)) : NULL;
            if (t && scrub_str(t, &z))
                json_object_set_new(vals, k, json_string(t));
            wipe_free(t);
        }
        json_t *b = st == MK_PROV_OK ? json_object_get(o, "body") : NULL;
        char *t = json_is_string(b) ? strdup(json_string_value(b)) : NULL;
        if (t && scrub_str(t, &z))
            json_object_set_new(o, "body", json_string(t));
        wipe_free(t);
    }
    if (st != MK_PROV_OK && why)
        scrub(why, strnlen(why, whylen), &z);
    sec_free(&z);
    return st;
}

#define WRAP(f)                                                                                                        \
    static mk_prov_status do_##f(mk_prov *base, const mk_prov_op *op, json_t **out, char *why, size_t whylen)         \
    {                                                                                                                  \
        return finish(base->impl, op, f##_op(base, op, out, why, whylen), out, why, whylen);                          \
    }
WRAP(create)
WRAP(read)
WRAP(update)
WRAP(del)
WRAP(import)
WRAP(check)

static unsigned caps_of(mk_prov *p, const char *type)
{
    (void)p;
    /* made again from its before: the same object (PUT) or a new id (POST) */
    return strcmp(type, HTTP_TYPE) == 0 ? MK_PROV_CAN_RECREATE : 0;
}

static void hp_free(mk_prov *base)
{
    hp *p = base->impl;
    json_decref(p->fail_on);
    json_decref(p->made);
    wipe_free(p->tok_seen);
    mk_pgcred_free(p->cred);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

mk_prov *mk_prov_http_new(json_t *settings, const mk_config *cfg, const char *alias, char *why, size_t whylen)
{
    alias = alias ? alias : "http";
    const char *name = json_string_value(json_object_get(settings, "connection"));
    if (!name)
        return snprintf(why, whylen, "provider %s: no connection named (`provider http { connection = \"NAME\" }`)",
                        alias), NULL;
    const mk_config_conn *cc = mk_config_conn_find(cfg, name);
    if (!cc)
        return snprintf(why, whylen, "provider %s: the executor's configuration (%s) has no connection `%s`: a spec "
                        "names a connection, the executor says where it goes (docs/providers.md, \"Connections\")",
                        alias, cfg && cfg->path[0] ? cfg->path : "none: MOKSHA_EXEC_CONFIG", name), NULL;
    if (strcmp(cc->kind, "http") != 0)
        return snprintf(why, whylen, "provider %s: connection `%s` is a %s connection, not http", alias, name, cc->kind),
               NULL;
    if (cc->password_command && cc->credentials && json_object_size(cc->credentials))
        return snprintf(why, whylen, "provider %s: connection `%s` has both credentials and a credential_command: "
                        "one of them says who this executor is", alias, name), NULL;
    hp *p = calloc(1, sizeof *p);
    if (!p)
        return snprintf(why, whylen, "out of memory"), NULL;
    if (cc->password_command && !(p->cred = mk_pgcred_new(cc, why, whylen))) {
        free(p);
        return NULL;
    }
    p->cc = cc;
    snprintf(p->alias, sizeof p->alias, "%s", alias);
    json_t *fo = json_object_get(settings, "fail_on");
    p->fail_on = json_is_array(fo) ? json_incref(fo) : json_array();
    p->made = json_object();
    pthread_mutex_init(&p->mu, NULL);
    p->base = (mk_prov){.kind = "http", .caps = MK_PROV_CAN_RECREATE, .create = do_create, .read = do_read,
                        .update = do_update, .del = do_del, .import = do_import, .move = NULL, .check = do_check,
                        .caps_of = caps_of, .free = hp_free, .impl = p};
    return &p->base;
}
