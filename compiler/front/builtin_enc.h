/* builtin_enc — the built-in functions on networks (cidr*), encodings
 * (base64*, json*, urlencode) and hashes (sha*, md5, hmac_sha256), split
 * from builtin.c for size. Internal to the builtin module: only builtin.c
 * (its table) includes it; everyone else goes through builtin.h. Results
 * live in the arena of c->v. */
#ifndef MK_BUILTIN_ENC_H
#define MK_BUILTIN_ENC_H

#include "compiler/front/builtin_arg.h"

/* The built-ins (see the table in builtin.c). */
mk_value *mk_bi_cidrsubnet(mk_bictx *c, mk_value **args, int n);
mk_value *mk_bi_cidrhost(mk_bictx *c, mk_value **args, int n);
mk_value *mk_bi_cidrnetmask(mk_bictx *c, mk_value **args, int n);
mk_value *mk_bi_cidrcontains(mk_bictx *c, mk_value **args, int n);
mk_value *mk_bi_cidrvalid(mk_bictx *c, mk_value **args, int n);
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
