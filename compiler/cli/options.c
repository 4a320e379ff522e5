/* options — the command line of each command: one table-driven parser
 * (mk_options_parse) over a table per command, and what every command that
 * compiles a stack takes (paths, --var, --var-file, --policies, --override
 * with its --reason, --replace-placement) into a driver request. Every
 * message is the one the commands gave when each had its own loop. It
 * checks the form of what is given; whether a name names something is the
 * driver's to find (compiler/pipeline.h) and run.c's to say. */
#include "compiler/cli/options.h"

#include <stdio.h>
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

/* --var-file, --var, --policies and --replace-placement: repeatable, in order. */
static bool take_list(void *ud, const char *name, const char *v)
{
    mk_pipeline_req *r = ud;
    if (strcmp(name, "--var-file") == 0)
        r->var_files = mk_options_push(r->var_files, &r->nvar_files, v);
    else if (strcmp(name, "--var") == 0)
        r->var_flags = mk_options_push(r->var_flags, &r->nvar_flags, v);
    else if (strcmp(name, "--policies") == 0)
        r->policy_dirs = mk_options_push(r->policy_dirs, &r->npolicy_dirs, v);
    else if (strcmp(name, "--waiver") == 0)
        r->waiver_files = mk_options_push(r->waiver_files, &r->nwaiver_files, v);
    else
        r->replace_placement = mk_options_push(r->replace_placement, &r->nreplace_placement, v);
    return true;
}

static bool take_override(void *ud, const char *name, const char *v)
{
    (void)name;
    mk_pipeline_req *r = ud;
    bool ok = !blank(v);
    if (!ok)
        mk_cli_err("--override takes the name of a soft policy");
    r->overrides = mk_mem_realloc(r->overrides, (r->noverrides + 1) * sizeof *r->overrides);
    r->overrides[r->noverrides++] = (mk_policy_override){v, NULL};
    return ok;
}

/* --reason TEXT belongs to the --override just before it. */
static bool take_reason(void *ud, const char *name, const char *v)
{
    (void)name;
    mk_pipeline_req *r = ud;
    if (!r->noverrides || r->overrides[r->noverrides - 1].reason) {
        mk_cli_err("--reason follows an --override NAME");
        return false;
    }
    if (blank(v)) {
        mk_cli_err("--reason for --override %s is blank: say why the policy may fail, e.g. --reason \"approved "
                   "by finance, FIN-2231\" (it is recorded in the plan and the audit log)",
                   r->overrides[r->noverrides - 1].name);
        return false;
    }
    r->overrides[r->noverrides - 1].reason = v;
    return true;
}

/* What every command that compiles a stack takes (mk_options.stack). */
static const mk_option STACK[] = {
    {"--var-file", true, .take = take_list},  {"--var", true, .take = take_list},
    {"--policies", true, .take = take_list},  {"--replace-placement", true, .take = take_list},
    {"--waiver", true, .take = take_list},
    {"--override", true, .take = take_override}, {"--reason", true, .take = take_reason},
};

/* Whether argv[a->i] is an option of table (or one of its names without
 * the value it needs: then said, and *bad); taken into ud when it is. */
static bool match(const mk_option *table, size_t n, void *ud, mk_options_args *a, bool *bad)
{
    for (size_t k = 0; k < n; k++) {
        const mk_option *o = &table[k];
        const char *v = NULL;
        if (o->value ? !(v = mk_options_value(a, o->name, bad)) : strcmp(a->argv[a->i], o->name) != 0) {
            if (*bad)
                return true;
            continue;
        }
        if (o->str)
            *o->str = v;
        if (o->flag)
            *o->flag = true;
        if (o->take && !o->take(ud, o->name, v))
            *bad = true;
        return true;
    }
    return false;
}

/* An argument that no option and no path took. */
static void unknown(const mk_options *o, const char *s)
{
    if (o->see)
        mk_cli_err("unknown option `%s` for %s (see moksha %s --help)", s, o->cmd, o->see);
    else
        mk_cli_err("unknown option `%s` for %s", s, o->cmd);
}

int mk_options_parse(const mk_options *o, int argc, char **argv)
{
    mk_options_args a = {argc, 1, argv};
    bool bad = false;
    if (o->stack) /* the global --env (compiler/main.c) is every stack's */
        o->stack->env = mk_cli_opts.env;
    for (; a.i < argc && !bad; a.i++) {
        const char *s = argv[a.i];
        if (mk_options_is_help(s)) {
            fputs(o->help, stdout);
            return MK_OPTIONS_HELP;
        }
        if (match(o->opts, o->nopts, o->ud, &a, &bad) ||
            (o->stack && match(STACK, sizeof STACK / sizeof *STACK, o->stack, &a, &bad)) || (o->arg && o->arg(o->ud, s, &bad)))
            continue;
        bool path = s[0] != '-' || !s[1]; /* (`-` alone is a path: standard input, or a file of that name) */
        if (path && o->stack)
            o->stack->paths = mk_options_push(o->stack->paths, &o->stack->npaths, s);
        else if (path && o->paths)
            *o->paths = mk_options_push(*o->paths, o->npaths, s);
        else {
            unknown(o, s);
            bad = true;
        }
    }
    return bad ? MK_OPTIONS_BAD : MK_OPTIONS_OK;
}

void mk_options_req_free(mk_pipeline_req *r)
{
    mk_mem_free(r->paths);
    mk_mem_free(r->var_files);
    mk_mem_free(r->var_flags);
    mk_mem_free(r->policy_dirs);
    mk_mem_free(r->waiver_files);
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
        {MK_OPTIONS_POLICIES, "--waiver"},
    };
    size_t used[] = {r->npaths, r->nvar_flags, r->nvar_files, r->npolicy_dirs, r->noverrides, r->nreplace_placement,
                     r->nwaiver_files};
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
