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

void mk_jalloc_install(void);

#endif
