/* boundary — what the executor itself decides of a plan in trust mode
 * (docs/trust.md, "Autonomy boundaries", "Rules per environment"): a
 * change's risk floor, read from the change and the state rather than the
 * planner's label; the gates the trust file requires for an environment,
 * added to the plan's; the policy packs a plan must have been checked
 * against; and an automation identity's boundary — risk, types, actions,
 * environments, cost increase, number of changes, time windows.
 *
 * Not for: opening gates (runtime/approval.c). */
#ifndef MK_RUNTIME_BOUNDARY_H
#define MK_RUNTIME_BOUNDARY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "runtime/rtstate.h"
#include "runtime/trust.h"

/* What a resource type is to the floor: the stdlib's types by their marks
 * (@stateful), the network and access types, and any other (a plugin's). */
enum { MK_BOUNDARY_STATELESS, MK_BOUNDARY_STATEFUL, MK_BOUNDARY_ACCESS, MK_BOUNDARY_UNKNOWN };
int mk_boundary_type_class(const char *type);

/* 1 low, 2 medium, 3 high: the risk a change has whatever its label says,
 * from its action, type and the attributes that differ between the
 * state's entry (NULL: none) and its after. */
int mk_boundary_floor(json_t *change, json_t *entry);

/* The gates environments.ENV.gates of the trust file requires, appended to
 * the plan's `gates` ({"policy": "trust:NAME", "group", "count",
 * "address", "change", "required": true}) for each change they match
 * (each filter the gate has: its actions, its types, min_risk by the
 * higher of label and floor). No rules for the plan's environment, or t
 * NULL: nothing. Break glass (runtime/approval.c) opens them as any gate. */
void mk_boundary_add_gates(const mk_trust *t, json_t *plan, const mk_rtstate *state);

/* environments.ENV.policy_packs: false with why naming each digest the
 * plan's `policy_packs` lacks, or saying that its `policy_packs` is not
 * [{"name", "digest": 64 hex}…] (checked whatever the trust file requires). */
bool mk_boundary_packs_ok(const mk_trust *t, json_t *plan, char *why, size_t whylen);

/* An automation signer's boundary over the plan at now: an object
 * {"plan": [REASON…], "changes": {"ID": REASON}} — plan-wide limits crossed
 * (environment, cost increase, number of changes, time window) hold every
 * change; a change's own (risk floor, type, action) hold it. A REASON
 * names the limit crossed ("replace is high risk, above the boundary's
 * max_risk low"). Empty lists: inside the boundary. A new reference. */
json_t *mk_boundary_check(const mk_trust *t, const mk_trust_who *who, json_t *plan, const mk_rtstate *state, time_t now);

/* A boundary (NULL: the default) in one line, for `moksha-exec verify`:
 * "max_risk low; environments dev; max_cost_increase $50.00 a month; …". */
void mk_boundary_describe(json_t *boundary, char *out, size_t n);

#endif
