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

/* One option in a command's table: its name ("--format", "-o"), whether it
 * takes a value (NAME VALUE or NAME=VALUE; a flag is its name exactly), and
 * where it goes: the value into *str (the last one given wins), true into
 * *flag, and/or take(ud, name, value) — for a repeatable option or one
 * whose value is checked now; it says what is wrong and returns false. */
typedef struct mk_option {
    const char *name;
    bool value;
    const char **str;
    bool *flag;
    bool (*take)(void *ud, const char *name, const char *value);
} mk_option;

/* A command's arguments. Each argument is, in this order: -h or --help
 * (help printed on stdout, and the parse ends), an option of opts, one of
 * the stack's (when stack: --var, --var-file, --policies, --override NAME
 * --reason TEXT, --replace-placement), one that arg takes (a plan file;
 * it may set *bad), a path (not starting with `-`, or `-` alone: into
 * stack's paths, else into *paths), and else an unknown option: "unknown
 * option `X` for CMD", with "(see moksha SEE --help)" when see is given.
 * The first error ends the parse. */
typedef struct mk_options {
    const char *cmd, *see, *help;
    const mk_option *opts;
    size_t nopts;
    void *ud; /* for take and arg */
    mk_pipeline_req *stack;
    const char ***paths;
    size_t *npaths;
    bool (*arg)(void *ud, const char *arg, bool *bad);
} mk_options;

enum { MK_OPTIONS_OK, MK_OPTIONS_HELP, MK_OPTIONS_BAD };
/* MK_OPTIONS_OK; MK_OPTIONS_HELP when the help was printed; MK_OPTIONS_BAD
 * when an error was said. argv[0] is the command's name. */
int mk_options_parse(const mk_options *o, int argc, char **argv);
/* Every --override has its --reason; else says so and returns false. */
bool mk_options_overrides_ok(const mk_pipeline_req *r);
/* What the stack options took that the command cmd does not take: said,
 * and false. allowed is a set of MK_OPTIONS_*. */
enum { MK_OPTIONS_PATHS = 1, MK_OPTIONS_VARS = 2, MK_OPTIONS_POLICIES = 4, MK_OPTIONS_OVERRIDES = 8,
       MK_OPTIONS_REPLACE = 16, MK_OPTIONS_ALL = 31 };
bool mk_options_only(const mk_pipeline_req *r, const char *cmd, unsigned allowed);
void mk_options_req_free(mk_pipeline_req *r);

#endif
