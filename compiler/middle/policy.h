/* policy — evaluation of `policy` blocks (DESIGN.md §4, docs/policies.md)
 * over the desired resources, the plan's changes, the plan's cost and the
 * stack, and of policy `test` blocks.
 *
 * Policies run through one compiled form: each `for r in resources where
 * r.type …` that names its types reads only those types' resources (an
 * index by type), not every resource for every rule.
 *
 * Results are a jansson array (the caller owns it), one object per policy:
 * {name, description, enforcement, status: pass|warn|fail|overridden|error,
 *  violations: [{message, address, location, resource_location}],
 *  gates: [{id, group, message, address}], override: {reason} | null,
 *  error: {code, message, location} when the policy met an error}. */
#ifndef MK_POLICY_H
#define MK_POLICY_H

#include <jansson.h>
#include <stdbool.h>

#include "compiler/front/program.h"
#include "compiler/middle/place.h"
#include "compiler/middle/plan.h"

typedef struct mk_policy_override {
    const char *name, *reason;
} mk_policy_override;

typedef struct mk_policy_run {
    const mk_policy_override *overrides;
    size_t noverrides;
    /* the waivers in force (note [waivers] in pipeline.c): [{"policy",
     * "address", "id", "by", "expires", "reason"}], borrowed; a record that
     * waived a violation is marked "used": true, one of a hard policy
     * "refused": true */
    json_t *waivers;
    int failed;     /* policies whose status is fail */
    int errored;    /* policies that met an error while they ran (status error) */
    int warned;
    int gates;
} mk_policy_run;

/* Check the statements of the root unit's policies with unknown inputs:
 * enforcement levels, descriptions, what may stand in a policy, the kinds
 * of `for`, `where`, `if`, `assert` and `require`. After mk_eval_program;
 * reports through the program's diagnostics. */
void mk_policy_check_structure(mk_program *p);

/* Evaluate the stack's policies against the evaluated program and its
 * plan's records (`changes`, `plan`); rep (may be NULL: no catalog) is
 * where the cost model placed and priced each instance (`r.placement`,
 * `r.cost`). Results only: the caller writes gates and raised risks into
 * the records. */
json_t *mk_policy_check(mk_program *p, const mk_plan *plan, const mk_place_report *rep, mk_policy_run *run);

typedef struct mk_policy_counts {
    int passed, failed, errors; /* errors: the policy itself met an error */
} mk_policy_counts;

/* Run every `test` block of the program; returns an array of
 * {name, location, expectations: [{kind, policy, ok, got, error?}]}, where
 * got is allow, deny, error or "no such policy"; counts in n. */
json_t *mk_policy_test(mk_program *p, mk_policy_counts *n);

/* Placement under policies (docs/cost.md): the policies that read
 * `placement` and are not advisory, evaluated over some instances as the
 * cost model placed them (where[i], the place report's). NULL when no
 * policy reads placement; plan may be NULL (moksha cost). eval sets bad[i]
 * for each instance a violation names, and *why (may be NULL) to the first
 * violation's text; it fits mk_place_policy_fn. */
typedef struct mk_policy_place mk_policy_place;
mk_policy_place *mk_policy_place_new(mk_program *p, const mk_plan *plan);
void mk_policy_place_eval(void *ud, mk_instance *const *ins, const mk_place_at *const *where, size_t n, bool *bad,
                          const char **why);
void mk_policy_place_free(mk_policy_place *pp);

/* A location object {file, line, column} for a span. */
json_t *mk_policy_location(mk_program *p, mk_span at);

#endif
