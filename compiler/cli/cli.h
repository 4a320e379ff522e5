/* cli — what the commands of the `moksha` binary share: options, colour,
 * error lines, and compiling a stack on a thread with a large stack. */
#ifndef MK_CLI_H
#define MK_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "compiler/base/key.h"
#include "compiler/middle/plan.h"
#include "compiler/middle/policy.h"
#include "compiler/front/program.h"
#include "compiler/base/state.h"

#define MOKSHA_DIR ".moksha"
#define STATE_PATH ".moksha/state.json"

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
    bool destroy;   /* plan to delete everything in state */
    const char **policy_dirs; /* --policies DIR */
    size_t npolicy_dirs;
    struct mk_policy_override *overrides; /* --override NAME --reason TEXT */
    size_t noverrides;
    const char **replace_placement; /* --replace-placement ADDR */
    size_t nreplace_placement;
    bool explain;                   /* --explain: print why each placement won */
    bool compile_only;              /* mk_cli_make_plan: state and program, no plan (moksha cost) */
    /* when set, the compile thread calls it after loading the sources and
     * before evaluating them, for the state the evaluation reads (read
     * meanwhile on another thread); it may return NULL */
    struct mk_state *(*await_state)(void *ud);
    void *await_ud;
} mk_cli_compile_req;
/* Take --var, --var-file and paths; false when argv[a->i] is none of them. */
bool mk_cli_stack_arg(mk_cli_args *a, mk_cli_compile_req *r, bool *bad);
void mk_cli_compile(mk_cli_compile_req *r);
/* Every --override has its --reason; else says so and returns false. */
bool mk_cli_overrides_ok(const mk_cli_compile_req *r);
/* What mk_cli_stack_arg took that the command cmd does not take: said, and
 * false. allowed is a set of MK_CLI_*. */
enum { MK_CLI_PATHS = 1, MK_CLI_VARS = 2, MK_CLI_POLICIES = 4, MK_CLI_OVERRIDES = 8, MK_CLI_REPLACE = 16,
       MK_CLI_ALL = 31 };
bool mk_cli_only(const mk_cli_compile_req *r, const char *cmd, unsigned allowed);
/* Every --override names a policy of results, every --replace-placement an
 * instance of p; else says which does not (with a did-you-mean), false. */
bool mk_cli_overrides_match(const mk_cli_compile_req *r, json_t *results);
bool mk_cli_replace_match(const mk_cli_compile_req *r, const mk_program *p);
void mk_cli_req_free(mk_cli_compile_req *r);

struct mk_place_report;
struct mk_cost_catalog;
/* Each resource's placement candidates and the winner (cmd_cost.c). */
void mk_cli_explain_placement(const struct mk_place_report *r);
/* Placement under the policies that read it (docs/cost.md); plan may be NULL. */
void mk_cli_place_by_policy(struct mk_cost_catalog *cat, mk_program *p, json_t *plan, struct mk_place_report *rep);

/* A compiled, diffed (and maybe signed) plan; see cmd_plan.c. */
typedef struct mk_planned {
    mk_program *p;
    mk_state *st;
    mk_key key;
    json_t *plan;
    char *text;          /* the signed plan in its file form, when signed */
    mk_plan_totals totals;
    json_t *policies;    /* results (borrowed from plan) */
    int policy_failed;   /* policies that fail the plan: exit 3 */
    int policy_errored;  /* policies that met an error (reported; the plan fails) */
} mk_planned;

/* Compile against .moksha/state.json, diff, and sign when asked (a plan that
 * leaves the process). Prints diagnostics; false on any error. */
bool mk_cli_make_plan(mk_cli_compile_req *r, mk_planned *out, bool sign);
void mk_cli_planned_free(mk_planned *pl);
/* text, json or markdown on stdout (text is the signed text for json, if any) */
void mk_cli_print_plan(json_t *plan, const char *text, const char *format);

#endif
