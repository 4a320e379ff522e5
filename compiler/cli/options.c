/* options — the command line of each command: one table-driven parser
 * (mk_options_parse) over a table per command, and what every command that
 * compiles a stack takes (paths, --var, --var-file, --policies, --override
 * with its --reason, --replace-placement) into a driver request. Every
 * message is the one the commands gave when each had its own loop. It
 * checks the form of what is given; whether a name names something is the
 * driver's to find (compiler/pipeline.h) and run.c's to say. */
#include "compiler/cli/options.h"

#include <string.h>

#include "compiler/base/mem.h"
#include "compiler/cli/cli.h"

const char *mk_options_value(mk_options_args *a, const char *name, bool *bad)
{
    const char *s = a->argv[a->i];
    size_t n = strlen(name);
    if (strncmp(s, name, n) != 0)
        return NULL;
    if (s[n] == '=')
        return s + n + 1;
    if (s[n] != 0)
        return NULL;
    if (a->i + 1 >= a->argc) {
        mk_cli_err("%s needs a value", name);
        *bad = true;
        return NULL;
    }
    return a->argv[++a->i];
}

bool mk_options_is_help(const char *s) { return strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0; }

const char **mk_options_push(const char **v, size_t *n, const char *s)
{
    v = mk_mem_realloc(v, (*n + 1) * sizeof *v);
    v[(*n)++] = s;
    return v;
}

static bool blank(const char *s)
{
    for (; *s; s++)
        if (!strchr(" \t\r\n\v\f", *s))
            return false;
    return true;
}

bool mk_options_stack_arg(mk_options_args *a, mk_pipeline_req *r, bool *bad)
{
    const char *s = a->argv[a->i], *v;
    if ((v = mk_options_value(a, "--var-file", bad)))
        r->var_files = mk_options_push(r->var_files, &r->nvar_files, v);
    else if ((v = mk_options_value(a, "--var", bad)))
        r->var_flags = mk_options_push(r->var_flags, &r->nvar_flags, v);
    else if ((v = mk_options_value(a, "--policies", bad)))
        r->policy_dirs = mk_options_push(r->policy_dirs, &r->npolicy_dirs, v);
    else if ((v = mk_options_value(a, "--replace-placement", bad)))
        r->replace_placement = mk_options_push(r->replace_placement, &r->nreplace_placement, v);
    else if ((v = mk_options_value(a, "--override", bad))) {
        if (blank(v)) {
            mk_cli_err("--override takes the name of a soft policy");
            *bad = true;
        }
        r->overrides = mk_mem_realloc(r->overrides, (r->noverrides + 1) * sizeof *r->overrides);
        r->overrides[r->noverrides++] = (mk_policy_override){v, NULL};
    } else if ((v = mk_options_value(a, "--reason", bad))) {
        if (!r->noverrides || r->overrides[r->noverrides - 1].reason) {
            mk_cli_err("--reason follows an --override NAME");
            *bad = true;
        } else if (blank(v)) {
            mk_cli_err("--reason for --override %s is blank: say why the policy may fail, e.g. --reason \"approved "
                       "by finance, FIN-2231\" (it is recorded in the plan and the audit log)",
                       r->overrides[r->noverrides - 1].name);
            *bad = true;
        } else {
            r->overrides[r->noverrides - 1].reason = v;
        }
    }
    else if (s[0] != '-' || !s[1])
        r->paths = mk_options_push(r->paths, &r->npaths, s);
    else
        return *bad;
    return true;
}

void mk_options_req_free(mk_pipeline_req *r)
{
    mk_mem_free(r->paths);
    mk_mem_free(r->var_files);
    mk_mem_free(r->var_flags);
    mk_mem_free(r->policy_dirs);
    mk_mem_free(r->overrides);
    mk_mem_free(r->replace_placement);
}

bool mk_options_overrides_ok(const mk_pipeline_req *r)
{
    for (size_t i = 0; i < r->noverrides; i++) {
        if (!r->overrides[i].reason) {
            mk_cli_err("--override %s needs --reason TEXT: an override is recorded with its reason", r->overrides[i].name);
            return false;
        }
        for (size_t k = 0; k < i; k++)
            if (strcmp(r->overrides[k].name, r->overrides[i].name) == 0) { /* which reason would the plan record? */
                mk_cli_err("--override %s is given twice: give it once, with one --reason", r->overrides[i].name);
                return false;
            }
    }
    return true;
}

bool mk_options_only(const mk_pipeline_req *r, const char *cmd, unsigned allowed)
{
    static const struct { unsigned bit; const char *opt; } OPTS[] = {
        {MK_OPTIONS_PATHS, "a stack path"}, {MK_OPTIONS_VARS, "--var"}, {MK_OPTIONS_VARS, "--var-file"},
        {MK_OPTIONS_POLICIES, "--policies"}, {MK_OPTIONS_OVERRIDES, "--override"}, {MK_OPTIONS_REPLACE, "--replace-placement"},
    };
    size_t used[] = {r->npaths, r->nvar_flags, r->nvar_files, r->npolicy_dirs, r->noverrides, r->nreplace_placement};
    for (size_t i = 0; i < sizeof OPTS / sizeof *OPTS; i++)
        if (used[i] && !(allowed & OPTS[i].bit)) {
            if (i == 0)
                mk_cli_err("%s takes no stack path, found `%s`", cmd, r->paths[0]);
            else
                mk_cli_err("%s is not an option of %s (see moksha %.*s --help)", OPTS[i].opt, cmd,
                           (int)strcspn(cmd, " "), cmd);
            return false;
        }
    return true;
}
