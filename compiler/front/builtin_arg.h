/* builtin_arg — the helpers every built-in uses (builtin.c, builtin_enc.c):
 * the call's context, reporting a bad argument, checking kinds, the bounds
 * on what a built-in builds from untrusted input. Internal to the builtin
 * module; `fn` is always the built-in's name for messages. Strings returned
 * live in the arena of c->v. */
#ifndef MK_BUILTIN_ARG_H
#define MK_BUILTIN_ARG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler/base/buf.h"
#include "compiler/base/source.h"
#include "compiler/front/value.h"

struct mk_diag;

typedef struct mk_bictx {
    mk_vctx *v;
    struct mk_diag *diag;
    mk_span call;          /* the whole call expression */
    const mk_span *args;   /* the span of each argument */
} mk_bictx;

/* Report E0213 at argument i (or the call when i < 0); returns MK_V_ERRORV. */
mk_value *mk_bi_error(mk_bictx *c, int i, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Bounds on what a built-in builds from untrusted input. */
#define MK_BI_MAX_TEXT ((size_t)16 << 20) /* bytes of a string result */
#define MK_BI_MAX_ITEMS (1 << 22)         /* elements of a list result */
#define MK_BI_MAX_DEPTH 4096              /* nesting of lists and maps */

/* Does args[i] have kind k (MK_V_NUMBER: int or number; MK_V_ANY: any)?
 * Reports E0213 "argument N of `fn` must be …" when not. */
bool mk_bi_want(mk_bictx *c, mk_value **args, int i, mk_vkind k, const char *fn);
/* args[i] as an int: an int, or a number without fraction. Reports when not. */
bool mk_bi_int(mk_bictx *c, mk_value **args, int i, int64_t *out, const char *fn);
/* The buffer's text as a string value (an error past MK_BI_MAX_TEXT); frees b. */
mk_value *mk_bi_take(mk_bictx *c, mk_buf *b, const char *fn);
/* Byte length of the valid UTF-8 character at s (its code point in *cp), or 0. */
uint32_t mk_bi_u8next(const char *s, uint32_t n, uint32_t *cp);
/* Arguments as messages quote them: moksha syntax, cut short, and
 * (sensitive) for a secret, which no diagnostic may show. In the arena. */
const char *mk_bi_show(mk_bictx *c, const mk_value *v);
/* Is v's text (JSON or moksha syntax) safely below MK_BI_MAX_TEXT? */
bool mk_bi_fits(const mk_value *v);

/* "an int", "a list", … for messages. */
const char *mk_bi_kind_phrase(mk_vkind k);
/* Does args[i] have one of the kinds in mask (bits 1 << kind; `what` names
 * them)? An unknown passes when it may turn out to have one: only the
 * MK_BI_SEES_UNKNOWN functions meet unknowns, and they check right after. */
bool mk_bi_want_mask(mk_bictx *c, mk_value **args, int i, unsigned mask, const char *what, const char *fn);
/* d as an int64 when it is whole and in range. */
bool mk_bi_whole(double d, int64_t *out);

#endif
