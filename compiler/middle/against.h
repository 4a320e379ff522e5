/* against — a change's own cost and policy delta: the stack as this branch
 * has it (the head) beside the stack as the target branch has it (the base,
 * `--base DIR`: docs/cost.md, "Against the base branch"). Both are priced
 * and placed against the same applied state, so what differs is what the
 * change itself does; the delta against applied state stays the plan's own.
 * It compares two placement reports (place.h) and two sets of policy
 * results (policy.h) and decides nothing else: rendering is
 * compiler/back/against_out.c.
 *
 * Ownership: an mk_against owns its arrays and its policy JSON; the
 * addresses and reasons in its lines are borrowed from the two reports
 * (their programs and catalogs), which must outlive it. */
#ifndef MK_AGAINST_H
#define MK_AGAINST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "compiler/base/money.h"
#include "compiler/middle/place.h"

/* One resource whose figure the change moves: in one side only, priced on
 * one side only, or priced differently. */
typedef struct mk_against_line {
    const char *address;
    bool in_base, in_head;
    bool base_priced, head_priced;
    mk_money base, head;            /* the monthly figure; 0 where absent or unpriced */
    const char *base_why, *head_why; /* why a present side is unpriced, NULL when priced */
} mk_against_line;

typedef struct mk_against {
    mk_against_line *lines;  /* by address (bytewise), head and base merged */
    size_t nlines;
    mk_money base_monthly, head_monthly; /* the two totals (exact) */
    size_t base_unpriced, head_unpriced;
    /* the policies whose verdict or violations differ, by name:
     * [{name, base: status|null, head: status|null, new: [violation],
     *   fixed: [violation]}] (a violation as policy.h has it); owned */
    json_t *policies;
} mk_against;

/* The cost delta of head against base (both reports borrowed). */
mk_against *mk_against_costs(const mk_place_report *base, const mk_place_report *head);
/* Add the policy delta: results as mk_policy_run records them (borrowed;
 * either may be NULL for none). A violation is the same on both sides when
 * its policy, address and message are. */
void mk_against_policies(mk_against *a, json_t *base, json_t *head);
/* head − base, exact. */
mk_money mk_against_delta(const mk_against *a);
void mk_against_free(mk_against *a);

#endif
