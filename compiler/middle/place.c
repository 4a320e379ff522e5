/* place — placement of instance groups: union-find over @colocate
 * references, the candidates each group's `placement` blocks allow, scoring
 * them with the cost model's prices, sticky places from the state, and
 * moving a group that a placement policy rejects (widening to every priced
 * region when needed). The rules are written down in docs/cost.md. Prices
 * and catalogs are cost.c's. */
#include "compiler/middle/place.h"

#include <stdint.h>
#include <string.h>

#include "compiler/base/mem.h"
#include "compiler/base/state.h"
#include "compiler/middle/moves.h"

/* note [placement groups]: instances tied by a @colocate reference (a compute
 * and its network, a volume and its compute) form one group, found with a
 * union-find over those references. Every member with a `placement` block
 * narrows the candidates: its providers, and for each cloud its regions that
 * the cloud has (placement.regions may mix clouds' names) or, naming none of
 * that cloud's, the cloud's default region. A member without a block follows
 * the stack's default, else its group, else it narrows nothing; a group
 * nothing narrows goes to the cheapest of every cloud's default region. A
 * candidate where any member has no offering is not one. */

static size_t uf_find(size_t *up, size_t i)
{
    while (up[i] != i)
        i = up[i] = up[up[i]];
    return i;
}

/* Instances keep no index of their own: an open-addressing table maps an
 * instance pointer to its position. */
static size_t slot_of(const void *ptr, size_t mask)
{
    return (size_t)(((uintptr_t)ptr >> 4) * 0x9E3779B97F4A7C15u) & mask;
}

static void union_colocated(const mk_place_report *r, size_t *up)
{
    size_t cap = 16;
    while (cap < 2 * r->nitems)
        cap *= 2;
    size_t *tab = mk_mem_alloc(cap * sizeof *tab);
    memset(tab, 0xff, cap * sizeof *tab);
    for (size_t i = 0; i < r->nitems; i++) {
        size_t s = slot_of(r->items[i].in, cap - 1);
        while (tab[s] != SIZE_MAX)
            s = (s + 1) & (cap - 1);
        tab[s] = i;
    }
    for (size_t i = 0; i < r->nitems; i++) {
        const mk_instance *in = r->items[i].in;
        const mk_type *ty = in->res->schema;
        for (uint32_t f = 0; ty && f < ty->nfields; f++) {
            mk_value *v = (ty->fields[f].flags & MK_ANN_COLOCATE) ? mk_v_get_text(in->attrs, ty->fields[f].name) : NULL;
            if (!v || v->kind != MK_V_RESOURCE)
                continue;
            for (size_t s = slot_of(v->u.res, cap - 1); tab[s] != SIZE_MAX; s = (s + 1) & (cap - 1))
                if (r->items[tab[s]].in == v->u.res) {
                    up[uf_find(up, i)] = uf_find(up, tab[s]);
                    break;
                }
        }
    }
    mk_mem_free(tab);
}

/* allowed[c][r]: 1 allowed, 0 not; narrowed[c]: some member named regions of c */
typedef struct allow {
    bool cloud[MK_COST_NCLOUDS], narrowed[MK_COST_NCLOUDS];
    unsigned char *region[MK_COST_NCLOUDS];
    const mk_value *extra[MK_COST_NCLOUDS]; /* a placement.regions naming regions of the cloud */
} allow;

static bool list_has(const mk_value *list, const char *s)
{
    for (uint32_t i = 0; list && list->kind == MK_V_LIST && i < list->n; i++)
        if (mk_v_is_text(list->u.items[i], s))
            return true;
    return false;
}

/* Which cloud a region name belongs to: the catalog that lists it, else the
 * naming rule of each cloud (eu-west-1, europe-west1, westeurope), so that a
 * region without prices is still a candidate that the explanation rejects. */
static int region_cloud(const mk_cost_catalog *cat, const char *rn)
{
    for (int c = 0; c < MK_COST_NCLOUDS; c++)
        if (mk_cost_region_index(cat, c, rn) >= 0)
            return c;
    size_t n = strlen(rn), dashes = 0;
    for (size_t i = 0; i < n; i++)
        dashes += rn[i] == '-';
    if (n && rn[n - 1] >= '0' && rn[n - 1] <= '9' && n > 1 && rn[n - 2] == '-')
        return 0;
    if (dashes == 1)
        return 1;
    return dashes == 0 ? 2 : -1;
}

static void narrow(const mk_cost_catalog *cat, allow *a, const mk_value *pl)
{
    const mk_value *provs = mk_v_get_text(pl, "providers"), *regs = mk_v_get_text(pl, "regions");
    for (int c = 0; c < MK_COST_NCLOUDS; c++) {
        if (provs && !list_has(provs, mk_cost_cloud(c)))
            a->cloud[c] = false;
        size_t named = 0;
        for (uint32_t i = 0; regs && regs->kind == MK_V_LIST && i < regs->n; i++) {
            const mk_value *rv = regs->u.items[i];
            char rn[64];
            if (rv->kind != MK_V_STRING || rv->n >= sizeof rn)
                continue;
            memcpy(rn, rv->u.s, rv->n), rn[rv->n] = 0;
            named += region_cloud(cat, rn) == c;
        }
        for (size_t r = 0; r < mk_cost_nregions(cat, c); r++) {
            const char *rn = mk_cost_region(cat, c, r);
            a->region[c][r] &= named ? list_has(regs, rn) : strcmp(rn, mk_cost_default_region(cat, c)) == 0;
        }
        if (named)
            a->extra[c] = regs;
        a->narrowed[c] = true;
    }
}

static void add_cand(const mk_cost_catalog *cat, mk_place_group *g, const char *cloud, const char *region)
{
    g->cands = mk_mem_realloc(g->cands, (g->ncands + 1) * sizeof *g->cands);
    int ci = mk_cost_cloud_index(cloud), ri = ci >= 0 ? mk_cost_region_index(cat, ci, region) : -1;
    g->cands[g->ncands++] = (mk_place_cand){cloud, region, true, 0, NULL, ci, ri, NULL};
}

static void candidates(const mk_cost_catalog *cat, mk_program *p, const mk_place_report *r, mk_place_group *g)
{
    allow a;
    const mk_value *stack_pl = r->stack_placement;
    for (int c = 0; c < MK_COST_NCLOUDS; c++) {
        a.cloud[c] = true, a.narrowed[c] = false, a.extra[c] = NULL;
        a.region[c] = mk_mem_alloc(mk_cost_nregions(cat, c) + 1);
        memset(a.region[c], 1, mk_cost_nregions(cat, c) + 1);
    }
    for (size_t m = 0; m < g->n; m++) {
        const mk_instance *in = r->items[g->members[m]].in;
        const mk_value *pl = in->placement ? in->placement : stack_pl;
        if (pl && !mk_cost_off_cloud(in))
            narrow(cat, &a, pl);
    }
    for (int c = 0; c < MK_COST_NCLOUDS; c++) {
        for (size_t i = 0; a.cloud[c] && i < mk_cost_nregions(cat, c); i++) {
            const char *rn = mk_cost_region(cat, c, i);
            if (a.narrowed[c] ? a.region[c][i] : strcmp(rn, mk_cost_default_region(cat, c)) == 0)
                add_cand(cat, g, mk_cost_cloud(c), rn);
        }
        /* regions named for the cloud that its catalog lacks: candidates that lose, with the reason */
        for (uint32_t i = 0; a.cloud[c] && a.extra[c] && i < a.extra[c]->n; i++) {
            const mk_value *rv = a.extra[c]->u.items[i];
            char *rn = rv->kind == MK_V_STRING ? mk_arena_strndup(p->ast.arena, rv->u.s, rv->n) : NULL;
            if (rn && mk_cost_region_index(cat, c, rn) < 0 && region_cloud(cat, rn) == c)
                add_cand(cat, g, mk_cost_cloud(c), rn);
        }
        mk_mem_free(a.region[c]);
    }
}

/* The sticky place of a group: the first member the state has placed. */
static json_t *sticky_place(const mk_program *p, const mk_state *st, const mk_place_report *r, const mk_place_group *g,
                            const char *const *replace, size_t nreplace)
{
    for (size_t m = 0; st && m < g->n; m++) {
        const char *addr = r->items[g->members[m]].in->address;
        bool moving = false;
        for (size_t k = 0; k < nreplace; k++)
            moving |= strcmp(replace[k], addr) == 0;
        json_t *sr = moving ? NULL : mk_moves_state_entry(p, st, addr, NULL); /* a moved resource stays put */
        json_t *pl = json_object_get(sr, "placement");
        if (json_is_string(json_object_get(pl, "cloud")) && json_is_string(json_object_get(pl, "region")))
            return pl;
    }
    return NULL;
}

/* The group's total at one candidate; the members' quotes go to qs. */
static void score(mk_cost_catalog *cat, mk_place_report *r, mk_place_group *g, const mk_cost_spec *specs, mk_place_cand *cd,
                  mk_cost_quote *qs)
{
    for (size_t m = 0; m < g->n && cd->ok; m++) {
        mk_cost_quote *q = &qs[m];
        const mk_instance *in = r->items[g->members[m]].in;
        *q = cd->ri >= 0 && !mk_cost_off_cloud(in) ? mk_cost_price_at(cat, &specs[m], cd->ci, cd->ri)
                                                   : mk_cost_price(cat, in, cd->cloud, cd->region);
        if (q->status == MK_COST_NOT_HERE) {
            cd->ok = false;
            cd->why = mk_arena_printf(mk_cost_arena(cat), "%s: %s", in->address, q->why);
        } else if (q->status == MK_COST_PRICED && !mk_money_add(cd->monthly, q->monthly, &cd->monthly)) {
            cd->ok = false;
            cd->why = "the group's monthly total is out of range";
        }
    }
}

/* Groups whose members all follow one placement block (or none) have the
 * same candidates: computed once per block. */
typedef struct candmemo {
    const mk_value *key;
    mk_place_cand *cands;
    size_t n;
} candmemo;

#define NMEMO 16

static void candidates_of(const mk_cost_catalog *cat, mk_program *p, const mk_place_report *r, mk_place_group *g,
                          candmemo *memo)
{
    const mk_value *stack_pl = r->stack_placement, *key = NULL;
    bool first = true, uniform = true;
    for (size_t m = 0; m < g->n && uniform; m++) {
        const mk_instance *in = r->items[g->members[m]].in;
        if (mk_cost_off_cloud(in))
            continue;
        const mk_value *pl = in->placement ? in->placement : stack_pl;
        uniform = first || pl == key;
        key = pl, first = false;
    }
    int slot = -1;
    for (int i = 0; uniform && i < NMEMO; i++) {
        if (memo[i].cands && memo[i].key == key) {
            g->cands = mk_mem_alloc(memo[i].n * sizeof *g->cands);
            memcpy(g->cands, memo[i].cands, memo[i].n * sizeof *g->cands);
            g->ncands = memo[i].n;
            return;
        }
        if (!memo[i].cands && slot < 0)
            slot = i;
    }
    candidates(cat, p, r, g);
    if (uniform && slot >= 0 && g->ncands) {
        memo[slot] = (candmemo){key, mk_mem_alloc(g->ncands * sizeof *g->cands), g->ncands};
        memcpy(memo[slot].cands, g->cands, g->ncands * sizeof *g->cands);
    }
}

/* The member a bucket store keeps, whose place is the group's (buckets
 * have no @colocate reference: it is alone in its group). */
static const mk_instance *pinned_member(const mk_place_report *r, const mk_place_group *g)
{
    for (size_t m = 0; m < g->n; m++)
        if (r->items[g->members[m]].in->pin_cloud)
            return r->items[g->members[m]].in;
    return NULL;
}

static void place_group(mk_cost_catalog *cat, mk_program *p, const mk_state *st, mk_place_report *r, mk_place_group *g,
                        const char *const *replace, size_t nreplace, candmemo *memo)
{
    if (g->n == 1 && mk_cost_off_cloud(r->items[g->members[0]].in)) { /* note [off cloud] */
        r->items[g->members[0]].q = mk_cost_price(cat, r->items[g->members[0]].in, NULL, NULL);
        g->winner = -1;
        return;
    }
    const mk_instance *pin = pinned_member(r, g);
    json_t *sticky = pin ? NULL : sticky_place(p, st, r, g, replace, nreplace);
    if (pin) { /* its store's place, whatever the state says (pipeline.c refuses a move) */
        g->pinned = true;
        add_cand(cat, g, pin->pin_cloud, pin->pin_region ? pin->pin_region : mk_cost_default_region(cat, mk_cost_cloud_index(pin->pin_cloud)));
    } else if (sticky) {
        g->sticky = true;
        add_cand(cat, g, json_string_value(json_object_get(sticky, "cloud")), json_string_value(json_object_get(sticky, "region")));
    } else {
        candidates_of(cat, p, r, g, memo);
    }
    g->winner = -1;
    mk_cost_quote *best = mk_mem_alloc(2 * g->n * sizeof *best), *cur = best + g->n, *t;
    mk_cost_spec *specs = mk_mem_alloc(g->n * sizeof *specs);
    for (size_t m = 0; m < g->n; m++) {
        const mk_instance *in = r->items[g->members[m]].in;
        specs[m] = mk_cost_spec_of(in);
    }
    for (size_t c = 0; c < g->ncands; c++) {
        score(cat, r, g, specs, &g->cands[c], cur);
        if (g->cands[c].ok && (g->winner < 0 || g->cands[c].monthly < g->cands[g->winner].monthly))
            g->winner = (long)c, t = best, best = cur, cur = t;
    }
    for (size_t m = 0; m < g->n; m++) {
        mk_place_item *it = &r->items[g->members[m]];
        if (g->winner >= 0) {
            it->q = best[m];
        } else if (g->sticky || g->pinned) { /* a sticky place stays even without a price now: a price never moves infrastructure */
            it->q = mk_cost_price(cat, it->in, g->cands[0].cloud, g->cands[0].region);
        } else {
            it->q = (mk_cost_quote){MK_COST_UNPRICED, NULL, NULL, NULL, 0,
                                    g->ncands ? g->cands[0].why : "no cloud and region satisfies its placement", false};
        }
    }
    mk_mem_free(best < cur ? best : cur);
    mk_mem_free(specs);
}

static void group_members(mk_place_report *r, size_t *up)
{
    size_t *gid = mk_mem_alloc((r->nitems + 1) * sizeof *gid);
    for (size_t i = 0; i < r->nitems; i++)
        gid[i] = SIZE_MAX;
    for (size_t i = 0; i < r->nitems; i++) { /* number the groups, count their members */
        size_t root = uf_find(up, i);
        if (gid[root] == SIZE_MAX)
            gid[root] = r->ngroups++;
        r->items[i].group = gid[root];
    }
    r->groups = mk_mem_calloc(r->ngroups + 1, sizeof *r->groups);
    for (size_t i = 0; i < r->nitems; i++)
        r->groups[r->items[i].group].n++;
    size_t *all = mk_mem_alloc((r->nitems + 1) * sizeof *all), at = 0;
    for (size_t g = 0; g < r->ngroups; g++) {
        r->groups[g].members = all + at;
        at += r->groups[g].n;
        r->groups[g].n = 0;
    }
    for (size_t i = 0; i < r->nitems; i++) {
        mk_place_group *g = &r->groups[r->items[i].group];
        g->members[g->n++] = i;
    }
    r->members = all;
    mk_mem_free(gid);
}

static mk_place_report *run_set(mk_cost_catalog *cat, mk_program *p, mk_instance *const *ins, size_t n,
                                const mk_value *stack, const mk_state *st, const mk_instance *const *like,
                                const char *const *replace, size_t nreplace);

mk_place_report *mk_place_run(mk_cost_catalog *cat, mk_program *p, const mk_state *st, const mk_instance *const *like,
                              const char *const *replace, size_t nreplace)
{
    return run_set(cat, p, p->instances, p->ninstances, p->root ? p->root->stack_value : NULL, st, like, replace,
                   nreplace);
}

mk_place_report *mk_place_run_set(mk_cost_catalog *cat, mk_program *p, mk_instance *const *ins, size_t n,
                                  const mk_value *stack, const mk_state *st, const char *const *replace, size_t nreplace)
{
    return run_set(cat, p, ins, n, stack, st, NULL, replace, nreplace);
}

static mk_place_report *run_set(mk_cost_catalog *cat, mk_program *p, mk_instance *const *ins, size_t n,
                                const mk_value *stack, const mk_state *st, const mk_instance *const *like,
                                const char *const *replace, size_t nreplace)
{
    mk_place_report *r = mk_mem_calloc(1, sizeof *r);
    r->nitems = n;
    r->stack_placement = stack ? mk_v_get_text(stack, "placement") : NULL;
    r->items = mk_mem_calloc(r->nitems + 1, sizeof *r->items);
    size_t *up = mk_mem_alloc((r->nitems + 1) * sizeof *up);
    for (size_t i = 0; i < r->nitems; i++)
        r->items[i].in = ins[i], up[i] = i;
    union_colocated(r, up);
    group_members(r, up);
    mk_mem_free(up);
    candmemo memo[NMEMO] = {{0}};
    for (size_t g = 0; g < r->ngroups; g++)
        place_group(cat, p, st, r, &r->groups[g], replace, nreplace, memo);
    for (int i = 0; i < NMEMO; i++)
        mk_mem_free(memo[i].cands);
    for (size_t i = 0; i < r->nitems; i++) {
        r->nself_hosted += r->items[i].in->self_hosted != NULL;
        if (r->items[i].q.status == MK_COST_PRICED)
            r->overflow |= !mk_money_add(r->monthly, r->items[i].q.monthly, &r->monthly);
        else
            r->nunpriced++;
    }
    r->applied_each = mk_cost_applied(cat, p, st, like, &r->applied, &r->overflow);
    return r;
}

void mk_place_report_free(mk_place_report *r)
{
    if (!r)
        return;
    for (size_t g = 0; g < r->ngroups; g++)
        mk_mem_free(r->groups[g].cands);
    mk_mem_free(r->members);
    mk_mem_free(r->applied_each);
    mk_mem_free(r->groups);
    mk_mem_free(r->items);
    mk_mem_free(r);
}

void mk_place_mark(mk_place_report *r)
{
    for (size_t i = 0; i < r->nitems; i++) {
        mk_place_item *it = &r->items[i];
        const mk_cost_quote *q = &it->q;
        bool placed = q->cloud && !q->off_cloud;
        it->at = (mk_place_at){placed ? q->cloud : NULL, placed ? q->region : NULL, placed ? q->offering : NULL,
                               q->status == MK_COST_PRICED, q->monthly};
    }
}

/* Members of g placed at candidate c (quotes in qs), marked. */
static void put_at(mk_place_report *r, mk_place_group *g, const mk_place_cand *cd, const mk_cost_quote *qs)
{
    for (size_t m = 0; m < g->n; m++) {
        mk_place_item *it = &r->items[g->members[m]];
        bool placed = !mk_cost_off_cloud(it->in);
        it->at = (mk_place_at){placed ? cd->cloud : NULL, placed ? cd->region : NULL, placed ? qs[m].offering : NULL,
                               qs[m].status == MK_COST_PRICED, qs[m].monthly};
    }
}

/* Every priced region of the clouds the group may use, as candidates too:
 * when policies rule out each cloud's default region, placement looks
 * further — unless a member names its regions (then those are the choice). */
static bool widen(const mk_cost_catalog *cat, mk_place_report *r, mk_place_group *g)
{
    const mk_value *stack_pl = r->stack_placement;
    bool allowed[MK_COST_NCLOUDS] = {true, true, true};
    for (size_t m = 0; m < g->n; m++) {
        const mk_instance *in = r->items[g->members[m]].in;
        const mk_value *pl = in->placement ? in->placement : stack_pl;
        if (mk_cost_off_cloud(in) || !pl)
            continue;
        const mk_value *regs = mk_v_get_text(pl, "regions"), *provs = mk_v_get_text(pl, "providers");
        if (regs && regs->kind == MK_V_LIST && regs->n)
            return false;
        for (int c = 0; c < MK_COST_NCLOUDS; c++)
            allowed[c] &= !provs || list_has(provs, mk_cost_cloud(c));
    }
    size_t before = g->ncands;
    for (int c = 0; c < MK_COST_NCLOUDS; c++) {
        for (size_t i = 0; allowed[c] && i < mk_cost_nregions(cat, c); i++) {
            const char *rn = mk_cost_region(cat, c, i);
            bool have = false;
            for (size_t k = 0; k < before && !have; k++)
                have = g->cands[k].ci == c && g->cands[k].ri == (int)i;
            if (!have)
                add_cand(cat, g, mk_cost_cloud(c), rn);
        }
    }
    return g->ncands > before;
}

size_t mk_place_apply_policies(mk_cost_catalog *cat, mk_place_report *r, mk_place_policy_fn fn, void *ud)
{
    mk_place_mark(r);
    mk_instance **all = mk_mem_alloc((r->nitems + 1) * sizeof *all);
    const mk_place_at **at = mk_mem_alloc((r->nitems + 1) * sizeof *at);
    bool *bad = mk_mem_calloc(r->nitems + 1, sizeof *bad);
    for (size_t i = 0; i < r->nitems; i++)
        all[i] = (mk_instance *)r->items[i].in, at[i] = &r->items[i].at;
    fn(ud, all, at, r->nitems, bad, NULL); /* one pass over everything finds the groups to look at */
    bool *seen = mk_mem_calloc(r->ngroups + 1, sizeof *seen);
    size_t moved = 0;
    for (size_t i = 0; i < r->nitems; i++) {
        size_t gi = r->items[i].group;
        mk_place_group *g = &r->groups[gi];
        if (!bad[i] || seen[gi] || g->sticky || g->pinned || g->winner < 0)
            continue;
        seen[gi] = true;
        mk_instance **ins = mk_mem_alloc(g->n * sizeof *ins);
        mk_cost_spec *specs = mk_mem_alloc(g->n * sizeof *specs);
        mk_cost_quote *qs = mk_mem_alloc(g->n * sizeof *qs);
        bool *gbad = mk_mem_alloc(g->n * sizeof *gbad);
        for (size_t m = 0; m < g->n; m++) {
            ins[m] = (mk_instance *)r->items[g->members[m]].in;
            at[m] = &r->items[g->members[m]].at; /* (the first pass is done with at) */
            specs[m] = mk_cost_spec_of(ins[m]);
        }
        long first = g->winner, found = -1;
        const char *why = NULL;
        fn(ud, ins, at, g->n, NULL, &why);
        g->cands[first].rejected = why;
        bool widened = false;
        for (; why;) { /* (none: the violation was not this group's placement alone) */ /* the next cheapest candidate not yet tried */
            long next = -1;
            for (size_t c = 0; c < g->ncands; c++) {
                mk_place_cand *cd = &g->cands[c];
                if (cd->ok && !cd->rejected && (next < 0 || cd->monthly < g->cands[next].monthly))
                    next = (long)c;
            }
            size_t old = g->ncands;
            if (next < 0 && !widened && (widened = true) && widen(cat, r, g)) {
                for (size_t c = old; c < g->ncands; c++) /* the new ones: price them */
                    score(cat, r, g, specs, &g->cands[c], qs);
                continue;
            }
            if (next < 0)
                break;
            mk_place_cand *cd = &g->cands[next];
            mk_money total = cd->monthly;
            cd->monthly = 0;
            score(cat, r, g, specs, cd, qs); /* the members' quotes there */
            cd->monthly = total;
            put_at(r, g, cd, qs);
            memset(gbad, 0, g->n * sizeof *gbad);
            fn(ud, ins, at, g->n, gbad, &cd->rejected);
            if (!cd->rejected) {
                found = next;
                break;
            }
        }
        if (found >= 0) {
            for (size_t m = 0; m < g->n; m++) {
                mk_place_item *it = &r->items[g->members[m]];
                r->overflow |= !mk_money_sub(r->monthly, it->q.status == MK_COST_PRICED ? it->q.monthly : 0, &r->monthly);
                r->nunpriced -= it->q.status != MK_COST_PRICED;
                it->q = qs[m];
                r->overflow |= !mk_money_add(r->monthly, it->q.status == MK_COST_PRICED ? it->q.monthly : 0, &r->monthly);
                r->nunpriced += it->q.status != MK_COST_PRICED;
            }
            g->winner = found;
            moved++;
        } else { /* broken everywhere: the cheapest stays, and the policy report says why */
            for (size_t m = 0; m < g->n; m++)
                qs[m] = r->items[g->members[m]].q;
            put_at(r, g, &g->cands[first], qs);
        }
        mk_mem_free(ins), mk_mem_free(specs), mk_mem_free(qs), mk_mem_free(gbad);
    }
    mk_mem_free(seen), mk_mem_free(bad), mk_mem_free(all), mk_mem_free(at);
    return moved;
}
