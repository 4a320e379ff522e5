/* builtin_enc — the built-in functions on networks (cidr*), encodings
 * (base64*, json*, urlencode) and hashes (sha*, md5, hmac_sha256), split
 * from builtin.c for size, and the helpers the two files share. Internal to
 * the builtin module: only builtin.c and builtin_enc.c include it; everyone
 * else goes through builtin.h. Results live in the arena of c->v. */
#ifndef MK_BUILTIN_ENC_H
#define MK_BUILTIN_ENC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler/base/buf.h"
#include "compiler/front/builtin.h"

/* Bounds on what a built-in builds from untrusted input. */
#define MK_BI_MAX_TEXT ((size_t)16 << 20) /* bytes of a string result */
#define MK_BI_MAX_ITEMS (1 << 22)         /* elements of a list result */
#define MK_BI_MAX_DEPTH 4096              /* nesting of lists and maps */

/* Shared helpers, in builtin.c. `fn` is the built-in's name for messages. */
/* Does args[i] have kind k (MK_V_NUMBER: int or number; MK_V_ANY: any)?
 * Reports E0213 "argument N of `fn` must be …" when not. */
bool mk_bi_want(mk_bictx *c, mk_value **args, int i, mk_vkind k, const char *fn);
/* args[i] as an int: an int, or a number without fraction. Reports when not. */
bool mk_bi_int(mk_bictx *c, mk_value **args, int i, int64_t *out, const char *fn);
/* The buffer's text as a string value (an error past MK_BI_MAX_TEXT); frees b. */
mk_value *mk_bi_take(mk_bictx *c, mk_buf *b, const char *fn);
/* Byte length of the valid UTF-8 character at s (its code point in *cp), or 0. */
uint32_t mk_bi_u8next(const char *s, uint32_t n, uint32_t *cp);
/* Arguments as messages quote them: moksha syntax, cut short, and
 * (sensitive) for a secret, which no diagnostic may show. In the arena. */
const char *mk_bi_show(mk_bictx *c, const mk_value *v);
/* Is v's text (JSON or moksha syntax) safely below MK_BI_MAX_TEXT? */
bool mk_bi_fits(const mk_value *v);

/* The built-ins, in builtin_enc.c (see the table in builtin.c). */
mk_value *mk_bi_cidrsubnet(mk_bictx *c, mk_value **args, int n);
mk_value *mk_bi_cidrhost(mk_bictx *c, mk_value **args, int n);
mk_value *mk_bi_cidrnetmask(mk_bictx *c, mk_value **args, int n);
mk_value *mk_bi_cidrcontains(mk_bictx *c, mk_value **args, int n);
mk_value *mk_bi_base64encode(mk_bictx *c, mk_value **args, int n);
mk_value *mk_bi_base64decode(mk_bictx *c, mk_value **args, int n);
mk_value *mk_bi_jsonencode(mk_bictx *c, mk_value **args, int n);
mk_value *mk_bi_jsondecode(mk_bictx *c, mk_value **args, int n);
mk_value *mk_bi_urlencode(mk_bictx *c, mk_value **args, int n);
mk_value *mk_bi_sha256(mk_bictx *c, mk_value **args, int n);
mk_value *mk_bi_sha512(mk_bictx *c, mk_value **args, int n);
mk_value *mk_bi_sha1(mk_bictx *c, mk_value **args, int n);
mk_value *mk_bi_md5(mk_bictx *c, mk_value **args, int n);
mk_value *mk_bi_hmac_sha256(mk_bictx *c, mk_value **args, int n);
mk_value *mk_bi_base64sha256(mk_bictx *c, mk_value **args, int n);

#endif
