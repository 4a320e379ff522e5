/* vjson — values as JSON, for plans and state (docs/formats.md).
 * Sizes, durations and money become their canonical literal text ("4GiB",
 * "7d", "$12.50"); secrets become {"$secret": {"fingerprint": …, "sealed": …}}
 * (sealed only when a key is given and sealing is asked for), or, under a
 * key that seals to the executor, {"$secret": {"to": …, "sealed": …,
 * "fingerprint": …}} bound to where they stand (mk_vjson_at); unknown values
 * become null and set *unknown. The caller owns the returned reference. */
#ifndef MK_VJSON_H
#define MK_VJSON_H

#include <jansson.h>
#include <stdbool.h>

#include "compiler/base/buf.h"
#include "compiler/base/key.h"
#include "compiler/base/money.h"
#include "compiler/front/types.h"
#include "compiler/front/value.h"

/* Where a value stands, for a key that seals to the executor (note [sealed
 * where] in vjson.c): the resource's address and the attribute, the first
 * element of the path. NULL, or a NULL attr, for a path that starts empty. */
typedef struct mk_vjson_at {
    const char *address, *attr;
} mk_vjson_at;

json_t *mk_vjson_from(const mk_value *v, const mk_key *key, bool seal, const mk_vjson_at *at, bool *unknown);
/* The same value as JSON text, appended to out: exactly
 * json_dumps(mk_vjson_from(v, key, seal, at, unknown), JSON_COMPACT), with no
 * tree made (note [value text]). out must not stream (no sink): an element
 * jansson would leave out is taken back. False, and out as it was, when
 * jansson makes no value of v (a string that is not UTF-8, a number that is
 * not finite): a map leaves such an entry out. */
bool mk_vjson_write(mk_buf *out, const mk_value *v, const mk_key *key, bool seal, const mk_vjson_at *at, bool *unknown);
/* JSON as json_dumps(v, JSON_COMPACT) writes it (keys in document order),
 * appended to out; a string, escaped as jansson escapes it (`"`, `\` and
 * control characters, \uXXXX in upper case), quotes included; a real with
 * jansson's digits (false, nothing written, when it is not finite). */
void mk_vjson_put(mk_buf *out, json_t *v);
void mk_vjson_put_string(mk_buf *out, const char *s, size_t n);
void mk_vjson_put_int(mk_buf *out, int64_t i);
bool mk_vjson_put_real(mk_buf *out, double d);
/* Is s text jansson takes as a string (valid UTF-8)? Does a template's
 * part make a JSON value (its text, or its reference's names, are)? */
bool mk_vjson_text_ok(const char *s, size_t n);
bool mk_vjson_part_ok(const mk_defpart *p);
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
/* Equal as plans see it: secrets compare by fingerprint (and are never
 * equal without one). */
bool mk_vjson_same(json_t *a, json_t *b);

#endif
