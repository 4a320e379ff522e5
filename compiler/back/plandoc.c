/* plandoc — the plan's records as the plan document (plandoc.h). Keys come
 * in the order the document always had them: the plan file is written in
 * document order (note [plan text] in planfile.c).
 *
 * note [shared values]: most changes of a big plan repeat the same small
 * values — a type's list of unknown attributes, an empty list, "create",
 * "low", a lifecycle, a placement, a cost — and jansson's memory comes from
 * the bump allocator (base/jalloc.h), where every value costs for good. A
 * value no one changes once in the document is made once and shared
 * (jansson counts the references). */
#include "compiler/back/plandoc.h"

#include <string.h>

#include "compiler/base/mem.h"
#include "compiler/base/money.h"
#include "compiler/base/symtab.h"
#include "compiler/front/vjson.h"

/* Shared values keyed by up to four words: pointers (into the records, the
 * catalog, the program) or a price's bits. */
typedef struct vcache {
    uintptr_t key[4];
    json_t *v;
} vcache;

typedef struct vtab {
    vcache *e;
    size_t mask, n;
} vtab;

static void vtab_free(vtab *t)
{
    for (size_t k = 0; t->e && k <= t->mask; k++)
        json_decref(t->e[k].v);
    mk_mem_free(t->e);
    t->e = NULL;
}

static size_t vtab_hash(const uintptr_t key[4]) { return (key[0] * 31 + key[1] * 17 + key[2] * 13 + key[3]) >> 3; }

static void vtab_grow(vtab *t)
{
    vtab old = *t;
    t->mask = t->e ? t->mask * 2 + 1 : 255;
    t->e = mk_mem_calloc(t->mask + 1, sizeof *t->e);
    t->n = old.n;
    for (size_t k = 0; old.e && k <= old.mask; k++) {
        if (!old.e[k].v)
            continue;
        size_t i = vtab_hash(old.e[k].key) & t->mask;
        while (t->e[i].v)
            i = (i + 1) & t->mask;
        t->e[i] = old.e[k];
    }
    mk_mem_free(old.e);
}

/* The slot for key: a value to share, or an empty slot to fill (v NULL). */
static vcache *vtab_slot(vtab *t, uintptr_t k0, uintptr_t k1, uintptr_t k2, uintptr_t k3)
{
    const uintptr_t key[4] = {k0, k1, k2, k3};
    if (!t->e || t->n * 2 >= t->mask)
        vtab_grow(t);
    for (size_t i = vtab_hash(key) & t->mask;; i = (i + 1) & t->mask) {
        vcache *e = &t->e[i];
        if (!e->v) {
            memcpy(e->key, key, sizeof e->key);
            t->n++;
            return e;
        }
        if (!memcmp(e->key, key, sizeof e->key))
            return e;
    }
}

typedef struct doc {
    const mk_plan *pl;
    const mk_key *key;
    vtab shared;
} doc;

enum { K_STR = 1, K_NAMES, K_LIFECYCLE, K_PLACE, K_COST };

static json_t *str(doc *d, const char *s)
{
    if (!s)
        return json_null();
    vcache *e = vtab_slot(&d->shared, K_STR, (uintptr_t)s, 0, 0);
    if (!e->v)
        e->v = json_string(s);
    return json_incref(e->v);
}

static json_t *nstr(const char *s) { return s ? json_string(s) : json_null(); }

static json_t *names(doc *d, mk_names n)
{
    vcache *e = vtab_slot(&d->shared, K_NAMES, (uintptr_t)n.v, n.n, 0);
    if (!e->v) {
        e->v = json_array();
        for (uint32_t i = 0; i < n.n; i++)
            json_array_append_new(e->v, json_string(n.v[i]));
    }
    return json_incref(e->v);
}

static json_t *ids(const uint32_t *v, uint32_t n)
{
    json_t *a = json_array();
    for (uint32_t i = 0; i < n; i++)
        json_array_append_new(a, json_integer(v[i]));
    return a;
}

static json_t *strings(const char *const *v, uint32_t n)
{
    json_t *a = json_array();
    for (uint32_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *lifecycle(doc *d, const mk_change *c)
{
    vcache *e = vtab_slot(&d->shared, K_LIFECYCLE, c->prevent_destroy, c->create_before_destroy, 0);
    if (!e->v)
        e->v = json_pack("{s:b, s:b}", "prevent_destroy", c->prevent_destroy, "create_before_destroy",
                         c->create_before_destroy);
    return json_incref(e->v);
}

/* Where the cost model placed it, else as written (or the state's). */
static json_t *placement(doc *d, const mk_change *c)
{
    if (!c->cloud)
        return c->placement ? json_incref(c->placement) : json_null();
    vcache *e = vtab_slot(&d->shared, K_PLACE, (uintptr_t)c->cloud, (uintptr_t)c->region, (uintptr_t)c->placed_offering);
    if (!e->v)
        e->v = json_pack("{s:[s], s:[s], s:s?, s:s}", "providers", c->cloud, "regions", c->region, "offering",
                         c->placed_offering, "optimize", "cost");
    return json_incref(e->v);
}

static json_t *cost(doc *d, const mk_change *c)
{
    if (!c->costed)
        return json_null();
    /* (a price is never negative: -1 stands for none) */
    vcache *e = vtab_slot(&d->shared, (uintptr_t)K_COST << 56 ^ (c->priced ? (uintptr_t)c->monthly : (uintptr_t)-1),
                          (uintptr_t)c->delta, (uintptr_t)c->offering, (uintptr_t)c->unpriced_because);
    if (!e->v)
        e->v = json_pack("{s:o, s:o, s:s?, s:s?}", "monthly", c->priced ? mk_vjson_money(c->monthly) : json_null(),
                         "delta", mk_vjson_money(c->delta), "offering", c->offering, "unpriced_because", c->unpriced_because);
    return json_incref(e->v);
}

/* The desired attributes, sealed, in schema order. */
static json_t *after(doc *d, const mk_instance *in)
{
    json_t *o = json_object();
    const mk_type *ty = in->res->schema;
    for (uint32_t k = 0; ty && k < ty->nfields; k++) {
        bool unknown = false;
        json_object_set_new(o, ty->fields[k].name, mk_vjson_from(in->attrs->u.map.vals[k], d->key, true, &unknown));
    }
    return o;
}

static json_t *desired(doc *d, const mk_change *c)
{
    json_t *o = json_pack("{s:i, s:s, s:o, s:s, s:o, s:o, s:O?, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
        "id", (json_int_t)c->id, "address", c->address, "type", str(d, c->type), "name", c->name,
        "provider", str(d, c->provider), "action", str(d, mk_plan_action_name(c->action)), "before", c->before,
        "after", after(d, c->in), "after_unknown", names(d, c->unknown), "sensitive", names(d, c->sensitive),
        "changed", names(d, c->changed), "replace_because", names(d, c->forces), "depends_on",
        ids(c->depends_on, c->ndepends), "risk", str(d, mk_plan_risk_name(c->risk)), "cost", cost(d, c),
        "lifecycle", lifecycle(d, c), "placement", placement(d, c));
    json_object_set_new(o, "refs", strings(c->refs, c->nrefs));
    return o;
}

/* A delete of the state's resource, or of a deposed object of it. */
static json_t *removed(doc *d, const mk_change *c)
{
    json_t *o = json_pack("{s:i, s:s}", "id", (json_int_t)c->id, "address", c->address);
    if (c->deposed)
        json_object_set_new(o, "deposed", json_string(c->deposed));
    json_object_set_new(o, "type", nstr(c->type)); /* (the state's strings: one each, nothing to share) */
    json_object_set_new(o, "name", nstr(c->name));
    if (c->deposed)
        json_object_set_new(o, "action", str(d, "delete"));
    json_object_set_new(o, "provider", nstr(c->provider));
    json_t *rest = json_pack("{s:O?, s:n, s:[], s:o, s:[], s:[], s:o, s:o, s:o, s:o}", "before", c->before,
                             "after", "after_unknown", "sensitive", names(d, c->sensitive), "changed", "replace_because",
                             "depends_on", ids(c->depends_on, c->ndepends), "risk", str(d, mk_plan_risk_name(c->risk)),
                             "cost", cost(d, c), "placement", c->placement ? json_incref(c->placement) : json_null());
    if (!c->deposed) /* (the action came after the provider for a delete) */
        json_object_set_new(o, "action", str(d, "delete"));
    json_object_update(o, rest);
    json_decref(rest);
    json_t *lc = c->lifecycle ? json_incref(c->lifecycle) : c->deposed ? json_null() : json_object();
    json_object_set_new(o, "lifecycle", lc);
    json_object_set_new(o, "refs", strings(c->refs, c->nrefs));
    return o;
}

static json_t *gates(const mk_plan *pl)
{
    json_t *a = json_array();
    for (size_t i = 0; i < pl->ngates; i++) {
        const mk_gate *g = &pl->gates[i];
        json_array_append_new(a, json_pack("{s:I, s:s, s:s, s:s?, s:s?, s:o}", "id", (json_int_t)g->id, "policy",
                                           g->policy, "group", g->group, "message", g->message, "address", g->address,
                                           "change", g->change ? json_integer(g->change) : json_null()));
    }
    return a;
}

static json_t *changes(doc *d)
{
    json_t *a = json_array();
    for (size_t i = 0; i < d->pl->nchanges; i++) {
        const mk_change *c = &d->pl->changes[i];
        json_t *o = c->in ? desired(d, c) : removed(d, c);
        if (c->risk_raised_by)
            json_object_set_new(o, "risk_raised_by", json_string(c->risk_raised_by));
        json_array_append_new(a, o);
    }
    return a;
}

json_t *mk_plandoc_of(const mk_plan *pl, const mk_key *key)
{
    doc d = {pl, key, {0}};
    const mk_plan_totals *t = &pl->totals;
    json_t *plan = json_pack("{s:s, s:s, s:s, s:b, s:{s:s?, s:s, s:I}, s:O, s:o, s:o, s:o, s:O, s:{s:i, s:i, s:i, s:i, s:i}}",
        "format", "moksha.plan/v1", "stack", pl->stack, "inputs_digest", pl->inputs_digest, "destroy", pl->destroy,
        "state", "stack_id", pl->stack_id, "lineage", pl->lineage, "serial", (json_int_t)pl->serial,
        "providers", pl->providers, "changes", changes(&d), "gates", gates(pl),
        "policies", pl->policies ? json_incref(pl->policies) : json_array(), "outputs", pl->outputs,
        "totals", "create", t->create, "update", t->update, "replace", t->replace, "delete", t->remove, "noop", t->noop);
    if (pl->costed)
        json_object_set_new(plan, "cost", json_pack("{s:s, s:o, s:o, s:o, s:I}", "currency", "USD", "monthly",
                            mk_vjson_money(pl->monthly), "applied", mk_vjson_money(pl->applied),
                            "delta", mk_vjson_money(pl->delta), "unpriced", (json_int_t)pl->unpriced));
    vtab_free(&d.shared);
    return plan;
}
