/* paths — the file names of the environment selected (runtime/paths.h). */
#include "runtime/paths.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

mk_paths mk_paths_now = {
    "", MK_PATH_DIR, MK_PATH_DIR "/state.json", MK_PATH_DIR "/state.lock", MK_PATH_DIR "/audit.jsonl",
    MK_PATH_DIR "/observed.json", MK_PATH_DIR "/sim",
};

bool mk_paths_env_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > MK_ENV_MAX || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n)
        return false;
    return name[0] != '-' && name[0] != '_';
}

bool mk_paths_for(const char *name, mk_paths *out, char *why, size_t whylen)
{
    mk_paths p = {0};
    if (name && *name) {
        if (!mk_paths_env_valid(name)) {
            snprintf(why, whylen, "`%.80s` is not an environment's name: 1 to %d lower-case letters, digits, `-` or `_`, "
                                  "starting with a letter or a digit (dev, staging, prod-eu)", name, MK_ENV_MAX);
            return false;
        }
        snprintf(p.env, sizeof p.env, "%s", name);
        snprintf(p.dir, sizeof p.dir, "%s/env/%s", MK_PATH_DIR, name);
    } else {
        snprintf(p.dir, sizeof p.dir, "%s", MK_PATH_DIR);
    }
    snprintf(p.state, sizeof p.state, "%s/state.json", p.dir);
    snprintf(p.lock, sizeof p.lock, "%s/state.lock", p.dir);
    snprintf(p.audit, sizeof p.audit, "%s/audit.jsonl", p.dir);
    snprintf(p.observed, sizeof p.observed, "%s/observed.json", p.dir);
    snprintf(p.sim, sizeof p.sim, "%s/sim", p.dir);
    *out = p;
    return true;
}

bool mk_paths_select(const char *name, char *why, size_t whylen)
{
    return mk_paths_for(name, &mk_paths_now, why, whylen);
}

bool mk_paths_bind(const char *plan_env, char *why, size_t whylen)
{
    const char *now = mk_paths_now.env;
    if (plan_env && !mk_paths_env_valid(plan_env)) { /* ("": a plan whose env is no string) */
        snprintf(why, whylen, "the plan's `env` is not an environment's name");
        return false;
    }
    if (!*now)
        return !plan_env || mk_paths_select(plan_env, why, whylen);
    if (plan_env && strcmp(plan_env, now) == 0)
        return true;
    if (plan_env)
        snprintf(why, whylen, "the plan was made for environment %.80s, and --env (or MOKSHA_ENV) selects environment %s: "
                              "apply it with --env %.80s, or plan again with --env %s", plan_env, now, plan_env, now);
    else
        snprintf(why, whylen, "the plan was made without an environment (the stack's own files, %s/state.json), and --env "
                              "(or MOKSHA_ENV) selects environment %s: apply it without --env, or plan again with --env %s",
                 MK_PATH_DIR, now, now);
    return false;
}

bool mk_paths_own_dirs(const char *name, char *why, size_t whylen)
{
    if (!name || !*name)
        return true;
    char dirs[3][96];
    snprintf(dirs[0], sizeof dirs[0], "%s", MK_PATH_DIR);
    snprintf(dirs[1], sizeof dirs[1], "%s/env", MK_PATH_DIR);
    snprintf(dirs[2], sizeof dirs[2], "%s/env/%.*s", MK_PATH_DIR, MK_ENV_MAX, name);
    for (int i = 0; i < 3; i++) {
        struct stat sb;
        if (lstat(dirs[i], &sb) != 0 && errno == ENOENT)
            return true; /* made when first written, as a directory */
        if (errno = 0, lstat(dirs[i], &sb) != 0)
            return snprintf(why, whylen, "environment %s: %s: %s", name, dirs[i], strerror(errno)), false;
        if (!S_ISDIR(sb.st_mode) || S_ISLNK(sb.st_mode)) {
            snprintf(why, whylen, "environment %s: %s is %s: an environment's directories are the stack's own, or its "
                                  "files would be another's; make it a plain directory", name, dirs[i],
                     S_ISLNK(sb.st_mode) ? "a symbolic link" : "not a directory");
            return false;
        }
    }
    return true;
}
