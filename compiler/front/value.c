/* value — construction, comparison and printing of values. */
#include "compiler/front/value.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "compiler/base/mem.h"
#include "compiler/base/money.h"

mk_value mk_v_null_ = {.kind = MK_V_NULL};
mk_value mk_v_true_ = {.kind = MK_V_BOOL, .u.b = true};
mk_value mk_v_false_ = {.kind = MK_V_BOOL, .u.b = false};
mk_value mk_v_error_ = {.kind = MK_V_ERROR};

static mk_value *make(mk_vctx *c, mk_vkind k)
{
    mk_value *v = mk_arena_alloc(c->arena, sizeof *v);
    v->kind = (uint8_t)k;
    return v;
}

mk_value *mk_v_bool(bool b) { return b ? &mk_v_true_ : &mk_v_false_; }

/* note [small ints]: values are never changed once made (a change is a
 * copy), so the small integers every stack and policy repeats — counts,
 * indexes, cpu = 2, `>= 1` — are made once, here, rather than at each
 * evaluation. */
static mk_value small_ints[258];

mk_value *mk_v_int(mk_vctx *c, int64_t i)
{
    if (i >= -1 && i <= 256) {
        mk_value *s = &small_ints[i + 1];
        if (s->kind != MK_V_INT || s->u.i != i) {
            s->u.i = i;
            s->kind = MK_V_INT;
        }
        return s;
    }
    mk_value *v = make(c, MK_V_INT);
    v->u.i = i;
    return v;
}

mk_value *mk_v_number(mk_vctx *c, double d)
{
    mk_value *v = make(c, MK_V_NUMBER);
    v->u.d = d;
    return v;
}

mk_value *mk_v_unit(mk_vctx *c, mk_vkind k, int64_t i)
{
    mk_value *v = make(c, k);
    v->u.i = i;
    return v;
}

mk_value *mk_v_money(mk_vctx *c, int64_t micros)
{
    mk_value *v = make(c, MK_V_MONEY);
    v->u.i = micros;
    return v;
}

mk_value *mk_v_str_owned(mk_vctx *c, const char *s, uint32_t n)
{
    mk_value *v = make(c, MK_V_STRING);
    v->u.s = s;
    v->n = n;
    return v;
}

mk_value *mk_v_str(mk_vctx *c, const char *s, uint32_t n)
{
    return mk_v_str_owned(c, mk_arena_strndup(c->arena, s, n), n);
}

mk_value *mk_v_cstr(mk_vctx *c, const char *s) { return mk_v_str(c, s, (uint32_t)strlen(s)); }

mk_value *mk_v_list(mk_vctx *c, uint32_t n)
{
    mk_value *v = make(c, MK_V_LIST);
    v->n = n;
    v->u.items = mk_arena_alloc(c->arena, (n ? n : 1) * sizeof(mk_value *));
    return v;
}

mk_value *mk_v_map(mk_vctx *c, uint32_t n)
{
    mk_value *v = make(c, MK_V_MAP);
    v->n = n;
    v->u.map.keys = mk_arena_alloc(c->arena, (n ? n : 1) * sizeof(mk_name));
    v->u.map.vals = mk_arena_alloc(c->arena, (n ? n : 1) * sizeof(mk_value *));
    return v;
}

mk_value *mk_v_unknown(mk_vctx *c, mk_vkind want)
{
    /* values are immutable, so one unknown of each kind serves everywhere */
    static mk_value unknowns[MK_V_ANY + 1];
    (void)c;
    if (want > MK_V_ANY)
        want = MK_V_ANY;
    unknowns[want].kind = MK_V_UNKNOWN;
    unknowns[want].want = (uint8_t)want;
    return &unknowns[want];
}

mk_value *mk_v_resource(mk_vctx *c, void *res)
{
    mk_value *v = make(c, MK_V_RESOURCE);
    v->u.res = res;
    return v;
}

mk_value *mk_v_with_flags(mk_vctx *c, mk_value *v, uint8_t flags)
{
    if ((v->flags | flags) == v->flags || v->kind == MK_V_ERROR)
        return v;
    mk_value *w = make(c, (mk_vkind)v->kind);
    *w = *v;
    w->flags |= flags;
    w->deep = 0;
    return w;
}

mk_value *mk_v_get(const mk_value *map, mk_name key)
{
    if (map->kind != MK_V_MAP)
        return NULL;
    for (uint32_t i = 0; i < map->n; i++)
        if (map->u.map.keys[i] == key)
            return map->u.map.vals[i];
    return NULL;
}

void mk_vb_push(mk_vctx *c, mk_vbuild *b, mk_name key, mk_value *v)
{
    if (b->n == b->cap) {
        uint32_t cap = b->cap ? b->cap * 2 : 8;
        b->vals = mk_arena_grow(c->arena, b->vals, b->cap * sizeof *b->vals, cap * sizeof *b->vals);
        b->keys = mk_arena_grow(c->arena, b->keys, b->cap * sizeof *b->keys, cap * sizeof *b->keys);
        b->cap = cap;
    }
    b->keys[b->n] = key;
    b->vals[b->n++] = v;
}

mk_value *mk_vb_list(mk_vctx *c, mk_vbuild *b)
{
    mk_value *v = make(c, MK_V_LIST);
    v->n = b->n;
    v->u.items = b->vals ? b->vals : mk_arena_alloc(c->arena, sizeof(mk_value *));
    v->flags = b->flags;
    return v;
}

mk_value *mk_vb_map(mk_vctx *c, mk_vbuild *b)
{
    /* later keys replace earlier ones, in place, keeping first-seen order */
    uint32_t n = 0;
    for (uint32_t i = 0; i < b->n; i++) {
        uint32_t j = 0;
        while (j < n && b->keys[j] != b->keys[i])
            j++;
        b->keys[j] = b->keys[i];
        b->vals[j] = b->vals[i];
        if (j == n)
            n++;
    }
    mk_value *v = make(c, MK_V_MAP);
    v->n = n;
    v->u.map.keys = b->keys ? b->keys : mk_arena_alloc(c->arena, sizeof(mk_name));
    v->u.map.vals = b->vals ? b->vals : mk_arena_alloc(c->arena, sizeof(mk_value *));
    v->flags = b->flags;
    return v;
}

mk_value *mk_v_merge(mk_vctx *c, const mk_value *a, const mk_value *b)
{
    /* sized for both up front: `tags + {…}` in every resource of a big
     * stack, grown by doubling, left a third of its arrays unused */
    uint32_t n = a->n + b->n;
    mk_vbuild vb = {0};
    if (n) {
        vb.vals = mk_arena_alloc(c->arena, n * sizeof *vb.vals);
        vb.keys = mk_arena_alloc(c->arena, n * sizeof *vb.keys);
        vb.cap = n;
    }
    for (uint32_t i = 0; i < a->n; i++)
        mk_vb_push(c, &vb, a->u.map.keys[i], a->u.map.vals[i]);
    for (uint32_t i = 0; i < b->n; i++)
        mk_vb_push(c, &vb, b->u.map.keys[i], b->u.map.vals[i]);
    vb.flags = a->flags | b->flags;
    return mk_vb_map(c, &vb);
}

bool mk_v_equal(const mk_value *a, const mk_value *b)
{
    if (a == b)
        return true;
    if (a->kind == MK_V_INT && b->kind == MK_V_NUMBER)
        return (double)a->u.i == b->u.d;
    if (a->kind == MK_V_NUMBER && b->kind == MK_V_INT)
        return a->u.d == (double)b->u.i;
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case MK_V_NULL: return true;
    case MK_V_BOOL: return a->u.b == b->u.b;
    case MK_V_INT: case MK_V_SIZE: case MK_V_DURATION: case MK_V_MONEY: return a->u.i == b->u.i;
    case MK_V_NUMBER: return a->u.d == b->u.d;
    case MK_V_STRING: return a->n == b->n && memcmp(a->u.s, b->u.s, a->n) == 0;
    case MK_V_LIST:
        if (a->n != b->n)
            return false;
        for (uint32_t i = 0; i < a->n; i++)
            if (!mk_v_equal(a->u.items[i], b->u.items[i]))
                return false;
        return true;
    case MK_V_MAP:
        if (a->n != b->n)
            return false;
        for (uint32_t i = 0; i < a->n; i++) {
            mk_value *o = mk_v_get(b, a->u.map.keys[i]);
            if (!o || !mk_v_equal(a->u.map.vals[i], o))
                return false;
        }
        return true;
    case MK_V_RESOURCE: return a->u.res == b->u.res;
    default: return false;
    }
}

/* note [deep walks]: lists and maps share their elements, so a value is a
 * DAG and `[a, a, a, a]` nested twelve times has 8^12 paths but 12 nodes.
 * Whether anything inside is unknown, poisoned or secret is worked out once
 * per node, on first asking, and kept in `deep`; a value is complete before
 * anyone asks, and never changes after. */
enum { DEEP_DONE = 1, DEEP_UNKNOWN = 2, DEEP_ERROR = 4, DEEP_SECRET = 8 };

static uint8_t deep(const mk_value *cv)
{
    mk_value *v = (mk_value *)cv;
    if (v->deep & DEEP_DONE)
        return v->deep;
    uint8_t d = DEEP_DONE;
    if (v->kind == MK_V_UNKNOWN)
        d |= DEEP_UNKNOWN;
    if (v->kind == MK_V_ERROR)
        d |= DEEP_ERROR | DEEP_UNKNOWN;
    if (v->flags & MK_VF_SECRET)
        d |= DEEP_SECRET;
    if (v->kind == MK_V_LIST)
        for (uint32_t i = 0; i < v->n; i++)
            d |= deep(v->u.items[i]);
    else if (v->kind == MK_V_MAP)
        for (uint32_t i = 0; i < v->n; i++)
            d |= deep(v->u.map.vals[i]);
    v->deep = d;
    return d;
}

bool mk_v_is_known(const mk_value *v) { return !(deep(v) & DEEP_UNKNOWN); }
bool mk_v_has_error(const mk_value *v) { return (deep(v) & DEEP_ERROR) != 0; }
bool mk_v_is_secret(const mk_value *v) { return (deep(v) & DEEP_SECRET) != 0; }

const char *mk_v_kind_name(mk_vkind k)
{
    static const char *const names[] = {"null", "bool", "int", "number", "size", "duration", "money",
                                        "string", "list", "map", "resource", "unknown", "error", "any"};
    return k <= MK_V_ANY ? names[k] : "?";
}

void mk_v_show_size(int64_t bytes, mk_buf *out)
{
    static const struct { const char *u; int64_t m; } units[] = {
        {"PiB", 1125899906842624LL}, {"TiB", 1099511627776LL}, {"GiB", 1073741824LL}, {"MiB", 1048576LL},
        {"KiB", 1024LL}, {"PB", 1000000000000000LL}, {"TB", 1000000000000LL}, {"GB", 1000000000LL},
        {"MB", 1000000LL}, {"KB", 1000LL},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (bytes != 0 && bytes % units[i].m == 0) {
            mk_buf_printf(out, "%" PRId64 "%s", bytes / units[i].m, units[i].u);
            return;
        }
    }
    mk_buf_printf(out, "%" PRId64 "B", bytes);
}

void mk_v_show_duration(int64_t ms, mk_buf *out)
{
    static const struct { const char *u; int64_t m; } units[] = {
        {"d", 86400000LL}, {"h", 3600000LL}, {"m", 60000LL}, {"s", 1000LL},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (ms != 0 && ms % units[i].m == 0) {
            mk_buf_printf(out, "%" PRId64 "%s", ms / units[i].m, units[i].u);
            return;
        }
    }
    mk_buf_printf(out, "%" PRId64 "ms", ms);
}

static void show_number(double d, mk_buf *out)
{
    if (d == floor(d) && fabs(d) < 1e15)
        mk_buf_printf(out, "%.1f", d);
    else
        mk_buf_printf(out, "%.17g", d);
}


bool mk_v_to_text(const mk_value *v, mk_buf *out, bool reveal)
{
    if ((v->flags & MK_VF_SECRET) && !reveal) {
        mk_buf_puts(out, "(sensitive)");
        return true;
    }
    switch (v->kind) {
    case MK_V_NULL: return true;
    case MK_V_BOOL: mk_buf_puts(out, v->u.b ? "true" : "false"); return true;
    case MK_V_INT: mk_buf_printf(out, "%" PRId64, v->u.i); return true;
    case MK_V_NUMBER: mk_buf_printf(out, "%.15g", v->u.d); return true;
    case MK_V_SIZE: mk_v_show_size(v->u.i, out); return true;
    case MK_V_DURATION: mk_v_show_duration(v->u.i, out); return true;
    case MK_V_MONEY: {
        char t[MK_MONEY_TEXT];
        mk_buf_puts(out, mk_money_show(v->u.i, t));
        return true;
    }
    case MK_V_STRING: mk_buf_put(out, v->u.s, v->n); return true;
    default: return false;
    }
}

void mk_v_show(const mk_value *v, mk_buf *out, bool reveal)
{
    if ((v->flags & MK_VF_SECRET) && !reveal && v->kind != MK_V_LIST && v->kind != MK_V_MAP) {
        mk_buf_puts(out, "(sensitive)");
        return;
    }
    switch (v->kind) {
    case MK_V_NULL: mk_buf_puts(out, "null"); break;
    case MK_V_NUMBER: show_number(v->u.d, out); break;
    case MK_V_MONEY: {
        char t[MK_MONEY_TEXT];
        mk_buf_puts(out, mk_money_literal(v->u.i, t));
        break;
    }
    case MK_V_STRING:
        mk_buf_putc(out, '"');
        mk_buf_escape(out, v->u.s, v->n);
        mk_buf_putc(out, '"');
        break;
    case MK_V_LIST:
        mk_buf_putc(out, '[');
        for (uint32_t i = 0; i < v->n; i++) {
            if (i)
                mk_buf_puts(out, ", ");
            mk_v_show(v->u.items[i], out, reveal);
        }
        mk_buf_putc(out, ']');
        break;
    case MK_V_MAP:
        mk_buf_putc(out, '{');
        for (uint32_t i = 0; i < v->n; i++) {
            mk_buf_puts(out, i ? ", " : " ");
            mk_buf_printf(out, "%s = ", v->u.map.keys[i]);
            mk_v_show(v->u.map.vals[i], out, reveal);
        }
        mk_buf_puts(out, v->n ? " }" : "}");
        break;
    case MK_V_UNKNOWN: mk_buf_puts(out, "(known after apply)"); break;
    case MK_V_ERROR: mk_buf_puts(out, "(error)"); break;
    case MK_V_RESOURCE: mk_buf_puts(out, "(resource)"); break;
    default: mk_v_to_text(v, out, reveal);
    }
}
