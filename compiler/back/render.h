/* render — a plan shown to people: text in Terraform's manner (`+`, `~`,
 * `-/+`, `-` with the changed attributes, then the summary line), or
 * markdown for a pull-request comment. It reads the plan's records
 * (middle/plan.h), a plan just made and a saved one alike, so `moksha
 * plan` and `moksha show` look exactly the same. */
#ifndef MK_RENDER_H
#define MK_RENDER_H

#include <jansson.h>
#include <stdbool.h>

#include "compiler/base/buf.h"
#include "compiler/middle/plan.h"

void mk_render_text(const mk_plan *plan, mk_buf *out, bool color);
void mk_render_markdown(const mk_plan *plan, mk_buf *out);
/* "Plan: 6 to create, 0 to update, 0 to replace, 0 to delete." */
void mk_render_summary(const mk_plan *plan, mk_buf *out);
/* An age in whole units: "42 s", "5 min", "3 h", "2 d". */
void mk_render_age(long long seconds, mk_buf *out);
/* A JSON value in moksha's literal syntax; secrets show as (sensitive). */
void mk_render_value(json_t *v, mk_buf *out);

#endif
