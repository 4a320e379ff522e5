/* cost_out — cost reports shown to people: `moksha cost` as text, markdown
 * or JSON, and --explain's placement candidates (`moksha cost`, `moksha
 * plan`). Borrows the report; the JSON value returned is the caller's. */
#ifndef MK_COST_OUT_H
#define MK_COST_OUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "compiler/middle/place.h"

/* "Placement:", each placed resource → where, its candidates, a blank line. */
void mk_cost_out_explain(const mk_place_report *r, FILE *out);
/* One line per resource, then the total (md: a pull-request comment's table);
 * with explain, each resource's candidates under it (text only). */
void mk_cost_out_text(const mk_place_report *r, bool explain, bool md, FILE *out);
/* The report as moksha cost --format json prints it; with explain, each
 * resource's group is sticky or not and lists its candidates. */
json_t *mk_cost_out_json(const mk_place_report *r, bool explain);

#endif
