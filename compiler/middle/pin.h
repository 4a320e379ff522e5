/* pin — pinned offerings checked against the catalogs (docs/cost.md,
 * "Compute", "Storage"): an instance_type or disk_type no cloud sells (E0403,
 * with "did you mean"),
 * and a pinned compute whose cpu or memory are not its type's (E0404, the
 * right values in the hint). Reports into the program's diagnostics; owns
 * nothing. */
#ifndef MK_PIN_H
#define MK_PIN_H

#include <stdbool.h>

#include "compiler/front/program.h"
#include "compiler/middle/cost.h"


/* False when it reported an error. */
bool mk_pin_check(mk_cost_catalog *cat, const mk_program *p);

#endif
