/* moved — the language's `moved { from, to }` and `import { to, id }`
 * blocks: reading their addresses (references as written, never
 * evaluated), evaluating an import's id, and the checks that need only the
 * spec (E0121). What the blocks do to a plan is the differ's
 * (middle/moves.c), with the state in hand. */
#ifndef MK_MOVED_H
#define MK_MOVED_H

#include "compiler/base/mem.h"
#include "compiler/front/program.h"

/* After evaluation: fill p->relocs from the root stack's blocks, and the
 * import of `moksha import TO ID` when to is given (nothing when a block
 * says the same), and report what is wrong with them. */
void mk_moved_eval(mk_program *p, const char *to, const char *id);

/* The address an expression names, as the state writes it (compute.web[0],
 * module.app.compute.web), in the arena; NULL when it is not one. */
const char *mk_moved_address(mk_arena *a, const mk_ast *n);

#endif
