/* execstate — asking the executor where the state is, and for its bytes
 * (compiler/cli/execstate.h). Only the executor holds the configuration
 * and any database credentials; this file runs it and reads its stdout. */
#include "compiler/cli/execstate.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "compiler/base/buf.h"
#include "compiler/base/mem.h"
#include "compiler/cli/cli.h"
#include "compiler/cli/spawn.h"
#include "compiler/cli/submit.h"
#include "compiler/pipeline.h"

/* `moksha-exec ARGS…`'s stdout into *out (NULL when empty); false when it fails. */
static bool ask(const char **args, size_t n, char **out, size_t *len)
{
    mk_buf b = {0};
    int rc = mk_spawn_exec(args, n, &b);
    *len = b.len;
    *out = rc == 0 && b.len ? mk_buf_take(&b) : NULL;
    mk_buf_free(&b);
    return rc == 0;
}

/* {"kind", "stack", "env", "location"} into in's binding; false when it is not that. */
static bool read_where(const char *text, size_t n, mk_submit_inputs *in)
{
    json_t *w = text ? json_loadb(text, n, 0, NULL) : NULL;
    const char *kind = json_string_value(json_object_get(w, "kind"));
    const char *stack = json_string_value(json_object_get(w, "stack")), *env = json_string_value(json_object_get(w, "env"));
    const char *loc = json_string_value(json_object_get(w, "location"));
    bool ok = kind && strlen(kind) < sizeof in->kind && strlen(stack ? stack : "") < sizeof in->stack &&
              strlen(env ? env : "") < sizeof in->env;
    if (ok) {
        snprintf(in->kind, sizeof in->kind, "%s", kind);
        snprintf(in->stack, sizeof in->stack, "%s", stack ? stack : "");
        snprintf(in->env, sizeof in->env, "%s", env ? env : "");
        snprintf(in->location, sizeof in->location, "%s", loc ? loc : "");
    }
    json_decref(w);
    return ok;
}

/* The state and the observations as the backend holds them. */
static bool pull(mk_pipeline_req *r, mk_submit_inputs *in)
{
    const char *state[] = {"state", "pull"}, *observed[] = {"state", "pull", "--observed"};
    const char *who = *in->stack ? in->stack : "this stack";
    snprintf(in->name, sizeof in->name, "the state of %s%s%s from the executor's %s backend (%s)", who,
             *in->env ? "/" : "", in->env, in->kind, in->location);
    snprintf(in->observed_name, sizeof in->observed_name, "the observations of %s%s%s from the executor's %s backend",
             who, *in->env ? "/" : "", in->env, in->kind);
    if (!ask(state, 2, &in->state, &in->len) || !ask(observed, 3, &in->observed, &in->observed_len)) {
        mk_submit_inputs_free(in);
        return false;
    }
    mk_submit_inputs_give(r, in);
    return true;
}

/* Without a service: ask the executor. */
static bool from_executor(mk_pipeline_req *r, mk_submit_inputs *in)
{
    if (!mk_spawn_found_quietly())
        return true; /* no executor to ask: the local files, as ever */
    const char *where[] = {"state", "where", "--format", "json"};
    char *text;
    size_t n;
    bool ok = ask(where, 4, &text, &n) && read_where(text, n, in);
    if (!ok && text)
        mk_cli_err("moksha-exec state where said what this moksha cannot read: %.200s", text);
    mk_mem_free(text);
    if (!ok)
        return false;
    bool local = !strcmp(in->kind, "local");
    if (!local || *in->env) /* bound: a plan of plain local files without an environment stays as it always was */
        r->backend_kind = in->kind, r->backend_stack = in->stack, r->backend_env = in->env;
    return local || pull(r, in);
}

bool mk_execstate_inputs(mk_pipeline_req *r, mk_submit_inputs *in)
{
    mk_spawn_stack_of(r->paths, r->npaths); /* note [the spec's stack] */
    if (!mk_submit_plan_inputs(r, in)) /* MOKSHA_EXEC_SOCKET: the service's state and observations */
        return false;
    return mk_submit_socket() || from_executor(r, in);
}
