/* route — which provider serves each evaluated instance, where that is more
 * than the type's namespace or a `provider =` alias: the abstract
 * `database` a postgres provider takes (self-hosted: `provider postgres X {
 * connection = "dev", databases = true }`, or `provider = X` on the
 * database), what such a database cannot ask of a server (E0122), and a
 * provider block of the wrong kind for what names it (E0123). It sets
 * mk_instance.provider and .self_hosted; pricing and placing them is the
 * cost model's (note [off cloud] in middle/cost.h), making them the
 * executor's. */
#ifndef MK_ROUTE_H
#define MK_ROUTE_H

#include "compiler/front/program.h"

/* After evaluation: route every instance of p and report what cannot be
 * served as written (docs/language.md, "Self-hosted databases"). */
void mk_route_program(mk_program *p);

#endif
