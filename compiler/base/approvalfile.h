/* approvalfile — approval files as the people who give them and the
 * planner see them (docs/trust.md, "Approvals" and "Giving an approval"):
 * a `moksha.approval/v1` envelope read (at most 64 KiB, its shape checked
 * exactly: no unknown field, no duplicate, every field's form, the
 * lifetime) and its Ed25519 signature of type `approval` verified against
 * the key it names; a payload signed with an approver's key and the
 * envelope written, never over a file; the change digest an approval of a
 * gate is bound to, and the violations digest an override is bound to.
 *
 * It does not decide whether an approval counts (an approver of the trust
 * file, its group, revocations, the executor's clock): that is the
 * executor's (runtime/approval.c), which shares no code with this and
 * computes the same two digests (a unit test checks they agree). */
#ifndef MK_APPROVALFILE_H
#define MK_APPROVALFILE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "compiler/base/sign.h"

struct evp_pkey_st;

#define MK_APPROVALFILE_FORMAT "moksha.approval/v1"
#define MK_APPROVALFILE_MAX (64 * 1024)    /* the largest file an executor reads */
#define MK_APPROVALFILE_LIFE_MAX (7 * 86400LL)  /* expires - issued, at most */
#define MK_APPROVALFILE_GLASS_MAX (4 * 3600LL)  /* the same for a break_glass */
#define MK_APPROVALFILE_REASON_MAX 1024

/* An approval read or signed: the payload's text (signed byte for byte),
 * the payload parsed from it, and its signature. All owned;
 * mk_approvalfile_free. kind, id, stack_id and env are borrowed from doc
 * (env NULL for a plan of no environment). */
typedef struct mk_approvalfile {
    char *payload;          /* NUL-terminated */
    size_t npayload;
    json_t *doc;
    const char *kind;       /* gate, override, waiver, break_glass, revoke, ack */
    const char *id;         /* 32 lowercase hex */
    const char *stack_id;
    const char *env;
    long long issued, expires; /* seconds since the epoch */
    char key[MK_SIGN_PUB_LEN]; /* the signing key's text */
    char key_id[MK_SIGN_ID_LEN];
    char value[MK_SIGN_SIG_LEN]; /* the signature, base64 */
} mk_approvalfile;

/* A payload's shape (docs/trust.md, "Approval file"): the fields of its
 * kind and no other, each of its form, 0 < expires - issued within the
 * kind's lifetime. False with why, naming the field. */
bool mk_approvalfile_check(json_t *payload, char *why, size_t whylen);
/* The envelope's text (n bytes, what: a name for messages) into a: its
 * shape, its payload's, and its signature verified against the key it
 * names (type approval). False with why, which starts with what. */
bool mk_approvalfile_parse(const char *text, size_t n, const char *what, mk_approvalfile *a, char *why,
                           size_t whylen);
/* The file at path (at most MK_APPROVALFILE_MAX bytes, a regular file),
 * then as mk_approvalfile_parse. */
bool mk_approvalfile_read(const char *path, mk_approvalfile *a, char *why, size_t whylen);
/* Sign payload (borrowed; checked first) with key into a: its compact
 * text, fields in their order, is what is signed. False with why. */
bool mk_approvalfile_sign(json_t *payload, struct evp_pkey_st *key, mk_approvalfile *a, char *why, size_t whylen);
/* The envelope's text (mk_mem_free): format, payload, signature; indented,
 * ending in a newline. */
char *mk_approvalfile_envelope(const mk_approvalfile *a);
/* Write the envelope to path, a new file (O_EXCL: never over one), mode
 * 0644, flushed. False with why naming path. */
bool mk_approvalfile_write(const mk_approvalfile *a, const char *path, char *why, size_t whylen);
void mk_approvalfile_free(mk_approvalfile *a);

/* The change digest (docs/trust.md, "The change digest"): SHA-256 hex of
 * "moksha-change/v1\n" and the compact, key-sorted JSON of the change's
 * address, action, type, before and after (absent: null), every object
 * holding "$secret" replaced by {"$secret": its fingerprint or null}.
 * False for a change that is not an object with a string address and
 * action. The same as runtime/approval.c's mk_approval_change_digest. */
bool mk_approvalfile_change_digest(json_t *change, char hex[65]);
/* The violations digest of a policy result (an entry of a plan's
 * `policies`): SHA-256 hex of "moksha-violations/v1\n" and the compact,
 * key-sorted JSON of its violations as [{"address": A or null, "message":
 * M}] sorted by address (null first), then message, bytewise. False when
 * a violation has no string message. */
bool mk_approvalfile_violations_digest(json_t *result, char hex[65]);

#endif
