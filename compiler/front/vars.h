/* vars — variable values from outside the source, in rising precedence:
 * a --var-file, MOKSHA_VAR_NAME in the environment, --var NAME=VALUE. Each
 * call sets the `given` value of the root unit's variables and reports its
 * own errors; call them after loading and before evaluating. With
 * p->vars_merge (an environment's layers), a map given over a map is
 * merged into it (mk_vars_merge); else a later value replaces. */
#ifndef MK_VARS_H
#define MK_VARS_H

#include "compiler/front/program.h"

void mk_vars_file(mk_program *p, const char *path);
void mk_vars_env(mk_program *p);
void mk_vars_flag(mk_program *p, const char *assignment);
/* over given on top of under (NULL: nothing under) as an environment's
 * layers take it: two maps merge key by key, recursively (a key of both
 * keeps its place and takes over's value, merged again when both are
 * maps; over's other keys follow, in its order); anything else is over,
 * whole. Neither is changed; the result is in c's arena. */
mk_value *mk_vars_merge(mk_vctx *c, mk_value *under, mk_value *over);

#endif
