/* builtin_arg — what every built-in (builtin.c, builtin_enc.c) uses: the
 * call's context, reporting a bad argument (E0213), checking an argument's
 * kind, reading an int, taking a text result within the bounds, quoting an
 * argument in a message, UTF-8 decoding. Not for the rest of the compiler,
 * which calls built-ins through builtin.h. Results live in the arena of c->v. */
#include "compiler/front/builtin_arg.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "compiler/base/diag.h"
#include "compiler/base/mem.h"

#define K(k) (1u << (k))

mk_value *mk_bi_error(mk_bictx *c, int i, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    mk_diag_error(c->diag, "E0213", i >= 0 ? c->args[i] : c->call, "%s", msg);
    return MK_V_ERRORV;
}

const char *mk_bi_kind_phrase(mk_vkind k)
{
    static const char *const phrase[] = {"null", "a bool", "an int", "a number", "a size", "a duration", "money",
                                         "a string", "a list", "a map", "a resource", "unknown", "an error",
                                         "any value"};
    return k <= MK_V_ANY ? phrase[k] : "?";
}

bool mk_bi_want_mask(mk_bictx *c, mk_value **args, int i, unsigned mask, const char *what, const char *fn)
{
    mk_vkind have = args[i]->kind == MK_V_UNKNOWN ? (mk_vkind)args[i]->want : (mk_vkind)args[i]->kind;
    if (have == MK_V_ANY || (mask & K(have)))
        return true;
    mk_bi_error(c, i, "argument %d of `%s` must be %s, found %s", i + 1, fn, what, mk_v_kind_name(have));
    return false;
}

bool mk_bi_want(mk_bictx *c, mk_value **args, int i, mk_vkind k, const char *fn)
{
    unsigned mask = k == MK_V_ANY ? ~0u : k == MK_V_NUMBER ? K(MK_V_NUMBER) | K(MK_V_INT) : K(k);
    return mk_bi_want_mask(c, args, i, mask, mk_bi_kind_phrase(k), fn);
}

const char *mk_bi_show(mk_bictx *c, const mk_value *v)
{
    enum { MAX = 60 };
    mk_buf b = {0};
    if (v->kind == MK_V_LIST || v->kind == MK_V_MAP) /* their text can be huge */
        mk_buf_puts(&b, v->flags & MK_VF_SECRET ? "(sensitive)" : mk_bi_kind_phrase(v->kind));
    else
        mk_v_show(v, &b, false);
    size_t cut = b.len;
    while (cut > MAX || (cut < b.len && ((unsigned char)b.data[cut] & 0xC0) == 0x80))
        cut = cut > MAX ? MAX : cut - 1;
    const char *s = mk_arena_printf(c->v->arena, "%.*s%s", (int)cut, b.data ? b.data : "", cut < b.len ? "…" : "");
    mk_buf_free(&b);
    return s;
}

bool mk_bi_whole(double d, int64_t *out)
{
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != trunc(d))
        return false;
    *out = (int64_t)d;
    return true;
}

bool mk_bi_int(mk_bictx *c, mk_value **args, int i, int64_t *out, const char *fn)
{
    mk_value *v = args[i];
    if (v->kind == MK_V_INT) {
        *out = v->u.i;
        return true;
    }
    if (v->kind == MK_V_NUMBER && mk_bi_whole(v->u.d, out))
        return true;
    if (v->kind == MK_V_NUMBER)
        mk_bi_error(c, i, "argument %d of `%s` must be a whole number, found %s", i + 1, fn, mk_bi_show(c, v));
    else
        mk_bi_error(c, i, "argument %d of `%s` must be an int, found %s", i + 1, fn, mk_v_kind_name(v->kind));
    return false;
}

mk_value *mk_bi_take(mk_bictx *c, mk_buf *b, const char *fn)
{
    if (b->len > MK_BI_MAX_TEXT) {
        mk_buf_free(b);
        return mk_bi_error(c, -1, "the result of `%s` is longer than %zu MiB", fn, MK_BI_MAX_TEXT >> 20);
    }
    mk_value *v = mk_v_str(c->v, b->data ? b->data : "", (uint32_t)b->len);
    mk_buf_free(b);
    return v;
}

uint32_t mk_bi_u8next(const char *str, uint32_t n, uint32_t *cp)
{
    const unsigned char *s = (const unsigned char *)str;
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    uint32_t len = s[0] < 0x80 ? 1 : s[0] >= 0xC2 && s[0] < 0xE0 ? 2 : s[0] >= 0xE0 && s[0] < 0xF0 ? 3
                 : s[0] >= 0xF0 && s[0] < 0xF5 ? 4 : 0;
    if (len == 0 || len > n)
        return 0;
    uint32_t v = len == 1 ? s[0] : s[0] & (0x7Fu >> len);
    for (uint32_t k = 1; k < len; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return 0;
        v = v << 6 | (s[k] & 0x3F);
    }
    if (v < min[len] || v > 0x10FFFF || (v >= 0xD800 && v < 0xE000))
        return 0;
    *cp = v;
    return len;
}

/* Rough size of v as text, stopping past `budget`: lists and maps may share
 * parts, so their text can be exponentially larger than their memory. */
static size_t text_size(const mk_value *v, size_t budget, int depth)
{
    if (depth > MK_BI_MAX_DEPTH)
        return budget + 1;
    if (v->kind != MK_V_LIST && v->kind != MK_V_MAP)
        return v->kind == MK_V_STRING ? v->n + 2 : 24;
    size_t size = 2;
    for (uint32_t i = 0; i < v->n && size <= budget; i++) {
        const mk_value *e = v->kind == MK_V_LIST ? v->u.items[i] : v->u.map.vals[i];
        size += (v->kind == MK_V_MAP ? strlen(v->u.map.keys[i]) + 4 : 2) + text_size(e, budget - size, depth + 1);
    }
    return size;
}

bool mk_bi_fits(const mk_value *v) { return text_size(v, MK_BI_MAX_TEXT, 0) <= MK_BI_MAX_TEXT; }
