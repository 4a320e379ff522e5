/* options — parsing a command's arguments: one parser over a table per
 * command, and the stack arguments every compiling command shares, taken
 * into a driver request (compiler/pipeline.h). The strings taken point into
 * argv; the arrays pushed are the request's, freed by mk_options_req_free. */
#ifndef MK_OPTIONS_H
#define MK_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "compiler/pipeline.h"

typedef struct mk_options_args {
    int argc, i;
    char **argv;
} mk_options_args;
/* --name VALUE or --name=VALUE: the value, or NULL when argv[i] is not it. */
const char *mk_options_value(mk_options_args *a, const char *name, bool *bad);
bool mk_options_is_help(const char *s);
const char **mk_options_push(const char **v, size_t *n, const char *s);

/* Take --var, --var-file and paths; false when argv[a->i] is none of them. */
bool mk_options_stack_arg(mk_options_args *a, mk_pipeline_req *r, bool *bad);
/* Every --override has its --reason; else says so and returns false. */
bool mk_options_overrides_ok(const mk_pipeline_req *r);
/* What mk_options_stack_arg took that the command cmd does not take: said,
 * and false. allowed is a set of MK_OPTIONS_*. */
enum { MK_OPTIONS_PATHS = 1, MK_OPTIONS_VARS = 2, MK_OPTIONS_POLICIES = 4, MK_OPTIONS_OVERRIDES = 8,
       MK_OPTIONS_REPLACE = 16, MK_OPTIONS_ALL = 31 };
bool mk_options_only(const mk_pipeline_req *r, const char *cmd, unsigned allowed);
void mk_options_req_free(mk_pipeline_req *r);

#endif
