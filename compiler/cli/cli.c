/* cli — shared pieces of the command line. */
#include "compiler/cli/cli.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compiler/base/buf.h"
#include "compiler/base/diag.h"
#include "compiler/base/mem.h"
#include "compiler/front/eval.h"
#include "compiler/front/vars.h"
#include "compiler/middle/policy.h"

mk_cli_options mk_cli_opts = {"auto", false};

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

const char *mk_cli_opt(mk_cli_args *a, const char *name, bool *bad)
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

bool mk_cli_is_help(const char *s) { return strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0; }

const char **mk_cli_push(const char **v, size_t *n, const char *s)
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

bool mk_cli_stack_arg(mk_cli_args *a, mk_cli_compile_req *r, bool *bad)
{
    const char *s = a->argv[a->i], *v;
    if ((v = mk_cli_opt(a, "--var-file", bad)))
        r->var_files = mk_cli_push(r->var_files, &r->nvar_files, v);
    else if ((v = mk_cli_opt(a, "--var", bad)))
        r->var_flags = mk_cli_push(r->var_flags, &r->nvar_flags, v);
    else if ((v = mk_cli_opt(a, "--policies", bad)))
        r->policy_dirs = mk_cli_push(r->policy_dirs, &r->npolicy_dirs, v);
    else if ((v = mk_cli_opt(a, "--replace-placement", bad)))
        r->replace_placement = mk_cli_push(r->replace_placement, &r->nreplace_placement, v);
    else if ((v = mk_cli_opt(a, "--override", bad))) {
        if (blank(v)) {
            mk_cli_err("--override takes the name of a soft policy");
            *bad = true;
        }
        r->overrides = mk_mem_realloc(r->overrides, (r->noverrides + 1) * sizeof *r->overrides);
        r->overrides[r->noverrides++] = (mk_policy_override){v, NULL};
    } else if ((v = mk_cli_opt(a, "--reason", bad))) {
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
        r->paths = mk_cli_push(r->paths, &r->npaths, s);
    else
        return *bad;
    return true;
}

static void *compile_thread(void *arg)
{
    mk_cli_compile_req *r = arg;
    mk_program *p = r->p;
    p->strict = r->strict && !r->destroy; /* note [destroy variables] in eval.c */
    p->destroy_vars = r->destroy;
    if (!mk_program_load(p, r->paths, r->npaths))
        return NULL;
    for (size_t i = 0; i < r->npolicy_dirs; i++)
        mk_program_import(p, r->policy_dirs[i]);
    for (size_t i = 0; i < r->nvar_files; i++)
        mk_vars_file(p, r->var_files[i]);
    mk_vars_env(p);
    for (size_t i = 0; i < r->nvar_flags; i++)
        mk_vars_flag(p, r->var_flags[i]);
    if (r->await_state)
        p->state = r->await_state(r->await_ud);
    mk_eval_program(p);
    mk_policy_check_structure(p);
    return NULL;
}

/* Deep chains of references recurse; give the compiler a large stack. */
void mk_cli_compile(mk_cli_compile_req *r)
{
    pthread_attr_t attr;
    pthread_t th;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, (size_t)1 << 30);
    if (pthread_create(&th, &attr, compile_thread, r) != 0)
        compile_thread(r);
    else
        pthread_join(th, NULL);
    pthread_attr_destroy(&attr);
}

void mk_cli_req_free(mk_cli_compile_req *r)
{
    mk_mem_free(r->paths);
    mk_mem_free(r->var_files);
    mk_mem_free(r->var_flags);
    mk_mem_free(r->policy_dirs);
    mk_mem_free(r->overrides);
    mk_mem_free(r->replace_placement);
}

bool mk_cli_overrides_ok(const mk_cli_compile_req *r)
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

bool mk_cli_only(const mk_cli_compile_req *r, const char *cmd, unsigned allowed)
{
    static const struct { unsigned bit; const char *opt; } OPTS[] = {
        {MK_CLI_PATHS, "a stack path"}, {MK_CLI_VARS, "--var"}, {MK_CLI_VARS, "--var-file"},
        {MK_CLI_POLICIES, "--policies"}, {MK_CLI_OVERRIDES, "--override"}, {MK_CLI_REPLACE, "--replace-placement"},
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

/* A name from the command line that must name something: an error with the
 * closest candidate, else the candidates themselves when they are few. */
static void unmatched(const char *opt, const char *name, const char *what, const char *const *cands, size_t n)
{
    const char *s = mk_diag_suggest(name, cands, n);
    if (s) {
        mk_cli_err("%s %s: no %s of that name; did you mean `%s`?", opt, name, what, s);
        return;
    }
    mk_buf b = {0};
    for (size_t i = 0; i < n && i < 8; i++)
        mk_buf_printf(&b, "%s%s", i ? ", " : "", cands[i]);
    if (n > 8)
        mk_buf_printf(&b, ", … (%zu in all)", n);
    if (n)
        mk_cli_err("%s %s: no %s of that name (there are: %s)", opt, name, what, mk_buf_cstr(&b));
    else
        mk_cli_err("%s %s: the stack has no %s at all", opt, name, what);
    mk_buf_free(&b);
}

bool mk_cli_overrides_match(const mk_cli_compile_req *r, json_t *results)
{
    size_t n = json_array_size(results);
    const char **names = mk_mem_calloc(n + 1, sizeof *names);
    for (size_t i = 0; i < n; i++)
        names[i] = json_string_value(json_object_get(json_array_get(results, i), "name"));
    bool ok = true;
    for (size_t k = 0; k < r->noverrides; k++) {
        bool hit = false;
        for (size_t i = 0; i < n && !hit; i++)
            hit = names[i] && strcmp(names[i], r->overrides[k].name) == 0;
        if (!hit) {
            unmatched("--override", r->overrides[k].name, "policy", names, n);
            ok = false;
        }
    }
    mk_mem_free(names);
    return ok;
}

bool mk_cli_replace_match(const mk_cli_compile_req *r, const mk_program *p)
{
    bool ok = true;
    for (size_t k = 0; k < r->nreplace_placement; k++) {
        bool hit = false;
        for (size_t i = 0; i < p->ninstances && !hit; i++)
            hit = strcmp(p->instances[i]->address, r->replace_placement[k]) == 0;
        if (hit)
            continue;
        const char **addrs = mk_mem_calloc(p->ninstances + 1, sizeof *addrs);
        for (size_t i = 0; i < p->ninstances; i++)
            addrs[i] = p->instances[i]->address;
        unmatched("--replace-placement", r->replace_placement[k], "resource", addrs, p->ninstances);
        mk_mem_free(addrs);
        ok = false;
    }
    return ok;
}
