/* intern — the name table. Identifiers and attribute names are interned once
 * per compilation so that comparing two names compares two pointers. The
 * table borrows its arena; the strings live as long as that arena. */
#ifndef MK_INTERN_H
#define MK_INTERN_H

#include <stddef.h>
#include <stdint.h>

typedef const char *mk_name;
typedef struct mk_intern mk_intern;
struct mk_arena;

mk_intern *mk_intern_new(struct mk_arena *a);
void mk_intern_free(mk_intern *t);
mk_name mk_intern_n(mk_intern *t, const char *s, size_t n);
mk_name mk_intern_s(mk_intern *t, const char *s);
/* Make room for n more names without growing on the way (a hint). */
void mk_intern_reserve(mk_intern *t, size_t n);
/* FNV-1a, also used by the symbol tables that key on interned names. */
uint64_t mk_intern_hash(const char *s, size_t n);

#endif
