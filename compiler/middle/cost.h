/* cost — the cost model and placement (DESIGN.md §5, docs/cost.md).
 *
 * Price catalogs (stdlib/pricing/{aws,gcp,azure,opencost}.json, made by the
 * scripts in stdlib/pricing/tools/ from the corpus) are loaded once. An
 * evaluated resource instance is priced per month in one cloud and region by
 * mapping it to the cheapest offering that satisfies it: 730 hours a month,
 * scaled by usage. Placement picks, for a group of instances that must sit
 * together (tied by @colocate references), the (cloud, region) with the
 * lowest total among those their `placement` blocks allow, and remembers why
 * every other candidate lost. Applied placement is sticky.
 *
 * Ownership: mk_cost_catalog owns the catalogs; the strings in a quote
 * (cloud, region, offering, why) are borrowed from it. A report owns its arrays
 * and borrows the catalog, the program's instances and the state. */
#ifndef MK_COST_H
#define MK_COST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "compiler/base/money.h"
#include "compiler/front/program.h"

struct mk_diag;
struct mk_state;

typedef struct mk_cost_catalog mk_cost_catalog;

/* Load the catalogs of SHARE/stdlib/pricing/; E0400 for a missing or broken catalog
 * (then NULL). */
mk_cost_catalog *mk_cost_load(const char *share_dir, struct mk_diag *diag);
void mk_cost_free(mk_cost_catalog *cat);

typedef enum mk_cost_status {
    MK_COST_PRICED,   /* monthly is the price (0 for what is really free) */
    MK_COST_NOT_HERE, /* no offering in this cloud+region: not a placement candidate */
    MK_COST_UNPRICED  /* no price anywhere (type without catalog figures, unknown size) */
} mk_cost_status;

typedef struct mk_cost_quote {
    mk_cost_status status;
    const char *cloud, *region, *offering; /* offering NULL when none */
    mk_money monthly;                      /* a month (note [money]) */
    const char *why;                       /* the reason for NOT_HERE/UNPRICED, or a note; NULL for none */
} mk_cost_quote;

/* Price one instance in one cloud and region. */
mk_cost_quote mk_cost_price(mk_cost_catalog *cat, const mk_instance *in, const char *cloud, const char *region);
/* The same for applied state: a resource object of .moksha/state.json, priced
 * where it stands (its placement), its attributes read back with its type's
 * schema; usage estimates come from the desired instance at that address. */
mk_cost_quote mk_cost_price_state(mk_cost_catalog *cat, mk_program *p, json_t *sres);

/* One placement candidate of a group: the group's total there. */
typedef struct mk_cost_cand {
    const char *cloud, *region;
    bool ok;           /* every member priced (or free/unpriced anywhere) there */
    mk_money monthly;
    const char *why;   /* why it is not a candidate */
    int ci, ri;        /* the catalog's indexes of cloud and region; ri -1: no prices there */
    const char *rejected; /* priced, but a member breaks a policy there: which, and how */
} mk_cost_cand;

typedef struct mk_cost_group {
    size_t *members;   /* indexes into the report's items */
    size_t n;
    mk_cost_cand *cands;
    size_t ncands;
    long winner;       /* index into cands, -1 when none */
    bool sticky;       /* kept where the state has it */
} mk_cost_group;

typedef struct mk_cost_item {
    const mk_instance *in;
    mk_cost_quote q;   /* at the group's chosen place */
    size_t group;
} mk_cost_item;

typedef struct mk_cost_report {
    mk_cost_item *items;     /* one per program instance, same order */
    size_t nitems;
    mk_cost_group *groups;
    size_t ngroups;
    size_t *members;         /* every group's members, one block */
    mk_money monthly;        /* sum of priced items, exact */
    mk_money applied;        /* sum of the applied state priced where it stands */
    mk_money *applied_each;  /* per resource of the state (its index there): its part of that, 0 unpriced */
    size_t nunpriced;
    bool overflow;           /* a total does not fit in mk_money (the totals are then wrong: an error) */
    const mk_value *stack_placement; /* the stack's placement block, the default; borrowed */
} mk_cost_report;

/* Place and price every instance of an evaluated program. `st` (may be NULL)
 * gives sticky placements and the applied total; `replace` lists addresses
 * whose placement may move (--replace-placement). */
mk_cost_report *mk_cost_run(mk_cost_catalog *cat, mk_program *p, const struct mk_state *st,
                            const char *const *replace, size_t nreplace);
/* The same over some instances (a policy test's) with their stack's value
 * (its `placement` is their default; may be NULL). */
mk_cost_report *mk_cost_run_set(mk_cost_catalog *cat, mk_program *p, mk_instance *const *ins, size_t n,
                                const mk_value *stack, const struct mk_state *st, const char *const *replace,
                                size_t nreplace);
void mk_cost_report_free(mk_cost_report *r);

/* Record where each instance was placed (its placed_* fields). */
void mk_cost_mark(mk_cost_report *r);

/* Policies in placement (docs/cost.md): evaluate the placement policies over
 * ins[0..n) as placed; set bad[i] for each instance a violation names and
 * *why (may be NULL) to the first violation's text. */
typedef void (*mk_cost_policy_fn)(void *ud, mk_instance *const *ins, size_t n, bool *bad, const char **why);
/* Move each group that breaks a placement policy where it is to the cheapest
 * other candidate where it breaks none (the rejected ones say why), looking
 * at every priced region of its clouds when none of the first candidates
 * will do and no member names its regions; a group that breaks them
 * everywhere stays at the cheapest. Marks as it goes and
 * keeps the totals right; returns how many groups moved. */
size_t mk_cost_apply_policies(mk_cost_catalog *cat, mk_cost_report *r, mk_cost_policy_fn fn, void *ud);

#endif
