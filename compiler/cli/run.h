/* run — what the commands that plan share (plan, graph, cost, policy check,
 * apply, destroy): running the driver (compiler/pipeline.h) and saying what
 * it recorded — the --stats lines, the command-line names that match
 * nothing, --explain's placements, the diagnostics — in the order they
 * arose; and printing a plan. */
#ifndef MK_RUN_H
#define MK_RUN_H

#include <jansson.h>
#include <stdbool.h>

#include "compiler/pipeline.h"

/* mk_pipeline_plan against the state the executor service holds when
 * MOKSHA_EXEC_SOCKET is set (compiler/cli/submit.h; the local
 * .moksha/state.json is not read then), then what it recorded on stderr
 * (and --explain's text on stdout); false on any error, out zeroed when
 * the service could not be asked. */
bool mk_run_plan(mk_pipeline_req *r, mk_planned *out, bool sign);
/* The base of `--base DIR` planned into out (note [against the base] in
 * run.c): DIR's stack against this run's state, environment, variables and
 * policy directories, unsigned; b is its request (free both with
 * mk_run_base_free, even on failure). False, its diagnostics said, when
 * the base cannot be planned. */
bool mk_run_base(const mk_pipeline_req *head, const char *dir, mk_pipeline_req *b, mk_planned *out);
void mk_run_base_free(mk_pipeline_req *b, mk_planned *pl);
/* A phase's --stats line on stderr. */
void mk_run_print_phase(const mk_pipeline_phase *ph);
/* The caller's own phase ended now (mk_pipeline_mark), its --stats line said. */
void mk_run_phase(mk_planned *pl, const char *name, double *t0);
/* A plan on stdout as text, markdown or json. Its json is text when given
 * (the signed file), else the plan as its file has it (mk_planfile_emit):
 * signed with key when sign, else the unsigned body; key also seals a
 * made plan's secrets. */
void mk_run_print_plan(const mk_plan *plan, const char *text, const mk_key *key, bool sign, const char *format);

#endif
