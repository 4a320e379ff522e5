/* builtin — the built-in functions of the language (strings, collections,
 * numbers, units, cidr, encoding, hashing). The evaluator looks a call up by
 * name, checks the argument count against min/max, and calls fn with the
 * evaluated arguments. Before the call the evaluator has already dealt with
 * poison (MK_V_ERROR: the call is skipped) and, unless the function sets
 * MK_BI_SEES_UNKNOWN, with unknown arguments (the result is unknown of kind
 * `ret`); secret taint is added to the result by the evaluator.
 * A function reports a bad argument with mk_bi_error (builtin_arg.h) and
 * returns its result. */
#ifndef MK_BUILTIN_H
#define MK_BUILTIN_H

#include <stdint.h>

#include "compiler/front/builtin_arg.h"
#include "compiler/front/value.h"

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
#endif
