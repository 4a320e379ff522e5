/* planfile — the executor's side of the plan contract: load a
 * `moksha.plan/v1` file, verify its signature (with the project key, or in
 * trust mode against the trust file: runtime/trust.h), and open its sealed
 * secrets. The format is in docs/formats.md; this module shares no
 * code with the compiler (the house rule), and tests/unit/test_planfile.c
 * checks that both sides agree.
 *
 * A plan is verified from its bytes before any of it is believed, and read
 * no further than the command needs (note [plan reading]). */
#ifndef MK_RUNTIME_PLANFILE_H
#define MK_RUNTIME_PLANFILE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mk_planfile_key {
    uint8_t sign[32], seal[32];
    char id[17];
} mk_planfile_key;

/* The executor's key: MOKSHA_KEY, else DIR/key (which must be readable by
 * its owner only), by the rules of docs/formats.md (a passphrase is salted
 * with DIR/stack-id). A weak or malformed key is refused. False with a
 * reason in why. This is the one place the executor gets its key. */
bool mk_planfile_key_load(mk_planfile_key *k, const char *moksha_dir, char *why, size_t whylen);
/* A key from its text (what MOKSHA_KEY or a key file holds); what names
 * where it came from in messages. stack_id may be NULL or "" (then a
 * passphrase is refused). */
bool mk_planfile_key_from_text(mk_planfile_key *k, const char *text, const char *stack_id, const char *what, char *why,
                               size_t whylen);
/* DIR/stack-id into id ("" when the stack has none); false when it is
 * unreadable or malformed. */
bool mk_planfile_stack_id(const char *moksha_dir, char id[33], char *why, size_t whylen);

typedef enum {
    MK_PLANFILE_OK,
    MK_PLANFILE_UNREADABLE,   /* missing, not JSON */
    MK_PLANFILE_NOT_A_PLAN,   /* JSON, but not moksha.plan/v1 */
    MK_PLANFILE_UNSIGNED,
    MK_PLANFILE_WRONG_KEY,    /* signed with another key */
    MK_PLANFILE_TAMPERED,     /* the bytes do not match the signature */
    MK_PLANFILE_UNKNOWN_FIELD, /* signed, with a field this executor does not know (a newer moksha's) */
    MK_PLANFILE_UNTRUSTED     /* not signed the way this executor takes (note [plan algorithm]): HMAC in trust
                                 mode, Ed25519 without it, a key the trust file does not list as a planner or
                                 automation key, or revokes */
} mk_planfile_status;

/* A plan whose signature is proven, read as far as verifying needs (note
 * [plan reading] in planfile.c): the top level parsed, each change's
 * place in the file found and the names of its fields checked, the changes
 * themselves not parsed. It owns the file's bytes and the top level. */
typedef struct mk_planfile mk_planfile;

/* Read path once and verify it; on success *out holds the plan (close it
 * with mk_planfile_close). The why of MK_PLANFILE_UNREADABLE begins with
 * the path (and place). */
mk_planfile_status mk_planfile_open(const char *path, const mk_planfile_key *k, mk_planfile **out, char *why,
                                    size_t whylen);
/* The same in trust mode (docs/trust.md, "Signing plans"): the plan must be
 * signed with Ed25519 (type "plan") by a planner or automation key of t that
 * t does not revoke; *who says who signed (its name borrowed from t) once
 * the key is looked up, whatever the outcome. */
struct mk_trust;
struct mk_trust_who;
mk_planfile_status mk_planfile_open_trusted(const char *path, const struct mk_trust *t, struct mk_trust_who *who,
                                            mk_planfile **out, char *why, size_t whylen);
/* The top level, borrowed: every field but `changes`, which is an empty
 * list until mk_planfile_take (or, when the file's is not a list, as it is). */
json_t *mk_planfile_plan(const mk_planfile *p);
size_t mk_planfile_nchanges(const mk_planfile *p);
/* SHA-256 of the file's bytes, as read: what the audit log records. */
void mk_planfile_sha256(const mk_planfile *p, char out[65]);
/* Parse every change from its place in the file (duplicate keys refused at
 * every depth) into the document, each with the omitted defaults exec.c
 * reads put back (mk_planfile_put_back); *out is a new reference to it. A
 * change that does not parse refuses the whole plan (MK_PLANFILE_UNREADABLE,
 * why beginning with path). */
mk_planfile_status mk_planfile_take(mk_planfile *p, const char *path, json_t **out, char *why, size_t whylen);
/* Into change, the one at index at of the plan's list, the omitted
 * defaults exec.c reads (note [plan defaults], runtime/planfile.c): its id,
 * its risk, its unknown attributes' nulls. Not an object: nothing. */
void mk_planfile_put_back(json_t *change, size_t at);
/* A change's `irreversible` (docs/formats.md): a delete or replace of a
 * @stateful type, whose object's data cannot come back once the step has
 * run. Absent is false; mk_planfile_take has refused any other value, and
 * true on any other action. */
bool mk_planfile_irreversible(const json_t *change);
void mk_planfile_close(mk_planfile *p);
/* Open, take and close: the whole plan. On success *out holds it (json_decref it). */
mk_planfile_status mk_planfile_load(const char *path, const mk_planfile_key *k, json_t **out, char *why,
                                    size_t whylen);
/* note [policy results]: do the plan's recorded policy results let it run?
 * A hard policy with violations, a soft one without an override that gives
 * a reason, a status the executor does not know or results that contradict
 * themselves all refuse it (false, with the first such policy in why). The
 * compiler signs no plan that fails here; the executor checks anyway, after
 * the signature, so that no route around `moksha plan -o` applies one. */
bool mk_planfile_policies_ok(json_t *plan, char *why, size_t whylen);
/* Open a sealed secret ({"$secret": {"sealed": …}}); malloc'd text or NULL. */
char *mk_planfile_unseal(const mk_planfile_key *k, json_t *secret);

/* For re-sealing (key rotate), the compiler's sealing and fingerprints
 * repeated: AES-256-GCM under the seal key, base64(nonce ‖ ciphertext ‖
 * tag), malloc'd or NULL; and HMAC-SHA256 under the seal key, hex. */
char *mk_planfile_seal(const mk_planfile_key *k, const void *plain, size_t n);
void mk_planfile_fingerprint(const mk_planfile_key *k, const void *data, size_t n, char out[65]);

#endif
