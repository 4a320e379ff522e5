/* builtin — the built-in functions on strings, collections, numbers and
 * units, and the table the evaluator looks them up in. Networks, encodings
 * and hashes live in builtin_enc.c; the helpers every built-in uses to
 * check its arguments in builtin_arg.c. Results are built in the compilation arena (mk_vctx).
 *
 * A built-in only ever sees known, unpoisoned arguments unless its entry
 * sets MK_BI_SEES_UNKNOWN (see builtin.h); those few check for MK_V_UNKNOWN
 * themselves. A bad argument is reported once, as E0213, and the built-in
 * returns MK_V_ERRORV. Untrusted sizes are bounded: texts at MK_BI_MAX_TEXT,
 * lists at MK_BI_MAX_ITEMS, range() at RANGE_MAX, nesting at MK_BI_MAX_DEPTH.
 *
 * note [builtin names]: the C function behind the built-in `x` is bi_x
 * (mk_bi_x in builtin_enc.c), so a message takes the name the user wrote
 * from __func__ (the FN macro) instead of every call spelling it out. */
#include "compiler/front/builtin.h"

#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "compiler/base/buf.h"
#include "compiler/front/builtin_arg.h"
#include "compiler/front/builtin_enc.h"
#include "compiler/base/diag.h"
#include "compiler/base/mem.h"
#include "compiler/base/money.h"

#define FN (__func__ + 3)
#define WANT(i, k) mk_bi_want(c, args, (i), (k), FN)
#define WANT_INT(i, out) mk_bi_int(c, args, (i), (out), FN)

#define RANGE_MAX 1000000

/* ---- helpers of this file ---- */

static bool is_num(mk_vkind k) { return k == MK_V_INT || k == MK_V_NUMBER; }

#define K(k) (1u << (k))

/* Numbers are held in u.d; ints, sizes, durations and money (micro-dollars,
 * note [money]) in u.i. */
static bool held_in_i(const mk_value *v) { return v->kind != MK_V_NUMBER; }
static double num(const mk_value *v) { return v->kind == MK_V_NUMBER ? v->u.d : (double)v->u.i; }

/* Order two values of one kind (ints and numbers count as one). */
static int cmp_num(const mk_value *a, const mk_value *b)
{
    if (held_in_i(a) && held_in_i(b))
        return (a->u.i > b->u.i) - (a->u.i < b->u.i);
    return (num(a) > num(b)) - (num(a) < num(b));
}

/* The character at s (a stray byte counts as one character). */
static uint32_t u8step(const char *s, uint32_t n, uint32_t *cp)
{
    uint32_t len = mk_bi_u8next(s, n, cp);
    if (len)
        return len;
    *cp = (unsigned char)s[0];
    return 1;
}

static uint32_t u8count(const char *s, uint32_t n)
{
    uint32_t chars = 0, cp;
    for (uint32_t i = 0; i < n; i += u8step(s + i, n - i, &cp))
        chars++;
    return chars;
}

static void u8put(mk_buf *b, uint32_t cp)
{
    char s[4];
    if (cp < 0x80) {
        mk_buf_putc(b, (char)cp);
    } else if (cp < 0x800) {
        s[0] = (char)(0xC0 | cp >> 6), s[1] = (char)(0x80 | (cp & 0x3F));
        mk_buf_put(b, s, 2);
    } else if (cp < 0x10000) {
        s[0] = (char)(0xE0 | cp >> 12), s[1] = (char)(0x80 | (cp >> 6 & 0x3F)), s[2] = (char)(0x80 | (cp & 0x3F));
        mk_buf_put(b, s, 3);
    } else {
        s[0] = (char)(0xF0 | cp >> 18), s[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        s[2] = (char)(0x80 | (cp >> 6 & 0x3F)), s[3] = (char)(0x80 | (cp & 0x3F));
        mk_buf_put(b, s, 4);
    }
}

/* Text of a scalar for join, format and tostring. Secrets are revealed:
 * the evaluator taints the result (builtin.h). */
static bool scalar_text(const mk_value *v, mk_buf *b)
{
    return v->kind != MK_V_NULL && v->kind != MK_V_RESOURCE && mk_v_to_text(v, b, true);
}

/* ---- strings ---- */

/* note [case mapping]: letters outside ASCII are mapped with the C.UTF-8
 * locale's tables (full Unicode in glibc), independent of the user's locale
 * so that a plan does not depend on where it was made; without that locale
 * only ASCII letters change. */
static locale_t utf8_loc;
static void open_utf8_loc(void) { utf8_loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0); }

static locale_t utf8_locale(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, open_utf8_loc);
    return utf8_loc;
}

static uint32_t to_case(uint32_t cp, bool up)
{
    if (cp < 0x80)
        return up ? (cp >= 'a' && cp <= 'z' ? cp - 32 : cp) : (cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
    locale_t l = utf8_locale();
    if (!l)
        return cp;
    return (uint32_t)(up ? towupper_l((wint_t)cp, l) : towlower_l((wint_t)cp, l));
}

static bool is_space(uint32_t cp)
{
    if (cp < 0x80)
        return cp == ' ' || (cp >= '\t' && cp <= '\r');
    locale_t l = utf8_locale();
    return l && iswspace_l((wint_t)cp, l);
}

/* A word starts after a space or ASCII punctuation other than `_`. */
static bool word_sep(uint32_t cp)
{
    if (cp < 0x80)
        return !(cp == '_' || (cp >= '0' && cp <= '9') || ((cp | 32) >= 'a' && (cp | 32) <= 'z'));
    return is_space(cp);
}

enum recase { LOWER, UPPER, TITLE };

static mk_value *recase(mk_bictx *c, mk_value **args, enum recase how, const char *fn)
{
    if (!mk_bi_want(c, args, 0, MK_V_STRING, fn))
        return MK_V_ERRORV;
    const char *s = args[0]->u.s;
    uint32_t n = args[0]->n, cp;
    mk_buf b = {0};
    bool start = true;
    for (uint32_t i = 0, len; i < n; i += len) {
        len = mk_bi_u8next(s + i, n - i, &cp);
        if (!len) {
            mk_buf_putc(&b, s[i]);
            len = 1;
            continue;
        }
        u8put(&b, how == TITLE ? (start ? to_case(cp, true) : cp) : to_case(cp, how == UPPER));
        start = word_sep(cp);
    }
    return mk_bi_take(c, &b, fn);
}

static mk_value *bi_upper(mk_bictx *c, mk_value **args, int n) { (void)n; return recase(c, args, UPPER, FN); }
static mk_value *bi_lower(mk_bictx *c, mk_value **args, int n) { (void)n; return recase(c, args, LOWER, FN); }
static mk_value *bi_title(mk_bictx *c, mk_value **args, int n) { (void)n; return recase(c, args, TITLE, FN); }

static bool in_cutset(uint32_t cp, const mk_value *set)
{
    if (!set)
        return is_space(cp);
    uint32_t k;
    for (uint32_t i = 0; i < set->n;) {
        i += u8step(set->u.s + i, set->n - i, &k);
        if (k == cp)
            return true;
    }
    return false;
}

static mk_value *bi_trim(mk_bictx *c, mk_value **args, int n)
{
    if (!WANT(0, MK_V_STRING) || (n > 1 && !WANT(1, MK_V_STRING)))
        return MK_V_ERRORV;
    const mk_value *set = n > 1 ? args[1] : NULL;
    const char *s = args[0]->u.s;
    uint32_t len = args[0]->n, from = len, to = 0, cp;
    for (uint32_t i = 0, step; i < len; i += step) {
        step = u8step(s + i, len - i, &cp);
        if (in_cutset(cp, set))
            continue;
        if (from == len)
            from = i;
        to = i + step;
    }
    return from >= to ? mk_v_str(c->v, "", 0) : mk_v_str(c->v, s + from, to - from);
}

static bool has_prefix(const mk_value *s, const mk_value *p)
{
    return p->n <= s->n && memcmp(s->u.s, p->u.s, p->n) == 0;
}

static bool has_suffix(const mk_value *s, const mk_value *p)
{
    return p->n <= s->n && memcmp(s->u.s + s->n - p->n, p->u.s, p->n) == 0;
}

static mk_value *bi_trimprefix(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    if (!WANT(0, MK_V_STRING) || !WANT(1, MK_V_STRING))
        return MK_V_ERRORV;
    if (!has_prefix(args[0], args[1]))
        return args[0];
    return mk_v_str(c->v, args[0]->u.s + args[1]->n, args[0]->n - args[1]->n);
}

static mk_value *bi_trimsuffix(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    if (!WANT(0, MK_V_STRING) || !WANT(1, MK_V_STRING))
        return MK_V_ERRORV;
    if (!has_suffix(args[0], args[1]))
        return args[0];
    return mk_v_str(c->v, args[0]->u.s, args[0]->n - args[1]->n);
}

static mk_value *bi_startswith(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    if (!WANT(0, MK_V_STRING) || !WANT(1, MK_V_STRING))
        return MK_V_ERRORV;
    return mk_v_bool(has_prefix(args[0], args[1]));
}

static mk_value *bi_endswith(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    if (!WANT(0, MK_V_STRING) || !WANT(1, MK_V_STRING))
        return MK_V_ERRORV;
    return mk_v_bool(has_suffix(args[0], args[1]));
}

static mk_value *bi_replace(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    if (!WANT(0, MK_V_STRING) || !WANT(1, MK_V_STRING) || !WANT(2, MK_V_STRING))
        return MK_V_ERRORV;
    const mk_value *s = args[0], *old = args[1], *new = args[2];
    if (old->n == 0)
        return mk_bi_error(c, 1, "argument 2 of `replace` must not be empty");
    mk_buf b = {0};
    const char *p = s->u.s, *end = s->u.s + s->n, *hit;
    while ((hit = memmem(p, (size_t)(end - p), old->u.s, old->n)) && b.len <= MK_BI_MAX_TEXT) {
        mk_buf_put(&b, p, (size_t)(hit - p));
        mk_buf_put(&b, new->u.s, new->n);
        p = hit + old->n;
    }
    mk_buf_put(&b, p, (size_t)(end - p));
    return mk_bi_take(c, &b, FN);
}

/* split("", s) splits s into its characters. */
static mk_value *bi_split(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    if (!WANT(0, MK_V_STRING) || !WANT(1, MK_V_STRING))
        return MK_V_ERRORV;
    const mk_value *sep = args[0], *s = args[1];
    mk_vbuild vb = {0};
    const char *p = s->u.s, *end = s->u.s + s->n, *hit;
    uint32_t cp;
    while (p < end) {
        hit = sep->n ? memmem(p, (size_t)(end - p), sep->u.s, sep->n) : p + u8step(p, (uint32_t)(end - p), &cp);
        if (!hit)
            break;
        mk_vb_push(c->v, &vb, NULL, mk_v_str(c->v, p, (uint32_t)(hit - p)));
        p = hit + sep->n;
    }
    if (sep->n || s->n == 0)
        mk_vb_push(c->v, &vb, NULL, mk_v_str(c->v, p, (uint32_t)(end - p)));
    return mk_vb_list(c->v, &vb);
}

static mk_value *bi_join(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    if (!WANT(0, MK_V_STRING) || !WANT(1, MK_V_LIST))
        return MK_V_ERRORV;
    mk_buf b = {0};
    for (uint32_t i = 0; i < args[1]->n && b.len <= MK_BI_MAX_TEXT; i++) {
        if (i)
            mk_buf_put(&b, args[0]->u.s, args[0]->n);
        const mk_value *e = args[1]->u.items[i];
        if (!scalar_text(e, &b)) {
            mk_buf_free(&b);
            return mk_bi_error(c, 1, "element %" PRIu32 " of the list given to `join` is %s, not text",
                               i, mk_bi_kind_phrase(e->kind));
        }
    }
    return mk_bi_take(c, &b, FN);
}

/* %q: the text quoted, with escapes. */
static bool quoted(const mk_value *v, mk_buf *b)
{
    mk_buf t = {0};
    bool ok = scalar_text(v, &t);
    if (ok) {
        mk_buf_putc(b, '"');
        mk_buf_escape(b, t.data ? t.data : "", t.len);
        mk_buf_putc(b, '"');
    }
    mk_buf_free(&t);
    return ok;
}

/* %v: scalars as text, null as null, lists and maps in moksha syntax. */
static bool shown(const mk_value *v, mk_buf *b)
{
    if (v->kind == MK_V_NULL) {
        mk_buf_puts(b, "null");
        return true;
    }
    if (v->kind != MK_V_LIST && v->kind != MK_V_MAP)
        return scalar_text(v, b);
    if (!mk_bi_fits(v))
        return false;
    mk_v_show(v, b, true);
    return true;
}

/* format: value j by one verb. Returns false after reporting. */
static bool format_verb(mk_bictx *c, char verb, mk_value **args, int j, mk_buf *b)
{
    const mk_value *v = args[j];
    bool many = v->kind == MK_V_LIST || v->kind == MK_V_MAP, ok;
    int64_t i;
    switch (verb) {
    case 'd':
        ok = v->kind == MK_V_INT || (v->kind == MK_V_NUMBER && mk_bi_whole(v->u.d, &i));
        if (ok)
            mk_buf_printf(b, "%" PRId64, v->kind == MK_V_INT ? v->u.i : i);
        break;
    case 'v': ok = shown(v, b); break;
    case 'q': ok = quoted(v, b); break;
    default: ok = scalar_text(v, b); break;
    }
    if (!ok && verb == 'd')
        mk_bi_error(c, j, "`%%d` in the format wants an int, found %s", mk_bi_show(c, v));
    else if (!ok)
        mk_bi_error(c, j, "`%%%c` in the format cannot show %s%s", verb, mk_bi_kind_phrase(v->kind),
                    !many ? "" : verb == 'v' ? " this large" : "; use %v or jsonencode");
    return ok;
}

static mk_value *bi_format(mk_bictx *c, mk_value **args, int n)
{
    if (!WANT(0, MK_V_STRING))
        return MK_V_ERRORV;
    const char *f = args[0]->u.s;
    uint32_t len = args[0]->n;
    int next = 1;
    mk_buf b = {0};
    for (uint32_t i = 0; i < len && b.len <= MK_BI_MAX_TEXT; i++) {
        if (f[i] != '%') {
            mk_buf_putc(&b, f[i]);
            continue;
        }
        char verb = ++i < len ? f[i] : 0;
        if (verb == '%') {
            mk_buf_putc(&b, '%');
            continue;
        }
        const char *bad = !verb || !strchr("sdvq", verb) ? "an unknown verb; use %s %d %v %q or %%"
                        : next >= n ? "more verbs than values" : NULL;
        if (bad || !format_verb(c, verb, args, next++, &b)) {
            mk_buf_free(&b);
            return bad ? mk_bi_error(c, 0, "the format of `format` has %s", bad) : MK_V_ERRORV;
        }
    }
    if (next < n) {
        mk_buf_free(&b);
        return mk_bi_error(c, next, "`format` was given %d values but its format uses %d", n - 1, next - 1);
    }
    return mk_bi_take(c, &b, FN);
}

/* Byte offset of character k of s (n when k reaches the end). */
static uint32_t char_offset(const char *s, uint32_t n, uint32_t k)
{
    uint32_t i = 0, cp;
    while (k-- > 0 && i < n)
        i += u8step(s + i, n - i, &cp);
    return i;
}

/* substr(s, offset, length): offset < 0 counts from the end; length -1
 * means the rest; a length past the end stops at the end. */
static mk_value *bi_substr(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    int64_t off, len;
    if (!WANT(0, MK_V_STRING) || !WANT_INT(1, &off) || !WANT_INT(2, &len))
        return MK_V_ERRORV;
    int64_t chars = u8count(args[0]->u.s, args[0]->n);
    if (off < 0)
        off += chars;
    if (off < 0 || off > chars)
        return mk_bi_error(c, 1, "offset %s of `substr` is outside the string", mk_bi_show(c, args[1]));
    if (len < -1)
        return mk_bi_error(c, 2, "length of `substr` must be -1 (the rest) or more, found %s", mk_bi_show(c, args[2]));
    if (len == -1 || len > chars - off)
        len = chars - off;
    const char *s = args[0]->u.s;
    uint32_t from = char_offset(s, args[0]->n, (uint32_t)off);
    uint32_t bytes = char_offset(s + from, args[0]->n - from, (uint32_t)len);
    return mk_v_str(c->v, s + from, bytes);
}

/* ---- collections ---- */

static mk_value *bi_length(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    mk_value *v = args[0];
    if (!mk_bi_want_mask(c, args, 0, K(MK_V_STRING) | K(MK_V_LIST) | K(MK_V_MAP), "a string, list or map", FN))
        return MK_V_ERRORV;
    if (v->kind == MK_V_UNKNOWN)
        return mk_v_unknown(c->v, MK_V_INT);
    return mk_v_int(c->v, v->kind == MK_V_STRING ? u8count(v->u.s, v->n) : v->n);
}

typedef struct keyed {
    mk_name key;
    uint32_t i;
} keyed;

static int cmp_keyed(const void *a, const void *b) { return strcmp(((const keyed *)a)->key, ((const keyed *)b)->key); }

/* The entries of map m in key order. */
static keyed *key_order(mk_bictx *c, const mk_value *m)
{
    keyed *k = mk_arena_alloc(c->v->arena, (m->n + 1) * sizeof *k);
    for (uint32_t i = 0; i < m->n; i++)
        k[i] = (keyed){m->u.map.keys[i], i};
    qsort(k, m->n, sizeof *k, cmp_keyed);
    return k;
}

static mk_value *bi_keys(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    if (!WANT(0, MK_V_MAP))
        return MK_V_ERRORV;
    if (args[0]->kind == MK_V_UNKNOWN)
        return mk_v_unknown(c->v, MK_V_LIST);
    keyed *k = key_order(c, args[0]);
    mk_value *r = mk_v_list(c->v, args[0]->n);
    for (uint32_t i = 0; i < r->n; i++)
        r->u.items[i] = mk_v_cstr(c->v, k[i].key);
    return r;
}

static mk_value *bi_values(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    if (!WANT(0, MK_V_MAP))
        return MK_V_ERRORV;
    keyed *k = key_order(c, args[0]);
    mk_value *r = mk_v_list(c->v, args[0]->n);
    for (uint32_t i = 0; i < r->n; i++)
        r->u.items[i] = args[0]->u.map.vals[k[i].i];
    return r;
}

static mk_value *too_many_items(mk_bictx *c, const char *fn)
{
    return mk_bi_error(c, -1, "the result of `%s` would have more than %d elements", fn, MK_BI_MAX_ITEMS);
}

static mk_value *bi_concat(mk_bictx *c, mk_value **args, int n)
{
    uint64_t total = 0;
    bool unknown = false;
    for (int i = 0; i < n; i++) {
        if (!WANT(i, MK_V_LIST))
            return MK_V_ERRORV;
        unknown |= args[i]->kind == MK_V_UNKNOWN;
        total += args[i]->n;
    }
    if (unknown)
        return mk_v_unknown(c->v, MK_V_LIST);
    if (total > MK_BI_MAX_ITEMS)
        return too_many_items(c, FN);
    mk_value *r = mk_v_list(c->v, (uint32_t)total);
    uint32_t at = 0;
    for (int i = 0; i < n; i++) {
        memcpy(r->u.items + at, args[i]->u.items, args[i]->n * sizeof(mk_value *));
        at += args[i]->n;
    }
    return r;
}

/* An unknown element that may be a list leaves flatten's result unknown. */
enum flat { FLAT_OK, FLAT_UNKNOWN, FLAT_BIG };

static enum flat flatten_into(mk_vctx *v, mk_vbuild *vb, const mk_value *list, int depth)
{
    if (depth > MK_BI_MAX_DEPTH)
        return FLAT_BIG;
    for (uint32_t i = 0; i < list->n; i++) {
        mk_value *e = list->u.items[i];
        if (e->kind == MK_V_UNKNOWN && (e->want == MK_V_LIST || e->want == MK_V_ANY))
            return FLAT_UNKNOWN;
        enum flat r = e->kind == MK_V_LIST ? flatten_into(v, vb, e, depth + 1) : FLAT_OK;
        if (r != FLAT_OK)
            return r;
        if (e->kind == MK_V_LIST)
            continue;
        if (vb->n >= MK_BI_MAX_ITEMS)
            return FLAT_BIG;
        mk_vb_push(v, vb, NULL, e);
    }
    return FLAT_OK;
}

static mk_value *bi_flatten(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    if (!WANT(0, MK_V_LIST))
        return MK_V_ERRORV;
    if (args[0]->kind == MK_V_UNKNOWN)
        return mk_v_unknown(c->v, MK_V_LIST);
    mk_vbuild vb = {0};
    switch (flatten_into(c->v, &vb, args[0], 0)) {
    case FLAT_UNKNOWN: return mk_v_unknown(c->v, MK_V_LIST);
    case FLAT_BIG: return too_many_items(c, FN);
    default: return mk_vb_list(c->v, &vb);
    }
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint64_t double_bits(double d)
{
    uint64_t u;
    d = d == 0 ? 0 : d; /* -0 equals 0 */
    memcpy(&u, &d, sizeof u);
    return u;
}

static uint64_t scalar_hash(const mk_value *v)
{
    uint64_t h = mix(v->kind == MK_V_INT ? MK_V_NUMBER : v->kind);
    switch (v->kind) {
    case MK_V_BOOL: return mix(h ^ v->u.b);
    case MK_V_INT: return mix(h ^ double_bits((double)v->u.i));
    case MK_V_NUMBER: return mix(h ^ double_bits(v->u.d));
    case MK_V_SIZE: case MK_V_DURATION: case MK_V_MONEY: return mix(h ^ (uint64_t)v->u.i);
    case MK_V_STRING: return mix(h ^ mk_intern_hash(v->u.s, v->n));
    case MK_V_RESOURCE: return mix(h ^ (uintptr_t)v->u.res);
    default: return mix(h ^ v->n);
    }
}

/* Values that are equal (mk_v_equal) hash alike: an int as the number it
 * equals, a map whatever its key order. Only one level of a list or map
 * counts, and only its first entries, so that shared structure cannot make
 * hashing exponential; equality settles the rest. */
static uint64_t value_hash(const mk_value *v)
{
    enum { WIDTH = 16 };
    uint64_t h = scalar_hash(v), sum = 0;
    if (v->kind == MK_V_LIST)
        for (uint32_t i = 0; i < v->n && i < WIDTH; i++)
            h = mix(h ^ scalar_hash(v->u.items[i]));
    if (v->kind == MK_V_MAP && v->n <= WIDTH) {
        for (uint32_t i = 0; i < v->n; i++)
            sum += mix(mk_intern_hash(v->u.map.keys[i], strlen(v->u.map.keys[i])) ^ scalar_hash(v->u.map.vals[i]));
        h = mix(h ^ sum);
    }
    return h;
}

/* First occurrences, in order, found through an open-addressing table of
 * indices into the result. */
static mk_value *bi_distinct(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    if (!WANT(0, MK_V_LIST))
        return MK_V_ERRORV;
    const mk_value *l = args[0];
    size_t cap = 16;
    while (cap < (size_t)l->n * 2)
        cap *= 2;
    uint32_t *slot = mk_mem_calloc(cap, sizeof *slot); /* index + 1; 0 is empty */
    mk_value *r = mk_v_list(c->v, l->n);
    r->n = 0;
    for (uint32_t i = 0; i < l->n; i++) {
        mk_value *e = l->u.items[i];
        size_t s = value_hash(e) & (cap - 1);
        while (slot[s] && !mk_v_equal(r->u.items[slot[s] - 1], e))
            s = (s + 1) & (cap - 1);
        if (!slot[s]) {
            r->u.items[r->n++] = e;
            slot[s] = r->n;
        }
    }
    mk_mem_free(slot);
    return r;
}

typedef struct sorted {
    const mk_value *v;
    uint32_t i;
} sorted;

static int cmp_sorted(const void *pa, const void *pb)
{
    const mk_value *a = ((const sorted *)pa)->v, *b = ((const sorted *)pb)->v;
    int r;
    if (a->kind == MK_V_STRING) {
        r = memcmp(a->u.s, b->u.s, a->n < b->n ? a->n : b->n);
        r = r ? r : (a->n > b->n) - (a->n < b->n);
    } else {
        r = cmp_num(a, b);
    }
    uint32_t ia = ((const sorted *)pa)->i, ib = ((const sorted *)pb)->i;
    return r ? r : (ia > ib) - (ia < ib);
}

/* Every element of list l has the same kind as the first (ints and numbers
 * count as one); `ok` says which kinds are wanted at all. */
static bool same_kinds(mk_bictx *c, const mk_value *l, int arg, unsigned ok, const char *fn)
{
    for (uint32_t i = 0; i < l->n; i++) {
        mk_vkind k = l->u.items[i]->kind, k0 = l->u.items[0]->kind;
        if (!(ok & K(k))) {
            mk_bi_error(c, arg, "`%s` cannot order %s (element %" PRIu32 ")", fn, mk_bi_kind_phrase(k), i);
            return false;
        }
        if (k != k0 && !(is_num(k) && is_num(k0))) {
            mk_bi_error(c, arg, "`%s` cannot mix %s and %s (elements 0 and %" PRIu32 ")", fn,
                        mk_v_kind_name(k0), mk_v_kind_name(k), i);
            return false;
        }
    }
    return true;
}

static mk_value *bi_sort(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    unsigned ok = K(MK_V_STRING) | K(MK_V_INT) | K(MK_V_NUMBER) | K(MK_V_SIZE) | K(MK_V_DURATION) | K(MK_V_MONEY);
    if (!WANT(0, MK_V_LIST) || !same_kinds(c, args[0], 0, ok, FN))
        return MK_V_ERRORV;
    const mk_value *l = args[0];
    sorted *s = mk_mem_calloc(l->n + 1, sizeof *s);
    for (uint32_t i = 0; i < l->n; i++)
        s[i] = (sorted){l->u.items[i], i};
    qsort(s, l->n, sizeof *s, cmp_sorted);
    mk_value *r = mk_v_list(c->v, l->n);
    for (uint32_t i = 0; i < l->n; i++)
        r->u.items[i] = (mk_value *)s[i].v;
    mk_mem_free(s);
    return r;
}

static mk_value *bi_reverse(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    if (!WANT(0, MK_V_LIST))
        return MK_V_ERRORV;
    mk_value *r = mk_v_list(c->v, args[0]->n);
    for (uint32_t i = 0; i < r->n; i++)
        r->u.items[i] = args[0]->u.items[r->n - 1 - i];
    return r;
}

/* The value of map m under the key spelt by string s, or NULL. */
static mk_value *map_find(const mk_value *m, const mk_value *s)
{
    for (uint32_t i = 0; i < m->n; i++)
        if (strncmp(m->u.map.keys[i], s->u.s, s->n) == 0 && m->u.map.keys[i][s->n] == 0)
            return m->u.map.vals[i];
    return NULL;
}

static mk_value *bi_contains(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    const mk_value *x = args[0], *v = args[1];
    if (!mk_bi_want_mask(c, args, 0, K(MK_V_LIST) | K(MK_V_STRING) | K(MK_V_MAP), "a list, string or map", FN))
        return MK_V_ERRORV;
    if (x->kind == MK_V_LIST) {
        for (uint32_t i = 0; i < x->n; i++)
            if (mk_v_equal(x->u.items[i], v))
                return mk_v_bool(true);
        return mk_v_bool(false);
    }
    if (!WANT(1, MK_V_STRING))
        return MK_V_ERRORV;
    if (x->kind == MK_V_STRING)
        return mk_v_bool(memmem(x->u.s, x->n, v->u.s, v->n) != NULL);
    return mk_v_bool(map_find(x, v) != NULL);
}

static mk_value *bi_index(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    if (!WANT(0, MK_V_LIST))
        return MK_V_ERRORV;
    for (uint32_t i = 0; i < args[0]->n; i++)
        if (mk_v_equal(args[0]->u.items[i], args[1]))
            return mk_v_int(c->v, i);
    return mk_bi_error(c, 1, "argument 2 of `index` is not in the list");
}

static mk_value *bi_lookup(mk_bictx *c, mk_value **args, int n)
{
    if (!WANT(0, MK_V_MAP) || !WANT(1, MK_V_STRING))
        return MK_V_ERRORV;
    mk_value *v = map_find(args[0], args[1]);
    if (v)
        return v;
    if (n > 2)
        return args[2];
    return mk_bi_error(c, 1, "the map has no key %s and `lookup` was given no default", mk_bi_show(c, args[1]));
}

static mk_value *bi_merge(mk_bictx *c, mk_value **args, int n)
{
    bool unknown = false;
    for (int i = 0; i < n; i++) {
        if (!WANT(i, MK_V_MAP))
            return MK_V_ERRORV;
        unknown |= args[i]->kind == MK_V_UNKNOWN;
    }
    if (unknown)
        return mk_v_unknown(c->v, MK_V_MAP);
    mk_vbuild vb = {0};
    for (int i = 0; i < n; i++)
        for (uint32_t j = 0; j < args[i]->n; j++)
            mk_vb_push(c->v, &vb, args[i]->u.map.keys[j], args[i]->u.map.vals[j]);
    return mk_vb_map(c->v, &vb);
}

/* range(n) counts 0, 1, … up to n (down when n < 0); range(a, b[, step])
 * from a up (or down) to b, excluded. */
static mk_value *bi_range(mk_bictx *c, mk_value **args, int n)
{
    int64_t a[3];
    for (int i = 0; i < n; i++)
        if (!WANT_INT(i, &a[i]))
            return MK_V_ERRORV;
    int64_t from = n > 1 ? a[0] : 0, to = n > 1 ? a[1] : a[0];
    int64_t step = n > 2 ? a[2] : to < from ? -1 : 1;
    if (step == 0 || (step > 0 && to < from) || (step < 0 && to > from)) /* only a given step can */
        return mk_bi_error(c, 2, "a step of %s never gets from %s to %s", mk_bi_show(c, args[2]),
                           mk_bi_show(c, args[0]), mk_bi_show(c, args[1]));
    uint64_t span = step > 0 ? (uint64_t)to - (uint64_t)from : (uint64_t)from - (uint64_t)to;
    uint64_t mag = step > 0 ? (uint64_t)step : -(uint64_t)step;
    uint64_t count = span / mag + (span % mag != 0);
    if (count > RANGE_MAX)
        return mk_bi_error(c, -1, "`range` would make more than %d numbers", RANGE_MAX);
    mk_value *r = mk_v_list(c->v, (uint32_t)count);
    for (uint32_t i = 0; i < count; i++)
        r->u.items[i] = mk_v_int(c->v, (int64_t)((uint64_t)from + i * (uint64_t)step)); /* stays in from..to */
    return r;
}

/* element(list, i) wraps around, both ways. */
static mk_value *bi_element(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    int64_t i;
    if (!WANT(0, MK_V_LIST) || !WANT_INT(1, &i))
        return MK_V_ERRORV;
    if (args[0]->n == 0)
        return mk_bi_error(c, 0, "`element` cannot pick from an empty list");
    int64_t len = args[0]->n;
    return args[0]->u.items[(i % len + len) % len];
}

static mk_value *bi_slice(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    int64_t from, to;
    if (!WANT(0, MK_V_LIST) || !WANT_INT(1, &from) || !WANT_INT(2, &to))
        return MK_V_ERRORV;
    int64_t len = args[0]->n;
    if (from < 0 || from > len)
        return mk_bi_error(c, 1, "`slice` start %s is outside the list", mk_bi_show(c, args[1]));
    if (to < from || to > len)
        return mk_bi_error(c, 2, "`slice` end %s is %s", mk_bi_show(c, args[2]),
                           to < from ? "before the start" : "past the end of the list");
    mk_value *r = mk_v_list(c->v, (uint32_t)(to - from));
    memcpy(r->u.items, args[0]->u.items + from, r->n * sizeof(mk_value *));
    return r;
}

static mk_value *bi_zipmap(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    if (!WANT(0, MK_V_LIST) || !WANT(1, MK_V_LIST))
        return MK_V_ERRORV;
    const mk_value *k = args[0], *v = args[1];
    if (k->n != v->n)
        return mk_bi_error(c, -1, "`zipmap` needs exactly one value for each key");
    mk_vbuild vb = {0};
    for (uint32_t i = 0; i < k->n; i++) {
        const mk_value *key = k->u.items[i];
        if (key->kind != MK_V_STRING)
            return mk_bi_error(c, 0, "key %" PRIu32 " given to `zipmap` is %s, not a string", i,
                               mk_bi_kind_phrase(key->kind));
        mk_vb_push(c->v, &vb, mk_intern_n(c->v->names, key->u.s, key->n), v->u.items[i]);
    }
    return mk_vb_map(c->v, &vb);
}

/* compact drops null and "", so an unknown that may be either leaves the
 * result unknown. */
static mk_value *bi_compact(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    if (!WANT(0, MK_V_LIST))
        return MK_V_ERRORV;
    if (args[0]->kind == MK_V_UNKNOWN)
        return mk_v_unknown(c->v, MK_V_LIST);
    mk_vbuild vb = {0};
    for (uint32_t i = 0; i < args[0]->n; i++) {
        mk_value *e = args[0]->u.items[i];
        uint8_t k = e->kind == MK_V_UNKNOWN ? e->want : e->kind;
        if (e->kind == MK_V_UNKNOWN && (k == MK_V_ANY || k == MK_V_STRING || k == MK_V_NULL))
            return mk_v_unknown(c->v, MK_V_LIST);
        if (k != MK_V_NULL && !(k == MK_V_STRING && e->n == 0))
            mk_vb_push(c->v, &vb, NULL, e);
    }
    return mk_vb_list(c->v, &vb);
}

/* ---- numbers ---- */

/* The operands of min and max: the arguments, or the elements of a single
 * list argument. */
static mk_value **operands(mk_value **args, int n, uint32_t *count)
{
    if (n == 1 && args[0]->kind == MK_V_LIST) {
        *count = args[0]->n;
        return args[0]->u.items;
    }
    *count = (uint32_t)n;
    return args;
}

/* All of v[0..count) are numbers, or all sizes, all durations or all money. */
static bool one_kind(mk_bictx *c, mk_value **v, uint32_t count, bool listed, const char *fn)
{
    unsigned ok = K(MK_V_INT) | K(MK_V_NUMBER) | K(MK_V_SIZE) | K(MK_V_DURATION) | K(MK_V_MONEY);
    for (uint32_t i = 0; i < count; i++) {
        mk_vkind k = v[i]->kind, k0 = v[0]->kind;
        int at = listed ? 0 : (int)i;
        if (!(ok & K(k)))
            mk_bi_error(c, at, "`%s` works on numbers, sizes, durations or money, not %s", fn, mk_bi_kind_phrase(k));
        else if (k != k0 && !(is_num(k) && is_num(k0)))
            mk_bi_error(c, at, "`%s` cannot mix %s and %s", fn, mk_v_kind_name(k0), mk_v_kind_name(k));
        else
            continue;
        return false;
    }
    return true;
}

static mk_value *extreme(mk_bictx *c, mk_value **args, int n, bool max, const char *fn)
{
    uint32_t count;
    mk_value **v = operands(args, n, &count);
    if (count == 0)
        return mk_bi_error(c, 0, "`%s` of an empty list", fn);
    if (!one_kind(c, v, count, v != args, fn))
        return MK_V_ERRORV;
    uint32_t best = 0;
    bool ints = true;
    for (uint32_t i = 0; i < count; i++) {
        ints &= v[i]->kind == MK_V_INT;
        if (cmp_num(v[i], v[best]) == (max ? 1 : -1))
            best = i;
    }
    if (is_num(v[0]->kind) && !ints)
        return mk_v_number(c->v, num(v[best]));
    return v[best];
}

static mk_value *bi_min(mk_bictx *c, mk_value **args, int n) { return extreme(c, args, n, false, FN); }
static mk_value *bi_max(mk_bictx *c, mk_value **args, int n) { return extreme(c, args, n, true, FN); }

static mk_value *overflow(mk_bictx *c, const char *fn) { return mk_bi_error(c, -1, "integer overflow in `%s`", fn); }

static mk_value *bi_abs(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    mk_value *v = args[0];
    unsigned ok = K(MK_V_INT) | K(MK_V_NUMBER) | K(MK_V_SIZE) | K(MK_V_DURATION) | K(MK_V_MONEY);
    if (!mk_bi_want_mask(c, args, 0, ok, "a number, size, duration or money", FN))
        return MK_V_ERRORV;
    if (v->kind == MK_V_NUMBER)
        return v->u.d >= 0 ? v : mk_v_number(c->v, -v->u.d);
    if (v->u.i >= 0)
        return v;
    if (v->u.i == INT64_MIN)
        return overflow(c, FN);
    return v->kind == MK_V_INT ? mk_v_int(c->v, -v->u.i) : mk_v_unit(c->v, (mk_vkind)v->kind, -v->u.i);
}

/* ceil, floor and round give ints; a number too large for one is an error. */
static mk_value *to_whole(mk_bictx *c, mk_value **args, double (*f)(double), const char *fn)
{
    if (!mk_bi_want(c, args, 0, MK_V_NUMBER, fn))
        return MK_V_ERRORV;
    if (args[0]->kind == MK_V_INT)
        return args[0];
    int64_t i;
    if (!mk_bi_whole(f(args[0]->u.d), &i))
        return mk_bi_error(c, 0, "`%s(%s)` does not fit in an int", fn, mk_bi_show(c, args[0]));
    return mk_v_int(c->v, i);
}

static mk_value *bi_ceil(mk_bictx *c, mk_value **args, int n) { (void)n; return to_whole(c, args, ceil, FN); }
static mk_value *bi_floor(mk_bictx *c, mk_value **args, int n) { (void)n; return to_whole(c, args, floor, FN); }
/* Halves round away from zero. */
static mk_value *bi_round(mk_bictx *c, mk_value **args, int n) { (void)n; return to_whole(c, args, round, FN); }

/* sum of numbers (an int when all are ints), or of sizes, durations or money
 * of one kind; the sum of nothing is 0. */
static mk_value *bi_sum(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    if (!WANT(0, MK_V_LIST) || !one_kind(c, args[0]->u.items, args[0]->n, true, FN))
        return MK_V_ERRORV;
    const mk_value *l = args[0];
    mk_vkind k = l->n ? (mk_vkind)l->u.items[0]->kind : MK_V_INT;
    int64_t i = 0;
    double d = 0;
    for (uint32_t j = 0; j < l->n; j++) {
        const mk_value *e = l->u.items[j];
        k = e->kind == MK_V_NUMBER ? MK_V_NUMBER : k;
        if (!held_in_i(e))
            d += e->u.d;
        else if (__builtin_add_overflow(i, e->u.i, &i))
            return overflow(c, FN);
    }
    switch (k) {
    case MK_V_INT: return mk_v_int(c->v, i);
    case MK_V_NUMBER:
        return isfinite(d + (double)i) ? mk_v_number(c->v, d + (double)i)
                                       : mk_bi_error(c, -1, "the result of `%s` is beyond the range of a number", FN);
    default: return mk_v_unit(c->v, k, i); /* sizes, durations, money: exact */
    }
}

static mk_value *bi_tostring(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    if (args[0]->kind == MK_V_NULL || args[0]->kind == MK_V_STRING)
        return args[0];
    mk_buf b = {0};
    if (!scalar_text(args[0], &b)) {
        mk_buf_free(&b);
        return mk_bi_error(c, 0, "`tostring` cannot turn %s into text; use jsonencode", mk_bi_kind_phrase(args[0]->kind));
    }
    return mk_bi_take(c, &b, FN);
}

/* Is s short and made only of characters in set? */
static bool short_of(const mk_value *s, const char *set, size_t max)
{
    if (s->n == 0 || s->n >= max)
        return false;
    for (uint32_t i = 0; i < s->n; i++)
        if (!s->u.s[i] || !strchr(set, s->u.s[i]))
            return false;
    return true;
}

/* Decimal notation only: no hex, inf, nan or surrounding space. */
static bool parse_number(const mk_value *s, double *out)
{
    char buf[64];
    if (!short_of(s, "+-0123456789.eE", sizeof buf))
        return false;
    memcpy(buf, s->u.s, s->n);
    buf[s->n] = 0;
    char *end;
    *out = strtod(buf, &end);
    return *end == 0 && isfinite(*out);
}

static mk_value *bi_tonumber(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    double d;
    unsigned ok = K(MK_V_STRING) | K(MK_V_INT) | K(MK_V_NUMBER);
    if (!mk_bi_want_mask(c, args, 0, ok, "a string or a number", FN))
        return MK_V_ERRORV;
    if (args[0]->kind != MK_V_STRING)
        return mk_v_number(c->v, num(args[0]));
    if (!parse_number(args[0], &d))
        return mk_bi_error(c, 0, "%s is not a number", mk_bi_show(c, args[0]));
    return mk_v_number(c->v, d);
}

/* Digits are read exactly (beyond 2^53 too); "4.0" and "4e3" pass as whole. */
static bool parse_int(const mk_value *s, int64_t *out)
{
    char buf[64], *end;
    double d;
    if (!short_of(s, "+-0123456789", sizeof buf))
        return parse_number(s, &d) && mk_bi_whole(d, out);
    memcpy(buf, s->u.s, s->n);
    buf[s->n] = 0;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    *out = v;
    return *end == 0 && errno == 0 && end != buf;
}

static mk_value *bi_toint(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    int64_t i;
    unsigned ok = K(MK_V_STRING) | K(MK_V_INT) | K(MK_V_NUMBER);
    if (!mk_bi_want_mask(c, args, 0, ok, "a string or a number", FN))
        return MK_V_ERRORV;
    if (args[0]->kind == MK_V_INT)
        return args[0];
    if (args[0]->kind == MK_V_NUMBER ? mk_bi_whole(args[0]->u.d, &i) : parse_int(args[0], &i))
        return mk_v_int(c->v, i);
    return mk_bi_error(c, 0, "%s is not a whole number that fits in an int%s", mk_bi_show(c, args[0]),
                       args[0]->kind == MK_V_NUMBER ? "; use floor, ceil or round" : "");
}

/* ---- units ---- */

static mk_value *bi_bytes(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    return WANT(0, MK_V_SIZE) ? mk_v_int(c->v, args[0]->u.i) : MK_V_ERRORV;
}

static mk_value *bi_gib(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    return WANT(0, MK_V_SIZE) ? mk_v_number(c->v, (double)args[0]->u.i / 1073741824.0) : MK_V_ERRORV;
}

static mk_value *bi_mib(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    return WANT(0, MK_V_SIZE) ? mk_v_number(c->v, (double)args[0]->u.i / 1048576.0) : MK_V_ERRORV;
}

static mk_value *bi_seconds(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    return WANT(0, MK_V_DURATION) ? mk_v_number(c->v, (double)args[0]->u.i / 1000.0) : MK_V_ERRORV;
}

typedef struct unit {
    const char *name;
    int64_t scale;
} unit;

static const unit SIZE_UNITS[] = {
    {"B", 1}, {"KB", 1000}, {"MB", 1000000}, {"GB", 1000000000}, {"TB", 1000000000000},
    {"KiB", 1024}, {"MiB", 1048576}, {"GiB", 1073741824}, {"TiB", 1099511627776}, {NULL, 0},
};
static const unit DURATION_UNITS[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}, {NULL, 0},
};

/* n (args[0]) times the unit named by args[1], as a whole, non-negative
 * count of bytes or milliseconds. */
static mk_value *with_unit(mk_bictx *c, mk_value **args, mk_vkind k, const unit *units, const char *fn)
{
    if (!mk_bi_want(c, args, 0, MK_V_NUMBER, fn) || !mk_bi_want(c, args, 1, MK_V_STRING, fn))
        return MK_V_ERRORV;
    const unit *u = units;
    while (u->name && !(strlen(u->name) == args[1]->n && memcmp(u->name, args[1]->u.s, args[1]->n) == 0))
        u++;
    if (!u->name)
        return mk_bi_error(c, 1, "unknown unit %s; `%s` knows %s", mk_bi_show(c, args[1]), fn,
                           k == MK_V_SIZE ? "B KB MB GB TB KiB MiB GiB TiB" : "ms s m h d");
    if (num(args[0]) < 0)
        return mk_bi_error(c, 0, "a %s cannot be negative", mk_v_kind_name(k));
    int64_t r;
    double d = num(args[0]) * (double)u->scale;
    /* the tolerance lets 0.3s through: 0.3 * 1000 is 299.99999999999994 */
    bool ok = args[0]->kind == MK_V_INT ? !__builtin_mul_overflow(args[0]->u.i, u->scale, &r)
                                        : fabs(d - round(d)) < 1e-6 && mk_bi_whole(round(d), &r);
    if (!ok)
        return mk_bi_error(c, 0, "%s %s is not a whole number of %s or is too large", mk_bi_show(c, args[0]), u->name,
                           k == MK_V_SIZE ? "bytes" : "milliseconds");
    return mk_v_unit(c->v, k, r);
}

static mk_value *bi_size(mk_bictx *c, mk_value **args, int n) { (void)n; return with_unit(c, args, MK_V_SIZE, SIZE_UNITS, FN); }

static mk_value *bi_duration(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    return with_unit(c, args, MK_V_DURATION, DURATION_UNITS, FN);
}

static mk_value *bi_usd(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    mk_money m;
    if (!WANT(0, MK_V_NUMBER))
        return MK_V_ERRORV;
    if (!mk_money_from_usd(num(args[0]), &m)) /* rounded to the micro-dollar (note [money]) */
        return overflow(c, FN);
    return mk_v_money(c->v, m);
}

/* sensitive sees unknowns so that a value known only after apply is still
 * marked secret (the evaluator would otherwise return a plain unknown). */
static mk_value *bi_sensitive(mk_bictx *c, mk_value **args, int n)
{
    (void)n;
    return mk_v_with_flags(c->v, args[0], MK_VF_SECRET);
}

/* ---- the table ---- */

#define SEES MK_BI_SEES_UNKNOWN
#define ENC(f) mk_bi_##f

/* Sorted by name for bsearch (a unit test checks the order). */
static const mk_builtin TABLE[] = {
    {"abs", 1, 1, MK_V_ANY, 0, bi_abs, "abs(x: number|size|duration|money) -> same kind",
     "The absolute value of x."},
    {"base64decode", 1, 1, MK_V_STRING, 0, ENC(base64decode), "base64decode(s: string) -> string",
     "Decodes standard base64 (with padding); the bytes must be UTF-8 text."},
    {"base64encode", 1, 1, MK_V_STRING, 0, ENC(base64encode), "base64encode(s: string) -> string",
     "Encodes the bytes of s as standard base64 with padding."},
    {"base64sha256", 1, 1, MK_V_STRING, 0, ENC(base64sha256), "base64sha256(s: string) -> string",
     "The SHA-256 digest of s, base64-encoded."},
    {"bytes", 1, 1, MK_V_INT, 0, bi_bytes, "bytes(x: size) -> int", "The number of bytes in a size: bytes(1KiB) is 1024."},
    {"ceil", 1, 1, MK_V_INT, 0, bi_ceil, "ceil(x: number) -> int", "The smallest int not less than x."},
    {"cidrcontains", 2, 2, MK_V_BOOL, 0, ENC(cidrcontains), "cidrcontains(prefix: string, address: string) -> bool",
     "Whether an IPv4 or IPv6 address (or a whole prefix) lies inside prefix."},
    {"cidrhost", 2, 2, MK_V_STRING, 0, ENC(cidrhost), "cidrhost(prefix: string, hostnum: int) -> string",
     "The address of host number hostnum in prefix; a negative hostnum counts back from the last address."},
    {"cidrnetmask", 1, 1, MK_V_STRING, 0, ENC(cidrnetmask), "cidrnetmask(prefix: string) -> string",
     "The netmask of an IPv4 prefix in dotted form: cidrnetmask(\"10.0.0.0/16\") is \"255.255.0.0\"."},
    {"cidrsubnet", 3, 3, MK_V_STRING, 0, ENC(cidrsubnet), "cidrsubnet(prefix: string, newbits: int, netnum: int) -> string",
     "Subnet number netnum of prefix, newbits longer: cidrsubnet(\"10.0.0.0/16\", 8, 2) is \"10.0.2.0/24\"."},
    {"cidrvalid", 1, 1, MK_V_BOOL, 0, ENC(cidrvalid), "cidrvalid(s: string) -> bool",
     "Whether s is an IPv4 or IPv6 address or a prefix like \"10.0.0.0/16\", with nothing around it."},
    {"compact", 1, 1, MK_V_LIST, SEES, bi_compact, "compact(list: list) -> list",
     "The list without its null and \"\" elements."},
    {"concat", 1, -1, MK_V_LIST, SEES, bi_concat, "concat(lists: list...) -> list", "The lists joined end to end."},
    {"contains", 2, 2, MK_V_BOOL, 0, bi_contains, "contains(x: list|string|map, value: any) -> bool",
     "Whether a list has an element equal to value, a string has value as a substring, or a map has value as a key."},
    {"distinct", 1, 1, MK_V_LIST, 0, bi_distinct, "distinct(list: list) -> list",
     "The list without repeated elements, keeping the first of each."},
    {"duration", 2, 2, MK_V_DURATION, 0, bi_duration, "duration(n: number, unit: string) -> duration",
     "n of a unit (ms s m h d) as a duration: duration(90, \"s\") is 90s."},
    {"element", 2, 2, MK_V_ANY, 0, bi_element, "element(list: list, index: int) -> any",
     "The element at index, wrapping around past either end of the list."},
    {"endswith", 2, 2, MK_V_BOOL, 0, bi_endswith, "endswith(s: string, suffix: string) -> bool",
     "Whether s ends with suffix."},
    {"flatten", 1, 1, MK_V_LIST, SEES, bi_flatten, "flatten(list: list) -> list",
     "The elements of nested lists, in order, as one flat list."},
    {"floor", 1, 1, MK_V_INT, 0, bi_floor, "floor(x: number) -> int", "The largest int not greater than x."},
    {"format", 1, -1, MK_V_STRING, 0, bi_format, "format(fmt: string, values: any...) -> string",
     "fmt with each %s, %d, %v or %q replaced by the next value (%q quotes it, %v shows lists and maps); %% is %."},
    {"gib", 1, 1, MK_V_NUMBER, 0, bi_gib, "gib(x: size) -> number", "The size in GiB (2^30 bytes): gib(512MiB) is 0.5."},
    {"hmac_sha256", 2, 2, MK_V_STRING, 0, ENC(hmac_sha256), "hmac_sha256(key: string, message: string) -> string",
     "The HMAC-SHA-256 of message under key, in lowercase hex."},
    {"index", 2, 2, MK_V_INT, 0, bi_index, "index(list: list, value: any) -> int",
     "The position of the first element equal to value; an error when there is none."},
    {"join", 2, 2, MK_V_STRING, 0, bi_join, "join(sep: string, list: list) -> string",
     "The elements of list (strings or other scalars) as text, with sep between them."},
    {"jsondecode", 1, 1, MK_V_ANY, 0, ENC(jsondecode), "jsondecode(s: string) -> any",
     "The value of a JSON text: objects become maps, integers ints and other numbers numbers."},
    {"jsonencode", 1, 1, MK_V_STRING, 0, ENC(jsonencode), "jsonencode(x: any) -> string",
     "x as compact JSON; maps keep their key order and sizes, durations and money encode as text like \"4GiB\"."},
    {"keys", 1, 1, MK_V_LIST, SEES, bi_keys, "keys(map: map) -> list(string)", "The keys of a map, sorted."},
    {"length", 1, 1, MK_V_INT, SEES, bi_length, "length(x: string|list|map) -> int",
     "The number of characters in a string, or of elements in a list or map."},
    {"lookup", 2, 3, MK_V_ANY, 0, bi_lookup, "lookup(map: map, key: string[, default: any]) -> any",
     "The value under key, else default; an error when key is missing and there is no default."},
    {"lower", 1, 1, MK_V_STRING, 0, bi_lower, "lower(s: string) -> string", "s in lowercase."},
    {"max", 1, -1, MK_V_ANY, 0, bi_max, "max(xs: number|size|duration|money...) -> same kind",
     "The largest argument (or element of a single list argument); kinds never mix."},
    {"md5", 1, 1, MK_V_STRING, 0, ENC(md5), "md5(s: string) -> string", "The MD5 digest of s in lowercase hex."},
    {"merge", 1, -1, MK_V_MAP, SEES, bi_merge, "merge(maps: map...) -> map",
     "One map with the entries of all; a later map's value wins for a repeated key."},
    {"mib", 1, 1, MK_V_NUMBER, 0, bi_mib, "mib(x: size) -> number", "The size in MiB (2^20 bytes): mib(1GiB) is 1024."},
    {"min", 1, -1, MK_V_ANY, 0, bi_min, "min(xs: number|size|duration|money...) -> same kind",
     "The smallest argument (or element of a single list argument); kinds never mix."},
    {"range", 1, 3, MK_V_LIST, 0, bi_range, "range(n: int) or range(start: int, end: int[, step: int]) -> list(int)",
     "The ints from start (0) up to end, excluded, by step (counting down when end < start); at most 1000000."},
    {"replace", 3, 3, MK_V_STRING, 0, bi_replace, "replace(s: string, old: string, new: string) -> string",
     "s with every occurrence of old replaced by new."},
    {"reverse", 1, 1, MK_V_LIST, 0, bi_reverse, "reverse(list: list) -> list", "The list in reverse order."},
    {"round", 1, 1, MK_V_INT, 0, bi_round, "round(x: number) -> int", "The nearest int to x; halves round away from zero."},
    {"seconds", 1, 1, MK_V_NUMBER, 0, bi_seconds, "seconds(x: duration) -> number",
     "The duration in seconds: seconds(1500ms) is 1.5."},
    {"sensitive", 1, 1, MK_V_ANY, SEES, bi_sensitive, "sensitive(x: any) -> any",
     "x marked secret: it shows as (sensitive) everywhere, as does anything computed from it."},
    {"sha1", 1, 1, MK_V_STRING, 0, ENC(sha1), "sha1(s: string) -> string", "The SHA-1 digest of s in lowercase hex."},
    {"sha256", 1, 1, MK_V_STRING, 0, ENC(sha256), "sha256(s: string) -> string",
     "The SHA-256 digest of s in lowercase hex."},
    {"sha512", 1, 1, MK_V_STRING, 0, ENC(sha512), "sha512(s: string) -> string",
     "The SHA-512 digest of s in lowercase hex."},
    {"size", 2, 2, MK_V_SIZE, 0, bi_size, "size(n: number, unit: string) -> size",
     "n of a unit (B KB MB GB TB KiB MiB GiB TiB) as a size: size(4, \"GiB\") is 4GiB."},
    {"slice", 3, 3, MK_V_LIST, 0, bi_slice, "slice(list: list, from: int, to: int) -> list",
     "The elements from index from up to index to, excluded."},
    {"sort", 1, 1, MK_V_LIST, 0, bi_sort, "sort(list: list) -> list",
     "The list in ascending order: strings by bytes, numbers by value (also sizes, durations or money of one kind)."},
    {"split", 2, 2, MK_V_LIST, 0, bi_split, "split(sep: string, s: string) -> list(string)",
     "The pieces of s between occurrences of sep; with sep \"\", the characters of s."},
    {"startswith", 2, 2, MK_V_BOOL, 0, bi_startswith, "startswith(s: string, prefix: string) -> bool",
     "Whether s begins with prefix."},
    {"substr", 3, 3, MK_V_STRING, 0, bi_substr, "substr(s: string, offset: int, length: int) -> string",
     "length characters of s from offset (negative: from the end); length -1 takes the rest."},
    {"sum", 1, 1, MK_V_ANY, 0, bi_sum, "sum(list: list(number|size|duration|money)) -> same kind",
     "The total of a list of one kind; 0 for an empty list."},
    {"title", 1, 1, MK_V_STRING, 0, bi_title, "title(s: string) -> string",
     "s with the first letter of each word in uppercase."},
    {"toint", 1, 1, MK_V_INT, 0, bi_toint, "toint(x: string|number) -> int",
     "x as an int; an error when it has a fraction or does not fit."},
    {"tonumber", 1, 1, MK_V_NUMBER, 0, bi_tonumber, "tonumber(x: string|int) -> number",
     "x as a number; a string must be decimal notation like \"3.5\" or \"-2e3\"."},
    {"tostring", 1, 1, MK_V_STRING, 0, bi_tostring, "tostring(x: any scalar) -> string",
     "x as text, as interpolation shows it: \"4GiB\", \"20ms\", \"$12.50\"; null stays null."},
    {"trim", 1, 2, MK_V_STRING, 0, bi_trim, "trim(s: string[, chars: string]) -> string",
     "s without leading and trailing whitespace, or without any of the characters in chars."},
    {"trimprefix", 2, 2, MK_V_STRING, 0, bi_trimprefix, "trimprefix(s: string, prefix: string) -> string",
     "s without prefix at its start, if it is there."},
    {"trimsuffix", 2, 2, MK_V_STRING, 0, bi_trimsuffix, "trimsuffix(s: string, suffix: string) -> string",
     "s without suffix at its end, if it is there."},
    {"upper", 1, 1, MK_V_STRING, 0, bi_upper, "upper(s: string) -> string", "s in uppercase."},
    {"urlencode", 1, 1, MK_V_STRING, 0, ENC(urlencode), "urlencode(s: string) -> string",
     "s escaped for a URL query: letters, digits and -_.~ stay, a space becomes +, other bytes %XX."},
    {"usd", 1, 1, MK_V_MONEY, 0, bi_usd, "usd(x: number) -> money", "x US dollars as money: usd(12.5) is $12.50."},
    {"values", 1, 1, MK_V_LIST, 0, bi_values, "values(map: map) -> list", "The values of a map in the order of its sorted keys."},
    {"zipmap", 2, 2, MK_V_MAP, 0, bi_zipmap, "zipmap(keys: list(string), values: list) -> map",
     "A map from each key to the value at the same position; the lists must be equally long."},
};

#define NTABLE ((int)(sizeof TABLE / sizeof TABLE[0]))

static int cmp_entry(const void *key, const void *entry) { return strcmp(key, ((const mk_builtin *)entry)->name); }

const mk_builtin *mk_builtin_find(const char *name)
{
    return bsearch(name, TABLE, NTABLE, sizeof TABLE[0], cmp_entry);
}

const mk_builtin *mk_builtin_all(int *n)
{
    *n = NTABLE;
    return TABLE;
}
