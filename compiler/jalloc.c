/* jalloc — jansson allocations from per-thread arenas; see note [json memory]. */
#include "compiler/jalloc.h"

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>

#include "compiler/mem.h"

/* One arena per thread (the compile thread reads state while main waits),
 * kept for the life of the process — and listed here, so that it stays
 * reachable after its thread ends. */
typedef struct held {
    mk_arena *arena;
    struct held *next;
} held;

static _Thread_local mk_arena *arena;
static held *all;
static pthread_mutex_t all_mu = PTHREAD_MUTEX_INITIALIZER;

static void *bump_malloc(size_t n)
{
    if (!arena) {
        arena = mk_arena_new();
        held *h = mk_mem_alloc(sizeof *h); /* heap, where leak checkers look */
        h->arena = arena;
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

bool mk_jalloc_installed(void) { return installed; }
