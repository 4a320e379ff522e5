/* plan — from desired resources and applied state to a plan: the differ
 * (create, update, replace, delete, no-op, with the attributes that changed
 * and why a change replaces), risk classes, the DAG's edges, and the plan
 * document `moksha.plan/v1` (docs/formats.md), unsigned: back/planfile.h
 * signs and writes it.
 *
 * The document is a jansson object owned by the caller. Secrets in it are
 * sealed with the project key. */
#ifndef MK_PLAN_H
#define MK_PLAN_H

#include <jansson.h>
#include <stdbool.h>

#include "compiler/base/key.h"
#include "compiler/front/program.h"
#include "compiler/base/state.h"

typedef struct mk_plan_totals {
    int create, update, replace, remove, noop;
} mk_plan_totals;

/* Diff the evaluated program against state and build the unsigned plan
 * document; with destroy, everything in state is deleted. Reports E0301 for
 * a delete or replace that prevent_destroy forbids. The changes come in
 * program order, then the deletes (totals->remove of them, deposed objects
 * included) last; each desired instance's `change` points at its own. */
json_t *mk_plan_build(mk_program *p, mk_state *st, const mk_key *key, mk_plan_totals *totals, bool destroy);
/* The risk class of a change (DESIGN.md §4): low, medium or high. changed
 * is the list of changed attribute names (may be NULL). */
const char *mk_plan_risk(const char *action, const char *type, json_t *changed);

#endif
