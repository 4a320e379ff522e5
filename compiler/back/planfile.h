/* planfile — the one place the plan file's shape is decided: a plan's
 * records (moksha.plan/v1, docs/formats.md) written as its canonical text
 * with its defaults left out, and signed; a plan document read back into
 * records; verifying a plan file. The signature covers a short statement
 * holding the SHA-256 of the body's bytes and the plan's identity; the
 * executor checks it the same way (runtime/planfile.c). */
#ifndef MK_PLANFILE_H
#define MK_PLANFILE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "compiler/base/buf.h"
#include "compiler/base/key.h"
#include "compiler/middle/plan.h"

/* The records of a plan document (middle/plan.h, note [plan model]): a
 * saved plan's, its defaults absent (note [plan defaults]), or one just
 * built. Strings and the JSON of before are borrowed from doc, which must
 * outlive the plan and is not changed; after (its unknown attributes'
 * nulls put back, note [plan defaults]), placement, providers, outputs and
 * policies are the plan's own references. A loaded plan's changes have no instance
 * (`in` is NULL). NULL, with the reason, for what is not a plan this moksha
 * knows: a field it does not know (note [plan fields]), one of the wrong
 * type, money that is not money. Free it with mk_plan_free. */
mk_plan *mk_planfile_read(json_t *doc, char *why, size_t whylen);
/* The plan file's text of p (note [plan text]), appended to out as it is
 * written (to out's sink, when it has one): defaults left out, a made
 * plan's `after` from its instances' values with secrets sealed under key,
 * the body hashed as it is written. With sign, the signature over the
 * statement (note [plan statement]) as the last key, which is what plan
 * files hold: Ed25519 when key has a signer (note [planner signature]),
 * else HMAC under the project key; without sign, the unsigned body. */
void mk_planfile_emit(const mk_plan *p, const mk_key *key, bool sign, mk_buf *out);
/* A plan document's signed text (read, then emitted), or NULL when doc is
 * not a plan; free it with mk_planfile_free_text. */
char *mk_planfile_sign(json_t *doc, const mk_key *key);
void mk_planfile_free_text(char *text);
/* Verify plan, parsed from the file at path, from that file's bytes: the
 * body's digest, the statement's signature, and no field this moksha does
 * not know (note [plan fields]). An HMAC plan is checked under key's
 * project key; an Ed25519 plan (mk_planfile_signer) against the public key
 * it names, and key may be NULL: whether that key may sign plans is the
 * executor's trust file's to say, not this check's. False with a reason
 * when it fails. */
bool mk_planfile_verify(json_t *plan, const char *path, const mk_key *key, char *why, size_t whylen);
/* The public key's text an Ed25519 plan's signature names ("" when it
 * names none), or NULL when plan is not signed with Ed25519. Borrowed. */
const char *mk_planfile_signer(json_t *plan);
/* The file at path as it is, its trailing newline dropped (mk_mem_free),
 * or NULL: what `show --format json` prints of a plan signed by a key
 * this process does not hold. */
char *mk_planfile_text(const char *path);
/* May `plan -o` write path? Not a .moksha source, a directory, anything
 * under .moksha/ but a NAME.plan there, or an existing file that is not a
 * plan; a link is judged by what it points to. False with the reason. */
bool mk_planfile_target_ok(const char *path, char *why, size_t whylen);
/* Write signed text and a newline atomically, mode 0600
 * (compiler/base/atomic.h); false with errno set. */
bool mk_planfile_write(const char *text, const char *path);

#endif
