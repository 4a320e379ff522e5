/* jalloc — jansson allocations from per-thread arenas; see note [json memory]. */
#include "compiler/base/jalloc.h"

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>

#include "compiler/base/mem.h"

/* One arena per thread (the compile thread reads state while main waits),
 * kept for the life of the process — and listed here, so that it stays
 * reachable after its thread ends. */
typedef struct held {
    mk_arena *arena;
    void *scratch;
    struct held *next;
} held;

static _Thread_local mk_arena *arena;

/* note [scratch json]: a region jansson allocates from while a caller
 * builds values it will drop (the differ's no-op test); switching it off
 * makes the region empty again. Nothing made in it may be kept. */
static _Thread_local struct {
    char *base;
    size_t size, used;
    bool on;
} scratch;
static held *all;
static pthread_mutex_t all_mu = PTHREAD_MUTEX_INITIALIZER;

static void *bump_malloc(size_t n)
{
    if (scratch.on) {
        size_t m = (n + 7) & ~(size_t)7;
        if (scratch.used + m <= scratch.size) {
            void *p = scratch.base + scratch.used;
            scratch.used += m;
            return p;
        }
    }
    if (!arena) {
        arena = mk_arena_new();
        held *h = mk_mem_alloc(sizeof *h); /* heap, where leak checkers look */
        h->arena = arena;
        h->scratch = NULL;
        pthread_mutex_lock(&all_mu);
        h->next = all;
        all = h;
        pthread_mutex_unlock(&all_mu);
    }
    return mk_arena_alloc(arena, n ? n : 1);
}

static void bump_free(void *p) { (void)p; }

static bool installed;

void mk_jalloc_install(void)
{
    json_set_alloc_funcs(bump_malloc, bump_free);
    installed = true;
}

void mk_jalloc_scratch(bool on)
{
    if (!installed)
        return;
    if (on && !scratch.base) {
        scratch.size = 4u << 20; /* larger needs spill into the arena */
        scratch.base = mk_mem_alloc(scratch.size);
        held *h = mk_mem_alloc(sizeof *h); /* kept, like the arenas */
        h->arena = NULL;
        h->scratch = scratch.base;
        pthread_mutex_lock(&all_mu);
        h->next = all;
        all = h;
        pthread_mutex_unlock(&all_mu);
    }
    scratch.on = on;
    scratch.used = 0;
}

void mk_jalloc_free_text(char *s)
{
    json_malloc_t m;
    json_free_t f;
    json_get_alloc_funcs(&m, &f);
    f(s);
}
