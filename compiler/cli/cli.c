/* cli — what every command of the `moksha` binary shares: the global
 * options, colour, and the one form of an error line. Options of the
 * commands are options.c's; the driver is compiler/pipeline.c. */
#include "compiler/cli/cli.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler/base/diag.h"
#include "compiler/pipeline.h"

mk_cli_options mk_cli_opts = {"auto", false, NULL};

bool mk_cli_color(FILE *f)
{
    if (strcmp(mk_cli_opts.color, "always") == 0)
        return true;
    if (strcmp(mk_cli_opts.color, "never") == 0 || getenv("NO_COLOR"))
        return false;
    return isatty(fileno(f));
}

void mk_cli_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bool c = mk_cli_color(stderr);
    fprintf(stderr, "%smoksha: error:%s ", c ? "\033[1;31m" : "", c ? "\033[0m" : "");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* The executor's rule for a name (runtime/paths.c keeps its own: the two
 * programs share no code). */
static bool env_name(const char *s)
{
    size_t n = strlen(s);
    return n && n <= 63 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n && s[0] != '-' && s[0] != '_';
}

/* The environments the stack knows (env/NAME.yaml, .moksha/env/NAME/),
 * the closest to name, into out; false for none. */
static bool env_suggest(const char *name, char *out, size_t n)
{
    const char *dirs[] = {ENV_FILES_DIR, MOKSHA_DIR "/env"}, *names[64];
    char kept[64][64];
    size_t k = 0;
    for (size_t d = 0; d < 2; d++) {
        DIR *dp = opendir(dirs[d]);
        for (struct dirent *e; dp && (e = readdir(dp)) && k < 64;) {
            size_t len = strlen(e->d_name);
            bool yaml = d == 0 && len > 5 && strcmp(e->d_name + len - 5, ".yaml") == 0;
            if ((yaml || (d == 1 && e->d_name[0] != '.')) && len < 64 + (yaml ? 5 : 0))
                snprintf(kept[k], sizeof kept[k], "%.*s", (int)(yaml ? len - 5 : len), e->d_name), names[k] = kept[k], k++;
        }
        if (dp)
            closedir(dp);
    }
    const char *s = mk_diag_suggest(name, names, k);
    return s && snprintf(out, n, "%s", s) > 0;
}

bool mk_cli_env_select(const char *name)
{
    const char *from = name ? "--env" : "MOKSHA_ENV";
    name = name ? name : getenv("MOKSHA_ENV");
    if (!name || (!*name && strcmp(from, "MOKSHA_ENV") == 0))
        return true;
    if (!env_name(name)) {
        mk_cli_err("%s: `%.80s` is not an environment's name: 1 to 63 lower-case letters, digits, `-` or `_`, starting "
                   "with a letter or a digit (dev, staging, prod-eu)", from, name);
        return false;
    }
    char file[128], state[160];
    struct stat sb;
    snprintf(file, sizeof file, "%s/%s.yaml", ENV_FILES_DIR, name);
    mk_pipeline_env_path(name, "state.json", state, sizeof state);
    if (strcmp(name, "global") == 0) {
        mk_cli_err("%s: `global` is not an environment: env/global.yaml holds what every environment shares", from);
        return false;
    }
    if (stat(file, &sb) != 0 && stat(state, &sb) != 0) {
        char near[64];
        bool has = env_suggest(name, near, sizeof near);
        mk_cli_err("%s: this stack has no environment `%s` (no %s, and no state at %s)%s%s%s%s, create %s (it may be "
                   "empty: it holds the environment's variables; docs/environments.md)", from, name, file, state,
                   has ? ": did you mean `" : "", has ? near : "", has ? "`? For a new environment" : "",
                   has ? "" : "; to make it", file);
        return false;
    }
    mk_cli_opts.env = name;
    return true;
}
