/* symtab — a small open-addressing map keyed by one or two interned names
 * (or any pointers that are never NULL in the first key), for the loader's
 * per-unit tables and the indexes of the differ, the policy walker and the
 * cost model. Keys compare by pointer, so they must be interned. The table
 * borrows its keys and values; mk_sym_free frees only its slots. A zeroed
 * mk_symtab is an empty table. */
#ifndef MK_SYMTAB_H
#define MK_SYMTAB_H

#include <stdint.h>

#include "compiler/base/intern.h"

typedef struct mk_symtab {
    struct mk_sym { mk_name a, b; void *v; } *slots;
    uint32_t cap, count;
} mk_symtab;

/* The value stored under (a, b), or NULL. */
void *mk_sym_get(const mk_symtab *t, mk_name a, mk_name b);
/* Store v under (a, b), replacing what was there. */
void mk_sym_put(mk_symtab *t, mk_name a, mk_name b, void *v);
/* Make room for n entries in all, so that storing them grows nothing. */
void mk_sym_reserve(mk_symtab *t, uint32_t n);
void mk_sym_free(mk_symtab *t);

#endif
