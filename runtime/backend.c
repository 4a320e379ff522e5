/* backend — one stack+environment's state, wherever the executor's
 * configuration keeps it (runtime/backend.h): the kind is chosen here and
 * every call dispatched to its table of operations (backend_ops.h). An
 * operation a kind does not have says so, naming the kind. */
#include "runtime/backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/backend_ops.h"
#include "runtime/config.h"

extern const mk_backend_ops mk_backend_local_ops;
extern const mk_backend_ops mk_backend_pg_ops;

static const mk_backend_ops *kind_named(const char *kind)
{
    if (!kind || !*kind || !strcmp(kind, "local"))
        return &mk_backend_local_ops;
    if (!strcmp(kind, "postgres"))
        return &mk_backend_pg_ops;
    return NULL;
}

/* The backend the configuration gives env: its environment's, else the section's. */
const char *mk_backend_configured_kind(const mk_config *cfg, const char *env)
{
    if (!cfg)
        return "local";
    for (size_t i = 0; env && *env && i < cfg->state.nenvs; i++)
        if (!strcmp(cfg->state.envs[i].name, env) && cfg->state.envs[i].backend[0])
            return cfg->state.envs[i].backend;
    return cfg->state.backend[0] ? cfg->state.backend : "local";
}

mk_backend *mk_backend_open(const mk_config *cfg, const char *kind, const char *stack, const char *env, char *why,
                            size_t whylen)
{
    const char *k = kind ? kind : mk_backend_configured_kind(cfg, env);
    const mk_backend_ops *ops = kind_named(k);
    if (!ops) {
        snprintf(why, whylen, "`%s` is not a state backend (local, postgres)", k);
        return NULL;
    }
    mk_backend *b = calloc(1, sizeof *b);
    if (!b) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    b->ops = ops;
    b->cfg = cfg;
    b->info.kind = ops->kind;
    snprintf(b->info.stack, sizeof b->info.stack, "%s", stack ? stack : "");
    snprintf(b->info.env, sizeof b->info.env, "%s", env ? env : "");
    if (!ops->open(b, why, whylen)) {
        free(b);
        return NULL;
    }
    return b;
}

static char stack_selected[128];

void mk_backend_select_stack(const char *name) { snprintf(stack_selected, sizeof stack_selected, "%s", name ? name : ""); }

const char *mk_backend_stack(void)
{
    const char *e = getenv("MOKSHA_STACK");
    return *stack_selected ? stack_selected : e ? e : "";
}

void mk_backend_close(mk_backend *b)
{
    if (!b)
        return;
    b->ops->close(b);
    free(b);
}

const mk_backend_info *mk_backend_info_of(const mk_backend *b) { return &b->info; }

json_t *mk_backend_binding(const mk_backend *b)
{
    return json_pack("{s:s, s:s?, s:s?}", "kind", b->info.kind, "stack", b->info.stack[0] ? b->info.stack : NULL,
                     "env", b->info.env[0] ? b->info.env : NULL);
}

static bool missing(const mk_backend *b, const void *op, const char *what, char *why, size_t whylen)
{
    if (op)
        return false;
    snprintf(why, whylen, "the %s state backend cannot %s", b->info.kind, what);
    return true;
}

mk_lock_status mk_backend_lock(mk_backend *b, const char *operation, const char *plan_sha256, double wait_ms,
                               char id_out[37], json_t **info, char *why, size_t whylen)
{
    if (missing(b, (const void *)b->ops->lock, "be locked", why, whylen))
        return MK_LOCK_ERROR;
    return b->ops->lock(b, operation, plan_sha256, wait_ms, id_out, info, why, whylen);
}

void mk_backend_unlock(mk_backend *b, const char *id)
{
    if (b->ops->unlock)
        b->ops->unlock(b, id);
}

bool mk_backend_lock_held(mk_backend *b) { return !b->ops->lock_held || b->ops->lock_held(b); }

json_t *mk_backend_lock_info(mk_backend *b, char *why, size_t whylen)
{
    return missing(b, (const void *)b->ops->lock_info, "say who holds its lock", why, whylen) ? NULL
                                                                                              : b->ops->lock_info(b, why, whylen);
}

int mk_backend_lock_force(mk_backend *b, const char *id, bool check_only, json_t **info, char *why, size_t whylen)
{
    if (missing(b, (const void *)b->ops->lock_force, "break a lock", why, whylen))
        return 1;
    return b->ops->lock_force(b, id, check_only, info, why, whylen);
}

mk_rtstate *mk_backend_load(mk_backend *b, char *why, size_t whylen)
{
    return missing(b, (const void *)b->ops->load, "load a state", why, whylen) ? NULL : b->ops->load(b, why, whylen);
}

char *mk_backend_state_text(mk_backend *b, long long serial, size_t *n, bool *absent, char *why, size_t whylen)
{
    *n = 0;
    *absent = false;
    if (missing(b, (const void *)b->ops->state_text, "give a state's text", why, whylen))
        return NULL;
    return b->ops->state_text(b, serial, n, absent, why, whylen);
}

bool mk_backend_persist(mk_backend *b, mk_audit *a, mk_backend_write *w, char *why, size_t whylen)
{
    if (missing(b, (const void *)b->ops->persist, "write", why, whylen)) {
        json_decref(w->snapshot);
        w->snapshot = NULL;
        return false;
    }
    return b->ops->persist(b, a, w, why, whylen);
}

bool mk_backend_intend(mk_backend *b, const char *run, const char *address, const char *action, long long change,
                       char *why, size_t whylen)
{
    return !b->ops->intend || b->ops->intend(b, run, address, action, change, why, whylen);
}

json_t *mk_backend_take_intents(mk_backend *b, char *why, size_t whylen)
{
    return b->ops->take_intents ? b->ops->take_intents(b, why, whylen) : json_array();
}

mk_audit *mk_backend_audit_open(mk_backend *b, const struct mk_keyring *k, const mk_audit_mark *mark, char *why,
                                size_t whylen)
{
    if (missing(b, (const void *)b->ops->audit_open, "open an audit log", why, whylen))
        return NULL;
    return b->ops->audit_open(b, k, mark, why, whylen);
}

char *mk_backend_audit_text(mk_backend *b, size_t *n, char **head, char *why, size_t whylen)
{
    *n = 0;
    if (head)
        *head = NULL;
    if (missing(b, (const void *)b->ops->audit_text, "give its audit log", why, whylen))
        return NULL;
    return b->ops->audit_text(b, n, head, why, whylen);
}

char *mk_backend_observed_text(mk_backend *b, size_t *n, bool *absent, char *why, size_t whylen)
{
    *n = 0;
    *absent = false;
    if (missing(b, (const void *)b->ops->observed_text, "give its observations", why, whylen))
        return NULL;
    return b->ops->observed_text(b, n, absent, why, whylen);
}

bool mk_backend_observed_write(mk_backend *b, const char *text, size_t n, char *why, size_t whylen)
{
    return !missing(b, (const void *)b->ops->observed_write, "keep observations", why, whylen) &&
           b->ops->observed_write(b, text, n, why, whylen);
}

json_t *mk_backend_history(mk_backend *b, char *why, size_t whylen)
{
    return missing(b, (const void *)b->ops->history, "give its history", why, whylen) ? NULL : b->ops->history(b, why, whylen);
}

json_t *mk_backend_envs(mk_backend *b, char *why, size_t whylen)
{
    return missing(b, (const void *)b->ops->envs, "list environments", why, whylen) ? NULL : b->ops->envs(b, why, whylen);
}

bool mk_backend_is_empty(mk_backend *b, bool *empty, char *why, size_t whylen)
{
    return !missing(b, (const void *)b->ops->is_empty, "say whether it is empty", why, whylen) &&
           b->ops->is_empty(b, empty, why, whylen);
}

bool mk_backend_import(mk_backend *b, const char *state, size_t nstate, const char *lines, size_t nlines,
                       const char *head, const char *observed, size_t nobserved, char *why, size_t whylen)
{
    return !missing(b, (const void *)b->ops->import, "take a migrated state", why, whylen) &&
           b->ops->import(b, state, nstate, lines, nlines, head, observed, nobserved, why, whylen);
}
