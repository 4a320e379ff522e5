/* cli — what the commands of the `moksha` binary share: options, colour,
 * error lines, and compiling a stack on a thread with a large stack. */
#ifndef MK_CLI_H
#define MK_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "compiler/program.h"

enum { EXIT_OK = 0, EXIT_INPUT = 1, EXIT_CHANGES = 2, EXIT_POLICY = 3, EXIT_LOCKED = 6 };

typedef struct mk_cli_options {
    const char *color; /* auto, always, never */
    bool stats;
} mk_cli_options;
extern mk_cli_options mk_cli_opts;

bool mk_cli_color(FILE *f);
void mk_cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

typedef struct mk_cli_args {
    int argc, i;
    char **argv;
} mk_cli_args;
/* --name VALUE or --name=VALUE: the value, or NULL when argv[i] is not it. */
const char *mk_cli_opt(mk_cli_args *a, const char *name, bool *bad);
bool mk_cli_is_help(const char *s);
const char **mk_cli_push(const char **v, size_t *n, const char *s);

typedef struct mk_cli_compile_req {
    mk_program *p;
    const char **paths;
    size_t npaths;
    const char **var_files, **var_flags;
    size_t nvar_files, nvar_flags;
    bool strict;
} mk_cli_compile_req;
/* Take --var, --var-file and paths; false when argv[a->i] is none of them. */
bool mk_cli_stack_arg(mk_cli_args *a, mk_cli_compile_req *r, bool *bad);
void mk_cli_compile(mk_cli_compile_req *r);
void mk_cli_req_free(mk_cli_compile_req *r);

#endif
