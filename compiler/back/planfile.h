/* planfile — signing, verifying and writing plan documents (moksha.plan/v1,
 * docs/formats.md). The signature covers the canonical text of everything
 * else in the document; the executor checks it the same way (runtime/
 * planfile.c). */
#ifndef MK_PLANFILE_H
#define MK_PLANFILE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "compiler/base/key.h"

/* Add the signature (as the last key) over the canonical form of the rest:
 * compact JSON, keys in document order. Returns the signed document as text
 * in that same form, which is what plan files hold; free it with
 * mk_planfile_free_text. */
char *mk_planfile_sign(json_t *plan, const mk_key *key);
void mk_planfile_free_text(char *text);
/* Verify a loaded plan's signature; false with a reason when it fails. */
bool mk_planfile_verify(json_t *plan, const mk_key *key, char *why, size_t whylen);
/* May `plan -o` write path? Not a .moksha source, a directory, anything
 * under .moksha/ but a NAME.plan there, or an existing file that is not a
 * plan; a link is judged by what it points to. False with the reason. */
bool mk_planfile_target_ok(const char *path, char *why, size_t whylen);
/* Write signed text and a newline atomically, mode 0600
 * (compiler/base/atomic.h); false with errno set. */
bool mk_planfile_write(const char *text, const char *path);

#endif
