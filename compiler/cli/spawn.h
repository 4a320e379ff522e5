/* spawn — running moksha-exec for the commands that hand over to it (apply,
 * destroy, state, audit, refresh, drift, plan --refresh, reconcile): where
 * it is, the stop signals passed on to it, a signed plan handed over in a
 * file only this user can read, and its options checked by its own rules
 * before anything is planned. It does not talk to the executor service
 * (compiler/cli/submit.h) and decides nothing about a plan. */
#ifndef MK_SPAWN_H
#define MK_SPAWN_H

#include <stdbool.h>
#include <stddef.h>

#include "compiler/base/buf.h"

/* moksha-exec can be run: next to this binary, or on PATH; else said. */
bool mk_spawn_found(void);
/* The same, saying nothing (planning asks the executor where the state is
 * when there is one: compiler/cli/execstate.c). */
bool mk_spawn_found_quietly(void);

/* note [the spec's stack]: the executor keys a state on postgres by the
 * stack's name (docs/state.md), so every moksha-exec run is given
 * `--stack NAME`, NAME from the `stack` block of paths (the current
 * directory when this is never called, read at the first run), unless
 * MOKSHA_STACK is set or the command's own arguments hold a `--stack`
 * (those win). Nothing is given when there is no .moksha file. */
void mk_spawn_stack_of(const char *const *paths, size_t npaths);

/* Run `moksha-exec ARGS…` (args[0] is its command) and wait for it; its
 * exit code, or 1 when it could not be run or was killed (said). SIGINT,
 * SIGTERM and SIGHUP sent to this process meanwhile are passed on to it
 * (note [signal forwarding]); it starts with none of them blocked. When
 * out is not NULL its standard output is appended to out rather than
 * printed; its standard error is this process's. */
int mk_spawn_exec(const char **args, size_t nargs, mk_buf *out);
/* The same, with its standard output and error onto the descriptors out_fd
 * and err_fd (-1: this process's). */
int mk_spawn_exec_fds(const char **args, size_t nargs, int out_fd, int err_fd);

/* The signed plan text written under .moksha/ where only this user can
 * read it, `moksha-exec CMD ARGS… FILE` run as mk_spawn_exec does, and the
 * file removed; its exit code. */
int mk_spawn_with_plan(const char *cmd, const char *text, const char **args, size_t nargs, mk_buf *out);

/* Whether v is a value moksha-exec takes for its option name
 * (--parallelism, --retries, --timeout, --auto-approve-risk, --progress,
 * --approve; any other name: true); else said (note [apply options]). */
bool mk_spawn_option_ok(const char *name, const char *v);
/* name, and v when it is not NULL, pushed onto the *n options *args (an
 * array of mk_options_push's); v checked as by mk_spawn_option_ok. */
bool mk_spawn_push_option(const char ***args, size_t *n, const char *name, const char *v);

#endif
