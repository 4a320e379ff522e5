/* place — placement (docs/cost.md): for each group of instances that must
 * sit together (tied by @colocate references, note [placement groups] in
 * place.c), the (cloud, region) with the lowest total among those their
 * `placement` blocks allow, priced by the cost model (cost.h), with the
 * reason every other candidate lost. Applied placement is sticky; policies
 * on placement may move a group to the next cheapest candidate.
 *
 * Ownership: a report owns its arrays and borrows the catalog, the
 * program's instances and the state; the strings of a candidate are the
 * catalog's. */
#ifndef MK_PLACE_H
#define MK_PLACE_H

#include <stdbool.h>
#include <stddef.h>

#include "compiler/base/money.h"
#include "compiler/front/program.h"
#include "compiler/middle/cost.h"

struct mk_state;

/* One placement candidate of a group: the group's total there. */
typedef struct mk_place_cand {
    const char *cloud, *region;
    bool ok;           /* every member priced (or free/unpriced anywhere) there */
    mk_money monthly;
    const char *why;   /* why it is not a candidate */
    int ci, ri;        /* the catalog's indexes of cloud and region; ri -1: no prices there */
    const char *rejected; /* priced, but a member breaks a policy there: which, and how */
} mk_place_cand;

typedef struct mk_place_group {
    size_t *members;   /* indexes into the report's items */
    size_t n;
    mk_place_cand *cands;
    size_t ncands;
    long winner;       /* index into cands, -1 when none */
    bool sticky;       /* kept where the state has it */
    bool pinned;       /* a member is kept by a bucket store: its cloud and region, and no other (front/route.c) */
} mk_place_group;

/* Where an item stands while placement decides, for the policies that read
 * it: the chosen place, or the candidate being tried. NULL strings: nowhere
 * (a local resource). */
typedef struct mk_place_at {
    const char *cloud, *region, *offering;
    bool priced;       /* and its price there */
    mk_money monthly;
} mk_place_at;

typedef struct mk_place_item {
    const mk_instance *in;
    mk_cost_quote q;   /* at the group's chosen place */
    size_t group;
    mk_place_at at;    /* (mk_place_mark) */
} mk_place_item;

typedef struct mk_place_report {
    mk_place_item *items;    /* one per program instance, same order */
    size_t nitems;
    mk_place_group *groups;
    size_t ngroups;
    size_t *members;         /* every group's members, one block */
    mk_money monthly;        /* sum of priced items, exact */
    mk_money applied;        /* sum of the applied state priced where it stands */
    mk_money *applied_each;  /* per resource of the state (its index there): its part of that, 0 unpriced */
    size_t nunpriced;
    size_t nself_hosted;     /* self-hosted databases: $0.00, no cloud's price (note [off cloud] in cost.h) */
    bool overflow;           /* a total does not fit in mk_money (the totals are then wrong: an error) */
    const mk_value *stack_placement; /* the stack's placement block, the default; borrowed */
} mk_place_report;

/* Place and price every instance of an evaluated program. `st` (may be NULL)
 * gives sticky placements and the applied total; like (may be NULL: looked
 * up) the desired instance at each of its resources (mk_plan.like);
 * `replace` lists addresses whose placement may move (--replace-placement). */
mk_place_report *mk_place_run(mk_cost_catalog *cat, mk_program *p, const struct mk_state *st,
                              const mk_instance *const *like, const char *const *replace, size_t nreplace);
/* The same over some instances (a policy test's) with their stack's value
 * (its `placement` is their default; may be NULL). */
mk_place_report *mk_place_run_set(mk_cost_catalog *cat, mk_program *p, mk_instance *const *ins, size_t n,
                                  const mk_value *stack, const struct mk_state *st, const char *const *replace,
                                  size_t nreplace);
void mk_place_report_free(mk_place_report *r);

/* Record where each item is placed (its `at`). */
void mk_place_mark(mk_place_report *r);

/* Policies in placement (docs/cost.md): evaluate the placement policies over
 * ins[0..n), each placed where at[i] says; set bad[i] for each instance a
 * violation names and *why (may be NULL) to the first violation's text. */
typedef void (*mk_place_policy_fn)(void *ud, mk_instance *const *ins, const mk_place_at *const *at, size_t n, bool *bad,
                                   const char **why);
/* Move each group that breaks a placement policy where it is to the cheapest
 * other candidate where it breaks none (the rejected ones say why), looking
 * at every priced region of its clouds when none of the first candidates
 * will do and no member names its regions; a group that breaks them
 * everywhere stays at the cheapest. Marks as it goes and
 * keeps the totals right; returns how many groups moved. */
size_t mk_place_apply_policies(mk_cost_catalog *cat, mk_place_report *r, mk_place_policy_fn fn, void *ud);

#endif
