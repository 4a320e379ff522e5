/* route — the provider of each instance beyond its type's namespace: the
 * self-hosted database routing and the provider-kind checks (route.h). It
 * reads the evaluated provider blocks and the instances' attributes and
 * writes only mk_instance.provider and .self_hosted; it prices nothing and
 * places nothing (middle/cost.c, middle/place.c). */
#include "compiler/front/route.h"

#include <string.h>

#include "compiler/base/diag.h"
#include "compiler/base/mem.h"
#include <stdio.h>

/* A provider block as evaluated: its alias, its kind, its settings. */
typedef struct prov {
    mk_name alias;
    const mk_value *kind;     /* "postgres", "sim", "local" (a string value); NULL when not known */
    const mk_value *settings;
    mk_ast *decl;             /* NULL when none is declared by that name */
} prov;

typedef struct router {
    mk_program *p;
    prov taker;               /* the postgres provider with databases = true; alias NULL for none */
    bool missing_reported;    /* E0118 for a `postgres` block no one declared: once */
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

static bool takes_databases(const prov *pv)
{
    const mk_value *v = mk_v_get_text(pv->settings, "databases");
    return pv->kind && mk_v_is_text(pv->kind, "postgres") && v && v->kind == MK_V_BOOL && v->u.b;
}

/* The root stack's postgres provider that takes the stack's databases: at
 * most one (E0123 at each other one's `databases`). */
static void find_taker(router *r)
{
    const mk_value *pvs = r->p->root ? r->p->root->provider_values : NULL;
    for (uint32_t i = 0; pvs && i < pvs->n; i++) {
        prov pv = provider_named(r, r->p->root, pvs->u.map.keys[i]);
        if (!pv.decl || !takes_databases(&pv))
            continue;
        if (!r->taker.alias) {
            r->taker = pv;
            continue;
        }
        mk_diag_item *d = mk_diag_error(r->p->diag, "E0123", attr_at(pv.decl, "databases"),
                                        "provider `%s` takes the stack's databases, and so does `%s`", pv.alias,
                                        r->taker.alias);
        mk_diag_label(d, "a second server for every database");
        mk_diag_note(d, attr_at(r->taker.decl, "databases"), "`%s` takes them here", r->taker.alias);
        mk_diag_help(d, "let one provider take them (databases = true) and send a database to the other with "
                        "`provider = %s`", pv.alias);
    }
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

/* E0123: a provider block of one kind named by a resource another kind
 * serves; E0118 once for a postgres.* resource with no `postgres` block. */
static void check_kind(router *r, const mk_instance *in)
{
    const char *type = in->res->type, *dot = strchr(type, '.');
    bool pg_type = dot && (size_t)(dot - type) == 8 && strncmp(type, "postgres", 8) == 0;
    if (!in->provider)
        return;
    prov pv = provider_named(r, in->res->unit, in->provider);
    if (!pv.decl && pg_type && !r->missing_reported) {
        r->missing_reported = true;
        mk_diag_item *d = mk_diag_error(r->p->diag, "E0118", in->res->decl->span,
                                        "%s needs a postgres provider, and no provider `postgres` is declared", in->address);
        mk_diag_help(d, "declare `provider postgres { connection = \"NAME\" }`, NAME a connection of the executor's "
                        "configuration (docs/providers.md)");
        return;
    }
    bool pg_prov = pv.kind && mk_v_is_text(pv.kind, "postgres");
    if (!pv.kind || pg_prov == pg_type)
        return;
    mk_diag_item *d = mk_diag_error(r->p->diag, "E0123", attr_at(in->res->decl, "provider"),
                                    "%s is a %s, and provider `%s` is a %.*s provider", in->address, type, pv.alias,
                                    (int)pv.kind->n, pv.kind->u.s);
    mk_diag_label(d, pg_type ? "a postgres provider serves it" : "a postgres provider serves postgres.* and databases");
    mk_diag_help(d, "name a provider block of the right kind, or leave `provider` out");
}

/* The root stack's plugin block serving plugin ns (its `plugin`), or an alias NULL. */
static prov plugin_block(router *r, const char *ns, size_t nl)
{
    const mk_value *pvs = r->p->root ? r->p->root->provider_values : NULL;
    for (uint32_t i = 0; pvs && i < pvs->n; i++) {
        prov pv = provider_named(r, r->p->root, pvs->u.map.keys[i]);
        const mk_value *pl = mk_v_get_text(pv.settings, "plugin");
        if (pv.kind && mk_v_is_text(pv.kind, "plugin") && pl && pl->kind == MK_V_STRING && pl->n == nl &&
            memcmp(pl->u.s, ns, nl) == 0)
            return pv;
    }
    return (prov){0};
}

/* note [plugin schema] in program.c: a NAME.* resource whose type a
 * plugin's schema declared is the plugin block's (`provider plugin X {
 * plugin = "NAME" }`), whatever its alias; one naming another plugin's
 * block is E0123. False: not a plugin's type. */
static bool route_plugin(router *r, mk_instance *in)
{
    const char *type = in->res->type, *dot = strchr(type, '.');
    if (!dot)
        return false;
    size_t nl = (size_t)(dot - type);
    char ns[64];
    snprintf(ns, sizeof ns, "%.*s", (int)(nl < 63 ? nl : 63), type);
    if (!mk_program_plugin_schema(r->p, ns))
        return false;
    prov pv = plugin_block(r, type, nl);
    bool explicit = in->provider && strcmp(in->provider, ns) != 0; /* (by default a NAME.* is NAME's) */
    if (explicit && (!pv.alias || strcmp(in->provider, pv.alias) != 0)) {
        mk_diag_item *d = mk_diag_error(r->p->diag, "E0123", attr_at(in->res->decl, "provider"),
                                        "%s is a %s, and provider `%s` does not serve plugin %s", in->address, type,
                                        in->provider, ns);
        mk_diag_label(d, "the block whose `plugin = \"%s\"` serves it", ns);
        mk_diag_help(d, "name that block, or leave `provider` out");
        return true;
    }
    if (pv.alias)
        in->provider = pv.alias;
    return true;
}

void mk_route_program(mk_program *p)
{
    router r = {.p = p};
    find_taker(&r);
    for (size_t i = 0; i < p->ninstances; i++) {
        mk_instance *in = p->instances[i];
        if (in->failed)
            continue;
        if (strcmp(in->res->type, "database") == 0)
            route_database(&r, in);
        else if (!route_plugin(&r, in))
            check_kind(&r, in);
    }
}
