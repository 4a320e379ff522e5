/* builtin_enc — the built-ins on networks, encodings and hashes. Addresses
 * go through inet_pton/inet_ntop, base64 and digests through OpenSSL, JSON
 * through jansson; this file only moves bits and bytes between them and
 * values. See builtin.c for the conventions (note [builtin names]) and
 * builtin_arg.h for the helpers. */
#include "compiler/front/builtin_enc.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>
#include <sys/socket.h>

#include "compiler/base/mem.h"
#include "compiler/base/jsonfile.h"
#include "compiler/front/builtin_arg.h"
#include "compiler/front/vjson.h"

#define FN (__func__ + 6)

/* ---- cidr ---- */

typedef struct cidr {
    int af;   /* AF_INET or AF_INET6 */
    int bits; /* 32 or 128 */
    int len;  /* prefix length */
    uint8_t a[16];
} cidr;

static bool parse_addr(const char *s, size_t n, cidr *out)
{
    char buf[INET6_ADDRSTRLEN + 1];
    if (n == 0 || n >= sizeof buf || memchr(s, 0, n))
        return false;
    memcpy(buf, s, n);
    buf[n] = 0;
    memset(out->a, 0, sizeof out->a);
    out->af = memchr(s, ':', n) ? AF_INET6 : AF_INET;
    out->bits = out->af == AF_INET ? 32 : 128;
    return inet_pton(out->af, buf, out->a) == 1;
}

/* A prefix length: decimal digits without a leading zero, at most max. */
static bool parse_len(const char *s, size_t n, int max, int *out)
{
    int v = 0;
    if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return v <= max;
}

static void set_bit(uint8_t *a, int pos) { a[pos / 8] |= (uint8_t)(0x80 >> (pos % 8)); }
static void clear_bit(uint8_t *a, int pos) { a[pos / 8] &= (uint8_t) ~(0x80 >> (pos % 8)); }
static bool get_bit(const uint8_t *a, int pos) { return a[pos / 8] >> (7 - pos % 8) & 1; }

/* ORs v into the bits of a that end just before bit `end` (bit 0 is the top). */
static void put_bits(uint8_t *a, int end, uint64_t v)
{
    for (int k = 0; k < 64 && (v >> k) != 0; k++)
        if (v >> k & 1)
            set_bit(a, end - 1 - k);
}

/* Subtracts v from the big-endian number in a[0..bits/8); the caller makes
 * sure nothing borrows out of the host part. */
static void sub_bits(uint8_t *a, int bits, uint64_t v)
{
    unsigned borrow = 0;
    for (int i = bits / 8 - 1; i >= 0; i--, v >>= 8) {
        unsigned d = (unsigned)(v & 0xFF) + borrow;
        borrow = a[i] < d;
        a[i] = (uint8_t)(a[i] - d);
    }
}

static bool fits_bits(uint64_t v, int64_t bits) { return bits >= 64 || v < (UINT64_C(1) << bits); }

/* args[i] as "address/length" with the host bits cleared; a bare address
 * (length = all bits, kept as written) too when bare_ok. */
static bool parse_cidr(mk_bictx *c, mk_value **args, int i, bool bare_ok, cidr *out, const char *fn)
{
    if (!mk_bi_want(c, args, i, MK_V_STRING, fn))
        return false;
    const char *s = args[i]->u.s, *slash = memchr(s, '/', args[i]->n);
    size_t alen = slash ? (size_t)(slash - s) : args[i]->n;
    bool ok = (slash || bare_ok) && parse_addr(s, alen, out);
    out->len = ok ? out->bits : 0;
    if (ok && slash)
        ok = parse_len(slash + 1, args[i]->n - alen - 1, out->bits, &out->len);
    for (int p = out->len; ok && slash && p < out->bits; p++)
        clear_bit(out->a, p);
    if (!ok)
        mk_bi_error(c, i, "argument %d of `%s` is not %s: %s", i + 1, fn,
                    bare_ok ? "an IP address or CIDR prefix" : "a CIDR prefix like \"10.0.0.0/16\"",
                    mk_bi_show(c, args[i]));
    return ok;
}

static mk_value *show_cidr(mk_bictx *c, const cidr *p, bool with_len)
{
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(p->af, p->a, buf, sizeof buf);
    return mk_v_cstr(c->v, with_len ? mk_arena_printf(c->v->arena, "%s/%d", buf, p->len) : buf);
}

mk_value *mk_bi_cidrsubnet(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    cidr p;
    int64_t newbits, netnum;
    if (!parse_cidr(c, args, 0, false, &p, FN) || !mk_bi_int(c, args, 1, &newbits, FN) ||
        !mk_bi_int(c, args, 2, &netnum, FN))
        return MK_V_ERRORV;
    if (newbits < 0 || newbits > p.bits - p.len)
        return mk_bi_error(c, 1, "newbits %s would make a prefix longer than the %d bits of %s", mk_bi_show(c, args[1]),
                           p.bits, mk_bi_show(c, args[0]));
    if (netnum < 0 || !fits_bits((uint64_t)netnum, newbits))
        return mk_bi_error(c, 2, "netnum %s does not fit in %s new bits", mk_bi_show(c, args[2]),
                           mk_bi_show(c, args[1]));
    p.len += (int)newbits;
    put_bits(p.a, p.len, (uint64_t)netnum);
    return show_cidr(c, &p, true);
}

mk_value *mk_bi_cidrhost(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    cidr p;
    int64_t host;
    if (!parse_cidr(c, args, 0, false, &p, FN) || !mk_bi_int(c, args, 1, &host, FN))
        return MK_V_ERRORV;
    int hostbits = p.bits - p.len;
    uint64_t back = host < 0 ? (uint64_t)-(host + 1) : 0; /* -1 is the last address */
    if (!fits_bits(host < 0 ? back : (uint64_t)host, hostbits))
        return mk_bi_error(c, 1, "host number %s is outside %s", mk_bi_show(c, args[1]), mk_bi_show(c, args[0]));
    if (host >= 0) {
        put_bits(p.a, p.bits, (uint64_t)host);
    } else {
        for (int b = p.len; b < p.bits; b++)
            set_bit(p.a, b);
        sub_bits(p.a, p.bits, back);
    }
    return show_cidr(c, &p, false);
}

mk_value *mk_bi_cidrnetmask(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    cidr p;
    if (!parse_cidr(c, args, 0, false, &p, FN))
        return MK_V_ERRORV;
    if (p.af != AF_INET)
        return mk_bi_error(c, 0, "`cidrnetmask` works on IPv4 prefixes only");
    memset(p.a, 0, sizeof p.a);
    for (int b = 0; b < p.len; b++)
        set_bit(p.a, b);
    return show_cidr(c, &p, false);
}

mk_value *mk_bi_cidrcontains(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    cidr p, q;
    if (!parse_cidr(c, args, 0, false, &p, FN) || !parse_cidr(c, args, 1, true, &q, FN))
        return MK_V_ERRORV;
    if (p.af != q.af)
        return mk_bi_error(c, 1, "`cidrcontains` cannot compare an %s prefix with an %s address",
                           p.af == AF_INET ? "IPv4" : "IPv6", q.af == AF_INET ? "IPv4" : "IPv6");
    bool inside = q.len >= p.len;
    for (int b = 0; inside && b < p.len; b++)
        inside = get_bit(p.a, b) == get_bit(q.a, b);
    return mk_v_bool(inside);
}

mk_value *mk_bi_cidrvalid(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    if (!mk_bi_want(c, args, 0, MK_V_STRING, FN))
        return MK_V_ERRORV;
    const char *s = args[0]->u.s, *slash = memchr(s, '/', args[0]->n);
    size_t alen = slash ? (size_t)(slash - s) : args[0]->n;
    cidr p;
    bool ok = parse_addr(s, alen, &p);
    if (ok && slash)
        ok = parse_len(slash + 1, args[0]->n - alen - 1, p.bits, &p.len);
    return mk_v_bool(ok);
}

/* ---- base64 and urlencode ---- */

static mk_value *base64(mk_bictx *c, const unsigned char *s, size_t n, const char *fn)
{
    if (n > MK_BI_MAX_TEXT / 4 * 3)
        return mk_bi_error(c, -1, "the result of `%s` is longer than %zu MiB", fn, MK_BI_MAX_TEXT >> 20);
    char *out = mk_arena_alloc(c->v->arena, 4 * ((n + 2) / 3) + 1);
    int len = EVP_EncodeBlock((unsigned char *)out, s, (int)n);
    return mk_v_str_owned(c->v, out, (uint32_t)len);
}

mk_value *mk_bi_base64encode(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    if (!mk_bi_want(c, args, 0, MK_V_STRING, FN))
        return MK_V_ERRORV;
    return base64(c, (const unsigned char *)args[0]->u.s, args[0]->n, FN);
}

/* Standard alphabet, padded to a multiple of 4 (EVP_DecodeBlock would skip
 * whitespace and mistake padding for data). */
static bool is_base64(const char *s, uint32_t n, uint32_t *pad)
{
    if (n % 4)
        return false;
    *pad = n && s[n - 1] == '=' ? (s[n - 2] == '=' ? 2 : 1) : 0;
    for (uint32_t i = 0; i < n - *pad; i++) {
        char ch = s[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '+' || ch == '/'))
            return false;
    }
    return true;
}

/* Strings are text: valid UTF-8 without NUL bytes. */
static bool is_text(const char *s, uint32_t n)
{
    uint32_t cp;
    for (uint32_t i = 0, len; i < n; i += len)
        if (s[i] == 0 || (len = mk_bi_u8next(s + i, n - i, &cp)) == 0)
            return false;
    return true;
}

mk_value *mk_bi_base64decode(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    uint32_t pad;
    if (!mk_bi_want(c, args, 0, MK_V_STRING, FN))
        return MK_V_ERRORV;
    const mk_value *s = args[0];
    if (!is_base64(s->u.s, s->n, &pad))
        return mk_bi_error(c, 0, "argument 1 of `base64decode` is not valid base64");
    unsigned char *out = mk_arena_alloc(c->v->arena, s->n / 4 * 3 + 1);
    int len = EVP_DecodeBlock(out, (const unsigned char *)s->u.s, (int)s->n);
    if (len < 0)
        return mk_bi_error(c, 0, "argument 1 of `base64decode` is not valid base64");
    len -= (int)pad;
    if (!is_text((const char *)out, (uint32_t)len))
        return mk_bi_error(c, 0, "`base64decode` decoded bytes that are not UTF-8 text");
    out[len] = 0;
    return mk_v_str_owned(c->v, (const char *)out, (uint32_t)len);
}

/* Query-string escaping, as Terraform does it. */
mk_value *mk_bi_urlencode(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    if (!mk_bi_want(c, args, 0, MK_V_STRING, FN))
        return MK_V_ERRORV;
    mk_buf b = {0};
    for (uint32_t i = 0; i < args[0]->n; i++) {
        unsigned char ch = (unsigned char)args[0]->u.s[i];
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || (ch && strchr("-_.~", ch)))
            mk_buf_putc(&b, (char)ch);
        else if (ch == ' ')
            mk_buf_putc(&b, '+');
        else
            mk_buf_printf(&b, "%%%02X", ch);
    }
    return mk_bi_take(c, &b, FN);
}

/* ---- json ---- */

/* v as JSON, or NULL with *bad set to what cannot be encoded. */
static json_t *to_json(const mk_value *v, int depth, const mk_value **bad)
{
    json_t *j = NULL;
    mk_buf b = {0};
    if (depth > MK_BI_MAX_DEPTH) {
        *bad = v;
        return NULL;
    }
    switch (v->kind) {
    case MK_V_NULL: return json_null();
    case MK_V_BOOL: return json_boolean(v->u.b);
    case MK_V_INT: return json_integer(v->u.i);
    case MK_V_NUMBER: j = json_real(v->u.d); break;
    case MK_V_STRING: j = json_stringn(v->u.s, v->n); break;
    case MK_V_SIZE: case MK_V_DURATION: case MK_V_MONEY:
        mk_v_show(v, &b, true); /* the literal: money keeps every digit, "$1.005" */
        j = json_stringn(b.data, b.len);
        mk_buf_free(&b);
        break;
    case MK_V_LIST:
        j = json_array();
        for (uint32_t i = 0; j && i < v->n; i++)
            if (json_array_append_new(j, to_json(v->u.items[i], depth + 1, bad)) != 0)
                json_decref(j), j = NULL;
        return j;
    case MK_V_MAP:
        j = json_object();
        for (uint32_t i = 0; j && i < v->n; i++)
            if (json_object_set_new(j, v->u.map.keys[i], to_json(v->u.map.vals[i], depth + 1, bad)) != 0)
                json_decref(j), j = NULL;
        return j;
    default: break;
    }
    if (!j && !*bad)
        *bad = v;
    return j;
}

static int dump_to_buf(const char *s, size_t n, void *data)
{
    mk_buf *b = data;
    if (b->len + n > MK_BI_MAX_TEXT)
        return -1;
    mk_buf_put(b, s, n);
    return 0;
}

/* note [json numbers]: numbers are written with 15 significant digits, as
 * tostring and interpolation show them, so 0.1 encodes as 0.1 rather than
 * 0.10000000000000001; a whole number keeps its ".0" and decodes as a number. */
mk_value *mk_bi_jsonencode(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    const mk_value *bad = NULL;
    if (!mk_bi_fits(args[0]))
        return mk_bi_error(c, 0, "the result of `jsonencode` would be longer than %zu MiB", MK_BI_MAX_TEXT >> 20);
    json_t *j = to_json(args[0], 0, &bad);
    if (!j)
        return mk_bi_error(c, 0, "`jsonencode` cannot encode %s", bad && bad->kind == MK_V_NUMBER
                           ? "a number that is not finite" : bad && bad->kind == MK_V_STRING ? "a string that is not UTF-8"
                           : bad ? mk_v_kind_name(bad->kind) : "this value");
    mk_buf b = {0};
    size_t flags = JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15);
    int rc = json_dump_callback(j, dump_to_buf, &b, flags);
    json_decref(j);
    if (rc != 0) {
        mk_buf_free(&b);
        return mk_bi_error(c, 0, "the result of `jsonencode` would be longer than %zu MiB", MK_BI_MAX_TEXT >> 20);
    }
    return mk_bi_take(c, &b, FN);
}

/* jansson bounds the nesting (2048) and rejects NUL in strings. */
mk_value *mk_bi_jsondecode(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    json_error_t err;
    if (!mk_bi_want(c, args, 0, MK_V_STRING, FN))
        return MK_V_ERRORV;
    json_t *j = json_loadb(args[0]->u.s, args[0]->n, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &err);
    if (!j)
        return mk_bi_error(c, 0, "`jsondecode` was given invalid JSON (line %d, column %d): %s", err.line, err.column,
                           mk_jsonfile_why(&err));
    mk_value *v = mk_vjson_to_any(c->v, j, false);
    json_decref(j);
    return v;
}

/* ---- hashing ---- */

static mk_value *hex(mk_bictx *c, const unsigned char *d, unsigned n)
{
    char *out = mk_arena_alloc(c->v->arena, 2 * n + 1);
    for (unsigned i = 0; i < n; i++) {
        out[2 * i] = "0123456789abcdef"[d[i] >> 4];
        out[2 * i + 1] = "0123456789abcdef"[d[i] & 15];
    }
    return mk_v_str_owned(c->v, out, 2 * n);
}

static mk_value *digest(mk_bictx *c, mk_value **args, const EVP_MD *md, bool b64, const char *fn)
{
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned len;
    if (!mk_bi_want(c, args, 0, MK_V_STRING, fn))
        return MK_V_ERRORV;
    if (!md || !EVP_Digest(args[0]->u.s, args[0]->n, out, &len, md, NULL))
        return mk_bi_error(c, -1, "`%s` is not available from this OpenSSL", fn);
    return b64 ? base64(c, out, len, fn) : hex(c, out, len);
}

mk_value *mk_bi_sha256(mk_bictx *c, mk_value **args, int n) { (void)n; return digest(c, args, EVP_sha256(), false, FN); }
mk_value *mk_bi_sha512(mk_bictx *c, mk_value **args, int n) { (void)n; return digest(c, args, EVP_sha512(), false, FN); }
mk_value *mk_bi_sha1(mk_bictx *c, mk_value **args, int n) { (void)n; return digest(c, args, EVP_sha1(), false, FN); }
mk_value *mk_bi_md5(mk_bictx *c, mk_value **args, int n) { (void)n; return digest(c, args, EVP_md5(), false, FN); }

mk_value *mk_bi_base64sha256(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    return digest(c, args, EVP_sha256(), true, FN);
}

mk_value *mk_bi_hmac_sha256(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned len;
    if (!mk_bi_want(c, args, 0, MK_V_STRING, FN) || !mk_bi_want(c, args, 1, MK_V_STRING, FN))
        return MK_V_ERRORV;
    if (args[0]->n > INT_MAX)
        return mk_bi_error(c, 0, "the key of `hmac_sha256` is too long");
    if (!HMAC(EVP_sha256(), args[0]->u.s, (int)args[0]->n, (const unsigned char *)args[1]->u.s, args[1]->n, out,
              &len))
        return mk_bi_error(c, -1, "`hmac_sha256` failed in OpenSSL");
    return hex(c, out, len);
}
