/* revert — the desired resources of `moksha state revert N`: serial N's
 * state entries made into the program's instances, in place of the
 * spec's, so that the differ, the cost model, placement and the policies
 * plan a revert as they plan any spec (docs/state.md, "History"). Each
 * entry keeps its type (the stack's schema of it), provider, attributes,
 * placement, lifecycle and edges; its secrets stay sealed as the state has
 * them (note [sealed values] in revert.c). It does not read or pull the
 * serial (the command does), nor diff. */
#ifndef MK_REVERT_H
#define MK_REVERT_H

#include <stdbool.h>

#include "compiler/base/state.h"
#include "compiler/front/program.h"

/* Replace p's instances (after evaluation) with target's entries, against
 * the current state (computed attributes known from it where it has the
 * entry). The spec's `moved` and `import` blocks are dropped: a revert
 * names addresses as serial N had them. Everything made lives in p's arena
 * (target may be freed after). False, with E0307 in p's diagnostics, for
 * an entry the stack's types cannot hold. */
bool mk_revert_desire(mk_program *p, const mk_state *target, const mk_state *current);

#endif
