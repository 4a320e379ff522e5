/* against_out — the delta against the base branch (compiler/middle/against.h)
 * shown to people: a section after `moksha cost`'s and `moksha plan`'s own
 * output, as text, a markdown pull-request comment's part, or JSON. It
 * renders and decides nothing. Borrows the delta; the JSON is the caller's. */
#ifndef MK_AGAINST_OUT_H
#define MK_AGAINST_OUT_H

#include <jansson.h>
#include <stdbool.h>

#include "compiler/base/buf.h"
#include "compiler/middle/against.h"

/* "Against the base (DIR): …", a line per resource whose figure moves,
 * then (policies) the policies whose verdict moves; md: the same as a
 * markdown section. */
void mk_against_out_text(const mk_against *a, const char *base, bool policies, bool md, mk_buf *out);
/* {path, monthly, delta, unpriced, resources: [...], policies?: [...]}
 * (docs/cost.md, "Against the base branch"). */
json_t *mk_against_out_json(const mk_against *a, const char *base, bool policies);

#endif
