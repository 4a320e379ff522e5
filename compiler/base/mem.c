/* mem — allocation wrapper with a failure switch for tests, and arenas.
 * Arena chunks grow geometrically; a request larger than a chunk gets a chunk
 * of its own, so no allocation is ever split.
 *
 * note [arena pages]: chunks come straight from mmap, so they start zeroed
 * (no memset) and large ones are 2 MiB aligned and advised as huge pages. A
 * big stack touches hundreds of megabytes, and on virtual machines a page
 * fault per 4 KiB page costs more than the compiling itself. */
#include "compiler/base/mem.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

#ifdef MK_ALLOC_TESTING
static long fail_at = -1; /* -1: not read yet; 0: never fail */
static long alloc_count;

static int should_fail(void)
{
    if (fail_at < 0) {
        const char *s = getenv("MK_FAIL_ALLOC");
        fail_at = s ? atol(s) : 0;
    }
    return fail_at > 0 && ++alloc_count == fail_at;
}
#else
static int should_fail(void) { return 0; }
#endif

static void default_oom(void)
{
    static const char msg[] = "moksha: error: out of memory\n";
    ssize_t w = write(2, msg, sizeof msg - 1); /* (no stdio: it may need memory) */
    (void)w;
}

static _Atomic(mk_mem_oom_fn) oom_fn = default_oom;

void mk_mem_set_oom(mk_mem_oom_fn fn) { atomic_store(&oom_fn, fn ? fn : default_oom); }

_Noreturn void mk_mem_oom(void)
{
    atomic_load(&oom_fn)();
    abort();
}

void *mk_mem_alloc(size_t n)
{
    void *p = should_fail() ? NULL : malloc(n ? n : 1);
    if (!p)
        mk_mem_oom();
    return p;
}

void *mk_mem_calloc(size_t n, size_t size)
{
    void *p = should_fail() ? NULL : calloc(n ? n : 1, size ? size : 1);
    if (!p)
        mk_mem_oom();
    return p;
}

void *mk_mem_realloc(void *old, size_t n)
{
    void *p = should_fail() ? NULL : realloc(old, n ? n : 1);
    if (!p)
        mk_mem_oom();
    return p;
}

void mk_mem_free(void *p) { free(p); }

char *mk_mem_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = mk_mem_alloc(n);
    memcpy(p, s, n);
    return p;
}

typedef struct chunk {
    struct chunk *next;
    void *map;       /* what mmap returned, and its length */
    size_t maplen;
    size_t size, used;
    _Alignas(16) unsigned char data[];
} chunk;

#define HUGE_PAGE ((size_t)2 << 20)

struct mk_arena {
    chunk *head;
    size_t next_size;
    size_t total;
};

mk_arena *mk_arena_new(void)
{
    mk_arena *a = mk_mem_calloc(1, sizeof *a);
    a->next_size = 256 * 1024;
    return a;
}

void mk_arena_free(mk_arena *a)
{
    if (!a)
        return;
    for (chunk *c = a->head, *n; c; c = n) {
        n = c->next;
        munmap(c->map, c->maplen);
    }
    free(a);
}

static chunk *new_chunk(mk_arena *a, size_t need)
{
    size_t size = a->next_size;
    if (size < need)
        size = need;
    else if (a->next_size < 32u * 1024 * 1024)
        a->next_size *= 2;
    size_t want = sizeof(chunk) + size;
    bool huge = want >= HUGE_PAGE;
    size_t len = huge ? want + HUGE_PAGE : want;
    void *map = should_fail() ? MAP_FAILED : mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        mk_mem_oom();
    unsigned char *base = map;
    if (huge) {
        base = (unsigned char *)(((uintptr_t)map + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
        madvise(base, want, MADV_HUGEPAGE);
    }
    chunk *c = (chunk *)base;
    c->map = map;
    c->maplen = len;
    c->size = size;
    c->used = 0;
    /* keep the chunk with the most room first */
    if (a->head && need > a->next_size / 4) {
        c->next = a->head->next;
        a->head->next = c;
    } else {
        c->next = a->head;
        a->head = c;
    }
    return c;
}

static void *take(mk_arena *a, chunk *c, size_t n)
{
    void *p = c->data + c->used;
    c->used += n;
    a->total += n;
    return p; /* zero: arena memory is fresh from mmap, or zeroed when reused */
}

/* Out of line, so that the common case saves no registers: it is most of
 * the calls a big stack makes. */
__attribute__((noinline)) static void *take_new(mk_arena *a, size_t n)
{
    return take(a, new_chunk(a, n), n);
}

void *mk_arena_alloc(mk_arena *a, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    chunk *c = a->head;
    if (__builtin_expect(!c || c->size - c->used < n, 0))
        return take_new(a, n);
    return take(a, c, n);
}

void *mk_arena_grow(mk_arena *a, void *old, size_t old_n, size_t new_n)
{
    void *p = mk_arena_alloc(a, new_n);
    if (old && old_n)
        memcpy(p, old, old_n < new_n ? old_n : new_n);
    return p;
}

char *mk_arena_strndup(mk_arena *a, const char *s, size_t n)
{
    char *p = mk_arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *mk_arena_printf(mk_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = mk_arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

/* note [arena marks]: a chunk made since the mark is either before the
 * marked head or, a large one, right after it (new_chunk). */
mk_arena_mark mk_arena_mark_at(const mk_arena *a)
{
    chunk *c = a->head;
    return (mk_arena_mark){c, c ? c->next : NULL, c ? c->used : 0, a->total};
}

void mk_arena_reset(mk_arena *a, mk_arena_mark m)
{
    chunk *head = m.chunk;
    for (chunk *c = a->head, *n; c != head; c = n) {
        n = c->next;
        munmap(c->map, c->maplen);
    }
    a->head = head;
    if (head) {
        for (chunk *c = head->next, *n; c != m.next; c = n) {
            n = c->next;
            munmap(c->map, c->maplen);
        }
        head->next = m.next;
        memset(head->data + m.used, 0, head->used - m.used); /* arena memory is handed out zeroed */
        head->used = m.used;
    }
    a->total = m.total;
}

size_t mk_arena_used(const mk_arena *a) { return a->total; }
