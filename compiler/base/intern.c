/* intern — open-addressing hash set of strings stored in the arena.
 *
 * note [name heads]: a slot holds a name's first 8 bytes beside its hash
 * and length. Most names are that short (cpu, memory, net12, c4711), so a
 * lookup compares them without reading the string, which for the many
 * names a big stack uses once or twice is a cache miss of its own. */
#include "compiler/base/intern.h"

#include <stdbool.h>
#include <string.h>

#include "compiler/base/mem.h"

typedef struct {
    const char *s;
    uint32_t len;
    uint32_t hash;
    uint64_t head; /* note [name heads] */
} slot;

struct mk_intern {
    mk_arena *arena;
    slot *slots;
    size_t cap, count;
};

uint64_t mk_intern_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

mk_intern *mk_intern_new(mk_arena *a)
{
    mk_intern *t = mk_mem_calloc(1, sizeof *t);
    t->arena = a;
    t->cap = 1024;
    t->slots = mk_mem_calloc(t->cap, sizeof(slot));
    return t;
}

void mk_intern_free(mk_intern *t)
{
    if (!t)
        return;
    mk_mem_free(t->slots);
    mk_mem_free(t);
}

static void rehash(mk_intern *t, size_t cap)
{
    slot *ns = mk_mem_calloc(cap, sizeof(slot));
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->slots[i].s)
            continue;
        size_t j = t->slots[i].hash & (cap - 1);
        while (ns[j].s)
            j = (j + 1) & (cap - 1);
        ns[j] = t->slots[i];
    }
    mk_mem_free(t->slots);
    t->slots = ns;
    t->cap = cap;
}

void mk_intern_reserve(mk_intern *t, size_t n)
{
    size_t cap = t->cap;
    while ((t->count + n) * 2 >= cap && cap < ((size_t)1 << 40))
        cap *= 2;
    if (cap > t->cap)
        rehash(t, cap);
}

/* The first 8 bytes of s, zero-padded. */
static uint64_t head_of(const char *s, size_t n)
{
    uint64_t h = 0;
    memcpy(&h, s, n < 8 ? n : 8);
    return h;
}

/* The hash, the length and the head have matched: the rest, if any. */
static bool same_tail(const char *a, const char *b, size_t n)
{
    return n <= 8 || memcmp(a + 8, b + 8, n - 8) == 0;
}

mk_name mk_intern_n(mk_intern *t, const char *s, size_t n)
{
    if (t->count * 2 >= t->cap)
        rehash(t, t->cap * 2);
    uint32_t h = (uint32_t)mk_intern_hash(s, n);
    uint64_t head = head_of(s, n);
    size_t j = h & (t->cap - 1);
    for (; t->slots[j].s; j = (j + 1) & (t->cap - 1)) {
        slot *sl = &t->slots[j];
        if (sl->hash == h && sl->head == head && sl->len == n && same_tail(sl->s, s, n))
            return sl->s;
    }
    t->slots[j].s = mk_arena_strndup(t->arena, s, n);
    t->slots[j].len = (uint32_t)n;
    t->slots[j].hash = h;
    t->slots[j].head = head;
    t->count++;
    return t->slots[j].s;
}

mk_name mk_intern_s(mk_intern *t, const char *s) { return mk_intern_n(t, s, strlen(s)); }
