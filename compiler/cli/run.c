/* run — the driver run for a command, and what it recorded said (run.h).
 * The driver prints nothing; everything it leaves for the user is said
 * here, at the point of the run where it arose, so that stderr reads as it
 * would if each stage printed as it went. */
#include "compiler/cli/run.h"

#include <string.h>

#include "compiler/back/cost_out.h"
#include "compiler/back/planfile.h"
#include "compiler/back/render.h"
#include "compiler/base/buf.h"
#include "compiler/base/diag.h"
#include "compiler/base/mem.h"
#include "compiler/cli/cli.h"
#include "compiler/cli/execstate.h"
#include "compiler/cli/spawn.h"
#include "compiler/cli/submit.h"

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

/* Each --override that names no policy of results, said. */
static void overrides_unmatched(const mk_pipeline_req *r, json_t *results)
{
    size_t n = json_array_size(results);
    const char **names = mk_mem_calloc(n + 1, sizeof *names);
    for (size_t i = 0; i < n; i++)
        names[i] = json_string_value(json_object_get(json_array_get(results, i), "name"));
    for (size_t k = 0; k < r->noverrides; k++)
        if (!mk_pipeline_override_named(results, r->overrides[k].name))
            unmatched("--override", r->overrides[k].name, "policy", names, n);
    mk_mem_free(names);
}

/* Each --replace-placement that names no instance of p, said. */
static void replace_unmatched(const mk_pipeline_req *r, const mk_program *p)
{
    for (size_t k = 0; k < r->nreplace_placement; k++) {
        if (mk_pipeline_replace_named(r, p, k))
            continue;
        const char **addrs = mk_mem_calloc(p->ninstances + 1, sizeof *addrs);
        for (size_t i = 0; i < p->ninstances; i++)
            addrs[i] = p->instances[i]->address;
        unmatched("--replace-placement", r->replace_placement[k], "resource", addrs, p->ninstances);
        mk_mem_free(addrs);
    }
}

void mk_run_print_phase(const mk_pipeline_phase *ph)
{
    if (ph->peak_rss_mib < 0)
        fprintf(stderr, "stats: %s_ms=%.0f\n", ph->name, ph->ms);
    else
        fprintf(stderr, "stats: %s_ms=%.0f peak_rss_mib=%ld\n", ph->name, ph->ms, ph->peak_rss_mib);
}

void mk_run_phase(mk_planned *pl, const char *name, double *t0)
{
    mk_pipeline_mark(pl, name, t0);
    if (mk_cli_opts.stats)
        mk_run_print_phase(&pl->phases[pl->nphases - 1]);
}

/* The phases in order, each with what arose in it said before its line:
 * the unmatched --replace-placement in the compile, --explain's placements
 * in the cost, the unmatched --override in the policies. */
static void report(const mk_pipeline_req *r, const mk_planned *pl)
{
    for (size_t i = 0; i < pl->nphases; i++) {
        const char *name = pl->phases[i].name;
        if (strcmp(name, "compile") == 0 && pl->replace_unmatched)
            replace_unmatched(r, pl->p);
        else if (strcmp(name, "cost") == 0 && r->explain && pl->placement)
            mk_cost_out_explain(pl->placement, stdout);
        else if (strcmp(name, "policies") == 0 && pl->override_unmatched)
            overrides_unmatched(r, pl->policies);
        if (mk_cli_opts.stats)
            mk_run_print_phase(&pl->phases[i]);
    }
}

/* Another stack's outputs, as the executor reads them from its backend:
 * `moksha-exec state outputs --stack S --from SELF [--from-env ENV] [--env E] --format json`. Its
 * stderr is this process's: what went wrong is said there, in its words. */
static json_t *read_outputs(void *ud, const char *self, const char *stack, const char *env, char *why, size_t whylen)
{
    (void)ud;
    const char *args[12] = {"state", "outputs", "--stack", stack, "--from", self};
    size_t n = 6;
    if (mk_cli_opts.env) /* this stack's own files: a state read must not be them */
        args[n++] = "--from-env", args[n++] = mk_cli_opts.env;
    if (env)
        args[n++] = "--env", args[n++] = env;
    args[n++] = "--format", args[n++] = "json";
    mk_buf out = {0};
    int rc = mk_spawn_found() ? mk_spawn_exec(args, n, &out) : -1;
    json_t *doc = rc == 0 ? json_loadb(out.data ? out.data : "", out.len, 0, NULL) : NULL;
    if (rc == 0 && !doc)
        snprintf(why, whylen, "`moksha-exec state outputs` printed no JSON");
    else if (rc > 0)
        snprintf(why, whylen, "`moksha-exec state outputs --stack %s` exited %d", stack, rc);
    else if (rc < 0)
        snprintf(why, whylen, "moksha-exec is not found");
    mk_buf_free(&out);
    return doc;
}

/* mk_pipeline_plan against the state the executor reads; out zeroed when
 * it could not be asked. */
static bool plan_inputs(mk_pipeline_req *r, mk_planned *out, bool sign, bool *asked)
{
    mk_submit_inputs in;
    *asked = mk_execstate_inputs(r, &in); /* MOKSHA_EXEC_SOCKET: the service's state and observations, never local files */
    if (!*asked) {
        memset(out, 0, sizeof *out);
        return false;
    }
    bool ok = mk_pipeline_plan(r, out, sign);
    mk_submit_inputs_free(&in);
    return ok;
}

bool mk_run_plan(mk_pipeline_req *r, mk_planned *out, bool sign)
{
    if (!r->read_outputs)
        r->read_outputs = read_outputs;
    bool asked, ok = plan_inputs(r, out, sign, &asked);
    if (!asked)
        return false;
    report(r, out);
    mk_diag_print(out->p->diag, stderr, MK_DIAG_TEXT, mk_cli_color(stderr));
    return ok;
}

/* note [against the base]: `--base DIR` plans DIR — the stack as the target
 * branch has it, a git worktree of it for instance — beside this one, from
 * the same working directory: the same applied state (so placements stay
 * where they are applied on both sides), the same environment, variables
 * and extra policy directories. It takes none of this run's overrides,
 * placement replacements or imports: those are the change's own, and the
 * base is what the change is measured from. Nothing of the base is signed
 * or saved, and its diagnostics are said only when it cannot be planned
 * (its warnings are the target branch's business, not this change's). */
bool mk_run_base(const mk_pipeline_req *head, const char *dir, mk_pipeline_req *b, mk_planned *out)
{
    *b = (mk_pipeline_req){
        .npaths = 1, .var_files = head->var_files, .nvar_files = head->nvar_files, .var_flags = head->var_flags,
        .nvar_flags = head->nvar_flags, .strict = head->strict, .env = head->env, .policy_dirs = head->policy_dirs,
        .npolicy_dirs = head->npolicy_dirs, .compile_only = head->compile_only, .keep_placement = true,
        .read_outputs = read_outputs,
    };
    b->paths = mk_mem_calloc(1, sizeof *b->paths);
    b->paths[0] = dir;
    bool asked, ok = plan_inputs(b, out, false, &asked);
    if (!asked)
        return false;
    if (!ok) {
        mk_cli_err("--base %s: the base cannot be planned (its diagnostics follow)", dir);
        mk_diag_print(out->p->diag, stderr, MK_DIAG_TEXT, mk_cli_color(stderr));
    }
    return ok;
}

void mk_run_base_free(mk_pipeline_req *b, mk_planned *pl)
{
    mk_pipeline_planned_free(pl);
    mk_mem_free(b->paths);
}

void mk_run_print_plan(const mk_plan *plan, const char *text, const mk_key *key, bool sign, const char *format)
{
    if (strcmp(format, "json") == 0 && text) {
        puts(text);
        return;
    }
    mk_buf b = {.sink = stdout}; /* streamed: a plan of 100,000 changes is 100 MB of text */
    if (strcmp(format, "json") == 0)
        mk_planfile_emit(plan, key, sign, &b);
    else if (strcmp(format, "markdown") == 0)
        mk_render_markdown(plan, &b);
    else
        mk_render_text(plan, &b, mk_cli_color(stdout));
    if (strcmp(format, "json") == 0)
        mk_buf_putc(&b, '\n');
    mk_buf_flush(&b);
    mk_buf_free(&b);
}
