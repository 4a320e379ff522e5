/* plandoc — the plan model's records (middle/plan.h) as the jansson plan
 * document `moksha.plan/v1` that back/planfile.c signs and writes and the
 * renderers read: field for field, key for key, what the differ, the cost
 * model and the policies wrote into the records.
 *
 * It neither signs nor writes the file (planfile.c) nor shows a plan
 * (render.c). A bridge, for as long as the plan file is written from a
 * document: the writer that streams the file straight from the records
 * replaces it. Nothing depends on its internals. It borrows the records;
 * the document takes counted references to the state's values it holds
 * (`before`, a delete's lifecycle and placement). */
#ifndef MK_PLANDOC_H
#define MK_PLANDOC_H

#include <jansson.h>

#include "compiler/base/key.h"
#include "compiler/middle/plan.h"

/* The unsigned document (the caller owns it); secrets in `after` are sealed
 * with key. */
json_t *mk_plandoc_of(const mk_plan *pl, const mk_key *key);

#endif
