/* planfile — the one place the plan file's shape is decided: writing a plan
 * document (moksha.plan/v1, docs/formats.md) as its canonical text with its
 * defaults left out, signing it, verifying a plan file. The signature covers
 * a short statement holding the SHA-256 of the body's bytes and the plan's
 * identity; the executor checks it the same way (runtime/planfile.c). */
#ifndef MK_PLANFILE_H
#define MK_PLANFILE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "compiler/base/key.h"

/* Leave out plan's default-valued fields (note [plan defaults]: the
 * document loses them too, as the file does), write the rest once as
 * compact JSON in document order while hashing it, and add the signature
 * over the statement (note [plan statement]) as the last key. Returns the
 * signed text, which is what plan files hold; free it with
 * mk_planfile_free_text. */
char *mk_planfile_sign(json_t *plan, const mk_key *key);
void mk_planfile_free_text(char *text);
/* Verify plan, parsed from the file at path, from that file's bytes: the
 * body's digest, the statement's MAC, and no field this moksha does not
 * know (note [plan fields]). False with a reason when it fails. */
bool mk_planfile_verify(json_t *plan, const char *path, const mk_key *key, char *why, size_t whylen);
/* May `plan -o` write path? Not a .moksha source, a directory, anything
 * under .moksha/ but a NAME.plan there, or an existing file that is not a
 * plan; a link is judged by what it points to. False with the reason. */
bool mk_planfile_target_ok(const char *path, char *why, size_t whylen);
/* Write signed text and a newline atomically, mode 0600
 * (compiler/base/atomic.h); false with errno set. */
bool mk_planfile_write(const char *text, const char *path);

#endif
