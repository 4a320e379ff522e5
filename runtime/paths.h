/* paths — where the executor's files are in a stack: the directory
 * .moksha under the working directory (moksha-exec -C DIR changes it), and
 * inside it the files of the environment selected (docs/environments.md):
 * the state, its lock, the audit log, the last refresh's observations and
 * the simulated cloud. With no environment selected they are where they
 * always were (.moksha/state.json, …); with `--env NAME` (or MOKSHA_ENV)
 * they are under .moksha/env/NAME/. The key files and the stack id are the
 * stack's, shared by its environments, and named where they are read
 * (planfile.c, rotate.c); the audit head is named after the log (audit.c).
 *
 * One selection per process, made before any file is opened (main.c);
 * the service selects per request, in the child that runs it. */
#ifndef MK_RUNTIME_PATHS_H
#define MK_RUNTIME_PATHS_H

#include <stdbool.h>
#include <stddef.h>

#define MK_PATH_DIR ".moksha"
#define MK_ENV_MAX 63 /* bytes of an environment's name */

typedef struct mk_paths {
    char env[MK_ENV_MAX + 1]; /* "" when none is selected */
    char dir[96];             /* .moksha, or .moksha/env/NAME */
    char state[112], lock[112], audit[112], observed[112], sim[112];
} mk_paths;

extern mk_paths mk_paths_now;

#define MK_PATH_ENV_DIR (mk_paths_now.dir)
#define MK_PATH_STATE (mk_paths_now.state)
#define MK_PATH_LOCKFILE (mk_paths_now.lock)
#define MK_PATH_AUDIT (mk_paths_now.audit)
#define MK_PATH_OBSERVED (mk_paths_now.observed) /* what the last refresh saw (runtime/refresh.c) */
#define MK_PATH_SIM (mk_paths_now.sim)           /* the simulated cloud (providers/sim.c) */

/* Is name an environment's name: 1 to 63 of [a-z0-9_-], starting with a
 * letter or a digit? ("default" is a name like any other: it is not the
 * no-environment files.) */
bool mk_paths_env_valid(const char *name);
/* Select the environment name (NULL or "": none). False, with why, for a
 * name that is not one. */
bool mk_paths_select(const char *name, char *why, size_t whylen);
/* The file names of environment name (NULL or "": none) into *out, without
 * selecting it: a backend opened for another environment (`env list`,
 * `state migrate`). False, with why, for a name that is not one. */
bool mk_paths_for(const char *name, mk_paths *out, char *why, size_t whylen);
/* Whether environment name's directories (.moksha, .moksha/env,
 * .moksha/env/NAME), those there are, are directories of their own: a
 * symbolic link (or a file) in the place of one would make this
 * environment's state, lock, audit log and sim world another
 * environment's or another stack's. True for no environment (the stack's
 * own files are as they always were). False, with why, naming the path. */
bool mk_paths_own_dirs(const char *name, char *why, size_t whylen);
/* note [plan environment]: a plan is bound to the environment it was made
 * in (its `env`, NULL when it has none). With no environment selected the
 * plan's own is selected; with one selected, a plan of another environment,
 * or of none, is refused: false, with why naming both. */
bool mk_paths_bind(const char *plan_env, char *why, size_t whylen);

#endif
