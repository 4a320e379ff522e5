/* jalloc — a bump allocator for jansson in the `moksha` process.
 *
 * note [json memory]: plans and states of 100,000 resources are millions of
 * small jansson objects; through malloc they cost seconds to build and to
 * free. The compiler is a short-lived process whose documents live until it
 * exits, so jansson's allocations come from arenas and its frees are
 * ignored. Installed once by main() before any jansson call; the executor,
 * a long-running process, keeps malloc. */
#ifndef MK_JALLOC_H
#define MK_JALLOC_H

#include <stdbool.h>

void mk_jalloc_install(void);
/* note [scratch json] (jalloc.c): on, jansson values are made in a small
 * region of this thread; off, that region is emptied — every value made in
 * it is gone. For values built only to be compared and dropped. */
void mk_jalloc_scratch(bool on);
/* Free text that json_dumps made: it belongs to jansson's allocator,
 * whichever is installed (NULL is fine). */
void mk_jalloc_free_text(char *s);

#endif
