/* policy — the policy language's one owner: checking the structure of
 * policy statements before there is a plan, building policy inputs, the
 * type index, and the statement walker that turns failed asserts into
 * violations and `require` into gates. */
#include "compiler/middle/policy.h"

#include <ctype.h>
#include <inttypes.h>
#include <string.h>

#include "compiler/middle/cost.h"
#include "compiler/middle/place.h"
#include "compiler/front/eval_expr.h"
#include "compiler/base/mem.h"
#include "compiler/base/symtab.h"
#include "compiler/base/money.h"
#include "compiler/middle/plan.h"
#include "compiler/front/vjson.h"

typedef struct pol {
    mk_program *p;
    mk_ev e;
    mk_ectx root;
    mk_polin in;
    mk_symtab by_type;     /* type name → mk_vbuild* of resource values */
    mk_symtab by_addr;     /* address → mk_instance* (for resource locations) */
    json_t *viol, *gates, *risks;
    int next_gate, undetermined;
    const mk_plan *plan;   /* the records (NULL: no plan, moksha cost) */
    bool subset;           /* resources are some instances only: so are the changes */
    mk_symtab in_set;      /* with subset: the instances of set, for the changes' filter */
    /* note [lazy inputs]: a plan's resources as values are made on first
     * use, per type for the loops the index serves, all for the rest */
    bool lazy, addr_built;
    mk_instance *const *set;
    const mk_place_at *const *at; /* where each of set is placed (the place report's), or NULL */
    size_t nset;
    mk_value **vals;
    mk_symtab changed;     /* a change's mk_names list (by its array) → its value, one per list */
    /* note [shared inputs]: the small maps most resources have alike — a
     * lifecycle, a monthly cost, a placement — made once per distinct one
     * (values are never changed once made) */
    mk_value *lifecycles[4];
    mk_symtab costs;       /* ("monthly", amount) → cost map */
    mk_symtab places;      /* (cloud, region) → a list of struct place */
    mk_name rk[9];         /* a resource value's meta keys, then "monthly", interned once */
    mk_symtab locs;        /* AST node → its location object, shared by violations */
    mk_arena *prog;        /* the program's arena: inputs and what is memoised */
    /* note [change values]: a change's keys, interned once, and the strings
     * a plan's changes share (actions, types, risks), made once each */
    mk_name ck[11];
    mk_value *strs[32], *empty_list;
    int nstrs;
    mk_arena *scratch;     /* a loop iteration's temporaries (note [iteration scratch]) */
} pol;

static mk_name N(pol *P, const char *s) { return mk_intern_s(P->p->ast.names, s); }
static void ensure_addr(pol *P);

/* note [iteration scratch]: what a loop iteration evaluates lives in the
 * scratch arena and is released when the iteration ends; the inputs made on
 * first use (resources, changes, the type index, the shared maps) outlive it,
 * so they are built in the program's arena. The lets and resources of the
 * program are all evaluated before policies run, so nothing the evaluator
 * memoises is made during a policy. */
static mk_arena *use_arena(pol *P, mk_arena *a)
{
    mk_arena *was = P->e.v->arena;
    P->e.v->arena = a;
    return was;
}

json_t *mk_policy_location(mk_program *p, mk_span at)
{
    if (at.file == UINT32_MAX || !mk_src_get(&p->src, at.file))
        return json_null();
    uint32_t line, col;
    mk_src_linecol(&p->src, at.file, at.start, &line, &col);
    return json_pack("{s:s, s:i, s:i}", "file", mk_src_get(&p->src, at.file)->name, "line", (json_int_t)line,
                     "column", (json_int_t)col);
}

/* ---- inputs ---- */

static mk_value *lifecycle_value(pol *P, const mk_instance *in)
{
    mk_value **lc = &P->lifecycles[in->prevent_destroy * 2 + in->create_before_destroy];
    if (!*lc) {
        mk_vbuild vb = {0};
        mk_vb_push(P->e.v, &vb, N(P, "prevent_destroy"), mk_v_bool(in->prevent_destroy));
        mk_vb_push(P->e.v, &vb, N(P, "create_before_destroy"), mk_v_bool(in->create_before_destroy));
        *lc = mk_vb_map(P->e.v, &vb);
    }
    return *lc;
}

static mk_value *cost_value(pol *P, mk_name key, mk_value *amount)
{
    mk_value *m = mk_v_map(P->e.v, 1);
    m->u.map.keys[0] = key;
    m->u.map.vals[0] = amount ? amount : MK_V_NULLV;
    return m;
}

/* One placement map per place, for resources without a block of their own
 * (note [shared inputs]): the cost model's strings, compared by pointer. */
struct place {
    const char *offering;
    mk_value *map;
    struct place *next;
};

static mk_value **place_slot(pol *P, const mk_place_at *at)
{
    mk_name cloud = at->cloud, region = at->region;
    struct place *head = mk_sym_get(&P->places, cloud, region), *pl = head;
    while (pl && pl->offering != at->offering)
        pl = pl->next;
    if (!pl) {
        pl = mk_arena_alloc(P->e.v->arena, sizeof *pl);
        *pl = (struct place){at->offering, NULL, head};
        mk_sym_put(&P->places, cloud, region, pl);
    }
    return &pl->map;
}

/* `r.placement`: the placement block as written, with where the cost model
 * put the resource — cloud, region, offering — when it did (at, the place
 * report's; NULL without one). */
static mk_value *placement_value(pol *P, mk_instance *in, const mk_place_at *at)
{
    if (!at || !at->cloud)
        return in->placement ? in->placement : MK_V_NULLV;
    mk_value **shared = in->placement ? NULL : place_slot(P, at);
    if (shared && *shared)
        return *shared;
    mk_vctx *v = P->e.v;
    mk_vbuild vb = {0};
    for (uint32_t i = 0; in->placement && in->placement->kind == MK_V_MAP && i < in->placement->n; i++)
        mk_vb_push(v, &vb, in->placement->u.map.keys[i], in->placement->u.map.vals[i]);
    mk_vb_push(v, &vb, N(P, "cloud"), mk_v_cstr(v, at->cloud));
    mk_vb_push(v, &vb, N(P, "region"), at->region ? mk_v_cstr(v, at->region) : MK_V_NULLV);
    mk_vb_push(v, &vb, N(P, "offering"), at->offering ? mk_v_cstr(v, at->offering) : MK_V_NULLV);
    mk_value *m = mk_vb_map(v, &vb);
    if (shared)
        *shared = m;
    return m;
}

/* A resource as policies see it: its attributes, then the meta keys (which
 * win over a schema field of the same name), then `attributes` itself. */
static mk_value *resource_value(pol *P, mk_instance *in, const mk_place_at *at)
{
    static const char *const keys[] = {"type", "name", "address", "provider", "lifecycle", "placement", "cost", "attributes", "monthly"};
    mk_vctx *v = P->e.v;
    if (!P->rk[0])
        for (int i = 0; i < 9; i++)
            P->rk[i] = N(P, keys[i]);
    mk_value *attrs = in->attrs && in->attrs->kind == MK_V_MAP ? in->attrs : mk_v_map(v, 0);
    /* meta keys first: `r.type` is read for every resource by most policies */
    mk_value *m = mk_v_map(v, 8 + attrs->n);
    mk_name *k = m->u.map.keys;
    mk_value **x = m->u.map.vals;
    memcpy(k, P->rk, 8 * sizeof *k);
    /* the program's own strings, not copies: they outlive every policy */
    x[0] = mk_v_str_owned(v, in->res->type, (uint32_t)strlen(in->res->type));
    x[1] = mk_v_str_owned(v, in->res->name, (uint32_t)strlen(in->res->name));
    x[2] = mk_v_str_owned(v, in->address, (uint32_t)strlen(in->address));
    x[3] = in->provider ? mk_v_cstr(v, in->provider) : MK_V_NULLV;
    x[4] = lifecycle_value(P, in);
    x[5] = placement_value(P, in, at);
    /* a test's own figure, else the cost model's price: where it is placed,
     * or, while placement policies decide, where it is tried */
    mk_value *amount = in->test_cost, *cost = NULL;
    if (!amount && at && at->priced)
        amount = mk_v_money(v, at->monthly);
    /* one map per price (note [shared inputs]), keyed by the amount itself */
    bool priced = amount && amount->kind == MK_V_MONEY;
    mk_name price = priced ? (mk_name)(uintptr_t)amount->u.i : NULL;
    if (priced)
        cost = mk_sym_get(&P->costs, P->rk[8], price);
    if (!cost) {
        cost = cost_value(P, P->rk[8], amount);
        if (priced)
            mk_sym_put(&P->costs, P->rk[8], price, cost);
    }
    x[6] = cost;
    x[7] = attrs;
    uint32_t n = 8;
    for (uint32_t i = 0; i < attrs->n; i++) {
        bool taken = false; /* the meta keys win over a schema field of the same name */
        for (int j = 0; j < 8 && !taken; j++)
            taken = attrs->u.map.keys[i] == k[j];
        if (!taken)
            k[n] = attrs->u.map.keys[i], x[n++] = attrs->u.map.vals[i];
    }
    m->n = n;
    return m;
}

static void index_resource(pol *P, mk_instance *in, mk_value *r, mk_vbuild *all)
{
    mk_vb_push(P->e.v, all, NULL, r);
    mk_name ty = mk_intern_s(P->p->ast.names, in->res->type);
    mk_vbuild *list = mk_sym_get(&P->by_type, ty, NULL);
    if (!list) {
        list = mk_arena_alloc(P->e.v->arena, sizeof *list);
        mk_sym_put(&P->by_type, ty, NULL, list);
    }
    mk_vb_push(P->e.v, list, NULL, r);
    mk_sym_put(&P->by_addr, mk_intern_s(P->p->ast.names, in->address), NULL, in);
}

/* note [change values]: one value per distinct short string; values are
 * never changed once made, so changes can share them. */
static mk_value *shared_str(pol *P, const char *s)
{
    for (int i = 0; i < P->nstrs; i++)
        if (strcmp(P->strs[i]->u.s, s) == 0)
            return P->strs[i];
    mk_value *v = mk_v_cstr(P->e.v, s);
    if (P->nstrs < (int)(sizeof P->strs / sizeof *P->strs))
        P->strs[P->nstrs++] = v;
    return v;
}

static mk_value *change_value(pol *P, const char *action, const char *address, const char *type, const char *name,
                              mk_value *before, mk_value *after, mk_value *changed, const char *risk, bool irreversible,
                              mk_value *delta)
{
    static const char *const keys[] = {"action", "address", "type", "name", "before", "after", "changed", "risk",
                                       "irreversible", "cost", "delta"};
    mk_vctx *v = P->e.v;
    if (!P->ck[0]) {
        for (int i = 0; i < 11; i++)
            P->ck[i] = N(P, keys[i]);
        P->empty_list = mk_v_list(v, 0);
    }
    mk_value *cost = cost_value(P, P->ck[10], delta);
    mk_value *vals[10] = {shared_str(P, action), mk_v_cstr(v, address), shared_str(P, type), mk_v_cstr(v, name ? name : ""),
                          before ? before : MK_V_NULLV, after ? after : MK_V_NULLV, changed ? changed : P->empty_list,
                          shared_str(P, risk), mk_v_bool(irreversible), cost};
    mk_value *m = mk_v_map(v, 10);
    memcpy(m->u.map.keys, P->ck, 10 * sizeof *P->ck);
    memcpy(m->u.map.vals, vals, sizeof vals);
    return m;
}

static mk_value *plan_value(pol *P, mk_value *monthly, mk_value *delta)
{
    mk_vbuild vb = {0};
    mk_vb_push(P->e.v, &vb, N(P, "monthly"), monthly);
    mk_vb_push(P->e.v, &vb, N(P, "delta"), delta);
    mk_value *cost = mk_vb_map(P->e.v, &vb);
    mk_vbuild top = {0};
    mk_vb_push(P->e.v, &top, N(P, "cost"), cost);
    return mk_vb_map(P->e.v, &top);
}

/* A change's cost.delta, exact (the plan file holds it rounded: note
 * [money]): none before the cost model ran, 0 for a deposed object. */
static mk_value *change_delta(pol *P, const mk_change *c)
{
    if (c->deposed)
        return mk_v_money(P->e.v, 0);
    return c->costed ? mk_v_money(P->e.v, c->delta) : NULL;
}

/* `c.changed`: one value per distinct list (the plan shares its lists). */
static mk_value *changed_value(pol *P, mk_names n)
{
    if (!n.n)
        return NULL;
    mk_value *v = mk_sym_get(&P->changed, (mk_name)n.v, NULL);
    if (!v) {
        v = mk_v_list(P->e.v, n.n);
        for (uint32_t i = 0; i < n.n; i++)
            v->u.items[i] = mk_v_cstr(P->e.v, n.v[i]);
        mk_sym_put(&P->changed, (mk_name)n.v, NULL, v);
    }
    return v;
}

static mk_value *changes_build(pol *P);

static mk_value *changes_from_plan(mk_polin *pin)
{
    pol *P = pin->ud;
    mk_arena *was = use_arena(P, P->prog); /* note [iteration scratch] */
    mk_value *v = changes_build(P);
    use_arena(P, was);
    return v;
}

/* With a subset of the instances (placement), only their changes. */
static bool in_subset(pol *P, const mk_instance *in)
{
    if (!P->subset)
        return true;
    if (!in)
        return false;
    if (!P->in_set.count)
        for (size_t k = 0; k < P->nset; k++)
            mk_sym_put(&P->in_set, (mk_name)P->set[k], NULL, (void *)P->set[k]);
    return mk_sym_get(&P->in_set, (mk_name)in, NULL) != NULL;
}

/* A change's after as policies see it: the instance's values, with
 * before's for the attributes the change keeps (note [kept] in
 * middle/plan.h), which are what the executor sends. */
static mk_value *after_value(pol *P, const mk_change *c)
{
    mk_value *attrs = c->in ? c->in->attrs : NULL;
    if (!attrs || attrs->kind != MK_V_MAP || !c->kept.n)
        return attrs;
    mk_value *m = mk_v_map(P->e.v, attrs->n);
    memcpy(m->u.map.keys, attrs->u.map.keys, attrs->n * sizeof *m->u.map.keys);
    memcpy(m->u.map.vals, attrs->u.map.vals, attrs->n * sizeof *m->u.map.vals);
    for (uint32_t i = 0; i < attrs->n; i++)
        for (uint32_t j = 0; j < c->kept.n; j++)
            if (strcmp(attrs->u.map.keys[i], c->kept.v[j]) == 0)
                m->u.map.vals[i] = mk_vjson_to_any(P->e.v, json_object_get(c->before, c->kept.v[j]), true);
    return m;
}

static mk_value *changes_build(pol *P)
{
    mk_vbuild changes = {0};
    for (size_t k = 0; P->plan && k < P->plan->nchanges; k++) {
        const mk_change *c = &P->plan->changes[k];
        if (!in_subset(P, c->in))
            continue;
        mk_vb_push(P->e.v, &changes, NULL,
                   change_value(P, mk_plan_action_name(c->action), c->address, c->type, c->name,
                                json_is_object(c->before) ? mk_vjson_to_any(P->e.v, c->before, true) : NULL,
                                after_value(P, c), changed_value(P, c->changed), mk_plan_risk_name(c->risk),
                                c->irreversible, change_delta(P, c)));
    }
    return mk_vb_list(P->e.v, &changes);
}

/* note [lazy inputs]; made in the program's arena (note [iteration scratch]) */
static mk_value *value_at(pol *P, size_t k)
{
    if (!P->vals[k]) {
        mk_arena *was = use_arena(P, P->prog);
        P->vals[k] = resource_value(P, (mk_instance *)P->set[k], P->at ? P->at[k] : NULL);
        use_arena(P, was);
    }
    return P->vals[k];
}

static void ensure_addr(pol *P)
{
    if (!P->lazy || P->addr_built)
        return;
    P->addr_built = true;
    for (size_t k = 0; k < P->nset; k++)
        mk_sym_put(&P->by_addr, mk_intern_s(P->p->ast.names, P->set[k]->address), NULL, (void *)P->set[k]);
}

/* The values of the resources of one type (the index of run_for). */
static mk_vbuild *type_list(pol *P, const char *type)
{
    mk_name ty = N(P, type);
    mk_vbuild *list = mk_sym_get(&P->by_type, ty, NULL);
    if (list || !P->lazy)
        return list;
    mk_arena *was = use_arena(P, P->prog); /* note [iteration scratch] */
    list = mk_arena_alloc(P->e.v->arena, sizeof *list);
    memset(list, 0, sizeof *list);
    for (size_t k = 0; k < P->nset; k++)
        if (strcmp(P->set[k]->res->type, type) == 0)
            mk_vb_push(P->e.v, list, NULL, value_at(P, k));
    mk_sym_put(&P->by_type, ty, NULL, list);
    use_arena(P, was);
    return list;
}

static mk_value *resources_all(mk_polin *pin)
{
    pol *P = pin->ud;
    mk_arena *was = use_arena(P, P->prog); /* note [iteration scratch] */
    mk_vbuild all = {0};
    for (size_t k = 0; k < P->nset; k++)
        mk_vb_push(P->e.v, &all, NULL, value_at(P, k));
    mk_value *list = mk_vb_list(P->e.v, &all);
    use_arena(P, was);
    return list;
}

/* `providers`: one map per provider block, {name (its kind, "local"),
 * alias (the block's name), each setting by name, settings (all of them)},
 * so a policy can check what the executor will be told (docs/policies.md). */
static mk_value *providers_value(pol *P, const mk_value *blocks)
{
    mk_vbuild list = {0};
    for (uint32_t i = 0; blocks && blocks->kind == MK_V_MAP && i < blocks->n; i++) {
        mk_value *cfg = blocks->u.map.vals[i];
        mk_value *settings = mk_v_get(cfg, N(P, "settings"));
        mk_vbuild vb = {0};
        mk_vb_push(P->e.v, &vb, N(P, "name"), mk_v_get(cfg, N(P, "type")));
        mk_vb_push(P->e.v, &vb, N(P, "alias"), mk_v_cstr(P->e.v, blocks->u.map.keys[i]));
        for (uint32_t k = 0; settings && settings->kind == MK_V_MAP && k < settings->n; k++)
            mk_vb_push(P->e.v, &vb, settings->u.map.keys[k], settings->u.map.vals[k]);
        mk_vb_push(P->e.v, &vb, N(P, "settings"), settings ? settings : mk_v_map(P->e.v, 0));
        mk_vb_push(P->e.v, &list, NULL, mk_vb_map(P->e.v, &vb));
    }
    return mk_vb_list(P->e.v, &list);
}

static void inputs_from_plan(pol *P, const mk_plan *plan, const mk_place_at *const *at, mk_instance *const *only,
                             size_t nonly)
{
    mk_program *p = P->p;
    P->subset = only != NULL;
    P->lazy = true;
    P->set = only ? only : (mk_instance *const *)p->instances;
    P->nset = only ? nonly : p->ninstances;
    P->at = at;
    P->vals = mk_mem_calloc(P->nset + 1, sizeof *P->vals);
    P->in.resources = NULL;
    P->in.build_resources = resources_all;
    P->plan = plan;
    P->in.providers = providers_value(P, p->root ? p->root->provider_values : NULL);
    P->in.build_changes = changes_from_plan;
    P->in.ud = P;
    /* without the cost model's figures (a broken catalog; placement, which
     * runs before the totals are known) the plan's cost is unknown */
    bool costed = plan && plan->costed;
    P->in.plan = plan_value(P, costed ? mk_v_money(P->e.v, plan->monthly) : mk_v_unknown(P->e.v, MK_V_MONEY),
                            costed ? mk_v_money(P->e.v, plan->delta) : mk_v_unknown(P->e.v, MK_V_MONEY));
}

static bool is_action(mk_value *a, const char *s) { return a && a->kind == MK_V_STRING && a->n == strlen(s) && !memcmp(a->u.s, s, a->n); }

/* A test resource's `action = "…"`: create when it says none. */
static mk_action test_action(const mk_instance *in)
{
    mk_value *a = in->test_action;
    return !a ? MK_ACT_CREATE : is_action(a, "delete") ? MK_ACT_DELETE : is_action(a, "update") ? MK_ACT_UPDATE
         : is_action(a, "replace") ? MK_ACT_REPLACE : is_action(a, "import") ? MK_ACT_IMPORT
         : is_action(a, "move") ? MK_ACT_MOVE : MK_ACT_CREATE;
}

/* A test's resources and changes; rep (may be NULL) is where place_test
 * placed them, its items in the same order. */
static void inputs_from_test(pol *P, mk_unit *tu, const mk_place_report *rep)
{
    mk_vbuild all = {0}, changes = {0};
    mk_money monthly = 0, delta = 0;
    bool overflow = false;
    size_t item = 0;
    for (uint32_t r = 0; r < tu->nres; r++) {
        mk_resource *res = tu->res_order[r];
        for (uint32_t i = 0; i < res->ninst; i++, item++) {
            mk_instance *in = res->inst[i];
            const mk_place_at *at = rep && item < rep->nitems && rep->items[item].in == in ? &rep->items[item].at : NULL;
            mk_value *rv = resource_value(P, in, at);
            /* the test's `cost = $…`, else the cost model's price (note [tests place]) */
            mk_money cost = in->test_cost ? in->test_cost->u.i : at && at->priced ? at->monthly : 0, d = 0;
            mk_action act = test_action(in);
            const char *action = mk_plan_action_name(act);
            bool del = act == MK_ACT_DELETE;
            if (!del) {
                index_resource(P, in, rv, &all);
                overflow |= !mk_money_add(monthly, cost, &monthly);
            }
            overflow |= !(del ? mk_money_neg(cost, &d) : (d = strcmp(action, "create") == 0 ? cost : 0, true)) ||
                        !mk_money_add(delta, d, &delta);
            bool stateful = res->schema && res->schema->is_stateful; /* as the planner rates it */
            const char *risk = mk_plan_risk_name(mk_plan_risk(act, res->type, stateful, (mk_names){NULL, 0}));
            mk_vb_push(P->e.v, &changes, NULL,
                       change_value(P, action, in->address, res->type, res->name,
                                    del || (act != MK_ACT_CREATE && act != MK_ACT_IMPORT) ? in->attrs : NULL, /* an import's before: not read in a test */
                                    del ? NULL : in->attrs, NULL, risk, mk_plan_irreversible(act, stateful),
                                    mk_v_money(P->e.v, d)));
        }
    }
    P->in.resources = mk_vb_list(P->e.v, &all);
    P->in.changes = mk_vb_list(P->e.v, &changes);
    P->in.providers = providers_value(P, tu->provider_values ? tu->provider_values : P->p->root ? P->p->root->provider_values : NULL);
    mk_value *unknown = mk_v_unknown(P->e.v, MK_V_MONEY); /* totals out of range: nothing to judge */
    P->in.plan = plan_value(P, overflow ? unknown : mk_v_money(P->e.v, monthly), overflow ? unknown : mk_v_money(P->e.v, delta));
}

/* ---- the walker ---- */

typedef struct walk {
    pol *P;
    mk_ectx c;
    mk_ast *policy;
    mk_value *subject;  /* innermost loop element with an address */
} walk;

/* `v.type == "x"` and `v.type in ["x", "y"]` among the &&-joined parts of a
 * where clause: the types the loop can be limited to. */
static int type_filter(mk_ast *w, mk_name var, const char **out, int max)
{
    if (!w)
        return -1;
    if (w->kind == MK_AST_BINARY && w->op == MK_OP_AND) {
        int a = type_filter(w->a, var, out, max);
        return a >= 0 ? a : type_filter(w->b, var, out, max);
    }
    if (w->kind != MK_AST_BINARY || (w->op != MK_OP_EQ && w->op != MK_OP_IN))
        return -1;
    mk_ast *lhs = w->a, *rhs = w->b;
    if (lhs->kind != MK_AST_GETATTR || strcmp(lhs->name, "type") != 0 || lhs->a->kind != MK_AST_NAME || lhs->a->name != var)
        return -1;
    if (w->op == MK_OP_EQ && rhs->kind == MK_AST_STRING) {
        out[0] = rhs->str;
        return 1;
    }
    if (w->op != MK_OP_IN || rhs->kind != MK_AST_LIST || (int)rhs->kids.n > max)
        return -1;
    for (uint32_t i = 0; i < rhs->kids.n; i++) {
        if (rhs->kids.v[i]->kind != MK_AST_STRING)
            return -1;
        out[i] = rhs->kids.v[i]->str;
    }
    return (int)rhs->kids.n;
}

static void run_stmts(walk *w, mk_ast_list *items);

/* A message's text; the secrets it interpolates show as (sensitive). */
static const char *text_of(walk *w, mk_ast *msg, mk_buf *b)
{
    mk_ectx mc = w->c;
    mc.redact = true;
    mk_value *m = msg ? mk_eval_expr(&mc, msg) : NULL;
    if (m && !mk_v_to_text(m, b, false))
        mk_buf_puts(b, m->kind == MK_V_UNKNOWN ? "(known after apply)" : "(message is not text)");
    return b->len ? mk_buf_cstr(b) : NULL;
}

static const char *subject_address(walk *w)
{
    mk_value *a = w->subject ? mk_v_get(w->subject, N(w->P, "address")) : NULL;
    return a && a->kind == MK_V_STRING ? a->u.s : NULL;
}

/* A policy can fail for every resource: one location object per place. */
static json_t *loc_of(pol *P, mk_ast *node)
{
    json_t *j = mk_sym_get(&P->locs, (mk_name)(void *)node, NULL);
    if (!j) {
        j = mk_policy_location(P->p, node->span);
        mk_sym_put(&P->locs, (mk_name)(void *)node, NULL, j);
    }
    return json_incref(j);
}

static void violation(walk *w, mk_ast *stmt)
{
    mk_buf b = {0};
    const char *msg = text_of(w, stmt->b, &b);
    const char *addr = subject_address(w);
    ensure_addr(w->P);
    mk_instance *in = addr ? mk_sym_get(&w->P->by_addr, N(w->P, addr), NULL) : NULL;
    json_t *v = json_pack("{s:s, s:s?, s:o, s:o}", "message", msg ? msg : "assertion failed", "address", addr,
                          "location", loc_of(w->P, stmt), "resource_location",
                          in ? loc_of(w->P, in->res->decl) : json_null());
    json_array_append_new(w->P->viol, v);
    mk_buf_free(&b);
}

static void gate(walk *w, mk_ast *stmt)
{
    mk_ectx rc = w->c;
    rc.in_require = true;
    mk_value *g = mk_eval_expr(&rc, stmt->a);
    mk_value *group = g->kind == MK_V_MAP ? mk_v_get(g, N(w->P, "approval")) : NULL;
    mk_value *level = g->kind == MK_V_MAP ? mk_v_get(g, N(w->P, "risk")) : NULL;
    mk_value *count = g->kind == MK_V_MAP ? mk_v_get(g, N(w->P, "count")) : NULL;
    mk_buf b = {0};
    if (level && level->kind == MK_V_STRING) { /* raise the risk class of the change in scope */
        const char *msg = text_of(w, stmt->b, &b);
        json_array_append_new(w->P->risks, json_pack("{s:s, s:s?, s:s?}", "risk", level->u.s, "message", msg,
                                                     "address", subject_address(w)));
        mk_buf_free(&b);
        return;
    }
    if (!group || group->kind != MK_V_STRING)
        return;
    const char *msg = text_of(w, stmt->b, &b);
    json_array_append_new(w->P->gates, json_pack("{s:i, s:s, s:s?, s:s?, s:o}", "id", (json_int_t)++w->P->next_gate,
                          "group", group->u.s, "message", msg, "address", subject_address(w),
                          "location", mk_policy_location(w->P->p, stmt->span)));
    if (count && count->kind == MK_V_INT && count->u.i > 1) /* how many distinct members must sign; 1 unsaid */
        json_object_set_new(json_array_get(w->P->gates, json_array_size(w->P->gates) - 1), "count", json_integer(count->u.i));
    mk_buf_free(&b);
}

static void loop_body(walk *w, mk_ast *it, mk_value *key, mk_value *val, bool where_holds)
{
    /* note [iteration scratch]: released at the end of the iteration */
    mk_arena *was = use_arena(w->P, w->P->scratch);
    mk_arena_mark m = mk_arena_mark_at(w->P->scratch);
    /* spare slot arrays made now are in the scratch arena: the iteration
     * starts a list of its own, and the list is put back as it was when the
     * iteration ends (note [slot reuse] in front/eval.c) */
    struct mk_slotbuf *spare = w->P->e.spare_slots;
    w->P->e.spare_slots = NULL;
    mk_local l1 = {w->c.locals, it->name, it->name2 ? key : val}, l2 = {&l1, it->name2, val};
    mk_local *saved = w->c.locals;
    mk_value *saved_subject = w->subject;
    w->c.locals = it->name2 ? &l2 : &l1;
    mk_value *cond = it->b && !where_holds ? mk_eval_expr(&w->c, it->b) : NULL;
    if (!cond || (cond->kind == MK_V_BOOL && cond->u.b)) {
        if (val->kind == MK_V_MAP && mk_v_get(val, N(w->P, "address")))
            w->subject = val;
        run_stmts(w, &it->kids);
    }
    w->c.locals = saved;
    w->subject = saved_subject;
    w->P->e.spare_slots = spare;
    mk_arena_reset(w->P->scratch, m);
    use_arena(w->P, was);
}

static bool shadowed(walk *w, mk_name n)
{
    for (mk_local *l = w->c.locals; l; l = l->up)
        if (l->name == n)
            return true;
    return false;
}

static void run_for(walk *w, mk_ast *it)
{
    const char *types[32];
    mk_name res = w->P->e.n.resources;
    int nt = it->a->kind == MK_AST_NAME && it->a->name == res && !shadowed(w, res)
                 ? type_filter(it->b, it->name2 ? it->name2 : it->name, types, 32) : -1;
    if (nt >= 0) { /* through the index: only the types the loop can match */
        /* the index already holds for a where that is only the type test */
        bool only_type = it->b->kind == MK_AST_BINARY && it->b->op != MK_OP_AND;
        for (int t = 0; t < nt; t++) {
            mk_vbuild *list = type_list(w->P, types[t]);
            for (uint32_t i = 0; list && i < list->n; i++)
                loop_body(w, it, it->name2 ? mk_v_int(w->P->e.v, i) : NULL, list->vals[i], only_type);
        }
        return;
    }
    mk_value *src = mk_eval_expr(&w->c, it->a);
    mk_vctx *v = w->P->e.v;
    uint8_t secret = src->flags & MK_VF_SECRET; /* over a secret: its keys and elements are secret, in messages too */
    if (src->kind == MK_V_LIST)
        for (uint32_t i = 0; i < src->n; i++)
            loop_body(w, it, it->name2 ? mk_v_with_flags(v, mk_v_int(v, i), secret) : NULL,
                      mk_v_with_flags(v, src->u.items[i], secret), false);
    else if (src->kind == MK_V_MAP)
        for (uint32_t i = 0; i < src->n; i++)
            loop_body(w, it, mk_v_with_flags(v, mk_v_cstr(v, src->u.map.keys[i]), secret),
                      mk_v_with_flags(v, src->u.map.vals[i], secret), false);
}

static void run_stmts(walk *w, mk_ast_list *items)
{
    mk_local *saved = w->c.locals;
    for (uint32_t i = 0; i < items->n; i++) {
        mk_ast *it = items->v[i];
        switch (it->kind) {
        case MK_AST_LET: {
            mk_local *l = mk_arena_alloc(w->P->e.v->arena, sizeof *l);
            *l = (mk_local){w->c.locals, it->name, mk_eval_expr(&w->c, it->a)};
            w->c.locals = l;
            break;
        }
        case MK_AST_FOR: run_for(w, it); break;
        case MK_AST_IF: {
            mk_value *v = mk_eval_expr(&w->c, it->a);
            if (v->kind == MK_V_BOOL)
                run_stmts(w, v->u.b ? &it->kids : &it->else_kids);
            break;
        }
        case MK_AST_ASSERT: {
            mk_value *v = mk_eval_expr(&w->c, it->a);
            if (v->kind == MK_V_BOOL && !v->u.b)
                violation(w, it);
            else if (v->kind == MK_V_UNKNOWN) /* e.g. a cost not priced yet, an id known after apply */
                w->P->undetermined++;
            break;
        }
        case MK_AST_REQUIRE: gate(w, it); break;
        default: break; /* description, enforcement: read by policy_meta */
        }
    }
    w->c.locals = saved;
}

/* ---- structure: before the plan ----
 * Policies are checked with unknown inputs (resources, changes, plan) after
 * the program is evaluated, so a misspelt name or a bad enforcement level
 * is caught by `moksha check`, without a plan; running them is the walker
 * above, with the plan. */

static void check_stmts(mk_ectx *c, mk_ast_list *items, bool top);

static void bind_and_check(mk_ectx *c, mk_ast *it)
{
    mk_ev *e = c->e;
    mk_value *src = mk_eval_expr(c, it->a);
    mk_vkind k = src->kind == MK_V_UNKNOWN ? (mk_vkind)src->want : (mk_vkind)src->kind;
    if (src->kind != MK_V_ERROR && k != MK_V_LIST && k != MK_V_MAP && k != MK_V_ANY)
        mk_diag_error(e->diag, "E0200", it->a->span, "cannot iterate over a %s", mk_v_kind_name(k));
    mk_local l1 = {c->locals, it->name, mk_v_unknown(e->v, MK_V_ANY)};
    mk_local l2 = {&l1, it->name2, mk_v_unknown(e->v, MK_V_ANY)};
    mk_ectx inner = *c;
    inner.locals = it->name2 ? &l2 : &l1;
    if (it->b) {
        mk_value *w = mk_eval_expr(&inner, it->b);
        if (w->kind != MK_V_ERROR && w->kind != MK_V_UNKNOWN && w->kind != MK_V_BOOL)
            mk_diag_error(e->diag, "E0200", it->b->span, "`where` takes a bool, found %s", mk_v_kind_name(w->kind));
    }
    check_stmts(&inner, &it->kids, false);
}

static void check_message(mk_ectx *c, mk_ast *msg)
{
    if (!msg)
        return;
    mk_value *m = mk_eval_expr(c, msg);
    mk_vkind k = m->kind == MK_V_UNKNOWN ? (mk_vkind)m->want : (mk_vkind)m->kind;
    if (m->kind != MK_V_ERROR && k != MK_V_STRING && k != MK_V_ANY)
        mk_diag_error(c->e->diag, "E0200", msg->span, "a message is a string, found %s", mk_v_kind_name(k));
}

/* A Checkov id as upstream writes it: CKV_ or CKV2_, the provider in
 * capitals (AWS, AZURE, GCP, NCP …), `_`, a number. What a report of the
 * mapping is matched against, so a typo is caught before it silently maps
 * nothing. */
static bool checkov_id(const char *s, size_t n)
{
    size_t i = n > 5 && memcmp(s, "CKV2_", 5) == 0 ? 5 : n > 4 && memcmp(s, "CKV_", 4) == 0 ? 4 : 0;
    if (i == 0)
        return false;
    size_t from = i;
    while (i < n && ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
        i++;
    if (i == from || i + 1 >= n || s[i] != '_')
        return false;
    for (i++; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static bool same_str(const mk_value *a, const mk_value *b)
{
    return a->kind == MK_V_STRING && b->kind == MK_V_STRING && a->n == b->n && memcmp(a->u.s, b->u.s, a->n) == 0;
}

/* checkov = ["CKV2_AWS_6", …]: a list of distinct Checkov ids. */
static void check_checkov(mk_ectx *c, mk_ast *it)
{
    mk_value *v = mk_eval_expr(c, it->b);
    if (v->kind == MK_V_ERROR)
        return;
    if (v->kind != MK_V_LIST) {
        mk_diag_item *d = mk_diag_error(c->e->diag, "E0200", it->b->span, "checkov is a list of Checkov ids, found %s",
                                        mk_v_kind_name(v->kind));
        mk_diag_help(d, "write `checkov = [\"CKV2_AWS_6\"]`");
        return;
    }
    for (uint32_t i = 0; i < v->n; i++) {
        mk_value *x = v->u.items[i];
        if (x->kind != MK_V_STRING || !checkov_id(x->u.s, x->n)) {
            mk_diag_item *d = x->kind == MK_V_STRING
                                  ? mk_diag_error(c->e->diag, "E0202", it->b->span, "`%.*s` is not a Checkov id", (int)x->n, x->u.s)
                                  : mk_diag_error(c->e->diag, "E0202", it->b->span, "checkov item %u is a %s, not a Checkov id",
                                                  i, mk_v_kind_name(x->kind));
            mk_diag_help(d, "a Checkov id is CKV_ or CKV2_, the provider and a number: CKV_AWS_20, CKV2_GCP_12");
            continue;
        }
        for (uint32_t j = 0; j < i; j++)
            if (same_str(x, v->u.items[j]))
                mk_diag_error(c->e->diag, "E0202", it->b->span, "checkov names %.*s twice", (int)x->n, x->u.s);
    }
}

/* checkov_differs says how a policy's verdict differs from the checks it
 * names, so it means nothing without them. */
static void check_checkov_pair(mk_ev *e, mk_ast *decl)
{
    mk_ast *ids = NULL, *differs = NULL;
    for (uint32_t i = 0; i < decl->kids.n; i++) {
        mk_ast *it = decl->kids.v[i];
        if (it->kind == MK_AST_ATTR && it->name == e->n.checkov)
            ids = it;
        else if (it->kind == MK_AST_ATTR && it->name == e->n.checkov_differs)
            differs = it;
    }
    if (differs && !ids) {
        mk_diag_item *d = mk_diag_error(e->diag, "E0202", differs->span, "checkov_differs without checkov");
        mk_diag_help(d, "name the Checkov ids the policy implements: `checkov = [\"CKV_AWS_20\"]`");
    } else if (differs && ids->b && ids->b->kind == MK_AST_LIST && ids->b->kids.n == 0) {
        mk_diag_item *d = mk_diag_error(e->diag, "E0202", differs->span, "checkov_differs with an empty checkov");
        mk_diag_help(d, "name the Checkov ids the policy implements: `checkov = [\"CKV_AWS_20\"]`");
    }
}

/* override_by names who may override or waive the policy: a hard policy
 * (the default) has no exceptions, so naming one there is a mistake. */
static void check_override_hard(mk_ectx *c, mk_ast *decl)
{
    mk_ast *by = NULL, *enf = NULL;
    for (uint32_t i = 0; i < decl->kids.n; i++) {
        mk_ast *it = decl->kids.v[i];
        if (it->kind == MK_AST_ATTR && strcmp(it->name, "override_by") == 0)
            by = it;
        else if (it->kind == MK_AST_ATTR && it->name == c->e->n.enforcement)
            enf = it;
    }
    if (!by)
        return;
    mk_ectx sc = *c;
    sc.symbols = true;
    mk_value *v = enf ? mk_eval_expr(&sc, enf->b) : NULL;
    if (v && (v->kind != MK_V_STRING || v->n != 4 || memcmp(v->u.s, "hard", 4) != 0))
        return;
    mk_diag_item *d = mk_diag_error(c->e->diag, "E0202", by->span, "override_by on a hard policy%s",
                                    enf ? "" : " (a policy is hard unless it says `enforcement`)");
    mk_diag_help(d, "a hard policy is never overridden or waived: write `enforcement = soft` (or advisory), or leave "
                    "override_by out");
}

static void check_policy_attr(mk_ectx *c, mk_ast *it)
{
    mk_ev *e = c->e;
    if (it->name == e->n.checkov) {
        check_checkov(c, it);
    } else if (it->name == e->n.enforcement) {
        mk_ectx sc = *c;
        sc.symbols = true;
        mk_value *v = mk_eval_expr(&sc, it->b);
        static const char *const levels[] = {"advisory", "soft", "hard"};
        bool ok = false;
        for (int i = 0; i < 3; i++)
            ok |= v->kind == MK_V_STRING && v->n == strlen(levels[i]) && memcmp(v->u.s, levels[i], v->n) == 0;
        if (!ok && v->kind != MK_V_ERROR) {
            mk_diag_item *d = mk_diag_error(e->diag, "E0202", it->b->span, "enforcement is advisory, soft or hard");
            if (v->kind == MK_V_STRING) {
                const char *s = mk_diag_suggest(mk_intern_n(e->v->names, v->u.s, v->n), levels, 3);
                if (s)
                    mk_diag_label(d, "did you mean `%s`?", s);
            }
        }
    } else if (it->name == e->n.checkov_differs) {
        /* a message that says how the verdict differs, so not an empty one */
        mk_value *m = mk_eval_expr(c, it->b);
        mk_vkind k = m->kind == MK_V_UNKNOWN ? (mk_vkind)m->want : (mk_vkind)m->kind;
        if (m->kind != MK_V_ERROR && k != MK_V_STRING && k != MK_V_ANY)
            mk_diag_error(e->diag, "E0200", it->b->span, "a message is a string, found %s", mk_v_kind_name(k));
        else if (m->kind == MK_V_STRING && m->n == 0) {
            mk_diag_item *d = mk_diag_error(e->diag, "E0202", it->b->span, "checkov_differs is empty");
            mk_diag_help(d, "say how the verdict differs from the Checkov checks, or leave checkov_differs out");
        }
    } else if (it->name == e->n.description) {
        check_message(c, it->b);
    } else if (strcmp(it->name, "override_by") == 0) {
        /* the group of the trust file whose approval overrides or waives it (docs/policies.md) */
        mk_value *m = mk_eval_expr(c, it->b);
        bool ok = m->kind == MK_V_STRING && m->n >= 1 && m->n <= 64 && (islower((unsigned char)m->u.s[0]) || isdigit((unsigned char)m->u.s[0]));
        for (uint32_t k = 0; ok && k < m->n; k++)
            ok = islower((unsigned char)m->u.s[k]) || isdigit((unsigned char)m->u.s[k]) || m->u.s[k] == '_' || m->u.s[k] == '-';
        if (!ok && m->kind != MK_V_ERROR) {
            mk_diag_item *d = mk_diag_error(e->diag, "E0202", it->b->span, "override_by is the name of a group of the trust file");
            mk_diag_help(d, "a group's name is [a-z0-9][a-z0-9_-]*, at most 64 characters: `override_by = \"finops\"`");
        }
    } else {
        mk_diag_item *d = mk_diag_error(e->diag, "E0112", it->span, "a policy has no attribute `%s`", it->name);
        const char *known[] = {"description", "enforcement", "checkov", "checkov_differs", "override_by"};
        const char *s = mk_diag_suggest(it->name, known, 5);
        if (s)
            mk_diag_label(d, "did you mean `%s`?", s);
    }
}

static void check_stmts(mk_ectx *c, mk_ast_list *items, bool top)
{
    mk_ev *e = c->e;
    mk_local *saved = c->locals;
    for (uint32_t i = 0; i < items->n; i++) {
        mk_ast *it = items->v[i];
        switch (it->kind) {
        case MK_AST_ATTR:
            if (top) {
                check_policy_attr(c, it);
                break;
            }
            goto misplaced;
        case MK_AST_LET: {
            mk_local *l = mk_arena_alloc(e->v->arena, sizeof *l);
            *l = (mk_local){c->locals, it->name, mk_eval_expr(c, it->a)};
            c->locals = l;
            break;
        }
        case MK_AST_FOR: bind_and_check(c, it); break;
        case MK_AST_IF: {
            mk_value *v = mk_eval_expr(c, it->a);
            if (v->kind != MK_V_ERROR && v->kind != MK_V_UNKNOWN && v->kind != MK_V_BOOL)
                mk_diag_error(e->diag, "E0200", it->a->span, "`if` takes a bool, found %s", mk_v_kind_name(v->kind));
            check_stmts(c, &it->kids, false);
            check_stmts(c, &it->else_kids, false);
            break;
        }
        case MK_AST_ASSERT: {
            mk_value *v = mk_eval_expr(c, it->a);
            mk_vkind k = v->kind == MK_V_UNKNOWN ? (mk_vkind)v->want : (mk_vkind)v->kind;
            if (v->kind != MK_V_ERROR && k != MK_V_BOOL && k != MK_V_ANY)
                mk_diag_error(e->diag, "E0200", it->a->span, "`assert` takes a bool, found %s", mk_v_kind_name(k));
            check_message(c, it->b);
            break;
        }
        case MK_AST_REQUIRE: {
            mk_ectx rc = *c;
            rc.in_require = true;
            if (it->a->kind != MK_AST_CALL || (it->a->name != e->n.approval && it->a->name != e->n.risk)) {
                mk_diag_item *d = mk_diag_error(e->diag, "E0119", it->a->span, "`require` takes approval(\"GROUP\") or risk(\"LEVEL\")");
                mk_diag_help(d, "write `require approval(\"sre\") : \"why\"` or `require risk(\"high\") : \"why\"`");
            } else {
                mk_eval_expr(&rc, it->a);
            }
            check_message(c, it->b);
            break;
        }
        default:
        misplaced: {
            mk_diag_item *d = mk_diag_error(e->diag, "E0119", it->span, "%s not allowed in a policy",
                                            mk_ast_kind_name(it->kind));
            mk_diag_help(d, "a policy holds description, enforcement, let, for, if, assert and require");
        }
        }
    }
    c->locals = saved;
}

void mk_policy_check_structure(mk_program *p)
{
    mk_unit *u = p->root;
    if (!u)
        return;
    mk_ev e;
    mk_ectx root;
    mk_eval_begin(&e, &root, p);
    for (uint32_t i = 0; i < u->npolicies; i++) {
        mk_ectx pc = {.e = &e, .u = u, .policy = true};
        check_stmts(&pc, &u->policies[i]->kids, true);
        check_checkov_pair(&e, u->policies[i]);
        check_override_hard(&pc, u->policies[i]);
    }
    mk_mem_free(e.stack);
}

/* ---- policies ---- */

static const char *policy_attr(pol *P, mk_ast *decl, const char *name, const char *dflt)
{
    for (uint32_t i = 0; i < decl->kids.n; i++) {
        mk_ast *it = decl->kids.v[i];
        if (it->kind != MK_AST_ATTR || strcmp(it->name, name) != 0)
            continue;
        mk_ectx c = P->root;
        c.symbols = true;
        c.redact = true; /* a description is shown like a message */
        mk_value *v = mk_eval_expr(&c, it->b);
        if (v->kind == MK_V_STRING && (v->flags & MK_VF_SECRET))
            return "(sensitive)";
        if (v->kind == MK_V_STRING)
            return mk_arena_strndup(P->e.v->arena, v->u.s, v->n);
    }
    return dflt;
}

/* The Checkov ids a policy names (checked by check_checkov), in its order. */
static json_t *policy_checkov(pol *P, mk_ast *decl)
{
    json_t *ids = json_array();
    for (uint32_t i = 0; i < decl->kids.n; i++) {
        mk_ast *it = decl->kids.v[i];
        if (it->kind != MK_AST_ATTR || strcmp(it->name, "checkov") != 0)
            continue;
        mk_ectx c = P->root;
        mk_value *v = mk_eval_expr(&c, it->b);
        for (uint32_t j = 0; v->kind == MK_V_LIST && j < v->n; j++)
            if (v->u.items[j]->kind == MK_V_STRING)
                json_array_append_new(ids, json_stringn(v->u.items[j]->u.s, v->u.items[j]->n));
    }
    return ids;
}

/* The error a policy met while it ran, as {code, message, location}: the
 * diagnostic itself is printed with the others. */
static json_t *eval_error(pol *P)
{
    const char *code = NULL, *msg = NULL;
    mk_span at = MK_NOSPAN;
    mk_diag_last_error(P->p->diag, &code, &msg, &at);
    return json_pack("{s:s?, s:s, s:o}", "code", code, "message", msg ? msg : "evaluation error", "location",
                     at.file != MK_NOSPAN.file ? mk_policy_location(P->p, at) : json_null());
}

/* note [waivers]: a waiver in force for this policy takes its violations
 * at the waiver's address out of P->viol into the list returned
 * (`waived`: each with the waiver's id, signer and expiry), so they no
 * longer fail or warn; only a soft or advisory policy is waived — a hard
 * one's waiver is marked refused and waives nothing. NULL when nothing was
 * waived. */
static json_t *waive(pol *P, const char *name, const char *enf, const mk_policy_run *run)
{
    json_t *out = NULL, *w;
    size_t i, k;
    json_array_foreach(run ? run->waivers : NULL, i, w) {
        if (strcmp(json_string_value(json_object_get(w, "policy")) ?: "", name) != 0)
            continue;
        if (strcmp(enf, "hard") == 0) {
            json_object_set_new(w, "refused", json_true());
            continue;
        }
        const char *at = json_string_value(json_object_get(w, "address"));
        json_t *keep = json_array(), *v;
        json_array_foreach(P->viol, k, v) {
            const char *va = json_string_value(json_object_get(v, "address"));
            if (!va || !at || strcmp(va, at) != 0) {
                json_array_append(keep, v);
                continue;
            }
            if (!out)
                out = json_array();
            json_array_append_new(out, json_pack("{s:s, s:O, s:O, s:O, s:O}", "address", va, "message",
                                                 json_object_get(v, "message"), "waiver", json_object_get(w, "id"), "by",
                                                 json_object_get(w, "by"), "expires", json_object_get(w, "expires")));
            json_object_set_new(w, "used", json_true());
        }
        json_decref(P->viol);
        P->viol = keep;
    }
    return out;
}

static json_t *run_policy(pol *P, mk_ast *decl, const mk_policy_run *run)
{
    P->viol = json_array();
    P->gates = json_array();
    P->risks = json_array();
    P->undetermined = 0;
    walk w = {P, P->root, decl, NULL};
    w.c.policy = true;
    w.c.pol = &P->in;
    int reports = mk_diag_reports(P->p->diag);
    run_stmts(&w, &decl->kids);
    json_t *err = mk_diag_reports(P->p->diag) != reports ? eval_error(P) : NULL;
    const char *enf = policy_attr(P, decl, "enforcement", "hard");
    json_t *waived = waive(P, decl->str, enf, run);
    const char *reason = NULL;
    for (size_t i = 0; run && i < run->noverrides; i++)
        if (strcmp(run->overrides[i].name, decl->str) == 0)
            reason = run->overrides[i].reason;
    bool bad = json_array_size(P->viol) > 0, refused = reason && strcmp(enf, "soft") != 0;
    if (refused) /* only a soft policy can be overridden */
        reason = NULL;
    /* an error inside the policy never reads as a verdict, whatever its level */
    const char *status = err ? "error" : !bad ? "pass" : !strcmp(enf, "advisory") ? "warn" : reason ? "overridden" : "fail";
    json_t *r = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:i, s:o, s:b, s:o}", "name", decl->str, "description",
                          policy_attr(P, decl, "description", ""), "enforcement", enf, "status", status, "violations",
                          P->viol, "gates", P->gates, "risks", P->risks, "undetermined", P->undetermined, "override",
                          reason && bad && !err ? json_pack("{s:s}", "reason", reason) : json_null(), "override_refused",
                          refused, "location", mk_policy_location(P->p, decl->span));
    json_object_set_new(r, "checkov", policy_checkov(P, decl));
    const char *differs = policy_attr(P, decl, "checkov_differs", NULL);
    json_object_set_new(r, "checkov_differs", differs ? json_string(differs) : json_null());
    const char *by = policy_attr(P, decl, "override_by", NULL);
    if (by) /* written only when the policy names one */
        json_object_set_new(r, "override_by", json_string(by));
    if (waived)
        json_object_set_new(r, "waived", waived);
    if (err)
        json_object_set_new(r, "error", err);
    return r;
}

static void pol_begin(pol *P, mk_program *p)
{
    memset(P, 0, sizeof *P);
    P->p = p;
    mk_eval_begin(&P->e, &P->root, p);
    P->prog = P->e.v->arena;
    P->scratch = mk_arena_new();
    mk_arena_alloc(P->scratch, 1); /* a first chunk the marks stand in, reused by every iteration */
}

static void pol_end(pol *P)
{
    for (uint32_t i = 0; i < P->locs.cap; i++)
        if (P->locs.slots[i].a)
            json_decref(P->locs.slots[i].v);
    mk_sym_free(&P->locs);
    mk_sym_free(&P->by_type);
    mk_sym_free(&P->by_addr);
    mk_mem_free(P->vals);
    mk_sym_free(&P->costs);
    mk_sym_free(&P->places);
    mk_sym_free(&P->changed);
    mk_sym_free(&P->in_set);
    mk_mem_free(P->e.stack);
    mk_arena_free(P->scratch);
}

json_t *mk_policy_check(mk_program *p, const mk_plan *plan, const mk_place_report *rep, mk_policy_run *run)
{
    pol P;
    pol_begin(&P, p);
    /* the report's items are the program's instances, in order */
    const mk_place_at **at = rep && rep->nitems == p->ninstances ? mk_mem_alloc((rep->nitems + 1) * sizeof *at) : NULL;
    for (size_t i = 0; at && i < rep->nitems; i++)
        at[i] = &rep->items[i].at;
    inputs_from_plan(&P, plan, at, NULL, 0);
    json_t *results = json_array();
    for (uint32_t i = 0; p->root && i < p->root->npolicies; i++) {
        json_t *r = run_policy(&P, p->root->policies[i], run);
        const char *st = json_string_value(json_object_get(r, "status"));
        run->failed += strcmp(st, "fail") == 0;
        run->errored += strcmp(st, "error") == 0;
        run->warned += strcmp(st, "warn") == 0;
        run->gates += (int)json_array_size(json_object_get(r, "gates"));
        json_array_append_new(results, r);
    }
    pol_end(&P);
    mk_mem_free(at);
    return results;
}

static json_t *run_test(pol *P, mk_unit *u, mk_ast *t, mk_unit *tu, const mk_place_report *rep, mk_policy_counts *n)
{
    memset(&P->by_type, 0, sizeof P->by_type);
    memset(&P->by_addr, 0, sizeof P->by_addr);
    inputs_from_test(P, tu, rep);
    json_t *exps = json_array();
    for (uint32_t i = 0; i < t->kids.n; i++) {
        mk_ast *x = t->kids.v[i];
        if (x->kind != MK_AST_EXPECT)
            continue;
        mk_ast *decl = NULL;
        for (mk_unit *w = u; w && !decl; w = w->parent)
            for (uint32_t k = 0; k < w->npolicies && !decl; k++)
                if (strcmp(w->policies[k]->str, x->str) == 0)
                    decl = w->policies[k];
        bool deny = strcmp(x->name, "deny") == 0;
        json_t *r = decl ? run_policy(P, decl, NULL) : NULL;
        json_t *err = json_object_get(r, "error");
        bool denied = r && (json_array_size(json_object_get(r, "violations")) || json_array_size(json_object_get(r, "gates")) ||
                            json_array_size(json_object_get(r, "risks")));
        /* a policy that errors neither allows nor denies: the test errors */
        bool ok = decl && !err && denied == deny;
        n->passed += ok;
        n->errors += !ok && err;
        n->failed += !ok && !err;
        json_t *e = json_pack("{s:s, s:s, s:b, s:s, s:o, s:o}", "kind", x->name, "policy", x->str, "ok", ok, "got",
                              !decl ? "no such policy" : err ? "error" : denied ? "deny" : "allow", "location",
                              mk_policy_location(P->p, x->span), "violations",
                              r ? json_incref(json_object_get(r, "violations")) : json_array());
        if (err)
            json_object_set(e, "error", err);
        json_array_append_new(exps, e);
        json_decref(r);
    }
    mk_sym_free(&P->by_type);
    mk_sym_free(&P->by_addr);
    memset(&P->by_type, 0, sizeof P->by_type);
    memset(&P->by_addr, 0, sizeof P->by_addr);
    return json_pack("{s:s, s:o, s:o}", "name", t->str, "location", mk_policy_location(P->p, t->span), "expectations", exps);
}

static mk_policy_place *place_new(mk_program *p, const mk_plan *plan, mk_unit *unit);

/* note [tests place]: a test's resources are placed and priced as a plan
 * places them: by the cost model, under the test's own stack (its
 * `placement` the default), moved by the placement policies; so policies on
 * `r.placement` and `r.cost` can be tested. A test's `cost = $…` wins over
 * the price. There is no applied state: nothing is sticky. */
static mk_place_report *place_test(pol *P, mk_cost_catalog **cat, mk_unit *tu)
{
    mk_program *p = P->p;
    size_t n = 0;
    for (uint32_t r = 0; r < tu->nres; r++)
        n += tu->res_order[r]->ninst;
    if (!n || (!*cat && !(*cat = mk_cost_load(p->share_dir, p->diag))))
        return NULL;
    mk_instance **ins = mk_arena_alloc(P->e.v->arena, n * sizeof *ins);
    n = 0;
    for (uint32_t r = 0; r < tu->nres; r++)
        for (uint32_t i = 0; i < tu->res_order[r]->ninst; i++)
            ins[n++] = tu->res_order[r]->inst[i];
    mk_ectx c = P->root;
    c.u = tu;
    mk_place_report *rep = mk_place_run_set(*cat, p, ins, n, mk_eval_stack(&c), NULL, NULL, 0);
    mk_policy_place *pp = place_new(p, NULL, tu);
    if (pp)
        mk_place_apply_policies(*cat, rep, mk_policy_place_eval, pp);
    else
        mk_place_mark(rep);
    mk_policy_place_free(pp);
    return rep;
}

json_t *mk_policy_test(mk_program *p, mk_policy_counts *n)
{
    pol P;
    pol_begin(&P, p);
    *n = (mk_policy_counts){0};
    json_t *out = json_array();
    mk_unit *u = p->root;
    mk_cost_catalog *cat = NULL; /* loaded for the first test with resources */
    for (uint32_t i = 0; u && i < u->ntests; i++) {
        if (!u->test_units || !u->test_units[i])
            continue;
        P.root.u = u->test_units[i]; /* the test's stack and resources */
        mk_place_report *rep = place_test(&P, &cat, u->test_units[i]);
        json_array_append_new(out, run_test(&P, u, u->tests[i], u->test_units[i], rep, n));
        mk_place_report_free(rep);
    }
    mk_cost_free(cat);
    pol_end(&P);
    return out;
}

/* ---- placement under policies (docs/cost.md) ---- */

struct mk_policy_place {
    mk_program *p;
    mk_unit *unit; /* whose stack the policies see: a test's, or the root */
    const mk_plan *plan;
    mk_ast **policies; /* those whose text reads `placement`, not advisory */
    size_t n;
};

static bool reads_placement(mk_program *p, mk_ast *decl)
{
    const mk_source *src = mk_src_get(&p->src, decl->span.file);
    if (!src)
        return false;
    const char *t = src->text + decl->span.start, *end = src->text + decl->span.end;
    for (; t + 9 <= end; t++)
        if (*t == 'p' && memcmp(t, "placement", 9) == 0)
            return true;
    return false;
}

mk_policy_place *mk_policy_place_new(mk_program *p, const mk_plan *plan) { return place_new(p, plan, p->root); }

static mk_policy_place *place_new(mk_program *p, const mk_plan *plan, mk_unit *unit)
{
    mk_policy_place *pp = mk_mem_calloc(1, sizeof *pp);
    pp->p = p, pp->plan = plan, pp->unit = unit;
    pol P;
    pol_begin(&P, p); /* for policy_attr */
    for (uint32_t i = 0; p->root && i < p->root->npolicies; i++) {
        mk_ast *d = p->root->policies[i];
        if (!reads_placement(p, d) || strcmp(policy_attr(&P, d, "enforcement", "hard"), "advisory") == 0)
            continue;
        pp->policies = mk_mem_realloc(pp->policies, (pp->n + 1) * sizeof *pp->policies);
        pp->policies[pp->n++] = d;
    }
    pol_end(&P);
    if (!pp->n) {
        mk_policy_place_free(pp);
        return NULL;
    }
    return pp;
}

void mk_policy_place_free(mk_policy_place *pp)
{
    if (!pp)
        return;
    mk_mem_free(pp->policies);
    mk_mem_free(pp);
}

void mk_policy_place_eval(void *ud, mk_instance *const *ins, const mk_place_at *const *where, size_t n, bool *bad,
                          const char **why)
{
    mk_policy_place *pp = ud;
    mk_program *p = pp->p;
    pol P;
    pol_begin(&P, p);
    if (pp->unit)
        P.root.u = pp->unit;
    inputs_from_plan(&P, pp->plan, where, ins, n);
    mk_symtab at = {0}; /* address → index + 1 */
    for (size_t i = 0; i < n; i++)
        mk_sym_put(&at, mk_intern_s(p->ast.names, ins[i]->address), NULL, (void *)(uintptr_t)(i + 1));
    if (why)
        *why = NULL;
    for (size_t k = 0; k < pp->n; k++) {
        json_t *r = run_policy(&P, pp->policies[k], NULL), *v;
        size_t j;
        json_array_foreach(json_object_get(r, "violations"), j, v) {
            const char *addr = json_string_value(json_object_get(v, "address"));
            uintptr_t i = addr ? (uintptr_t)mk_sym_get(&at, mk_intern_s(p->ast.names, addr), NULL) : 0;
            if (!i)
                continue;
            if (bad)
                bad[i - 1] = true;
            if (why && !*why)
                *why = mk_arena_printf(p->ast.arena, "policy %s: %s", pp->policies[k]->str,
                                       json_string_value(json_object_get(v, "message")) ?: "violated");
        }
        json_decref(r);
    }
    mk_sym_free(&at);
    pol_end(&P);
}
