/* value — what expressions evaluate to. Values are immutable once built and
 * live in the compilation arena; map keys are interned names.
 *
 * Two kinds carry the checker's and planner's partial knowledge:
 *  - MK_V_UNKNOWN: known only after apply (a computed attribute) or, under
 *    `moksha check`, a variable without a value. It records the kind it will
 *    have (`want`) so types can still be checked.
 *  - MK_V_ERROR: poison. The error was already reported; anything computed
 *    from it is poison too and reports nothing more (no cascades).
 * The flag MK_VF_SECRET taints everything computed from a secret. */
#ifndef MK_VALUE_H
#define MK_VALUE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "compiler/base/buf.h"
#include "compiler/base/intern.h"

struct mk_arena;

typedef enum mk_vkind {
    MK_V_NULL,
    MK_V_BOOL,
    MK_V_INT,
    MK_V_NUMBER,
    MK_V_SIZE,     /* bytes, in i */
    MK_V_DURATION, /* milliseconds, in i */
    MK_V_MONEY,    /* micro-dollars (mk_money, note [money]), in i */
    MK_V_STRING,
    MK_V_LIST,
    MK_V_MAP,
    MK_V_RESOURCE, /* a resource instance (see eval.h), in res */
    MK_V_UNKNOWN,
    MK_V_ERROR,
    MK_V_ANY       /* only as an UNKNOWN's `want`: nothing known */
} mk_vkind;

/* MK_VF_SEALED: a secret the compiler holds only sealed, as the state
 * has it (`moksha state revert`: note [sealed values] in front/revert.c): a
 * string whose bytes are its {"$secret": …} JSON, compact, written as they
 * are and never opened. Always with MK_VF_SECRET. */
enum { MK_VF_SECRET = 1, MK_VF_SEALED = 2 };

/* An unknown that the executor can still work out: text and references to
 * attributes that providers compute (`"db ${database.orders.id}"`). It rides
 * in an MK_V_UNKNOWN's `res`; plans carry it as {"$template": [...]}. */
typedef struct mk_defpart {
    const char *text;      /* literal text, or NULL for a reference */
    uint32_t len;
    const char *address;   /* the referenced resource instance */
    mk_name attr;          /* and its attribute */
} mk_defpart;

typedef struct mk_deferred {
    mk_defpart *parts;
    uint32_t n;
} mk_deferred;

typedef struct mk_value mk_value;
struct mk_value {
    uint8_t kind;
    uint8_t flags;
    uint8_t want; /* MK_V_UNKNOWN: the kind it will have, or MK_V_ANY */
    uint8_t deep; /* cache of mk_v_is_known & co, see note [deep walks] in value.c */
    uint32_t n;   /* string bytes; list and map entries */
    union {
        bool b;
        int64_t i;
        double d;
        const char *s;
        mk_value **items;
        struct {
            mk_name *keys;
            mk_value **vals;
        } map;
        void *res;
    } u;
};

/* The context values are built in: borrowed, outlives every value. */
typedef struct mk_vctx {
    struct mk_arena *arena;
    mk_intern *names;
} mk_vctx;

extern mk_value mk_v_null_, mk_v_true_, mk_v_false_, mk_v_error_;
#define MK_V_NULLV (&mk_v_null_)
#define MK_V_ERRORV (&mk_v_error_)

mk_value *mk_v_bool(bool b);
mk_value *mk_v_int(mk_vctx *c, int64_t i);
mk_value *mk_v_number(mk_vctx *c, double d);
mk_value *mk_v_unit(mk_vctx *c, mk_vkind k, int64_t i); /* SIZE or DURATION */
mk_value *mk_v_money(mk_vctx *c, int64_t micros); /* an mk_money */
mk_value *mk_v_str(mk_vctx *c, const char *s, uint32_t n); /* copies */
mk_value *mk_v_cstr(mk_vctx *c, const char *s);
mk_value *mk_v_str_owned(mk_vctx *c, const char *s, uint32_t n); /* s already in the arena */
mk_value *mk_v_list(mk_vctx *c, uint32_t n);  /* items to be filled */
mk_value *mk_v_map(mk_vctx *c, uint32_t n);   /* keys and vals to be filled */
mk_value *mk_v_unknown(mk_vctx *c, mk_vkind want);
mk_value *mk_v_resource(mk_vctx *c, void *res);
/* A copy of v with flags added (v itself when nothing changes). */
mk_value *mk_v_with_flags(mk_vctx *c, mk_value *v, uint8_t flags);

/* Map lookup by interned key; NULL when absent. */
mk_value *mk_v_get(const mk_value *map, mk_name key);
/* Map lookup by a name that need not be interned; NULL when absent or when
 * map is NULL or not a map. Inline: the cost model reads a few attributes of
 * every resource of a plan and of its state this way. */
static inline mk_value *mk_v_get_text(const mk_value *map, const char *name)
{
    for (uint32_t i = 0; map && map->kind == MK_V_MAP && i < map->n; i++)
        if (strcmp(map->u.map.keys[i], name) == 0)
            return map->u.map.vals[i];
    return NULL;
}
/* Is v (may be NULL) the string s? */
static inline bool mk_v_is_text(const mk_value *v, const char *s)
{
    return v && v->kind == MK_V_STRING && v->n == strlen(s) && memcmp(v->u.s, s, v->n) == 0;
}
/* A new map: a's entries, overridden and extended by b's (the `+` merge). */
mk_value *mk_v_merge(mk_vctx *c, const mk_value *a, const mk_value *b);
/* Growable list/map building. */
typedef struct mk_vbuild {
    mk_value **vals;
    mk_name *keys;
    uint32_t n, cap;
    uint8_t flags;
} mk_vbuild;
void mk_vb_push(mk_vctx *c, mk_vbuild *b, mk_name key, mk_value *v);
mk_value *mk_vb_list(mk_vctx *c, mk_vbuild *b);
mk_value *mk_vb_map(mk_vctx *c, mk_vbuild *b); /* later keys replace earlier ones */

bool mk_v_equal(const mk_value *a, const mk_value *b);
/* Is anything inside unknown or poisoned? */
bool mk_v_is_known(const mk_value *v);
bool mk_v_has_error(const mk_value *v);
bool mk_v_is_secret(const mk_value *v); /* the value or anything inside */
const char *mk_v_kind_name(mk_vkind k);

/* Text as interpolation shows it ("4GiB", "20ms", "$12.50": money rounded to
 * the cent, note [money]); secrets as (sensitive) unless reveal. Fails
 * (false) for lists, maps and unknowns. */
bool mk_v_to_text(const mk_value *v, mk_buf *out, bool reveal);
/* moksha literal syntax, for plan output and messages (money exact: "$1.005"). */
void mk_v_show(const mk_value *v, mk_buf *out, bool reveal);
void mk_v_show_size(int64_t bytes, mk_buf *out);
void mk_v_show_duration(int64_t ms, mk_buf *out);

#endif
