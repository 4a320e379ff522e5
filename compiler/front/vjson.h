/* vjson — values as JSON, for plans and state (docs/formats.md).
 * Sizes, durations and money become their canonical literal text ("4GiB",
 * "7d", "$12.50"); secrets become {"$secret": {"fingerprint": …, "sealed": …}}
 * (sealed only when a key is given and sealing is asked for); unknown values
 * become null and set *unknown. The caller owns the returned reference. */
#ifndef MK_VJSON_H
#define MK_VJSON_H

#include <jansson.h>
#include <stdbool.h>

#include "compiler/base/key.h"
#include "compiler/front/types.h"
#include "compiler/front/value.h"

json_t *mk_vjson_from(const mk_value *v, const mk_key *key, bool seal, bool *unknown);
/* Did a conversion stop at the cap of 4,000,000 JSON values? */
bool mk_vjson_overflowed(void);
/* A state attribute back into a value of type ty (for computed attributes
 * already known from state). NULL when it does not fit the type. */
mk_value *mk_vjson_to(mk_vctx *c, json_t *j, const mk_type *ty);
/* Equal as plans see it: secrets compare by fingerprint. */
bool mk_vjson_same(json_t *a, json_t *b);
/* A failed parse of what (a file's path, or a name) in our words, never
 * jansson's (note [json errors]): "WHAT:LINE:COL: the JSON ends early…"
 * into out. text, len: what was parsed (NULL when jansson read the file). */
/* What went wrong, in a few words of ours ("the JSON ends early …"). */
const char *mk_vjson_why(const json_error_t *je);
void mk_vjson_parse_error(const char *what, const json_error_t *je, const char *text, size_t len, char *out, size_t n);
/* A JSON file (flags as json_loadb's); NULL with "PATH: why" in why when it
 * cannot be read or parsed. The caller owns the document. */
json_t *mk_vjson_load_file(const char *path, size_t flags, char *why, size_t n);

#endif
