/* azblob_sign — Shared Key signing for Azure Blob requests (azblob_sign.h):
 * the string to sign as Azure's "Authorize with Shared Key" defines it, and
 * its HMAC-SHA256 through openssl. The URL decoding is libcurl's. */
#include "runtime/providers/azblob_sign.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- a growing buffer ---- */

typedef struct buf {
    char *s;
    size_t len, cap;
    bool oom;
} buf;

static void put(buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *x = realloc(b->s, cap);
        if (!x) {
            b->oom = true;
            return;
        }
        b->s = x, b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

static void puts_(buf *b, const char *s) { put(b, s, strlen(s)); }

/* ---- headers ---- */

/* The value of header name among the lines, or NULL; *n its length with
 * the whitespace around it trimmed. */
static const char *header(const char *const *lines, const char *name, size_t *n)
{
    size_t nl = strlen(name);
    for (const char *const *l = lines; l && *l; l++)
        if (strncasecmp(*l, name, nl) == 0 && (*l)[nl] == ':') {
            const char *v = *l + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            size_t k = strlen(v);
            while (k > 0 && (v[k - 1] == ' ' || v[k - 1] == '\t'))
                k--;
            *n = k;
            return v;
        }
    return NULL;
}

typedef struct xms {
    char *name; /* lowercased */
    const char *value;
    size_t vlen;
} xms;

static int by_name(const void *a, const void *b)
{
    return strcmp(((const xms *)a)->name, ((const xms *)b)->name);
}

/* "x-ms-name:value\n" for every x-ms- header, names lowercased and sorted,
 * each value trimmed with its runs of whitespace made one space. */
static void canonical_headers(buf *b, const char *const *lines)
{
    size_t n = 0;
    for (const char *const *l = lines; l && *l; l++)
        n += strncasecmp(*l, "x-ms-", 5) == 0;
    xms *h = calloc(n ? n : 1, sizeof *h);
    if (!h) {
        b->oom = true;
        return;
    }
    size_t k = 0;
    for (const char *const *l = lines; l && *l; l++) {
        const char *colon = strchr(*l, ':');
        if (strncasecmp(*l, "x-ms-", 5) != 0 || !colon)
            continue;
        size_t nl = (size_t)(colon - *l);
        while (nl > 0 && ((*l)[nl - 1] == ' ' || (*l)[nl - 1] == '\t'))
            nl--;
        h[k].name = strndup(*l, nl);
        if (!h[k].name) {
            b->oom = true;
            break;
        }
        for (char *c = h[k].name; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c + 32);
        h[k].value = header(l, h[k].name, &h[k].vlen);
        k++;
    }
    qsort(h, k, sizeof *h, by_name);
    for (size_t i = 0; i < k; i++) {
        puts_(b, h[i].name);
        put(b, ":", 1);
        bool space = false;
        for (size_t j = 0; h[i].value && j < h[i].vlen; j++) {
            char c = h[i].value[j];
            if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
                space = true;
            else {
                if (space)
                    put(b, " ", 1);
                space = false;
                put(b, &c, 1);
            }
        }
        put(b, "\n", 1);
    }
    for (size_t i = 0; i < k; i++)
        free(h[i].name);
    free(h);
}

/* ---- the canonicalized resource ---- */

typedef struct qp {
    char *name, *value; /* decoded; name lowercased */
} qp;

static int by_pair(const void *a, const void *b)
{
    const qp *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

static char *decode(const char *s, size_t n)
{
    int len = 0;
    char *d = curl_easy_unescape(NULL, s, (int)n, &len);
    if (!d)
        return NULL;
    char *out = (size_t)len == strlen(d) ? strdup(d) : NULL; /* a %00 is no parameter of ours */
    curl_free(d);
    return out;
}

/* "/ACCOUNT/PATH", then "\nname:v1,v2" for each parameter, names
 * lowercased and sorted, a name's values sorted and joined by commas. */
static bool canonical_resource(buf *b, const char *account, const char *path, const char *query)
{
    put(b, "/", 1);
    puts_(b, account);
    puts_(b, path && *path ? path : "/");
    if (!query || !*query)
        return true;
    size_t n = 1;
    for (const char *c = query; *c; c++)
        n += *c == '&';
    qp *q = calloc(n, sizeof *q);
    if (!q)
        return b->oom = true, false;
    size_t k = 0;
    bool ok = true;
    for (const char *s = query; ok && *s;) {
        const char *amp = strchr(s, '&'), *end = amp ? amp : s + strlen(s);
        const char *eq = memchr(s, '=', (size_t)(end - s));
        if (end > s) {
            q[k].name = decode(s, (size_t)((eq ? eq : end) - s));
            q[k].value = eq ? decode(eq + 1, (size_t)(end - eq - 1)) : strdup("");
            ok = q[k].name && q[k].value;
            for (char *c = q[k].name; ok && *c; c++)
                if (*c >= 'A' && *c <= 'Z')
                    *c = (char)(*c + 32);
            k++;
        }
        s = amp ? amp + 1 : end;
    }
    if (ok) {
        qsort(q, k, sizeof *q, by_pair);
        for (size_t i = 0; i < k; i++) {
            if (i == 0 || strcmp(q[i].name, q[i - 1].name) != 0) {
                put(b, "\n", 1);
                puts_(b, q[i].name);
                put(b, ":", 1);
            } else
                put(b, ",", 1);
            puts_(b, q[i].value);
        }
    }
    for (size_t i = 0; i < k; i++)
        free(q[i].name), free(q[i].value);
    free(q);
    return ok;
}

char *mk_prov_azblob_sign_string(const char *verb, const char *const *headers, const char *account,
                                    const char *path, const char *query)
{
    static const char *const standard[] = {"Content-Encoding", "Content-Language", "Content-Length", "Content-MD5",
                                           "Content-Type", "Date", "If-Modified-Since", "If-Match", "If-None-Match",
                                           "If-Unmodified-Since", "Range", NULL};
    buf b = {0};
    puts_(&b, verb);
    put(&b, "\n", 1);
    for (const char *const *s = standard; *s; s++) {
        size_t n = 0;
        const char *v = header(headers, *s, &n);
        if (v && !(strcmp(*s, "Content-Length") == 0 && n == 1 && v[0] == '0'))
            put(&b, v, n);
        put(&b, "\n", 1);
    }
    canonical_headers(&b, headers);
    bool ok = canonical_resource(&b, account, path, query);
    if (!ok || b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

bool mk_prov_azblob_sign_hmac(const unsigned char *key, size_t keylen, const char *sts, char *out, size_t n)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    if (n < 45 || !HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)sts, strlen(sts), mac, &maclen) ||
        maclen != 32)
        return false;
    EVP_EncodeBlock((unsigned char *)out, mac, (int)maclen);
    return true;
}

size_t mk_prov_azblob_sign_key(const char *b64, unsigned char *key, size_t n)
{
    size_t len = strlen(b64);
    if (len == 0 || len % 4 != 0 || len / 4 * 3 > n || strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                                  "0123456789+/=") != len)
        return 0;
    int got = EVP_DecodeBlock(key, (const unsigned char *)b64, (int)len);
    if (got < 0)
        return 0;
    size_t pad = (b64[len - 1] == '=') + (len > 1 && b64[len - 2] == '=');
    return (size_t)got - pad;
}

bool mk_prov_azblob_sign_date(time_t t, char *out, size_t n)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return false;
    int w = snprintf(out, n, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
                     tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return w > 0 && (size_t)w < n;
}
