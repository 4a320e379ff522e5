/* render — a plan document shown to people: text in Terraform's manner
 * (`+`, `~`, `-/+`, `-` with the changed attributes, then the summary line),
 * or markdown for a pull-request comment. `moksha plan` and `moksha show`
 * both render through here, so a saved plan looks exactly as it did. */
#ifndef MK_RENDER_H
#define MK_RENDER_H

#include <jansson.h>
#include <stdbool.h>

#include "compiler/base/buf.h"

void mk_render_text(json_t *plan, mk_buf *out, bool color);
void mk_render_markdown(json_t *plan, mk_buf *out);
/* "Plan: 6 to create, 0 to update, 0 to replace, 0 to delete." */
void mk_render_summary(json_t *plan, mk_buf *out);
/* A JSON value in moksha's literal syntax; secrets show as (sensitive). */
void mk_render_value(json_t *v, mk_buf *out);

#endif
