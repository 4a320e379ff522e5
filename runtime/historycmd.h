/* historycmd — `moksha-exec state history [--format json]` and `state show
 * --serial N [ADDRESS]` (docs/state.md, "History"): the serials a backend
 * keeps, their chain verified, and the state as one of them had it. They
 * read through runtime/backend.h without the lock and write nothing; a
 * revert is a plan (`moksha state revert`), never done here. Each prints
 * to stdout/stderr and returns an exit code of runtime/exitcode.h. */
#ifndef MK_RUNTIME_HISTORYCMD_H
#define MK_RUNTIME_HISTORYCMD_H

#include <stdbool.h>
#include <stddef.h>

struct mk_backend;
struct mk_config;

/* argv[0] is "history" or "show" (the words after `state`). */
int mk_historycmd_history(int argc, char **argv);
int mk_historycmd_show(int argc, char **argv);
/* Does `state show`'s argument list ask for a serial (--serial), so that
 * it is ours rather than statecmd's? */
bool mk_historycmd_wants_show(int argc, char **argv);
/* The executor's configuration loaded into cfg and the backend of kind
 * (NULL: the one it names) opened for stack (NULL: none given) and the
 * environment selected; NULL with why (cfg then needs no free). For
 * migrate.c too. */
struct mk_backend *mk_historycmd_open(struct mk_config *cfg, const char *kind, const char *stack, char *why,
                                      size_t whylen);

#endif
