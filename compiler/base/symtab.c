/* symtab — the map from one or two interned names to a pointer. Linear
 * probing over a power-of-two table kept at most half full; it only grows,
 * since no compilation ever removes a name. Not for strings that are not
 * interned: keys compare by pointer. */
#include "compiler/base/symtab.h"

#include "compiler/base/mem.h"

static uint32_t sym_hash(mk_name a, mk_name b)
{
    uintptr_t h = ((uintptr_t)a >> 3) * 0x9E3779B1u ^ ((uintptr_t)b >> 3) * 0x85EBCA77u;
    return (uint32_t)(h ^ (h >> 16));
}

void *mk_sym_get(const mk_symtab *t, mk_name a, mk_name b)
{
    if (!t->cap)
        return NULL;
    for (uint32_t i = sym_hash(a, b) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        if (!t->slots[i].a)
            return NULL;
        if (t->slots[i].a == a && t->slots[i].b == b)
            return t->slots[i].v;
    }
}

/* Move every entry into a zeroed table of cap slots (a power of two). */
static void rehash(mk_symtab *t, uint32_t cap)
{
    struct mk_sym *old = t->slots;
    uint32_t oc = t->cap;
    t->cap = cap;
    t->slots = mk_mem_calloc(t->cap, sizeof *t->slots);
    t->count = 0;
    for (uint32_t i = 0; i < oc; i++)
        if (old[i].a)
            mk_sym_put(t, old[i].a, old[i].b, old[i].v);
    mk_mem_free(old);
}

void mk_sym_reserve(mk_symtab *t, uint32_t n)
{
    uint32_t cap = t->cap ? t->cap : 16;
    while ((uint64_t)n * 2 > cap && cap < (1u << 31))
        cap *= 2;
    if (cap > t->cap)
        rehash(t, cap);
}

void mk_sym_put(mk_symtab *t, mk_name a, mk_name b, void *v)
{
    if ((t->count + 1) * 2 > t->cap)
        rehash(t, t->cap ? t->cap * 2 : 16);
    uint32_t i = sym_hash(a, b) & (t->cap - 1);
    while (t->slots[i].a && !(t->slots[i].a == a && t->slots[i].b == b))
        i = (i + 1) & (t->cap - 1);
    if (!t->slots[i].a)
        t->count++;
    t->slots[i] = (struct mk_sym){a, b, v};
}

void mk_sym_free(mk_symtab *t) { mk_mem_free(t->slots); }
