/* vars — variable values from outside the source, in rising precedence:
 * a --var-file, MOKSHA_VAR_NAME in the environment, --var NAME=VALUE. Each
 * call sets the `given` value of the root unit's variables and reports its
 * own errors; call them after loading and before evaluating. */
#ifndef MK_VARS_H
#define MK_VARS_H

#include "compiler/front/program.h"

void mk_vars_file(mk_program *p, const char *path);
void mk_vars_env(mk_program *p);
void mk_vars_flag(mk_program *p, const char *assignment);

#endif
