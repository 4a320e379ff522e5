/* mem — the one allocation wrapper and the arena.
 *
 * Every heap allocation of the compiler goes through mk_mem_alloc/realloc so a
 * test build can make the Nth allocation fail (MK_FAIL_ALLOC=N in the
 * environment of a binary built with -DMK_ALLOC_TESTING). On failure the
 * wrapper calls the out-of-memory handler, which never returns: by default it
 * says "out of memory" and aborts; a program installs its own with
 * mk_mem_set_oom (note [out of memory] in compiler/main.c). The library
 * itself never calls exit().
 *
 * An arena owns everything allocated from it; mk_arena_free releases it all at
 * once. There is no per-object free. */
#ifndef MK_MEM_H
#define MK_MEM_H

#include <stddef.h>

void *mk_mem_alloc(size_t n);
void *mk_mem_calloc(size_t n, size_t size);
void *mk_mem_realloc(void *p, size_t n);
void mk_mem_free(void *p);
char *mk_mem_strdup(const char *s);

/* What allocation failure does: report and leave. The handler must not
 * return (if it does, the process aborts). NULL restores the default. */
typedef void (*mk_mem_oom_fn)(void);
void mk_mem_set_oom(mk_mem_oom_fn fn);
_Noreturn void mk_mem_oom(void);

typedef struct mk_arena mk_arena;

mk_arena *mk_arena_new(void);
void mk_arena_free(mk_arena *a);
/* Zeroed, 8-byte aligned memory that lives as long as the arena. */
void *mk_arena_alloc(mk_arena *a, size_t n);
/* Grow an arena array: returns a copy of old (old_n bytes) in new_n bytes. */
void *mk_arena_grow(mk_arena *a, void *old, size_t old_n, size_t new_n);
char *mk_arena_strndup(mk_arena *a, const char *s, size_t n);
char *mk_arena_printf(mk_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* note [arena marks]: a mark is where the arena stood; resetting to it
 * releases everything allocated since (zeroing what is reused, unmapping
 * chunks made since), so a loop can reuse the same, already faulted pages
 * for each iteration's temporaries. Nothing made since the mark may be
 * reachable after the reset. */
typedef struct mk_arena_mark {
    void *chunk, *next;
    size_t used, total;
} mk_arena_mark;
mk_arena_mark mk_arena_mark_at(const mk_arena *a);
void mk_arena_reset(mk_arena *a, mk_arena_mark m);
/* Bytes handed out so far (for memory reports). */
size_t mk_arena_used(const mk_arena *a);

#endif
