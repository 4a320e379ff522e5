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
#include "compiler/base/money.h"
#include "compiler/front/types.h"
#include "compiler/front/value.h"

json_t *mk_vjson_from(const mk_value *v, const mk_key *key, bool seal, bool *unknown);
/* Did a conversion stop at the cap of 4,000,000 JSON values? */
bool mk_vjson_overflowed(void);
/* A state attribute back into a value of type ty (for computed attributes
 * already known from state). NULL when it does not fit the type. */
mk_value *mk_vjson_to(mk_vctx *c, json_t *j, const mk_type *ty);
/* Any JSON as a value, without a type: objects become maps (names interned),
 * arrays lists, integers ints, reals numbers; sizes and money stay their
 * text. With secrets, an object holding "$secret" (a secret as plans write
 * it) is the string "(sensitive)", marked secret. */
mk_value *mk_vjson_to_any(mk_vctx *c, json_t *j, bool secrets);
/* Money in plans and cost reports: a decimal string of dollars rounded to
 * the cent, the figure the text shows (docs/formats.md, "Money"). */
json_t *mk_vjson_money(mk_money m);
/* Equal as plans see it: secrets compare by fingerprint. */
bool mk_vjson_same(json_t *a, json_t *b);

#endif
