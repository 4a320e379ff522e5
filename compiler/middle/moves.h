/* moves — the differ's share of `moved` and `import` blocks (front/moved.c
 * reads them): which state entry a moved resource's change starts from, and
 * which resources are adopted rather than created. It checks what needs the
 * state (both ends of a move applied: E0121) and notes imports already done.
 * The changes themselves are made by the differ (middle/plan.c), which asks
 * here once per desired instance. */
#ifndef MK_MOVES_H
#define MK_MOVES_H

#include <jansson.h>
#include <stddef.h>

#include "compiler/base/state.h"
#include "compiler/front/program.h"

typedef struct mk_moves mk_moves;

/* What a desired address owes to a block: the state entry it was moved
 * from (with its index there), or the id it is imported by and the object
 * as the executor last read it (NULL: not read yet). */
typedef struct mk_moves_hit {
    const char *moved_from;
    json_t *entry;
    size_t index;
    const char *import_id;
    json_t *observed;
} mk_moves_hit;

/* Resolve p's blocks against the state (chains a → b → c followed to their
 * end) and, for imports, against the objects the executor read by id
 * (observed.json's `imports`: address → {id, status, attributes}; NULL for
 * none); NULL when there are no blocks. Reports into p->diag. */
mk_moves *mk_moves_new(mk_program *p, const mk_state *st, json_t *observed_imports);
/* The hit for a desired address the state does not have; false for none. */
bool mk_moves_find(const mk_moves *m, const char *address, mk_moves_hit *hit);
/* The state entry of a desired address: its own, else the one a `moved`
 * block (or a chain of them) brings to it; NULL for none. For the stages
 * after the differ (a moved resource keeps its place and its price). */
json_t *mk_moves_state_entry(const mk_program *p, const mk_state *st, const char *address, size_t *index);
/* Is the desired JSON want the state's had, once references to moved
 * addresses follow them (note [moved references])? */
bool mk_moves_same(const mk_moves *m, json_t *want, json_t *had, int depth);
void mk_moves_free(mk_moves *m);

#endif
