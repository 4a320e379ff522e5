/* builtin — the built-in functions of the language (strings, collections,
 * numbers, units, cidr, encoding, hashing). The evaluator looks a call up by
 * name, checks the argument count against min/max, and calls fn with the
 * evaluated arguments. Before the call the evaluator has already dealt with
 * poison (MK_V_ERROR: the call is skipped) and, unless the function sets
 * MK_BI_SEES_UNKNOWN, with unknown arguments (the result is unknown of kind
 * `ret`); secret taint is added to the result by the evaluator.
 * A function reports a bad argument with mk_bi_error and returns its result. */
#ifndef MK_BUILTIN_H
#define MK_BUILTIN_H

#include <stdint.h>

#include "compiler/base/source.h"
#include "compiler/front/value.h"

struct mk_diag;

typedef struct mk_bictx {
    mk_vctx *v;
    struct mk_diag *diag;
    mk_span call;          /* the whole call expression */
    const mk_span *args;   /* the span of each argument */
} mk_bictx;

typedef mk_value *(*mk_builtin_fn)(mk_bictx *c, mk_value **args, int n);

enum { MK_BI_SEES_UNKNOWN = 1 };

typedef struct mk_builtin {
    const char *name;
    int min, max;       /* argument counts; max -1 = any */
    mk_vkind ret;       /* result kind when an argument is unknown; MK_V_ANY if it varies */
    unsigned flags;
    mk_builtin_fn fn;
    const char *sig;    /* "cidrsubnet(prefix: string, newbits: int, netnum: int) -> string" */
    const char *doc;    /* one line */
} mk_builtin;

/* NULL when there is no such function. */
const mk_builtin *mk_builtin_find(const char *name);
/* All functions, for "did you mean" and the docs. */
const mk_builtin *mk_builtin_all(int *n);
/* Report E0213 at argument i (or the call when i < 0); returns MK_V_ERRORV. */
mk_value *mk_bi_error(mk_bictx *c, int i, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
