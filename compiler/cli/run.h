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

/* mk_pipeline_plan, then what it recorded on stderr (and --explain's text
 * on stdout); false on any error. */
bool mk_run_plan(mk_pipeline_req *r, mk_planned *out, bool sign);
/* A phase's --stats line on stderr. */
void mk_run_print_phase(const mk_pipeline_phase *ph);
/* The caller's own phase ended now (mk_pipeline_mark), its --stats line said. */
void mk_run_phase(mk_planned *pl, const char *name, double *t0);
/* text, json or markdown on stdout (text is the signed text for json, if any) */
void mk_run_print_plan(json_t *plan, const char *text, const char *format);

#endif
