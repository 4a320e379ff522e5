/* plugin — the provider over a plugin process (docs/plugins.md): the
 * types NAME.* of an allowlisted plugin, each operation one request of
 * runtime/plugin.c's protocol. What runs is decided here, from the
 * executor's configuration alone: `plugins.NAME` of it, while its folder
 * has the digest written there, and while its schema is the one the plan
 * was compiled against. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/config.h"
#include "runtime/plugin.h"
#include "runtime/providers/fault.h"
#include "runtime/providers/provider.h"
#include "runtime/providers/seen.h"

typedef struct impl {
    mk_plugin *pl;
    char alias[64], name[64];
    json_t *fail_on;          /* owned */
    bool allow_faults;
} impl;

static mk_prov_status status_of(mk_plugin_status st)
{
    return st == MK_PLUGIN_OK ? MK_PROV_OK : st == MK_PLUGIN_RETRY ? MK_PROV_RETRYABLE : MK_PROV_FAILED;
}

/* The request every operation sends: what the op says, never the keys. */
static json_t *request(const mk_prov_op *op)
{
    json_t *r = json_object();
    json_object_set_new(r, "type", json_string(op->type ? op->type : ""));
    json_object_set_new(r, "address", json_string(op->address ? op->address : ""));
    if (op->attrs)
        json_object_set(r, "attrs", op->attrs);
    if (op->prior)
        json_object_set(r, "prior", op->prior);
    if (op->stack_id)
        json_object_set_new(r, "stack_id", json_string(op->stack_id));
    if (op->run_id)
        json_object_set_new(r, "run_id", json_string(op->run_id));
    if (op->import_id)
        json_object_set_new(r, "import_id", json_string(op->import_id));
    if (op->deposing)
        json_object_set_new(r, "deposing", json_string(op->deposing));
    if (op->deposed)
        json_object_set_new(r, "deposed", json_true());
    return r;
}

static bool injected(impl *im, const mk_prov_op *op, char *why, size_t whylen)
{
    if (!mk_prov_fault_named(im->fail_on, op->address))
        return false;
    snprintf(why, whylen, "plugin %s: %s: injected failure (provider %s, fail_on)", im->name, op->address, im->alias);
    return true;
}

/* Does v hold a sealed secret anywhere (a map's value, a list's item)? */
static bool holds_secret(json_t *v, int depth)
{
    if (mk_prov_seen_is_secret(v))
        return true;
    if (depth > 64)
        return true; /* (deeper than any type allows: not looked through, so not sent) */
    const char *k;
    json_t *x;
    size_t i;
    if (json_is_object(v))
        json_object_foreach(v, k, x) if (holds_secret(x, depth + 1)) return true;
    if (json_is_array(v))
        json_array_foreach(v, i, x) if (holds_secret(x, depth + 1)) return true;
    return false;
}

/* The attribute of v (attrs or prior) that holds a secret, or NULL. */
static const char *secret_attr(json_t *v)
{
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x)
        if (holds_secret(x, 0))
            return k;
    return NULL;
}

/* One call; on success *result is the answer's "result" (owned, may be null). */
static mk_prov_status call(impl *im, const char *what, const mk_prov_op *op, json_t **result, char *why, size_t whylen)
{
    /* checked again at every call: a template known only at apply time
     * (a secret joined to another object's id) is sealed only now */
    const char *sa = secret_attr(op->attrs);
    if (!sa)
        sa = secret_attr(op->prior);
    if (sa)
        return snprintf(why, whylen, "plugin %s: %s: `%s` holds a secret, and protocol %d hands a plugin no secret "
                        "from the plan (grant it through the connection's credentials.env): not sent", im->name,
                        op->address ? op->address : "", sa, MK_PLUGIN_PROTOCOL), MK_PROV_FAILED;
    json_t *req = request(op), *ans = NULL;
    char w[1024] = "";
    mk_plugin_status st = mk_plugin_call(im->pl, what, req, op->deadline_ms, &ans, w, sizeof w);
    json_decref(req);
    if (st != MK_PLUGIN_OK) {
        /* the client's own words begin "plugin NAME: "; a plugin's refusal is its message, quoted */
        size_t pre = strlen(im->name) + 9;
        bool own = strncmp(w, "plugin ", 7) == 0 && strlen(w) >= pre && strncmp(w + 7, im->name, pre - 9) == 0;
        snprintf(why, whylen, "plugin %s: %s: %s", im->name, op->address ? op->address : "", own ? w + pre : w);
        return status_of(st);
    }
    if (mk_plugin_leaks(im->pl, ans)) { /* it would be recorded in the state, shown in plans and drift reports */
        json_decref(ans);
        return snprintf(why, whylen, "plugin %s: %s: the plugin answered one of its granted credentials: not "
                        "believed", im->name, op->address ? op->address : ""), MK_PROV_FAILED;
    }
    *result = json_incref(json_object_get(ans, "result") ? json_object_get(ans, "result") : json_null());
    json_object_del(*result, "$adopted"); /* only the answer's own "adopted" says so */
    if (json_is_true(json_object_get(ans, "adopted")) && json_is_object(*result))
        json_object_set_new(*result, "$adopted", json_true());
    json_decref(ans);
    return MK_PROV_OK;
}

/* create, update and import answer the computed attributes, "id" among
 * them: a plugin that answers anything else is not believed. */
static mk_prov_status computed(impl *im, const char *what, const mk_prov_op *op, json_t **out, char *why,
                               size_t whylen)
{
    json_t *res = NULL;
    mk_prov_status st = call(im, what, op, &res, why, whylen);
    if (st != MK_PROV_OK)
        return st;
    json_t *id = json_object_get(res, "id");
    if (!json_is_object(res) || !json_is_string(id) || !json_string_length(id)) {
        json_decref(res);
        return snprintf(why, whylen, "plugin %s: %s: its %s answered no \"id\" (a non-empty string) in its result",
                        im->name, op->address, what), MK_PROV_FAILED;
    }
    json_t *adopted = json_object_get(res, "$adopted");
    if (op->adopted && json_is_true(adopted))
        *op->adopted = true;
    json_object_del(res, "$adopted");
    if (strcmp(what, "import") != 0) {
        /* a create or an update answers what it computed: an attribute the
         * stack set is recorded as the stack set it, never as answered */
        const char *k;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(res, tmp, k, v)
            if (strcmp(k, "id") != 0 && json_object_get(op->attrs, k) && !json_is_null(json_object_get(op->attrs, k)))
                json_object_del(res, k);
    }
    *out = res;
    return MK_PROV_OK;
}

static mk_prov_status p_create(mk_prov *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    impl *im = p->impl;
    if (injected(im, op, why, whylen))
        return MK_PROV_FAILED;
    return computed(im, "create", op, out, why, whylen);
}

static mk_prov_status p_update(mk_prov *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    impl *im = p->impl;
    if (injected(im, op, why, whylen))
        return MK_PROV_FAILED;
    return computed(im, "update", op, out, why, whylen);
}

static mk_prov_status p_import(mk_prov *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    impl *im = p->impl;
    if (!mk_plugin_offers(im->pl, "import"))
        return snprintf(why, whylen, "plugin %s: %s: the plugin does not import (its handshake lists no \"import\")",
                        im->name, op->address), MK_PROV_FAILED;
    return computed(im, "import", op, out, why, whylen);
}

static mk_prov_status p_delete(mk_prov *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    impl *im = p->impl;
    (void)out;
    if (injected(im, op, why, whylen))
        return MK_PROV_FAILED;
    json_t *res = NULL;
    mk_prov_status st = call(im, "delete", op, &res, why, whylen);
    json_decref(res);
    return st;
}

/* note [plugin read]: a read answers the object's attributes, or null:
 * gone. The state's form is kept here rather than by each plugin: an
 * attribute the state does not record is left out. */
static mk_prov_status p_read(mk_prov *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    impl *im = p->impl;
    json_t *res = NULL;
    mk_prov_status st = call(im, "read", op, &res, why, whylen);
    if (st != MK_PROV_OK)
        return st;
    if (json_is_null(res)) {
        json_decref(res);
        *out = NULL;
        return MK_PROV_OK;
    }
    if (!json_is_object(res)) {
        json_decref(res);
        return snprintf(why, whylen, "plugin %s: %s: its read answered neither an object nor null", im->name,
                        op->address), MK_PROV_FAILED;
    }
    if (op->attrs && !op->import_id) {
        json_t *kept = json_object();
        const char *k;
        json_t *v;
        json_object_foreach(res, k, v)
            if (json_object_get(op->attrs, k))
                json_object_set(kept, k, v);
        json_decref(res);
        res = kept;
    }
    *out = res;
    return MK_PROV_OK;
}

/* docs/plugins.md "Refused before the first step". */
static mk_prov_status p_check(mk_prov *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    impl *im = p->impl;
    (void)out;
    size_t nl = strlen(im->name);
    if (!op->type || strncmp(op->type, im->name, nl) != 0 || op->type[nl] != '.')
        return snprintf(why, whylen, "plugin %s: %s: a %s is not the plugin's (it serves %s.*)", im->name,
                        op->address, op->type ? op->type : "?", im->name), MK_PROV_FAILED;
    if (json_array_size(im->fail_on) && !im->allow_faults)
        return snprintf(why, whylen, "plugin %s: provider %s asks for injected failures (fail_on), which plugins.%s of "
                        "the executor's configuration does not allow (allow_fault_injection)", im->name, im->alias,
                        im->name), MK_PROV_FAILED;
    /* what is known now, and what the plan's templates will fill in at
     * apply time: a template with a secret part is a secret */
    const char *k = secret_attr(op->attrs);
    if (!k)
        k = secret_attr(op->prior);
    if (!k)
        k = secret_attr(op->planned);
    if (k)
        return snprintf(why, whylen, "plugin %s: %s: `%s` holds a secret, and protocol %d hands a plugin no secret "
                        "from the plan (grant it through the connection's credentials.env)", im->name,
                        op->address, k, MK_PLUGIN_PROTOCOL), MK_PROV_FAILED;
    char w[1024] = "";
    mk_plugin_status st = mk_plugin_start(im->pl, op->deadline_ms, NULL, w, sizeof w);
    if (st != MK_PLUGIN_OK)
        return snprintf(why, whylen, "%s", w), st == MK_PLUGIN_RETRY ? MK_PROV_RETRYABLE : MK_PROV_FAILED;
    if (op->action && !strcmp(op->action, "import") && !mk_plugin_offers(im->pl, "import"))
        return snprintf(why, whylen, "plugin %s: %s: the plugin does not import (its handshake lists no \"import\")",
                        im->name, op->address), MK_PROV_FAILED;
    if (op->action && !strcmp(op->action, "move"))
        return snprintf(why, whylen, "plugin %s: %s: a plugin's objects cannot be moved to another address",
                        im->name, op->address), MK_PROV_FAILED;
    if (!op->action || strcmp(op->action, "update") != 0 || !op->prior || !mk_plugin_offers(im->pl, "diff"))
        return MK_PROV_OK;
    json_t *res = NULL;
    mk_prov_status ps = call(im, "diff", op, &res, why, whylen);
    if (ps != MK_PROV_OK)
        return ps;
    json_t *rep = json_object_get(res, "replace");
    if (json_array_size(rep)) {
        char *names = json_dumps(rep, JSON_COMPACT);
        snprintf(why, whylen, "plugin %s: %s: the plugin cannot change %s in place (its diff says replace): mark it "
                 "@force_new in its schema.moksha, or leave it as it is", im->name, op->address, names ? names : "?");
        free(names);
        json_decref(res);
        return MK_PROV_FAILED;
    }
    json_decref(res);
    return MK_PROV_OK;
}

/* The handshake's "types": {"NAME.T": {"recreate": bool, "keeps_ids": bool}};
 * a type it does not list has neither (its deletes are irreversible). */
static unsigned p_caps_of(mk_prov *p, const char *type)
{
    impl *im = p->impl;
    json_t *hello = NULL;
    char w[512];
    if (mk_plugin_start(im->pl, 0, &hello, w, sizeof w) != MK_PLUGIN_OK)
        return 0;
    json_t *t = json_object_get(json_object_get(hello, "types"), type);
    unsigned c = 0;
    if (json_is_true(json_object_get(t, "recreate")))
        c |= MK_PROV_CAN_RECREATE;
    if (c && json_is_true(json_object_get(t, "keeps_ids")))
        c |= MK_PROV_KEEPS_IDS;
    json_decref(hello);
    return c;
}

static void p_free(mk_prov *p)
{
    impl *im = p->impl;
    mk_plugin_free(im->pl);
    json_decref(im->fail_on);
    free(im);
    free(p);
}

/* The allowlist: the plugin's entry, its folder's digest, and the schema
 * the plan was compiled against. */
static bool allowed(const json_t *settings, const mk_config *cfg, const char *alias, const mk_config_plugin **out,
                    char *why, size_t whylen)
{
    const char *name = json_string_value(json_object_get(settings, "plugin"));
    const char *file = cfg && cfg->path[0] ? cfg->path : "the executor's configuration (none read)";
    const mk_config_plugin *pc = name ? mk_config_plugin_find(cfg, name) : NULL;
    if (!pc)
        return snprintf(why, whylen, "provider `%s`: plugin `%s` is not on this executor's allowlist (plugins.%s of %s): "
                        "not run", alias, name ? name : "?", name ? name : "NAME", file), false;
    char d[80], w[512];
    if (!mk_plugin_digest(pc->dir, d, w, sizeof w))
        return snprintf(why, whylen, "provider `%s`: plugin %s: %s", alias, name, w), false;
    if (strcmp(d, pc->digest) != 0)
        return snprintf(why, whylen, "provider `%s`: plugin %s: its folder %s changed since it was allowed (digest %s; "
                        "plugins.%s.digest of %s says %s): not run", alias, name, pc->dir, d, name, file, pc->digest),
               false;
    char schema[PATH_MAX + 16], sd[80];
    snprintf(schema, sizeof schema, "%s/schema.moksha", pc->dir);
    const char *want = json_string_value(json_object_get(settings, "schema_digest"));
    if (!mk_plugin_file_digest(schema, sd, w, sizeof w))
        return snprintf(why, whylen, "provider `%s`: plugin %s: %s", alias, name, w), false;
    if (!want || strcmp(want, sd) != 0)
        return snprintf(why, whylen, "provider `%s`: plugin %s: the plan was compiled against schema %s, and the "
                        "allowed folder's schema.moksha is %s: plan again against the allowed plugin", alias, name,
                        want ? want : "(none recorded)", sd), false;
    *out = pc;
    return true;
}

mk_prov *mk_prov_plugin_new(json_t *settings, const struct mk_config *cfg, const char *alias, char *why, size_t whylen)
{
    const mk_config_plugin *pc = NULL;
    if (!allowed(settings, cfg, alias, &pc, why, whylen))
        return NULL;
    const mk_config_conn *cc = pc->connection[0] ? mk_config_conn_find(cfg, pc->connection) : NULL;
    json_t *names = cc ? json_object_get(cc->credentials, "env") : NULL;
    const char *env[65] = {0};
    size_t ne = 0, i;
    json_t *v;
    json_array_foreach(names, i, v)
        if (json_is_string(v) && ne < 64)
            env[ne++] = json_string_value(v);
    mk_prov *p = calloc(1, sizeof *p);
    impl *im = calloc(1, sizeof *im);
    mk_plugin_spec spec = {.name = pc->name, .dir = pc->dir, .digest = pc->digest, .settings = cc ? cc->settings : NULL,
                           .env = env, .timeout_ms = pc->timeout_ms};
    if (!p || !im || !(im->pl = mk_plugin_new(&spec))) {
        free(p), free(im);
        return snprintf(why, whylen, "out of memory"), NULL;
    }
    snprintf(im->alias, sizeof im->alias, "%s", alias);
    snprintf(im->name, sizeof im->name, "%s", pc->name);
    json_t *fo = json_object_get(settings, "fail_on");
    im->fail_on = json_is_array(fo) ? json_incref(fo) : json_array();
    im->allow_faults = pc->allow_fault_injection;
    *p = (mk_prov){.kind = "plugin", .caps = 0, .create = p_create, .read = p_read, .update = p_update,
                   .del = p_delete, .import = p_import, .check = p_check, .caps_of = p_caps_of, .free = p_free,
                   .impl = im};
    return p;
}
