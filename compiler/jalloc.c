/* jalloc — jansson allocations from thread-local arenas; see note [json memory]. */
#include "compiler/jalloc.h"

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>

#include "compiler/mem.h"

/* One arena per thread (the compile thread reads state while main waits),
 * kept for the life of the process. */
static _Thread_local mk_arena *arena;

static void *bump_malloc(size_t n)
{
    if (!arena)
        arena = mk_arena_new();
    return mk_arena_alloc(arena, n ? n : 1);
}

static void bump_free(void *p) { (void)p; }

void mk_jalloc_install(void) { json_set_alloc_funcs(bump_malloc, bump_free); }
