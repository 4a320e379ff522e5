/* jregion — jansson's values from one prefaulted region while a plan is
 * loaded (note [plan memory], below); the rest of the executor's values use
 * malloc. */
#include "runtime/jregion.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mman.h>

/* note [plan memory]: loading a plan makes ~15 small jansson values per
 * 100 bytes of it, and on first touch every 4 KiB page of heap they land on
 * is a page fault — on a virtual machine most of the load time (a
 * 1,000-change plan: 35 ms, of which parsing is 12). So the values of the
 * plan come from one region mapped with MAP_POPULATE (filled in one call)
 * and bumped through; a free that falls in the region does nothing (the
 * plan lives until exit), any other goes to free(). Values made after the
 * load, on any thread, use malloc as before. Only the parse of the changes
 * (mk_planfile_take, for apply) draws on it, sized at 12 bytes a byte of
 * the file (a 57 MB plan makes 571 MB of values); verifying parses too
 * little to pay for prefaulting one. The region is never unmapped:
 * the process ends soon after the plan is done with. */
static char *region;
static size_t region_cap;
static _Atomic size_t region_used;
static volatile bool region_on;

static void *region_malloc(size_t n)
{
    if (region_on) {
        size_t m = (n + 15) & ~(size_t)15;
        size_t at = region_used;
        if (at + m <= region_cap) {
            region_used = at + m; /* one thread loads the plan */
            return region + at;
        }
    }
    return malloc(n);
}

static void region_free(void *p)
{
    if (p && (char *)p >= region && (char *)p < region + region_cap)
        return;
    free(p);
}

void mk_jregion_begin(size_t bytes)
{
    if (region) {
        region_on = true;
        return;
    }
    bytes = bytes < (1u << 20) ? 1u << 20 : bytes > (256u << 20) ? 256u << 20 : bytes;
    void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (m == MAP_FAILED)
        return;
    region = m;
    region_cap = bytes;
    json_set_alloc_funcs(region_malloc, region_free);
    region_on = true;
}

void mk_jregion_end(void) { region_on = false; }
