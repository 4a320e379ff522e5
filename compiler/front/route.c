/* route — the provider of each instance beyond its type's namespace: the
 * self-hosted database routing, buckets on s3 and azure_blob blocks, a
 * plugin's types on its block, and the provider-kind checks (route.h). It
 * reads the evaluated provider blocks and the instances' attributes and
 * writes only mk_instance.provider, .self_hosted, .via and the pin; it
 * prices nothing and places nothing (middle/cost.c, middle/place.c). */
#include "compiler/front/route.h"

#include <string.h>

#include "compiler/base/diag.h"
#include "compiler/base/mem.h"

/* A provider block as evaluated: its alias, its kind, its settings. */
typedef struct prov {
    mk_name alias;
    const mk_value *kind;     /* "sim", "postgres", "s3", … (a string value); NULL when not known */
    const mk_value *settings;
    mk_ast *decl;             /* NULL when none is declared by that name */
} prov;

typedef struct router {
    mk_program *p;
    prov taker;               /* the postgres provider with databases = true; alias NULL for none */
    prov store;               /* the s3 or azure_blob provider with buckets = true; alias NULL for none */
    const char *missing[8];   /* E0118 for a namespace no block serves: once each */
    size_t nmissing;
} router;

static const char *text_of(mk_arena *a, const mk_value *v)
{
    return v && v->kind == MK_V_STRING ? mk_arena_strndup(a, v->u.s, v->n) : NULL;
}

/* The provider block alias names, for an instance of unit u: the unit's
 * own, else the root stack's (as eval.c resolves `provider =`). */
static prov provider_named(router *r, const mk_unit *u, mk_name alias)
{
    prov pv = {alias, NULL, NULL, NULL};
    const mk_unit *at = u && mk_sym_get(&u->providers, alias, NULL) ? u : r->p->root;
    pv.decl = at ? mk_sym_get(&at->providers, alias, NULL) : NULL;
    const mk_value *cfg = pv.decl && at->provider_values ? mk_v_get(at->provider_values, alias) : NULL;
    pv.kind = cfg ? mk_v_get_text(cfg, "type") : NULL;
    pv.kind = pv.kind && pv.kind->kind == MK_V_STRING ? pv.kind : NULL;
    pv.settings = cfg ? mk_v_get_text(cfg, "settings") : NULL;
    return pv;
}

/* The value an attribute of the block or resource decl is written with,
 * else the whole decl: where an error about it points. */
static mk_span attr_at(const mk_ast *decl, const char *name)
{
    for (uint32_t i = 0; i < decl->kids.n; i++)
        if (decl->kids.v[i]->kind == MK_AST_ATTR && strcmp(decl->kids.v[i]->name, name) == 0 && decl->kids.v[i]->b)
            return decl->kids.v[i]->b->span;
    return decl->span;
}

static bool is_kind(const prov *pv, const char *kind) { return pv->kind && mk_v_is_text(pv->kind, kind); }

/* A bucket store: a block whose kind keeps buckets on a real server. */
static bool is_store(const prov *pv) { return is_kind(pv, "s3") || is_kind(pv, "azure_blob"); }

static bool flag_on(const prov *pv, const char *name)
{
    const mk_value *v = mk_v_get_text(pv->settings, name);
    return v && v->kind == MK_V_BOOL && v->u.b;
}

/* The one block of the root stack that takes every `what` (databases,
 * buckets) no `provider =` sends elsewhere: E0123 at each other one's flag. */
static void find_one(router *r, prov *one, const char *flag, bool (*serves)(const prov *), const char *what,
                     const char *each, const char *label)
{
    const mk_value *pvs = r->p->root ? r->p->root->provider_values : NULL;
    for (uint32_t i = 0; pvs && i < pvs->n; i++) {
        prov pv = provider_named(r, r->p->root, pvs->u.map.keys[i]);
        if (!pv.decl || !serves(&pv) || !flag_on(&pv, flag))
            continue;
        if (!one->alias) {
            *one = pv;
            continue;
        }
        mk_diag_item *d = mk_diag_error(r->p->diag, "E0123", attr_at(pv.decl, flag),
                                        "provider `%s` takes the stack's %s, and so does `%s`", pv.alias, what, one->alias);
        mk_diag_label(d, "%s", label);
        mk_diag_note(d, attr_at(one->decl, flag), "`%s` takes them here", one->alias);
        mk_diag_help(d, "let one provider take them (%s = true) and send %s to the other with `provider = %s`", flag,
                     each, pv.alias);
    }
}

static bool is_postgres(const prov *pv) { return is_kind(pv, "postgres"); }

static void find_takers(router *r)
{
    find_one(r, &r->taker, "databases", is_postgres, "databases", "a database", "a second server for every database");
    find_one(r, &r->store, "buckets", is_store, "buckets", "a bucket", "a second store for every bucket");
}

/* E0122: what a database on a PostgreSQL server cannot be: another engine,
 * or a pin only a cloud has (a class, an edition, replicas, a storage type,
 * IOPS, a network to sit in). */
static void check_self_hosted(router *r, const mk_instance *in)
{
    static const char *const CLOUD_ONLY[] = {"instance_class", "edition", "replicas", "storage_type", "iops", "network"};
    const mk_ast *decl = in->res->decl;
    const mk_value *engine = mk_v_get_text(in->attrs, "engine");
    if (engine && engine->kind == MK_V_STRING && !mk_v_is_text(engine, "postgres")) {
        mk_diag_item *d = mk_diag_error(r->p->diag, "E0122", attr_at(decl, "engine"),
                                        "%s is self-hosted on connection %s: its engine must be \"postgres\", not \"%.*s\"",
                                        in->address, in->self_hosted, (int)engine->n, engine->u.s);
        mk_diag_label(d, "a PostgreSQL server runs postgres");
        mk_diag_help(d, "set engine = \"postgres\", or send it to a cloud with `provider = NAME` naming a cloud's "
                        "provider block");
    }
    if (in->placement) { /* its own block: a stack's placement is every resource's default, not this one's ask */
        mk_span at = decl->span;
        for (uint32_t i = 0; i < decl->kids.n; i++)
            if (decl->kids.v[i]->name && strcmp(decl->kids.v[i]->name, "placement") == 0)
                at = decl->kids.v[i]->span;
        mk_diag_item *d = mk_diag_error(r->p->diag, "E0122", at,
                                        "%s is self-hosted on connection %s: a placement picks a cloud and region, and it "
                                        "has neither", in->address, in->self_hosted);
        mk_diag_label(d, "only a cloud's database is placed");
        mk_diag_help(d, "remove the placement block, or send the database to a cloud with `provider = NAME` naming a "
                        "cloud's provider block");
    }
    for (size_t k = 0; k < sizeof CLOUD_ONLY / sizeof *CLOUD_ONLY; k++) {
        const mk_value *v = mk_v_get_text(in->attrs, CLOUD_ONLY[k]);
        bool asks = v && v->kind != MK_V_NULL && v->kind != MK_V_ERROR &&
                    !(k == 2 && v->kind == MK_V_INT && v->u.i == 0); /* replicas = 0 asks for nothing */
        if (!asks)
            continue;
        mk_diag_item *d = mk_diag_error(r->p->diag, "E0122", attr_at(decl, CLOUD_ONLY[k]),
                                        "%s is self-hosted on connection %s: `%s` is a cloud's, and no server has it",
                                        in->address, in->self_hosted, CLOUD_ONLY[k]);
        mk_diag_label(d, "only a cloud's database has this");
        mk_diag_help(d, "remove it, or send the database to a cloud with `provider = NAME` naming a cloud's provider "
                        "block");
    }
}

/* A database lands on a PostgreSQL server when its `provider =` names a
 * postgres block, or when it names none and a postgres block takes the
 * stack's databases. */
static void route_database(router *r, mk_instance *in)
{
    prov pv = in->provider ? provider_named(r, in->res->unit, in->provider) : r->taker;
    if (!pv.alias || !pv.kind || !mk_v_is_text(pv.kind, "postgres"))
        return;
    in->provider = pv.alias;
    in->self_hosted = text_of(r->p->ast.arena, mk_v_get_text(pv.settings, "connection"));
    if (!in->self_hosted) /* not known yet (a variable, in check): the block's name says which */
        in->self_hosted = pv.alias;
    check_self_hosted(r, in);
}

/* "an" before a kind said aloud with a vowel first (azure_blob, s3, http). */
static const char *article(const char *kind, size_t n)
{
    return n && (strchr("aeiou", kind[0]) || (n >= 2 && strncmp(kind, "s3", 2) == 0) ||
                 (n >= 4 && strncmp(kind, "http", 4) == 0)) ? "an" : "a";
}

/* The cloud a bucket store's buckets are on. */
static const char *store_cloud(const prov *pv) { return is_kind(pv, "s3") ? "aws" : "azure"; }

/* E0124: a bucket's own placement block asking for a cloud or region other
 * than its store's (a stack's placement is every resource's default, not
 * this one's ask: the store's place wins over it). */
static void check_store_placement(router *r, const mk_instance *in, const prov *pv)
{
    const mk_value *provs = mk_v_get_text(in->placement, "providers"), *regs = mk_v_get_text(in->placement, "regions");
    bool cloud_ok = !provs || provs->kind != MK_V_LIST, region_ok = !regs || regs->kind != MK_V_LIST || !regs->n;
    for (uint32_t i = 0; !cloud_ok && i < provs->n; i++) /* a value not known yet (check) may be it */
        cloud_ok = provs->u.items[i]->kind != MK_V_STRING || mk_v_is_text(provs->u.items[i], in->pin_cloud);
    for (uint32_t i = 0; !region_ok && i < regs->n; i++)
        region_ok = !in->pin_region || regs->u.items[i]->kind != MK_V_STRING || mk_v_is_text(regs->u.items[i], in->pin_region);
    if (cloud_ok && region_ok)
        return;
    const mk_ast *decl = in->res->decl;
    mk_span at = decl->span;
    for (uint32_t i = 0; i < decl->kids.n; i++)
        if (decl->kids.v[i]->name && strcmp(decl->kids.v[i]->name, "placement") == 0)
            at = decl->kids.v[i]->span;
    mk_diag_item *d = mk_diag_error(r->p->diag, "E0124", at, "%s is kept by provider `%s` (%s) on %s/%s: its placement asks for %s",
                                    in->address, pv->alias, in->via, in->pin_cloud, in->pin_region ? in->pin_region : "?",
                                    cloud_ok ? "another region" : "another cloud");
    mk_diag_label(d, "the store's cloud and region are where the bucket is");
    mk_diag_help(d, "remove the placement block, set the block's `region`, or send the bucket elsewhere with "
                    "`provider = NAME`");
}

/* A bucket is kept on an S3 or Azure Blob server when its `provider =`
 * names an s3 or azure_blob block, or when it names none and such a block
 * takes the stack's buckets; it is then on that block's cloud and region. */
static void route_bucket(router *r, mk_instance *in)
{
    prov pv = in->provider ? provider_named(r, in->res->unit, in->provider) : r->store;
    if (!pv.alias || !is_store(&pv))
        return;
    in->provider = pv.alias;
    in->via = is_kind(&pv, "s3") ? "s3" : "azure_blob";
    in->pin_cloud = store_cloud(&pv);
    in->pin_region = text_of(r->p->ast.arena, mk_v_get_text(pv.settings, "region"));
    if (in->placement)
        check_store_placement(r, in, &pv);
}

/* What a block of a kind serves, for the message of E0123. */
static const char *serves_text(const prov *pv)
{
    static const struct { const char *kind, *what; } SERVES[] = {
        {"sim", "the abstract types on a simulated cloud"}, {"local", "local.* files"},
        {"postgres", "postgres.* and databases"},        {"s3", "buckets"},
        {"azure_blob", "buckets"},                        {"http", "http.* objects"},
    };
    for (size_t i = 0; i < sizeof SERVES / sizeof *SERVES; i++)
        if (is_kind(pv, SERVES[i].kind))
            return SERVES[i].what;
    if (is_kind(pv, "plugin")) {
        const mk_value *n = mk_v_get_text(pv->settings, "plugin");
        return n && n->kind == MK_V_STRING ? "its plugin's types" : "a plugin's types";
    }
    return NULL;
}

/* Does a block serve a resource of this type? An abstract type: sim, and
 * postgres (a database), s3 and azure_blob (a bucket); NS.T: a block of
 * kind NS (local, postgres, http), else a plugin block whose `plugin` is
 * NS. A block whose kind or plugin is not known yet serves anything. */
static bool serves(const prov *pv, const char *type)
{
    const char *dot = strchr(type, '.');
    if (!dot)
        return is_kind(pv, "sim") || (is_kind(pv, "postgres") && strcmp(type, "database") == 0) ||
               (is_store(pv) && strcmp(type, "bucket") == 0);
    size_t n = (size_t)(dot - type);
    if (pv->kind->n == n && memcmp(pv->kind->u.s, type, n) == 0 && !is_kind(pv, "plugin") && !is_kind(pv, "sim"))
        return true;
    if (!is_kind(pv, "plugin"))
        return false;
    const mk_value *name = mk_v_get_text(pv->settings, "plugin");
    return !name || name->kind != MK_V_STRING || (name->n == n && memcmp(name->u.s, type, n) == 0);
}

/* A namespace a block of its own kind serves, not a plugin's. */
static bool builtin_ns(const char *type, size_t n)
{
    static const char *const NS[] = {"local", "postgres", "http"};
    for (size_t i = 0; i < sizeof NS / sizeof *NS; i++)
        if (strlen(NS[i]) == n && strncmp(type, NS[i], n) == 0)
            return true;
    return false;
}

/* Does a block of the root stack serve namespace NS as its own: of kind
 * NS (http), or a plugin block whose `plugin` is NS? */
static bool serves_ns(const prov *pv, const char *type, size_t n)
{
    if (pv->kind && !is_kind(pv, "plugin"))
        return pv->kind->n == n && memcmp(pv->kind->u.s, type, n) == 0;
    const mk_value *name = mk_v_get_text(pv->settings, "plugin");
    return pv->kind && name && name->kind == MK_V_STRING && name->n == n && memcmp(name->u.s, type, n) == 0;
}

/* An http.* or a plugin's NS.* resource with no `provider =`, and no block
 * named NS: the root stack's one block serving NS takes it, whatever its
 * alias (`provider http api { … }`, `provider plugin x { plugin = "NS" }`).
 * Several: E0123, and false; none: the alias stays NS (E0118 below). */
static bool only_block(router *r, mk_instance *in, const char *type, size_t n, prov *out)
{
    const mk_value *pvs = r->p->root ? r->p->root->provider_values : NULL;
    prov one = {NULL, NULL, NULL, NULL};
    for (uint32_t i = 0; pvs && i < pvs->n; i++) {
        prov pv = provider_named(r, r->p->root, pvs->u.map.keys[i]);
        if (!pv.decl || !serves_ns(&pv, type, n))
            continue;
        if (one.alias) {
            mk_diag_item *d = mk_diag_error(r->p->diag, "E0123", in->res->decl->span,
                                            "%s is served by the stack's provider block of kind %.*s, and there are several: "
                                            "`%s` and `%s`", in->address, (int)pv.kind->n, pv.kind->u.s, one.alias, pv.alias);
            mk_diag_help(d, "say which with `provider = %s` (or `provider = %s`)", one.alias, pv.alias);
            return false;
        }
        one = pv;
    }
    if (one.alias)
        in->provider = one.alias, *out = one;
    return true;
}

/* E0118 once per namespace: a NS.T resource no block serves. */
static void report_missing(router *r, const mk_instance *in, const char *type, size_t n)
{
    for (size_t i = 0; i < r->nmissing; i++)
        if (strlen(r->missing[i]) == n && strncmp(r->missing[i], type, n) == 0)
            return;
    if (r->nmissing < sizeof r->missing / sizeof *r->missing)
        r->missing[r->nmissing++] = in->provider;
    mk_span at = in->res->decl->span;
    mk_diag_item *d;
    if (n == 8 && strncmp(type, "postgres", 8) == 0) {
        d = mk_diag_error(r->p->diag, "E0118", at, "%s needs a postgres provider, and no provider `postgres` is declared",
                          in->address);
    } else if (builtin_ns(type, n)) {
        d = mk_diag_error(r->p->diag, "E0118", at, "%s needs a provider block of kind %.*s, and none is declared",
                          in->address, (int)n, type);
    } else {
        d = mk_diag_error(r->p->diag, "E0118", at, "%s needs the provider block of plugin %.*s, and none is declared",
                          in->address, (int)n, type);
        mk_diag_help(d, "declare `provider plugin %.*s { plugin = \"%.*s\" }` (docs/plugins.md)", (int)n, type, (int)n, type);
        return;
    }
    mk_diag_help(d, "declare `provider %.*s { connection = \"NAME\" }`, NAME a connection of the executor's "
                    "configuration (docs/providers.md)", (int)n, type);
}

/* E0123: a resource naming a provider block that does not serve its type. */
static void wrong_kind(router *r, const mk_instance *in, const prov *pv, const char *type, size_t n)
{
    const mk_span at = attr_at(in->res->decl, "provider");
    mk_diag_item *d;
    d = mk_diag_error(r->p->diag, "E0123", at, "%s is %s %s, and provider `%s` is %s %.*s provider", in->address,
                      article(type, strlen(type)), type, pv->alias, article(pv->kind->u.s, pv->kind->n), (int)pv->kind->n,
                      pv->kind->u.s);
    const char *what = serves_text(pv);
    if (n && !builtin_ns(type, n)) /* a plugin's type */
        mk_diag_label(d, "a plugin provider with plugin = \"%.*s\" serves it", (int)n, type);
    else if (n)
        mk_diag_label(d, "%s %.*s provider serves it", article(type, n), (int)n, type);
    else if (what)
        mk_diag_label(d, "%s %.*s provider serves %s", article(pv->kind->u.s, pv->kind->n), (int)pv->kind->n,
                      pv->kind->u.s, what);
    mk_diag_help(d, "name a provider block of the right kind, or leave `provider` out");
}

/* E0123: a provider block of one kind named by a resource another kind
 * serves; E0118 once per namespace for a NS.T resource no block serves. */
static void check_kind(router *r, mk_instance *in)
{
    const char *type = in->res->type, *dot = strchr(type, '.');
    size_t n = dot ? (size_t)(dot - type) : 0;
    if (!in->provider)
        return;
    prov pv = provider_named(r, in->res->unit, in->provider);
    bool own = n && !(n == 5 && strncmp(type, "local", 5) == 0) && !(n == 8 && strncmp(type, "postgres", 8) == 0);
    if (!pv.decl && own && !only_block(r, in, type, n, &pv)) /* http.*, a plugin's: its one block */
        return;
    if (!pv.decl && n && !(n == 5 && strncmp(type, "local", 5) == 0)) { /* local needs no block */
        report_missing(r, in, type, n);
        return;
    }
    if (pv.kind && !serves(&pv, type))
        wrong_kind(r, in, &pv, type, n);
}

void mk_route_program(mk_program *p)
{
    router r = {.p = p};
    find_takers(&r);
    for (size_t i = 0; i < p->ninstances; i++) {
        mk_instance *in = p->instances[i];
        if (in->failed)
            continue;
        if (strcmp(in->res->type, "database") == 0)
            route_database(&r, in);
        else if (strcmp(in->res->type, "bucket") == 0)
            route_bucket(&r, in);
        check_kind(&r, in);
    }
}
